#!/bin/bash
# A job holding TCP connections: two echo pairs, one over the slot's own
# address (its hostname resolves to it) and one over loopback. Each step sends
# a block on both and reads the echo back only after a pause, so a checkpoint
# finds data in flight. Its output depends on nothing but its arguments.
#   tcpjob.sh DIR STEPS
# DIR/starts gets one line each time the job starts from the top.
dir=$1 steps=${2:-60}
echo "start ${SLURM_JOB_ID:-?}" >>"$dir/starts"
exec python3 - "$steps" <<'EOF'
import socket, sys, threading, time, zlib

steps = int(sys.argv[1])


def echo(listener):
    conn, _ = listener.accept()
    while True:
        data = conn.recv(65536)
        if not data:
            break
        conn.sendall(data)


clients = []
for name in (socket.gethostname(), "127.0.0.1"):
    ls = socket.socket()
    ls.bind((socket.gethostbyname(name), 0))
    ls.listen(1)
    threading.Thread(target=echo, args=(ls,), daemon=True).start()
    clients.append(socket.create_connection(ls.getsockname()))

crc = 0
for i in range(steps):
    blocks = [bytes((i * 7 + k * 13 + j) & 0xFF for j in range(8192)) for k in range(2)]
    for c, b in zip(clients, blocks):
        c.sendall(b)
    time.sleep(0.25)
    for c, b in zip(clients, blocks):
        got = b""
        while len(got) < len(b):
            got += c.recv(len(b) - len(got))
        if got != b:
            sys.exit(f"step {i}: echo differs")
        crc = zlib.crc32(got, crc)
    # the connection over the slot's address still starts from the address its name has
    own = clients[0].getsockname()[0] == socket.gethostbyname(socket.gethostname())
    print(f"step {i} crc {crc:08x} own-address {own}", flush=True)
print("done", flush=True)
EOF

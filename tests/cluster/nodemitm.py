#!/usr/bin/env python3
"""An attacker between two crds (test-node-auth.sh). Messages are
agent/proto.h's: a 16-byte header {u32 type, u32 len (header included),
u32 peerid, u32 pid} and the payload.

  nodemitm.py capture LADDR LPORT FILE
      accept one connection, keep its first message (a coordinator's NODE
      credential) in FILE and close it: the node never gets it.
  nodemitm.py inject LADDR LPORT UADDR UPORT SPORT FILE
      accept one connection, keep its first message in FILE, pass it to
      UADDR:UPORT (from source port SPORT), pass the node's answer back, then
      send the node a forged RELEASE(KILL) with a sequence number and a MAC
      of random bytes, and relay both ways until either side closes.
  nodemitm.py send ADDR PORT FILE [plain|badmac]
      send FILE's message and print the answer; then, when it was OK, a
      forged RELEASE(KILL) (plain: as crd took it before it was sealed;
      badmac: with a random MAC) and print what comes back until the end.
Answers are printed as "OK text", "ERR code text" or "TYPE n", one a line.
"""
import os
import select
import socket
import struct
import sys

HDR = struct.Struct("<IIII")
OK, ERR, NODE, RELEASE = 1, 2, 14, 16
REL_KILL = 2


def read_msg(sock):
    hdr = b""
    while len(hdr) < HDR.size:
        chunk = sock.recv(HDR.size - len(hdr))
        if not chunk:
            return None
        hdr += chunk
    mtype, mlen, _, _ = HDR.unpack(hdr)
    body = b""
    while len(body) < mlen - HDR.size:
        chunk = sock.recv(mlen - HDR.size - len(body))
        if not chunk:
            return None
        body += chunk
    return hdr + body


def describe(msg):
    if msg is None:
        return "EOF"
    mtype = HDR.unpack(msg[: HDR.size])[0]
    body = msg[HDR.size :]
    try:
        if mtype == OK:
            n = struct.unpack("<I", body[:4])[0]
            return "OK " + body[4 : 4 + n - 1].decode(errors="replace")
        if mtype == ERR:
            code, n = struct.unpack("<II", body[:8])
            return "ERR %d %s" % (code, body[8 : 8 + n - 1].decode(errors="replace"))
    except struct.error:
        pass
    return "TYPE %d" % mtype


def forged_release(how):
    payload = struct.pack("<I", REL_KILL)
    if how == "badmac":
        payload += struct.pack("<Q", 1) + os.urandom(32)
    return HDR.pack(RELEASE, HDR.size + len(payload), 0, 0) + payload


def listen_once(addr, port):
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((addr, port))
    srv.listen(1)
    print("listening", flush=True)
    conn, _ = srv.accept()
    srv.close()
    return conn


def capture(laddr, lport, path):
    conn = listen_once(laddr, int(lport))
    first = read_msg(conn)
    with open(path, "wb") as f:
        f.write(first or b"")
    print("captured", describe(first), flush=True)
    conn.close()


def relay(a, b):
    while True:
        r, _, _ = select.select([a, b], [], [], 120)
        if not r:
            return
        for s in r:
            try:
                data = s.recv(65536)
            except ConnectionError:
                return
            if not data:
                return
            (b if s is a else a).sendall(data)


def inject(laddr, lport, uaddr, uport, sport, path):
    conn = listen_once(laddr, int(lport))
    first = read_msg(conn)
    with open(path, "wb") as f:
        f.write(first or b"")
    up = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    up.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    up.bind(("0.0.0.0", int(sport)))
    up.connect((uaddr, int(uport)))
    up.sendall(first)
    answer = read_msg(up)
    print("node answered", describe(answer), flush=True)
    if answer is not None:
        conn.sendall(answer)
        up.sendall(forged_release("badmac"))
        print("injected RELEASE(KILL) with a forged MAC", flush=True)
        relay(conn, up)
    conn.close()
    up.close()


def send(addr, port, path, then=None):
    with open(path, "rb") as f:
        first = f.read()
    sock = socket.create_connection((addr, int(port)), timeout=60)
    sock.sendall(first)
    answer = read_msg(sock)
    print(describe(answer), flush=True)
    if then and answer is not None and describe(answer).startswith("OK"):
        sock.sendall(forged_release(then))
        while True:
            msg = read_msg(sock)
            print(describe(msg), flush=True)
            if msg is None:
                break
    sock.close()


def main(argv):
    cmds = {"capture": (capture, 3), "inject": (inject, 6), "send": (send, 3)}
    if len(argv) < 2 or argv[1] not in cmds or len(argv) - 2 < cmds[argv[1]][1]:
        sys.exit(__doc__)
    cmds[argv[1]][0](*argv[2:])


if __name__ == "__main__":
    main(sys.argv)

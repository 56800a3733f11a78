#!/usr/bin/env bash
# Job containers on the cluster in a box: crctl from the login node (root namespace), permissions, the scontrol shim
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$(dirname "$0")/container-lib.sh"

cat >hold.sh <<'EOS'
#!/bin/bash
echo started
while [ ! -e "$1" ]; do sleep 0.1; done
EOS
chmod 755 hold.sh
command -v crctl >/dev/null || fail "crctl is not in PATH after 'cluster.sh env'"
[ "$(command -v scontrol)" != /usr/bin/scontrol ] || fail "the scontrol shim is not first in PATH"
expect_rc() { # RC CMD...
	local want=$1 rc=0
	shift
	"$@" >out 2>err || rc=$?
	[ "$rc" = "$want" ] || fail "$* exited $rc, not $want: $(cat out err)"
}

rm -f go
id=$(submit "$USER_" --checkpoint=2h -w "$NODE1" -o hold.out hold.sh "$WORK/go")
wait_until 30 "job to start" has_line hold.out started
plain=$(submit "$USER_" -w "$NODE1" -o /dev/null hold.sh "$WORK/go")
wait_until 30 "plain job to start" job_running "$plain"

for u in root "$USER_"; do
	expect_rc 0 as "$u" crctl show "$id"
	grep -q "Container=job$id-slot0" out && grep -q "Interval=7200" out || fail "$u: show: $(cat out)"
	expect_rc 0 as "$u" crctl show "$id" --json
	python3 -c 'import json,sys; d=json.load(open("out")); assert d["jobid"]=='"$id"' and d["state"]=="running"' ||
		fail "$u: show --json: $(cat out)"
	expect_rc 0 as "$u" crctl able "$id"
	[ "$(cat out)" = yes ] || fail "$u: able: $(cat out)"
	expect_rc 0 as "$u" crctl disable "$id"
	expect_rc 0 as "$u" crctl able "$id"
	grep -q '^no' out || fail "$u: able after disable: $(cat out)"
	expect_rc 0 as "$u" crctl enable "$id"
	expect_rc 0 as "$u" crctl able "$id"
	[ "$(cat out)" = yes ] || fail "$u: able after enable: $(cat out)"
	expect_rc 0 as "$u" crctl list "$id" --json
	[ "$(cat out)" = "[]" ] || fail "$u: list --json: $(cat out)"
	expect_rc 0 as "$u" crctl list "$id"
	expect_rc 0 as "$u" crctl error "$id"
	grep -q "no checkpoint error" out || fail "$u: error: $(cat out)"
	expect_rc 1 as "$u" crctl restart "$id"
	grep -q "still running" err || fail "$u: restart of a running job: $(cat err)"
	expect_rc 5 as "$u" crctl show "$plain"
	expect_rc 2 as "$u" crctl show
	expect_rc 2 as "$u" crctl frobnicate "$id"
	expect_rc 0 as "$u" crctl --help
	ok "$u: crctl able/disable/enable/list/show/error, restart refused while running, usage exit codes"
done
# Anyone else is refused, with its own exit code.
expect_rc 3 as nobody crctl show "$id"
grep -q "not permitted" err || fail "nobody: $(cat err)"
expect_rc 3 as nobody crctl disable "$id"
expect_rc 0 crctl able "$id"
[ "$(cat out)" = yes ] || fail "a refused disable changed the job"
ok "another user is refused (exit 3)"

# The shim: checkpoint goes to crctl, everything else to the real scontrol unchanged.
expect_rc 0 scontrol checkpoint able "$id"
[ "$(cat out)" = yes ] || fail "scontrol checkpoint able: $(cat out)"
expect_rc 0 as "$USER_" scontrol checkpoint disable "$id"
expect_rc 0 scontrol -o checkpoint list "$id" --json
[ "$(cat out)" = "[]" ] || fail "scontrol -o checkpoint list --json: $(cat out)"
expect_rc 1 scontrol checkpoint create "$id"
grep -q "disabled" err || fail "create of a disabled job: $(cat err)"
held=$(submit "$USER_" --hold -o /dev/null --wrap true)
for args in "show job $held" "-o show job $held" "--details show job $held" "show partition" "ping"; do
	# shellcheck disable=SC2086
	a=$(scontrol $args 2>&1) || true
	# shellcheck disable=SC2086
	b=$(/usr/bin/scontrol $args 2>&1) || true
	[ "$a" = "$b" ] || fail "shim changed 'scontrol $args': $(diff <(echo "$a") <(echo "$b"))"
done
a=$(echo "show job $held" | scontrol 2>&1)
b=$(echo "show job $held" | /usr/bin/scontrol 2>&1)
[ "$a" = "$b" ] || fail "shim changed interactive scontrol"
ok "the scontrol shim: checkpoint -> crctl, the rest passed through unchanged"
# Malformed requests and a forged relay close their connection and are logged;
# crd goes on serving.
addr=$(getent hosts "$NODE1" | awk '{print $1; exit}')
port=$(sed -n 's/^Port=//p' "$CR_CONF")
sock=$(sed -n 's/^SocketPath=//p' "$CR_CLUSTER_DIR/nodes/$NODE1/etc/cr.conf")
crd_pid=$(cat "$CR_CLUSTER_DIR/nodes/$NODE1/crd.pid")
python3 - "$addr" "$port" "$sock" "$id" <<'EOP' || fail "malformed requests: crd misbehaved"
import socket, struct, sys
addr, port, path, jobid = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
hdr = lambda t, n: struct.pack("<IIII", t, 16 + n, 0, 0)
bad = [b"garbage\n", hdr(13, 0), hdr(13, 84) + b"x" * 10, hdr(99, 0),
       struct.pack("<IIII", 13, 1 << 30, 0, 0), hdr(13, 8) + struct.pack("<I", 1000) + b"abcd",
       hdr(3, 4) + b"abcd", hdr(4, 12) + b"\0" * 12, hdr(5, 4) + b"\1\0\0\0"]
def talk(fam, a, data):
    s = socket.socket(fam, socket.SOCK_STREAM)
    s.settimeout(15)
    s.connect(a)
    r = b""
    try:
        # crd may close (even reset) a bad request before it is all sent
        s.sendall(data)
        s.shutdown(socket.SHUT_WR)
        while True:
            c = s.recv(4096)
            if not c:
                break
            r += c
    except OSError:
        pass
    s.close()
    return r
for p in bad:
    talk(socket.AF_INET, (addr, port), p)
    talk(socket.AF_UNIX, path, p)
# A relay that is not the job's batch task (not in its cgroup, wrong parent).
r = talk(socket.AF_UNIX, path, hdr(5, 12) + struct.pack("<III", 1, jobid, 0xfffffffb))
assert r[:4] == struct.pack("<I", 2), r
assert b"not this job's batch task" in r, r
EOP
[ "$(cat "$CR_CLUSTER_DIR/nodes/$NODE1/crd.pid")" = "$crd_pid" ] && [ -d "/proc/$crd_pid" ] ||
	fail "crd died on malformed requests"
grep -q "refusing relay" "$CR_CLUSTER_DIR/nodes/$NODE1/crd.log" || fail "the forged relay was not logged"
grep -q "bad\|malformed" "$CR_CLUSTER_DIR/nodes/$NODE1/crd.log" || fail "malformed requests were not logged"
expect_rc 0 crctl able "$id"
job_running "$id" || fail "job $id: $(job_state "$id")"
ok "malformed requests and a forged relay refused and logged; crd and the job go on"

touch go
wait_done "$id"

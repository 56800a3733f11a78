#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A file lock another process holds when the image is restarted:
#   lock-conflict.sh CR
# A process holding an exclusive flock and a POSIX write lock on bytes
# 10-19 of one file is checkpointed and left running. Restarting the image
# (--pidns) while it still holds them is refused (exit 3) before any task
# exists, naming the task, the fd, the file and the lock; nothing is left
# running. Once the holder is gone the restart succeeds and the restored
# process holds both locks again (util-linux flock -n and a python probe
# see them).
set -u
cr=$1
tmp=$(mktemp -d /var/tmp/cr-lockconflict.XXXXXX)
fails=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# POSIX lock on bytes 10-19 of $1 seen from a new open file: "type pid" or "free"
probe_posix() {
	python3 -c 'import fcntl, struct, sys
f = open(sys.argv[1], "r+")
fl = struct.pack("hhqqi4x", fcntl.F_WRLCK, 0, 10, 10, 0)
t, _, s, l, p = struct.unpack("hhqqi4x", fcntl.fcntl(f, 36, fl))  # F_OFD_GETLK
print("free" if t == fcntl.F_UNLCK else "%d %d-%d" % (t, s, s + l - 1))' "$1"
}

setsid python3 -c 'import fcntl, sys, time
f = open(sys.argv[1], "w+")
f.write("x" * 100); f.flush()
fcntl.flock(f, fcntl.LOCK_EX)
fcntl.lockf(f, fcntl.LOCK_EX, 10, 10)
print("ready", flush=True)
time.sleep(120)' "$tmp/locked" </dev/null >"$tmp/holder.out" 2>&1 &
holder=$!
pids+=("$holder")
disown
for _ in $(seq 100); do grep -q ready "$tmp/holder.out" && break; sleep 0.05; done

"$cr" checkpoint --leave-running "$holder" "$tmp/img" 2>"$tmp/ck.err" ||
	fail "checkpoint exited $?: $(tail -n1 "$tmp/ck.err")"

timeout 30 "$cr" restart --pidns --detach "$tmp/img" </dev/null >"$tmp/r1.out" 2>"$tmp/r1.err"
rc=$?
[ "$rc" = 3 ] || fail "restart while the holder runs exited $rc, not 3"
# the holder's fd number is whatever python got (ctest leaves fds open)
grep "Task $holder fd [0-9]* " "$tmp/r1.err" | grep -qF "($tmp/locked): its flock write lock on bytes 0-EOF is held by another process now" ||
	fail "the refusal does not name the task, fd and lock: $(cat "$tmp/r1.err")"
[ ! -s "$tmp/r1.out" ] || fail "restart printed a pid: $(cat "$tmp/r1.out")"

kill -9 "$holder"
for _ in $(seq 100); do kill -0 "$holder" 2>/dev/null || break; sleep 0.05; done
flock -n "$tmp/locked" true || fail "the lock is still held once the holder died"

timeout 30 "$cr" restart --pidns --detach "$tmp/img" </dev/null >"$tmp/r2.out" 2>"$tmp/r2.err"
rc=$?
[ "$rc" = 0 ] || fail "restart once the holder died exited $rc: $(tail -n1 "$tmp/r2.err")"
rpid=$(head -n1 "$tmp/r2.out")
[ -n "$rpid" ] && pids+=("$rpid")
if flock -n "$tmp/locked" true; then
	fail "the restored process does not hold its flock"
fi
got=$(probe_posix "$tmp/locked")
[ "$got" = "1 10-19" ] || fail "POSIX lock seen as '$got', not '1 10-19' (write, bytes 10-19)"

[ "$fails" = 0 ] && echo "PASS" && exit 0
exit 1

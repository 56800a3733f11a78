#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The CPU map of a restore (cr restart --cpu-map, struct cr_restore_opts
# cpu_map: what crd passes for a slot restored on another node).
#   cpumap.sh CR
# Run as root, on CPUs 0 and 1 (77: skipped without them). A bash (on CPUs
# 0-1) waits for its child, a sleep pinned to CPU 1; they are checkpointed
# and killed. Restarted (each time in a new pid namespace):
#   - without a map: the root on 0-1, the child on 1 (as saved);
#   - --cpu-map 1:0: both on CPU 0 (the child's 1 became 0, the root's
#     unmapped CPU 0 dropped);
#   - --cpu-map 0:1,1:0: the root on 0-1, the child on 0;
#   - --cpu-map 0:1: refused (the child's CPU 1 maps to none), naming the
#     thread, with nothing left running.
set -u
set -o pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # wait_for, alive

cr=$(readlink -f "$1")
[ "$(id -u)" = 0 ] || { echo "cpumap: must run as root" >&2; exit 2; }
if ! taskset -c 0,1 true 2>/dev/null ||
	[ "$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)" != 0-1 ]; then
	echo "cpumap: needs exactly CPUs 0 and 1: skipped"
	exit 77
fi
tmp=$(mktemp -d /var/tmp/cr-cpumap.XXXXXX)
fails=0
pids=()

cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

cpus() { awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
child_of() {
	CHILD=
	read -r CHILD _ <"/proc/$1/task/$1/children" 2>/dev/null # (no newline: status 1)
	[ -n "$CHILD" ]
}

setsid bash -c 'taskset -c 1 sleep 987654 & wait' </dev/null >/dev/null 2>&1 &
pid=$!
disown "$pid" # (killed by the checkpoint: no "Killed" notice)
pids+=("$pid")
CHILD=
wait_for 10 child_of "$pid" || fail "the workload never started its child"
wait_for 10 test "$(cpus "$CHILD")" = 1 || fail "the child is not on CPU 1"
"$cr" checkpoint --kill "$pid" "$tmp/img" 2>"$tmp/ck.err" || {
	fail "checkpoint: exit $?"
	sed 's/^/    /' "$tmp/ck.err"
	echo "cpumap: $fails failed"
	exit 1
}

# restart NAME WANT_ROOT WANT_CHILD [cr restart options]
restart() {
	local name=$1 want_root=$2 want_child=$3 rpid got
	shift 3
	"$cr" restart --pidns --detach "$@" "$tmp/img" >"$tmp/$name.pid" 2>"$tmp/$name.err"
	rc=$?
	rpid=$(head -n1 "$tmp/$name.pid")
	if [ $rc -ne 0 ] || [ -z "$rpid" ]; then
		fail "$name: restart exit $rc"
		sed 's/^/    /' "$tmp/$name.err"
		return
	fi
	pids+=("$rpid")
	CHILD=
	wait_for 10 child_of "$rpid" || fail "$name: the restored root has no child"
	got="$(cpus "$rpid") $(cpus "$CHILD")"
	if [ "$got" = "$want_root $want_child" ]; then
		echo "ok: $name: root on $want_root, child on $want_child"
	else
		fail "$name: root and child on '$got', want '$want_root $want_child'"
	fi
	kill -9 "$rpid" "$CHILD" 2>/dev/null
	gone() { ! alive "$1"; }
	wait_for 10 gone "$rpid" || fail "$name: the restored root does not die"
}

restart as-saved 0-1 1
restart map-1-0 0 0 --cpu-map 1:0
restart swap 0-1 0 --cpu-map 0:1,1:0

"$cr" restart --pidns --detach --cpu-map 0:1 "$tmp/img" >"$tmp/none.pid" 2>"$tmp/none.err"
rc=$?
if [ $rc -eq 0 ]; then
	pids+=("$(head -n1 "$tmp/none.pid")")
	fail "a map none of the child's CPUs is in: restored"
elif ! grep -q "none of the CPUs it was bound to maps to a CPU here" "$tmp/none.err"; then
	fail "a map none of the child's CPUs is in: exit $rc without the reason"
	sed 's/^/    /' "$tmp/none.err"
elif pgrep -f '^sleep 987654$' | grep -q .; then
	fail "a refused restart left a sleep 987654 running"
else
	echo "ok: a map none of the child's CPUs is in: refused ($(grep -o 'Thread.*' "$tmp/none.err" | head -n1))"
fi

[ $fails -eq 0 ] || { echo "cpumap: $fails failed"; exit 1; }
echo "cpumap: all passed"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Run one zdtm-style state test in one mode.
#
#   zdtm.sh --cr CR --mode plain|pidns|nopidns|skip-proof|refuse|hook|leave-running [--skip KIND]
#           [--pidns-only] [--ipcns] [--name NAME] [--timeout SEC] -- PROG [ARG...]
#
# --ipcns: PROG runs in an IPC namespace of its own, and each restart in a
# new, empty one (unshare --ipc): its SysV objects outlive the killed tree.
#
# The whole run happens in a pid and mount namespace this script creates
# (unshare --pid --fork --mount-proc), itself as pid 1 and reaper: pids freed
# by the kill really are free for a restart without --pidns, every process
# left over dies with the namespace, and a test's mounts vanish with it.
#
# PROG runs with $ZDTM_DIR (its scratch directory, also its cwd) and $ZDTM_GO
# (a file in it that does not exist yet). It sets its state up, prints
# "READY", and polls for $ZDTM_GO; then checks its state and prints "PASS" or
# "FAIL: <what differed>". A line "ROOT: <pid>" before READY names the tree
# to checkpoint instead of PROG (a child of it, e.g. the init of a pid
# namespace); PROG then just waits for it. The modes:
#   plain       no checkpoint: $ZDTM_GO at once; the program must PASS (the
#               test checks what it should on an uninterrupted run).
#   nopidns     `cr checkpoint --kill`, wait until every pid is free,
#               `cr restart --detach` (stdout: a file), create $ZDTM_GO:
#               the restored program must print PASS, and exit, leaving
#               nothing behind.
#   pidns       the same with `cr restart --pidns --detach`.
#   skip-proof  the same as nopidns with `cr restart --skip KIND`: the
#               program must NOT pass (FAIL, a crash or a hang all count,
#               and so does a restart that fails because the tree died while
#               it was resumed), proving that it sees the loss of KIND.
#   refuse      `cr checkpoint --kill` must exit 3, name what it refuses
#               (each "EXPECT: <text>" line the program printed before READY
#               must appear in its messages), leave no image directory and
#               the tree running: the original gets $ZDTM_GO and must PASS.
#   hook        a restart that fails must leave the files as it found them:
#               `cr checkpoint --kill`; `PROG --break [ARG]` changes the
#               world as it could between a checkpoint and a restore (writes
#               to the job's files, removes its cwd, replaces a file...) and
#               prints "WATCH: <file>" (files the failed restart must leave
#               byte-identical), "EXPECT: <text>" (what its messages must
#               say) and "RESTART: <option>" (added to the failing restart);
#               `cr restart --rollback-files` must fail and leave each WATCH
#               file as it was; `PROG --repair [ARG]` puts the world back and
#               `cr restart --rollback-files` must then restore a program
#               that PASSes (the checkpoint is still restorable, and the
#               files are rolled back at resume).
#   leave-running  `cr checkpoint --leave-running`: the tree runs on and
#               gets $ZDTM_GO at once and must PASS; then the image is
#               restored (--pidns; a program that printed NETNS into a new
#               net namespace with loopback up) and must PASS too.
# Prints "ok ..." and exits 0, or prints "FAIL(mode) name: why" with the
# logs and exits 1; 2 on a usage or set-up error. Every exit path kills what
# it started and removes its temporary directory (ZDTM_KEEP=1 keeps it).
set -u

me=$(readlink -f "$0")
# shellcheck source=tests/lib.sh
. "${me%/*}/../lib.sh" # now_ms, nap, wait_for, alive
cr=
mode=
skip=
name=
timeout=20
pidns_only=
ipcns=()
cmd=()

usage() {
	echo "usage: $0 --cr CR --mode plain|pidns|nopidns|skip-proof|refuse|hook|leave-running" \
		"[--skip KIND]" \
		"[--pidns-only] [--ipcns] [--name NAME] [--timeout SEC] -- PROG [ARG...]" >&2
	exit 2
}

args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--cr) cr=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--skip) skip=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--pidns-only) pidns_only=1; shift ;;
	--ipcns) ipcns=(unshare --ipc); shift ;;
	--) shift; cmd=("$@"); break ;;
	*) usage ;;
	esac
done
[ -n "$cr" ] && [ ${#cmd[@]} -gt 0 ] || usage
case "$mode" in
plain | pidns | nopidns | refuse | hook | leave-running) ;;
skip-proof) [ -n "$skip" ] || usage ;;
*) usage ;;
esac
[ -n "$name" ] || name=$(basename "${cmd[0]}")
cr=$(readlink -f "$cr")
cmd[0]=$(readlink -f "${cmd[0]}")

# The scratch directory, removed here too when the namespace's pid 1 was
# killed before its own clean-up.
scrub() {
	rm -f /dev/shm/*"${1##*/}"*
	if [ -n "${ZDTM_KEEP:-}" ]; then
		echo "kept $1"
	else
		rm -rf "$1"
	fi
}

if [ -z "${ZDTM_INSIDE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "zdtm.sh: must run as root" >&2; exit 2; }
	tmp=$(mktemp -d /tmp/zdtm.XXXXXX) || exit 2
	# --kill-child: if unshare is killed, the namespace dies too
	unshare --pid --fork --mount-proc --kill-child \
		env ZDTM_INSIDE=1 ZDTM_TMP="$tmp" bash "$me" "${args[@]}" &
	child=$!
	# interrupted: unshare's death kills the whole namespace (--kill-child)
	trap 'kill -KILL $child 2>/dev/null' INT TERM HUP
	wait $child
	rc=$?
	[ $rc -lt 128 ] || wait $child
	[ -d "$tmp" ] && [ -z "${ZDTM_KEEP:-}" ] && scrub "$tmp"
	exit $rc
fi

# ---- inside the namespace, as pid 1 ----
tmp=$ZDTM_TMP
rc_final=1
t0=$(now_ms)

# shellcheck disable=SC2317 # (called by the EXIT trap)
cleanup() {
	trap - EXIT INT TERM HUP
	cd /
	kill -KILL -1 2>/dev/null # everything in our namespace but us
	if [ -n "$tmp" ]; then
		# mounts a test made below its directory (private to our namespace)
		awk -v t="$tmp/" 'index($2, t) == 1 { print $2 }' /proc/self/mounts |
			sort -r | while read -r m; do umount -l "$m"; done
		scrub "$tmp"
	fi
	exit "$rc_final"
}
trap cleanup EXIT
trap 'rc_final=2; exit' INT TERM HUP

chmod 755 "$tmp" # tests that drop root still reach $ZDTM_GO
mkdir -m 777 "$tmp/work"
export ZDTM_DIR=$tmp/work ZDTM_GO=$tmp/work/go

show() {
	local f
	for f in "$@"; do
		[ -s "$tmp/$f" ] || continue
		echo "---- $f"
		head -c 4000 "$tmp/$f"
	done
}

# fail WHY: report with the logs, and exit 1
fail() {
	echo "FAIL($mode) $name: $*"
	show out.1 err.1 ck.err break.out rst-fail.err out.2 rst.err driver.err
	rc_final=1
	exit
}

# wait_for polls every ~10 ms, without a fork (nap reads this fifo)
NAP_FIFO=$tmp/tick
WAIT_POLL=0.01
mkfifo "$NAP_FIFO"

# Every process of the namespace but us (pid 1) is gone.
ns_empty() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = 1 ] || return 1
	done
	return 0
}

ready() { grep -qx READY "$tmp/out.1" 2>/dev/null || ! alive "$pid"; }
verdict() { grep -qE '^(PASS|FAIL)' "$tmp/$1" 2>/dev/null; }
done_restored() { ! alive "$rpid"; }

# The hook mode, after READY (see the top).
run_hook() {
	local rc line n=0 opts=() files=()
	"$cr" checkpoint --kill "$root" "$tmp/img" >"$tmp/ck.out" 2>"$tmp/ck.err"
	rc=$?
	[ $rc -eq 0 ] || fail "cr checkpoint exited $rc"
	wait "$pid" 2>/dev/null
	wait_for 10 ns_empty || fail "the checkpointed tree is still there 10 s after --kill"
	"${cmd[0]}" --break "${cmd[@]:1}" >"$tmp/break.out" 2>>"$tmp/driver.err" ||
		fail "$name --break failed: $(cat "$tmp/break.out")"
	while IFS= read -r line; do
		case "$line" in
		"WATCH: "*) files+=("${line#WATCH: }") ;;
		"RESTART: "*) opts+=("${line#RESTART: }") ;;
		esac
	done <"$tmp/break.out"
	[ ${#files[@]} -gt 0 ] || fail "$name --break printed no WATCH: line"
	mkdir "$tmp/watch"
	for line in "${files[@]}"; do
		n=$((n + 1))
		cp -p "$line" "$tmp/watch/$n" || fail "cannot copy $line"
	done
	"$cr" restart --detach --rollback-files "${opts[@]}" "$tmp/img" </dev/null \
		>>"$tmp/out.2" 2>"$tmp/rst-fail.err"
	rc=$?
	[ $rc -ne 0 ] || fail "cr restart ${opts[*]} succeeded after $name --break"
	wait_for 10 ns_empty || fail "the failed restart left processes behind"
	n=0
	for line in "${files[@]}"; do
		n=$((n + 1))
		cmp -s "$line" "$tmp/watch/$n" || fail "the failed restart changed $line:" \
			"$(stat -c %s "$tmp/watch/$n") bytes before it, $(stat -c %s "$line") after"
	done
	while IFS= read -r line; do
		grep -qF -- "${line#EXPECT: }" "$tmp/rst-fail.err" ||
			fail "the failed restart does not say \"${line#EXPECT: }\""
	done < <(grep '^EXPECT: ' "$tmp/break.out")
	"${cmd[0]}" --repair "${cmd[@]:1}" >>"$tmp/break.out" 2>>"$tmp/driver.err" ||
		fail "$name --repair failed"
	: >"$tmp/out.2"
	"$cr" restart --detach --rollback-files "$tmp/img" </dev/null >"$tmp/out.2" \
		2>"$tmp/rst.err"
	rc=$?
	[ $rc -eq 0 ] || fail "cr restart --rollback-files exited $rc after $name --repair"
	rpid=$(head -n1 "$tmp/out.2")
	case "$rpid" in
	'' | *[!0-9]*) fail "cr restart --detach printed no pid" ;;
	esac
	: >"$ZDTM_GO"
	wait_for "$timeout" done_restored || fail "the restored root $rpid did not exit in $timeout s"
	grep -qx PASS "$tmp/out.2" && ! grep -qE '^(FAIL|child )' "$tmp/out.2" ||
		fail "the restored program did not pass"
	wait_for 5 ns_empty || fail "processes left behind: $(ls -d /proc/[0-9]* | tr '\n' ' ')"
}

# The leave-running mode, after READY (see the top).
run_leave_running() {
	local rc st netpid=
	"$cr" checkpoint --leave-running "${ck_net[@]}" "$root" "$tmp/img" >"$tmp/ck.out" \
		2>"$tmp/ck.err"
	rc=$?
	[ $rc -eq 0 ] || fail "cr checkpoint --leave-running exited $rc"
	: >"$ZDTM_GO"
	wait_for "$timeout" verdict out.1 || fail "no verdict in $timeout s after the checkpoint"
	wait "$pid"
	st=$?
	grep -qx PASS "$tmp/out.1" && [ $st -eq 0 ] ||
		fail "the tree did not run on fine after the checkpoint (exit $st)"
	wait_for 10 ns_empty || fail "the checkpointed tree is still there 10 s after its end"
	if [ ${#rst_net[@]} -gt 0 ]; then
		# a new net namespace: the finished tree's connections may linger in the old one
		unshare --net sh -c 'ip link set lo up && echo up && exec sleep 600' >"$tmp/netns.out" &
		netpid=$!
		wait_for 5 grep -qx up "$tmp/netns.out" || fail "no new net namespace"
		rst_net=(--netns "/proc/$netpid/ns/net" --net-lock)
	fi
	"${ipcns[@]}" "$cr" restart --detach --pidns "${rst_net[@]}" "$tmp/img" </dev/null \
		>"$tmp/out.2" 2>"$tmp/rst.err"
	rc=$?
	[ $rc -eq 0 ] || fail "cr restart of the --leave-running image exited $rc"
	rpid=$(head -n1 "$tmp/out.2")
	case "$rpid" in
	'' | *[!0-9]*) fail "cr restart --detach printed no pid" ;;
	esac
	wait_for "$timeout" done_restored || fail "the restored root $rpid did not exit in $timeout s"
	grep -qx PASS "$tmp/out.2" && ! grep -qE '^(FAIL|child )' "$tmp/out.2" ||
		fail "the restored program did not pass"
	[ -z "$netpid" ] || kill "$netpid"
}

# bash's own notices (a job "Killed" by the checkpoint) go to a log
exec 2>>"$tmp/driver.err"
cd "$ZDTM_DIR" || fail "no $ZDTM_DIR"
"${ipcns[@]}" "${cmd[@]}" </dev/null >"$tmp/out.1" 2>"$tmp/err.1" &
pid=$!
wait_for 20 ready || fail "no READY in 20 s"
alive "$pid" || fail "exited before it was checkpointed"
root=$(sed -n 's/^ROOT: \([0-9][0-9]*\)$/\1/p' "$tmp/out.1" | head -n1)
root=${root:-$pid}
# A program that printed NETNS made a net namespace of its own: cr locks it
# (--net-lock) and restores into it; fd 9 keeps it once the tree is killed.
ck_net=() rst_net=()
if grep -qx NETNS "$tmp/out.1"; then
	exec 9<"/proc/$root/ns/net" || fail "cannot open the net namespace of $root"
	ck_net=(--net-lock) rst_net=(--netns "/proc/$$/fd/9" --net-lock)
fi

if [ "$mode" = plain ]; then
	: >"$ZDTM_GO"
	wait_for "$timeout" verdict out.1 || fail "no verdict in $timeout s"
	wait "$pid"
	st=$?
	grep -qx PASS "$tmp/out.1" && [ $st -eq 0 ] || fail "did not pass (exit $st)"
	wait_for 5 ns_empty || fail "processes left behind: $(ls -d /proc/[0-9]* | tr '\n' ' ')"
elif [ "$mode" = refuse ]; then
	"$cr" checkpoint --kill "${ck_net[@]}" "$root" "$tmp/img" >"$tmp/ck.out" 2>"$tmp/ck.err"
	rc=$?
	[ $rc -eq 3 ] || fail "cr checkpoint exited $rc, want 3 (unsupported)"
	[ ! -e "$tmp/img" ] || fail "the refused checkpoint left $tmp/img behind"
	n=0
	while IFS= read -r line; do
		want=${line#EXPECT: }
		n=$((n + 1))
		grep -qF -- "$want" "$tmp/ck.err" || fail "the refusal does not say \"$want\""
	done < <(grep '^EXPECT: ' "$tmp/out.1")
	[ $n -gt 0 ] || fail "the program printed no EXPECT: line"
	alive "$pid" || fail "the tree died after the refusal"
	: >"$ZDTM_GO"
	wait_for "$timeout" verdict out.1 || fail "no verdict in $timeout s after the refusal"
	wait "$pid"
	st=$?
	grep -qx PASS "$tmp/out.1" && [ $st -eq 0 ] ||
		fail "the tree did not run on fine after the refusal (exit $st)"
elif [ "$mode" = hook ]; then
	run_hook
elif [ "$mode" = leave-running ]; then
	run_leave_running
else
	"$cr" checkpoint --kill "${ck_net[@]}" "$root" "$tmp/img" >"$tmp/ck.out" 2>"$tmp/ck.err"
	rc=$?
	[ $rc -eq 0 ] || fail "cr checkpoint exited $rc"
	wait "$pid" 2>/dev/null
	wait_for 10 ns_empty || fail "the checkpointed tree is still there 10 s after --kill"
	flags=(--detach "${rst_net[@]}")
	[ "$mode" != pidns ] && [ -z "$pidns_only" ] || flags+=(--pidns)
	[ "$mode" != skip-proof ] || flags+=(--skip "$skip")
	"${ipcns[@]}" "$cr" restart "${flags[@]}" "$tmp/img" </dev/null >>"$tmp/out.2" \
		2>"$tmp/rst.err"
	rc=$?
	if [ $rc -ne 0 ] && [ "$mode" = skip-proof ]; then
		# the tree died while being resumed: it did not pass either
		echo "ok $name $mode (--skip $skip: restart failed, exit $rc: $(tail -n1 "$tmp/rst.err"))"
		rc_final=0
		exit
	fi
	[ $rc -eq 0 ] || fail "cr restart ${flags[*]} exited $rc"
	rpid=$(head -n1 "$tmp/out.2")
	case "$rpid" in
	'' | *[!0-9]*) fail "cr restart --detach printed no pid" ;;
	esac
	: >"$ZDTM_GO"
	if [ "$mode" = skip-proof ]; then
		# a FAIL, a crash or a hang: anything but a pass
		wait_for "$timeout" done_restored
		if grep -qx PASS "$tmp/out.2"; then
			fail "passed although --skip $skip dropped its state"
		fi
		how=$(grep -m1 -E '^(FAIL|child )' "$tmp/out.2" | cut -c1-150)
		skip="$skip: ${how:-no verdict (crashed or hung)}"
	else
		wait_for "$timeout" done_restored ||
			fail "the restored root $rpid did not exit in $timeout s"
		verdict out.2 || fail "the restored program printed no verdict"
		grep -qx PASS "$tmp/out.2" && ! grep -qE '^(FAIL|child )' "$tmp/out.2" ||
			fail "the restored program did not pass"
		wait_for 5 ns_empty || fail "processes left behind: $(ls -d /proc/[0-9]* | tr '\n' ' ')"
	fi
fi
[ ! -s "$tmp/err.1" ] || [ "$mode" = skip-proof ] || fail "the program wrote to stderr"
echo "ok $name $mode${skip:+ (--skip $skip)} $(($(now_ms) - t0)) ms"
rc_final=0
exit

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# End-to-end engine test of one workload in one mode.
#
#   run-case.sh --cr CR --mode MODE --points "P1 P2 ..." [--rr "P1 P2"]
#               [--freeze-release FR] [--timeout SEC] [--name NAME] -- CMD ARG...
#
# The workload CMD (its arguments may contain @WORK@, replaced by the run's
# own scratch directory, which is also its cwd) prints deterministic lines.
# A point P means "once its stdout has P lines". Every run appends one line
# to $CR_START_LOG when it starts fresh.
#
# First an uninterrupted run gives the reference stdout and exit status, then:
#   restart        (in a pid namespace this script creates, itself as pid 1 and
#                  reaper, so that pids freed by the kill really are free)
#                  for each point: start fresh, `cr checkpoint --kill` (every
#                  process of the tree must be gone, the root dead of SIGKILL;
#                  `cr info [--json]` of the first image must work), wait
#                  until every pid is free, `cr restart DIR` appending to the
#                  same stdout; and a restart of a restart (--rr): restart,
#                  find the restored root under its old pid, checkpoint it
#                  again at the second point, kill (the first restarter
#                  must exit 137), restart.
#   restart-pidns  the same with `cr restart --pidns`, in the root namespace.
#   (--verify: in restart modes every image is written with `cr checkpoint
#   --digests IMG.json` and read back only through `cr restart --verify`.)
#   leave-running  (pid namespace) for each point: `cr checkpoint
#                  [--leave-running]` (the first point without the flag: it
#                  is the default), the tree must run on untraced and finish.
#   freeze         (pid namespace) for each point: FR freezes and releases the
#                  tree several times with no dump (cr_freeze/cr_release).
# Each finished run must have: stdout byte for byte the reference, the
# reference exit status, and exactly one line in its start log (a restart
# that re-ran the program instead of restoring it shows as two).
#
# Every failure is a line "FAIL(kind) [run]: what differed", followed by the
# evidence (diff excerpt, logs); all checks run, the exit status is 1 if any
# failed, 2 on a usage or setup error. Temporary files and processes are
# removed on every exit path; CR_TEST_KEEP=1 keeps the directory.
set -u
set -o pipefail

me=$(readlink -f "$0")
# shellcheck source=tests/lib.sh
. "${me%/*}/../lib.sh" # set_now, alive, stime, reg, ours, tree_pids
cr=
mode=
points=
rr=
fr=
verify=
timeout=30
name=
inside=
tmp=
cmd=()

usage() {
	echo "usage: $0 --cr CR --mode restart|restart-pidns|leave-running|freeze --points \"P...\"" \
		"[--rr \"P1 P2\"] [--verify] [--freeze-release FR] [--timeout SEC] [--name NAME] -- CMD ARG..." >&2
	exit 2
}

args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--cr) cr=$2; shift 2 ;;
	--mode) mode=$2; shift 2 ;;
	--points) points=$2; shift 2 ;;
	--rr) rr=$2; shift 2 ;;
	--verify) verify=1; shift ;;
	--freeze-release) fr=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--inside) inside=1; tmp=$2; shift 2 ;;
	--) shift; cmd=("$@"); break ;;
	*) usage ;;
	esac
done
if [ -z "$cr" ] || [ -z "$points" ] || [ ${#cmd[@]} -eq 0 ]; then usage; fi
case "$mode" in
restart | restart-pidns | leave-running) ;;
freeze) [ -n "$fr" ] || usage ;;
*) usage ;;
esac
if [ -z "$name" ]; then
	name=$(basename "${cmd[0]}")
	[ ${#cmd[@]} -lt 2 ] || [ ! -f "${cmd[1]}" ] || name=$(basename "${cmd[1]}")
	name="$name $mode"
fi
cr=$(readlink -f "$cr")
for i in "${!cmd[@]}"; do # the workload runs in its own directory
	[[ "${cmd[i]}" == /* || ! -e "${cmd[i]}" ]] || cmd[i]=$(readlink -f "${cmd[i]}")
done
[ -z "$fr" ] || fr=$(readlink -f "$fr")

failures=0
declare -A started=() # pid -> start time of every process we may kill (reg, ours)

say() { printf '[%s] %s\n' "$name" "$*"; }
fail() { # KIND RUN MESSAGE
	failures=$((failures + 1))
	printf '[%s] FAIL(%s) [%s]: %s\n' "$name" "$1" "$2" "$3"
}
indent() { sed -e 's/^/    | /' | head -n "${1:-40}"; }
show() { # FILE [LINES]: the tail of a log, as evidence
	[ -s "$1" ] || return 0
	echo "    $1 (last ${2:-20} lines):"
	tail -n "${2:-20}" "$1" | indent
}

# SIGKILL the trees rooted at the given processes, those of them that are
# still the very processes reg() saw.
kill_trees() {
	local p roots=() pids
	for p in "$@"; do
		ours "$p" && roots+=("$p")
	done
	[ ${#roots[@]} -gt 0 ] || return 0
	pids=$(tree_pids "${roots[@]}")
	# shellcheck disable=SC2086
	[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	return 0
}

# shellcheck disable=SC2317 # (called by the EXIT trap)
cleanup() {
	local st=$?
	trap - EXIT INT TERM HUP
	kill_trees "${!started[@]}"
	if [ -z "$inside" ] && [ -n "$tmp" ]; then
		if [ -n "${CR_TEST_KEEP:-}" ]; then
			echo "[$name] kept $tmp"
		else
			rm -rf "$tmp"
		fi
	fi
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# wait_exit PID SECONDS: STATUS is its exit status, or 255 on timeout (the
# tree is then killed).
wait_exit() {
	local deadline
	set_now
	deadline=$((NOW + $2 * 1000))
	# (bash reports "Killed" jobs on stderr when it reaps them: not here)
	{
		while alive "$1"; do
			set_now
			if [ "$NOW" -ge "$deadline" ]; then
				kill_trees "$1"
				wait "$1"
				STATUS=255
				return 1
			fi
			sleep 0.02
		done
		wait "$1"
		STATUS=$?
	} 2>/dev/null
	return 0
}

# wait_lines FILE N PID: 0 once FILE has N lines, 1 if PID ended first or
# the timeout passed.
wait_lines() {
	local deadline n
	set_now
	deadline=$((NOW + timeout * 1000))
	while :; do
		n=$(wc -l <"$1")
		[ "$n" -ge "$2" ] && return 0
		alive "$3" || return 1
		set_now
		[ "$NOW" -lt "$deadline" ] || return 1
		sleep 0.01
	done 2>/dev/null
}

# Inside our pid namespace: wait until no process but this shell is left,
# so that every pid of the killed tree is free again.
wait_pids_free() { # RUN
	local d others deadline
	[ -n "$inside" ] || return 0
	set_now
	deadline=$((NOW + 10000))
	while :; do
		others=()
		for d in /proc/[0-9]*; do
			case "${d#/proc/}" in 1 | "$BASHPID") ;; *) others+=("${d#/proc/}") ;; esac
		done
		[ ${#others[@]} -eq 0 ] && return 0
		set_now
		if [ "$NOW" -ge "$deadline" ]; then
			fail leftover "$1" "processes still exist 10 s after the kill: $(for p in "${others[@]}"; do
				printf '%s(%s) ' "$p" "$(cat "/proc/$p/comm" 2>/dev/null)"
			done)"
			return 1
		fi
		sleep 0.02
	done
}

# start_fresh RUN: start the workload in $tmp/RUN; PID is its pid.
start_fresh() {
	local r=$tmp/$1
	mkdir -p "$r/work"
	: >"$r/out"
	(cd "$r/work" && CR_START_LOG=$r/startlog exec "${cmd[@]//@WORK@/$r/work}") \
		</dev/null >>"$r/out" 2>>"$r/err" &
	PID=$!
	reg "$PID"
}

# run_cr RUN LOGNAME ARG...: run cr with a timeout; STATUS is its status.
run_cr() {
	local r=$tmp/$1 log=$2
	shift 2
	"$cr" "$@" </dev/null >"$r/$log.out" 2>"$r/$log.err" &
	reg $!
	if ! wait_exit $! 60; then
		fail timeout "$(basename "$r")" "cr $* did not finish within 60 s (killed)"
		show "$r/$log.err"
		return 1
	fi
	return 0
}

# check_run RUN WHAT: stdout, exit status and start log of a finished run.
check_run() {
	local run=$1 what=$2 r=$tmp/$1 first n
	if [ "$STATUS" -ne "$ref_status" ]; then
		fail status "$run" "$what exited with status $STATUS, the uninterrupted run with $ref_status"
		show "$r/err"
	fi
	if ! cmp -s "$tmp/ref/out" "$r/out"; then
		first=$(cd "$tmp" && cmp ref/out "$run/out" 2>&1 | head -n 1)
		fail output "$run" "stdout differs from the uninterrupted run ($first; reference $(wc -l <"$tmp/ref/out") lines, this run $(wc -l <"$r/out"))"
		echo "    diff -u reference this-run (excerpt):"
		diff -u "$tmp/ref/out" "$r/out" | tail -n +3 | indent 30
		show "$r/err"
	fi
	n=$( (wc -l <"$r/startlog") 2>/dev/null || echo 0)
	if [ "$n" -ne 1 ]; then
		fail startlog "$run" "start log has $n lines, expected 1: the program started fresh $n times (a restart must restore it, not run it again)"
		indent <"$r/startlog"
	fi
}

# checkpoint_kill RUN PID IMG: cr checkpoint --kill; the root must die of
# SIGKILL and (in our namespace) every pid must be free again.
checkpoint_kill() {
	local run=$1 pid=$2 img=$3 p deadline
	local -A before=()
	for p in $(tree_pids "$pid"); do # every process of the tree must die
		stime "$p" && before[$p]=$STIME
	done
	run_cr "$run" "ckpt-$(basename "$img")" checkpoint --kill ${verify:+--digests "$img.json"} \
		"$pid" "$img" || return 1
	if [ "$STATUS" -ne 0 ]; then
		fail checkpoint "$run" "cr checkpoint --kill $pid $img exited with $STATUS"
		show "$tmp/$run/ckpt-$(basename "$img").err"
		kill_trees "$pid"
		return 1
	fi
	set_now
	deadline=$((NOW + 5000))
	for p in "${!before[@]}"; do
		while alive "$p" && stime "$p" && [ "$STIME" = "${before[$p]}" ]; do
			set_now
			if [ "$NOW" -ge "$deadline" ]; then
				fail kill "$run" "process $p ($(cat "/proc/$p/comm" 2>/dev/null)) of the tree still runs 5 s after cr checkpoint --kill returned"
				break
			fi
			sleep 0.02
		done
	done
	return 0
}

# wait_killed RUN PID: the workload root we started must end with SIGKILL.
wait_killed() {
	if ! wait_exit "$2" 10; then
		fail kill "$1" "the tree still runs 10 s after cr checkpoint --kill returned"
		return 1
	fi
	if [ "$STATUS" -ne 137 ]; then
		fail kill "$1" "after cr checkpoint --kill the workload exited with status $STATUS, not 137 (SIGKILL)"
		return 1
	fi
	wait_pids_free "$1"
}

check_info() { # RUN IMG
	local r=$tmp/$1
	run_cr "$1" info info "$2" || return
	if [ "$STATUS" -ne 0 ] || [ ! -s "$r/info.out" ]; then
		fail info "$1" "cr info $2 exited with $STATUS and printed $(wc -c <"$r/info.out") bytes"
		show "$r/info.err"
	fi
	run_cr "$1" info-json info --json "$2" || return
	if [ "$STATUS" -ne 0 ]; then
		fail info "$1" "cr info --json $2 exited with $STATUS"
		show "$r/info-json.err"
	elif ! python3 -c 'import json, sys; json.load(sys.stdin)' <"$r/info-json.out" 2>"$r/json.err"; then
		fail info "$1" "cr info --json $2 printed invalid JSON: $(tail -n 1 "$r/json.err")"
		head -c 400 "$r/info-json.out" | indent 10
	fi
}

# restart_fg RUN IMG: cr restart (with --pidns in that mode), stdio of the
# run; STATUS is the restarter's status.
restart_fg() {
	local r=$tmp/$1
	"$cr" restart $pidns_flag ${verify:+--verify "$2.json"} "$2" </dev/null >>"$r/out" 2>>"$r/err" &
	reg $!
	if ! wait_exit $! "$timeout"; then
		fail timeout "$1" "cr restart${pidns_flag:+ $pidns_flag} $2 did not finish within $timeout s (killed)"
		show "$r/err"
		return 1
	fi
}

reference() {
	start_fresh ref
	if ! wait_exit "$PID" "$timeout"; then
		say "setup: the uninterrupted run did not finish within $timeout s"
		show "$tmp/ref/err"
		exit 2
	fi
	ref_status=$STATUS
	ref_lines=$(wc -l <"$tmp/ref/out")
	local p n
	n=$( (wc -l <"$tmp/ref/startlog") 2>/dev/null || echo 0)
	if [ "$n" -ne 1 ]; then
		say "setup: the workload wrote $n lines to its start log (CR_START_LOG), not 1"
		show "$tmp/ref/err"
		exit 2
	fi
	for p in $points $rr; do
		if [ "$p" -ge "$ref_lines" ]; then
			say "setup: point $p is not before the end (the reference has $ref_lines lines)"
			exit 2
		fi
	done
	say "reference: $ref_lines lines, exit status $ref_status"
}

case_kill() { # POINT
	local run=kill-$1 r=$tmp/kill-$1 pid
	start_fresh "$run"
	pid=$PID
	if ! wait_lines "$r/out" "$1" "$pid"; then
		fail progress "$run" "the workload did not reach $1 lines"
		show "$r/err"
		return
	fi
	checkpoint_kill "$run" "$pid" "$r/img" || return
	wait_killed "$run" "$pid" || return
	[ -n "$info_done" ] || { check_info "$run" "$r/img"; info_done=1; }
	restart_fg "$run" "$r/img" || return
	check_run "$run" "cr restart${pidns_flag:+ $pidns_flag}"
}

# The restored root: a descendant of the restarter whose pid in its own
# namespace is ORIG (the same number in ours without --pidns).
find_root() { # RESTARTER ORIG
	local p line deadline
	set_now
	deadline=$((NOW + 20000))
	while alive "$1"; do
		for p in $(tree_pids "$1"); do
			[ "$p" != "$1" ] || continue
			reg "$p" # the restored init, with --pidns, too
			line=$(grep '^NSpid:' "/proc/$p/status" 2>/dev/null) || continue
			if [ "${line##*[[:space:]]}" = "$2" ]; then
				ROOT=$p
				return 0
			fi
		done
		set_now
		[ "$NOW" -lt "$deadline" ] || break
		sleep 0.02
	done
	return 1
}

case_rr() { # P1 P2
	local run=rr r=$tmp/rr pid rpid
	start_fresh "$run"
	pid=$PID
	if ! wait_lines "$r/out" "$1" "$pid"; then
		fail progress "$run" "the workload did not reach $1 lines"
		return
	fi
	checkpoint_kill "$run" "$pid" "$r/img1" || return
	wait_killed "$run" "$pid" || return
	"$cr" restart $pidns_flag ${verify:+--verify "$r/img1.json"} "$r/img1" </dev/null \
		>>"$r/out" 2>>"$r/err" &
	rpid=$!
	reg "$rpid"
	if ! find_root "$rpid" "$pid"; then
		fail pid "$run" "no restored task with pid $pid (in its namespace) under cr restart${pidns_flag:+ $pidns_flag} (pid $rpid)"
		show "$r/err"
		return
	fi
	if ! wait_lines "$r/out" "$2" "$ROOT"; then
		fail progress "$run" "the restored workload (pid $ROOT) did not reach $2 lines"
		show "$r/err"
		return
	fi
	checkpoint_kill "$run" "$ROOT" "$r/img2" || return
	if ! wait_exit "$rpid" 10; then
		fail kill "$run" "the first cr restart still runs 10 s after its tree was killed"
		return
	fi
	if [ "$STATUS" -ne 137 ]; then
		fail status "$run" "the first cr restart exited with $STATUS after its root was killed, not 137 (128+SIGKILL)"
		show "$r/err"
	fi
	wait_pids_free "$run" || return
	restart_fg "$run" "$r/img2" || return
	check_run "$run" "cr restart${pidns_flag:+ $pidns_flag} of a restored tree"
}

# Every task of the tree must be running on, neither traced nor stopped.
check_untraced() { # RUN PID WHAT
	local p t st tracer line
	for p in $(tree_pids "$2"); do
		for t in /proc/"$p"/task/*; do
			{ read -r line <"$t/stat"; } 2>/dev/null || continue
			line=${line##*) }
			st=${line:0:1}
			tracer=$(awk '/^TracerPid:/ { print $2 }' "$t/status" 2>/dev/null)
			if [ "$st" = t ] || [ "$st" = T ] || [ "${tracer:-0}" != 0 ]; then
				fail running "$1" "after $3 task ${t##*/} (process $p) is in state $st, traced by ${tracer:-?}"
			fi
		done
	done
}

case_leave() { # POINT FLAG
	local run=leave-$1 r=$tmp/leave-$1 pid
	start_fresh "$run"
	pid=$PID
	if ! wait_lines "$r/out" "$1" "$pid"; then
		fail progress "$run" "the workload did not reach $1 lines"
		return
	fi
	# shellcheck disable=SC2086
	run_cr "$run" ckpt checkpoint $2 "$pid" "$r/img" || return
	if [ "$STATUS" -ne 0 ]; then
		fail checkpoint "$run" "cr checkpoint${2:+ $2} $pid exited with $STATUS"
		show "$r/ckpt.err"
	elif [ -z "$(ls -A "$r/img" 2>/dev/null)" ]; then
		fail checkpoint "$run" "cr checkpoint${2:+ $2} exited 0 but wrote no image in $r/img"
	fi
	check_untraced "$run" "$pid" "cr checkpoint${2:+ $2}"
	if ! wait_exit "$pid" "$timeout"; then
		fail timeout "$run" "the workload did not finish within $timeout s after cr checkpoint${2:+ $2}"
		show "$r/err"
		return
	fi
	check_run "$run" "the original after cr checkpoint${2:+ $2}"
}

case_freeze() { # POINT
	local run=freeze-$1 r=$tmp/freeze-$1 pid
	start_fresh "$run"
	pid=$PID
	if ! wait_lines "$r/out" "$1" "$pid"; then
		fail progress "$run" "the workload did not reach $1 lines"
		return
	fi
	"$fr" -n 4 -h 150 -g 50 -w "$r/out" "$pid" >"$r/fr.out" 2>&1 &
	reg $!
	if ! wait_exit $! 60; then
		fail timeout "$run" "freeze-release did not finish within 60 s"
	elif [ "$STATUS" -ne 0 ]; then
		fail freeze "$run" "freeze-release $pid exited with $STATUS"
	fi
	indent <"$r/fr.out"
	check_untraced "$run" "$pid" "cr_release(CR_RESUME)"
	if ! wait_exit "$pid" "$timeout"; then
		fail timeout "$run" "the workload did not finish within $timeout s after the freezes"
		return
	fi
	check_run "$run" "the workload after cr_freeze/cr_release"
}

# The modes that want a pid namespace of their own re-run this script as its
# pid 1 (and session leader), under unshare; the outer copy owns $tmp.
if [ -z "$inside" ]; then
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/cr-engine.XXXXXX") || exit 2
	if [ "$mode" != restart-pidns ]; then
		unshare --pid --fork --mount-proc --kill-child setsid \
			bash "$me" "${args[@]:0:${#args[@]}-${#cmd[@]}-1}" --inside "$tmp" -- "${cmd[@]}"
		exit $?
	fi
elif [ $$ -ne 1 ] || [ "$BASHPID" -ne 1 ]; then
	say "setup: expected to be pid 1 of a new pid namespace, am $BASHPID"
	exit 2
fi

pidns_flag= # word-split on purpose where used: empty or --pidns
[ "$mode" = restart-pidns ] && pidns_flag=--pidns
info_done=
say "mode $mode, points $points${rr:+, restart of restart at $rr}, in $tmp"
reference
case "$mode" in
restart | restart-pidns)
	for p in $points; do
		case_kill "$p"
	done
	# shellcheck disable=SC2086
	[ -z "$rr" ] || case_rr $rr
	;;
leave-running)
	flag=
	for p in $points; do
		case_leave "$p" "$flag"
		flag=--leave-running
	done
	;;
freeze)
	for p in $points; do
		case_freeze "$p"
	done
	;;
esac

if [ "$failures" -ne 0 ]; then
	say "$failures check(s) failed"
	exit 1
fi
say "all checks passed"
exit 0

# shellcheck shell=bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Shell helpers shared by the scripts of tests/ and bench/ (bash 5). Source it
# near the top, before any helper is used:
#
#   . "$(dirname "$(readlink -f "$0")")/../lib.sh"	# from tests/<dir>/ or bench/
#
# Every helper is safe under `set -euo pipefail`, forks no process unless its
# comment says so, and sets no global variable but those its contract names.
# Helpers that belong to one kind of test live next to it (tests/cluster/lib.sh).

# die MESSAGE...: print "<script name>: MESSAGE" on stderr and exit 1.
die() {
	echo "${0##*/}: $*" >&2
	exit 1
}

# set_now: NOW := the wall clock in milliseconds since the epoch, without a
# fork (for tight loops: deadline=$((NOW + 5000)) ... [ "$NOW" -lt "$deadline" ]).
set_now() {
	NOW=${EPOCHREALTIME//[!0-9]/}
	NOW=$((NOW / 1000))
}

# now_ms: print the wall clock in milliseconds since the epoch (t0=$(now_ms)).
# Leaves NOW alone.
now_ms() {
	local NOW
	set_now
	echo "$NOW"
}

# nap SECONDS: sleep that long (fractions allowed). Without a fork when
# NAP_FIFO names a fifo the script made (a read on it that times out; the
# fifo is opened for that read only, so no fd is left to the script's
# children); else sleep(1).
nap() {
	if [ -n "${NAP_FIFO:-}" ]; then
		read -r -t "$1" <>"$NAP_FIFO" 2>/dev/null || true
	else
		sleep "$1"
	fi
}

# wait_for SECONDS CMD...: run CMD until it succeeds, napping WAIT_POLL
# seconds (default 0.05) between tries. Returns 0 once CMD succeeded; 1 when
# SECONDS have passed, or at once when CMD set WAIT_ABORT=1 (its condition
# can no longer become true). Says nothing: the caller reports. Sets
# WAIT_ABORT (to 0 first).
wait_for() {
	local _wait_end NOW # (names CMD is unlikely to read from its caller)
	set_now
	_wait_end=$((NOW + $1 * 1000))
	shift
	WAIT_ABORT=0
	until "$@"; do
		((WAIT_ABORT == 0)) || return 1
		set_now
		((NOW <= _wait_end)) || return 1
		nap "${WAIT_POLL:-0.05}"
	done
}

# proc_stat PID: STAT := the fields of /proc/PID/stat after the command name
# (STAT[0] the state, STAT[1] the ppid, STAT[19] the start time in clock
# ticks); 1, and STAT untouched, if there is no such process (or PID is empty:
# /proc//stat would be /proc/stat).
proc_stat() {
	local line
	[ -n "${1:-}" ] || return 1
	{ read -r line <"/proc/$1/stat"; } 2>/dev/null || return 1
	read -r -a STAT <<<"${line##*) }"
}

# alive PID: 0 if PID is a process that runs (exists and is not a zombie);
# 1 for an empty PID.
alive() {
	local STAT
	proc_stat "${1:-}" && [ "${STAT[0]}" != Z ]
}

# stime PID: STIME := the start time of process PID (with the pid, it names
# the process: a pid alone may have been reused); 1 if there is no such process.
stime() {
	local STAT
	proc_stat "${1:-}" || return 1
	STIME=${STAT[19]}
}

# reg PID: remember PID's start time in the caller's associative array
# started[] (declare -A started=() first). Always 0.
reg() {
	stime "$1" && started[$1]=$STIME
	return 0
}

# ours PID: 0 if PID is still the very process reg() remembered (pids get
# reused); 1 if it is gone, another one, or was never registered. Sets STIME.
ours() {
	stime "$1" && [ "${started[$1]:-}" = "$STIME" ]
}

# tree_pids PID...: print the pids of the process trees rooted at the given
# pids (roots included, parents before children, gone ones left out), found
# through the ppid links in /proc, on one line.
tree_pids() {
	local -A kids=()
	local d p STAT queue=("$@") res=()
	for d in /proc/[0-9]*; do
		proc_stat "${d#/proc/}" || continue
		kids[${STAT[1]}]+=" ${d#/proc/}"
	done
	while [ ${#queue[@]} -gt 0 ]; do
		p=${queue[0]}
		queue=("${queue[@]:1}")
		{ [ -n "$p" ] && [ -e "/proc/$p" ]; } || continue
		res+=("$p")
		# shellcheck disable=SC2206
		queue+=(${kids[$p]:-})
	done
	echo "${res[*]}"
}

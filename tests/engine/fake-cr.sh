#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A fake `cr` for testing the engine test driver itself (selftest.sh): it
# "checkpoints" by recording the root's command line, environment and cwd,
# and "restarts" by running the program again. The driver must catch it.
#
#   FAKE_CR=rerun   (default) restart runs the program from the start: stdout
#                   gets the beginning twice and the start log a second line.
#   FAKE_CR=replay  restart runs it again but passes on only the lines after
#                   the checkpoint's: stdout is byte-identical, only the start
#                   log shows that the program was re-run.
#   FAKE_CR=replay-nolog  the same with CR_START_LOG removed, so the start
#                   log looks right; FAKE_CR_SKEW=N then drops N more lines
#                   (N<0 repeats them): only stdout differs.
#   FAKE_CR_EXIT=N  replay modes: the restart exits N, not the program's status.
#   FAKE_CR_KILL=root  checkpoint --kill kills the root only.
#   FAKE_CR_LEAVE=stopped  checkpoint --leave-running leaves the tree stopped.
set -u
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # tree_pids

checkpoint() {
	local how=leave pid dir pids
	case "$1" in
	--kill) how="kill"; shift ;;
	--leave-running) shift ;;
	esac
	pid=$1 dir=$2
	mkdir "$dir" || exit 1
	pids=$(tree_pids "$pid")
	# shellcheck disable=SC2086
	kill -STOP $pids
	cp "/proc/$pid/cmdline" "$dir/cmdline"
	cp "/proc/$pid/environ" "$dir/environ"
	readlink "/proc/$pid/cwd" >"$dir/cwd"
	wc -l <"/proc/$pid/fd/1" >"$dir/lines"
	# shellcheck disable=SC2086
	case "$how" in
	kill)
		if [ "${FAKE_CR_KILL:-}" = root ]; then
			kill -KILL "$pid"
			kill -CONT $pids
		else
			kill -KILL $pids
		fi
		;;
	*) [ "${FAKE_CR_LEAVE:-}" = stopped ] || kill -CONT $pids ;;
	esac
	exit 0
}

restart() {
	local dir skip
	while [ "${1#--}" != "$1" ]; do shift; done # --pidns, --detach: ignored
	dir=$1
	local -a argv env
	mapfile -d '' -t argv <"$dir/cmdline"
	mapfile -d '' -t env <"$dir/environ"
	cd "$(cat "$dir/cwd")" || exit 1
	case "${FAKE_CR:-rerun}" in
	rerun)
		exec env -i "${env[@]}" "${argv[@]}"
		;;
	replay | replay-nolog)
		[ "$FAKE_CR" = replay ] || env=("${env[@]/#CR_START_LOG=*/CR_UNSET=}")
		skip=$(($(cat "$dir/lines") + ${FAKE_CR_SKEW:-0}))
		env -i "${env[@]}" "${argv[@]}" | tail -n +$((skip + 1))
		exit "${FAKE_CR_EXIT:-${PIPESTATUS[0]}}"
		;;
	esac
}

case "${1:-}" in
checkpoint) shift; checkpoint "$@" ;;
restart) shift; restart "$@" ;;
info)
	[ "${2:-}" = --json ] && { echo '{"fake": true}'; exit 0; }
	cat "$2/cwd"
	;;
*) echo "usage: $0 checkpoint|restart|info ..." >&2; exit 2 ;;
esac

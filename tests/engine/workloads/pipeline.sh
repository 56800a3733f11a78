#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
# Engine workload: bash running a pipeline of subshells with sleep and awk,
# same stdout on every run. The producer paces itself with sleep(1), so a
# checkpoint lands mid-run with data in the pipes and a sleep in flight.
# A fresh start appends one line to the file named by $CR_START_LOG.
set -u
[ -n "${CR_START_LOG:-}" ] && echo "pipeline pid $$" >>"$CR_START_LOG"

n=30
step=${CR_ENGINE_STEP_MS:-90} # slower steps where cr is slower (the sanitized pass)
(
	for ((i = 1; i <= n; i++)); do
		echo "$i $((i * i % 1009))"
		sleep "$((step / 1000)).$(printf %03d $((step % 1000)))"
	done
) | (
	acc=0
	while read -r a b; do
		acc=$(((acc * 31 + a * b) % 65521))
		echo "$a $b $acc"
	done
) | awk '{
	s = (s * 7 + $3) % 1000003
	printf "line %02d sq=%d acc=%d s=%d\n", $1, $2, $3, s
	fflush()
}
END { printf "summary lines=%d s=%d\n", NR, s }'
st=("${PIPESTATUS[@]}")
echo "status ${st[*]}"

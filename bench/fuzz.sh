#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzz every harness of tests/fuzz (libFuzzer, clang, ASan/UBSan) for a
# while each, and report executions, coverage and crashes (not a test).
#
#   bash bench/fuzz.sh [--secs N] [--build DIR] [--jobs N] [--out DIR]
#
# --secs: seconds per harness (default 3600 / number of harnesses, an hour
# in all). --build: the CR_FUZZ build directory (default build-fuzz, made if
# missing). --out: where each harness's corpus grows and its crashes land
# (default /var/tmp/cr-fuzz; the seeds in tests/fuzz/corpus are never
# written). Prints one line per harness: executions, exec/s, coverage
# (libFuzzer's "cov" edges and "ft" features) and the crash files, if any;
# exits 1 if any harness crashed. Each crash found becomes a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
harnesses=(image proto placement)
secs=$((3600 / ${#harnesses[@]}))
build=build-fuzz
out=/var/tmp/cr-fuzz
jobs=1
while [ $# -gt 0 ]; do
	case $1 in
	--secs) secs=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '3,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
if [ ! -x "$build/tests/fuzz/fuzz-image" ]; then
	CC=clang cmake -S . -B "$build" -DCR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target "${harnesses[@]/#/fuzz-}" >/dev/null
crashed=0
for h in "${harnesses[@]}"; do
	dir=$out/$h
	mkdir -p "$dir/corpus" "$dir/crashes"
	log=$dir/fuzz.log
	"$build/tests/fuzz/fuzz-$h" -max_total_time="$secs" -jobs="$jobs" -workers="$jobs" \
		-artifact_prefix="$dir/crashes/" -print_final_stats=1 \
		"$dir/corpus" "tests/fuzz/corpus/$h" >"$log" 2>&1 || true
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1)
	found=$(find "$dir/crashes" -type f | wc -l)
	[ "$found" = 0 ] || crashed=1
	printf '%-10s %s s  %s executions  %s exec/s  %s  crashes: %s (%s)\n' "$h" "$secs" \
		"${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$found" "$dir/crashes"
done
exit $crashed

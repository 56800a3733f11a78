#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Fuzz every harness of tests/fuzz (libFuzzer, clang, ASan/UBSan) for a
# while each, and report executions, coverage and crashes (not a test).
#
#   bash bench/fuzz.sh [--secs N] [--build DIR] [--jobs N] [--out DIR] [HARNESS...]
#
# HARNESS: image proto placement manifest info archive pstree (default:
# all, one after the other). --secs: seconds per harness (default 3600 /
# number of harnesses, an hour in all). --build: the CR_FUZZ build directory
# (default build-fuzz, made if missing). --jobs: libFuzzer processes per
# harness (their logs: OUT/HARNESS/fuzz-N.log). --out: where each harness's
# corpus grows and its crashes land (default /var/tmp/cr-fuzz; the seeds in
# tests/fuzz/corpus are never written). Prints one line per harness:
# executions, exec/s, coverage (libFuzzer's "cov" edges and "ft" features),
# corpus size and the crash files, if any; exits 1 if any harness crashed.
# Each crash found becomes a unit test.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
root=$PWD
all=(image proto placement manifest info archive pstree)
harnesses=()
secs=
build="build-fuzz"
out=/var/tmp/cr-fuzz
jobs=1
while [ $# -gt 0 ]; do
	case $1 in
	--secs) secs=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '3,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "bench/fuzz.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	*)
		[[ " ${all[*]} " == *" $1 "* ]] || { echo "bench/fuzz.sh: no harness $1" >&2; exit 2; }
		harnesses+=("$1"); shift ;;
	esac
done
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
secs=${secs:-$((3600 / ${#harnesses[@]}))}
build=$(realpath -m "$build")
out=$(realpath -m "$out")
if [ ! -x "$build/tests/fuzz/fuzz-image" ]; then
	CC=clang cmake -S . -B "$build" -DCR_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target "${harnesses[@]/#/fuzz-}" >/dev/null
crashed=0
for h in "${harnesses[@]}"; do
	dir=$out/$h
	mkdir -p "$dir/corpus" "$dir/crashes"
	log=$dir/fuzz.log
	rm -f "$dir"/fuzz-*.log
	# -jobs, even 1, runs workers whose output goes to fuzz-N.log in the working directory
	par=()
	[ "$jobs" -le 1 ] || par=(-jobs="$jobs" -workers="$jobs")
	(cd "$dir" && "$build/tests/fuzz/fuzz-$h" -max_total_time="$secs" "${par[@]}" \
		-artifact_prefix="$dir/crashes/" -print_final_stats=1 \
		"$dir/corpus" "$root/tests/fuzz/corpus/$h") >"$log" 2>&1 || true
	logs=("$log" "$dir"/fuzz-*.log)
	execs=$(cat "${logs[@]}" 2>/dev/null | sed -n 's/^stat::number_of_executed_units: *//p' |
		awk '{s += $1} END {print s}')
	rate=$(cat "${logs[@]}" 2>/dev/null | sed -n 's/^stat::average_exec_per_sec: *//p' |
		awk '{s += $1} END {print s}')
	cov=$(cat "${logs[@]}" 2>/dev/null | grep -o 'cov: [0-9]* ft: [0-9]*' | tail -1)
	corp=$(find "$dir/corpus" -type f | wc -l)
	found=$(find "$dir/crashes" -type f | wc -l)
	[ "$found" = 0 ] || crashed=1
	printf '%-10s %s s  %s executions  %s exec/s  %s  corpus: %s files  crashes: %s (%s)\n' \
		"$h" "$secs" "${execs:-?}" "${rate:-?}" "${cov:-cov: ?}" "$corp" "$found" "$dir/crashes"
done
exit $crashed

#!/usr/bin/env bash
# The demo: install what is needed, build, then show a program checkpointed,
# killed and restarted, finishing exactly as an uninterrupted run does.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
cr=$repo/build/libcr/cr
workload=$repo/build/tests/engine/cr-engine-tree
[ -x "$workload" ] || { echo "demo: $workload was not built" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cr-demo.XXXXXX)
trap 'kill -9 "${pid:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir "$work/ref" "$work/run"

echo "== 1. the workload uninterrupted (3 processes, threads, pipes, shared memory, signals, a zombie)"
"$workload" "$work/ref" >"$work/reference.out"
tail -n 2 "$work/reference.out"

echo "== 2. the same workload, checkpointed mid-run and killed"
"$workload" "$work/run" >"$work/run.out" &
pid=$!
until [ "$(wc -l <"$work/run.out")" -ge 12 ]; do sleep 0.05; done
"$cr" checkpoint --kill "$pid" "$work/image"
wait "$pid" 2>/dev/null || true
echo "   killed after $(wc -l <"$work/run.out") lines; image:"
"$cr" info "$work/image" | sed 's/^/   /'

echo "== 3. restarted from the image (in a new pid namespace: same pids)"
"$cr" restart --pidns "$work/image" >>"$work/run.out"
tail -n 2 "$work/run.out"

if cmp -s "$work/reference.out" "$work/run.out"; then
	echo "== the restarted run's output is byte-for-byte the uninterrupted run's"
else
	echo "== OUTPUT DIFFERS" >&2
	diff "$work/reference.out" "$work/run.out" >&2 || true
	exit 1
fi

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Endurance: tests/cluster/test-soak.sh with many cycles (not a test; CI
# runs that test with 5). A two-node Open MPI job goes through CYCLES rounds
# of checkpoint, node kill, requeue and restore on a cluster-in-a-box
# instance; after each the output must still be a prefix of an uninterrupted
# run's and nothing may accumulate (crd's memory and fds, monitors, mounts,
# job-network links, cgroups, checkpoints beyond KeepCount).
#
#   bash bench/soak.sh [--cycles N] [--build DIR] [--out FILE]
#
# --cycles: default 100 (about 50 s each). --build: a built tree (default
# build). --out: the per-cycle, per-node figures as TSV (default
# /var/tmp/cr-soak.tsv). Uses CR_CLUSTER_INSTANCE (default 5). Exits with
# the test's status.
set -euo pipefail
cd "$(dirname "$0")/.."
cycles=100
build=build
out=/var/tmp/cr-soak.tsv
while [ $# -gt 0 ]; do
	case $1 in
	--cycles) cycles=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '3,17p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "bench/soak.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ -x "$build/agent/crd" ] || { echo "bench/soak.sh: no crd in $build: build first" >&2; exit 2; }
export CR_CLUSTER_INSTANCE=${CR_CLUSTER_INSTANCE:-5} SOAK_CYCLES=$cycles SOAK_LOG=$out
echo "bench/soak.sh: $cycles cycles on cluster instance $CR_CLUSTER_INSTANCE, figures in $out" >&2
ctest --test-dir "$build" -R '^cluster-soak$' --timeout $((cycles * 120 + 600)) --output-on-failure -V |
	grep -E 'cycle [0-9]+: restored|ok:|fail|Passed|Failed'

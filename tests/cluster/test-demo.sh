#!/usr/bin/env bash
# The README's demo (scripts/demo.sh) on this test's cluster instance, from
# this build: a program checkpointed, killed and restarted; a 3-node MPI job
# checkpointed, its first node killed, resumed by Slurm's requeue on the
# nodes it gets, and ending byte-identical to a plain run, started once.
# The demo checks all of it and exits 1 otherwise; it takes the cluster's
# session lock itself and brings its cluster up and down.
# ctest: TIMEOUT=600
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
[ "$(id -u)" = 0 ] || skip "needs root"
if [ -n "${CR_CLUSTER_INSTANCES_USED:-}" ]; then
	echo "${CR_CLUSTER_INSTANCE:-0}" >>"$CR_CLUSTER_INSTANCES_USED"
fi
log "on cluster instance ${CR_CLUSTER_INSTANCE:-0}"
CR_DEMO_BUILD_DIR=$CR_BUILD_DIR bash "$HERE/../../scripts/demo.sh"

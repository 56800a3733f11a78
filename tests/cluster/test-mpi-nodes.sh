#!/usr/bin/env bash
# Issue 13: Open MPI's mpirun across nodes inside a checkpointable job.
# `sbatch --checkpoint -N2 --ntasks-per-node=1` of `mpirun` of the solver
# (tests/mpi/solver.c), one rank per node: mpirun starts orted on the second
# node through cr-rsh (the container's launch profile), below that node's slot
# root; the job ends as a plain job's run (mpirun through srun) does,
# byte-identical. Then the same with `scontrol checkpoint create` mid-run:
# the checkpoint freezes and dumps both slots' trees (the second node's slot
# root, orted and rank included), the job runs on and ends identical, once;
# `crctl restart` of that checkpoint rebuilds both slots and ends identical too.
# ctest: TIMEOUT=600
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
# shellcheck source=tests/cluster/mpinodes-lib.sh
. "$HERE/mpinodes-lib.sh"
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
[ -x "$CR_CLUSTER_DIR/libexec/cr-rsh" ] || fail "no cr-rsh in $CR_CLUSTER_DIR/libexec"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-80}
WORKLOAD=mpinodes.sh

across_nodes "orted"

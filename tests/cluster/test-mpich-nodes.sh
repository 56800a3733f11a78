#!/usr/bin/env bash
# Issue 13: MPICH's mpiexec (Hydra) across nodes inside a checkpointable job.
# `sbatch --checkpoint -N2 --ntasks-per-node=1`: Hydra starts its proxy on the
# second node through cr-rsh and keeps that cr-rsh for the proxy's life; the
# job ends as a plain job's run (proxies through srun) does, byte-identical.
# Checkpointed mid-run (cr-rsh and its relay's TCP connection included) it runs
# on and ends identical; `crctl restart` of that checkpoint ends identical too.
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
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver-mpich
[ -x "$solver" ] || fail "$solver is not built (MPICH: scripts/install-deps.sh)"
[ -x /usr/bin/mpiexec.mpich ] || fail "no /usr/bin/mpiexec.mpich (scripts/install-deps.sh)"
[ -x "$CR_CLUSTER_DIR/libexec/cr-rsh" ] || fail "no cr-rsh in $CR_CLUSTER_DIR/libexec"
install -m 0755 "$solver" "$WORK/solver-mpich"
install -m 0755 "$HERE/workloads/mpichnodes.sh" "$WORK/mpichnodes.sh"
ITERS=${ITERS:-80}
WORKLOAD=mpichnodes.sh

# Hydra keeps cr-rsh running for its proxy's life: it is in the checkpoint.
cr_rsh_runs() {
	ps -u "$USER_" -o args= | grep -v -- --slot-root | grep -q "cr-rsh " ||
		fail "no cr-rsh runs while Hydra's proxy does"
}
# The second node's container joins its job's cgroups late (CR_FAULT stalls
# its monitor 3 s first), after Hydra's proxy was started there through
# cr-rsh: the proxy's whole tree must follow it into the job's cgroups
# (across_nodes checks), or it runs outside the job's CPUs, and a checkpoint
# records it as pinned to CPUs the restart does not get.
CR_FAULT="join-extern@$NODE2+3" "$CLUSTER_SH" restart-crd "$NODE2"
across_nodes "Hydra proxy" cr_rsh_runs

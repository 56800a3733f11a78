#!/usr/bin/env bash
# Issue 12: the one-node MPI job with MPICH instead of Open MPI. `sbatch
# --checkpoint -N1 -n4 -O` running `mpiexec.mpich -n 4` (Hydra, fork launcher;
# UCX over TCP and shared memory) of the solver (tests/mpi/solver.c built
# against MPICH) as the cluster's user: `scontrol checkpoint create` mid-run,
# the job runs on and ends as an uninterrupted run does; `crctl restart` of
# that checkpoint ends the same way too (byte-identical output, one start).
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
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver-mpich
[ -x "$solver" ] || fail "$solver is not built (MPICH: scripts/install-deps.sh)"
[ -x /usr/bin/mpiexec.mpich ] || fail "no /usr/bin/mpiexec.mpich (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver-mpich"
install -m 0755 "$HERE/workloads/mpichjob.sh" "$WORK/mpichjob.sh"
ITERS=60 # about 6 s of iterations

# mpichjob NAME SBATCH-ARGS...: the job as the test user in $WORK/NAME; its id.
mpichjob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N1 -n4 -O "$@" \
		"$WORK/mpichjob.sh" "$WORK/$name" "$ITERS"
}

ref=$(mpichjob ref -w "$NODE2")
id=$(mpichjob ck --checkpoint=0 -w "$NODE1")
create_run_on_restart ck "$id" ref "$ref"

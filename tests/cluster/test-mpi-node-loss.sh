#!/usr/bin/env bash
# Issue 12: a real Open MPI 4.1.4 job on one node whose node dies. `sbatch
# --checkpoint=15s -N1 -n4 -O` running `mpirun -n 4` of the solver as the
# cluster's user over Open MPI's TCP transport (loopback): after a periodic
# checkpoint its node is killed, Slurm requeues it and it resumes on another
# node from that checkpoint, ending as an uninterrupted run (byte-identical
# output, one start).
# ctest: TIMEOUT=900
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 3
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpijob.sh" "$WORK/mpijob.sh"
ITERS=400 # about 40 s: time for a periodic checkpoint, a node failure and a requeue

# mpijob NAME SBATCH-ARGS...: the job (tcp) as the test user in $WORK/NAME; its id.
mpijob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N1 -n4 -O "$@" \
		"$WORK/mpijob.sh" "$WORK/$name" tcp "$ITERS"
}

NODE3=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f3)
ref=$(mpijob ref -w "$NODE3")
id=$(mpijob nl --checkpoint=15s -x "$NODE3")
lose_node_after_ckpt "$id"
wait_done "$id" 300
wait_done "$ref" 120
[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "reference $ref ended with $(job_field "$ref" ExitCode)"
resumed_ok "$id" "$seq"
same_as_ref nl ref
ok "node $node killed: MPI job resumed from checkpoint $seq elsewhere, ended as the uninterrupted run"

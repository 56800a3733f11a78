#!/usr/bin/env bash
# Issue 13, test 2: an Open MPI job across nodes loses a node. `sbatch
# --checkpoint=15s -N2 --ntasks-per-node=1` of `mpirun` of the solver (one
# rank per node, orted on the second node through cr-rsh): after a periodic
# checkpoint its second node (not the batch host: mpirun ends on its lost
# orted before slurmctld sees the node down) is killed, its network with it;
# the batch host requeues the job, which resumes on the survivor and a spare
# node from that checkpoint, each slot with its address, ending
# byte-identical to a plain run of the same job, started once. (A lost batch
# host: the demo, cluster-tcp-nodes, cluster-jobnet-overlap.)
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
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-400} # about 40 s: time for a periodic checkpoint, a node failure and a requeue
read -r N1 N2 N3 <<<"$CR_CLUSTER_NODES"

# mpijob NAME SBATCH-ARGS...: the job as the test user in $WORK/NAME; its id.
mpijob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS"
}

# The job first (Slurm gives it the first two nodes, N1 its batch host); the
# reference, a plain job (mpirun through srun), on the two nodes no one kills.
# Requeued, the job runs on those two, beside the reference.
id=$(mpijob nl --checkpoint=15s)
ref=$(mpijob ref -w "$N1,$N3")
wait_job_state "$id" RUNNING 60
[ "$(job_field "$id" BatchHost)" = "$N1" ] || fail "job $id runs on $(job_field "$id" NodeList), not from $N1"
lose_node_after_ckpt "$id" "$N2"
# Its line comes once the probe of N2 timed out; slurmctld may have seen N2 down first.
wait_until 15 "the batch host to requeue job $id for the loss of $N2" crd_log_has "job $id: node $N2 lost: the script ended"
wait_done "$id" 300
wait_done "$ref" 300
[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "reference $ref ended with $(job_field "$ref" ExitCode)"
resumed_ok "$id" "$seq"
same_as_ref nl ref
ok "node $node killed: the 2-node MPI job resumed from checkpoint $seq on $(job_field "$id" NodeList), ended as the plain run"

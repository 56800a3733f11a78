#!/usr/bin/env bash
# Issue 13, test 4: restart of a restart. An Open MPI job across 2 nodes
# (`sbatch --checkpoint=10s -N2 --ntasks-per-node=1`, orted on the second
# node through cr-rsh) loses its batch node after a periodic checkpoint, is
# requeued and restored from it; checkpointed again after that restore (a
# newer seq), it loses the node of its second slot and is restored from the
# newer checkpoint; it ends byte-identical to a plain run of the same job
# (mpirun through srun), started once. The second loss leaves the batch
# script on a live node, where it fails seconds after mpirun loses its orted,
# before slurmctld sees the node down: the batch host requeues the job
# (agent/nodeloss.c). SECOND_LOSS=1 kills the batch node the second time too.
# ctest: TIMEOUT=600
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
# shellcheck source=tests/cluster/mpinodes-lib.sh
. "$HERE/mpinodes-lib.sh" # ended_ok
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
# 0.1 s each: about 30 s of running, time for two periodic checkpoints
ITERS=${ITERS:-400} # 0.1 s each: the second periodic checkpoint must come well before the end, also on a loaded machine
read -r N1 N2 N3 <<<"$CR_CLUSTER_NODES"

# mpijob NAME SBATCH-ARGS...: one rank on each of 2 nodes, as the test user; its id.
mpijob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS"
}

# newer_ckpt JOBID SEQ: the job has a committed checkpoint newer than SEQ.
newer_ckpt() {
	local s
	s=$(last_seq "$1")
	[ -n "$s" ] && ((s > $2))
}
# slot_node JOBID I: the node of the job's I-th node (1, 2) in its allocation.
slot_node() { scontrol show hostnames "$(job_field "$1" NodeList)" | sed -n "$2p"; }
requeued_again() { (($(job_field "$1" Restarts) >= $2)) && job_running "$1"; }
requeued_or_done() { requeued_again "$@" || job_is_done "$1"; }
# lose_node JOBID I AFTER: once the job has committed a checkpoint newer than
# AFTER (then no newer one: checkpoints disabled), its I-th node is killed;
# waits until Slurm runs it again. Sets $seq and $node.
lose_node() {
	local id=$1 restarts
	restarts=$(job_field "$id" Restarts)
	wait_job_state "$id" RUNNING 60
	node=$(slot_node "$id" "$2")
	wait_until 60 "a checkpoint of job $id newer than $3" newer_ckpt "$id" "$3"
	crctl_as "$USER_" disable "$id" >/dev/null
	seq=$(last_seq "$id")
	log "job $id on $(job_field "$id" NodeList), checkpoint $seq committed; killing $node"
	"$CLUSTER_SH" kill-node "$node"
	wait_until 240 "job $id to run again" requeued_or_done "$id" $((restarts + 1))
	job_is_done "$id" && fail "job $id ended ($(job_state "$id"), exit $(job_field "$id" ExitCode)) instead of being requeued: $(tail -3 "$WORK/ra.out")"
	log "job $id requeued onto $(job_field "$id" NodeList)"
}

# The job first: Slurm gives it N1 (its batch node) and N2 (no -w: a
# requeued job keeps it); the plain run beside it on N2 and N3.
id=$(mpijob ra --checkpoint=10s)
ref=$(mpijob ref -w "$N2,$N3")
wait_job_state "$id" RUNNING 60
[ "$(job_field "$id" BatchHost)" = "$N1" ] || fail "job $id runs from $(job_field "$id" BatchHost), not $N1"

# First loss: the batch node; the job goes on on N2 and N3.
lose_node "$id" 1 0
seq1=$seq
"$CLUSTER_SH" revive-node "$N1"
wait_until 60 "job $id's restore from checkpoint $seq1" crd_log_has "job $id: restored checkpoint $seq1 of job $id"
ended_ok "$ref" ref # it ran on N2 and N3, the next to go
grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"

# Second loss: slot 1's node (SECOND_LOSS=1: the batch node again), after a
# checkpoint of the restored run.
lose_node "$id" "${SECOND_LOSS:-2}" "$seq1"
seq2=$seq
on_exit+=("'$CLUSTER_SH' revive-node '$node'")
# Its line comes once the probe of the node timed out (slurmctld may have requeued first).
[ "${SECOND_LOSS:-2}" = 1 ] ||
	wait_until 15 "the batch host to requeue job $id for the loss of $node" \
		crd_log_has "job $id: node $node lost: the script ended"
ended_ok "$id" ra
[ "$(job_field "$id" Restarts)" = 2 ] || fail "job $id: Restarts=$(job_field "$id" Restarts)"
crd_log_has "job $id: restored checkpoint $seq2 of job $id" ||
	fail "no crd says it restored checkpoint $seq2 of job $id: $(grep -h "job $id: restored" "$CR_CLUSTER_DIR"/nodes/*/crd.log)"
same_as_ref ra ref
ok "restored from checkpoint $seq1 after losing $N1, checkpointed again ($seq2), lost $node, restored from $seq2 on $(job_field "$id" NodeList): ended as the plain run, started once"

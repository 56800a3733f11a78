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
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
[ -x "$CR_CLUSTER_DIR/libexec/cr-rsh" ] || fail "no cr-rsh in $CR_CLUSTER_DIR/libexec"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-80}

# mpijob NAME SBATCH-ARGS...: the job as the test user in $WORK/NAME; its id.
mpijob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 -w "$NODE1,$NODE2" "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS"
}

same_run() {
	local n
	cmp -s "$WORK/$2.out" "$WORK/$1.out" ||
		fail "$1: output differs from the plain run:
$(diff "$WORK/$2.out" "$WORK/$1.out" | head -20)"
	n=$(wc -l <"$WORK/$1/starts")
	[ "$n" = 1 ] || fail "$1: started $n times from the top: $(cat "$WORK/$1/starts")"
}
ended_ok() {
	WAIT_POLL=0.2 wait_for 180 job_is_done "$1" ||
		fail "job $1 did not end: $(scontrol -o show job "$1" | grep -o 'JobState=[^ ]* Reason=[^ ]*'); nodes: $(sinfo -h -N -o '%N %T' | paste -sd' ')"
	[ "$(job_field "$1" ExitCode)" = 0:0 ] ||
		fail "job $1 ended with $(job_field "$1" ExitCode): $(tail -5 "$WORK/$2.out")"
}

ref=$(mpijob ref)
ended_ok "$ref" ref
grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"

id=$(mpijob run --checkpoint=0)
ended_ok "$id" run
same_run run ref
crd_log_has "job $id: cr-rsh: started" || fail "no orted was started through cr-rsh"
ok "mpirun across 2 nodes through cr-rsh ended as the plain run"

id=$(mpijob ck --checkpoint=0)
wait_output ck "^iter 20 "
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
log "$out"
echo "$out" | grep -q "checkpoint 1 committed" || fail "checkpoint create said: $out"
ended_ok "$id" ck
same_run ck ref
ok "checkpointed mid-run across 2 nodes, ran on and ended as the plain run"
grep -q "job $id: slot 1 frozen ([1-9][0-9]* tasks)" "$CR_CLUSTER_DIR"/nodes/*/crd.log ||
	fail "the second node's slot was not checkpointed with its tasks"

# Its restart: both slots rebuilt from checkpoint 1, the second below a restored slot root.
out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
echo "$out" | grep -q "from checkpoint 1" || fail "crctl restart did not take checkpoint 1: $out"
jobs_started+=("$new")
ended_ok "$new" ck
same_run ck ref
grep -q "job $new: slot 1 rebuilt from checkpoint 1" "$CR_CLUSTER_DIR"/nodes/*/crd.log ||
	fail "the second node's slot was not rebuilt from checkpoint 1"
ok "crctl restart of checkpoint 1 across 2 nodes ended as the plain run"

#!/usr/bin/env bash
# Issue 13, test 1: Open MPI's mpirun over 3 nodes, 2 ranks on each. `sbatch
# --checkpoint=0 -N3 --ntasks-per-node=2` of `mpirun -n $SLURM_NTASKS` of the
# solver (tests/mpi/solver.c: halo exchange and allreduce each iteration, one
# residual line each), orted on the other two nodes through cr-rsh, the ranks
# of a node over shared memory, across nodes over TCP: `scontrol checkpoint
# create` mid-run freezes and dumps all 3 slots with their tasks, the job runs
# on and ends byte-identical to a plain run of the same job (mpirun through
# srun), started once.
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
. "$HERE/mpinodes-lib.sh"
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
[ -x "$CR_CLUSTER_DIR/libexec/cr-rsh" ] || fail "no cr-rsh in $CR_CLUSTER_DIR/libexec"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-60} # 0.1 s each

# job3x2 NAME SBATCH-ARGS...: 6 ranks, 2 on each of the 3 nodes, as the test user; its id.
job3x2() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N3 --ntasks-per-node=2 "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS" tasks
}

# The plain run first: each job takes every core of the 3 nodes.
ref=$(job3x2 ref)
ended_ok "$ref" ref
{ grep -q "^ranks 6 " "$WORK/ref.out" && grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out"; } ||
	fail "the plain run did not run 6 ranks to the end: $(head -1 "$WORK/ref.out"); $(tail -2 "$WORK/ref.out")"

id=$(job3x2 ck --checkpoint=0)
wait_output ck "^iter 10 " 90
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
log "$out"
grep -q "checkpoint 1 committed: .* from 3 node(s)" <<<"$out" || fail "checkpoint create said: $out"
ended_ok "$id" ck
same_as_ref ck ref
crd_log_has "job $id: cr-rsh: started" || fail "no orted was started through cr-rsh"
# Each slot's tree: slot 0 the script, mpirun, its stderr filter and 2 ranks;
# slots 1 and 2 the slot root, orted and 2 ranks.
frozen=$(grep -h "job $id: slot [0-9]* frozen (" "$CR_CLUSTER_DIR"/nodes/*/crd.log | sed 's/.*: slot/slot/')
log "$(echo "$frozen" | paste -sd';')"
for slot in 0 1 2; do
	n=$(echo "$frozen" | sed -n "s/^slot $slot frozen (\([0-9]*\) tasks)$/\1/p")
	((${n:-0} >= 4)) || fail "slot $slot was not frozen with its orted (or script) and 2 ranks: $frozen"
done
ok "6 ranks on 3 nodes checkpointed mid-run (3 slots frozen), ran on and ended as the plain run"

#!/usr/bin/env bash
# Issue 13, test 5: `crctl restart --nodes=2` of a 3-node Open MPI job. The
# job (mpirun of the solver, one rank on each of 3 nodes, orted on the other
# two through cr-rsh) is vacated mid-run; its restart onto 2 nodes puts two
# of its 3 slots on one node, each in a container of its own (MaxSlotsPerNode
# = 2 here; --nodes=1 is refused as too few). That job is checkpointed while
# packed (3 slots from 2 nodes) and vacated, and a plain `crctl restart` puts
# it back on 3 nodes. Each run ends byte-identical to a plain run of the job,
# started once, from the checkpoint the test took.
# ctest: TIMEOUT=600
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
export CR_CLUSTER_CRD_CONF="MaxSlotsPerNode=2"
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
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-150} # 0.1 s each

# job3 NAME SBATCH-ARGS...: one rank on each of the 3 nodes, as the test user; its id.
job3() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N3 --ntasks-per-node=1 "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS"
}

# vacate JOBID NAME NODES ITER: checkpoint 1 of the job from NODES nodes at ITER, the job ended.
vacate() {
	local out
	wait_output "$2" "^iter $4 " 120
	out=$(as "$USER_" scontrol checkpoint vacate "$1") || fail "checkpoint vacate: $out"
	log "$out"
	grep -q "checkpoint 1 committed: .* from $3 node(s).*job vacated" <<<"$out" ||
		fail "checkpoint vacate of job $1 said: $out"
	wait_done "$1" 60
	[ "$(job_state "$1")" = CANCELLED ] || fail "vacated job $1 is $(job_state "$1")"
	has_line "$WORK/$2.out" "^sum " && fail "the vacated job $1 ran to its end"
	return 0
}

# restart JOBID CRCTL-ARGS...: crctl restart of checkpoint 1; the new job's id.
restart() {
	local id=$1 out new
	shift
	out=$(crctl_as "$USER_" restart "$id" "$@") || fail "crctl restart $*: $out"
	log "$out" >&2
	new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
	[ -n "$new" ] || fail "crctl restart said: $out"
	grep -q "(restart of job $id from checkpoint 1)" <<<"$out" || fail "crctl restart did not take checkpoint 1: $out"
	echo "$new"
}

ref=$(job3 ref)
ended_ok "$ref" ref
grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"

id=$(job3 fw --checkpoint=0)
wait_job_state "$id" RUNNING 60
vacate "$id" fw 3 10

# One node cannot take 3 slots when a node takes 2: refused, nothing submitted.
if out=$(crctl_as "$USER_" restart "$id" --nodes=1 2>&1); then
	fail "crctl restart --nodes=1 of a 3-slot job was accepted: $out"
fi
grep -q "3 node slots do not fit on 1 nodes: a node takes 2 (MaxSlotsPerNode" <<<"$out" ||
	fail "crctl restart --nodes=1 said: $out"
ok "restart --nodes=1 refused: $out"

new=$(restart "$id" --nodes=2)
jobs_started+=("$new")
wait_job_state "$new" RUNNING 60
[ "$(job_field "$new" NumNodes)" = 2 ] || fail "restart --nodes=2 got $(job_field "$new" NumNodes) nodes"
wait_until 60 "job $new to restore checkpoint 1 of job $id" crd_log_has "job $new: restored checkpoint 1 of job $id"
crd_log_has "job $new: container unit 1 made for slot " || fail "no second container was made on a node of job $new"
for slot in 0 1 2; do
	crd_log_has "job $new: slot $slot rebuilt from checkpoint 1 of job $id" || fail "slot $slot of job $new was not rebuilt from checkpoint 1"
done
ok "restart --nodes=2 rebuilt the 3 slots on $(job_field "$new" NodeList), two in containers of one node"

# Checkpointed while packed: 3 slots from 2 nodes; then back onto 3 nodes.
vacate "$new" fw 3 60
again=$(restart "$new")
jobs_started+=("$again")
ended_ok "$again" fw
[ "$(job_field "$again" NumNodes)" = 3 ] || fail "the restart of the packed job got $(job_field "$again" NumNodes) nodes"
same_as_ref fw ref
crd_log_has "job $again: restored checkpoint 1 of job $new" || fail "no crd says job $again restored checkpoint 1 of job $new"
crd_log_has "job $again: container unit 1 made" && fail "job $again made a second container on a node, with 3 nodes for 3 slots"
ok "the packed job's checkpoint (3 slots from 2 nodes) restored onto 3 nodes; the job ended as the plain run, started once"

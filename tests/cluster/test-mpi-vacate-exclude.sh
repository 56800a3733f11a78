#!/usr/bin/env bash
# Issue 13, test 3: an Open MPI job across 3 nodes (one rank each, orted on
# the others through cr-rsh) is vacated with `scontrol checkpoint vacate`
# mid-run (checkpointed, then ended), and `crctl restart --exclude=<its
# second node>` brings it back on another node set: slot 0 on the batch
# node, slot 2 kept on its node (now the allocation's second: its container
# is given slot 2's address, not the second's), slot 1 moved on to the
# spare. Every slot is rebuilt from that checkpoint, and the job ends
# byte-identical to a plain run (mpirun through srun), started once.
# ctest: TIMEOUT=600
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 4
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
ITERS=${ITERS:-60} # 0.1 s each
WORKLOAD=mpinodes.sh
read -r N1 N2 N3 N4 <<<"$CR_CLUSTER_NODES"
NODE2=$N2

# job3 NAME NODES SBATCH-ARGS...: the workload on 3 nodes, one rank each; its id.
job3() {
	local name=$1 nodes=$2
	shift 2
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N3 --ntasks-per-node=1 -w "$nodes" "$@" \
		"$WORK/$WORKLOAD" "$WORK/$name" "$ITERS"
}

# The job on N1, N2 and N3 (one core of each), the plain run beside it on N2, N3 and N4.
ref=$(job3 ref "$N2,$N3,$N4")
id=$(job3 va "$N1,$N2,$N3" --checkpoint=0)
wait_job_state "$id" RUNNING 60
[ "$(job_field "$id" BatchHost)" = "$N1" ] || fail "job $id runs from $(job_field "$id" BatchHost), not $N1"
wait_output va "^iter 10 " 90
out=$(as "$USER_" scontrol checkpoint vacate "$id") || fail "checkpoint vacate: $out"
log "$out"
grep -q "checkpoint 1 committed: .* from 3 node(s).*job vacated" <<<"$out" || fail "checkpoint vacate said: $out"
wait_done "$id" 60
[ "$(job_state "$id")" = CANCELLED ] || fail "vacated job $id is $(job_state "$id")"
has_line "$WORK/va.out" "^sum " && fail "the vacated job ran to its end"
ended_ok "$ref" ref
grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"

out=$(crctl_as "$USER_" restart "$id" --exclude="$N2") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
grep -q "(restart of job $id from checkpoint 1)" <<<"$out" || fail "crctl restart did not take checkpoint 1: $out"
ended_ok "$new" va
[ "$(scontrol show hostnames "$(job_field "$new" NodeList)" | paste -sd,)" = "$N1,$N3,$N4" ] ||
	fail "restart --exclude=$N2 ran on $(job_field "$new" NodeList)"
same_as_ref va ref
crd_log_has "job $new: restored checkpoint 1 of job $id" || fail "no crd says job $new restored checkpoint 1 of job $id"
for want in "0 $N1" "2 $N3" "1 $N4"; do
	read -r slot node <<<"$want"
	grep -q "job $new: slot $slot rebuilt from checkpoint 1 of job $id" "$CR_CLUSTER_DIR/nodes/$node/crd.log" ||
		fail "slot $slot was not rebuilt on $node"
done
ok "vacated on $N1,$N2,$N3; restart --exclude=$N2 rebuilt slots 0, 2 and 1 from checkpoint 1 on $N1,$N3,$N4 (slots 2 and 1 readdressed) and ended as the plain run"

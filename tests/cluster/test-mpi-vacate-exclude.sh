#!/usr/bin/env bash
# Issue 13, test 3: an Open MPI job across 2 nodes (one rank each, orted on
# the second through cr-rsh) is vacated with `scontrol checkpoint vacate`
# mid-run (checkpointed, then ended), and `crctl restart --exclude=<its batch
# node>` brings it back on another node set: slot 0 on the new batch node,
# slot 1 moved on to the spare. Both slots are rebuilt from that checkpoint,
# and the job ends byte-identical to a plain run (mpirun through srun),
# started once.
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
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-60} # 0.1 s each
WORKLOAD=mpinodes.sh
read -r N1 N2 N3 <<<"$CR_CLUSTER_NODES"
NODE2=$N2

# The job on N1 and N2 (one core of each), the plain run beside it on N2 and N3.
ref=$(nodesjob ref -w "$N2,$N3")
id=$(nodesjob va --checkpoint=0)
wait_job_state "$id" RUNNING 60
[ "$(job_field "$id" BatchHost)" = "$N1" ] || fail "job $id runs from $(job_field "$id" BatchHost), not $N1"
wait_output va "^iter 10 " 90
out=$(as "$USER_" scontrol checkpoint vacate "$id") || fail "checkpoint vacate: $out"
log "$out"
grep -q "checkpoint 1 committed: .* from 2 node(s).*job vacated" <<<"$out" || fail "checkpoint vacate said: $out"
wait_done "$id" 60
[ "$(job_state "$id")" = CANCELLED ] || fail "vacated job $id is $(job_state "$id")"
has_line "$WORK/va.out" "^sum " && fail "the vacated job ran to its end"
ended_ok "$ref" ref
grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"

out=$(crctl_as "$USER_" restart "$id" --exclude="$N1") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
grep -q "(restart of job $id from checkpoint 1)" <<<"$out" || fail "crctl restart did not take checkpoint 1: $out"
ended_ok "$new" va
[ "$(scontrol show hostnames "$(job_field "$new" NodeList)" | paste -sd,)" = "$N2,$N3" ] ||
	fail "restart --exclude=$N1 ran on $(job_field "$new" NodeList)"
same_as_ref va ref
crd_log_has "job $new: restored checkpoint 1 of job $id" || fail "no crd says job $new restored checkpoint 1 of job $id"
grep -q "job $new: slot 0 rebuilt from checkpoint 1 of job $id" "$CR_CLUSTER_DIR/nodes/$N2/crd.log" ||
	fail "slot 0 was not rebuilt on $N2"
grep -q "job $new: slot 1 rebuilt from checkpoint 1 of job $id" "$CR_CLUSTER_DIR/nodes/$N3/crd.log" ||
	fail "slot 1 was not rebuilt on $N3"
ok "vacated on $N1,$N2; restart --exclude=$N1 rebuilt both slots from checkpoint 1 on $N2,$N3 and ended as the plain run"

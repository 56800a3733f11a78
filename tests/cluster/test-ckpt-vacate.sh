#!/usr/bin/env bash
# Issue 5, tests 2 and 4: `crctl vacate` ends a job after checkpointing it and
# `crctl restart --exclude` brings it back on another node; `crctl requeue`
# requeues a job that resumes from its checkpoint. Each ends as an
# uninterrupted run does.
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

# long enough for the restart job to be checkpointed and requeued before its end
export STEPS=120
ref=$(ckjob ref)
va=$(ckjob va --checkpoint=0 -w "$NODE1")
wait_output va "awk: step 12"
out=$(crctl_as "$USER_" vacate "$va") || fail "crctl vacate: $out"
log "$out"
grep -q "checkpoint 1 committed.*job vacated" <<<"$out" || fail "crctl vacate said: $out"
wait_done "$va" 60
log "vacated job $va: $(job_state "$va")"
has_line "$WORK/va.out" "awk: total" && fail "the vacated job ran to its end"

sleep 5 # down time the job's monotonic clock must not see
out=$(crctl_as "$USER_" restart "$va" --exclude="$NODE1") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
wait_job_state "$new" RUNNING 60
[ "$(job_field "$new" BatchHost)" = "$NODE2" ] ||
	fail "restart --exclude=$NODE1 runs on $(job_field "$new" BatchHost)"
# The restart job checkpoints itself, is requeued, and resumes from its own
# checkpoint (not from the vacated job's again, losing what it did since).
wait_output va "awk: step 40" 90
out=$(crctl_as "$USER_" requeue "$new") || fail "crctl requeue of the restart job: $out"
log "$out"
grep -q "checkpoint 1 committed.*job requeued" <<<"$out" || fail "crctl requeue said: $out"
wait_done "$new" 180
crd_log_has "job $new: restored checkpoint 1 of job $new" ||
	fail "the requeued restart job did not resume from its own checkpoint: $(grep -h "job $new: restored" "$CR_CLUSTER_DIR"/nodes/*/crd.log)"
[ "$(job_field "$new" Restarts)" = 1 ] || fail "restart job: Restarts=$(job_field "$new" Restarts)"
wait_done "$ref" 120
[ "$(job_field "$new" ExitCode)" = 0:0 ] || fail "restarted job ended with $(job_field "$new" ExitCode)"
same_as_ref va ref
read -r mono wall <"$WORK/va/clocks"
log "job's clocks advanced: monotonic ${mono} s, wall ${wall} s"
python3 -c "import sys; m, w = $mono, $wall; sys.exit(0 if m >= ${STEPS:-50} * 0.1 and w - m >= 4 else 1)" ||
	fail "CLOCK_MONOTONIC did not continue from the checkpoint: monotonic ${mono} s, wall ${wall} s"
ok "vacate, then restart --exclude=$NODE1 on $NODE2, then requeue of the restart job (resumed from its own checkpoint): ended as the uninterrupted run, monotonic clock continued"

rq=$(ckjob rq --checkpoint=0)
wait_output rq "awk: step 12"
out=$(crctl_as "$USER_" requeue "$rq") || fail "crctl requeue: $out"
log "$out"
grep -q "checkpoint 1 committed.*job requeued" <<<"$out" || fail "crctl requeue said: $out"
wait_done "$rq" 180
[ "$(job_field "$rq" ExitCode)" = 0:0 ] || fail "requeued job ended with $(job_field "$rq" ExitCode)"
[ "$(job_field "$rq" Restarts)" = 1 ] || fail "Restarts=$(job_field "$rq" Restarts)"
same_as_ref rq ref
ok "requeue: resumed from checkpoint 1 and ended as the uninterrupted run"

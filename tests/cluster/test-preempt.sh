#!/usr/bin/env bash
# Issue 16: preemption. The cluster's partitions (cluster.sh): "urgent"
# preempts "debug" (PreemptMode=REQUEUE, GraceTime=60) and "tight" (the same
# with GraceTime=1). A checkpointable job in debug, preempted by an urgent
# job: checkpointed within its grace time, requeued at once (the urgent job
# starts well before the grace time ends), resumed from that checkpoint once
# the urgent job ended, ending as an uninterrupted run, started once. In
# tight, a grace time too short for a checkpoint: Slurm requeues the job, it
# resumes from its previous committed checkpoint, and its AdminComment and
# `crctl error` say why no checkpoint was taken. In "scavenger"
# (PreemptMode=CANCEL, GraceTime=60): checkpointed, then ended; `crctl
# restart` brings it back and it ends as the uninterrupted run.
# ctest: nosan
# ctest: TIMEOUT=400
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
read -r N1 N2 <<<"$CR_CLUSTER_NODES"

# urgent: a job of the urgent partition that needs all of N1; its id.
urgent() { submit "$USER_" -p urgent -w "$N1" -c2 -o /dev/null --wrap "sleep 3"; }
# epoch FIELD JOBID: a time field of the job as seconds since the epoch.
epoch() { date -d "$(job_field "$2" "$1")" +%s; }
comment_has() { admin_comment "$1" | grep -q -- "$2"; }

export STEPS=250
ref=$(ckjob ref -w "$N2")

# PreemptMode=REQUEUE with a grace time: checkpointed, requeued, resumed.
id=$(ckjob pre --checkpoint=0 -p debug -w "$N1" -c2)
wait_output pre "^awk: step 40"
u=$(urgent)
wait_until 60 "job $id to be checkpointed for the preemption" comment_has "$id" "preempted: checkpoint within the grace time"
wait_done "$u" 90
[ "$(job_field "$u" ExitCode)" = 0:0 ] || fail "urgent job $u ended with $(job_field "$u" ExitCode)"
waited=$(($(epoch StartTime "$u") - $(epoch SubmitTime "$u")))
log "urgent job $u started $waited s after its submission; job $id: $(admin_comment "$id")"
((waited < 30)) || fail "urgent job $u waited $waited s: job $id held its node through its grace time"
wait_done "$id" 120
wait_done "$ref" 60
resumed_ok "$id" 1
same_as_ref pre ref
grep -q "job $id: preempted: checkpoint within the grace time (60 s), then requeued" \
	"$CR_CLUSTER_DIR"/nodes/"$N1"/crd.log || fail "crd did not log the preemption of job $id"
ok "preempted in debug: checkpoint 1 within the grace time ($(event_ckpt_secs "$id" "preempted:") s from seen to committed), requeued, the urgent job after $waited s, resumed identical"

# GraceTime=1: too short; the job resumes from its checkpoint of before.
id=$(ckjob tight --checkpoint=0 -p tight -w "$N1" -c2)
wait_output tight "^awk: step 40"
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
grep -q "checkpoint 1 committed" <<<"$out" || fail "checkpoint create said: $out"
u=$(urgent)
wait_until 60 "job $id's AdminComment to say why it was not checkpointed" comment_has "$id" "too short for a checkpoint"
log "job $id: $(admin_comment "$id")"
out=$(crctl_as "$USER_" error "$id") || fail "crctl error: $out"
grep -q "too short for a checkpoint" <<<"$out" || fail "crctl error $id said: $out"
wait_done "$u" 90
wait_done "$id" 120
resumed_ok "$id" 1
same_as_ref tight ref
ok "preempted in tight (GraceTime=1): no checkpoint, said why; resumed from checkpoint 1, identical"

# PreemptMode=CANCEL: checkpointed, ended; crctl restart brings it back.
id=$(ckjob cancel --checkpoint=0 -p scavenger -w "$N1" -c2)
wait_output cancel "^awk: step 40"
u=$(urgent)
wait_done "$id" 90
log "job $id: $(job_state "$id"); $(admin_comment "$id")"
comment_has "$id" "checkpoint 1 committed (preempted: checkpoint within the grace time (60 s), then the job ends)" ||
	fail "job $id: AdminComment: $(admin_comment "$id")"
has_line "$WORK/cancel.out" "awk: total" && fail "the preempted job $id ran to its end"
wait_done "$u" 90
out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
wait_done "$new" 120
[ "$(job_field "$new" ExitCode)" = 0:0 ] || fail "restarted job $new ended with $(job_field "$new" ExitCode)"
same_as_ref cancel ref
ok "preempted in scavenger (CANCEL): checkpoint 1 ($(event_ckpt_secs "$id" "preempted:") s from seen to committed), ended ($(job_state "$id")); crctl restart $new ended identical"

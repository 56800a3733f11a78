#!/usr/bin/env bash
# Issue 16: `sbatch --checkpoint=0 --checkpoint-continue --time=1`: a job
# needing about 90 s is checkpointed ContinueLead (10 s here) before its
# 1-minute limit, requeued, and continues from that checkpoint: it ends as
# an uninterrupted run (one start), Restarts >= 1, the continuations counted
# (AdminComment, crctl show). Without the option it ends by its time limit
# (TIMEOUT); where cr.conf says AllowContinue=no, sbatch refuses it.
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

# Not allowed: refused at submission, saying why.
printf 'AllowContinue=no\n' >"$WORK/no.conf"
rc=0
out=$(runuser -u "$USER_" -- env "PATH=$PATH" "SLURM_CONF=$SLURM_CONF" "CR_CONF=$WORK/no.conf" \
	sbatch --parsable --checkpoint=0 --checkpoint-continue --time=1 -o /dev/null \
	--wrap true 2>&1) || rc=$?
log "sbatch where AllowContinue=no: exit $rc: $out"
[ "$rc" != 0 ] || {
	jobs_started+=("${out%%;*}")
	fail "sbatch accepted --checkpoint-continue where AllowContinue=no"
}
grep -q "not allowed on this cluster (AllowContinue=no" <<<"$out" || fail "sbatch said: $out"

export STEPS=900
ref=$(ckjob ref)
con=$(ckjob con --checkpoint=0 --checkpoint-continue --time=1)
plain=$(ckjob plain --checkpoint=0 --time=1)

restarted() { [ "$(job_field "$con" Restarts)" -ge 1 ] && job_running "$con"; }
wait_until 150 "job $con to continue in a second allocation" restarted
out=$(crctl_as "$USER_" show "$con") || fail "crctl show: $out"
log "$out"
grep -q "Continues=1 " <<<"$out" || fail "crctl show does not say Continues=1"
admin_comment "$con" | grep -q "continues=1" || fail "AdminComment: $(admin_comment "$con")"
grep -q "admin_comment to .*checkpoint 1 committed (time limit in [0-9]* s: continuation 1 of at most .*) for JobId=$con\$" \
	"$CR_CLUSTER_DIR/log/slurmctld.log" || fail "no AdminComment said why job $con was checkpointed"

wait_done "$plain" 120
[ "$(job_state "$plain")" = TIMEOUT ] || fail "job $plain without --checkpoint-continue: $(job_state "$plain")"
[ "$(job_field "$plain" Restarts)" = 0 ] || fail "job $plain: Restarts=$(job_field "$plain" Restarts)"
has_line "$WORK/plain.out" "awk: total" && fail "job $plain ran to its end past its time limit"
ok "without --checkpoint-continue: TIMEOUT, as Slurm ends it"

wait_done "$con" 150
wait_done "$ref" 60
[ "$(job_field "$con" ExitCode)" = 0:0 ] || fail "job $con ended with $(job_field "$con" ExitCode) ($(job_state "$con"))"
n=$(job_field "$con" Restarts)
[ "$n" -ge 1 ] || fail "job $con: Restarts=$n"
resumed_ok "$con" 1
same_as_ref con ref
ok "--checkpoint-continue --time=1: continued $n time(s) (checkpoint $(event_ckpt_secs "$con" "time limit in") s from due to committed) and ended as the uninterrupted run; AdminComment: $(admin_comment "$con")"

#!/usr/bin/env bash
# Issue 5, test 1: `scontrol checkpoint create` on a running job (threads,
# pipes, files, a child in sleep): it runs on and ends as an uninterrupted
# run does; then `crctl restart` of that checkpoint ends the same way too.
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

ref=$(ckjob ref -w "$NODE2")
id=$(ckjob ck --checkpoint=0 -w "$NODE1")
wait_output ck "awk: step 15"
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
log "$out"
grep -q "checkpoint 1 committed" <<<"$out" || fail "checkpoint create said: $out"
[ "$(last_seq "$id")" = 1 ] || fail "crctl list does not show checkpoint 1"
wait_done "$ref" 120
wait_done "$id" 120
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
same_as_ref ck ref
ok "checkpointed job ran on and ended as the uninterrupted run"

# The job completed; its checkpoint brings it back as a new job.
out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
wait_done "$new" 120
[ "$(job_field "$new" ExitCode)" = 0:0 ] || fail "restarted job $new ended with $(job_field "$new" ExitCode)"
same_as_ref ck ref
ok "crctl restart of checkpoint 1 ended as the uninterrupted run"

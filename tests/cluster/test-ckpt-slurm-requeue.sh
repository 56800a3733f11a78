#!/usr/bin/env bash
# Slurm's own requeue (`scontrol requeue`, as after a preemption) of a job
# whose output is opened with --open-mode=append: it resumes from its last
# checkpoint, taken a while before, and its output file ends byte-identical
# to an uninterrupted run's, without Slurm's requeue line or what the job
# wrote after the checkpoint.
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
STEPS=150

ref=$(ckjob ref -w "$NODE2" --open-mode=append)
id=$(ckjob sr --checkpoint=0 -w "$NODE1" --open-mode=append)
wait_output sr "awk: step 10"
out=$(crctl_as "$USER_" create "$id") || fail "create: $out"
log "$out"
# The job runs on past its checkpoint before Slurm requeues it.
wait_output sr "awk: step 40"
scontrol requeue "$id"
wait_done "$id" 180
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job ended with $(job_field "$id" ExitCode)"
[ "$(job_field "$id" Restarts)" = 1 ] || fail "Restarts=$(job_field "$id" Restarts)"
wait_done "$ref" 120
same_as_ref sr ref
ok "scontrol requeue, --open-mode=append: resumed from checkpoint 1, output identical"

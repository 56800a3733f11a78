#!/usr/bin/env bash
# Issue 5, test 3: a --checkpoint=15s job whose node dies is requeued by
# Slurm and resumes on another node from its last committed checkpoint.
# ctest: TIMEOUT=900
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 3
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
STEPS=400 # about 40 s: time for a periodic checkpoint, a node failure and a requeue

NODE3=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f3)
# The reference runs where no node is killed.
ref=$(ckjob ref -w "$NODE3")
id=$(ckjob nl --checkpoint=15s -x "$NODE3")
wait_job_state "$id" RUNNING 60
node=$(job_field "$id" BatchHost)
has_ckpt() { [ -n "$(last_seq "$id")" ]; }
wait_until 60 "a periodic checkpoint of job $id" has_ckpt
# No newer checkpoint from here on: the job must resume from this one.
crctl_as "$USER_" disable "$id" >/dev/null
seq=$(last_seq "$id")
log "job $id on $node, checkpoint $seq committed; killing $node"
"$CLUSTER_SH" kill-node "$node"
on_exit+=("'$CLUSTER_SH' revive-node '$node'")
wait_until 240 "job $id to run on another node" moved_from "$id" "$node"
log "job $id requeued onto $(job_field "$id" BatchHost)"
wait_done "$id" 300
wait_done "$ref" 120
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job ended with $(job_field "$id" ExitCode)"
[ "$(job_field "$id" Restarts)" -ge 1 ] || fail "Restarts=$(job_field "$id" Restarts)"
crd_log_has "job $id: restored checkpoint $seq of job $id" ||
	fail "no crd says it restored checkpoint $seq"
same_as_ref nl ref
ok "node $node killed: job resumed from checkpoint $seq elsewhere, ended as the uninterrupted run"

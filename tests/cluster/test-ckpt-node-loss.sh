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
lose_node_after_ckpt "$id"
wait_done "$id" 300
wait_done "$ref" 120
resumed_ok "$id" "$seq"
same_as_ref nl ref
# What the restore cut from the data file (written after checkpoint $seq) was
# kept first (RollbackKeep): the bytes the uninterrupted run has there.
kept=$(find "$(ckpt_dir "$id")" -maxdepth 1 -name "rollback-$seq-*" | head -1)
[ -n "$kept" ] && [ -f "$kept/index" ] || fail "no rollback-$seq-* with an index in $(ckpt_dir "$id")"
IFS=$'\t' read -r n off len how path < <(grep "	$WORK/nl/data\$" "$kept/index")
[ "$path" = "$WORK/nl/data" ] && { [ "$how" = copied ] || [ "$how" = cloned ]; } ||
	fail "rollback index: $(cat "$kept/index")"
tail -c +$((off + 1)) "$WORK/ref/data" | head -c "$len" | cmp -s - "$kept/$n.tail" ||
	fail "the kept tail $kept/$n.tail ($len bytes at $off) is not what the job wrote there"
ok "the $len bytes the restore cut from the data file are kept in $kept"
ok "node $node killed: job resumed from checkpoint $seq elsewhere, ended as the uninterrupted run"

#!/usr/bin/env bash
# Issue 12: a job's TCP connections (over its slot's address and over
# loopback, data in flight) and a daemon it double-forked survive a
# checkpoint, its node's death and a restore on another node; and a restart
# of a restart, whose new container was given another address, gets back the
# one the connections were made on. Every run ends byte-identical to an
# uninterrupted one, started once.
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
install -m 0755 "$HERE/workloads/tcpjob.sh" "$WORK/tcpjob.sh"
STEPS=${STEPS:-100} # 0.25 s each

# tcpjob NAME SBATCH-ARGS...: the workload in $WORK/NAME; prints the job id.
tcpjob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" "$@" "$WORK/tcpjob.sh" "$WORK/$name" "$STEPS"
}
# same_out NAME: NAME's output and its daemon's equal the reference's, and it started once.
same_out() {
	same_as_ref "$1" ref
	cmp -s "$WORK/ref/daemon" "$WORK/$1/daemon" ||
		fail "$1: the daemon's count differs from the uninterrupted run's:
$(diff "$WORK/ref/daemon" "$WORK/$1/daemon" | head -20)"
}

NODE3=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f3)
ref=$(tcpjob ref -w "$NODE3")
id=$(tcpjob nl --checkpoint=0 -x "$NODE3")
wait_output nl "step 10 "
node=$(job_field "$id" BatchHost)
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
log "$out"
wait_output nl "step 15 "
log "job $id: checkpoint 1 committed; killing $node"
"$CLUSTER_SH" kill-node "$node"
on_exit+=("'$CLUSTER_SH' revive-node '$node'")
wait_until 240 "job $id to run on another node" moved_from "$id" "$node"
wait_done "$id" 300
wait_done "$ref" 120
grep -q "own-address True" "$WORK/ref.out" || fail "reference: $(tail -3 "$WORK/ref.out")"
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
crd_log_has "job $id: restored checkpoint 1 of job $id" || fail "no crd restored checkpoint 1"
same_out nl
ok "TCP over the slot's address and loopback, a daemon: checkpoint, $node killed, resumed on $(job_field "$id" BatchHost), output identical"

# crctl restart of job $id's checkpoint: a new job of the same lineage; it is
# vacated, and restarted again: that job's container is first given an
# address of its own, and must get the lineage's back before the restore.
out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
b=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$b" ] || fail "crctl restart said: $out"
jobs_started+=("$b")
wait_until 120 "job $b to resume" crd_log_has "job $b: restored checkpoint 1 of job $id"
out=$(crctl_as "$USER_" vacate "$b") || fail "crctl vacate $b: $out"
log "$out"
wait_done "$b" 60
out=$(crctl_as "$USER_" restart "$b") || fail "crctl restart $b: $out"
c=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$c" ] || fail "crctl restart said: $out"
jobs_started+=("$c")
wait_until 300 "job $c to end" held_or_done "$c"
job_held "$c" && fail "job $c could not be restored: $(admin_comment "$c")"
wait_done "$c" 30
[ "$(job_field "$c" ExitCode)" = 0:0 ] || fail "job $c ended with $(job_field "$c" ExitCode)"
crd_log_has "job $c: restored checkpoint 1 of job $b" || fail "job $c did not resume job $b's checkpoint"
same_out nl
ok "restart of a restart (jobs $b, $c): the slot's address and its connections kept, output identical"

#!/usr/bin/env bash
# Issue 10, a two-node job's restore (one cluster, three jobs parked held
# after their checkpoint, each released under another fault on node 2):
#   ba: node 2 stalls in READY: node 1 has rolled the job's data file back
#       before any node resumes (the rollback is a step of its own, every
#       node's done before RESUME; it used to happen in each node's RESUME);
#   to: node 2's container init hangs in RESTORE past MaxWait on every
#       attempt: every node aborts, later attempts are not answered BUSY, the
#       job is held; once the hang is gone, released, it resumes;
#   rs: node 2's helper dies in RESUME after node 1's tree ran: the running
#       tree is killed, the job held; released, it resumes.
# Each ends as the uninterrupted run. (Non-batch nodes run no tasks yet, so
# no file can be open on both nodes: see docs/checkpoints.md, Limits.)
# ctest: nosan
# ctest: TIMEOUT=600
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
MAXWAIT=12
CR_CLUSTER_MAXWAIT=$MAXWAIT cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
STEPS=150

# restart_crd NODE [FAULT]: crd on NODE again, with CR_FAULT=FAULT (none: without).
restart_crd() {
	if [ -n "${2:-}" ]; then
		CR_FAULT=$2 "$CLUSTER_SH" restart-crd "$1"
	else
		env -u CR_FAULT "$CLUSTER_SH" restart-crd "$1"
	fi
}
on_exit+=("env -u CR_FAULT '$CLUSTER_SH' restart-crd '$NODE2'")
crd_log() { cat "$CR_CLUSTER_DIR/nodes/$1/crd.log" 2>/dev/null || true; }
count_in() { crd_log "$1" | grep -c -- "$2" || true; }
size() { stat -c %s "$1"; }
# held JOBID WHY: requeued held, WHY in its AdminComment, never started again from the top.
expect_held() {
	local id=$1 why=$2 ac
	admin_says() { admin_comment "$id" | grep -qF "$why"; }
	wait_until 240 "job $id's AdminComment to say \"$why\"" admin_says
	wait_held "$id"
	ac=$(admin_comment "$id")
	echo "$ac" | grep -qF "held: " || fail "job $id: AdminComment does not say held: $ac"
	not_drained "$NODE1"
	not_drained "$NODE2"
	log "job $id held: $ac"
}

ref=$(ckjob ref -w "$NODE2")
declare -A id
for j in ba to rs; do
	id[$j]=$(ckjob "$j" --checkpoint=0 -N2)
done
for j in ba to rs; do
	wait_output "$j" "awk: step 10"
	out=$(crctl_as "$USER_" create "${id[$j]}") || fail "$j: create: $out"
done
for j in ba to rs; do
	wait_output "$j" "awk: step 40"
	scontrol requeuehold "${id[$j]}"
done
for j in ba to rs; do
	wait_until 60 "job ${id[$j]} to be held" job_held "${id[$j]}"
done
killed=$(size "$WORK/ba/data")

# ba: node 2 stalls 8 s in READY. Meanwhile node 1's data file is cut back
# already, and no task runs (the file does not grow).
restart_crd "$NODE2" "resume@$NODE2+8"
release_late "${id[ba]}"
stalling() { crd_log "$NODE2" | grep -q "CR_FAULT=resume@$NODE2+8: stalling here"; }
wait_until 120 "node 2 to stall in READY" stalling
sleep 2
cut=$(size "$WORK/ba/data")
((cut < killed)) || fail "ba: node 1 had not rolled the data file back ($cut bytes, $killed when killed) while node 2 was still in READY"
[ "$(count_in "$NODE1" "job ${id[ba]}: slot 0 resumed from checkpoint")" = 0 ] ||
	fail "ba: node 1 resumed before node 2 had rolled back"
sleep 1
[ "$(size "$WORK/ba/data")" = "$cut" ] || fail "ba: the data file grew before every node had rolled back"
wait_until 60 "ba to resume" crd_log_has "job ${id[ba]}: restored checkpoint"
ok "ba: files rolled back on node 1 ($killed -> $cut bytes) while node 2 was still in READY; nothing ran before"

# to: node 2's init hangs MAXWAIT+1 s in each RESTORE: it is done with one
# before the next attempt comes (not BUSY), and every attempt times out.
restart_crd "$NODE2" "rebuild+$((MAXWAIT + 1))"
release_late "${id[to]}"
expect_held "${id[to]}" "did not answer"
# The coordinator (node 1) logs each attempt that failed and is tried again.
tries=$(count_in "$NODE1" "job ${id[to]}: checkpoint [0-9]* of job ${id[to]}, attempt")
busy=$(crd_log "$NODE1" | grep "job ${id[to]}: checkpoint [0-9]* of job ${id[to]}, attempt" | grep -ci busy || true)
[ "$busy" = 0 ] || fail "to: $busy later attempts were answered BUSY"
((tries >= 1)) || fail "to: the timed-out restore was not tried again"
n=$(count_in "$NODE2" "the restore finished after its node helper left: aborting it")
((n >= 1)) || fail "to: node 2's monitor did not abort the tree its init built too late"
[ "$(count_in "$NODE1" "job ${id[to]}: slot 0 resumed from checkpoint")" = 0 ] || fail "to: node 1 resumed"
size_held=$(size "$WORK/to/data")
[ "$(starts to)" = 1 ] || fail "to: started $(starts to) times from the top"
ok "to: RESTORE timeout on node 2: aborted everywhere, $tries attempts again, never BUSY ($n late trees dropped), held"

# rs: node 2's helper dies in RESUME, node 1's tree already runs: killed, held.
restart_crd "$NODE2" "run@$NODE2"
release_late "${id[rs]}"
expect_held "${id[rs]}" "other nodes had resumed"
[ "$(count_in "$NODE1" "job ${id[rs]}: slot 0 resumed from checkpoint")" = 1 ] ||
	fail "rs: node 1 did not resume before node 2 failed (the case is not tested)"
[ "$(starts rs)" = 1 ] || fail "rs: started $(starts rs) times from the top"
ok "rs: RESUME failure on node 2 after node 1 ran: job held"

restart_crd "$NODE2"
[ "$(size "$WORK/to/data")" = "$size_held" ] || fail "to: its data file changed while held"
release_late "${id[to]}"
release_late "${id[rs]}"
for j in ba to rs; do
	wait_done "${id[$j]}" 180
done
wait_done "$ref" 60
for j in ba to rs; do
	[ "$(job_field "${id[$j]}" ExitCode)" = 0:0 ] || fail "$j: ended with $(job_field "${id[$j]}" ExitCode)"
	same_as_ref "$j" ref
done
ok "released: ba, to and rs resumed from their checkpoints and ended as the uninterrupted run"

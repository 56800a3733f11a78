#!/usr/bin/env bash
# Slurm's own requeue (`scontrol requeue`, as after a preemption) of a job
# whose output is opened with --open-mode=append: it resumes from its last
# checkpoint, taken a while before, and its output file ends byte-identical
# to an uninterrupted run's, without Slurm's requeue line or what the job
# wrote after the checkpoint.
# Then issue 10, what Slurm does after a failed restore: a job whose
# checkpoint directory is gone when it is requeued (its <jobid>/, later its
# whole --checkpoint-dir) is requeued held with the reason (AdminComment,
# crctl error), not rerun from the top; a two-node job whose restore fails
# on one node (crd's helper killed by CR_FAULT in RESTORE, then in RESUME)
# is undone on every node and held. No node is drained. Released once the
# cause is gone, each resumes and ends as the uninterrupted run. A held job
# given `crctl restart --from-scratch` runs from the top, its checkpoints
# set aside.
# ctest: TIMEOUT=900
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

# restart_crd NODE [FAULT]: crd on NODE again, with CR_FAULT=FAULT (none: without).
restart_crd() {
	if [ -n "${2:-}" ]; then
		CR_FAULT=$2 "$CLUSTER_SH" restart-crd "$1"
	else
		env -u CR_FAULT "$CLUSTER_SH" restart-crd "$1"
	fi
}
on_exit+=("env -u CR_FAULT '$CLUSTER_SH' restart-crd '$NODE2'")
# expect_held NAME JOBID WHY: requeued held, WHY in its AdminComment and in
# `crctl error`, not started again from the top, no node drained.
admin_says() { admin_comment "$1" | grep -qF "$2"; }
expect_held() {
	local name=$1 id=$2 why=$3 ac err
	wait_until 180 "job $id's AdminComment to say \"$why\"" admin_says "$id" "$why"
	wait_held "$id"
	ac=$(admin_comment "$id")
	echo "$ac" | grep -qF "held: " || fail "$name: AdminComment does not say held: $ac"
	echo "$ac" | grep -qF "$why" || fail "$name: AdminComment does not say \"$why\": $ac"
	err=$(crctl_as "$USER_" error "$id" 2>&1) || true
	echo "$err" | grep -qF "$why" || fail "$name: crctl error does not say \"$why\": $err"
	[ "$(starts "$name")" = 1 ] || fail "$name: started $(starts "$name") times from the top"
	not_drained "$NODE1"
	not_drained "$NODE2"
	log "$name: held; AdminComment=$ac"
}
# undone_on NODE JOBID: how often NODE undid a restore of the job (slot logs).
undone_on() { grep -c "job $2: slot [0-9]*: restore of checkpoint [0-9]* undone" "$CR_CLUSTER_DIR/nodes/$1/crd.log" || true; }
resumed_on() { grep -c "job $2: slot [0-9]* resumed from checkpoint" "$CR_CLUSTER_DIR/nodes/$1/crd.log" || true; }

ckmd=$WORK/ckmd
mkdir -p "$ckmd"
chown "$USER_:" "$ckmd"
chmod 0700 "$ckmd"
md=$(ckjob md --checkpoint=0 --checkpoint-dir="$ckmd" -w "$NODE1")
rf=$(ckjob rf --checkpoint=0 -N2)
fs=$(ckjob fs --checkpoint=0 -w "$NODE2")
wait_output md "awk: step 10"
out=$(crctl_as "$USER_" show "$md") || fail "show $md: $out"
grep -q "Requeue=1 " <<<"$out" || fail "crctl show does not show the Requeue flag crd sets: $out"
out=$(crctl_as "$USER_" create "$md") || fail "create $md: $out"
wait_output rf "awk: step 10"
out=$(crctl_as "$USER_" create "$rf") || fail "create $rf: $out"
rfseq=$(last_seq "$rf")
wait_output fs "awk: step 10"
out=$(crctl_as "$USER_" create "$fs") || fail "create $fs: $out"
wait_output fs "awk: step 40"
scontrol requeuehold "$fs"
wait_output md "awk: step 40"
mv "$ckmd/$md" "$ckmd/$md.away"
scontrol requeue "$md"
restart_crd "$NODE2" "restore@$NODE2"
wait_output rf "awk: step 40"
scontrol requeue "$rf"

expect_held md "$md" "$ckmd/$md: No such file or directory, but job $md had a committed checkpoint"
ok "<jobid>/ moved away: job $md held with the reason, not rerun"
expect_held rf "$rf" "lost the connection to crd on node $NODE2"
(($(undone_on "$NODE1" "$rf") >= 1)) || fail "$NODE1 did not undo its part of job $rf's restore"
[ "$(resumed_on "$NODE1" "$rf")" = 0 ] || fail "$NODE1 resumed job $rf's tasks"
ok "crd's helper killed in RESTORE on $NODE2: undone on $NODE1, job $rf held"

wait_until 60 "job $fs to be held" job_held "$fs"
wait_late "$fs"
out=$(crctl_as "$USER_" restart --from-scratch "$fs") || fail "crctl restart --from-scratch: $out"
log "$out"

# Put back: the restore goes on. The whole --checkpoint-dir missing next.
mv "$ckmd/$md.away" "$ckmd/$md"
release_late "$md"
restart_crd "$NODE2" "resume@$NODE2"
n=$(undone_on "$NODE1" "$rf")
release_late "$rf"
md_back() { [ "$(restored_count "$md")" -ge 1 ]; }
wait_until 120 "job $md to resume from its checkpoint" md_back
wait_output md "awk: step 30"
mv "$ckmd" "$ckmd.away"
requeue_late "$md"
expect_held md "$md" "checkpoint directory $ckmd: none, but job $md had a committed checkpoint"
ok "--checkpoint-dir missing: job $md held with the reason, not rerun"

expect_held rf "$rf" "lost the connection to crd on node $NODE2"
(($(undone_on "$NODE1" "$rf") > n)) || fail "$NODE1 did not undo its part after the RESUME failure"
[ "$(resumed_on "$NODE1" "$rf")" = 0 ] || fail "$NODE1 resumed job $rf's tasks before $NODE2 was ready"
ok "crd's helper killed in RESUME on $NODE2: undone on $NODE1 before anything ran, job $rf held"

mv "$ckmd.away" "$ckmd"
release_late "$md"
restart_crd "$NODE2"
release_late "$rf"
wait_done "$md" 180
wait_done "$rf" 180
for j in md rf; do
	jid=${!j}
	[ "$(job_field "$jid" ExitCode)" = 0:0 ] || fail "$j: job $jid ended with $(job_field "$jid" ExitCode)"
	same_as_ref "$j" ref
done
crd_log_has "job $rf: restored checkpoint $rfseq of job $rf" || fail "job $rf did not resume from checkpoint $rfseq"
ok "released: jobs $md and $rf resumed from their checkpoints and ended as the uninterrupted run"

wait_done "$fs" 120
[ "$(job_field "$fs" ExitCode)" = 0:0 ] || fail "fs: job $fs ended with $(job_field "$fs" ExitCode)"
[ "$(starts fs)" = 2 ] || fail "fs: started $(starts fs) times from the top, not 2"
cmp -s "$WORK/ref.out" "$WORK/fs.out" || fail "fs: output differs from the uninterrupted run"
compgen -G "$(ckpt_dir "$fs").scratch-*" >/dev/null || fail "fs: its checkpoints were not set aside"
admin_comment "$fs" | grep -qF "started from the top" || fail "fs: AdminComment: $(admin_comment "$fs")"
ok "crctl restart --from-scratch: job $fs ran again from the top, its checkpoints set aside"

#!/usr/bin/env bash
# Issue 10: a restore that fails (the job's working directory removed after
# its checkpoints) leaves every file of the job byte-identical to the moment
# before the attempt and every committed checkpoint restorable, and the job
# held with the reason. Once the directory is back, `scontrol release`
# resumes it from its newest checkpoint and it ends as the uninterrupted run.
# Before the rollback moved to RESUME, the failed attempts truncated the data
# file and this test failed on "byte-identical".
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 1
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
STEPS=150

wd=$WORK/wd-rc
mkdir -p "$wd"
chown "$USER_:" "$wd"
ref=$(ckjob ref)
rc=$(ckjob rc --checkpoint=0 --chdir="$wd")
wait_output rc "awk: step 10"
out=$(crctl_as "$USER_" create "$rc") || fail "first create: $out"
wait_output rc "awk: step 25"
out=$(crctl_as "$USER_" create "$rc") || fail "second create: $out"
newest=$(last_seq "$rc")
# Past its checkpoints, the job stops (held: nothing is restored yet).
wait_output rc "awk: step 60"
scontrol requeuehold "$rc"
wait_until 60 "job $rc to stop" job_held "$rc"
mv "$wd" "$wd.away"
on_exit+=("[ -d '$wd.away' ] && mv '$wd.away' '$wd'")
# files: every file of the job, its size and digest.
files() { (cd "$WORK/rc" && for f in *; do echo "$f $(stat -c %s "$f") $(sha256sum <"$f" | cut -c1-16)"; done); }
before=$(files)
ckpts() { find "$(ckpt_dir "$rc")" -mindepth 1 -maxdepth 1 -type d -printf '%f\n' | sort; }
ckpts_before=$(ckpts)

release_late "$rc"
crd_held() { job_held "$rc" && admin_comment "$rc" | grep -qF "held: "; }
crd_held_or_done() { crd_held || job_is_done "$rc"; }
wait_until 180 "job $rc to be held after its restore failed" crd_held_or_done
crd_held || fail "job $rc is $(job_state "$rc") ($(job_field "$rc" Reason)), not held"
ac=$(admin_comment "$rc")
echo "$ac" | grep -qF "could be restored" || fail "AdminComment: $ac"
crctl_as "$USER_" error "$rc" | grep -qF "could be restored" ||
	fail "crctl error: $(crctl_as "$USER_" error "$rc" 2>&1)"
[ "$(starts rc)" = 1 ] || fail "job $rc started $(starts rc) times from the top"
not_drained "$NODE1"
ok "restore failed: job $rc held with the reason ($ac)"
[ "$(ckpts)" = "$ckpts_before" ] || fail "checkpoints changed: $(ckpts | tr '\n' ' ') (were $(echo "$ckpts_before" | tr '\n' ' '))"
ok "checkpoints untouched: $(echo "$ckpts_before" | tr '\n' ' ')"
after=$(files)
[ "$after" = "$before" ] || fail "the failed restore changed the job's files:
before: $before
after:  $after"
ok "the job's files are byte-identical to the moment before the attempt"

mv "$wd.away" "$wd"
release_late "$rc"
wait_done "$rc" 180
wait_done "$ref" 60
[ "$(job_field "$rc" ExitCode)" = 0:0 ] || fail "job ended with $(job_field "$rc" ExitCode)"
crd_log_has "job $rc: restored checkpoint $newest of job $rc\$" ||
	fail "job $rc did not resume from its newest checkpoint $newest"
same_as_ref rc ref
ok "released: resumed from checkpoint $newest, ended as the uninterrupted run"

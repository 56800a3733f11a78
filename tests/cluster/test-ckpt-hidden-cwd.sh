#!/usr/bin/env bash
# Issue 10: a job whose working directory its container hides (a directory
# under the submitting host's /tmp, covered by the container's own /tmp) is
# refused at checkpoint time, with a message naming the directory, instead
# of a checkpoint that no restore can use; the job runs on and ends as an
# uninterrupted run does. sbatch --chdir on the command line is refused at
# submission (spank_cr.so); an #SBATCH --chdir line in the script is not seen
# there, so the checkpoint is where it is caught.
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

hidden=$(mktemp -d /tmp/cr-hidden-cwd.XXXXXX)
chown "$USER_:" "$hidden"
on_exit+=("rm -rf '$hidden'")
ref=$(ckjob ref)
mkdir -p "$WORK/hid"
chown "$USER_:" "$WORK/hid"
printf '#!/bin/sh\n#SBATCH --chdir=%s\nexec %s %s %s\n' "$hidden" "$WORK/ckjob.sh" "$WORK/hid" "${STEPS:-50}" >"$WORK/hid.sh"
chmod 0755 "$WORK/hid.sh"
id=$(submit "$USER_" -o "$WORK/hid.out" --checkpoint=0 "$WORK/hid.sh")
wait_output hid "awk: step 15"
rc=0
out=$(crctl_as "$USER_" create "$id" 2>&1) || rc=$?
log "crctl create: exit $rc: $out"
[ $rc -ne 0 ] || fail "a checkpoint of job $id, whose working directory is hidden, was committed"
grep -qF "working directory $hidden" <<<"$out" ||
	fail "the refusal does not name the working directory $hidden: $out"
[ -z "$(last_seq "$id")" ] || fail "crctl list shows checkpoint $(last_seq "$id")"
wait_done "$ref" 120
wait_done "$id" 120
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
same_as_ref hid ref
ok "checkpoint of a job in a hidden working directory refused, naming it; the job ran on"

#!/usr/bin/env bash
# Issue 5, test 6: another user can neither act on a job's checkpoints nor
# read them (exit 3, "not permitted"); a checkpoint its own user edited is
# refused at restore; symlinks planted in the checkpoint tree are not followed.
# Issue 10: a job running in a user namespace is refused at checkpoint.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
OTHER=${USER_}2
id "$OTHER" >/dev/null 2>&1 || fail "no user $OTHER (cluster.sh up makes it)"
STEPS=200
jd() { echo "$CR_CKPT_DIR/$1"; }

id=$(ckjob sec --checkpoint=0 -w "$NODE1")
wait_output sec "awk: step 5"
out=$(crctl_as "$USER_" create "$id") || fail "create: $out"
seq=$(last_seq "$id")

# Another user: "not permitted" (exit 3) for every subcommand, no access to the files.
for sub in create vacate list restart error disable; do
	rc=0
	out=$(crctl_as "$OTHER" "$sub" "$id" 2>&1) || rc=$?
	[ "$rc" = 3 ] || fail "$OTHER: crctl $sub gave exit $rc: $out"
done
as "$OTHER" ls "$(jd "$id")" >/dev/null 2>&1 && fail "$OTHER can list $(jd "$id")"
as "$OTHER" cat "$(jd "$id")/$seq/manifest.json" >/dev/null 2>&1 && fail "$OTHER can read the manifest"
[ "$(stat -c '%U %a' "$(jd "$id")")" = "$USER_ 700" ] ||
	fail "checkpoint directory is $(stat -c '%U %a' "$(jd "$id")")"
[ "$(find "$(jd "$id")" ! -user "$USER_" | wc -l)" = 0 ] || fail "files not owned by $USER_: $(find "$(jd "$id")" ! -user "$USER_")"
ok "$OTHER: create, vacate, list, restart, error, disable refused (exit 3); files $USER_'s, mode 0700"

# A job whose task runs in a user namespace of its own (where it holds every
# capability): refused at checkpoint, naming the task; the job runs on.
printf '#!/bin/bash\necho started\nexec unshare -Ur sleep 300\n' >"$WORK/userns.sh"
chmod 755 "$WORK/userns.sh"
uid=$(submit "$USER_" -o "$WORK/userns.out" --checkpoint=0 -w "$NODE1" "$WORK/userns.sh")
wait_output userns started
sleep 1 # unshare has made the namespace and exec'ed sleep
rc=0
out=$(crctl_as "$USER_" create "$uid" 2>&1) || rc=$?
[ "$rc" != 0 ] || fail "a job in a user namespace was checkpointed"
echo "$out" | grep -q "runs in user namespace" || fail "create does not say why: $out"
[ "$(job_state "$uid")" = RUNNING ] || fail "the refused job is $(job_state "$uid")"
scancel "$uid"
ok "a job in a user namespace is refused at checkpoint (exit $rc: ${out:0:200}); it runs on"

# Symlinks planted by the job's user: the saved output and the next .tmp directory.
victim=$CR_CLUSTER_DIR/victim
echo "root's file" >"$victim"
chmod 644 "$victim"
as "$USER_" ln -sfn "$victim" "$(jd "$id")/stdout.planted"
as "$USER_" mv -f "$(jd "$id")/stdout.planted" "$(jd "$id")/stdout"
as "$USER_" ln -sfn "$CR_CLUSTER_DIR" "$(jd "$id")/.tmp-$((seq + 1))"
rc=0
out=$(crctl_as "$USER_" create "$id" 2>&1) || rc=$?
log "create with planted symlinks: exit $rc: $out"
[ "$(cat "$victim")" = "root's file" ] || fail "the planted stdout symlink was written through"
[ -z "$(find "$CR_CLUSTER_DIR" -maxdepth 1 -name 'node-*')" ] || fail "wrote through the planted .tmp symlink"
[ "$(job_state "$id")" = RUNNING ] || fail "job is $(job_state "$id")"
as "$USER_" rm -f "$(jd "$id")/stdout"
ok "planted symlinks not followed; the job runs on"

# The job's user edits its newest checkpoint: restore refuses it.
out=$(crctl_as "$USER_" vacate "$id") || fail "vacate: $out"
wait_done "$id" 60
last=$(last_seq "$id")
# a valid manifest, one number changed: only the MAC can tell
as "$USER_" python3 -c 'import json,sys; p=sys.argv[1]; m=json.load(open(p)); m["bytes"]=1; json.dump(m, open(p, "w"))' \
	"$(jd "$id")/$last/manifest.json"
rc=0
out=$(crctl_as "$USER_" list "$id" 2>&1) || rc=$?
echo "$out" | grep -q "refused" || fail "list does not show the edited checkpoint refused: $out"
out=$(crctl_as "$USER_" restart "$id" 2>&1) || rc=$?
log "restart after the edit: $out"
if new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p') && [ -n "$new" ]; then
	jobs_started+=("$new")
	wait_done "$new" 120
	crctl_as "$USER_" error "$new" | grep -q "MAC" || fail "crctl error: $(crctl_as "$USER_" error "$new")"
fi
ok "an edited manifest is refused"

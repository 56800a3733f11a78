#!/usr/bin/env bash
# Issue 5, test 6: another user can neither act on a job's checkpoints nor
# read them (exit 3, "not permitted"); a checkpoint its own user edited is
# refused at restore; symlinks planted in the checkpoint tree are not followed.
# Issue 10: the tree is <CheckpointDir>/<user>/<jobid>, made and checked as the
# user: another user cannot squat <user>/ (nor plant it as a symlink) to
# capture the user's checkpoints; another user's genuine checkpoint copied into
# one's own directory is refused by the restore `crctl restart` starts;
# sbatch --checkpoint from a directory the container hides is refused.
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
STEPS=600 # outlasts the six refused requests below, ASan and a loaded machine included
jd() { ckpt_dir "$1"; }

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
for d in "$(jd "$id")" "$CR_CKPT_DIR/$USER_"; do
	[ "$(stat -c '%U %a' "$d")" = "$USER_ 700" ] || fail "$d is $(stat -c '%U %a' "$d")"
done
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
grep -q "runs in user namespace" <<<"$out" || fail "create does not say why: $out"
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
grep -q "refused" <<<"$out" || fail "list does not show the edited checkpoint refused: $out"
out=$(crctl_as "$USER_" restart "$id" 2>&1) || rc=$?
log "restart after the edit: $out"
if new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p') && [ -n "$new" ]; then
	jobs_started+=("$new")
	wait_done "$new" 120
	crctl_as "$USER_" error "$new" | grep -q "MAC" || fail "crctl error: $(crctl_as "$USER_" error "$new")"
fi
ok "an edited manifest is refused"

# ---- Issue 10 ----
# Each case is recorded and the next one runs: the run before the fix shows them all.
errs=()
check() { # DESC CMD...
	if "${@:2}"; then ok "$1"; else
		errs+=("$1")
		log "FAILED: $1"
	fi
}
has() { echo "$1" | grep -q -- "$2"; }
refused_naming() { [ "$1" != 0 ] && has "$2" "$3" && has "$2" "$4"; }

# sbatch --checkpoint from under /tmp or /dev/shm (the container's own): refused, with the reason.
for d in /tmp /dev/shm; do
	rc=0
	out=$(cd "$d" && as "$USER_" sbatch --parsable --checkpoint=0 -o /dev/null --wrap true 2>&1) || rc=$?
	[ "$rc" = 0 ] && jobs_started+=("${out%%;*}")
	log "sbatch --checkpoint in $d: exit $rc: $out"
	check "sbatch --checkpoint in $d refused" refused_naming "$rc" "$out" "under $d" "--chdir"
done
rc=0
out=$(as "$USER_" sbatch --parsable --checkpoint=0 -D /tmp/x -o /dev/null --wrap true 2>&1) || rc=$?
[ "$rc" = 0 ] && jobs_started+=("${out%%;*}")
check "sbatch --checkpoint -D /tmp/x refused" refused_naming "$rc" "$out" "/tmp/x" "under /tmp"

# $USER_ squats $OTHER's directory in the 1777 CheckpointDir before $OTHER's first checkpoint.
sq=$CR_CKPT_DIR/$OTHER
as "$USER_" mkdir -m 0777 "$sq"
vic=$(CKJOB_USER=$OTHER ckjob vic --checkpoint=0 -w "$NODE1")
att=$(ckjob att --checkpoint=0 -w "$NODE1")
wait_output vic "awk: step 5"
wait_output att "awk: step 5"
rc=0
out=$(crctl_as "$OTHER" create "$vic" 2>&1) || rc=$?
log "$OTHER's checkpoint with $sq squatted: exit $rc: $out"
check "a squatted $sq refused, named" refused_naming "$rc" "$out" "$sq" "owned by uid $(id -u "$USER_")"
check "nothing of $OTHER's in the squat" [ -z "$(find "$sq" -mindepth 1 2>/dev/null)" ]
# ... and as a symlink to a directory of $USER_'s.
as "$USER_" rmdir "$sq"
as "$USER_" ln -s "$CR_CKPT_DIR/$USER_" "$sq"
rc=0
out=$(crctl_as "$OTHER" create "$vic" 2>&1) || rc=$?
log "$OTHER's checkpoint with $sq a symlink: exit $rc: $out"
check "$sq as a symlink refused, named" refused_naming "$rc" "$out" "$sq" "symlink"
check "nothing of $OTHER's through the symlink" [ ! -e "$CR_CKPT_DIR/$USER_/$vic" ]
# The admin removes it: crd makes it, as $OTHER.
rm -f "$sq"
out=$(crctl_as "$OTHER" create "$vic" 2>&1) || log "create after the squat: $out"
check "$sq made by crd as $OTHER, 0700" [ "$(stat -c '%U %a' "$sq" 2>&1)" = "$OTHER 700" ]
[ -f "$(ckpt_dir "$vic" "$OTHER")/1/manifest.json" ] || fail "$OTHER's job $vic has no checkpoint 1"

# $USER_'s own job: checkpoints 1 and 2, then ended.
out=$(crctl_as "$USER_" create "$att") || fail "create $att: $out"
out=$(crctl_as "$USER_" vacate "$att") || fail "vacate $att: $out"
wait_done "$att" 60
adir=$(jd "$att")
if [ ! -d "$adir/1" ] || [ ! -d "$adir/2" ]; then
	fail "$att has no checkpoints 1 and 2: $(ls "$adir")"
fi
# $USER_ holds a genuine checkpoint of $OTHER's (root copies it here: $OTHER's directory is
# $OTHER's alone) and puts it in its own job's directory as checkpoint 1; spoils its own
# checkpoint 2 so that a restore falls back to the copy.
rm -rf "$adir/1"
cp -a "$(ckpt_dir "$vic" "$OTHER")/1" "$adir/1"
chown -R "$USER_:" "$adir/1"
rm -f "$(find "$adir/2/node-0" -type f | head -1)"
out=$(crctl_as "$USER_" restart "$att" 2>&1) || fail "crctl restart $att: $out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart $att: $out"
jobs_started+=("$new")
tried() { crd_log_has "job $new: checkpoint 1 of job $att not restored" || crd_log_has "job $new: restored checkpoint"; }
not_restored() { ! crd_log_has "job $new: restored checkpoint"; }
not_bad() { [ -d "$adir/1" ] && [ ! -e "$adir/1.bad" ]; }
wait_for 120 tried || log "job $new did not try checkpoint 1 in 120 s"
grep -h "job $new: " "$CR_CLUSTER_DIR"/nodes/*/crd.log | tail -5 | sed 's/^/  /' >&2 || true
check "$OTHER's checkpoint in $USER_'s directory refused: owner uid" \
	crd_log_has "job $new: checkpoint 1 of job $att not restored: .*owner uid $(id -u "$OTHER"), not"
check "and not restored" not_restored
check "and not marked bad (it is not corrupt)" not_bad
scancel "$new" "$vic" 2>/dev/null || true
((${#errs[@]} == 0)) || fail "issue 10 cases failed: $(printf '%s; ' "${errs[@]}")"

#!/usr/bin/env bash
# Issue 5, test 5: failures in the middle of a checkpoint lose nothing.
# crd's helper crashes (CR_FAULT) in PREPARE and in DUMP on the job's second
# node, the coordinator crashes in COMMIT, the checkpoint directory is full;
# each time the job runs on and what was committed stays. Then a bit flipped
# in the newest checkpoint's page file: the restart falls back to the one
# before, says so in `crctl error` and crd's log, not in the job's output.
# ctest: TIMEOUT=900
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
# A small checkpoint directory, mounted before the nodes' mount namespaces exist.
SMALL=/run/slurm-cr-small.$$
mkdir -p "$SMALL"
mount -t tmpfs -o size=256k,mode=1777 slurm-cr-small "$SMALL"
trap 'umount -l "$SMALL" 2>/dev/null; rmdir "$SMALL" 2>/dev/null' EXIT
cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
on_exit+=("umount -l '$SMALL'; rmdir '$SMALL'")
# ImageDir is used as the user's own checkpoint directory: theirs, 0700 (crd.8).
SMALL_DIR=$SMALL/$USER_
install -d -m 0700 -o "$USER_" "$SMALL_DIR"
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
# Long enough (60 s) that the job still runs after four crd restarts on a loaded machine.
STEPS=600

# restart_crd NODE [FAULT]: crd on NODE again, with CR_FAULT=FAULT (none: without).
restart_crd() {
	if [ -n "${2:-}" ]; then
		CR_FAULT=$2 "$CLUSTER_SH" restart-crd "$1"
	else
		env -u CR_FAULT "$CLUSTER_SH" restart-crd "$1"
	fi
}
output_longer_than() { (($(wc -l <"$WORK/ft.out") > $1)); }
# expect_failed_create WHAT ARGS...: create fails, the job runs on, nothing new committed.
expect_failed_create() {
	local what=$1 before out rc=0
	shift
	before=$(last_seq "$id")
	out=$(crctl_as "$USER_" create "$id" "$@" 2>&1) || rc=$?
	((rc != 0)) || fail "$what: create succeeded: $out"
	log "$what: create failed as it should (exit $rc): $out"
	[ "$(job_state "$id")" = RUNNING ] || fail "$what: job is $(job_state "$id")"
	[ "$(last_seq "$id")" = "$before" ] || fail "$what: committed checkpoints changed"
	# the job still makes progress
	local n
	n=$(wc -l <"$WORK/ft.out")
	wait_until 30 "job output to grow after $what" output_longer_than "$n"
}

ref=$(ckjob ref -w "$NODE2")
id=$(ckjob ft --checkpoint=0 -N2)
wait_output ft "awk: step 5"
out=$(crctl_as "$USER_" create "$id") || fail "first create: $out"
log "$out"

restart_crd "$NODE2" "prepare@$NODE2"
expect_failed_create "helper crash in PREPARE on $NODE2"
restart_crd "$NODE2" "dump@$NODE2"
expect_failed_create "helper crash in DUMP on $NODE2"
restart_crd "$NODE2"
restart_crd "$NODE1" commit
expect_failed_create "coordinator crash in COMMIT"
restart_crd "$NODE1"
expect_failed_create "full checkpoint directory" "ImageDir=$SMALL_DIR"
crctl_as "$USER_" error "$id" "ImageDir=$SMALL_DIR" | grep -qi "space" ||
	fail "crctl error: $(crctl_as "$USER_" error "$id" "ImageDir=$SMALL_DIR")"
ok "crashes in PREPARE, DUMP, COMMIT and a full disk: job ran on, nothing committed lost"

out=$(crctl_as "$USER_" create "$id") || fail "create after the faults: $out"
log "$out"
good=$(last_seq "$id")
out=$(crctl_as "$USER_" vacate "$id") || fail "vacate: $out"
log "$out"
bad=$(last_seq "$id")
wait_done "$id" 60
# One bit of the newest checkpoint's biggest page file flipped.
f=$(find "$(ckpt_dir "$id")/$bad/node-0/image" -type f -name '*pages*' -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
[ -n "$f" ] || fail "no page file in checkpoint $bad"
python3 - "$f" <<'EOF'
import sys
with open(sys.argv[1], "r+b") as f:
    f.seek(4096 + 123)
    b = f.read(1)
    f.seek(4096 + 123)
    f.write(bytes([b[0] ^ 0x10]))
EOF
out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
jobs_started+=("$new")
wait_done "$new" 180
wait_done "$ref" 120
[ "$(job_field "$new" ExitCode)" = 0:0 ] || fail "restarted job ended with $(job_field "$new" ExitCode)"
same_as_ref ft ref
crctl_as "$USER_" error "$new" | grep -q "restored checkpoint $good of job $id after refusing newer" ||
	fail "crctl error $new: $(crctl_as "$USER_" error "$new")"
crctl_as "$USER_" error "$new" | grep -q "checkpoint $bad: checkpoint $bad:" &&
	fail "crctl error $new names the checkpoint twice: $(crctl_as "$USER_" error "$new")"
crd_log_has "checkpoint $bad of job $id not restored" || fail "crd's log does not say it fell back"
grep -qi "checkpoint" "$WORK/ft.out" && fail "the job's output mentions the fallback"
[ -d "$(ckpt_dir "$id")/$bad.bad" ] || fail "checkpoint $bad was not set aside"
ok "bit flip in checkpoint $bad: restart fell back to $good, said so, output identical"

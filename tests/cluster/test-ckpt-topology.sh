#!/usr/bin/env bash
# Issue 13, topology: a checkpoint's manifest records each slot's node
# topology (hwloc) and each thread's CPU and memory binding; the slot comes
# back on another node with its threads on the equivalent CPUs (same shape
# here: the same CPUs). The job (2 CPUs) pins a child to CPU 1; it is
# vacated and restarted --exclude onto the other node, where the child is on
# CPU 1 again and the job goes on counting.
# ctest: nosan
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
[ "$(nproc --all)" -ge 2 ] || { log "needs 2 CPUs: skipped"; exit 77; }

cat >"$WORK/pinned.sh" <<'EOF'
#!/bin/bash
taskset -c 1 sleep 424242 &
i=0
while [ $i -lt 600 ]; do
	echo "step $i"
	i=$((i + 1))
	sleep 0.2
done
EOF
chmod 755 "$WORK/pinned.sh"
pinned() { pgrep -f '^sleep 424242$' | head -n1; }
cpus_of() { awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/status"; }

id=$(submit "$USER_" -o "$WORK/pin.out" -c 2 --checkpoint=0 -w "$NODE1" "$WORK/pinned.sh")
wait_output pin "step 5"
p=$(pinned)
[ -n "$p" ] || fail "the job's pinned child is not running"
[ "$(cpus_of "$p")" = 1 ] || fail "the job's child is on CPUs $(cpus_of "$p") before the checkpoint, not 1"
out=$(crctl_as "$USER_" vacate "$id") || fail "crctl vacate: $out"
log "$out"
wait_done "$id" 60

# The manifest: this node's shape, the slot's CPUs, the child's binding.
man="$(ckpt_dir "$id")/$(last_seq "$id")/manifest.json"
python3 - "$man" "$(nproc --all)" <<'EOF' || fail "the manifest's topology: $(python3 -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["slots"][0].get("topology"))[:600])' "$man")"
import json, sys
t = json.load(open(sys.argv[1]))["slots"][0]["topology"]
assert t["pus"] == int(sys.argv[2]) and len(t["pu_os"]) == t["pus"], "pus"
assert t["packages"] >= 1 and t["cores"] >= 1 and t["numa"] >= 1, "counts"
assert t["allowed"] == "0-1" and t["bound"] == "1", "allowed/bound (only the pinned child)"
assert any(x["cpus"] == "1" and x["mems"] for x in t["tasks"]), "pinned thread"
assert any(x["cpus"] == "0-1" for x in t["tasks"]), "unpinned thread"
EOF
ok "the manifest records the node's topology and each thread's binding"
n=$(grep -c '^step' "$WORK/pin.out") || true # how far the checkpoint went

out=$(crctl_as "$USER_" restart "$id" --exclude="$NODE1") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
wait_job_state "$new" RUNNING 60
[ "$(job_field "$new" BatchHost)" = "$NODE2" ] || fail "the restart runs on $(job_field "$new" BatchHost)"
wait_output pin "step $((n + 5))" 60
p=$(pinned)
[ -n "$p" ] || fail "the pinned child did not come back"
[ "$(cpus_of "$p")" = 1 ] || fail "the restored child is on CPUs $(cpus_of "$p"), not 1"
ok "restored on $NODE2 with the child on CPU 1, the job counting on"
scancel "$new"

#!/usr/bin/env bash
# Issue 16: `crctl evacuate NODE --reason=TEXT` drains NODE, and each
# checkpointable job on it is checkpointed then, requeued, and resumes on
# another node, ending as an uninterrupted run (one start); a plain job on it
# finishes where it was; a user who is no operator may not evacuate. With
# EvacuateOnDrain=yes (the test cluster's cr.conf), a node drained by other
# means (`scontrol update State=DRAIN`) gets its checkpointable job
# requeued off it the same way.
# ctest: nosan
# ctest: TIMEOUT=300
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

# A user is no operator: refused, and the node is not drained.
rc=0
out=$(crctl_as "$USER_" evacuate "$NODE2" 2>&1) || rc=$?
[ "$rc" = 3 ] || fail "crctl evacuate as $USER_: exit $rc: $out"
case $(node_field "$NODE2" State) in *DRAIN*) fail "$NODE2 drained by a refused evacuate" ;; esac

# Three jobs on node1's two cores (shared), none on node2 until they run.
scontrol update PartitionName=debug OverSubscribe=FORCE:4
scontrol update NodeName="$NODE2" State=DRAIN Reason="test: jobs onto $NODE1 first"
export STEPS=300
plain=$(ckjob plain) # no --checkpoint: the reference, and the job left to finish
a=$(ckjob a --checkpoint=0)
b=$(ckjob b --checkpoint=0)
for id in "$plain" "$a" "$b"; do
	wait_job_state "$id" RUNNING 60
	[ "$(job_field "$id" BatchHost)" = "$NODE1" ] || fail "job $id runs on $(job_field "$id" BatchHost)"
done
scontrol update NodeName="$NODE2" State=RESUME
wait_output a "awk: step 12"
wait_output b "awk: step 12"

t0=$(date +%s.%N)
rc=0
out=$(crctl evacuate "$NODE1" --reason="maintenance: test" 2>&1) || rc=$?
log "crctl evacuate (exit $rc, $(python3 -c "print('%.1f' % ($(date +%s.%N) - $t0))") s):
$out"
[ "$rc" = 0 ] || fail "crctl evacuate exit $rc"
grep -q "^Node $NODE1 drained (maintenance: test); 3 running job(s) on it" <<<"$out" ||
	fail "evacuate did not say it drained $NODE1 with 3 jobs"
for id in "$a" "$b"; do
	grep -q "^Job $id: checkpoint 1 committed in .*; requeued" <<<"$out" ||
		fail "evacuate did not say job $id was requeued"
done
grep -q "^Job $plain: not checkpointable: left to finish on $NODE1" <<<"$out" ||
	fail "evacuate did not say the plain job $plain was left"
case $(node_field "$NODE1" State) in
*DRAIN*) ;;
*) fail "$NODE1 is $(node_field "$NODE1" State) after evacuate" ;;
esac
scontrol show node "$NODE1" | grep -q "Reason=maintenance: test " ||
	fail "$NODE1: $(scontrol show node "$NODE1" | grep Reason)"

for id in "$a" "$b"; do
	wait_until 120 "job $id to run on another node" moved_from "$id" "$NODE1"
done
wait_done "$plain" 120
[ "$(job_field "$plain" BatchHost)" = "$NODE1" ] || fail "plain job moved"
[ "$(job_field "$plain" ExitCode)" = 0:0 ] || fail "plain job ended with $(job_field "$plain" ExitCode)"
[ "$(job_field "$plain" Restarts)" = 0 ] || fail "plain job: Restarts=$(job_field "$plain" Restarts)"
for id in "$a" "$b"; do
	wait_done "$id" 120
	resumed_ok "$id" 1
	[ "$(job_field "$id" Restarts)" = 1 ] || fail "job $id: Restarts=$(job_field "$id" Restarts)"
	# why the checkpoint was taken, in its AdminComment until the restore's note replaced it
	grep -q "admin_comment to .*committed (crctl evacuate $NODE1: maintenance: test) for JobId=$id\$" \
		"$CR_CLUSTER_DIR/log/slurmctld.log" || fail "job $id: no AdminComment said why"
done
same_as_ref a plain
same_as_ref b plain
# DRAINED: drained and idle (scontrol's IDLE+DRAIN), its reason kept
case $(node_field "$NODE1" State) in
DRAINED | IDLE+DRAIN) ;;
*) fail "$NODE1 is $(node_field "$NODE1" State) once its jobs ended" ;;
esac
scontrol show node "$NODE1" | grep -q "Reason=maintenance: test " || fail "$NODE1 lost its reason"
ok "evacuate $NODE1: jobs $a and $b resumed on $NODE2 and ended as the uninterrupted run, plain job $plain finished on $NODE1, $NODE1 $(node_field "$NODE1" State) with its reason"

# EvacuateOnDrain=yes: an admin's drain, not crctl's, requeues the job off the node.
scontrol update NodeName="$NODE2" State=DRAIN Reason="test: the job onto $NODE1"
scontrol update NodeName="$NODE1" State=RESUME
c=$(ckjob c --checkpoint=0)
wait_job_state "$c" RUNNING 60
scontrol update NodeName="$NODE2" State=RESUME
wait_output c "awk: step 12"
scontrol update NodeName="$NODE1" State=DRAIN Reason="health check: test"
wait_until 60 "job $c to run off the drained $NODE1" moved_from "$c" "$NODE1"
wait_done "$c" 120
resumed_ok "$c" 1
[ "$(job_field "$c" Restarts)" = 1 ] || fail "job $c: Restarts=$(job_field "$c" Restarts)"
grep -q "admin_comment to .*committed (node $NODE1 drained (health check: test): requeued off it) for JobId=$c\$" \
	"$CR_CLUSTER_DIR/log/slurmctld.log" || fail "job $c: no AdminComment said why"
same_as_ref c plain
ok "scontrol drain of $NODE1 (EvacuateOnDrain=yes): job $c requeued off it ($(event_ckpt_secs "$c" "node $NODE1 drained") s from seen to committed), resumed on $(job_field "$c" BatchHost), identical"

# --json, the default reason: a node with no jobs left
out=$(crctl evacuate "$NODE2" --json) || fail "crctl evacuate $NODE2 --json: $out"
log "$out"
echo "$out" | python3 -c 'import json, sys
o = json.load(sys.stdin)
sys.exit(0 if o["drained"] and o["jobs"] == [] and o["reason"] == "crctl evacuate by root" else 1)' ||
	fail "crctl evacuate --json said: $out"
ok "evacuate --json of an empty node"

#!/usr/bin/env bash
# Issue 13: the job network across nodes. A two-node --checkpoint job's batch
# script reaches its other slot by that node's name (the containers' hosts
# files resolve every slot's name to its job address; each node routes the
# other slots' addresses through their nodes). That slot's node is killed
# (its network with it), the job is requeued onto the survivor and a spare,
# the slot keeps its address on the new node, the routes follow it, and the
# job ends as an uninterrupted run (byte-identical output, one start).
# What answers in the slot is a small server the test starts in the slot's
# network namespace (no processes run on non-batch slots here).
# ctest: TIMEOUT=900
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 5
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
install -m 0755 "$HERE/workloads/peerjob.sh" "$WORK/peerjob.sh"
STEPS=${STEPS:-160} # 0.25 s each, more than the checks below take
read -r _ _ _ N4 N5 <<<"$CR_CLUSTER_NODES"

# peerjob NAME SBATCH-ARGS...: the workload on two nodes; prints the job id.
peerjob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --checkpoint=0 "$@" \
		"$WORK/peerjob.sh" "$WORK/$name" "$STEPS"
}

# slot JOBID I: "NODE INIT_PID ADDRESS" of the job's container on its node I (1, 2), once up.
slot() {
	local n f
	n=$(scontrol show hostnames "$(job_field "$1" NodeList)" | sed -n "$2p")
	f=$CR_CLUSTER_DIR/nodes/$n/crd/job$1.json
	[ -n "$n" ] && [ -f "$f" ] || return 1
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["init_pid"] > 0 and print(sys.argv[2], j["init_pid"], j["address"])' "$f" "$n"
}
slot1() { slot "$1" 2 | cut -d' ' -f1,2; }
# reach JOBID ADDRESS: from the job's first slot, a TCP connection to ADDRESS:7788 is answered.
reach() {
	local where
	where=$(slot "$1" 1)
	"$CLUSTER_SH" exec "${where%% *}" nsenter -t "$(echo "$where" | cut -d' ' -f2)" -n \
		/usr/bin/python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], 7788), timeout=3)
s.sendall(b"hello\n")
sys.exit(0 if s.makefile().readline() == "ok hello\n" else 1)
' "$2" 2>/dev/null
}
# serve JOBID: an answering server in the network namespace of the job's second slot.
serve() {
	local where
	wait_until 120 "job $1's second slot" slot1 "$1"
	where=$(slot1 "$1")
	log "job $1: server in the slot on ${where% *}"
	"$CLUSTER_SH" exec "${where% *}" nsenter -t "${where#* }" -n /usr/bin/python3 -c '
import socket
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 7788))
s.listen(16)
while True:
    c, _ = s.accept()
    f = c.makefile("rw")
    f.write("ok " + f.readline().strip() + "\n")
    f.flush()
    c.close()
' &
	on_exit+=("kill $! 2>/dev/null")
}

# The job on two of the first three nodes; its second one killed, it goes
# on on the other two.
ref=$(peerjob ref -w "$N4,$N5")
id=$(peerjob nl -x "$N4,$N5")
serve "$ref"
serve "$id"
peer=$(slot1 "$id" | cut -d' ' -f1)
wait_output nl "ok step 10" 120
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
log "$out"
# Each job reaches its own slots across nodes, never the other job's.
reach "$id" "$(slot "$id" 2 | cut -d' ' -f3)" || fail "job $id does not reach its second slot"
reach "$ref" "$(slot "$ref" 2 | cut -d' ' -f3)" || fail "job $ref does not reach its second slot"
! reach "$id" "$(slot "$ref" 2 | cut -d' ' -f3)" || fail "job $id reaches job $ref's slot"
! reach "$ref" "$(slot "$id" 2 | cut -d' ' -f3)" || fail "job $ref reaches job $id's slot"
ok "each job reaches its own slots across nodes, not the other's"
wait_output nl "ok step 15"
log "job $id: checkpoint 1 committed; killing $peer, its second node"
"$CLUSTER_SH" kill-node "$peer"
on_exit+=("'$CLUSTER_SH' revive-node '$peer'")
requeued() { [ "$(job_field "$id" Restarts)" -ge 1 ] && job_running "$id"; }
wait_until 240 "job $id to be requeued and run" requeued
serve "$id"
wait_done "$id" 300
wait_done "$ref" 120
[ "$(grep -c "^slot: a job address" "$WORK/ref.out")" = 2 ] || fail "reference: $(head -3 "$WORK/ref.out")"
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
crd_log_has "job $id: restored checkpoint 1 of job $id" || fail "no crd restored checkpoint 1"
cmp -s "$WORK/ref.out" "$WORK/nl.out" ||
	fail "output differs from the uninterrupted run:
$(diff "$WORK/ref.out" "$WORK/nl.out" | head -20)"
[ "$(starts nl)" = 1 ] || fail "started $(starts nl) times: $(cat "$WORK/nl/starts")"
ok "two nodes over the job network: checkpoint, $peer killed, slot 1 on $(slot1 "$id" | cut -d' ' -f1) with its address, output identical"

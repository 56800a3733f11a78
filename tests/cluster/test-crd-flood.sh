#!/usr/bin/env bash
# Issue 11: 500 slow and 500 garbage connections on a node's crd port, from
# 50 loopback source addresses inside the node, reopened as soon as crd
# closes them, while --checkpoint jobs are submitted there and checkpointed:
# the jobs start and end (the prolog's JOB_START goes through crd's local
# socket, whose workers TCP clients cannot take), the node is never drained,
# a checkpoint over TCP still works, every attacking connection is closed
# within the gate's deadline, and crd stays small.
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
FLOOD=$CR_BUILD_DIR/tests/cluster/crd-flood
[ -x "$FLOOD" ] || fail "no $FLOOD"
DEADLINE_MS=5000 # GATE_DEADLINE_MS, agent/gate.h
SECS=45
port=$(sed -n 's/^Port=//p' "$CR_CLUSTER_DIR/nodes/$NODE1/etc/cr.conf")
crd_pid=$(cat "$CR_CLUSTER_DIR/nodes/$NODE1/crd.pid")
[ -n "$port" ] && alive "$crd_pid" || fail "no crd port or pid for $NODE1"

# quick_job TAG: a --checkpoint job on NODE1 that prints TAG; its ms from submit to done.
quick_job() {
	local id t0
	t0=$(now_ms)
	id=$(submit "$USER_" --checkpoint=0 -w "$NODE1" -o "$WORK/$1.out" --wrap "echo $1")
	wait_done "$id" 60
	[ "$(job_state "$id")" = COMPLETED ] || fail "job $1 ($id) ended $(job_state "$id")"
	[ "$(cat "$WORK/$1.out")" = "$1" ] || fail "job $1: output '$(cat "$WORK/$1.out")'"
	echo $(($(now_ms) - t0))
}
not_drained() {
	case $(node_field "$NODE1" State) in
	*DRAIN* | *DOWN* | *FAIL*) fail "$NODE1 is $(node_field "$NODE1" State): $(node_field "$NODE1" Reason)" ;;
	esac
}
established() {
	ip netns exec "$NODE1" ss -Htn state established "( sport = :$port )" | wc -l
}

before=$(quick_job calm)
log "a --checkpoint job before the flood: ${before} ms from submit to done"

ip netns exec "$NODE1" "$FLOOD" "$port" 500 500 50 "$SECS" >"$WORK/flood.json" &
flood=$!
on_exit+=("kill $flood 2>/dev/null")
wait_until 20 "the flood to open its connections to $NODE1:$port" has_line "$WORK/flood.json" flooding
log "flood under way: $(established) connections established"

for i in 1 2 3; do
	t=$(quick_job "flood$i")
	not_drained
	log "a --checkpoint job during the flood: ${t} ms from submit to done"
done
STEPS=100
id=$(ckjob held --checkpoint=0 -w "$NODE1")
wait_output held "awk: step 3"
out=$(crctl_as "$USER_" create "$id") || fail "crctl create during the flood: $out"
[ -n "$(last_seq "$id")" ] || fail "no committed checkpoint after create: $out"
ok "crctl create over TCP during the flood: $out"
alive "$flood" || fail "the flood ended before the jobs did: raise SECS"

wait "$flood" || fail "crd-flood failed"
log "flood: $(tail -1 "$WORK/flood.json")"
read -r closed longest oldest < <(tail -1 "$WORK/flood.json" | python3 -c 'import json,sys; r=json.load(sys.stdin)
print(r["closed_by_server"], r["longest_ms"], r["oldest_open_ms"])')
((closed > 1000)) || fail "crd closed only $closed attacking connections"
((longest <= DEADLINE_MS + 2000)) || fail "an attacking connection lived ${longest} ms"
((oldest <= DEADLINE_MS + 2000)) || fail "an attacking connection was still open after ${oldest} ms"
not_drained
hwm=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$crd_pid/status")
((hwm < 65536)) || fail "crd's peak memory is ${hwm} kB"
crd_log_has "connections refused" || fail "crd did not report what it turned away"
ok "flood: $closed connections closed by crd, the longest after ${longest} ms; crd peak ${hwm} kB; $NODE1 never drained"
scancel "$id"

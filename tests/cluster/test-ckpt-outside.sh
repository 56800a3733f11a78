#!/usr/bin/env bash
# Issue 12: a TCP connection from the job to a server outside it cannot be
# checkpointed. A checkpoint that finds one is aborted, the job runs on, and
# it is tried again (three attempts, a second apart): a connection that stays
# open fails it, naming the task and fd; one closed in between does not.
# ctest: TIMEOUT=300
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 1
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"

# A server outside the job, on the cluster's bridge: it holds what it accepts.
addr=$(ip -4 -o addr show dev "$CR_CLUSTER_BRIDGE" | awk '{print $4}' | cut -d/ -f1)
python3 -c '
import socket, sys
ls = socket.socket()
ls.bind((sys.argv[1], 0))
ls.listen(8)
print(ls.getsockname()[1], flush=True)
held = []
while True:
    held.append(ls.accept()[0])
' "$addr" >"$WORK/server.port" &
server=$!
on_exit+=("kill $server")
wait_until 10 "the server to listen" test -s "$WORK/server.port"

# The job: connected to the server until DIR/close exists, then on until DIR/go does.
cat >"$WORK/outside.sh" <<'EOF'
#!/bin/bash
exec python3 -c '
import os, socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])))
print("connected", flush=True)
while not os.path.exists(sys.argv[3] + "/close"):
    time.sleep(0.1)
s.close()
print("closed", flush=True)
while not os.path.exists(sys.argv[3] + "/go"):
    time.sleep(0.1)
' "$@"
EOF
chmod 755 "$WORK/outside.sh"
mkdir -p "$WORK/o" && chown "$USER_:" "$WORK/o"
id=$(submit "$USER_" --checkpoint=0 -o "$WORK/o.out" "$WORK/outside.sh" "$addr" "$(cat "$WORK/server.port")" "$WORK/o")
wait_output o connected
tries() { cat "$CR_CLUSTER_DIR"/nodes/*/crd.log | grep -c "job $id: checkpoint [0-9]*: trying again" || true; }

# Open all along: three attempts, then refused by name; the job runs on.
if out=$(as "$USER_" scontrol checkpoint create "$id" 2>&1); then
	fail "a checkpoint with a connection to outside the job was committed: $out"
fi
log "$out"
grep -q "a TCP connection to a peer outside the tree" <<<"$out" || fail "the refusal says: $out"
[ "$(tries)" = 2 ] || fail "tried again $(tries) times, not 2"
[ "$(job_state "$id")" = RUNNING ] || fail "job $id is $(job_state "$id") after the refused checkpoint"
ok "a connection to outside open all along: refused after 3 attempts, naming it; the job runs on"

# Closed after the first attempt: the checkpoint commits.
as "$USER_" scontrol checkpoint create "$id" >"$WORK/create.out" 2>&1 &
create=$!
wait_until 30 "the checkpoint to be tried again" eval '[ "$(tries)" -ge 3 ]'
touch "$WORK/o/close"
wait "$create" || fail "checkpoint create: $(cat "$WORK/create.out")"
grep -q "checkpoint [0-9]* committed" "$WORK/create.out" || fail "checkpoint create said: $(cat "$WORK/create.out")"
log "$(cat "$WORK/create.out")"
touch "$WORK/o/go"
wait_done "$id" 60
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
ok "the connection closed while the checkpoint was tried again: committed"

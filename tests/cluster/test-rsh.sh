#!/usr/bin/env bash
# Issue 13 (mpi-hooks): cr-rsh, the launch agent inside a checkpointable job.
# In a 2-node --checkpoint job the batch script runs, on the batch node,
# `cr-rsh NODE2 'echo "$HOSTNAME"; cat; echo to-stderr >&2; exit 3'` with two
# lines on stdin: the command runs in NODE2's slot (its name), reads the
# relayed stdin, its stdout and stderr come back apart, and cr-rsh exits 3;
# 2.3 MB go through each way intact. Refused with exit 255 and a message: a
# host that is no node of the job, and a process outside any job container
# (a plain job on the same node) asking crd.
# ctest: TIMEOUT=300
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
RSH=$CR_CLUSTER_DIR/libexec/cr-rsh
[ -x "$RSH" ] || fail "no $RSH: cr-rsh (mpi-hooks/) is not built or not installed by cluster.sh"
install -m 0755 "$HERE/workloads/rshjob.sh" "$WORK/rshjob.sh"
mkdir -p "$WORK/ck"
chown "$USER_:" "$WORK/ck"

id=$(submit "$USER_" -o "$WORK/ck.out" -N2 --checkpoint=0 -w "$NODE1,$NODE2" \
	"$WORK/rshjob.sh" "$WORK/ck" "$RSH" "$NODE2")
wait_done "$id" 120
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode): $(cat "$WORK/ck.out")"

d=$WORK/ck
[ "$(cat "$d/status")" = 3 ] || fail "cr-rsh exited $(cat "$d/status"), not 3; stderr: $(cat "$d/err")"
[ "$(printf '%s\n' "$NODE2" one two)" = "$(cat "$d/out")" ] ||
	fail "stdout is not NODE2's name and the relayed stdin: $(cat "$d/out")"
[ "$(cat "$d/err")" = to-stderr ] || fail "stderr: $(cat "$d/err")"
ok "cr-rsh $NODE2: stdin relayed, stdout and stderr apart, status 3"
[ "$(cat "$d/big.status")" = 0 ] || fail "big: cr-rsh exited $(cat "$d/big.status"): $(tail -3 "$d/big.err")"
seq 1 300000 | cmp -s - "$d/big.out" || fail "big: stdout differs from the stdin sent"
seq 1 300000 | cmp -s - "$d/big.err" || fail "big: stderr differs from the command's"
ok "2.3 MB through stdin, stdout and stderr intact"
[ "$(cat "$d/bad.status")" = 255 ] || fail "cr-rsh nosuchnode exited $(cat "$d/bad.status"), not 255"
grep -q "nosuchnode: not a node of job $id" "$d/bad.err" || fail "cr-rsh nosuchnode said: $(cat "$d/bad.err")"
ok "a host outside the job: refused ($(cat "$d/bad.err"))"

# A plain job on the batch node: its process is in no job container.
out=$(as "$USER_" srun -w "$NODE1" -N1 "$RSH" "$NODE2" true 2>&1) && fail "cr-rsh outside a job container ran: $out"
grep -q "refused: pid [0-9]* is not inside a checkpointable job's container" <<<"$out" ||
	fail "cr-rsh outside a job container said: $out"
grep -q "cr-rsh: refusing pid" "$CR_CLUSTER_DIR"/nodes/*/crd.log ||
	fail "crd logged no refusal"
ok "a process outside any job container: refused ($out)"

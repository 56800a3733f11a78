#!/usr/bin/env bash
# Issue 13, test 7: a TCP connection between two nodes of one job survives a
# node loss. `sbatch --checkpoint=15s -N2` of mpirun of a non-MPI program
# (tests/mpi/tcppair.c; orted on the second node through cr-rsh): a client
# on the batch node streams sequence-numbered, checksummed blocks to a
# server on the second node over the job network, each side checking every
# byte. After a periodic checkpoint the batch node (the client's end) is
# killed; Slurm requeues the job onto the survivor and a spare node, both
# ends are restored from that checkpoint with their addresses and the
# connection between them, and the job ends as a plain run of the same job
# (no block lost, duplicated or changed: the client's digests and the
# server's agree), byte-identical, started once.
# ctest: TIMEOUT=900
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 3
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
pair=$CR_BUILD_DIR/tests/mpi/cr-tcp-pair
[ -x "$pair" ] || fail "$pair is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
install -m 0755 "$pair" "$WORK/tcppair"
install -m 0755 "$HERE/workloads/tcpnodes.sh" "$WORK/tcpnodes.sh"
BLOCKS=${BLOCKS:-400} # 0.1 s each: time for a periodic checkpoint, a node failure and a requeue
read -r N1 N2 N3 <<<"$CR_CLUSTER_NODES"

# tcpjob NAME SBATCH-ARGS...: the pair on 2 nodes as the test user in $WORK/NAME; its id.
tcpjob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 "$@" \
		"$WORK/tcpnodes.sh" "$WORK/$name" "$BLOCKS"
}

# The job first (N1, its batch host, holds the client); the reference, a
# plain job, on the two nodes no one kills.
id=$(tcpjob nl --checkpoint=15s)
ref=$(tcpjob ref -w "$N2,$N3")
wait_job_state "$id" RUNNING 60
[ "$(job_field "$id" BatchHost)" = "$N1" ] || fail "job $id runs on $(job_field "$id" NodeList), not from $N1"
wait_output nl "^block 19 " 60
lose_node_after_ckpt "$id"
wait_done "$id" 300
wait_done "$ref" 300
[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "reference $ref ended with $(job_field "$ref" ExitCode): $(tail -3 "$WORK/ref.out")"
grep -q "^done: $BLOCKS blocks of .* both sides agree$" "$WORK/ref.out" ||
	fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"
resumed_ok "$id" "$seq"
grep -q "job $id: slot 1 rebuilt from checkpoint $seq" "$CR_CLUSTER_DIR"/nodes/*/crd.log ||
	fail "the server's slot was not rebuilt from checkpoint $seq"
same_as_ref nl ref
ok "node $node (the client's) killed: the TCP pair resumed from checkpoint $seq on $(job_field "$id" NodeList), every block once, ended as the plain run"

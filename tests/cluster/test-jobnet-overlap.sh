#!/usr/bin/env bash
# Issue 13, test 8: two checkpointable MPI jobs at once on overlapping nodes.
# JobNetwork is a /24 here (4 blocks of 64 addresses), and the second job's id
# is the first's + 127: the address formula before the block registry
# (jobnetreg.c) gave those two jobs the same addresses. Each job's slots
# reach one another across nodes, never the other job's (also between the
# two containers on the node they share); both are checkpointed, that node
# (the batch node of both: an MPI job losing another node ends, its mpirun
# losing a daemon, before Slurm sees the node fail) is killed, both are
# requeued and resume from their checkpoints, ending byte-identical to a
# plain run of the same job, each started once.
# ctest: TIMEOUT=900
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
export CR_CLUSTER_CRD_CONF="JobNetwork=100.64.7.0/24"
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 4
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
ITERS=${ITERS:-1200} # about 2 min: the probes (up to 45 s on a loaded machine), a periodic checkpoint of both, a node failure, the requeues
read -r N1 N2 N3 N4 <<<"$CR_CLUSTER_NODES"

# mpijob NAME SBATCH-ARGS...: the solver on 2 nodes as the test user in $WORK/NAME; its id.
mpijob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS"
}

# slot JOBID I: "NODE INIT_PID ADDRESS" of the job's container on its node I (1, 2), once up.
slot() {
	local n f
	n=$(scontrol show hostnames "$(job_field "$1" NodeList)" | sed -n "$2p")
	f=$CR_CLUSTER_DIR/nodes/$n/crd/job$1.json
	[ -n "$n" ] && [ -f "$f" ] || return 1
	python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); j["init_pid"] > 0 and print(sys.argv[2], j["init_pid"], j["address"])' "$f" "$n"
}
addr() { slot "$1" "$2" | cut -d' ' -f3; }
# reaches JOBID I ADDRESS: from the job's slot I, a TCP connection to ADDRESS:9
# is answered (accepted or refused: something there heard it), not dropped.
reaches() {
	local where
	where=$(slot "$1" "$2")
	"$CLUSTER_SH" exec "${where%% *}" nsenter -t "$(echo "$where" | cut -d' ' -f2)" -n \
		/usr/bin/python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], 9), timeout=2)
except ConnectionRefusedError:
    pass
except OSError:
    sys.exit(1)
' "$3" 2>/dev/null
}

# Job A on N1 N2 first; job ids burnt until B's is A's + 127; B on N1 N3.
a=$(mpijob a --checkpoint=15s -w "$N1,$N2")
burn=()
while :; do
	next=$(sbatch --parsable --hold -o /dev/null --wrap true) || fail "sbatch (an id to burn)"
	burn+=("$next")
	[ "$next" -lt $((a + 126)) ] || break
done
scancel "${burn[@]}"
b=$(mpijob b --checkpoint=15s -w "$N1,$N3")
[ "$b" = $((a + 127)) ] || fail "job B is $b, not $((a + 127))"
log "jobs $a and $b (ids 127 apart: one address range under the old formula)"
ref=$(mpijob ref -w "$N3,$N4")
wait_job_state "$a" RUNNING 60
wait_job_state "$b" RUNNING 60
up() { slot "$1" 1 >/dev/null && slot "$1" 2 >/dev/null; }
wait_until 60 "job $a's containers" up "$a"
wait_until 60 "job $b's containers" up "$b"
aa="$(addr "$a" 1) $(addr "$a" 2)" ab="$(addr "$b" 1) $(addr "$b" 2)"
log "job $a at $aa, job $b at $ab"
for x in $aa; do
	case " $ab " in *" $x "*) fail "jobs $a and $b share address $x" ;; esac
done
# probe WHAT JOBID I ADDRESS: reaches, in the background, its answer in $WORK/probe.WHAT.
probe() {
	local what=$1
	shift
	{ if reaches "$@"; then echo yes; else echo no; fi; } >"$WORK/probe.$what" &
	probes+=($!)
}
probes=()
probe own-a "$a" 1 "$(addr "$a" 2)"
probe own-b "$b" 2 "$(addr "$b" 1)"
probe a-to-b-on-$N3 "$a" 2 "$(addr "$b" 2)"
probe b-to-a-on-$N2 "$b" 2 "$(addr "$a" 2)"
# on N1, between the two containers there
probe a-to-b-beside-on-$N1 "$a" 1 "$(addr "$b" 1)"
probe b-to-a-beside-on-$N1 "$b" 1 "$(addr "$a" 1)"
wait "${probes[@]}"
for f in "$WORK"/probe.*; do
	case ${f##*/probe.}=$(cat "$f") in
	own-*=yes | *-to-*=no) ;;
	*) fail "job network: ${f##*/probe.}: reached $(cat "$f")" ;;
	esac
done
ok "distinct addresses; each job reaches its own slots across nodes, never the other's"

wait_until 60 "a periodic checkpoint of job $a" has_ckpt "$a"
wait_until 60 "a periodic checkpoint of job $b" has_ckpt "$b"
crctl_as "$USER_" disable "$a" >/dev/null
crctl_as "$USER_" disable "$b" >/dev/null
sa=$(last_seq "$a") sb=$(last_seq "$b")
log "checkpoints: job $a $sa, job $b $sb; killing $N1, the node both use"
"$CLUSTER_SH" kill-node "$N1"
on_exit+=("'$CLUSTER_SH' revive-node '$N1'")
# Requeued, each may run anywhere but N1 (-w placed them, for the overlap).
requeued() { [ "$(job_field "$1" Restarts)" -ge 1 ]; }
for j in "$a" "$b"; do
	wait_until 120 "job $j to be requeued" requeued "$j"
	scontrol update jobid="$j" ReqNodeList= || fail "job $j: cannot clear its node list"
done
wait_job_state "$a" RUNNING 120
wait_job_state "$b" RUNNING 120
log "requeued: job $a on $(job_field "$a" NodeList), job $b on $(job_field "$b" NodeList)"
wait_done "$a" 300
wait_done "$b" 300
wait_done "$ref" 120
[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "reference $ref ended with $(job_field "$ref" ExitCode)"
resumed_ok "$a" "$sa"
resumed_ok "$b" "$sb"
same_as_ref a ref
same_as_ref b ref
# The claims in the registry (crd.8, JOB NETWORK): one block each, kept (checkpoints kept here).
reg=$CR_CKPT_DIR/.jobnet
ba=$(cut -d' ' -f1 "$reg/j$a" 2>/dev/null || true) bb=$(cut -d' ' -f1 "$reg/j$b" 2>/dev/null || true)
[ -n "$ba" ] && [ -n "$bb" ] && [ "$ba" != "$bb" ] || fail "registry $reg: $(head "$reg"/j* 2>&1)"
ok "$N1 killed: jobs $a and $b resumed from checkpoints $sa and $sb, each ended as the plain run"

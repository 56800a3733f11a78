#!/usr/bin/env bash
# Issue 11, endurance: a two-node Open MPI job (mpirun of the solver, one rank
# on each node) with periodic checkpoints goes through SOAK_CYCLES cycles
# (default 5; bench/soak.sh runs 100) of: a checkpoint newer than the one it
# last resumed from, one of its nodes killed (its batch host and its other
# node in turn), Slurm's requeue onto the survivor and the revived node, the
# restore. After every cycle the job's output is a prefix of an uninterrupted
# run's, byte for byte, it started once, and nothing accumulates on any node:
# crd's memory and open fds, monitors (one per container of the live run),
# mounts in the node's namespace, job-network links, the job's cgroups (on
# the live run's nodes only),
# checkpoints beyond KeepCount. At the end the job is cancelled and none of
# its monitors, links or cgroups is left. Each cycle's figures go to
# $SOAK_LOG (default $WORK/soak.tsv, printed at the end).
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
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
CYCLES=${SOAK_CYCLES:-5}
ITERS=$((CYCLES * 900 + 600)) # 0.1 s each: more than the cycles take; cancelled after them
SOAK_LOG=${SOAK_LOG:-$WORK/soak.tsv}
RSS_SLACK_KB=${SOAK_RSS_SLACK_KB:-8192}
FD_SLACK=${SOAK_FD_SLACK:-8}

# soakjob NAME SLEEP-MS SBATCH-ARGS...: the solver on 2 nodes, one rank each; its id.
soakjob() {
	local name=$1 sleep_ms=$2
	shift 2
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 "$@" \
		"$WORK/mpinodes.sh" "$WORK/$name" "$ITERS" nodes 100 "$sleep_ms"
}

# The reference: the same computation without the pauses (its output does not depend on them).
ref=$(soakjob ref 0)
WAIT_POLL=0.5 wait_for 600 job_is_done "$ref" || fail "the plain run $ref did not end"
[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "the plain run ended with $(job_field "$ref" ExitCode)"
grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -2 "$WORK/ref.out")"

pid_of() { tr -dc 0-9 <"$CR_CLUSTER_DIR/nodes/$1/$2.pid" 2>/dev/null; }
net_of() { readlink "/proc/$1/ns/net" 2>/dev/null; }

# The mounts crd's node namespace has; /run/netns/* are cluster.sh's own (a
# node revived after another is made with that one's netns mount in its copy).
node_mounts() { cut -d' ' -f2 "/proc/$1/mounts" | grep -v '^/run/netns/' | sort; }

# node_figures NODE: "rss_kB fds mounts links monitors" of NODE (empty when it is down).
node_figures() {
	local crd holder net p mons=0
	crd=$(pid_of "$1" crd) && [ -d "/proc/$crd" ] || return 0
	holder=$(pid_of "$1" holder)
	net=$(net_of "$holder")
	# a monitor's coordinator (a checkpoint under way) has its name too: not counted
	for p in $(pgrep '^crd-job' || true); do
		[[ "$(ps -o comm= -p "$(ps -o ppid= -p "$p" | tr -d ' ')" 2>/dev/null)" == crd-job* ]] && continue
		[ "$(net_of "$p")" = "$net" ] && mons=$((mons + 1))
	done
	echo "$(awk '/^VmRSS:/ {print $2}' "/proc/$crd/status")" \
		"$(find "/proc/$crd/fd" -mindepth 1 -maxdepth 1 | wc -l)" \
		"$(node_mounts "$crd" | wc -l)" \
		"$(nsenter -t "$holder" -n ip -o link show | grep -c ': cr[0-9a-f]*_' || true)" "$mons"
}

# job_cgroups JOBID: how many of the cluster's nodes have cgroups of the job
# (Slurm's v1 hierarchies, <controller>/slurm_NODE/uid_U/job_JOBID).
job_cgroups() {
	find /sys/fs/cgroup/*/slurm_"$CR_CLUSTER_NODE_PREFIX"* -maxdepth 2 -type d -name "job_$1" 2>/dev/null |
		sed 's|.*/slurm_\([^/]*\)/.*|\1|' | sort -u | wc -l
}
few_ckpts() { (($(ckpt_count "$1") <= 2)); }
ckpt_count() { find "$(ckpt_dir "$1")" -mindepth 1 -maxdepth 1 -type d -regex '.*/[0-9]+' | wc -l; }

# The output so far is the reference's beginning, byte for byte, and the job started once.
prefix_ok() {
	local n
	n=$(stat -c %s "$WORK/soak.out")
	cmp -s -n "$n" "$WORK/soak.out" "$WORK/ref.out" ||
		fail "cycle $1: the output differs from the uninterrupted run's: $(cmp -n "$n" "$WORK/soak.out" "$WORK/ref.out" || true)"
	[ "$(starts soak)" = 1 ] || fail "cycle $1: the job started $(starts soak) times from the top"
}

# check CYCLE: figures of every node against the first cycle's (base_*), logged.
declare -A base_rss base_fd base_mnt
check() {
	local c=$1 n f rss fds mnt links mons total_mons=0 total_links=0
	for n in $CR_CLUSTER_NODES; do
		f=$(node_figures "$n")
		[ -n "$f" ] || continue
		read -r rss fds mnt links mons <<<"$f"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$c" "$n" "$rss" "$fds" "$mnt" "$links" "$mons" \
			"$(job_cgroups "$id")" "$(ckpt_count "$id")" >>"$SOAK_LOG"
		total_mons=$((total_mons + mons))
		total_links=$((total_links + links))
		: "${base_rss[$n]:=$rss}" "${base_fd[$n]:=$fds}" "${base_mnt[$n]:=$mnt}"
		((rss <= base_rss[$n] + RSS_SLACK_KB)) || fail "cycle $c: crd on $n grew from ${base_rss[$n]} to $rss kB"
		((fds <= base_fd[$n] + FD_SLACK)) || fail "cycle $c: crd on $n holds $fds fds, ${base_fd[$n]} at first"
		[ -e "$WORK/mounts.$n" ] || node_mounts "$(pid_of "$n" crd)" >"$WORK/mounts.$n"
		((mnt <= base_mnt[$n])) || fail "cycle $c: $n has $mnt mounts, ${base_mnt[$n]} at first: $(node_mounts "$(pid_of "$n" crd)" | diff "$WORK/mounts.$n" - | grep '^[<>]' | paste -sd' ')"
	done
	((total_mons == 2)) || fail "cycle $c: $total_mons monitors of jobs on the cluster's nodes, not the live run's 2"
	((total_links == 2)) || fail "cycle $c: $total_links job-network links on the nodes, not the live run's 2"
	(($(job_cgroups "$id") == 2)) || fail "cycle $c: cgroups of job $id on $(job_cgroups "$id") nodes, not the live run's 2"
	# the one committed last is pruned for after its release: 3 for a moment
	wait_until 15 "cycle $c: at most 2 checkpoints of job $id (KeepCount=2)" few_ckpts "$id"
}

newer_ckpt() {
	local s
	s=$(last_seq "$1")
	[ -n "$s" ] && ((s > $2))
}
restored_more() { (($(restored_count "$1") > $2)); }
requeued() { (($(job_field "$1" Restarts) >= $2)) && job_running "$1"; }
requeued_or_done() { requeued "$@" || job_is_done "$1"; }

printf 'cycle\tnode\tcrd_rss_kB\tcrd_fds\tmounts\tlinks\tmonitors\tjob_cgroups\tcheckpoints\n' >"$SOAK_LOG"
id=$(soakjob soak 100 --checkpoint=5s)
wait_job_state "$id" RUNNING 60
last=0
for ((c = 1; c <= CYCLES; c++)); do
	t0=$(date +%s)
	wait_until 90 "cycle $c: a checkpoint of job $id newer than $last" newer_ckpt "$id" "$last"
	crctl_as "$USER_" disable "$id" >/dev/null
	seq=$(last_seq "$id")
	restores=$(restored_count "$id")
	mapfile -t nodes < <(scontrol show hostnames "$(job_field "$id" NodeList)")
	node=${nodes[$((c % 2))]} # the other node, then the batch host
	log "cycle $c: job $id on ${nodes[*]}, checkpoint $seq committed; killing $node"
	"$CLUSTER_SH" kill-node "$node" >/dev/null
	wait_until 240 "cycle $c: job $id to run again" requeued_or_done "$id" "$c"
	job_is_done "$id" && fail "cycle $c: job $id ended ($(job_state "$id"), exit $(job_field "$id" ExitCode)) instead of being requeued"
	# one that was being taken as checkpoints were disabled may have committed after: newer
	wait_until 120 "cycle $c: job $id to restore a checkpoint" restored_more "$id" "$restores"
	got=$(grep -ho "job $id: restored checkpoint [0-9]* of job $id" "$CR_CLUSTER_DIR"/nodes/*/crd.log | awk '{print $5}' | sort -n | tail -1)
	((got >= seq)) || fail "cycle $c: job $id restored checkpoint $got, older than $seq"
	seq=$got
	"$CLUSTER_SH" revive-node "$node" >/dev/null
	wait_output soak "^iter $(($(grep -c '^iter ' "$WORK/soak.out") + 5)) " 60
	prefix_ok "$c"
	check "$c"
	last=$seq
	log "cycle $c: restored checkpoint $seq on $(job_field "$id" NodeList) in $(($(date +%s) - t0)) s; output a prefix of the plain run's"
done
# (after scancel, Slurm's "CANCELLED" line goes to the job's output too)
scancel "$id"
wait_done "$id" 60
settled() {
	local n f mons=0 links=0 x l m
	for n in $CR_CLUSTER_NODES; do
		f=$(node_figures "$n")
		[ -n "$f" ] || continue
		read -r x x x l m <<<"$f"
		links=$((links + l))
		mons=$((mons + m))
	done
	((mons == 0 && links == 0 && $(job_cgroups "$id") == 0))
}
wait_until 60 "job $id's monitors, links and cgroups to go" settled
column -t "$SOAK_LOG" >&2
ok "$CYCLES cycles of checkpoint, node loss, requeue and restore: the output stayed the plain run's, nothing accumulated, nothing left"

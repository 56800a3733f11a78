#!/usr/bin/env bash
# The demo: install what is needed, build, then
#  1-3. show a program checkpointed, killed and restarted, finishing exactly as
#       an uninterrupted run does;
#  4-6. start a Slurm cluster on this machine (tests/cluster/cluster.sh),
#       submit an MPI job across 3 nodes with --checkpoint=15s (Open MPI's
#       mpirun of a small solver, one rank per node), checkpoint it, kill one
#       of its nodes, and show Slurm requeue it and the job resume from its
#       last checkpoint on the nodes it gets and end exactly as a plain run of
#       the same job does.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

# CR_DEMO_BUILD_DIR: a build to use as it is (tests/cluster/test-demo.sh)
build=${CR_DEMO_BUILD_DIR:-$repo/build}
if [ -z "${CR_DEMO_BUILD_DIR:-}" ]; then
	bash scripts/install-deps.sh
	cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build build -j"$(nproc)" >/dev/null
fi
cr=$build/libcr/cr
workload=$build/tests/engine/cr-engine-tree
[ -x "$workload" ] || { echo "demo: $workload was not built" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cr-demo.XXXXXX)
cluster=$repo/tests/cluster/cluster.sh
cluster_up=
# On a failure, what the agents said about the job, before the cluster goes.
crd_says() {
	[ -n "${job:-}" ] && [ -n "$cluster_up" ] || return 0
	echo "== the agents' log lines for job $job:" >&2
	grep -h "job $job" "$CR_CLUSTER_DIR"/nodes/*/crd.log 2>/dev/null | tail -n 30 >&2 || true
}
cleanup() {
	[ "$?" = 0 ] || crd_says
	kill -9 "${pid:-0}" 2>/dev/null || true
	[ -n "$cluster_up" ] && CR_BUILD_DIR=$build bash "$cluster" down >/dev/null 2>&1
	rm -rf "$work"
}
trap cleanup EXIT
mkdir "$work/ref" "$work/run"

echo "== 1. the workload uninterrupted (3 processes, threads, pipes, shared memory, signals, a zombie)"
"$workload" "$work/ref" >"$work/reference.out"
tail -n 2 "$work/reference.out"

echo "== 2. the same workload, checkpointed mid-run and killed"
"$workload" "$work/run" >"$work/run.out" &
pid=$!
until [ "$(wc -l <"$work/run.out")" -ge 12 ]; do sleep 0.05; done
"$cr" checkpoint --kill "$pid" "$work/image"
wait "$pid" 2>/dev/null || true
echo "   killed after $(wc -l <"$work/run.out") lines; image:"
"$cr" info "$work/image" | sed 's/^/   /'

echo "== 3. restarted from the image (in a new pid namespace: same pids)"
"$cr" restart --pidns "$work/image" >>"$work/run.out"
tail -n 2 "$work/run.out"

if cmp -s "$work/reference.out" "$work/run.out"; then
	echo "== the restarted run's output is byte-for-byte the uninterrupted run's"
else
	echo "== OUTPUT DIFFERS" >&2
	diff "$work/reference.out" "$work/run.out" >&2 || true
	exit 1
fi

echo "== 4. a Slurm cluster on this machine: slurmctld, 4 slurmd nodes in their own namespaces, crd on each"
export CR_BUILD_DIR=$build
# The cluster tests' lock: the demo waits while a test run uses the cluster
# (CR_CLUSTER_INSTANCE=1: the second cluster, next to the tests').
mkdir -p /run/lock
case ${CR_CLUSTER_INSTANCE:-0} in
0) lock=/run/lock/slurm-cr-cluster.session ;;
*) lock=/run/lock/slurm-cr-cluster-$CR_CLUSTER_INSTANCE.session ;;
esac
exec {lockfd}>"$lock"
flock -w 1200 "$lockfd" || { echo "demo: the cluster is in use" >&2; exit 1; }
bash "$cluster" up --nodes 4
cluster_up=1
eval "$(bash "$cluster" env)"
sinfo -p debug
user=$CR_CLUSTER_USER
jobdir=$(mktemp -d "$CR_CLUSTER_WORK/demo.XXXXXX")
chmod 0755 "$jobdir"
install -m 0755 "$build/tests/mpi/cr-mpi-solver" "$jobdir/solver"
install -m 0755 tests/cluster/workloads/mpinodes.sh "$jobdir/mpinodes.sh"
mkdir "$jobdir/ref" "$jobdir/ck"
chown -R "$user:" "$jobdir"
as_user() { runuser -u "$user" -- env PATH="$PATH" SLURM_CONF="$SLURM_CONF" CR_CONF="$CR_CONF" "$@"; }
state() { scontrol -o show job "$1" | grep -oE 'JobState=[A-Z_]+' | cut -d= -f2; }
field() { scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
wait_state() { # JOB SECS STATE-REGEX
	local end=$((SECONDS + $2))
	until state "$1" | grep -qE "^($3)$"; do
		[ $SECONDS -lt "$end" ] || { echo "demo: job $1 is $(state "$1"), not $3" >&2; exit 1; }
		sleep 0.2
	done
}
read -r _ node2 node3 node4 <<<"$(sinfo -h -N -p debug -o %N | sort -u | paste -sd' ')"
# The job: `mpirun` of a solver (halo exchange and an allreduce each
# iteration, one residual line per iteration), one rank on each of 3 nodes;
# the script says nothing about checkpoints. It gets the first 3 nodes; the
# reference, the same job without --checkpoint (mpirun through srun), runs
# beside it on the last 3, which no one kills.
job=$(as_user sbatch --parsable -D "$jobdir" --checkpoint=15s -N3 --ntasks-per-node=1 \
	-o "$jobdir/ck.out" "$jobdir/mpinodes.sh" "$jobdir/ck" 700)
ref=$(as_user sbatch --parsable -D "$jobdir" -N3 --ntasks-per-node=1 -w "$node2,$node3,$node4" \
	-o "$jobdir/ref.out" "$jobdir/mpinodes.sh" "$jobdir/ref" 700)
echo "   submitted MPI job $job with --checkpoint=15s (and job $ref, the same without, as the reference)"
wait_state "$job" 60 RUNNING
node=$(field "$job" BatchHost)
crctl show "$job" | sed 's/^/   /'
end=$((SECONDS + 120))
until grep -q "^iter 10 " "$jobdir/ck.out" 2>/dev/null; do
	[ $SECONDS -lt "$end" ] || { echo "demo: job $job did not start iterating: $(tail -3 "$jobdir/ck.out")" >&2; exit 1; }
	sleep 0.2
done
echo "== 5. an explicit checkpoint: scontrol checkpoint create $job"
as_user scontrol checkpoint create "$job" | sed 's/^/   /'
echo "   then periodic ones every 15 s; waiting for the next one"
end=$((SECONDS + 60))
until [ "$(crctl list "$job" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" -ge 2 ]; do
	[ $SECONDS -lt "$end" ] || { echo "demo: no periodic checkpoint" >&2; exit 1; }
	sleep 0.5
done
crctl list "$job" | sed 's/^/   /'
echo "   the job has printed $(wc -l <"$jobdir/ck.out") lines so far"
echo "== 6. $node, the job's first node, dies (every process of the node killed at once, its network gone)"
bash "$cluster" kill-node "$node"
t0=$SECONDS
last=
# Running again on another node; Slurm may show a requeued job RUNNING
# before it names its batch host.
host=
until [ "$(state "$job")" = RUNNING ] && host=$(field "$job" BatchHost) && [ -n "$host" ] &&
	[ "$host" != "$node" ]; do
	s=$(state "$job")
	[ "$s" = "$last" ] || echo "   +$((SECONDS - t0)) s: job $job is $s"
	last=$s
	[ $((SECONDS - t0)) -lt 240 ] || { echo "demo: job $job was not requeued" >&2; exit 1; }
	sleep 0.5
done
echo "   +$((SECONDS - t0)) s: job $job runs again, on $(field "$job" NodeList)"
end=$((SECONDS + 60))
until grep -qh "job $job: restored checkpoint" "$CR_CLUSTER_DIR"/nodes/*/crd.log 2>/dev/null; do
	[ $SECONDS -lt "$end" ] || { echo "demo: job $job did not resume from a checkpoint" >&2; exit 1; }
	sleep 0.2
done
grep -h "job $job: restored checkpoint" "$CR_CLUSTER_DIR"/nodes/*/crd.log | sed 's/^/   crd: /'
wait_state "$job" 240 "COMPLETED|FAILED|CANCELLED"
wait_state "$ref" 240 "COMPLETED|FAILED|CANCELLED"
echo "   job $job: $(field "$job" JobState), ExitCode=$(field "$job" ExitCode), Restarts=$(field "$job" Restarts)"
echo "   started from the top $(wc -l <"$jobdir/ck/starts") time(s)"
tail -n 3 "$jobdir/ck.out" | sed 's/^/   /'
if cmp -s "$jobdir/ref.out" "$jobdir/ck.out" && [ "$(wc -l <"$jobdir/ck/starts")" = 1 ]; then
	echo "== the MPI job's output is byte-for-byte that of the plain run, and it started once"
else
	echo "== OUTPUT DIFFERS" >&2
	diff "$jobdir/ref.out" "$jobdir/ck.out" >&2 || true
	exit 1
fi

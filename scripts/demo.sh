#!/usr/bin/env bash
# The demo: install what is needed, build, then
#  1-3. show a program checkpointed, killed and restarted, finishing exactly as
#       an uninterrupted run does;
#  4.   start a Slurm cluster on this machine (tests/cluster/cluster.sh) and
#       show a --checkpoint batch job running in its job container.
# Run as root on Debian 12.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bash scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" >/dev/null
cr=$repo/build/libcr/cr
workload=$repo/build/tests/engine/cr-engine-tree
[ -x "$workload" ] || { echo "demo: $workload was not built" >&2; exit 1; }

work=$(mktemp -d /var/tmp/cr-demo.XXXXXX)
cluster=$repo/tests/cluster/cluster.sh
cluster_up=
cleanup() {
	kill -9 "${pid:-0}" 2>/dev/null || true
	[ -n "$cluster_up" ] && CR_BUILD_DIR=$repo/build bash "$cluster" down >/dev/null 2>&1
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

echo "== 4. a Slurm cluster on this machine: slurmctld, 3 slurmd nodes in their own namespaces, crd on each"
export CR_BUILD_DIR=$repo/build
bash "$cluster" up
cluster_up=1
eval "$(bash "$cluster" env)"
sinfo
chmod 0755 "$work"
cat >"$work/job.sh" <<'EOS'
#!/bin/bash
echo "hostname: $(hostname)"
echo "what the job sees of the machine (ps -e):"
ps -e -o pid,comm | sed 's/^/  /'
echo "private /tmp: $(ls -A /tmp | tr '\n' ' ')"
sleep 3
echo "done"
EOS
chmod 755 "$work/job.sh"
job=$(sbatch --parsable --checkpoint=30m -o "$work/job.out" "$work/job.sh")
echo "   submitted job $job with --checkpoint=30m"
deadline=$((SECONDS + 60))
until scontrol show job "$job" | grep -q 'JobState=RUNNING'; do
	[ $SECONDS -lt $deadline ] || { echo "job $job did not start" >&2; exit 1; }
	sleep 0.2
done
crctl show "$job" | sed 's/^/   /'
until scontrol show job "$job" | grep -qE 'JobState=(COMPLETED|FAILED|CANCELLED)'; do
	[ $SECONDS -lt $deadline ] || { echo "job $job did not finish" >&2; exit 1; }
	sleep 0.2
done
echo "   the job's output:"
sed 's/^/   /' "$work/job.out"
scontrol show job "$job" | grep -oE '(JobState|ExitCode)=[^ ]*' | tr '\n' ' ' | sed 's/^/   /'
echo
echo "== checkpointing a Slurm job (scontrol checkpoint, node loss) comes next: see the issues"

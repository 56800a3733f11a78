#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Open MPI across nodes: what the job containers and the job network cost a
# running MPI job, and how long a checkpoint of a 3-node MPI job holds it, on
# the cluster in a box (tests/cluster/cluster.sh, 3 nodes, the instance in
# CR_CLUSTER_INSTANCE; not a test, never in ctest; as root).
#
#   bash bench/mpi.sh [--reps N] [--iters N] [--points N] [--ckpts N]
#                     [--settle SEC] [--build DIR] [--out PREFIX]
#
# Every MPI job is mpirun.openmpi, one rank per node, binding off, yield
# when idle (tests/cluster/workloads/mpinodes.sh), and the same transports
# in and out of the containers (pml ob1, btl self,vader,tcp), submitted as
# the test user, with both CPUs of each node (-c 2: the nodes share this
# machine's CPUs; with one CPU each, as Slurm gives by default, both ranks
# would run on the same one). "ckpt" is a checkpointable job (sbatch
# --checkpoint=0): each rank in its node's job container, on the job
# network, orted started through cr-rsh; "plain" an ordinary job: orted
# started through srun, the ranks on the nodes' own network.
#
# 1. wall: the solver (tests/mpi/solver.c), --iters iterations (default
#    20000) of --points points per rank (default 100000), no sleep, on 2
#    nodes, ckpt and plain, --reps pairs (default 5), alternating which of
#    the two runs first, after an untimed run of each. Timed three ways:
#    mpirun's wall time (date +%s%N around it in the job script: launch,
#    wire-up, the iterations, the end), the iterations alone (the solver's
#    -t: MPI_Wtime from a barrier after MPI_Init to the last iteration),
#    and from sbatch to the script's end (queueing, prolog, container
#    set-up too). Every run's output must be byte-identical to the first
#    plain run's. Reported: each kind's median and range, and the ratios
#    ckpt / plain of mpirun's time (the target: <= 1.01) and of the
#    iterations' (median and range of the per-pair ratios).
# 2. pingpong: tests/mpi/pingpong.c on 2 nodes, 8 B, 64 KiB and 1 MiB: half
#    a round trip and the bandwidth (median and range of 7 batches), once in
#    a ckpt job (the job network) and once in a plain job (the node network).
# 3. ckpt: the solver on 3 nodes (100 points per rank, 100 ms of sleep per
#    iteration, as the cluster tests run it) in a ckpt job, checkpointed
#    --ckpts times (default 5) with `crctl --json create` as its user: the
#    coordinator's phases, freeze (of which network lock), dump, commit,
#    resume, its total, and crctl's wall time (request to resume, as the
#    user sees it). The job must then end byte-identical to a plain run.
# Before every timed step: `sync`, --settle seconds (default 3) of quiet and
# the nodes idle. The load average (1 min) before each run and the other
# cluster instances up on the machine are recorded: on a busy machine the
# figures mean little.
#
# A TSV per part and a JSON summary end the output (also PREFIX.wall.tsv,
# PREFIX.pingpong.tsv, PREFIX.ckpt.tsv and PREFIX.json with --out). The
# cluster is brought up for the run and taken down, jobs and files with it,
# on every exit path.
set -euo pipefail

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
build=$repo/build reps=5 iters=20000 points=100000 ckpts=5 settle=3 out=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--iters) iters=$2; shift 2 ;;
	--points) points=$2; shift 2 ;;
	--ckpts) ckpts=$2; shift 2 ;;
	--settle) settle=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) awk 'NR > 2 { if (!/^#/) exit; sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
	*) echo "mpi.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
for v in "$reps" "$iters" "$points" "$ckpts"; do
	[[ $v =~ ^[1-9][0-9]*$ ]] || { echo "mpi.sh: counts are positive integers" >&2; exit 2; }
done
[[ $settle =~ ^[0-9]+$ ]] || { echo "mpi.sh: --settle takes seconds" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "mpi.sh: run as root" >&2; exit 1; }
command -v mpirun.openmpi >/dev/null || { echo "mpi.sh: no mpirun.openmpi (scripts/install-deps.sh)" >&2; exit 1; }
build=$(mkdir -p "$build" && cd "$build" && pwd)
{ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	cmake --build "$build" -j2 --target crd crctl spank_cr cr-rsh cr-mpi-solver \
		cr-mpi-pingpong >/dev/null; } || { echo "mpi.sh: can't build in $build" >&2; exit 1; }
export CR_BUILD_DIR=$build

HERE=$repo/tests/cluster
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 3 # the session lock, a fresh cluster, down on exit
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh" # $WORK, as, jobs cancelled on exit
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh" # same_as_ref, crctl_as
read -r N1 N2 N3 <<<"$CR_CLUSTER_NODES"
install -m 0755 "$build/tests/mpi/cr-mpi-solver" "$WORK/solver"
install -m 0755 "$build/tests/mpi/cr-mpi-pingpong" "$WORK/pingpong"
install -m 0755 "$HERE/workloads/mpinodes.sh" "$WORK/mpinodes.sh"
# timed.sh DIR CMD...: the job script; CMD with the transports fixed, its
# wall time (ns at start and end) and status into DIR/wall.
cat >"$WORK/timed.sh" <<'EOF'
#!/bin/bash
dir=$1
shift
export OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_mpi_yield_when_idle=1 \
	OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp
t0=$(date +%s%N)
"$@"
rc=$?
t1=$(date +%s%N)
echo "$t0 $t1 $rc" >"$dir/wall.tmp" && mv "$dir/wall.tmp" "$dir/wall"
exit $rc
EOF
chmod 755 "$WORK/timed.sh"
# others: the other cluster instances up now (their state directories).
others() {
	find /var/lib -maxdepth 1 -name 'slurm-cr-cluster*' ! -path "$CR_CLUSTER_DIR" -printf '%f\n' |
		sed 's/^slurm-cr-cluster-\{0,1\}//; s/^$/0/' | sort | paste -sd, | grep . || echo none
}
meta=$WORK/meta
{
	echo "date $(date -u +%FT%TZ)"
	echo "load_start $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "commit $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "others $(others)"
} >"$meta"

nodes_idle() { ! sinfo -h -N -n "$1" -o %T | grep -qv '^idle'; }
has_wall() { [ -e "$WORK/$1/wall" ]; }

# bjob NAME KIND NODES CMD...: after sync, --settle seconds and the nodes
# idle, CMD under timed.sh as the test user on NODES (one task each), KIND
# ckpt or plain; sets $jid, and $t_sub (ns) just before sbatch.
bjob() {
	local name=$1 kind=$2 nodes=$3 n opt=()
	shift 3
	n=$(echo "$nodes" | tr ',' '\n' | wc -l)
	[ "$kind" = ckpt ] && opt=(--checkpoint=0)
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	WAIT_POLL=0.5 wait_for 120 nodes_idle "$nodes" || fail "nodes $nodes did not become idle"
	sync
	sleep "$settle"
	t_sub=$(date +%s%N)
	jid=$(as "$USER_" sbatch --parsable -o "$WORK/$name.out" -N"$n" --ntasks-per-node=1 -c 2 \
		-w "$nodes" "${opt[@]}" "$WORK/timed.sh" "$WORK/$name" "$@") || fail "sbatch of $name failed"
	jid=${jid%%;*}
	jobs_started+=("$jid")
}

# bjob_end NAME SECS: the job of bjob ended with status 0 within SECS;
# prints "mpirun_s job_s" (see the header). Polls slowly: no load of ours
# beside the job.
bjob_end() {
	local t0 t1 rc
	WAIT_POLL=0.5 wait_for "$2" has_wall "$1" ||
		fail "$1 (job $jid) did not end in $2 s: $(tail -3 "$WORK/$1.out")"
	WAIT_POLL=0.2 wait_for 60 job_is_done "$jid" || fail "job $jid ($1) did not leave Slurm"
	read -r t0 t1 rc <"$WORK/$1/wall"
	if [ "$rc" != 0 ] || [ "$(job_field "$jid" ExitCode)" != 0:0 ]; then
		fail "$1 (job $jid) ended with $rc: $(tail -5 "$WORK/$1.out")"
	fi
	echo "$(((t1 - t0) / 1000)) $(((t1 - t_sub) / 1000))" | awk '{ printf "%.3f %.3f\n", $1 / 1e6, $2 / 1e6 }'
}

# ---- 1. wall time, ckpt against plain, alternating ----
printf 'rep\tkind\tfirst\tjobid\tload1\tothers\tmpirun_s\tjob_s\titer_s\n' >"$WORK/wall.tsv"
wall_run() { # REP KIND FIRST
	local name=w$1-$2 load o mpirun_s job_s iter_s
	read -r load _ </proc/loadavg
	o=$(others)
	bjob "$name" "$2" "$N1,$N2" "$WORK/mpinodes.sh" "$WORK/$name" "$iters" nodes "$points" 0 \
		"$WORK/$name/loop"
	read -r mpirun_s job_s <<<"$(bjob_end "$name" 1800)"
	[ -n "$job_s" ] || exit 1 # bjob_end failed (it said why)
	iter_s=$(cat "$WORK/$name/loop")
	if [ "$name" != w1-plain ]; then
		same_as_ref "$name" w1-plain
	fi
	if [ "$2" = ckpt ]; then
		crd_log_has "job $jid: cr-rsh: started" || fail "$name (job $jid): no orted through cr-rsh"
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$jid" "$load" "$o" "$mpirun_s" \
		"$job_s" "$iter_s" >>"$WORK/wall.tsv"
	log "wall $name: mpirun $mpirun_s s, iterations $iter_s s, sbatch to end $job_s s (load $load, other clusters: $o)"
}
# Untimed, one of each first: binaries and libraries read, the first
# container and job network of the cluster set up.
for kind in plain ckpt; do
	bjob "warm-$kind" "$kind" "$N1,$N2" "$WORK/mpinodes.sh" "$WORK/warm-$kind" 200 nodes "$points" 0
	bjob_end "warm-$kind" 600 >/dev/null
done
for r in $(seq "$reps"); do
	if ((r % 2)); then
		wall_run "$r" plain plain
		wall_run "$r" ckpt plain
	else
		wall_run "$r" ckpt ckpt
		wall_run "$r" plain ckpt
	fi
done
grep -q "^iter $iters " "$WORK/w1-plain.out" || fail "the solver did not finish: $(tail -3 "$WORK/w1-plain.out")"

# ---- 2. ping-pong: the job network against the node network ----
printf 'network\tsize\trounds\tlat_us\tlat_min\tlat_max\tmbps\tmbps_min\tmbps_max\tload1\n' >"$WORK/pingpong.tsv"
for kind in ckpt plain; do
	read -r load _ </proc/loadavg
	bjob "pp-$kind" "$kind" "$N1,$N2" mpirun.openmpi -n 2 --map-by node "$WORK/pingpong" -b 7 8 65536 1048576
	bjob_end "pp-$kind" 600 >/dev/null
	net=$([ "$kind" = ckpt ] && echo job || echo node)
	[ "$(grep -c '^size ' "$WORK/pp-$kind.out")" = 3 ] || fail "pingpong in job $jid: $(tail -5 "$WORK/pp-$kind.out")"
	awk -v net="$net" -v ld="$load" '/^size / { printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
		net, $2, $4, $6, $7, $8, $10, $11, $12, ld }' "$WORK/pp-$kind.out" >>"$WORK/pingpong.tsv"
	log "pingpong on the $net network: $(grep '^size ' "$WORK/pp-$kind.out" | paste -sd';')"
done

# ---- 3. checkpoints of a 3-node job, phase by phase ----
citers=$((10 * (30 + ckpts * (settle + 8)))) # 100 ms an iteration: room for every checkpoint
bjob c3-ref plain "$N1,$N2,$N3" "$WORK/mpinodes.sh" "$WORK/c3-ref" "$citers" nodes 100 0
bjob_end c3-ref 600 >/dev/null
bjob c3 ckpt "$N1,$N2,$N3" "$WORK/mpinodes.sh" "$WORK/c3" "$citers" nodes 100 100
WAIT_POLL=0.5 wait_for 120 has_line "$WORK/c3.out" "^iter 20 " || fail "the 3-node job did not start: $(tail -3 "$WORK/c3.out")"
printf 'n\tseq\tnodes\tbytes\tfreeze_s\tnetlock_s\tdump_s\tcommit_s\tresume_s\ttotal_s\tcrctl_s\tload1\n' >"$WORK/ckpt.tsv"
for n in $(seq "$ckpts"); do
	sync
	sleep "$settle"
	if ! job_running "$jid" || has_line "$WORK/c3.out" "^iter $citers "; then
		fail "the 3-node job ended before checkpoint $n (raise its iterations: citers in $0)"
	fi
	read -r load _ </proc/loadavg
	t0=$(date +%s%N)
	crctl_as "$USER_" --json create "$jid" >"$WORK/ck$n.json" ||
		fail "checkpoint $n of job $jid: $(cat "$WORK/ck$n.json")"
	t1=$(date +%s%N)
	python3 - "$WORK/ck$n.json" "$n" "$(((t1 - t0) / 1000))" "$load" >>"$WORK/ckpt.tsv" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); p = c["phases"]
print("\t".join(str(x) for x in (sys.argv[2], c["seq"], c["nodes"], c["bytes"],
      *(round(p[k], 3) for k in ("freeze", "netlock", "dump", "commit", "release")),
      round(c["total"], 3), int(sys.argv[3]) / 1e6, sys.argv[4])))
EOF
	[ "$(tail -1 "$WORK/ckpt.tsv" | cut -f3)" = 3 ] || fail "checkpoint $n of job $jid was not of 3 nodes"
	tail -1 "$WORK/ckpt.tsv" | awk -F'\t' '{ printf "checkpoint %s: %.1f MiB, freeze %.3f s (network lock %.3f), dump %.3f, commit %.3f, resume %.3f, total %.3f; crctl %.3f s\n", $2, $4 / 1048576, $5, $6, $7, $8, $9, $10, $11 }'
done
bjob_end c3 600 >/dev/null
same_as_ref c3 c3-ref
log "the 3-node job, checkpointed $ckpts times, ended as its plain run"
echo "load_end $(cut -d' ' -f1-3 /proc/loadavg)" >>"$meta"

# ---- summary ----
python3 - "$WORK" "$out" "$iters" "$points" "$(nproc)" "$(uname -r)" \
	"$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | sed -n 1p)" <<'EOF'
import csv, json, statistics as st, sys
work, out, iters, points, ncpu, kernel, cpu = sys.argv[1:]
rd = lambda f: list(csv.DictReader(open(f"{work}/{f}.tsv"), delimiter="\t"))
meta = dict(l.rstrip("\n").split(" ", 1) for l in open(f"{work}/meta"))
wall, pp, ck = rd("wall"), rd("pingpong"), rd("ckpt")
def mr(v):
    v = [float(x) for x in v]
    return {"median": round(st.median(v), 4), "min": round(min(v), 4), "max": round(max(v), 4)}
kind = lambda k, f: [r[f] for r in wall if r["kind"] == k]
diff = lambda k, a, b: [float(r[a]) - float(r[b]) for r in wall if r["kind"] == k]
reps = sorted({r["rep"] for r in wall}, key=int)
by = {(r["rep"], r["kind"]): float(r["mpirun_s"]) for r in wall}
ratios = [by[(p, "ckpt")] / by[(p, "plain")] for p in reps]
it = {(r["rep"], r["kind"]): float(r["iter_s"]) for r in wall}
iratios = [it[(p, "ckpt")] / it[(p, "plain")] for p in reps]
s = {"date": meta["date"], "commit": meta["commit"], "cpus": int(ncpu), "cpu": cpu,
     "kernel": kernel, "load_start": meta["load_start"], "load_end": meta["load_end"],
     "other_clusters": meta["others"],
     "wall": {"iterations": int(iters), "points_per_rank": int(points), "pairs": len(reps),
              "ckpt_mpirun_s": mr(kind("ckpt", "mpirun_s")),
              "plain_mpirun_s": mr(kind("plain", "mpirun_s")),
              "ckpt_iter_s": mr(kind("ckpt", "iter_s")),
              "plain_iter_s": mr(kind("plain", "iter_s")),
              "ckpt_job_s": mr(kind("ckpt", "job_s")), "plain_job_s": mr(kind("plain", "job_s")),
              # launch, wire-up and end; and from sbatch to mpirun's start
              "ckpt_launch_s": mr(diff("ckpt", "mpirun_s", "iter_s")),
              "plain_launch_s": mr(diff("plain", "mpirun_s", "iter_s")),
              "ckpt_setup_s": mr(diff("ckpt", "job_s", "mpirun_s")),
              "plain_setup_s": mr(diff("plain", "job_s", "mpirun_s")),
              "ratio": mr(ratios), "iter_ratio": mr(iratios), "load1": mr(r["load1"] for r in wall), "target": 1.01},
     "pingpong": {f'{r["network"]}_{r["size"]}': {"lat_us": float(r["lat_us"]),
                  "lat_us_range": [float(r["lat_min"]), float(r["lat_max"])],
                  "mbps": float(r["mbps"]), "mbps_range": [float(r["mbps_min"]), float(r["mbps_max"])]}
                  for r in pp},
     "ckpt": {"checkpoints": len(ck), "nodes": 3, "bytes": int(ck[-1]["bytes"]),
              **{k: mr(r[k] for r in ck) for k in ("freeze_s", "netlock_s", "dump_s", "commit_s",
                                                    "resume_s", "total_s", "crctl_s")}}}
w = s["wall"]
print(f"wall ({w['pairs']} pairs, {iters} iterations of {points} points a rank on 2 nodes): "
      f"mpirun ckpt {w['ckpt_mpirun_s']['median']:.2f} s ({w['ckpt_mpirun_s']['min']:.2f}-"
      f"{w['ckpt_mpirun_s']['max']:.2f}), plain {w['plain_mpirun_s']['median']:.2f} s "
      f"({w['plain_mpirun_s']['min']:.2f}-{w['plain_mpirun_s']['max']:.2f}); ratio "
      f"{w['ratio']['median']:.3f} ({w['ratio']['min']:.3f}-{w['ratio']['max']:.3f}): target <= 1.01 "
      + ("met" if w["ratio"]["median"] <= 1.01 else "MISSED"))
print(f"iterations alone: ckpt {w['ckpt_iter_s']['median']:.2f} s, plain "
      f"{w['plain_iter_s']['median']:.2f} s; ratio {w['iter_ratio']['median']:.3f} "
      f"({w['iter_ratio']['min']:.3f}-{w['iter_ratio']['max']:.3f})")
print(f"sbatch to end: ckpt {w['ckpt_job_s']['median']:.2f} s, plain {w['plain_job_s']['median']:.2f} s; "
      f"of which before mpirun: ckpt {w['ckpt_setup_s']['median']:.2f} s, plain "
      f"{w['plain_setup_s']['median']:.2f} s; mpirun beyond the iterations: ckpt "
      f"{w['ckpt_launch_s']['median']:.2f} s, plain {w['plain_launch_s']['median']:.2f} s")
for size in ("8", "65536", "1048576"):
    j, n = s["pingpong"][f"job_{size}"], s["pingpong"][f"node_{size}"]
    print(f"pingpong {size} B: job network {j['lat_us']:.1f} us {j['mbps']:.1f} MB/s, "
          f"node network {n['lat_us']:.1f} us {n['mbps']:.1f} MB/s")
c = s["ckpt"]
print(f"3-node checkpoint ({c['checkpoints']}, {c['bytes'] / 1048576:.1f} MiB): " +
      ", ".join(f"{k[:-2]} {c[k]['median']:.3f} s" for k in ("freeze_s", "netlock_s", "dump_s",
                                                               "commit_s", "resume_s", "total_s",
                                                               "crctl_s")))
print(f"load average {meta['load_start']} at the start, {meta['load_end']} at the end; "
      f"other cluster instances up at the start: {meta['others']}")
for f in ("wall", "pingpong", "ckpt"):
    text = open(f"{work}/{f}.tsv").read()
    print(text.rstrip())
    if out:
        open(f"{out}.{f}.tsv", "w").write(text)
print(json.dumps(s))
if out:
    json.dump(s, open(out + ".json", "w"), indent=1)
EOF

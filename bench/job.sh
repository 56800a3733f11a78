#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Job benchmark: the end-to-end checkpoint of a Slurm job holding 1 GiB, on
# the cluster in a box (tests/cluster/cluster.sh), against dd of as much data
# into the same checkpoint directory in the same run (not a test; as root).
#
#   bash bench/job.sh [--reps N] [--mib MIB] [--build DIR] [--settle SEC] [--out PREFIX]
#
# The job runs bench/memhog MIB 1 (anonymous memory, every page written with
# distinct data) under sbatch --checkpoint=0. Each repetition:
#   checkpoint  `crctl --json create JOBID`: the coordinator's phases, as it
#               timed them: freeze (every node frozen), dump (image, /tmp and
#               /dev/shm archives, digests and fsync of every file), commit
#               (manifest, MAC, renames), resume; and its total
#     limit     dd if=/dev/zero bs=4M count=MIB/4 conv=fdatasync into a file
#               of the checkpoint directory
# in alternating order (odd repetitions the checkpoint first), after `sync`
# and --settle seconds (default 8) of quiet, each preceded by memhog touch of
# the same size (see bench/engine.sh: this VM backs guest memory lazily).
# KeepCount=2 keeps at most two checkpoints of the job on disk.
#
# Reported: MB/s of the checkpoint (image bytes / total) and of dd, the ratio
# of dd's time to the checkpoint's (median of the per-repetition ratios), and
# each phase's median. A TSV of every measurement and a JSON summary follow
# (also PREFIX.tsv / PREFIX.json with --out). Everything is removed and the
# cluster taken down on every exit path.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh" # die, wait_for
build=$repo/build reps=3 mib=1024 settle=8 out=
while [ $# -gt 0 ]; do
	case $1 in
	--reps) reps=$2; shift 2 ;;
	--mib) mib=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--settle) settle=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '3,29p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	*) echo "job.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[ "$(id -u)" = 0 ] || { echo "job.sh: run as root" >&2; exit 1; }

cluster=$repo/tests/cluster/cluster.sh
# The cluster tests' lock: never two users of the cluster in a box at once.
mkdir -p /run/lock
exec {lockfd}>/run/lock/slurm-cr-cluster.session
flock -w 1200 "$lockfd" || die "the cluster is in use (/run/lock/slurm-cr-cluster.session)"
jobid= tmp=
cleanup() {
	set +e
	[ -n "$jobid" ] && scancel "$jobid" 2>/dev/null
	[ -n "$tmp" ] && rm -rf "$tmp"
	CR_BUILD_DIR=$build "$cluster" down >/dev/null 2>&1
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

{ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
	cmake --build "$build" -j2 --target crd crctl spank_cr >/dev/null; } ||
	die "can't build in $build"
CR_BUILD_DIR=$build "$cluster" up --nodes 1 --replace >/dev/null || die "cluster up failed"
eval "$(CR_BUILD_DIR=$build "$cluster" env)"
tmp=$(mktemp -d "$CR_CLUSTER_WORK/bench.XXXXXX")
chmod 755 "$tmp"
cc -O2 -Wall -Wextra -o "$tmp/memhog" "$repo/bench/memhog.c" || die "can't build memhog"
printf '#!/bin/sh\nexec %s %s 1\n' "$tmp/memhog" "$mib" >"$tmp/job.sh"
chmod 755 "$tmp/job.sh"
user=$CR_CLUSTER_USER
chown "$user:" "$tmp"
jobid=$(runuser -u "$user" -- env PATH="$PATH" SLURM_CONF="$SLURM_CONF" \
	sbatch --parsable --checkpoint=0 -o "$tmp/job.out" "$tmp/job.sh") ||
	die "sbatch failed"
jobid=${jobid%%;*}
job_ready() { grep -q '^ready' "$tmp/job.out" 2>/dev/null; }
WAIT_POLL=0.1 wait_for 60 job_ready || die "the job did not get ready: $(cat "$tmp/job.out")"
ddfile=$CR_CKPT_DIR/bench-dd.$$

quiet() { sync; sleep "$settle"; }
ckpt() {
	"$tmp/memhog" touch "$mib" >/dev/null
	quiet
	crctl --json create "$jobid" >"$tmp/ckpt.json" || die "checkpoint failed"
}
ddrun() {
	local t0 t1
	"$tmp/memhog" touch "$mib" >/dev/null
	quiet
	t0=$(date +%s%N)
	dd if=/dev/zero of="$ddfile" bs=4M count=$((mib / 4)) conv=fdatasync status=none
	t1=$(date +%s%N)
	rm -f "$ddfile"
	echo "$(((t1 - t0) / 1000))" >"$tmp/dd.us"
}

printf 'rep\tbytes\tfreeze_s\tdump_s\tcommit_s\tresume_s\ttotal_s\tdd_s\n' >"$tmp/tsv"
for r in $(seq "$reps"); do
	if ((r % 2)); then ckpt; ddrun; else ddrun; ckpt; fi
	python3 - "$tmp/ckpt.json" "$(cat "$tmp/dd.us")" "$r" >>"$tmp/tsv" <<'EOF'
import json, sys
c = json.load(open(sys.argv[1])); p = c["phases"]
print("\t".join(str(x) for x in (sys.argv[3], c["bytes"], round(p["freeze"], 3),
      round(p["dump"], 3), round(p["commit"], 3), round(p["release"], 3),
      round(c["total"], 3), int(sys.argv[2]) / 1e6)))
EOF
	tail -1 "$tmp/tsv" | awk -F'\t' '{ printf "rep %s: checkpoint %.2f s (freeze %.2f, dump %.2f, commit %.2f, resume %.2f), dd %.2f s\n", $1, $7, $3, $4, $5, $6, $8 }'
done
python3 - "$tmp/tsv" "$mib" "$out" <<'EOF'
import csv, json, statistics as st, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
mib, out = int(sys.argv[2]), sys.argv[3]
med = lambda k: st.median(float(r[k]) for r in rows)
ratio = st.median(float(r["dd_s"]) / float(r["total_s"]) for r in rows)
s = {"mib": mib, "reps": len(rows), "image_bytes": int(rows[-1]["bytes"]),
     "checkpoint_s": med("total_s"), "freeze_s": med("freeze_s"), "dump_s": med("dump_s"),
     "commit_s": med("commit_s"), "resume_s": med("resume_s"), "dd_s": med("dd_s"),
     "checkpoint_MBps": int(rows[-1]["bytes"]) / med("total_s") / 1e6,
     "dd_MBps": mib * 1048576 / med("dd_s") / 1e6, "ratio_to_dd": ratio}
print(f"job checkpoint of {mib} MiB: {s['checkpoint_MBps']:.0f} MB/s, dd {s['dd_MBps']:.0f} MB/s, "
      f"ratio {ratio:.2f} (median of {len(rows)})")
print(open(sys.argv[1]).read().rstrip())
print(json.dumps(s))
if out:
    open(out + ".tsv", "w").write(open(sys.argv[1]).read())
    json.dump(s, open(out + ".json", "w"))
EOF

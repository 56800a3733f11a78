#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Engine benchmark: `cr checkpoint --kill` and `cr restart --pidns` of
# workloads with touched memory, into a tmpfs and onto the disk, each next to
# its physical limit measured in the same run (not a test; run as root).
#
#   bash bench/engine.sh [--quick] [--reps N] [--workloads "1g 4g tree"]
#                        [--storage "tmpfs disk"] [--cr PATH] [--build DIR]
#                        [--settle SEC] [--no-prime] [--out PREFIX]
#                        [--sockets "NUNIX NTCP NEPOLL"]
#
# Workloads (memory: anonymous, private, every page written with distinct
# non-zero data, so nothing can be skipped):
#   1g    one process with 1 GiB          4g  one process with 4 GiB
#   tree  32 processes with 32 MiB each (1 GiB in all)
#   sockets  socket-heavy: 2 processes (4 MiB each) joined by 1,000 unix
#         stream connections and 1,000 TCP connections over loopback, their
#         ends spread over 100 epoll instances (bench/sockhog.c; --sockets
#         changes the counts), in a net namespace of their own: checkpoint
#         with --net-lock, restart with --netns (the same one) --net-lock.
#         Its reference is not a physical limit but the 1-process figure:
#         one process with 8 MiB (memhog), checkpointed and restarted the
#         same way in the same repetition (alternating which goes first);
#         reported: the time ratio sockets / 1 process, and both times.
# Storage: "tmpfs", a dedicated tmpfs mount (10G) made for the run, and
# "disk", a directory under /var/tmp on the root disk.
#
# Each repetition of a workload on a storage:
#   checkpoint  `cr checkpoint --kill PID DIR` (cr fdatasyncs its page files)
#     limit     dd of the same amount from /dev/zero into the same directory,
#               one file per process, bs=4M conv=fdatasync
#   restart     `cr restart --pidns --detach DIR`: it returns once every task
#               has all its memory read back in and runs (the restored root
#               then checks its memory against the data it wrote, untimed)
#     limit     bench/readimg: read the same image files with read() into
#               freshly mapped anonymous memory (faulting it in, as a restore
#               must; dd to /dev/null would not)
# The measured thing and its limit run back to back, in alternating order
# (odd repetitions cr first, even ones the limit first), so that both see the
# same state of the machine. That state matters a lot on this VM: the host
# backs guest memory lazily and takes freed memory back (free page
# reporting), so the first write to a page the guest has not used lately is
# slow (seen here: 1 GiB of such writes ~0.7 s, 6 GiB ~8 s; a 4 GiB
# checkpoint into tmpfs 13-15 s that way, 6-10 s right after the memory had
# been written and freed), and whichever step runs right after the other one
# freed its memory wins. So, unless --no-prime, each timed step is preceded
# by `memhog touch N`, writing and freeing as much memory as the step will
# allocate (the image size; twice that for a disk restart, which fills the
# page cache too): both start warm and are compared on their own work. The
# time the priming took is printed (the cold-memory rate of the moment).
# On disk, every timed step also starts after `sync` and --settle seconds
# (default 8) of quiet: this VM's disk took 1 GiB into blocks freed (and
# discarded) a moment before in 0.5-1 s, into other blocks in 3-4.5 s, so
# without the pause the second of two writers gets the first one's freed
# blocks and wins. Caches are dropped
# (echo 3 > /proc/sys/vm/drop_caches) before every restart and every read
# limit, so both read the disk. Every timed command runs under bench/crrun,
# which reports its wall time and the VmHWM of that process alone (read at
# its exit through ptrace, and polled): cr's own peak RSS, not its children's.
#
# Reported: MB/s (10^6 bytes/s of image or dd data), the ratio to the limit
# (median over repetitions of the ratio within each repetition), cr's peak
# RSS (max over repetitions); targets: ratio >= 0.9, cr <= 64 MiB. Misses are
# printed. The final blocks are a TSV of every measurement and a JSON
# summary (also written to PREFIX.tsv / PREFIX.json with --out).
#
# --quick: the 1g workload only, one repetition. Default: all workloads, 3
# repetitions. Everything (workloads, restored trees, images, the tmpfs) is
# removed on every exit path.
set -u
set -o pipefail

repo=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
bench="$repo/bench"
# shellcheck source=tests/lib.sh
. "$repo/tests/lib.sh" # die, alive, stime, reg, ours, tree_pids
reps=3
workloads="1g 4g tree"
storages="tmpfs disk"
cr=
build="$repo/build-bench"
out=
tmpfs_size=10G
chunk_kib=8192 # read size of the restart limit
settle=8       # seconds of quiet before each timed step on disk (see below)
prime=1        # write and free the memory a step will need, just before it
sockets="1000 1000 100" # the sockets workload: unix connections, TCP connections, epolls
CK_EXTRA=()  # cr checkpoint's options for the workload at hand (sockets: --net-lock)
RST_EXTRA=() # cr restart's (sockets: --netns, --net-lock)

usage() {
	sed -n '4,10p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--quick) workloads=1g; reps=1; shift ;;
	--reps) reps=$2; shift 2 ;;
	--workloads) workloads=$2; shift 2 ;;
	--storage) storages=$2; shift 2 ;;
	--cr) cr=$2; shift 2 ;;
	--build) build=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	--settle) settle=$2; shift 2 ;;
	--no-prime) prime=0; shift ;;
	--sockets) sockets=$2; shift 2 ;;
	-h | --help) usage ;;
	*) usage ;;
	esac
done
[[ "$reps" =~ ^[1-9][0-9]*$ ]] || usage
[[ "$settle" =~ ^[0-9]+$ ]] || usage
for w in $workloads; do case "$w" in 1g | 4g | tree | sockets) ;; *) usage ;; esac; done
for s in $storages; do case "$s" in tmpfs | disk) ;; *) usage ;; esac; done
if [ "$(id -u)" != 0 ]; then
	echo "engine.sh: run as root (cr needs it; so do mount and drop_caches)" >&2
	exit 2
fi
for t in cc python3 dd mount umount; do
	command -v "$t" >/dev/null || { echo "engine.sh: $t is missing" >&2; exit 2; }
done

tmp=
mnt=
declare -A started=() # pid -> start time, of every process we may kill (reg, ours)

# ---- processes ----

# Kill the given pids (those still being the processes reg() saw) and wait
# until none runs any more (zombies left to the machine's init are fine: their
# memory is freed).
kill_pids() {
	local p mine=()
	for p in "$@"; do
		ours "$p" && mine+=("$p")
	done
	[ ${#mine[@]} -gt 0 ] || return 0
	kill -KILL "${mine[@]}" 2>/dev/null
	wait_gone "${mine[@]}"
	for p in "${mine[@]}"; do unset "started[$p]"; done
	return 0
}

none_alive() { # PID...: 0 if none of them runs
	local p
	for p in "$@"; do
		! alive "$p" || return 1
	done
}

wait_gone() { wait_for 30 none_alive "$@"; } # until the pids run no more (at most 30 s)

# shellcheck disable=SC2317 # (the EXIT trap)
cleanup() {
	local st=$? p
	trap - EXIT INT TERM HUP
	for p in "${!started[@]}"; do
		ours "$p" && kill -KILL "$p" 2>/dev/null
	done
	if [ -n "$mnt" ] && mountpoint -q "$mnt"; then
		sleep 0.2
		umount "$mnt" 2>/dev/null || umount -l "$mnt" 2>/dev/null ||
			echo "engine.sh: could not unmount $mnt" >&2
	fi
	[ -z "$tmp" ] || rm -rf "$tmp"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- set-up ----

tmp=$(mktemp -d /var/tmp/cr-bench.XXXXXX) || die "no temporary directory"
bin="$tmp/bin"
mkdir -p "$bin" "$tmp/disk" "$tmp/tmpfs" "$tmp/log"
for h in memhog crrun readimg sockhog; do
	cc -O2 -Wall -Wextra -pthread -o "$bin/$h" "$bench/$h.c" || die "can't build bench/$h.c"
done
if [ -z "$cr" ]; then
	{ cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
		cmake --build "$build" --target cr -j2 >/dev/null; } ||
		die "can't build cr in $build (or give --cr PATH)"
	cr="$build/libcr/cr"
fi
cr=$(readlink -f "$cr")
[ -x "$cr" ] || die "no cr at $cr"
mnt="$tmp/tmpfs"
mount -t tmpfs -o "size=$tmpfs_size,mode=0700" crbench "$mnt" || { mnt=; die "can't mount a tmpfs"; }
disk="$tmp/disk"

mib_of() { case "$1" in 1g) echo 1024 ;; 4g) echo 4096 ;; tree) echo 32 ;; sockets) echo 4 ;; 1proc) echo 8 ;; esac; }
nproc_of() { case "$1" in tree) echo 32 ;; sockets) echo 2 ;; *) echo 1 ;; esac; }

drop_caches() { sync; echo 3 >/proc/sys/vm/drop_caches; }
quiet() { [ "$1" != disk ] || { sync; sleep "$settle"; }; } # STORAGE: before a timed step

# warm MIB: write and free that much memory now (see above); PRIMED describes it
warm() {
	local t
	PRIMED=
	[ "$prime" = 1 ] || return 0
	t=$("$bin/memhog" touch "$1") || die "memhog touch $1 failed"
	PRIMED=$(awk -v m="$1" -v t="$t" 'BEGIN { printf "  (primed %d MiB in %.2f s)", m, t }')
}
total_mib() { echo $(( $(mib_of "$1") * $(nproc_of "$1") )); }

# run_timed OUT CMD...: WALL, HWM (KiB), RC of CMD run under crrun
run_timed() {
	local o=$1
	shift
	"$bin/crrun" "$o" "$@"
	read -r WALL HWM RC <"$o" || { WALL=0 HWM=-1 RC=255; }
}

dir_bytes() { # total size of the files in a directory
	find "$1" -type f -printf '%s\n' | awk '{ n += $1 } END { printf "%.0f\n", n }'
}

tsv="$tmp/results.tsv"
printf 'workload\tstorage\trep\top\tseconds\tbytes\tMBps\tpeak_rss_kib\tstatus\tload1\n' >"$tsv"
record() { # WORKLOAD STORAGE REP OP SECONDS BYTES HWM STATUS (+ the 1-minute load average)
	local mbps load
	mbps=$(awk -v b="$6" -v s="$5" 'BEGIN { printf "%.1f", (s > 0 ? b / s / 1e6 : 0) }')
	read -r load _ </proc/loadavg
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$6" "$mbps" "$7" "$8" "$load" >>"$tsv"
	MBPS=$mbps
}

kib_mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# ---- one repetition ----

# start_workload W: WPID (root), WPIDS (all its processes), once all is touched
start_workload() {
	local mib n log=$tmp/log/workload i
	mib=$(mib_of "$1")
	n=$(nproc_of "$1")
	if [ "$1" = sockets ]; then
		# shellcheck disable=SC2086 # (three numbers)
		"$bin/sockhog" $sockets </dev/null >"$log" 2>&1 &
	else
		"$bin/memhog" "$mib" "$n" </dev/null >"$log" 2>&1 &
	fi
	WPID=$!
	reg "$WPID"
	for i in $(seq 6000); do # 10 min at most
		grep -q '^ready' "$log" && break
		alive "$WPID" || die "workload $1 died: $(cat "$log")"
		sleep 0.1
	done
	grep -q '^ready' "$log" || die "workload $1 not ready after 10 minutes"
	WPIDS=$(tree_pids "$WPID")
	for i in $WPIDS; do reg "$i"; done
	[ "$(echo "$WPIDS" | wc -w)" = "$n" ] || die "workload $1: $(echo "$WPIDS" | wc -w) processes, not $n"
}

ckpt_cr() { # W S REP DIR
	local img=$4/img
	quiet "$2"
	warm "$(total_mib "$1")"
	run_timed "$tmp/log/ck.out" "$cr" checkpoint --kill "${CK_EXTRA[@]}" "$WPID" "$img" \
		2>"$tmp/log/ck.err"
	local st=ok
	[ "$RC" = 0 ] || st="exit-$RC"
	wait "$WPID" 2>/dev/null
	# shellcheck disable=SC2086
	wait_gone $WPIDS || st="$st,workload-still-running"
	# shellcheck disable=SC2086
	kill_pids $WPIDS
	IMG_BYTES=$([ -d "$img" ] && dir_bytes "$img" || echo 0)
	record "$1" "$2" "$3" checkpoint "$WALL" "$IMG_BYTES" "$HWM" "$st"
	printf '  checkpoint        %7.3f s %8s MB/s  cr peak RSS %s%s%s\n' "$WALL" "$MBPS" \
		"$(kib_mib "$HWM")" "$PRIMED" "$([ "$st" = ok ] || echo "  FAILED ($st): $(tail -n 3 "$tmp/log/ck.err")")"
	[ "$RC" = 0 ] || die "checkpoint failed"
}

ckpt_limit() { # W S REP DIR: one dd per process of the workload
	local mib n bytes st=ok
	mib=$(mib_of "$1")
	n=$(nproc_of "$1")
	bytes=$((mib * n * 1048576))
	quiet "$2"
	warm "$((mib * n))"
	# shellcheck disable=SC2016 # (expanded by that sh)
	run_timed "$tmp/log/dd.out" sh -c 'i=0; while [ $i -lt "$1" ]; do
		dd if=/dev/zero of="$2/dd-$i" bs=4M count="$3" iflag=count_bytes conv=fdatasync status=none || exit 1
		i=$((i + 1)); done' sh "$n" "$4" "$((mib * 1048576))"
	[ "$RC" = 0 ] || st="exit-$RC"
	rm -f "$4"/dd-*
	[ "$2" = disk ] && sync
	record "$1" "$2" "$3" checkpoint-limit "$WALL" "$bytes" "$HWM" "$st"
	printf '  dd (limit)        %7.3f s %8s MB/s%s\n' "$WALL" "$MBPS" "$PRIMED"
	[ "$RC" = 0 ] || die "dd failed"
}

restart_cr() { # W S REP DIR
	local img=$4/img log=$tmp/log/rst.log root init pids st=ok i
	quiet "$2"
	[ "$2" = disk ] && drop_caches
	warm "$(($(total_mib "$1") * $([ "$2" = disk ] && echo 2 || echo 1)))"
	run_timed "$tmp/log/rst.out" "$cr" restart --pidns --detach "${RST_EXTRA[@]}" "$img" \
		>"$log" 2>"$tmp/log/rst.err"
	[ "$RC" = 0 ] || st="exit-$RC"
	root=$(head -n 1 "$log")
	init=
	if [[ "$root" =~ ^[0-9]+$ ]] && [ -e "/proc/$root" ]; then
		init=$(awk '/^PPid:/ { print $2 }' "/proc/$root/status")
		pids=$(tree_pids "$init")
		for i in $pids; do reg "$i"; done
		# shellcheck disable=SC2086
		[ "$(echo $pids | wc -w)" = "$(($(nproc_of "$1") + 1))" ] || st="$st,tasks-missing"
		# the restored root checks its memory (untimed)
		for i in $(seq 1200); do
			[ $((i % 50)) = 1 ] && kill -USR1 "$root" 2>/dev/null
			grep -qE '^(verified|CORRUPT)' "$log" && break
			sleep 0.1
		done
		grep -q '^verified' "$log" || st="$st,memory-not-verified"
		# shellcheck disable=SC2086
		kill_pids $init $pids
	else
		st="$st,no-root"
	fi
	record "$1" "$2" "$3" restart "$WALL" "$IMG_BYTES" "$HWM" "$st"
	printf '  restart           %7.3f s %8s MB/s  cr peak RSS %s%s%s\n' "$WALL" "$MBPS" \
		"$(kib_mib "$HWM")" "$PRIMED" "$([ "$st" = ok ] || echo "  FAILED ($st): $(tail -n 3 "$tmp/log/rst.err")")"
}

restart_limit() { # W S REP DIR
	local img=$4/img bytes secs st=ok
	quiet "$2"
	[ "$2" = disk ] && drop_caches
	warm "$(($(total_mib "$1") * $([ "$2" = disk ] && echo 2 || echo 1)))"
	if ! read -r bytes secs < <("$bin/readimg" "$chunk_kib" "$img"/*); then
		bytes=0 secs=0 st=failed
	fi
	record "$1" "$2" "$3" restart-limit "$secs" "$bytes" -1 "$st"
	printf '  read (limit)      %7.3f s %8s MB/s%s\n' "$secs" "$MBPS" "$PRIMED"
}

# socket_case W S REP DIR: checkpoint and restart of W (sockets or 1proc), no limit
socket_case() {
	local netfd=
	start_workload "$1"
	CK_EXTRA=() RST_EXTRA=()
	if [ "$1" = sockets ]; then
		# the workload's own net namespace, kept (this fd) for the restart
		exec {netfd}<"/proc/$WPID/ns/net" || die "can't open the workload's net namespace"
		CK_EXTRA=(--net-lock) RST_EXTRA=(--netns "/proc/$$/fd/$netfd" --net-lock)
	fi
	echo "  ($1)"
	ckpt_cr "$@"
	restart_cr "$@"
	[ -z "$netfd" ] || exec {netfd}<&-
	CK_EXTRA=() RST_EXTRA=()
	rm -rf "$4/img"
}

one_rep() { # W S REP
	local dir
	dir=$([ "$2" = tmpfs ] && echo "$mnt" || echo "$disk")
	if [ "$1" = sockets ]; then
		echo "[sockets ($sockets) and 1 process on $2, repetition $3/$reps," \
			"$([ $(($3 % 2)) = 1 ] && echo "sockets first" || echo "1 process first")]"
		if [ $(($3 % 2)) = 1 ]; then
			socket_case sockets "$2" "$3" "$dir"
			socket_case 1proc "$2" "$3" "$dir"
		else
			socket_case 1proc "$2" "$3" "$dir"
			socket_case sockets "$2" "$3" "$dir"
		fi
		[ "$2" = disk ] && sync
		return 0
	fi
	echo "[$1 on $2, repetition $3/$reps, $([ $(($3 % 2)) = 1 ] && echo "cr first" || echo "limit first")]"
	start_workload "$1"
	if [ $(($3 % 2)) = 1 ]; then
		ckpt_cr "$@" "$dir"
		ckpt_limit "$@" "$dir"
		restart_cr "$@" "$dir"
		restart_limit "$@" "$dir"
	else
		ckpt_limit "$@" "$dir"
		ckpt_cr "$@" "$dir"
		restart_limit "$@" "$dir"
		restart_cr "$@" "$dir"
	fi
	rm -rf "$dir/img" # free the image before the next case
	[ "$2" = disk ] && sync
	return 0
}

# ---- the run ----

kernel=$(uname -r)
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
mem_kib=$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)
disk_dev=$(df --output=source /var/tmp | tail -n 1)
commit=$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo "?")
dirty=$(git -C "$repo" status --porcelain -- libcr 2>/dev/null | wc -l)
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
t_start=$SECONDS

echo "cr engine benchmark, $started_at"
echo "machine: $(nproc) CPUs ($cpu), $((mem_kib / 1024)) MiB RAM, kernel $kernel"
echo "cr: $cr (commit $commit$([ "$dirty" = 0 ] || echo ", libcr/ with $dirty uncommitted changes"))"
echo "tmpfs: $mnt (size $tmpfs_size); disk: $disk on $disk_dev ($(findmnt -no FSTYPE -T "$disk"))"
echo "transparent hugepages: $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"
echo "workloads: $workloads; storage: $storages; $reps repetition(s), medians reported"
echo "priming: $([ "$prime" = 1 ] && echo "each timed step starts with the memory it needs written and freed just before" || echo off)"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine skews every figure)"
echo "disk: every timed step after sync + ${settle} s of quiet; restarts and their read limits after"
echo "      'echo 3 > /proc/sys/vm/drop_caches': they read the disk"
echo

for w in $workloads; do
	need=$(($(total_mib "$w") * 3 + 2048)) # workload or restored copy + image + priming, in MiB
	avail=$(($(awk '/^MemAvailable:/ { print $2 }' /proc/meminfo) / 1024))
	if [ "$avail" -lt "$need" ]; then
		echo "[$w skipped: needs ~$need MiB of memory, $avail MiB available]"
		continue
	fi
	for s in $storages; do
		for r in $(seq "$reps"); do
			one_rep "$w" "$s" "$r"
		done
	done
done

echo
echo "run time: $((SECONDS - t_start)) s; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

python3 - "$tsv" "$reps" "$started_at" "$kernel" "$cpu" "$(nproc)" "$mem_kib" "$commit" "$disk_dev" "${out:+$out.json}" <<'EOF'
import csv, json, statistics, sys

tsv, reps, when, kernel, cpu, ncpu, mem_kib, commit, disk_dev, json_out = sys.argv[1:]
rows = list(csv.DictReader(open(tsv), delimiter="\t"))
TARGET_RATIO, TARGET_RSS_KIB = 0.9, 64 * 1024
order = {"1g": 0, "4g": 1, "tree": 2, "tmpfs": 0, "disk": 1}
names = {"1g": "1 process, 1 GiB", "4g": "1 process, 4 GiB", "tree": "32 processes x 32 MiB"}
keys = sorted({(r["workload"], r["storage"]) for r in rows if r["workload"] in order},
              key=lambda k: (order[k[0]], order[k[1]]))
results, misses = [], []
for w, s in keys:
    for phase in ("checkpoint", "restart"):
        get = lambda op: {r["rep"]: r for r in rows if (r["workload"], r["storage"], r["op"]) == (w, s, op)}
        cr, lim = get(phase), get(phase + "-limit")
        pairs = [(cr[k], lim[k]) for k in sorted(cr) if k in lim and cr[k]["status"] == "ok"
                 and lim[k]["status"] == "ok" and float(lim[k]["MBps"]) > 0]
        failed = [f'rep {k}: {cr[k]["status"]}' for k in sorted(cr) if cr[k]["status"] != "ok"]
        if not pairs:
            results.append({"workload": w, "storage": s, "phase": phase, "failed": failed})
            misses.append(f"{w} {s} {phase}: no successful measurement ({'; '.join(failed)})")
            continue
        ratios = [float(a["MBps"]) / float(b["MBps"]) for a, b in pairs]
        hwm = max(int(r["peak_rss_kib"]) for r in cr.values())
        res = {
            "workload": w, "storage": s, "phase": phase, "reps": len(pairs),
            "image_bytes": int(pairs[0][0]["bytes"]),
            "cr_MBps": statistics.median(float(a["MBps"]) for a, _ in pairs),
            "limit_MBps": statistics.median(float(b["MBps"]) for _, b in pairs),
            "ratio": round(statistics.median(ratios), 3),
            "ratio_min": round(min(ratios), 3), "ratio_max": round(max(ratios), 3),
            "cr_seconds": statistics.median(float(a["seconds"]) for a, _ in pairs),
            "limit_seconds": statistics.median(float(b["seconds"]) for _, b in pairs),
            "cr_peak_rss_kib": hwm, "failed": failed,
            "load1_median": statistics.median(float(a.get("load1") or 0) for a, _ in pairs),
        }
        res["ratio_ok"] = res["ratio"] >= TARGET_RATIO
        res["rss_ok"] = 0 < hwm <= TARGET_RSS_KIB
        results.append(res)
        if not res["ratio_ok"]:
            misses.append(f"{w} {s} {phase}: median ratio {res['ratio']:.2f} to its limit "
                          f"(median MB/s: cr {res['cr_MBps']:.0f}, limit {res['limit_MBps']:.0f}), target 0.9")
        if not res["rss_ok"]:
            misses.append(f"{w} {s} {phase}: cr peak RSS {hwm / 1024:.1f} MiB, target 64 MiB")
        if failed:
            misses.append(f"{w} {s} {phase}: failed repetitions: {'; '.join(failed)}")

# The sockets workload against the 1-process figure of the same repetition: time ratios.
socks = []
for s in sorted({r["storage"] for r in rows if r["workload"] == "sockets"}, key=lambda k: order[k]):
    for phase in ("checkpoint", "restart"):
        get = lambda w: {r["rep"]: r for r in rows if (r["workload"], r["storage"], r["op"]) == (w, s, phase)}
        sk, one = get("sockets"), get("1proc")
        pairs = [(sk[k], one[k]) for k in sorted(sk) if k in one and sk[k]["status"] == "ok"
                 and one[k]["status"] == "ok" and float(one[k]["seconds"]) > 0]
        failed = [f'rep {k}: {r["status"]}' for w in (sk, one) for k, r in sorted(w.items()) if r["status"] != "ok"]
        res = {"workload": "sockets", "storage": s, "phase": phase, "failed": failed}
        if pairs:
            ratios = [float(a["seconds"]) / float(b["seconds"]) for a, b in pairs]
            res.update({"reps": len(pairs), "image_bytes": int(pairs[0][0]["bytes"]),
                        "cr_seconds": statistics.median(float(a["seconds"]) for a, _ in pairs),
                        "one_process_seconds": statistics.median(float(b["seconds"]) for _, b in pairs),
                        "time_ratio": round(statistics.median(ratios), 2),
                        "time_ratio_min": round(min(ratios), 2), "time_ratio_max": round(max(ratios), 2),
                        "cr_peak_rss_kib": max(int(r["peak_rss_kib"]) for r in sk.values())})
        else:
            misses.append(f"sockets {s} {phase}: no successful measurement ({'; '.join(failed)})")
        socks.append(res)
results += socks

hdr = f"{'workload':<24} {'storage':<6} {'phase':<10} {'cr MB/s':>8} {'limit MB/s':>10} {'ratio':>6} {'(min-max)':>11} {'cr peak RSS':>12}"
if keys:
    print(f"Summary (median of {reps} repetition(s); ratio = cr / limit within each repetition)")
    print(hdr)
    print("-" * len(hdr))
for r in results:
    if r["workload"] == "sockets":
        continue
    if "ratio" not in r:
        print(f"{names[r['workload']]:<24} {r['storage']:<6} {r['phase']:<10} FAILED")
        continue
    flag = ("" if r["ratio_ok"] else "  <0.9") + ("" if r["rss_ok"] else "  >64MiB")
    print(f"{names[r['workload']]:<24} {r['storage']:<6} {r['phase']:<10} {r['cr_MBps']:>8.0f} "
          f"{r['limit_MBps']:>10.0f} {r['ratio']:>6.3f} {r['ratio_min']:>5.2f}-{r['ratio_max']:<5.2f} "
          f"{r['cr_peak_rss_kib'] / 1024:>8.1f} MiB{flag}")
print()
if socks:
    print(f"Socket-heavy workload against the 1-process figure (median of {reps}; ratio = time / time)")
    print(f"{'storage':<7} {'phase':<10} {'sockets s':>10} {'1 process s':>12} {'ratio':>7} {'(min-max)':>13} {'cr peak RSS':>12}")
    for r in socks:
        if "time_ratio" not in r:
            print(f"{r['storage']:<7} {r['phase']:<10} FAILED {'; '.join(r['failed'])}")
            continue
        print(f"{r['storage']:<7} {r['phase']:<10} {r['cr_seconds']:>10.3f} {r['one_process_seconds']:>12.3f} "
              f"{r['time_ratio']:>7.2f} {r['time_ratio_min']:>6.2f}-{r['time_ratio_max']:<6.2f} "
              f"{r['cr_peak_rss_kib'] / 1024:>8.1f} MiB")
    print()
if misses:
    print("TARGETS MISSED:")
    for m in misses:
        print("  " + m)
else:
    print("All targets met (ratio >= 0.9 of each limit, cr peak RSS <= 64 MiB).")
print()
print("=== TSV (every measurement) ===")
sys.stdout.write(open(tsv).read())
print("=== JSON ===")
doc = {
    "date": when, "machine": {"kernel": kernel, "cpu": cpu, "cpus": int(ncpu),
                              "mem_kib": int(mem_kib), "disk": disk_dev},
    "commit": commit, "repetitions": int(reps),
    "targets": {"ratio": TARGET_RATIO, "cr_peak_rss_kib": TARGET_RSS_KIB},
    "results": results, "missed": misses,
}
print(json.dumps(doc, indent=1))
if json_out:
    json.dump(doc, open(json_out, "w"), indent=1)
EOF
[ -z "$out" ] || cp "$tsv" "$out.tsv"

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Test of the engine tests themselves (no engine needed):
#
#   selftest.sh TREE FREEZE_RELEASE_FAKE PYTHON3
#
# 1. Each workload gives the same stdout on two runs.
# 2. tree: every kind of state it checks, dropped on purpose at one step
#    (CR_TREE_LOSE), changes its stdout.
# 3. run-case.sh against fake-cr.sh (which "restores" by running the program
#    again) and fake-freeze.c (a ptrace freezer that can be broken on
#    purpose): each check fails exactly when its property is broken, and
#    the driver passes when nothing is.
# Exit 0 if all of that holds, 1 otherwise (saying what did not).
set -u
here=$(dirname "$(readlink -f "$0")")
# shellcheck source=tests/lib.sh
. "$here/../lib.sh" # proc_stat
tree=$(readlink -f "$1")
frfake=$(readlink -f "$2")
py=$3
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cr-engine-selftest.XXXXXX") || exit 2
pids=()
cleanup() {
	local st=$? p STAT
	for p in "${pids[@]}"; do # only those still our children: pids get reused
		proc_stat "$p" || continue
		[ "${STAT[1]}" != $$ ] || kill -TERM "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
	exit "$st"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
bad=0
ok() { printf 'ok   %s\n' "$*"; }
no() { printf 'FAIL %s\n' "$*"; bad=$((bad + 1)); }

# run_wl NAME CMD...: run a workload to completion into $tmp/NAME.out
run_wl() {
	local n=$1
	shift
	mkdir -p "$tmp/$n.d"
	(cd "$tmp/$n.d" && timeout 30 "${@//@WORK@/$tmp/$n.d}") </dev/null >"$tmp/$n.out" 2>"$tmp/$n.err"
}

# 1. determinism
declare -A wl=(
	[tree]="$tree @WORK@"
	[pythread]="$py $here/workloads/pythread.py"
	[pipeline]="bash $here/workloads/pipeline.sh"
)
for w in "${!wl[@]}"; do
	for i in 1 2; do
		# shellcheck disable=SC2086
		run_wl "$w-$i" ${wl[$w]} &
		pids+=($!)
	done
done
wait
pids=()
for w in "${!wl[@]}"; do
	if [ ! -s "$tmp/$w-1.out" ]; then
		no "$w: no output ($(head -c 300 "$tmp/$w-1.err"))"
	elif cmp -s "$tmp/$w-1.out" "$tmp/$w-2.out"; then
		ok "$w: two runs give the same stdout ($(wc -l <"$tmp/$w-1.out") lines)"
	else
		no "$w: two runs differ: $(cmp "$tmp/$w-1.out" "$tmp/$w-2.out" 2>&1)"
	fi
done

# 2. every loss the tree workload is meant to see shows in its stdout
kinds=(altstack handler mask pending zombie offset shm pipe robust tid pgid)
for k in "${kinds[@]}"; do
	CR_TREE_LOSE=$k run_wl "lose-$k" "$tree" @WORK@ &
	pids+=($!)
done
wait
pids=()
for k in "${kinds[@]}"; do
	if cmp -s "$tmp/tree-1.out" "$tmp/lose-$k.out"; then
		no "tree: losing $k does not change its stdout"
	else
		ok "tree: losing $k shows: $(diff "$tmp/tree-1.out" "$tmp/lose-$k.out" | grep -m1 '^>' | cut -c1-110)"
	fi
done

# 3. the driver against fakes. expect NAME "KINDS THAT MUST FAIL" ENV... -- ARGS
expect() {
	local n=$1 want=$2 log=$tmp/drv-${1//[^a-z]/-}.log got k
	shift 2
	local envs=()
	while [ "$1" != -- ]; do envs+=("$1"); shift; done
	shift
	env "${envs[@]}" bash "$here/run-case.sh" --cr "$here/fake-cr.sh" --timeout 10 "$@" >"$log" 2>&1
	got=$(grep -o 'FAIL([a-z]*)' "$log" | sort -u | tr -d '\n')
	local exp=""
	for k in $want; do exp+="FAIL($k)"; done
	exp=$(printf '%s' "$exp" | grep -o 'FAIL([a-z]*)' | sort -u | tr -d '\n')
	if [ -z "$exp" ] && ! grep -q 'all checks passed' "$log"; then
		no "driver, $n: expected to pass:"
		sed 's/^/    /' "$log" | head -n 40
	elif [ "$got" = "$exp" ]; then
		ok "driver, $n: ${exp:-passes}"
	else
		no "driver, $n: expected failures '${exp:-none}', got '${got:-none}':"
		sed 's/^/    /' "$log" | head -n 40
	fi
}
drive() { # in the background, two at a time
	expect "$@" &
	pids+=($!)
	if [ ${#pids[@]} -ge 2 ]; then
		wait "${pids[0]}"
		pids=("${pids[@]:1}")
	fi
}
t=(-- "$tree" @WORK@)
drive "restored stdout identical, start log right" "" FAKE_CR=replay-nolog \
	-- --mode restart --points 4 "${t[@]}"
drive "same, --pidns" "" FAKE_CR=replay-nolog \
	-- --mode restart-pidns --points 4 "${t[@]}"
drive "re-run with identical stdout" "startlog" FAKE_CR=replay \
	-- --mode restart --points 4 "${t[@]}"
drive "one line lost" "output" FAKE_CR=replay-nolog FAKE_CR_SKEW=1 \
	-- --mode restart-pidns --points 4 "${t[@]}"
drive "plain re-run" "output startlog" FAKE_CR=rerun \
	-- --mode restart --points 4 "${t[@]}"
drive "wrong exit status" "status" FAKE_CR=replay-nolog FAKE_CR_EXIT=3 \
	-- --mode restart --points 4 "${t[@]}"
drive "restart of restart under a new pid" "pid" FAKE_CR=replay-nolog \
	-- --mode restart --points 4 --rr "4 12" "${t[@]}"
# shellcheck disable=SC2016 # a workload with a child that outlives its parent
orphan=(-- bash -c 'echo x >>"$CR_START_LOG"; sleep 30 & for i in {1..20}; do echo $i; sleep 0.1; done; kill $!')
drive "kill that spares a child" "kill leftover" FAKE_CR=replay-nolog FAKE_CR_KILL=root \
	-- --mode restart --points 4 "${orphan[@]}"
drive "leave-running" "" \
	-- --mode leave-running --points "4 12" "${t[@]}"
drive "leave-running leaves it stopped" "running timeout" FAKE_CR_LEAVE=stopped \
	-- --mode leave-running --points 4 "${t[@]}"
drive "freeze/release" "" \
	-- --mode freeze --freeze-release "$frfake" --points "4 12" "${t[@]}"
drive "freeze that does not stop" "freeze" FAKE_FREEZE=nostop \
	-- --mode freeze --freeze-release "$frfake" --points 4 "${t[@]}"
drive "release that does not detach" "freeze" FAKE_FREEZE=nodetach \
	-- --mode freeze --freeze-release "$frfake" --points 4 "${t[@]}"
wait
pids=()
grep -q 'not in ptrace-stop' "$tmp/drv-freeze-that-does-not-stop.log" ||
	no "driver, freeze that does not stop: no 'not in ptrace-stop' message"
grep -q 'still traced' "$tmp/drv-release-that-does-not-detach.log" ||
	no "driver, release that does not detach: no 'still traced' message"

if [ "$bad" -ne 0 ]; then
	echo "selftest: $bad check(s) failed"
	exit 1
fi
echo "selftest: all checks passed"

#!/usr/bin/env bash
# Job containers on the cluster in a box: scancel leaves nothing behind, crd restarts under running jobs
# Runs as root; starts a 2-node cluster unless one is up, and stops what it started.
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER=${CR_CLUSTER_SH:-$HERE/cluster.sh}
PROG=${0##*/}

now_ms() { local t; t=$(date +%s%N); echo $((t / 1000000)); }
fail() { echo "$PROG: FAIL: $*" >&2; exit 1; }
ok() { echo "$PROG: ok: $*"; }
# until_ok SECONDS WHAT CMD...: poll CMD until it succeeds, or fail at the deadline.
until_ok() {
	local secs=$1 what=$2 end
	shift 2
	end=$(($(now_ms) + secs * 1000))
	until "$@"; do
		(($(now_ms) < end)) || fail "timed out after ${secs}s: $what"
		sleep 0.1
	done
}

exec 8>/run/lock/slurm-cr-container-tests.lock
flock -w 600 8 || fail "another container test holds the lock"
own=0
jobs_started=()
cleanup() {
	local rc=$?
	set +e
	((${#jobs_started[@]})) && scancel "${jobs_started[@]}" 2>/dev/null
	if ((rc)); then "$CLUSTER" logs 30 >&2 2>/dev/null; fi
	((own)) && "$CLUSTER" down >/dev/null 2>&1
	rm -rf "${WORK:-/nonexistent}"
	exit $rc
}
trap cleanup EXIT
if ! "$CLUSTER" status >/dev/null 2>&1; then
	"$CLUSTER" up --nodes 2 --replace >/dev/null
	own=1
fi
eval "$("$CLUSTER" env)"
[ -x "$CR_BUILD_DIR/agent/crd" ] && [ -f "$CR_BUILD_DIR/spank/spank_cr.so" ] ||
	fail "crd and spank_cr.so are not built in $CR_BUILD_DIR"
NODE1=${CR_CLUSTER_NODES%% *}
USER_=$CR_CLUSTER_USER
WORK=$(mktemp -d "$CR_CLUSTER_WORK/container.XXXXXX")
chmod 1777 "$WORK"
cd "$WORK"

# as USER CMD...: run a Slurm command as USER (root or the test user).
as() {
	local u=$1
	shift
	if [ "$u" = root ]; then "$@"; else runuser -u "$u" -- env "PATH=$PATH" "SLURM_CONF=$SLURM_CONF" "CR_CONF=$CR_CONF" "$@"; fi
}
# submit USER SBATCH-ARGS...: prints the job id.
submit() {
	local u=$1 id
	shift
	id=$(as "$u" sbatch --parsable "$@") || fail "sbatch $* as $u"
	id=${id%%;*}
	jobs_started+=("$id")
	echo "$id"
}
job_field() { scontrol -o show job "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
job_done() {
	local s
	s=$(job_field "$1" JobState)
	case $s in COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | PREEMPTED) return 0 ;; esac
	return 1
}
job_running() { [ "$(job_field "$1" JobState)" = RUNNING ]; }
wait_done() { until_ok "${2:-60}" "job $1 to end" job_done "$1"; }
has_line() { [ -f "$1" ] && grep -q -- "$2" "$1"; }

cat >stubborn.sh <<'EOS'
#!/bin/bash
sleep 31337 &
setsid sleep 31338 &
bash -c 'trap "" TERM; exec sleep 31339' &
nohup bash -c 'trap "" TERM HUP INT; while :; do sleep 0.2; done; : 31340' >/dev/null 2>&1 &
echo started
wait
EOS
cat >hold.sh <<'EOS'
#!/bin/bash
echo "host=$(hostname)"
while [ ! -e "$1" ]; do sleep 0.1; done
echo done
exit 7
EOS
chmod 755 ./*.sh
leftovers() { pgrep -f 'sleep 3133[789]|31340' || true; }
kill_wait=$(scontrol show config | sed -n 's/^KillWait *= *\([0-9]*\).*/\1/p')

for u in "$USER_" root; do
	id=$(submit "$u" --checkpoint -w "$NODE1" -o "stub-$u.out" stubborn.sh)
	until_ok 30 "stubborn job to start" has_line "stub-$u.out" started
	none_left() { [ -z "$(leftovers)" ]; }
	until_ok 10 "the children to start" eval '[ "$(leftovers | wc -l)" -ge 4 ]'
	t0=$(now_ms)
	as "$u" scancel "$id"
	until_ok $((kill_wait + 5)) "job $id's processes to go (left: $(leftovers | paste -sd' '))" none_left
	ms=$(($(now_ms) - t0))
	((ms <= (kill_wait + 1) * 1000)) || fail "$u: processes survived ${ms} ms (KillWait=${kill_wait}s)"
	wait_done "$id"
	[ "$(job_field "$id" JobState)" = CANCELLED ] || fail "$u: state $(job_field "$id" JobState)"
	ok "$u: scancel left nothing behind (${ms} ms, KillWait ${kill_wait}s)"
done

# crd restarted under a running job: the job runs on, is re-adopted, ends normally.
rm -f go
id=$(submit "$USER_" --checkpoint -w "$NODE1" -o hold.out hold.sh "$WORK/go")
until_ok 30 "job to start" has_line hold.out "host=job$id-slot0"
"$CLUSTER" restart-crd "$NODE1" >/dev/null
job_running "$id" || fail "job $id stopped with crd: $(job_field "$id" JobState)"
crctl show "$id" | grep -q "State=running" || fail "crd did not re-adopt job $id: $(crctl show "$id" 2>&1)"
grep -q "job $id: re-adopted" "$CR_CLUSTER_DIR/nodes/$NODE1/crd.log" || fail "no re-adoption logged"
touch go
wait_done "$id"
[ "$(job_field "$id" ExitCode)" = 7:0 ] || fail "job $id after crd restart: ExitCode=$(job_field "$id" ExitCode)"
grep -q '^done$' hold.out || fail "job $id output: $(cat hold.out)"
ok "crd restarted under a running job; the job ran on and was re-adopted"

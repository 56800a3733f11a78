# shellcheck shell=bash
# Helpers for tests/cluster/test-*.sh. Source it, then call cluster_begin.
#
#   . "$(dirname "$0")/lib.sh"
#   cluster_begin [up args...]   # lock, fresh cluster, env, cleanup on any exit
#   jid=$(submit_as crtest --wrap 'echo hi')
#   wait_job_done "$jid" 60
#   [ "$(job_field "$jid" ExitCode)" = 0:0 ] || fail "..."
#
# Tests exit 0 (pass), 1 (fail) or 77 (skipped: not root, no Slurm).

CLUSTER_SH=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/cluster.sh
# shellcheck source=tests/lib.sh
. "${CLUSTER_SH%/*}/../lib.sh" # now_ms, wait_for, alive, ...
TEST_NAME=$(basename "$0" .sh)

# session_lock INSTANCE: the lock a cluster test holds on that cluster.
session_lock() {
	case $1 in
	0) echo /run/lock/slurm-cr-cluster.session ;;
	*) echo "/run/lock/slurm-cr-cluster-$1.session" ;;
	esac
}

# Which cluster: CR_CLUSTER_INSTANCE if the user set it; else the one ctest
# gave this test (resource "cluster", whose ids are instances: see
# resource-spec.sh; CTEST_RESOURCE_GROUP_0_CLUSTER=id:I,slots:1); else 0.
if [ -z "${CR_CLUSTER_INSTANCE:-}" ] && [ -n "${CTEST_RESOURCE_GROUP_0_CLUSTER:-}" ]; then
	_id=${CTEST_RESOURCE_GROUP_0_CLUSTER#id:}
	_id=${_id%%,*}
	[[ $_id =~ ^[0-9]+$ ]] || {
		echo "$0: bad ctest resource CTEST_RESOURCE_GROUP_0_CLUSTER=$CTEST_RESOURCE_GROUP_0_CLUSTER" >&2
		exit 1
	}
	export CR_CLUSTER_INSTANCE=$_id
	unset _id
fi
SESSION_LOCK=$(session_lock "${CR_CLUSTER_INSTANCE:-0}")

log() { echo "[$TEST_NAME $(date +%T)] $*"; }
fail() {
	echo "[$TEST_NAME] FAIL: $*" >&2
	exit 1
}
skip() {
	echo "[$TEST_NAME] SKIP: $*"
	exit 77
}

# wait_until SECONDS WHAT CMD...: poll CMD every 0.1 s until it succeeds
# (wait_for); fail the test at the deadline.
wait_until() {
	local secs=$1 what=$2 WAIT_POLL=0.1
	shift 2
	wait_for "$secs" "$@" || fail "timed out after ${secs}s waiting for $what"
}

_cluster_end() {
	local rc=$?
	trap - EXIT INT TERM
	if ((rc != 0 && rc != 77)); then
		echo "[$TEST_NAME] failed (rc=$rc); cluster state and logs:" >&2
		"$CLUSTER_SH" status >&2 || true
		"$CLUSTER_SH" logs 30 >&2 || true
	fi
	if [ -z "${CR_CLUSTER_REUSE:-}" ]; then
		"$CLUSTER_SH" down || true
	fi
	exit "$rc"
}

# cluster_begin [up args...]: one test at a time on this cluster (a lock held
# until this test process ends, however it ends), a fresh cluster, its env,
# and 'down' on exit. CR_CLUSTER_REUSE=1: use the running cluster, keep it.
# Under ctest, the instance is added to the file $CR_CLUSTER_INSTANCES_USED
# (for cluster-cleanup).
cluster_begin() {
	[ "$(id -u)" = 0 ] || skip "needs root"
	command -v slurmctld >/dev/null || skip "Slurm is not installed (scripts/install-deps.sh)"
	mkdir -p "${SESSION_LOCK%/*}"
	exec {CLUSTER_LOCK_FD}>"$SESSION_LOCK"
	if ! flock -n "$CLUSTER_LOCK_FD"; then
		log "waiting for $SESSION_LOCK (another test runs on cluster ${CR_CLUSTER_INSTANCE:-0})"
		flock -w 1200 "$CLUSTER_LOCK_FD" || fail "another cluster test holds $SESSION_LOCK"
	fi
	log "on cluster instance ${CR_CLUSTER_INSTANCE:-0}"
	if [ -z "${CR_CLUSTER_REUSE:-}" ] && [ -n "${CR_CLUSTER_INSTANCES_USED:-}" ]; then
		echo "${CR_CLUSTER_INSTANCE:-0}" >>"$CR_CLUSTER_INSTANCES_USED"
	fi
	trap _cluster_end EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	if [ -z "${CR_CLUSTER_REUSE:-}" ]; then
		"$CLUSTER_SH" up --replace "$@" || fail "cluster up failed"
	fi
	eval "$("$CLUSTER_SH" env)"
}

# job_field JOBID KEY: one field of `scontrol show job` (empty if unknown).
# Never fails: safe in assignments under set -e.
job_field() {
	{ scontrol -o show job "$1" 2>/dev/null || true; } | tr ' ' '\n' | sed -n "s/^$2=//p" | sed -n 1p
}

node_field() {
	{ scontrol -o show node "$1" 2>/dev/null || true; } | tr ' ' '\n' | sed -n "s/^$2=//p" | sed -n 1p
}

job_state() { job_field "$1" JobState; }

job_is_done() {
	case $(job_state "$1") in
	COMPLETED | FAILED | CANCELLED | TIMEOUT | NODE_FAIL | OUT_OF_MEMORY | BOOT_FAIL | DEADLINE | PREEMPTED) return 0 ;;
	*) return 1 ;;
	esac
}

job_in_state() { [ "$(job_state "$1")" = "$2" ]; }

wait_job_done() { wait_until "${2:-60}" "job $1 to end (state $(job_state "$1"))" job_is_done "$1"; }
wait_job_state() { wait_until "${3:-60}" "job $1 to be $2" job_in_state "$1" "$2"; }

# user_dir USER: a working directory for USER's jobs, on shared storage.
user_dir() {
	local d=$CR_CLUSTER_WORK/$1
	mkdir -p "$d"
	chown "$1:" "$d"
	echo "$d"
}

# run_as USER CMD...: CMD as USER in user_dir USER, with the cluster's env.
run_as() {
	local u=$1 d
	shift
	d=$(user_dir "$u")
	if [ "$u" = root ]; then
		(cd "$d" && "$@")
	else
		(cd "$d" && runuser -u "$u" -- env SLURM_CONF="$SLURM_CONF" PATH="$PATH" \
			CR_CONF="$CR_CONF" HOME="$(getent passwd "$u" | cut -d: -f6)" "$@")
	fi
}

# submit_as USER SBATCH-ARGS...: prints the job id; fails the test if sbatch does.
submit_as() {
	local u=$1 out
	shift
	out=$(run_as "$u" sbatch --parsable "$@") || fail "sbatch as $u failed: sbatch $*"
	echo "${out%%;*}"
}

# Shared by the job-container tests: sourced right after cluster_begin.
# shellcheck shell=bash
[ -x "$CR_BUILD_DIR/agent/crd" ] && [ -f "$CR_BUILD_DIR/spank/spank_cr.so" ] ||
	fail "crd and spank_cr.so are not built in $CR_BUILD_DIR"

ok() { log "ok: $*"; }
jobs_started=()
on_exit=()
_container_end() {
	local rc=$? f
	set +e
	((${#jobs_started[@]})) && scancel "${jobs_started[@]}" 2>/dev/null
	for f in "${on_exit[@]}"; do eval "$f" || true; done
	(exit $rc)
	_cluster_end
}
trap _container_end EXIT
NODE1=${CR_CLUSTER_NODES%% *}
USER_=$CR_CLUSTER_USER
WORK=$(mktemp -d "$CR_CLUSTER_WORK/container.XXXXXX")
chmod 1777 "$WORK"
cd "$WORK"

# as USER CMD...: run CMD as USER (root or the test user) with the cluster's env.
as() {
	local u=$1
	shift
	if [ "$u" = root ]; then
		"$@"
	else
		runuser -u "$u" -- env "PATH=$PATH" "SLURM_CONF=$SLURM_CONF" "CR_CONF=$CR_CONF" "$@"
	fi
}
# submit USER SBATCH-ARGS...: prints the job id; the job is cancelled on exit.
submit() {
	local u=$1 id
	shift
	id=$(as "$u" sbatch --parsable "$@") || fail "sbatch $* as $u"
	id=${id%%;*}
	jobs_started+=("$id")
	echo "$id"
}
job_running() { job_in_state "$1" RUNNING; }
wait_done() { wait_job_done "$1" "${2:-60}"; }
has_line() { [ -f "$1" ] && grep -q -- "$2" "$1"; }


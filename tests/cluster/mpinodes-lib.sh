# Shared by the MPI-across-nodes tests (test-mpi-nodes.sh, test-mpich-nodes.sh):
# sourced after ckpt-lib.sh, with $WORKLOAD (a script in workloads/ taking
# DIR ITERATIONS) installed in $WORK and $ITERS set.
# shellcheck shell=bash

# nodesjob NAME SBATCH-ARGS...: the workload on 2 nodes, one rank each, as the test user; its id.
nodesjob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N2 --ntasks-per-node=1 -w "$NODE1,$NODE2" "$@" \
		"$WORK/$WORKLOAD" "$WORK/$name" "$ITERS"
}

# ended_ok JOBID NAME: the job ended, exit 0.
ended_ok() {
	WAIT_POLL=0.2 wait_for 180 job_is_done "$1" ||
		fail "job $1 did not end: $(scontrol -o show job "$1" | grep -o 'JobState=[^ ]* Reason=[^ ]*'); nodes: $(sinfo -h -N -o '%N %T' | paste -sd' ')"
	[ "$(job_field "$1" ExitCode)" = 0:0 ] ||
		fail "job $1 ended with $(job_field "$1" ExitCode): $(tail -5 "$WORK/$2.out")"
	# the workload ended an MPI library's hang in MPI_Finalize (workloads/mpichnodes.sh)
	if [ -e "$WORK/$2/finalize-hang" ]; then
		log "job $1: $(tail -1 "$WORK/$2/finalize-hang")"
		rm -f "$WORK/$2/finalize-hang"
	fi
}

# in_job_cgroups JOBID: every process of the test user on this cluster's
# nodes is in the job's freezer and cpuset cgroups (a launcher's daemon included).
in_job_cgroups() {
	local pid line
	for pid in $(pgrep -u "$USER_"); do
		grep -q "^0::/slurm-cr-cluster-${CR_CLUSTER_INSTANCE:-0}/" "/proc/$pid/cgroup" 2>/dev/null || continue
		while read -r line; do
			case $line in
			*:freezer:*/job_"$1"/* | *:cpuset:*/job_"$1"/*) ;;
			*) fail "pid $pid ($(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | cut -c1-60)) is not in job $1's cgroups: $line" ;;
			esac
		done < <(grep -E '^[0-9]+:(freezer|cpuset):' "/proc/$pid/cgroup" 2>/dev/null || true)
	done
}

# joined JOBID: the job's containers on both nodes have joined its cgroups.
joined() {
	[ "$(cat "$CR_CLUSTER_DIR"/nodes/*/crd.log 2>/dev/null |
		grep -c "job $1: container in the extern step's cgroups")" -ge 2 ]
}

# across_nodes WHAT [DURING]: a plain run (the reference); the same job
# checkpointable, uninterrupted; checkpointed mid-run (DURING, a command,
# runs just before the checkpoint); its crctl restart. Each ends as the plain
# run, byte-identical, started once; WHAT names the launcher's daemons.
across_nodes() {
	local what=$1 during=${2:-true} ref id out new
	ref=$(nodesjob ref)
	ended_ok "$ref" ref
	grep -q "^iter $((ITERS - 1)) " "$WORK/ref.out" || fail "the plain run did not finish: $(tail -3 "$WORK/ref.out")"

	id=$(nodesjob run --checkpoint=0)
	ended_ok "$id" run
	same_as_ref run ref
	crd_log_has "job $id: cr-rsh: started" || fail "no $what was started through cr-rsh"
	ok "across 2 nodes through cr-rsh ($what) ended as the plain run"

	id=$(nodesjob ck --checkpoint=0)
	wait_output ck "^iter 20 "
	wait_until 30 "job $id's containers to join its cgroups" joined "$id"
	in_job_cgroups "$id"
	$during
	out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
	log "$out"
	grep -q "checkpoint 1 committed" <<<"$out" || fail "checkpoint create said: $out"
	ended_ok "$id" ck
	same_as_ref ck ref
	grep -q "job $id: slot 1 frozen ([1-9][0-9]* tasks)" "$CR_CLUSTER_DIR"/nodes/*/crd.log ||
		fail "the second node's slot was not checkpointed with its tasks"
	ok "checkpointed mid-run across 2 nodes, ran on and ended as the plain run"

	# Its restart: both slots rebuilt from checkpoint 1, the second below a restored slot root.
	out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
	log "$out"
	new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
	[ -n "$new" ] || fail "crctl restart said: $out"
	grep -q "from checkpoint 1" <<<"$out" || fail "crctl restart did not take checkpoint 1: $out"
	jobs_started+=("$new")
	ended_ok "$new" ck
	same_as_ref ck ref
	grep -q "job $new: slot 1 rebuilt from checkpoint 1" "$CR_CLUSTER_DIR"/nodes/*/crd.log ||
		fail "the second node's slot was not rebuilt from checkpoint 1"
	ok "crctl restart of checkpoint 1 across 2 nodes ended as the plain run"
}

# Shared by the checkpoint tests: sourced after container-lib.sh.
# shellcheck shell=bash
# Every job runs workloads/ckjob.sh, once uninterrupted (the reference) and
# once checkpointed, killed, requeued or restarted; their stdout/stderr files
# and data files must be equal byte for byte, and a resumed job must not
# have started again from the top (one line in its start log).
install -m 0755 "$HERE/workloads/ckjob.sh" "$WORK/ckjob.sh"

# ckjob NAME SBATCH-ARGS...: the workload as the test user (or $CKJOB_USER), in
# $WORK/NAME; prints the job id.
ckjob() {
	local name=$1 u=${CKJOB_USER:-$USER_}
	shift
	mkdir -p "$WORK/$name"
	chown "$u:" "$WORK/$name"
	submit "$u" -o "$WORK/$name.out" "$@" "$WORK/ckjob.sh" "$WORK/$name" "${STEPS:-50}"
}

# ckpt_dir JOBID [USER]: where the job's checkpoints are, <CheckpointDir>/<user>/<jobid>
# (USER: the test user by default).
ckpt_dir() { echo "$CR_CKPT_DIR/${2:-$USER_}/$1"; }

# wait_output NAME PATTERN [SECS]: the job has written a line matching PATTERN.
wait_output() { wait_until "${3:-60}" "$1 to print $2" has_line "$WORK/$1.out" "$2"; }

# same_as_ref NAME REF: NAME's output and data file (if REF has one) equal
# REF's, and it started once.
same_as_ref() {
	local name=$1 ref=$2 n
	cmp -s "$WORK/$ref.out" "$WORK/$name.out" ||
		fail "$name: output differs from the uninterrupted run:
$(diff "$WORK/$ref.out" "$WORK/$name.out" | head -20)"
	[ ! -e "$WORK/$ref/data" ] || cmp -s "$WORK/$ref/data" "$WORK/$name/data" ||
		fail "$name: data file differs from the uninterrupted run:
$(diff "$WORK/$ref/data" "$WORK/$name/data" | head -20)"
	n=$(wc -l <"$WORK/$name/starts")
	[ "$n" = 1 ] || fail "$name: started $n times from the top: $(cat "$WORK/$name/starts")"
}

# moved_from JOBID NODE: the job runs again, on a node other than NODE (a
# requeued job shows no BatchHost until it starts).
# runs_without JOBID NODE: requeued (Restarts >= 1), running, NODE not in its node list.
runs_without() {
	[ "$(job_state "$1")" = RUNNING ] && [ "$(job_field "$1" Restarts)" -ge 1 ] &&
		! scontrol show hostnames "$(job_field "$1" NodeList)" | grep -qx -- "$2"
}
moved_from() {
	local h
	h=$(job_field "$1" BatchHost)
	[ "$(job_state "$1")" = RUNNING ] && [ -n "$h" ] && [ "$h" != "$2" ]
}

# crctl_as USER ARGS...: crctl with the cluster's env; its output on stdout.
crctl_as() {
	local u=$1
	shift
	as "$u" crctl "$@"
}

# last_seq JOBID: the newest committed checkpoint of the job (empty if none).
last_seq() {
	{ crctl_as root list "$1" --json 2>/dev/null || echo '[]'; } |
		python3 -c 'import json,sys; a=[e["seq"] for e in json.load(sys.stdin) if e.get("verified")]; print(max(a) if a else "")'
}

# crd_log_has PATTERN: some node's crd log has a line matching PATTERN.
crd_log_has() { grep -q -- "$1" "$CR_CLUSTER_DIR"/nodes/*/crd.log 2>/dev/null; }
# event_ckpt_secs JOBID WHAT: seconds from the crd log line "job JOBID: WHAT"
# (an event seen) to the job's next "checkpoint N committed" (a figure for
# the log, not a check).
event_ckpt_secs() {
	grep -h -- "job $1: " "$CR_CLUSTER_DIR"/nodes/*/crd.log 2>/dev/null | sort |
		awk -v what="job $1: $2" -v done="job $1: checkpoint [0-9]+ committed" '
		function secs(t) { split(substr(t, 12, 12), a, ":"); return a[1] * 3600 + a[2] * 60 + a[3] }
		index($0, what) && !t0 { t0 = secs($1) }
		t0 && $0 ~ done { printf "%.2f", secs($1) - t0; exit }'
}

# After a failed restore (issue 10): the job is requeued held, with the reason.
job_held() { [ "$(job_state "$1")" = PENDING ] && [ "$(job_field "$1" Reason)" = job_requeued_in_held_state ]; }
held_or_done() { job_held "$1" || job_is_done "$1"; }
# wait_held JOBID [SECS]: fails at once when the job ended instead (FAILED, or rerun and done).
wait_held() {
	wait_until "${2:-120}" "job $1 to be held" held_or_done "$1"
	job_held "$1" || fail "job $1 is $(job_state "$1") ($(job_field "$1" Reason)), not held"
}
# admin_comment JOBID: the job's whole AdminComment.
admin_comment() { scontrol show job "$1" 2>/dev/null | sed -n 's/^ *AdminComment=//p'; }
# starts NAME: how many times the job started from the top.
starts() { wc -l <"$WORK/$1/starts"; }
# not_drained NODE: a failed restore is no node failure.
not_drained() {
	case $(node_field "$1" State) in
	*DRAIN* | *DOWN* | *FAIL*) fail "node $1 is $(node_field "$1" State) after a failed restore" ;;
	esac
}
# restored_count JOBID: how many restores of the job crd logged as done.
restored_count() { cat "$CR_CLUSTER_DIR"/nodes/*/crd.log 2>/dev/null | grep -c "job $1: restored checkpoint" || true; }
# release_late JOBID: `scontrol release`, but not before (wait_late) 5 s past the job's
# EligibleTime (its requeue + cred_expire + 1). A job started again on the
# same node sooner was seen to get no prolog (slurmd still had its previous
# credential), hence no container: a flake of the test cluster, not crd's.
wait_late() {
	local t
	t=$(date -d "$(job_field "$1" EligibleTime)" +%s 2>/dev/null) || t=0
	while (($(date +%s) < t + 5)); do sleep 0.5; done
}
release_late() {
	wait_late "$1"
	scontrol release "$1"
}
# requeue_late JOBID: `scontrol requeue` of a job that ran recently, its new
# start held until release_late allows it.
requeue_late() {
	scontrol requeuehold "$1"
	wait_until 60 "job $1 to be requeued held" job_held "$1"
	release_late "$1"
}

has_ckpt() { [ -n "$(last_seq "$1")" ]; }

# lose_node_after_ckpt JOBID [NODE]: once the job has a periodic checkpoint, no
# newer one (checkpoints disabled), NODE (default: its batch host) killed
# (revived at exit); waits until it runs again, requeued, without NODE. Sets $seq (the checkpoint it must
# resume from) and $node (the killed one).
lose_node_after_ckpt() {
	local id=$1
	wait_job_state "$id" RUNNING 60
	node=${2:-$(job_field "$id" BatchHost)}
	wait_until 60 "a periodic checkpoint of job $id" has_ckpt "$id"
	crctl_as "$USER_" disable "$id" >/dev/null
	seq=$(last_seq "$id")
	log "job $id on $node, checkpoint $seq committed; killing $node"
	"$CLUSTER_SH" kill-node "$node"
	on_exit+=("'$CLUSTER_SH' revive-node '$node'")
	wait_until 240 "job $id to run on other nodes" runs_without "$id" "$node"
	log "job $id requeued onto $(job_field "$id" NodeList)"
}

# resumed_ok JOBID SEQ: the requeued job ended well, restored from checkpoint SEQ.
resumed_ok() {
	[ "$(job_field "$1" ExitCode)" = 0:0 ] || fail "job $1 ended with $(job_field "$1" ExitCode)"
	[ "$(job_field "$1" Restarts)" -ge 1 ] || fail "job $1: Restarts=$(job_field "$1" Restarts)"
	crd_log_has "job $1: restored checkpoint $2 of job $1" ||
		fail "no crd says it restored checkpoint $2 of job $1"
}

# create_run_on_restart CK ID REF REFID: `scontrol checkpoint create` of
# job ID (output CK) once it printed "iter 10": it runs on and ends as the
# uninterrupted job REFID (output REF); then `crctl restart` of that
# checkpoint ends as REF too.
create_run_on_restart() {
	local ck=$1 id=$2 ref=$3 refid=$4 out new
	wait_output "$ck" "^iter 10 "
	out=$(as "$USER_" scontrol checkpoint create "$id") || fail "$ck: checkpoint create: $out"
	log "$out"
	grep -q "checkpoint 1 committed" <<<"$out" || fail "$ck: checkpoint create said: $out"
	wait_done "$refid" 120
	wait_done "$id" 120
	[ "$(job_field "$refid" ExitCode)" = 0:0 ] ||
		fail "reference $refid ended with $(job_field "$refid" ExitCode)"
	[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
	same_as_ref "$ck" "$ref"
	ok "$ck: checkpointed job ran on and ended as the uninterrupted run"
	out=$(crctl_as "$USER_" restart "$id") || fail "$ck: crctl restart: $out"
	log "$out"
	new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
	[ -n "$new" ] || fail "$ck: crctl restart said: $out"
	jobs_started+=("$new")
	wait_done "$new" 120
	[ "$(job_field "$new" ExitCode)" = 0:0 ] ||
		fail "restarted job $new ended with $(job_field "$new" ExitCode)"
	same_as_ref "$ck" "$ref"
	ok "$ck: crctl restart of checkpoint 1 ended as the uninterrupted run"
}

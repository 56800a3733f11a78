#!/usr/bin/env bash
# The cluster in a box itself: jobs run as the test user and as root with
# exact output and exit codes; kill-node is a crash that Slurm notices (node
# down, job requeued) and revive-node brings the node back; down leaves
# nothing behind.
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

cluster_begin --nodes 3

# --- what a node looks like from inside ------------------------------------

n2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
# shellcheck disable=SC2016 # expanded inside the node
inside=$("$CLUSTER_SH" exec "$n2" env -u SLURM_CONF sh -c '
	hostname
	sed -n "s/^NodeName=//p" /etc/slurm/cr.conf
	scontrol -o show node "$(hostname)" | grep -o "NodeName=[^ ]*"
	touch /dev/shm/cr-cluster-probe && echo shm-private')
want=$(printf '%s\n%s\nNodeName=%s\nshm-private' "$n2" "$n2" "$n2")
[ "$inside" = "$want" ] || fail "inside $n2: got '$inside', want '$want'"
[ ! -e /dev/shm/cr-cluster-probe ] || fail "$n2's /dev/shm is the host's"
log "inside $n2: hostname, /etc/slurm (slurm.conf, cr.conf), private /dev/shm: ok"

# --- plain jobs, as the test user and as root --------------------------------

check_plain_job() {
	local u=$1 d jid out want node
	d=$(user_dir "$u")
	# shellcheck disable=SC2016 # expanded by the job
	jid=$(submit_as "$u" -o "$d/plain.%j" --wrap 'echo "hello from $(hostname) as $(id -un)"; exit 3')
	wait_job_done "$jid" 60
	node=$(job_field "$jid" BatchHost)
	want="hello from $node as $u"
	out=$(cat "$d/plain.$jid")
	[ "$out" = "$want" ] || fail "job $jid ($u): output '$out', want '$want'"
	[ "$(job_field "$jid" ExitCode)" = 3:0 ] || fail "job $jid ($u): ExitCode=$(job_field "$jid" ExitCode), want 3:0"
	[ "$(job_state "$jid")" = FAILED ] || fail "job $jid ($u): state $(job_state "$jid"), want FAILED"
	[ "$(job_field "$jid" UserId)" = "$u($(id -u "$u"))" ] || fail "job $jid: UserId=$(job_field "$jid" UserId)"

	jid=$(submit_as "$u" -o "$d/ok.%j" --wrap 'printf "%s\n" one two')
	wait_job_done "$jid" 60
	[ "$(cat "$d/ok.$jid")" = $'one\ntwo' ] || fail "job $jid ($u): output '$(cat "$d/ok.$jid")'"
	[ "$(job_state "$jid") $(job_field "$jid" ExitCode)" = "COMPLETED 0:0" ] ||
		fail "job $jid ($u): $(job_state "$jid") $(job_field "$jid" ExitCode), want COMPLETED 0:0"
	log "plain jobs as $u: ok (ran on $node)"
}

check_plain_job "$CR_CLUSTER_USER"
check_plain_job root

# --- kill-node: a crash that Slurm notices ----------------------------------

job_started() { [ "$(job_state "$1")" = RUNNING ] && [ -s "$2" ] && [ "$(wc -l <"$2")" -ge 3 ]; }
node_noticed() { case $(node_field "$1" State) in *DOWN* | *NOT_RESPONDING*) return 0 ;; esac; return 1; }
job_requeued() { [ "$(job_field "$1" Restarts)" -ge 1 ]; }
job_runs_elsewhere() { job_in_state "$1" RUNNING && [ "$(job_field "$1" BatchHost)" != "$2" ]; }
node_back() { case $(node_field "$1" State) in IDLE | MIXED | ALLOCATED) return 0 ;; esac; return 1; }

d=$(user_dir "$CR_CLUSTER_USER")
pids=$d/long.pids
rm -f "$pids"
jid=$(submit_as "$CR_CLUSTER_USER" -o "$d/long.%j" --wrap "
	echo \$\$ >>$pids
	setsid sleep 1000 & echo \$! >>$pids
	sleep 1000 & echo \$! >>$pids
	wait")
wait_until 60 "job $jid to start its processes" job_started "$jid" "$pids"
node=$(job_field "$jid" BatchHost)
mapfile -t victims <"$pids"
for p in "${victims[@]}"; do alive "$p" || fail "job process $p is not running before the crash"; done
log "job $jid runs on $node (pids ${victims[*]})"

# pin FILE...: hold FILEs (namespaces of /proc/PID/ns) open in this shell, so
# their ids are not given to new namespaces when the last process in them
# dies (a freed id is reused at once, and zdtm tests and the other cluster
# instances make namespaces all the time); PINNED += their ids (net:[N] ...).
# The test's children inherit the fds; none of them lives on.
PINNED=()
pin() {
	local f fd
	for f in "$@"; do
		exec {fd}<"$f"
		PINNED+=("$(readlink "/proc/$$/fd/$fd")")
	done
}

# With crd and spank_cr.so: a --checkpoint job's container on the same node
# (its own pid namespace) must die too, and so must crd.
pidns_procs() {
	{ find /proc/[0-9]*/ns -maxdepth 1 -name pid -printf '%l %h\n' 2>/dev/null || true; } |
		awk -v ns="$1" '$1 == ns { split($2, a, "/"); print a[3] }'
}
cjid='' cns='' crd_pid=''
if [ -z "${CR_CLUSTER_NO_CRD:-}${CR_CLUSTER_NO_SPANK:-}" ] && [ -x "$CR_BUILD_DIR/agent/crd" ] &&
	[ -f "$CR_BUILD_DIR/spank/spank_cr.so" ]; then
	crd_pid=$(cat "$CR_CLUSTER_DIR/nodes/$node/crd.pid")
	alive "$crd_pid" || fail "crd is not running on $node"
	rm -f "$d/cont.ns"
	cjid=$(submit_as "$CR_CLUSTER_USER" --checkpoint=0 -w "$node" -o "$d/cont.%j" --wrap "
		setsid sleep 1000 & sleep 1000 &
		readlink /proc/self/ns/pid >$d/cont.ns
		wait")
	wait_until 60 "container job $cjid to start" test -s "$d/cont.ns"
	cns=$(cat "$d/cont.ns")
	[ "$cns" != "$(readlink /proc/self/ns/pid)" ] || fail "--checkpoint job $cjid is not in its own pid namespace"
	n=$(pidns_procs "$cns" | wc -l)
	((n >= 3)) || fail "container of job $cjid: $n processes, want at least 3"
	# Still $cns after kill-node, not another one that got its id.
	pin "/proc/$(pidns_procs "$cns" | sed -n 1p)/ns/pid"
	[ "${PINNED[-1]}" = "$cns" ] || fail "container of job $cjid: pinned ${PINNED[-1]}, want $cns"
	log "container job $cjid on $node: $n processes in $cns; crd $crd_pid"
fi

log "crashing $node"
t0=$(now_ms)
"$CLUSTER_SH" kill-node "$node"
for p in "${victims[@]}" $crd_pid; do
	! alive "$p" || fail "process $p ($(cat "/proc/$p/comm")) survived kill-node $node"
done
if [ -n "$cns" ]; then
	left=$(pidns_procs "$cns" | while read -r p; do if alive "$p"; then echo "$p"; fi; done)
	[ -z "$left" ] || fail "container processes survived kill-node $node: $left"
fi
left=$(find /sys/fs/cgroup/*/slurm_"$node" "$CR_CLUSTER_CGROUP/$node" \
	-name cgroup.procs -exec cat {} + 2>/dev/null || true)
[ -z "$left" ] || fail "processes left in $node's cgroups: $left"
log "kill-node $node: every process dead in $(($(now_ms) - t0)) ms"

wait_until 60 "slurmctld to notice $node is gone" node_noticed "$node"
log "slurmctld: $node $(node_field "$node" State) after $(($(now_ms) - t0)) ms"
wait_until 60 "job $jid to be requeued" job_requeued "$jid"
log "job $jid requeued: $(job_state "$jid") after $(($(now_ms) - t0)) ms"
wait_until 60 "job $jid to run again on another node" job_runs_elsewhere "$jid" "$node"
log "job $jid runs again on $(job_field "$jid" BatchHost) after $(($(now_ms) - t0)) ms"

t0=$(now_ms)
"$CLUSTER_SH" revive-node "$node"
wait_until 60 "$node to return to service" node_back "$node"
log "revive-node $node: $(node_field "$node" State) after $(($(now_ms) - t0)) ms"
scancel "$jid" ${cjid:+"$cjid"}
wait_job_done "$jid" 30
[ -z "$cjid" ] || wait_job_done "$cjid" 60

# --- down leaves nothing behind ---------------------------------------------

# Processes of this cluster: its daemons carry CR_CLUSTER_DAEMON=<dir> in
# their environment; everything a node runs is in that node's namespaces
# (its holder's, pinned before 'down': a process in them is ours, never a
# zdtm test's or another cluster's that was given a freed id).
node_namespaces=()
cluster_procs() {
	local p
	for p in /proc/[0-9]*; do
		grep -q '^State:[[:space:]]*Z' "$p/status" 2>/dev/null && continue
		if grep -qzxF "CR_CLUSTER_DAEMON=$CR_CLUSTER_DIR" "$p/environ" 2>/dev/null; then
			echo "${p#/proc/}:$(cat "$p/comm" 2>/dev/null)"
			continue
		fi
		case " ${node_namespaces[*]} " in
		*" $(readlink "$p/ns/mnt" 2>/dev/null) "* | *" $(readlink "$p/ns/net" 2>/dev/null) "*)
			echo "${p#/proc/}:$(cat "$p/comm" 2>/dev/null)" ;;
		esac
	done
}

node_addr_re() { echo '10\.231\.[01]\.[0-9]+'; }

leftovers() {
	local what=() procs
	procs=$(cluster_procs | paste -sd,)
	[ -z "$procs" ] || what+=("processes: $procs")
	ip netns list | grep -q "^${CR_CLUSTER_NODE_PREFIX}[0-9]" && what+=("netns: $(ip netns list | paste -sd,)")
	ip -o link show | grep -qE ": ($CR_CLUSTER_BRIDGE|crv-${CR_CLUSTER_NODE_PREFIX}[0-9]+)[@:]" && what+=("links")
	[ -e "$CR_CLUSTER_CGROUP" ] && what+=("cgroup2 tree $CR_CLUSTER_CGROUP")
	compgen -G "/sys/fs/cgroup/*/slurm_${CR_CLUSTER_NODE_PREFIX}[0-9]*" >/dev/null &&
		what+=("v1 cgroups: $(echo /sys/fs/cgroup/*/slurm_"${CR_CLUSTER_NODE_PREFIX}"[0-9]*)")
	grep -qE "^$(node_addr_re) ${CR_CLUSTER_NODE_PREFIX}[0-9]+\$" /etc/hosts && what+=("/etc/hosts lines")
	awk -v d="$CR_CLUSTER_DIR" '$5 == d || index($5, d "/") == 1 { found = 1 } END { exit !found }' \
		/proc/self/mountinfo && what+=("mounts")
	[ -e "$CR_CLUSTER_DIR" ] && what+=("$CR_CLUSTER_DIR")
	[ ${#what[@]} -eq 0 ] || { echo "${what[*]}"; return 1; }
}

if [ -z "${CR_CLUSTER_REUSE:-}" ]; then
	PINNED=()
	for nd in $CR_CLUSTER_NODES; do
		h=$(cat "$CR_CLUSTER_DIR/nodes/$nd/holder.pid")
		pin "/proc/$h/ns/net" "/proc/$h/ns/mnt" "/proc/$h/ns/uts"
	done
	node_namespaces=("${PINNED[@]}")
	[ "$(printf '%s\n' "${node_namespaces[@]}" | sort)" = "$(sort "$CR_CLUSTER_DIR"/nodes/*/ns)" ] ||
		fail "pinned namespaces ${node_namespaces[*]} are not the recorded ones: $(cat "$CR_CLUSTER_DIR"/nodes/*/ns)"
	[ -n "$(cluster_procs)" ] || fail "cluster_procs finds nothing before down"
	t0=$(now_ms)
	"$CLUSTER_SH" down
	left=$(leftovers) || fail "down left: $left"
	log "down: nothing left after $(($(now_ms) - t0)) ms"
	"$CLUSTER_SH" down # idempotent
fi
log PASS

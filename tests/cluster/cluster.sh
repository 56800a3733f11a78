#!/usr/bin/env bash
# cluster.sh — a real Slurm cluster on this one machine, for slurm-cr's tests.
#
# munge and slurmctld run in the root network namespace on a private bridge;
# every node is a holder process owning its own network (veth on the bridge),
# uts and mount namespaces, in which its slurmd (and crd, when built) run.
# Each node's processes live in one cgroup2 cgroup, so `kill-node` is a crash.
# See `cluster.sh --help` and docs/slurm-setup.md.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SRCDIR=$(cd "$HERE/../.." && pwd)

# Instances 0..5 share nothing: bridge, a /25 of 10.231.0.0/22, node names,
# slurmctld port, cgroups, locks, state dir. CI's test runs use 0 and 1
# (scripts/test.sh: CR_CI_INSTANCES); 2 to 5 are free for developers.
INSTANCE=${CR_CLUSTER_INSTANCE:-0}
case $INSTANCE in
0) SFX='' NODE_PREFIX=node ;;
[1-5]) SFX=-$INSTANCE NODE_PREFIX=c${INSTANCE}node ;;
*) echo "${0##*/}: CR_CLUSTER_INSTANCE must be one of 0 to 5" >&2; exit 1 ;;
esac
DIR=${CR_CLUSTER_DIR:-/var/lib/slurm-cr-cluster$SFX}
BUILD=${CR_BUILD_DIR:-$SRCDIR/build}
SPANK_SO=${CR_SPANK_SO:-$BUILD/spank/spank_cr.so}
CRD_BIN=${CR_CRD_BIN:-$BUILD/agent/crd}
SHIM_DIR=${CR_SHIM_DIR:-$BUILD/scripts/shim}
TEST_USER=${CR_CLUSTER_USER:-crtest}
CLUSTER_NAME=crbox

BRIDGE=crbr$INSTANCE
# 10.231.0.0/22 is ours alone; instance I has 10.231.(I/2).(128*(I%2))/25
NET=10.231.$((INSTANCE / 2))
PREFIXLEN=25
CTL_ADDR=$NET.$((128 * (INSTANCE % 2) + 1))
NODE_ADDR_BASE=$((128 * (INSTANCE % 2) + 10))	# nodeK gets $NET.(base+K)
# not 6817: a site's or a developer's slurmctld may have it. slurmctld is
# the only daemon in the root network namespace, so the only port per instance.
CTLD_PORT=${CR_CLUSTER_CTLD_PORT:-$((6880 + INSTANCE))}
SLURMD_PORT_BASE=6900		# nodeK's slurmd listens on 6900+K, in nodeK's netns
CRD_PORT=${CR_CRD_PORT:-7070}	# same on every node (each its own netns), as on a real cluster
CG2=/sys/fs/cgroup/unified/slurm-cr-cluster$SFX
CG1=/sys/fs/cgroup		# v1 hierarchies: $CG1/<controller>
HOSTS_BEGIN="# BEGIN slurm-cr-cluster$SFX, written by tests/cluster/cluster.sh"
HOSTS_END="# END slurm-cr-cluster$SFX"
LOCK=/run/lock/slurm-cr-cluster$SFX.lock
SESSION_LOCK=/run/lock/slurm-cr-cluster$SFX.session	# held by a running cluster test (lib.sh)
# /etc/hosts and the test users are the only things every instance shares:
# their edits are serialized by this lock.
SHARED_LOCK=/run/lock/slurm-cr-cluster.shared.lock
MARKER=.slurm-cr-cluster
UP_TIMEOUT=${CR_CLUSTER_UP_TIMEOUT:-60}
export SLURM_CONF=$DIR/etc/slurm.conf

usage() {
	cat <<EOF
Usage: $PROG COMMAND [ARGS]

A Slurm cluster on this machine: munge + slurmctld on bridge $BRIDGE ($CTL_ADDR),
one slurmd per node, each node in its own net/uts/mount namespace and cgroup.
Nodes are named ${NODE_PREFIX}1, ${NODE_PREFIX}2, ... (instance $INSTANCE).

Commands:
  up [--nodes N] [--spares M] [--replace]
                     start N nodes (default 3) named ${NODE_PREFIX}1..${NODE_PREFIX}N, then M spare
                     nodes after them; wait until all are idle. Refuses if a
                     cluster is running, unless --replace (then: down first).
  down               stop and remove everything 'up' made (processes, netns,
                     bridge, veths, cgroups, mounts, /etc/hosts lines, state
                     dir); safe after a failed 'up', idempotent
  status             daemons, nodes and their processes
  env                export lines for scripts:  eval "\$($PROG env)"
  kill-node NODE     crash NODE: off the bridge first (peers see timeouts, as
                     after a crash), then SIGKILL every process of it at once
                     (slurmd, slurmstepd, jobs, job containers, crd) and
                     delete its network namespace (revive-node makes a new one)
  revive-node NODE   start NODE's daemons again; it returns to service
  restart-crd NODE   stop NODE's crd (SIGTERM) and start it again
  exec NODE CMD...   run CMD inside NODE's namespaces and cgroup
  logs [LINES]       print the tail of every log (default 40 lines each)
  -h, --help         this text

Environment:
  CR_CLUSTER_DIR     state directory (here $DIR; default
                     /var/lib/slurm-cr-cluster, and -I after it for instance
                     I > 0; never under /tmp: job containers have a private /tmp)
  CR_BUILD_DIR       slurm-cr build dir (default $SRCDIR/build)
  CR_SPANK_SO        spank plugin   (default \$CR_BUILD_DIR/spank/spank_cr.so)
  CR_CRD_BIN         node agent     (default \$CR_BUILD_DIR/agent/crd)
  CR_SHIM_DIR        scontrol shim  (default \$CR_BUILD_DIR/scripts/shim)
  CR_CLUSTER_NO_SPANK=1, CR_CLUSTER_NO_CRD=1   ignore the built plugin/agent
  CR_CLUSTER_USER    non-root test user (default crtest)
  CR_CLUSTER_INSTANCE=I   one of six clusters that share nothing (default 0;
                     this is instance $INSTANCE):
                       I  nodes     bridge  subnet           slurmctld port
                       0  node1..   crbr0   10.231.0.0/25    6880
                       1  c1node1.. crbr1   10.231.0.128/25  6881
                       2  c2node1.. crbr2   10.231.1.0/25    6882
                       3  c3node1.. crbr3   10.231.1.128/25  6883
                       4  c4node1.. crbr4   10.231.2.0/25    6884
                       5  c5node1.. crbr5   10.231.2.128/25  6885
                     each with its own state dir, cgroups and locks. The test
                     command (scripts/test.sh, CI) runs its cluster tests on
                     0 and 1, two at a time; 2 to 5 are free for developers
                     while it runs. Set it for every command and test run
                     that should use that cluster.
  CR_CLUSTER_CTLD_PORT    slurmctld's port (default 6880 + I)
  CR_CLUSTER_KEEP_LOGS=DIR   'down' copies the logs to DIR first
  CR_CLUSTER_CRD_CONF=LINES  appended to every node's cr.conf at 'up' (a
                     test's own keys, e.g. JobNetwork=100.64.7.0/24)

Every path that crd and spank_cr.so rely on is listed in docs/slurm-setup.md.
EOF
}

# shellcheck source=tests/lib.sh
. "$HERE/../lib.sh" # die, now_ms, wait_for, alive

say() { echo "$PROG: $*" >&2; }

# --- small helpers ---------------------------------------------------------

# wait_or_say SECONDS WHAT CMD...: wait_for (tests/lib.sh), saying so when the
# deadline passed (a condition that sets WAIT_ABORT=1 says why itself).
wait_or_say() {
	local secs=$1 what=$2
	shift 2
	wait_for "$secs" "$@" && return 0
	((WAIT_ABORT)) || say "timed out after ${secs}s waiting for $what"
	return 1
}

pidfile_pid() { [ -r "$1" ] && tr -dc 0-9 <"$1"; }

node_dir() { echo "$DIR/nodes/$1"; }
node_index() { echo "${1#"$NODE_PREFIX"}"; }
node_addr() { echo "$NET.$((NODE_ADDR_BASE + $(node_index "$1")))"; }
node_port() { echo "$((SLURMD_PORT_BASE + $(node_index "$1")))"; }
node_cg() { echo "$CG2/$1"; }

valid_node() {
	[[ $1 =~ ^${NODE_PREFIX}[1-9][0-9]?$ ]] || die "bad node name '$1' (${NODE_PREFIX}1..${NODE_PREFIX}99)"
	[ -d "$(node_dir "$1")" ] || die "$1 is not a node of this cluster"
}

all_nodes() { [ -r "$DIR/nodes.list" ] && cat "$DIR/nodes.list"; true; }

have_crd() { [ -z "${CR_CLUSTER_NO_CRD:-}" ] && [ -x "$CRD_BIN" ]; }
have_spank() { [ -z "${CR_CLUSTER_NO_SPANK:-}" ] && [ -f "$SPANK_SO" ]; }

# spawn CGROUP OUTFILE CMD...: start CMD detached (own session, no inherited
# fds but stdio, stdin from /dev/null) inside cgroup2 CGROUP; prints its pid.
spawn() {
	local cg=$1 out=$2
	shift 2
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		for fd in "/proc/$BASHPID/fd"/*; do
			fd=${fd##*/}
			[ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-"
		done
		export CR_CLUSTER_DAEMON=$DIR # marks every daemon of this cluster
		exec setsid "$@" </dev/null >>"$out" 2>&1
	) &
	echo $!
	disown $!
}

# A cluster test holds SESSION_LOCK for its whole run; commands that change
# the cluster are refused from outside it (we hold it if a test started us).
session_guard() {
	local fd
	for fd in "/proc/$$/fd"/*; do
		[ "$(readlink "$fd")" = "$SESSION_LOCK" ] && return 0
	done
	[ -e "$SESSION_LOCK" ] || return 0
	flock -n "$SESSION_LOCK" true ||
		die "a cluster test is running (it holds $SESSION_LOCK); try again when it has ended"
}

lock() {
	session_guard
	mkdir -p "${LOCK%/*}"
	exec 9>"$LOCK"
	flock -w 300 9 || die "another $PROG holds $LOCK"
}

# --- configuration files ---------------------------------------------------

write_slurm_conf() {
	local nodes=("$@") n host
	host=$(hostname)
	{
		cat <<EOF
# Written by tests/cluster/cluster.sh; explained key by key in docs/slurm-setup.md.
ClusterName=$CLUSTER_NAME
SlurmctldHost=$host($CTL_ADDR)
SlurmctldPort=$CTLD_PORT
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge/run/munge.socket.2,cred_expire=10

StateSaveLocation=$DIR/ctld/state
SlurmctldPidFile=$DIR/ctld/slurmctld.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmctldDebug=info
SlurmdSpoolDir=$DIR/nodes/%n/spool
SlurmdPidFile=$DIR/nodes/%n/slurmd.pid
SlurmdLogFile=$DIR/nodes/%n/slurmd.log
SlurmdDebug=info
TmpFS=$DIR/nodes/%n/tmp
PlugStackConfig=$DIR/etc/plugstack.conf

# Process tracking and containment: every process of a job in its cgroups.
ProctrackType=proctrack/cgroup
TaskPlugin=task/cgroup,task/affinity
JobAcctGatherType=jobacct_gather/cgroup
JobAcctGatherFrequency=30
PrologFlags=Alloc,Contain

# Failures: noticed in seconds, jobs requeued, nodes back by themselves.
JobRequeue=1
ReturnToService=2
SlurmdTimeout=5
MessageTimeout=5
KillWait=5
InactiveLimit=0
MinJobAge=3600
PreemptType=preempt/partition_prio
PreemptMode=REQUEUE
SchedulerType=sched/backfill
SchedulerParameters=bf_interval=1,sched_interval=2
SelectType=select/cons_tres
SelectTypeParameters=CR_Core

AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none

EOF
		for n in "${nodes[@]}"; do
			echo "NodeName=$n NodeAddr=$(node_addr "$n") Port=$(node_port "$n") Sockets=1 CoresPerSocket=2 ThreadsPerCore=1 RealMemory=2048 State=UNKNOWN"
		done
		# Preemption (slurm-cr checkpoints a preempted job in its grace time):
		# jobs of "urgent" preempt those of "debug" and "tight" (requeued; a
		# grace time of 1 s is too short for a checkpoint) and "scavenger"
		# (cancelled); jobs of the same tier never preempt each other.
		echo "PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=60"
		echo "PartitionName=tight Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=REQUEUE GraceTime=1"
		echo "PartitionName=scavenger Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=1 PreemptMode=CANCEL GraceTime=60"
		echo "PartitionName=urgent Nodes=ALL MaxTime=INFINITE State=UP PriorityTier=10 PreemptMode=OFF"
	} >"$DIR/etc/slurm.conf"

	cat >"$DIR/etc/cgroup.conf" <<EOF
CgroupPlugin=cgroup/v1
CgroupAutomount=no
CgroupMountpoint=/sys/fs/cgroup
ConstrainCores=yes
ConstrainRAMSpace=no
ConstrainDevices=no
EOF

	{
		echo "# Written by tests/cluster/cluster.sh"
		if have_spank; then
			# a copy the job users can read, wherever the build lives
			# (a clone under a 0700 home must still work for crtest)
			install -D -m 0755 "$SPANK_SO" "$DIR/lib/spank_cr.so"
			echo "required $DIR/lib/spank_cr.so socket=$DIR/nodes/%n/crd/crd.sock"
		fi
	} >"$DIR/etc/plugstack.conf"
}

# The node agent's configuration (Key=Value, slurm.conf style). Inside the
# node's mount namespace it is also /etc/slurm/cr.conf.
write_cr_conf() {
	local n=$1 d
	d=$(node_dir "$n")
	cat >"$d/etc/cr.conf" <<EOF
# crd on $n, written by tests/cluster/cluster.sh
NodeName=$n
CheckpointDir=$DIR/ckpt
Port=$CRD_PORT
SocketPath=$d/crd/crd.sock
StateDir=$d/crd
LogFile=$d/crd.log
KeyFile=$DIR/etc/cr.key
MaxWait=${CR_CLUSTER_MAXWAIT:-60}
# cr-rsh, a copy every user can run (install_tools)
LaunchAgent=$DIR/libexec/cr-rsh
# tests restart jobs that completed
CompletedJobCheckpoints=keep
# --checkpoint-continue (cluster-continue): a 1-minute limit leaves 50 s of work per allocation
AllowContinue=yes
ContinueLead=10
# a node drained by other means than crctl evacuate (cluster-evacuate)
EvacuateOnDrain=yes
EOF
	# a test's own keys (CR_CLUSTER_CRD_CONF: lines, e.g. "JobNetwork=10.9.0.0/24")
	[ -z "${CR_CLUSTER_CRD_CONF:-}" ] || printf '%s\n' "$CR_CLUSTER_CRD_CONF" >>"$d/etc/cr.conf"
}

# The "login node" view (root namespace): for crctl.
write_login_cr_conf() {
	cat >"$DIR/etc/cr.conf" <<EOF
# crctl on the login node (root namespace), written by tests/cluster/cluster.sh
CheckpointDir=$DIR/ckpt
Port=$CRD_PORT
# sbatch --checkpoint-continue is checked against this
AllowContinue=yes
EOF
}

# --- munge and slurmctld ---------------------------------------------------

munge_sock() { echo "$DIR/munge/run/munge.socket.2"; }

munge_ok() { munge -n -S "$(munge_sock)" 2>/dev/null | unmunge -S "$(munge_sock)" >/dev/null 2>&1; }

start_munge() {
	local m=$DIR/munge
	mkdir -p "$m/etc" "$m/run" "$m/lib" "$m/log"
	chmod 0700 "$m/etc" "$m/lib" "$m/log"
	chmod 0755 "$m" "$m/run"
	if [ ! -s "$m/etc/munge.key" ]; then
		(umask 077 && dd if=/dev/urandom of="$m/etc/munge.key" bs=1024 count=1 status=none)
	fi
	spawn "$CG2/ctl" "$DIR/log/munged.out" munged --force \
		--key-file="$m/etc/munge.key" --socket="$(munge_sock)" \
		--pid-file="$m/run/munged.pid" --seed-file="$m/lib/munged.seed" \
		--log-file="$m/log/munged.log" >/dev/null
	wait_or_say 10 munged munge_ok || die "munged did not start: $(tail -n 5 "$DIR/log/munged.out" "$m/log/munged.log" 2>&1)"
}

start_slurmctld() {
	spawn "$CG2/ctl" "$DIR/log/slurmctld.out" slurmctld -D -f "$DIR/etc/slurm.conf" >"$DIR/ctld/slurmctld.pid"
}

# --- nodes ---------------------------------------------------------------

link_gone() { ! ip link show "$1" >/dev/null 2>&1; }

make_node_net() {
	local n=$1 veth=crv-$1
	# A deleted netns is destroyed asynchronously, its veth with it.
	wait_or_say 10 "old $veth to go" link_gone "$veth"
	ip netns add "$n"
	ip link add "$veth" type veth peer name eth0 netns "$n"
	ip link set "$veth" master "$BRIDGE" up
	ip -n "$n" addr add "$(node_addr "$n")/$PREFIXLEN" dev eth0
	ip -n "$n" link set lo up
	ip -n "$n" link set eth0 up
}

make_node_dirs() {
	local n=$1 d
	d=$(node_dir "$n")
	mkdir -p "$d/spool" "$d/tmp" "$d/etc" "$d/crd"
	chmod 1777 "$d/tmp"
	# Absolute: inside the node the dir is seen as /etc/slurm.
	ln -sf "$DIR/etc/slurm.conf" "$d/etc/slurm.conf"
	ln -sf "$DIR/etc/cgroup.conf" "$d/etc/cgroup.conf"
	ln -sf "$DIR/etc/plugstack.conf" "$d/etc/plugstack.conf"
	write_cr_conf "$n"
	mkdir -p "$(node_cg "$n")"
}

# nsenter into the node's holder: its net, uts and mount namespaces.
node_enter() {
	local n=$1 h
	shift
	h=$(pidfile_pid "$(node_dir "$n")/holder.pid") || true
	alive "$h" || die "$n is down (no holder process)"
	nsenter --target "$h" --net --uts --mount -- "$@"
}

# The holder owns the node's uts and mount namespaces (the netns is pinned by
# /run/netns/NODE). Inside: hostname NODE, a private /dev/shm, and
# /etc/slurm = the node's etc dir (slurm.conf, cgroup.conf, plugstack.conf,
# cr.conf), so everything on the node finds its config at the default paths.
start_holder() {
	local n=$1 d pid
	d=$(node_dir "$n")
	# shellcheck disable=SC2016 # expanded by the inner sh
	pid=$(spawn "$(node_cg "$n")" "$d/holder.out" \
		nsenter --net="/run/netns/$n" \
		unshare --uts --mount --propagation private \
		sh -c 'hostname "$1" && mount -t tmpfs -o mode=1777 tmpfs /dev/shm &&
			mount --bind "$2" /etc/slurm && exec sleep infinity' holder "$n" "$d/etc")
	echo "$pid" >"$d/holder.pid"
	holder_ready() {
		alive "$pid" && [ "$(readlink "/proc/$pid/ns/uts")" != "$(readlink /proc/self/ns/uts)" ] &&
			[ "$(readlink "/proc/$pid/ns/mnt")" != "$(readlink /proc/self/ns/mnt)" ] &&
			[ "$(readlink "/proc/$pid/ns/net")" != "$(readlink /proc/self/ns/net)" ] &&
			[ "$(nsenter --target "$pid" --uts hostname 2>/dev/null)" = "$n" ] &&
			nsenter --target "$pid" --mount test -e /etc/slurm/cr.conf
	}
	wait_or_say 10 "$n holder" holder_ready || die "$n: holder did not start: $(cat "$d/holder.out")"
	# Remember the namespaces, to find stray node processes after a crash.
	local ns
	for ns in net mnt uts; do readlink "/proc/$pid/ns/$ns"; done >"$d/ns"
}

start_slurmd() {
	local n=$1 d h
	d=$(node_dir "$n")
	h=$(pidfile_pid "$d/holder.pid")
	# slurmd -D keeps the pid we start (nsenter execs it); it rewrites the
	# same pid into SlurmdPidFile.
	spawn "$(node_cg "$n")" "$d/slurmd.out" \
		nsenter --target "$h" --net --uts --mount -- \
		slurmd -D -N "$n" -f "$DIR/etc/slurm.conf" >"$d/slurmd.pid"
}

crd_ready() { [ -S "$(node_dir "$1")/crd/crd.sock" ]; }

start_crd() {
	local n=$1 d h pid
	have_crd || return 0
	d=$(node_dir "$n")
	h=$(pidfile_pid "$d/holder.pid")
	rm -f "$d/crd/crd.sock"
	pid=$(spawn "$(node_cg "$n")" "$d/crd.out" \
		nsenter --target "$h" --net --uts --mount -- \
		"$CRD_BIN" -f "$d/etc/cr.conf")
	echo "$pid" >"$d/crd.pid"
}

# start_nodes NODE...: holders and crds, then, once every crd listens, the
# slurmds: as soon as a slurmd registers, slurmctld may start a job there (a
# requeued --checkpoint job waiting for that node), whose prolog needs crd.
start_nodes() {
	local n
	for n in "$@"; do
		mkdir -p "$(node_cg "$n")"
		start_holder "$n"
		start_crd "$n"
	done
	if have_crd; then
		for n in "$@"; do wait_or_say 20 "crd on $n" crd_ready "$n" || return 1; done
	fi
	for n in "$@"; do start_slurmd "$n"; done
}

node_state() { sinfo -h -N -n "$1" -o '%T' 2>/dev/null | head -1; }

# Nodes idle; give up at once if a daemon died.
up_ready() {
	local n p
	p=$(pidfile_pid "$DIR/ctld/slurmctld.pid") || true
	if [ -n "$p" ] && ! alive "$p"; then
		say "slurmctld died: $(tail -n 5 "$DIR/log/slurmctld.out" 2>&1)"
		WAIT_ABORT=1
		return 1
	fi
	for n in "$@"; do
		p=$(pidfile_pid "$(node_dir "$n")/slurmd.pid") || true
		if [ -n "$p" ] && ! alive "$p"; then
			say "slurmd on $n died: $(tail -n 5 "$(node_dir "$n")/slurmd.out" 2>&1)"
			WAIT_ABORT=1
			return 1
		fi
	done
	nodes_idle "$@"
}

node_in_service() {
	case $(node_state "$1") in
	idle | mixed | allocated | completing) return 0 ;;
	*) return 1 ;;
	esac
}

nodes_idle() {
	local n s
	for n in "$@"; do
		s=$(node_state "$n")
		[ "$s" = idle ] || return 1
	done
}

# --- finding and killing a node's processes --------------------------------

# Every process of NODE: its cgroup2 tree, Slurm's v1 cgroups for it
# (every hierarchy, <ctrl>/slurm_NODE/...), anything in its recorded net/mnt/uts
# namespaces, and every descendant of those; never this script itself.
node_pids() {
	local n=$1 d f
	d=$(node_dir "$n")
	{
		if [ -d "$(node_cg "$n")" ]; then
			find "$(node_cg "$n")" -name cgroup.procs -exec cat {} + 2>/dev/null
		fi
		for f in "$CG1"/*/slurm_"$n"; do
			[ -d "$f" ] && find "$f" -name cgroup.procs -exec cat {} + 2>/dev/null
		done
		# Only the network namespace: /run/netns pins it, so its inode
		# cannot be reused by another cluster's namespaces, as the freed
		# inodes of a dead node's mount and uts namespaces can.
		if [ -s "$d/ns" ] && [ -e "/run/netns/$n" ]; then
			find /proc/[0-9]*/ns -maxdepth 1 -name net -printf '%l %h\n' 2>/dev/null |
				awk 'NR == FNR { if ($1 ~ /^net:/) want[$1] = 1; next }
				     ($1 in want) { split($2, a, "/"); print a[3] }' "$d/ns" -
		fi
		true
	} | closure
}

# stdin: pids; stdout: those and all their descendants that are alive
# (zombies are dead), minus this script and its ancestors.
closure() {
	{
		cat
		echo --
		cat /proc/[0-9]*/stat 2>/dev/null || true
	} | awk -v self="$BASHPID" '
		!stats && $0 == "--" { stats = 1; next }
		!stats { if ($1 != "") seed[$1] = 1; next }
		{
			pid = $1; s = $0; sub(/.*\) /, "", s); split(s, f, " ")
			state[pid] = f[1]; ppid[pid] = f[2]
		}
		END {
			for (p = self; p > 1 && (p in ppid); p = ppid[p]) mine[p] = 1
			do {
				changed = 0
				for (p in ppid)
					if (!(p in seed) && (ppid[p] in seed)) { seed[p] = 1; changed = 1 }
			} while (changed)
			for (p in seed)
				if ((p in state) && state[p] != "Z" && !(p in mine)) print p
		}'
}

v1_freezer_set() { # NODE STATE: every freezer cgroup of the node's slurm tree
	local f
	[ -d "$CG1/freezer/slurm_$1" ] || return 0
	while read -r f; do
		echo "$2" >"$f" 2>/dev/null || true
	done < <(find "$CG1/freezer/slurm_$1" -name freezer.state)
}

rmdir_tree() { [ -d "$1" ] && find "$1" -depth -type d -exec rmdir {} + 2>/dev/null; true; }

# A crash: freeze everything of the node (cgroup2 tree and Slurm's v1 freezer
# tree), SIGKILL it all, thaw so the kills land, repeat until nothing is left.
crash_node() {
	local n=$1 cg pids end
	cg=$(node_cg "$n")
	[ -e "$cg/cgroup.freeze" ] && echo 1 >"$cg/cgroup.freeze"
	[ -e "$CG1/freezer/slurm_$n/freezer.state" ] && echo FROZEN >"$CG1/freezer/slurm_$n/freezer.state" 2>/dev/null
	end=$(($(now_ms) + 15000))
	while :; do
		[ -e "$cg/cgroup.kill" ] && echo 1 >"$cg/cgroup.kill"
		pids=$(node_pids "$n")
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
		[ -e "$cg/cgroup.freeze" ] && echo 0 >"$cg/cgroup.freeze"
		v1_freezer_set "$n" THAWED
		pids=$(node_pids "$n")
		[ -z "$pids" ] && break
		(($(now_ms) < end)) || { say "$n: processes survive: $pids"; return 1; }
		sleep 0.05
	done
	# Slurm's leftover (empty) cgroups of the node, in every v1 hierarchy.
	local f
	for f in "$CG1"/*/slurm_"$n"; do rmdir_tree "$f"; done
	rm -f "$(node_dir "$n")"/{holder,crd,slurmd}.pid
}

# --- subcommands ---------------------------------------------------------

cluster_alive() {
	local p
	p=$(pidfile_pid "$DIR/ctld/slurmctld.pid") || true
	alive "$p" && [ "$(cat "/proc/$p/comm" 2>/dev/null)" = slurmctld ]
}

leftovers() {
	[ -e "$DIR" ] || [ -d "$CG2" ] || ip link show "$BRIDGE" >/dev/null 2>&1 ||
		grep -qF "$HOSTS_BEGIN" /etc/hosts
}

cmd_up() {
	local nnodes=3 spares=0 replace=0
	while [ $# -gt 0 ]; do
		case $1 in
		--nodes) nnodes=${2:?}; shift 2 ;;
		--nodes=*) nnodes=${1#*=}; shift ;;
		--spares) spares=${2:?}; shift 2 ;;
		--spares=*) spares=${1#*=}; shift ;;
		--replace) replace=1; shift ;;
		*) die "up: unknown argument '$1'" ;;
		esac
	done
	[[ $nnodes =~ ^[0-9]+$ && $spares =~ ^[0-9]+$ ]] || die "up: counts must be numbers"
	((nnodes >= 1 && nnodes + spares <= 99)) || die "up: need 1 <= nodes, nodes + spares <= 99"
	case $DIR in /tmp | /tmp/*) die "CR_CLUSTER_DIR must not be under /tmp (job containers have a private /tmp)" ;; esac

	local t0 list=() i
	t0=$(now_ms)
	if cluster_alive; then
		((replace)) || die "a cluster is already up ($DIR); '$PROG down' first, or 'up --replace'"
	fi
	if leftovers; then
		do_down
	fi
	for ((i = 1; i <= nnodes + spares; i++)); do list+=("$NODE_PREFIX$i"); done

	FAILED_AT=
	set -E
	trap '[ -n "$FAILED_AT" ] || FAILED_AT="line $LINENO: $BASH_COMMAND"' ERR
	trap 'rc=$?; if ((rc)); then say "up failed${FAILED_AT:+ at $FAILED_AT}; cleaning up"; do_down; fi' EXIT
	mkdir -p "$DIR"
	touch "$DIR/$MARKER"
	chmod 0755 "$DIR"
	printf '%s\n' "${list[@]}" >"$DIR/nodes.list"
	printf '%s\n' "${list[@]:nnodes}" >"$DIR/spares.list"
	mkdir -p "$DIR/etc" "$DIR/log" "$DIR/ctld/state" "$DIR/ckpt" "$DIR/work"
	chmod 1777 "$DIR/ckpt" "$DIR/work"
	mkdir -p "$CG2/ctl"

	shared ensure_user
	# the manifest MAC key: root's alone, the same on every node
	(umask 077 && head -c 32 /dev/urandom >"$DIR/etc/cr.key")
	mkdir -p /etc/slurm # each node bind-mounts its own etc dir there
	write_slurm_conf "${list[@]}"
	write_login_cr_conf
	install_tools
	shared hosts_add "${list[@]}"

	ip link add "$BRIDGE" type bridge
	ip addr add "$CTL_ADDR/$PREFIXLEN" dev "$BRIDGE"
	ip link set "$BRIDGE" up
	for i in "${list[@]}"; do
		make_node_dirs "$i"
		make_node_net "$i"
	done

	if [ -n "$(ss -Hltn "sport = :$CTLD_PORT" 2>/dev/null)" ]; then
		die "port $CTLD_PORT is in use (another slurmctld?); set CR_CLUSTER_CTLD_PORT"
	fi
	start_munge
	start_slurmctld
	start_nodes "${list[@]}"
	wait_or_say "$UP_TIMEOUT" "all nodes idle" up_ready "${list[@]}" || {
		sinfo -N 2>&1 | sed 's/^/  /' >&2
		false
	}
	trap - EXIT ERR
	say "up: ${#list[@]} nodes idle in $(($(now_ms) - t0)) ms" \
		"(spank: $(have_spank && echo yes || echo no), crd: $(have_crd && echo yes || echo no))"
}

ensure_user() {
	local u
	# the test user, and another one who must not touch its jobs
	for u in "$TEST_USER" "${TEST_USER}2"; do
		if ! id "$u" >/dev/null 2>&1; then
			useradd --create-home --home-dir "/home/$u" --shell /bin/bash "$u"
		fi
	done
}

# shared CMD...: CMD under SHARED_LOCK (in a subshell, which lets it go).
shared() {
	(
		exec 8>"$SHARED_LOCK"
		flock -w 60 8 || die "another $PROG holds $SHARED_LOCK"
		"$@"
	)
}

# Our block, and any line of it left outside (a block torn by an older
# cluster.sh, which edited without SHARED_LOCK, racing with another instance).
hosts_remove() {
	local kept
	kept=$(awk -v b="$HOSTS_BEGIN" -v e="$HOSTS_END" -v net="$NET." -v re="^${NODE_PREFIX}[0-9]+\$" '
		$0 == b { skip = 1 }
		!skip && $0 != e && !(NF == 2 && index($1, net) == 1 && $2 ~ re) { print }
		$0 == e { skip = 0 }' /etc/hosts)
	[ "$kept" != "$(cat /etc/hosts)" ] || return 0
	# Rewritten in place, never renamed over: a rename detaches, in every
	# namespace, the mounts on /etc/hosts (each job container of every
	# instance binds its own hosts file there). A reader (crd copies it for
	# every new container) may see it short for an instant.
	printf '%s\n' "$kept" >/etc/hosts
}

hosts_add() {
	local n
	hosts_remove
	[ -z "$(tail -c 1 /etc/hosts)" ] || echo >>/etc/hosts
	{
		echo "$HOSTS_BEGIN"
		for n in "$@"; do echo "$(node_addr "$n") $n"; done
		echo "$HOSTS_END"
	} >>/etc/hosts
}

do_down() {
	local n nodes=() l p
	# Nodes: the recorded list, plus anything that looks like ours.
	mapfile -t nodes < <({
		all_nodes
		ip -o link show 2>/dev/null | sed -n "s/^[0-9]*: crv-\(${NODE_PREFIX}[0-9]*\)[@:].*/\1/p"
		[ -d "$CG2" ] && find "$CG2" -mindepth 1 -maxdepth 1 -name "$NODE_PREFIX*" -printf '%f\n'
	} | sort -u)
	for n in "${nodes[@]}"; do
		crash_node "$n" || true
	done
	# munged, slurmctld and anything else in our cgroup2 tree.
	if [ -d "$CG2" ]; then
		wait_or_say 10 "cluster processes to die" cg2_empty_after_kill || true
	fi
	for p in "$DIR/ctld/slurmctld.pid:slurmctld" "$DIR/munge/run/munged.pid:munged"; do
		l=$(pidfile_pid "${p%%:*}") || true
		if alive "$l" && [ "$(cat "/proc/$l/comm" 2>/dev/null)" = "${p##*:}" ]; then
			kill -KILL "$l" 2>/dev/null || true
		fi
	done
	rmdir_tree "$CG2"
	for n in "${nodes[@]}"; do
		for l in "$CG1"/*/slurm_"$n"; do rmdir_tree "$l"; done
		ip netns del "$n" 2>/dev/null || true
		ip link del "crv-$n" 2>/dev/null || true
	done
	ip link del "$BRIDGE" 2>/dev/null || true
	shared hosts_remove
	if [ -d "$DIR" ]; then
		{ findmnt -rn -o TARGET | grep -F "$DIR/" || true; } | sort -r |
			while read -r l; do umount -l "$l" || true; done
		if [ -n "${CR_CLUSTER_KEEP_LOGS:-}" ]; then
			mkdir -p "$CR_CLUSTER_KEEP_LOGS"
			(cd "$DIR" && find . \( -name '*.log' -o -name '*.out' -o -name '*.conf' \) -type f \
				-exec cp --parents -t "$CR_CLUSTER_KEEP_LOGS" {} +) || true
		fi
		if [ -e "$DIR/$MARKER" ] || [ -z "$(ls -A "$DIR")" ]; then
			rm -rf --one-file-system "$DIR"
		else
			say "not removing $DIR: no $MARKER in it"
		fi
	fi
}

cg2_empty_after_kill() {
	[ -e "$CG2/cgroup.kill" ] && echo 1 >"$CG2/cgroup.kill"
	! grep -q 'populated 1' "$CG2/cgroup.events" 2>/dev/null
}

cmd_down() {
	local t0
	t0=$(now_ms)
	do_down
	say "down: clean in $(($(now_ms) - t0)) ms"
}

# Copies of the user-facing tools that every user can run, wherever the
# build lives (a clone under a 0700 home must still work for the test user).
install_tools() {
	local d
	rm -rf "$DIR/bin" "$DIR/libexec"
	# the launch agent and slot root of the job containers (cr.conf LaunchAgent)
	if [ -x "$BUILD/mpi-hooks/cr-rsh" ]; then
		install -D -m 0755 "$BUILD/mpi-hooks/cr-rsh" "$DIR/libexec/cr-rsh"
	fi
	for d in "$BUILD/scripts" "$BUILD/agent"; do
		[ -x "$d/crctl" ] && install -D -m 0755 "$d/crctl" "$DIR/bin/crctl" && break
	done
	if [ -d "$SHIM_DIR" ]; then
		install -d -m 0755 "$DIR/bin/shim"
		install -m 0755 "$SHIM_DIR"/* "$DIR/bin/shim/"
	fi
}

cmd_env() {
	[ -e "$DIR/etc/slurm.conf" ] || die "no cluster in $DIR"
	local path=$PATH
	[ -x "$DIR/bin/crctl" ] && path=$DIR/bin:$path
	[ -d "$DIR/bin/shim" ] && path=$DIR/bin/shim:$path
	printf 'export %s=%q\n' \
		SLURM_CONF "$DIR/etc/slurm.conf" \
		PATH "$path" \
		CR_CONF "$DIR/etc/cr.conf" \
		CR_CLUSTER_DIR "$DIR" \
		CR_BUILD_DIR "$BUILD" \
		CR_CKPT_DIR "$DIR/ckpt" \
		CR_CLUSTER_WORK "$DIR/work" \
		CR_CLUSTER_USER "$TEST_USER" \
		CR_CLUSTER_INSTANCE "$INSTANCE" \
		CR_CLUSTER_BRIDGE "$BRIDGE" \
		CR_CLUSTER_CGROUP "$CG2" \
		CR_CLUSTER_NODE_PREFIX "$NODE_PREFIX" \
		CR_CLUSTER_NODES "$(all_nodes | paste -sd' ')" \
		CR_CLUSTER_SPARES "$(paste -sd' ' "$DIR/spares.list" 2>/dev/null || true)"
}

cmd_status() {
	[ -e "$DIR/nodes.list" ] || { echo "no cluster ($DIR)"; return 1; }
	local p n d
	p=$(pidfile_pid "$DIR/munge/run/munged.pid") || true
	printf '%-10s %s\n' munged "$(alive "$p" && echo "running ($p)" || echo dead)"
	p=$(pidfile_pid "$DIR/ctld/slurmctld.pid") || true
	printf '%-10s %s\n' slurmctld "$(alive "$p" && echo "running ($p)" || echo dead)"
	for n in $(all_nodes); do
		d=$(node_dir "$n")
		local s=() x
		for x in holder slurmd crd; do
			p=$(pidfile_pid "$d/$x.pid") || true
			alive "$p" && s+=("$x=$p")
		done
		printf '%-10s %-15s state=%-14s procs=%-4s %s\n' "$n" "$(node_addr "$n")" \
			"$(node_state "$n" || true)" "$(node_pids "$n" | wc -l)" "${s[*]:-down}"
	done
	squeue 2>/dev/null || true
}

cmd_kill_node() {
	local n=${1:?kill-node NODE}
	valid_node "$n"
	local t0
	t0=$(now_ms)
	# As a real crash: off the network first, so that no process's end is
	# seen by a peer as a closed connection or a refused one (the node's
	# kernel would answer until its namespace is gone); peers see timeouts.
	ip link set "crv-$n" down 2>/dev/null || true
	crash_node "$n"
	# Its network dies too, with the job containers' routes through it.
	ip netns del "$n" 2>/dev/null || true
	say "kill-node $n: dead in $(($(now_ms) - t0)) ms"
}

cmd_revive_node() {
	local n=${1:?revive-node NODE}
	valid_node "$n"
	local h
	h=$(pidfile_pid "$(node_dir "$n")/holder.pid") || true
	alive "$h" && die "$n is running; kill-node it first"
	crash_node "$n" # stragglers, stale cgroups
	local t0
	t0=$(now_ms)
	# a fresh network, as after a reboot
	[ -e "/run/netns/$n" ] || make_node_net "$n"
	start_nodes "$n" || die "$n: crd did not start: see $(node_dir "$n")/crd.log"
	wait_or_say 60 "$n to return to service" node_in_service "$n" ||
		die "$n: $(node_state "$n"): see $(node_dir "$n")/slurmd.log"
	say "revive-node $n: $(node_state "$n") in $(($(now_ms) - t0)) ms"
}

cmd_restart_crd() {
	local n=${1:?restart-crd NODE} d p
	valid_node "$n"
	have_crd || die "no crd ($CRD_BIN)"
	d=$(node_dir "$n")
	p=$(pidfile_pid "$d/crd.pid") || true
	if alive "$p"; then
		kill -TERM "$p"
		crd_gone() { ! alive "$p"; }
		wait_or_say 10 "crd on $n to stop" crd_gone || kill -KILL "$p"
	fi
	start_crd "$n"
	wait_or_say 20 "crd on $n" crd_ready "$n"
}

cmd_exec() {
	local n=${1:?exec NODE CMD...}
	shift
	valid_node "$n"
	[ $# -gt 0 ] || die "exec: no command"
	echo $$ >"$(node_cg "$n")/cgroup.procs"
	node_enter "$n" "$@"
}

cmd_logs() {
	local lines=${1:-40} f
	[ -d "$DIR" ] || return 0
	while read -r f; do
		[ -s "$f" ] || continue
		echo "===== $f"
		tail -n "$lines" "$f"
	done < <(find "$DIR" \( -name '*.log' -o -name '*.out' \) -type f | sort)
}

main() {
	local cmd=${1:-}
	[ $# -gt 0 ] && shift
	case $cmd in
	-h | --help | help) usage; return 0 ;;
	env) cmd_env; return ;;
	logs) cmd_logs "$@"; return ;;
	esac
	[ "$(id -u)" = 0 ] || die "must run as root"
	case $cmd in
	up) lock; cmd_up "$@" ;;
	down) lock; cmd_down ;;
	status) cmd_status ;;
	kill-node) lock; cmd_kill_node "$@" ;;
	revive-node) lock; cmd_revive_node "$@" ;;
	restart-crd) lock; cmd_restart_crd "$@" ;;
	exec) cmd_exec "$@" ;;
	"") usage >&2; return 2 ;;
	*) die "unknown command '$cmd' (see --help)" ;;
	esac
}

main "$@"

#!/usr/bin/env bash
# Job containers on the cluster in a box: what runs inside a --checkpoint job, exit codes, signals, srun, jobs without --checkpoint
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$(dirname "$0")/container-lib.sh"

touch /tmp/cr-host-marker.$$
on_exit+=('rm -f /tmp/cr-host-marker.$$')

cat >inside.sh <<'EOS'
#!/bin/bash
hostname >"$1.host"
ps -e -o pid=,comm= >"$1.ps"
ls -A /tmp >"$1.tmp"
for ns in pid mnt ipc uts time net; do echo "$ns $(readlink /proc/self/ns/$ns)"; done >"$1.ns"
{ getent hosts "$(hostname)"; squeue -h -j "$SLURM_JOB_ID" -o "state %T"; } >"$1.net" 2>&1
touch /tmp/cr-job-private.$SLURM_JOB_ID
echo "$SLURM_CHECKPOINT" >"$1.env"
exit 3
EOS
cat >killed.sh <<'EOS'
#!/bin/bash
kill -KILL $$
EOS
cat >srun.sh <<'EOS'
#!/bin/bash
srun -n1 hostname
echo "srun=$?"
EOS
cat >usr1.sh <<'EOS'
#!/bin/bash
n=0
trap 'n=$((n+1)); echo "USR1 $n"' USR1
echo started
while [ ! -e "$1" ]; do sleep 0.1; done
echo "traps=$n"
EOS
cat >hold.sh <<'EOS'
#!/bin/bash
getent hosts "$(hostname)" | awk '{print $1}' >"$1.addr"
hostname >"$1.host"
while [ ! -e "$2" ]; do sleep 0.1; done
EOS
chmod 755 ./*.sh

for u in "$USER_" root; do
	# Inside: its own hostname, only its processes, a private /tmp, exit 3 -> 3:0.
	id=$(submit "$u" --checkpoint=5m -w "$NODE1" -o "in-$u.out" inside.sh "$WORK/in-$u")
	wait_done "$id"
	[ "$(job_field "$id" ExitCode)" = 3:0 ] || fail "$u: exit 3 gave ExitCode=$(job_field "$id" ExitCode)"
	[ "$(cat "in-$u.host")" = "$NODE1" ] || fail "$u: hostname $(cat "in-$u.host")"
	# its own address for the node's name; slurmctld reached through the node
	grep -Eq "^100\.64\.[0-9.]+ +$NODE1\$" "in-$u.net" && grep -qx "state RUNNING" "in-$u.net" ||
		fail "$u: the network inside: $(cat "in-$u.net")"
	comms=$(awk '{print $2}' "in-$u.ps" | sort | paste -sd' ')
	[ "$comms" = "cr-init ps slurm_script" ] || fail "$u: ps -e inside shows: $(cat "in-$u.ps")"
	[ "$(awk '$2 == "cr-init" {print $1}' "in-$u.ps")" = 1 ] || fail "$u: init is not pid 1"
	grep -q "cr-host-marker" "in-$u.tmp" && fail "$u: the host's /tmp is visible in the job"
	[ ! -e "/tmp/cr-job-private.$id" ] || fail "$u: the job's /tmp file is on the host"
	[ "$(cat "in-$u.env")" = 300s ] || fail "$u: SLURM_CHECKPOINT=$(cat "in-$u.env")"
	ok "$u: the node's hostname at its own address, squeue works, pid namespace, private /tmp, ExitCode=3:0"

	# A death by signal is reported as without --checkpoint.
	id=$(submit "$u" --checkpoint -w "$NODE1" -o /dev/null killed.sh)
	id2=$(submit "$u" -w "$NODE1" -o /dev/null killed.sh)
	wait_done "$id"
	wait_done "$id2"
	[ "$(job_field "$id" ExitCode)" = "$(job_field "$id2" ExitCode)" ] ||
		fail "$u: SIGKILL death: ExitCode=$(job_field "$id" ExitCode), without --checkpoint $(job_field "$id2" ExitCode)"
	[ "$(job_field "$id" ExitCode)" = 0:9 ] || fail "$u: SIGKILL death: ExitCode=$(job_field "$id" ExitCode)"
	ok "$u: signal death reported as without --checkpoint ($(job_field "$id" ExitCode))"

	# srun inside is refused, with the reason.
	id=$(submit "$u" --checkpoint -w "$NODE1" -o "srun-$u.out" srun.sh)
	wait_done "$id"
	grep -q "srun inside a --checkpoint job is not supported yet; use mpirun" "srun-$u.out" ||
		fail "$u: srun inside: $(cat "srun-$u.out")"
	grep -q "srun=[1-9]" "srun-$u.out" || fail "$u: srun inside did not fail: $(cat "srun-$u.out")"
	ok "$u: srun inside a --checkpoint job refused"

	# scancel --signal=USR1 --batch reaches the script's trap exactly once.
	rm -f "go-$u"
	id=$(submit "$u" --checkpoint -w "$NODE1" -o "usr1-$u.out" usr1.sh "$WORK/go-$u")
	wait_until 30 "usr1 job to start" has_line "usr1-$u.out" started
	as "$u" scancel --signal=USR1 --batch "$id"
	wait_until 10 "the USR1 trap" has_line "usr1-$u.out" "USR1 1"
	touch "go-$u"
	wait_done "$id"
	grep -q "traps=1" "usr1-$u.out" || fail "$u: USR1 trap count: $(cat "usr1-$u.out")"
	[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "$u: usr1 job ExitCode=$(job_field "$id" ExitCode)"
	ok "$u: scancel --signal=USR1 --batch reached the trap once"
done

# Two checkpointable jobs share a node, each in its own container.
rm -f go2
a=$(submit "$USER_" --checkpoint -w "$NODE1" -n1 -o /dev/null hold.sh "$WORK/a" "$WORK/go2")
b=$(submit "$USER_" --checkpoint -w "$NODE1" -n1 -o /dev/null hold.sh "$WORK/b" "$WORK/go2")
both() { job_running "$a" && job_running "$b" && [ -s a.host ] && [ -s b.host ]; }
wait_until 30 "two jobs running on $NODE1" both
[ "$(cat a.host)" = "$NODE1" ] && [ "$(cat b.host)" = "$NODE1" ] ||
	fail "shared node: hostnames $(cat a.host) $(cat b.host)"
[ -s a.addr ] && [ -s b.addr ] && [ "$(cat a.addr)" != "$(cat b.addr)" ] ||
	fail "shared node: addresses '$(cat a.addr)' '$(cat b.addr)'"
touch go2
wait_done "$a"
wait_done "$b"
[ "$(job_field "$a" ExitCode)" = 0:0 ] && [ "$(job_field "$b" ExitCode)" = 0:0 ] ||
	fail "shared node: ExitCodes $(job_field "$a" ExitCode) $(job_field "$b" ExitCode)"
ok "two checkpointable jobs shared $NODE1, each at its own address"

# A rename over the node's /etc/hosts (as configuration tools do) detaches the
# container's bind mount in every namespace: its init binds it again.
cat >hostsjob.sh <<'EOS'
#!/bin/bash
getent hosts "$(hostname)" >"$1.before"
while [ ! -e "$2" ]; do sleep 0.1; done
getent hosts "$(hostname)" >"$1.after"
EOS
chmod 755 hostsjob.sh
rm -f hj.go
id=$(submit "$USER_" --checkpoint -w "$NODE1" -o /dev/null hostsjob.sh "$WORK/hj" "$WORK/hj.go")
wait_until 30 "job $id's first lookup" test -s hj.before
init=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["init_pid"])' \
	"$(sed -n 's/^StateDir=//p' "$CR_CLUSTER_DIR/nodes/$NODE1/etc/cr.conf")/job$id.json")
ours() { grep -q "slurm-cr job container" "/proc/$init/root/etc/hosts"; }
ours || fail "job $id's /etc/hosts: $(cat "/proc/$init/root/etc/hosts")"
cp -p /etc/hosts /etc/.hosts.cr-test && mv -f /etc/.hosts.cr-test /etc/hosts
wait_until 10 "job $id's hosts file to be bound again" ours
touch hj.go
wait_done "$id"
cmp -s hj.before hj.after || fail "the job's name resolved to $(cat hj.after), before to $(cat hj.before)"
ok "a rename over the node's /etc/hosts: the container's view bound again"

# Containers exist on every node of the allocation from the start (in the
# job's extern step until a relay takes them), and are gone at the end.
state_file() { echo "$(sed -n 's/^StateDir=//p' "$CR_CLUSTER_DIR/nodes/$1/etc/cr.conf")/job$2.json"; }
json_get() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2"; }
in_extern() {
	local f pid
	f=$(state_file "$1" "$2")
	[ -s "$f" ] || return 1
	pid=$(json_get "$f" init_pid)
	grep -q "freezer:.*/job_$2/step_extern" "/proc/$pid/cgroup"
}
rm -f go3
read -r -a nodes <<<"$CR_CLUSTER_NODES"
id=$(submit "$USER_" --checkpoint -N2 -w "${nodes[0]},${nodes[1]}" -o /dev/null hold.sh "$WORK/mn" "$WORK/go3")
wait_until 30 "job $id to run" job_running "$id"
other=${nodes[1]}
[ "$(job_field "$id" BatchHost)" = "${nodes[1]}" ] && other=${nodes[0]}
wait_until 30 "the container on $other to join the extern step" in_extern "$other" "$id"
[ "$(json_get "$(state_file "$other" "$id")" hostname)" = "$other" ] ||
	fail "container on $other: $(cat "$(state_file "$other" "$id")")"
wait_until 30 "the batch script" test -s mn.host
[ "$(cat mn.host)" = "$(job_field "$id" BatchHost)" ] || fail "2-node job: batch hostname $(cat mn.host)"
touch go3
wait_done "$id"
gone() { [ ! -e "$(state_file "${nodes[0]}" "$id")" ] && [ ! -e "$(state_file "${nodes[1]}" "$id")" ]; }
wait_until 30 "the containers of job $id to be removed" gone
ok "a 2-node job had a container on each node from its start; both removed at its end"

# A job without --checkpoint sees the node as usual.
cat >plain.sh <<'EOS'
#!/bin/bash
hostname >"$1.host"
ps -e -o comm= >"$1.ps"
ps -o comm= -p $PPID >"$1.parent"
for ns in pid mnt ipc uts time net; do echo "$ns $(readlink /proc/self/ns/$ns)"; done >"$1.ns"
EOS
chmod 755 plain.sh
id=$(submit "$USER_" -w "$NODE1" -o /dev/null plain.sh "$WORK/plain")
wait_done "$id"
[ "$(cat plain.host)" = "$NODE1" ] || fail "plain job hostname $(cat plain.host)"
grep -qx slurmd plain.ps || fail "plain job does not see the node's processes"
[ "$(cat plain.parent)" = slurmstepd ] || fail "plain job's parent is $(cat plain.parent)"
ok "a job without --checkpoint is untouched"

# The container's namespaces: new pid, mount, ipc, uts, time and net.
for ns in pid mnt ipc uts time net; do
	c=$(awk -v n=$ns '$1 == n {print $2}' "in-$USER_.ns")
	h=$(awk -v n=$ns '$1 == n {print $2}' plain.ns)
	[ -n "$c" ] && [ -n "$h" ] || fail "namespace $ns: container '$c', node '$h'"
	[ "$c" != "$h" ] || fail "the container shares the node's $ns namespace ($c)"
done
ok "container namespaces: pid, mnt, ipc, uts, time and net new"

# The script gets what it would get without a container: limits, umask, CPU
# binding, groups, working directory, arguments and environment.
cat >same.sh <<'EOS'
#!/bin/bash
{
	echo "nofile $(ulimit -S -n) $(ulimit -H -n) stack $(ulimit -S -s) core $(ulimit -S -c)"
	echo "umask $(umask)"
	grep Cpus_allowed_list /proc/self/status
	echo "groups $(id -G) user $(id -un)"
	echo "cwd $(pwd) args ${*:2}"
	sed "s/job_$SLURM_JOB_ID/job_ID/" /proc/self/cgroup
	echo "env $(env | grep -E '^(SLURM_JOB_ID|SLURM_SUBMIT_DIR|SLURM_RLIMIT_[A-Z]*|SLURM_UMASK|HOME|USER|PATH|FOO)=' | sed "s/^SLURM_JOB_ID=$SLURM_JOB_ID\$/SLURM_JOB_ID=ID/" | sort | paste -sd' ')"
} >"$1"
EOS
chmod 755 same.sh
mkdir -p sub && chmod 1777 sub
for ck in --checkpoint ""; do
	id=$(cd sub && FOO="a b" as "$USER_" bash -c "ulimit -S -n 300; ulimit -S -c 0; umask 027; exec sbatch --parsable $ck -w $NODE1 -n1 -o /dev/null ../same.sh '$WORK/same${ck:+-ck}.out' x 'y z'")
	jobs_started+=("${id%%;*}")
	wait_done "${id%%;*}"
done
diff same.out same-ck.out >&2 || fail "the container changed the job's settings (above: without, with --checkpoint)"
grep -q "nofile 300 " same-ck.out && grep -q "umask 0027" same-ck.out && grep -q "args x y z" same-ck.out ||
	fail "settings: $(cat same-ck.out)"
grep -q "freezer:.*/job_ID/step_batch" same-ck.out || fail "cgroups: $(cat same-ck.out)"
ok "limits, umask, CPU binding, groups, cgroups, cwd, args and environment as without --checkpoint"

# SLURM_CHECKPOINT and SLURM_CHECKPOINT_DIR act as the options; a --checkpoint
# job is made requeueable; the job sees its resolved settings.
cat >envjob.sh <<'EOS'
#!/bin/bash
env | grep -E '^SLURM_(CHECKPOINT|CR_CONTAINER)' | sort >"$1"
EOS
chmod 755 envjob.sh
id=$(SLURM_CHECKPOINT=10m SLURM_CHECKPOINT_DIR=$WORK/ck submit "$USER_" --no-requeue -w "$NODE1" -o /dev/null envjob.sh "$WORK/env.out")
wait_done "$id"
want=$(printf '%s\n' "SLURM_CHECKPOINT=600s" "SLURM_CHECKPOINT_DIR=$WORK/ck" "SLURM_CR_CONTAINER=job$id-slot0")
[ "$(cat env.out)" = "$want" ] || fail "job environment: $(cat env.out)"
[ "$(job_field "$id" Requeue)" = 1 ] || fail "--no-requeue --checkpoint job: Requeue=$(job_field "$id" Requeue)"
ok "SLURM_CHECKPOINT(_DIR) from the environment; --no-requeue made requeueable"

# Bad intervals are refused at submit time, with the reason.
for bad in 5x abc 1:2:3:4 -5 1-25; do
	if out=$(sbatch --checkpoint="$bad" --wrap true 2>&1); then
		jobs_started+=("${out##* }")
		fail "--checkpoint=$bad was accepted"
	fi
	grep -q "invalid checkpoint interval" <<<"$out" || fail "--checkpoint=$bad: $out"
done
ok "bad intervals refused at submit time"

# Interactive allocations and steps cannot be checkpointable: refused, with the reason.
for cmd in "salloc --checkpoint -N1 true" "srun --checkpoint -N1 true"; do
	# shellcheck disable=SC2086
	if out=$(timeout 60 $cmd 2>&1); then
		fail "'$cmd' was accepted"
	fi
	grep -q "checkpoint is supported for batch jobs only" <<<"$out" || fail "$cmd: $out"
done
ok "salloc/srun --checkpoint refused"

#!/usr/bin/env bash
# Job containers on the cluster in a box: scancel leaves nothing behind, crd restarts under running jobs
set -euo pipefail
# shellcheck source=tests/cluster/lib.sh
. "$(dirname "$0")/lib.sh"

cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$(dirname "$0")/container-lib.sh"

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
	wait_until 30 "stubborn job to start" has_line "stub-$u.out" started
	none_left() { [ -z "$(leftovers)" ]; }
	wait_until 10 "the children to start" eval '[ "$(leftovers | wc -l)" -ge 4 ]'
	t0=$(now_ms)
	as "$u" scancel "$id"
	wait_until $((kill_wait + 5)) "job $id's processes to go (left: $(leftovers | paste -sd' '))" none_left
	ms=$(($(now_ms) - t0))
	((ms <= (kill_wait + 1) * 1000)) || fail "$u: processes survived ${ms} ms (KillWait=${kill_wait}s)"
	wait_done "$id"
	[ "$(job_field "$id" JobState)" = CANCELLED ] || fail "$u: state $(job_field "$id" JobState)"
	ok "$u: scancel left nothing behind (${ms} ms, KillWait ${kill_wait}s)"
done

# crd restarted under a running job: the job runs on, is re-adopted, ends normally.
rm -f go
id=$(submit "$USER_" --checkpoint -w "$NODE1" -o hold.out hold.sh "$WORK/go")
wait_until 30 "job to start" has_line hold.out "host=$NODE1"
"$CLUSTER_SH" restart-crd "$NODE1" >/dev/null
job_running "$id" || fail "job $id stopped with crd: $(job_field "$id" JobState)"
crctl show "$id" | grep -q "State=running" || fail "crd did not re-adopt job $id: $(crctl show "$id" 2>&1)"
grep -q "job $id: re-adopted" "$CR_CLUSTER_DIR/nodes/$NODE1/crd.log" || fail "no re-adoption logged"
touch go
wait_done "$id"
[ "$(job_field "$id" ExitCode)" = 7:0 ] || fail "job $id after crd restart: ExitCode=$(job_field "$id" ExitCode)"
grep -q '^done$' hold.out || fail "job $id output: $(cat hold.out)"
ok "crd restarted under a running job; the job ran on and was re-adopted"

# A requeued --checkpoint job runs again in a fresh container (no checkpoint
# yet, so from the start), and ends normally.
cat >again.sh <<'EOS'
#!/bin/bash
echo "run ${SLURM_RESTART_COUNT:-0} $(hostname) $$"
while [ ! -e "$1" ]; do sleep 0.1; done
EOS
chmod 755 again.sh
rm -f go2
id=$(submit "$USER_" --checkpoint -w "$NODE1" --open-mode=append -o again.out again.sh "$WORK/go2")
wait_until 30 "job $id to start" has_line again.out "run 0 $NODE1 2"
scontrol requeue "$id"
wait_until 90 "job $id to run again" has_line again.out "run 1 $NODE1 2"
touch go2
wait_done "$id"
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "requeued job $id: ExitCode=$(job_field "$id" ExitCode)"
ok "a requeued --checkpoint job ran again in a fresh container"

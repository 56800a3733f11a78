#!/usr/bin/env bash
# Issue 12: the one-node MPI job with MPICH instead of Open MPI. `sbatch
# --checkpoint -N1 -n4 -O` running `mpiexec.mpich -n 4` (Hydra, fork launcher;
# UCX over TCP and shared memory) of the solver (tests/mpi/solver.c built
# against MPICH) as the cluster's user: `scontrol checkpoint create` mid-run,
# the job runs on and ends as an uninterrupted run does; `crctl restart` of
# that checkpoint ends the same way too (byte-identical output, one start).
# ctest: TIMEOUT=600
# ctest: nosan
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/cluster/lib.sh
. "$HERE/lib.sh"
cluster_begin --nodes 2
# shellcheck source=tests/cluster/container-lib.sh
. "$HERE/container-lib.sh"
# shellcheck source=tests/cluster/ckpt-lib.sh
. "$HERE/ckpt-lib.sh"
NODE2=$(echo "$CR_CLUSTER_NODES" | cut -d' ' -f2)
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver-mpich
[ -x "$solver" ] || fail "$solver is not built (MPICH: scripts/install-deps.sh)"
[ -x /usr/bin/mpiexec.mpich ] || fail "no /usr/bin/mpiexec.mpich (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver-mpich"
install -m 0755 "$HERE/workloads/mpichjob.sh" "$WORK/mpichjob.sh"
ITERS=60 # about 6 s of iterations

# mpichjob NAME SBATCH-ARGS...: the job as the test user in $WORK/NAME; its id.
mpichjob() {
	local name=$1
	shift
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N1 -n4 -O "$@" \
		"$WORK/mpichjob.sh" "$WORK/$name" "$ITERS"
}

# same_run NAME REF: NAME's output equals REF's, and it started once.
same_run() {
	local n
	cmp -s "$WORK/$2.out" "$WORK/$1.out" ||
		fail "$1: output differs from the uninterrupted run:
$(diff "$WORK/$2.out" "$WORK/$1.out" | head -20)"
	n=$(wc -l <"$WORK/$1/starts")
	[ "$n" = 1 ] || fail "$1: started $n times from the top: $(cat "$WORK/$1/starts")"
}

ref=$(mpichjob ref -w "$NODE2")
id=$(mpichjob ck --checkpoint=0 -w "$NODE1")
wait_output ck "^iter 10 "
out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create: $out"
log "$out"
echo "$out" | grep -q "checkpoint 1 committed" || fail "checkpoint create said: $out"
wait_done "$ref" 120
wait_done "$id" 120
[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "reference $ref ended with $(job_field "$ref" ExitCode)"
[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
same_run ck ref
ok "checkpointed MPICH job ran on and ended as the uninterrupted run"

out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart: $out"
log "$out"
new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
[ -n "$new" ] || fail "crctl restart said: $out"
jobs_started+=("$new")
wait_done "$new" 120
[ "$(job_field "$new" ExitCode)" = 0:0 ] ||
	fail "restarted job $new ended with $(job_field "$new" ExitCode)"
same_run ck ref
ok "crctl restart of checkpoint 1 ended as the uninterrupted run"

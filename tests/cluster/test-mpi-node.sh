#!/usr/bin/env bash
# Issue 12: a real Open MPI 4.1.4 job on one node. `sbatch --checkpoint -N1
# -n4 -O` running `mpirun -n 4` of the solver (tests/mpi/solver.c) as the
# cluster's user, with Open MPI's shared-memory transport (vader) and then its
# TCP transport: `scontrol checkpoint create` mid-run, the job runs on and
# ends as an uninterrupted run does; `crctl restart` of that checkpoint ends
# the same way too (byte-identical output, one start).
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
solver=$CR_BUILD_DIR/tests/mpi/cr-mpi-solver
[ -x "$solver" ] || fail "$solver is not built"
command -v mpirun.openmpi >/dev/null || fail "no mpirun.openmpi (scripts/install-deps.sh)"
install -m 0755 "$solver" "$WORK/solver"
install -m 0755 "$HERE/workloads/mpijob.sh" "$WORK/mpijob.sh"
ITERS=60 # about 6 s of iterations

# mpijob NAME BTL SBATCH-ARGS...: the job as the test user in $WORK/NAME; its id.
mpijob() {
	local name=$1 btl=$2
	shift 2
	mkdir -p "$WORK/$name"
	chown "$USER_:" "$WORK/$name"
	submit "$USER_" -o "$WORK/$name.out" -N1 -n4 -O "$@" \
		"$WORK/mpijob.sh" "$WORK/$name" "$btl" "$ITERS"
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

for btl in vader tcp; do
	ref=$(mpijob "ref-$btl" "$btl" -w "$NODE2")
	id=$(mpijob "ck-$btl" "$btl" --checkpoint=0 -w "$NODE1")
	wait_output "ck-$btl" "^iter 10 "
	out=$(as "$USER_" scontrol checkpoint create "$id") || fail "checkpoint create ($btl): $out"
	log "$out"
	echo "$out" | grep -q "checkpoint 1 committed" || fail "checkpoint create ($btl) said: $out"
	wait_done "$ref" 120
	wait_done "$id" 120
	[ "$(job_field "$ref" ExitCode)" = 0:0 ] || fail "reference $ref ended with $(job_field "$ref" ExitCode)"
	[ "$(job_field "$id" ExitCode)" = 0:0 ] || fail "job $id ended with $(job_field "$id" ExitCode)"
	same_run "ck-$btl" "ref-$btl"
	ok "$btl: checkpointed MPI job ran on and ended as the uninterrupted run"

	out=$(crctl_as "$USER_" restart "$id") || fail "crctl restart ($btl): $out"
	log "$out"
	new=$(echo "$out" | sed -n 's/^Submitted batch job \([0-9]*\).*/\1/p')
	[ -n "$new" ] || fail "crctl restart ($btl) said: $out"
	jobs_started+=("$new")
	wait_done "$new" 120
	[ "$(job_field "$new" ExitCode)" = 0:0 ] ||
		fail "restarted job $new ended with $(job_field "$new" ExitCode)"
	same_run "ck-$btl" "ref-$btl"
	ok "$btl: crctl restart of checkpoint 1 ended as the uninterrupted run"
done

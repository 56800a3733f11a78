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

for btl in vader tcp; do
	ref=$(mpijob "ref-$btl" "$btl" -w "$NODE2")
	id=$(mpijob "ck-$btl" "$btl" --checkpoint=0 -w "$NODE1")
	create_run_on_restart "ck-$btl" "$id" "ref-$btl" "$ref"
done

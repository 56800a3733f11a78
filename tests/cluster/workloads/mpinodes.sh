#!/bin/bash
# An Open MPI job across nodes: mpirun of the solver (tests/mpi/solver.c), one
# rank per node of the allocation (or, with "tasks", $SLURM_NTASKS ranks,
# $SLURM_NTASKS_PER_NODE on each node), its output depending on nothing but
# its arguments. In a --checkpoint job mpirun starts orted through cr-rsh (the
# container's launch profile); in a plain job through srun.
#   mpinodes.sh DIR ITERATIONS [tasks|nodes [POINTS_PER_RANK [SLEEP_MS [TIME_LOG]]]]
# DIR holds the solver's start log (DIR/starts). POINTS, SLEEP (default 100
# and 100, as the tests run it) and TIME_LOG (the solver's -t) are for
# bench/mpi.sh.
dir=$1 iters=${2:-60} points=${4:-100} sleep_ms=${5:-100} time_log=${6:-}
export OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_mpi_yield_when_idle=1
ranks=(-n "$SLURM_NNODES" --map-by node)
[ "${3:-}" != tasks ] || ranks=(-n "$SLURM_NTASKS" --map-by "ppr:$SLURM_NTASKS_PER_NODE:node")
# Open MPI 4.1.4's rsh launcher warns, now and then, that it could not put a
# daemon's launcher in its own process group (its setpgid after the child's
# exec: a harmless race); that line is noise, not the job's output.
mpirun.openmpi "${ranks[@]}" "$dir/../solver" -i "$iters" -n "$points" \
	-s "$sleep_ms" -l "$dir/starts" ${time_log:+-t "$time_log"} 2> >(grep -v '^\[[^]]*\] plm:rsh: Warning: setpgid(' >&2)
status=$?
wait # for the filter
exit $status

#!/bin/bash
# An Open MPI job across nodes: mpirun of the solver (tests/mpi/solver.c), one
# rank per node of the allocation (or, with "tasks", $SLURM_NTASKS ranks,
# $SLURM_NTASKS_PER_NODE on each node), its output depending on nothing but
# its arguments. In a --checkpoint job mpirun starts orted through cr-rsh (the
# container's launch profile); in a plain job through srun.
#   mpinodes.sh DIR ITERATIONS [tasks]
# DIR holds the solver's start log (DIR/starts).
dir=$1 iters=${2:-60}
export OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_mpi_yield_when_idle=1
ranks=(-n "$SLURM_NNODES" --map-by node)
[ "${3:-}" != tasks ] || ranks=(-n "$SLURM_NTASKS" --map-by "ppr:$SLURM_NTASKS_PER_NODE:node")
# Open MPI 4.1.4's rsh launcher warns, now and then, that it could not put a
# daemon's launcher in its own process group (its setpgid after the child's
# exec: a harmless race); that line is noise, not the job's output.
mpirun.openmpi "${ranks[@]}" "$dir/../solver" -i "$iters" -n 100 -s 100 \
	-l "$dir/starts" 2> >(grep -v '^\[[^]]*\] plm:rsh: Warning: setpgid(' >&2)
status=$?
wait # for the filter
exit $status

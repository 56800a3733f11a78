#!/bin/bash
# An Open MPI job to checkpoint: mpirun -n 4 of the solver (tests/mpi/solver.c),
# every rank on this node, its output depending on nothing but its arguments.
#   mpijob.sh DIR vader|tcp ITERATIONS
# DIR holds the solver; DIR/starts gets one line each time it starts from the top.
# What a checkpointable job needs of Open MPI (odls pspawn, TCP over the slot's
# address) is the job container's launch profile, in its environment; here only
# what running 4 ranks on 2 cores asks for: more ranks than cores, no binding,
# yield when idle; and the btl forced.
dir=$1 btl=$2 iters=${3:-60}
export OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_mpi_yield_when_idle=1
case $btl in
vader) export OMPI_MCA_btl=self,vader ;;
tcp) export OMPI_MCA_btl=self,tcp ;;
*) echo "mpijob.sh: btl vader or tcp" >&2; exit 2 ;;
esac
mpirun.openmpi -n 4 "$dir/../solver" -i "$iters" -n 100 -s 100 -l "$dir/starts"

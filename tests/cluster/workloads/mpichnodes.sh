#!/bin/bash
# An MPICH job across nodes: mpiexec (Hydra) of the solver built with MPICH,
# one rank per node of the allocation. In a --checkpoint job Hydra starts
# its proxies through cr-rsh and keeps it running (the container's launch
# profile); in a plain job through srun.
#   mpichnodes.sh DIR ITERATIONS
dir=$1 iters=${2:-60}
export UCX_TLS=tcp,sm,self
exec /usr/bin/mpiexec.mpich -n "$SLURM_NNODES" -ppn 1 "$dir/../solver-mpich" -i "$iters" -n 100 -s 100 -l "$dir/starts"

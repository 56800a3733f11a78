#!/bin/bash
# An MPICH job to checkpoint: mpiexec.mpich -n 4 of the solver (tests/mpi/solver.c)
# built against Debian's MPICH 4.0.2 (ch4:ucx), every rank on this node.
#   mpichjob.sh DIR ITERATIONS
# DIR holds the solver; DIR/starts gets one line each time it starts from the top.
# Hydra under Slurm would start its proxies with srun, which the job container
# refuses: the fork launcher starts them itself (every rank is on this node).
# UCX_TLS keeps UCX on TCP and shared memory (SysV and POSIX segments,
# process_vm_readv): nothing reaches for RDMA.
dir=$1 iters=${2:-60}
export HYDRA_LAUNCHER=fork UCX_TLS=tcp,sm,self
/usr/bin/mpiexec.mpich -n 4 "$dir/../solver-mpich" -i "$iters" -n 100 -s 100 -l "$dir/starts"

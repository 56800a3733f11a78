#!/bin/bash
# An MPICH job to checkpoint: mpiexec.mpich -n 4 of the solver (tests/mpi/solver.c)
# built against Debian's MPICH 4.0.2 (ch4:ucx), every rank on this node.
#   mpichjob.sh DIR ITERATIONS
# DIR holds the solver; DIR/starts gets one line each time it starts from the top.
# Hydra's fork launcher (its srun one is refused in the job container) comes
# from the container's launch profile. UCX_TLS keeps UCX on TCP and shared
# memory (SysV and POSIX segments, process_vm_readv): nothing reaches for RDMA.
dir=$1 iters=${2:-60}
export UCX_TLS=tcp,sm,self
/usr/bin/mpiexec.mpich -n 4 "$dir/../solver-mpich" -i "$iters" -n 100 -s 100 -l "$dir/starts"

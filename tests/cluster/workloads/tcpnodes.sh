#!/bin/bash
# A TCP client and server on the two nodes of the allocation, started by
# mpirun as a non-MPI program (tests/mpi/tcppair.c): the client on the batch
# node, the server on the second, streaming checksummed blocks. In a
# --checkpoint job mpirun starts orted through cr-rsh and the connection runs
# over the job network; in a plain job through srun, over the nodes' own.
#   tcpnodes.sh DIR BLOCKS
# DIR holds the client's start log (DIR/starts).
dir=$1 blocks=${2:-400}
export OMPI_MCA_hwloc_base_binding_policy=none
server=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 2p)
# Open MPI 4.1.4's rsh launcher's harmless setpgid warning (see mpinodes.sh) is noise.
mpirun.openmpi -n 2 --map-by node "$dir/../tcppair" -c "$server" -b "$blocks" -l "$dir/starts" \
	2> >(grep -v '^\[[^]]*\] plm:rsh: Warning: setpgid(' >&2)
status=$?
wait # for the filter
exit $status

#!/usr/bin/env bash
# Install the Debian 12 packages slurm-cr needs to build, test and run.
# Idempotent: does nothing when everything is already installed.
set -euo pipefail

pkgs=(
	build-essential cmake pkg-config clang clang-format clang-tidy
	libjansson-dev libxxhash-dev libcmocka-dev
	libmunge-dev munge
	slurm-wlm slurmctld slurmd libslurm-dev
	libmnl-dev libhwloc-dev
	nftables libnftables-dev  # the network lock (libcr/netlock.c)
	libsodium-dev libarchive-dev  # manifest MAC and digests; container /tmp and /dev/shm archives
	libpmix-dev  # slurm's mpi/pmix plugin dlopens libpmix.so (srun --mpi=pmix)
	openmpi-bin libopenmpi-dev  # the MPI tests' solver (tests/mpi/), mpirun and mpicc
	mpich libmpich-dev  # the same tests with MPICH (mpi-engine-mpich, cluster-mpich-node); alternatives stay on Open MPI (priority 50 > 40)
	python3 gawk procps iproute2 util-linux psmisc
	lintian man-db  # the Debian packages' checks (scripts/package-test.sh)
)

missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The packaged daemons must not run on their own: tests start their own.
for svc in munge slurmctld slurmd; do
	systemctl disable --now "$svc" >/dev/null 2>&1 || true
	pkill -x "${svc}d" 2>/dev/null || pkill -x "$svc" 2>/dev/null || true
done

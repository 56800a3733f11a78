#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# A real Open MPI (or MPICH) job checkpointed and restored by the engine,
# outside Slurm.
#
#   mpi-engine.sh --cr CR --hold CKPT_HOLD --mpirun MPIRUN --btl vader|tcp|ucx -- SOLVER
#
# --btl ucx: MPIRUN is MPICH's mpiexec (Hydra, launcher fork) and SOLVER is
# built against MPICH (Debian's 4.0.2 is ch4:ucx): UCX_TLS=tcp,sm,self, so
# ranks talk through UCX's shared memory (SysV and POSIX segments, and
# process_vm_readv) and nothing reaches for RDMA. Hydra gives ranks pipes,
# not ptys. The rest is as for Open MPI.
#
# Everything runs in a pid, mount and ipc namespace this script creates
# (itself as pid 1 and reaper, so pids freed by a kill really are free), with
# its own /dev/shm and session directory (TMPDIR), both tmpfs. The job is
# `MPIRUN -n 4 SOLVER` as user nobody, 4 ranks on however many cores,
# binding off, yield when idle, the btl forced to self,vader or to self,tcp
# on loopback, in a net namespace (loopback up) and an ipc namespace of its
# own, as in the job container (UCX keeps SysV segments, which cr saves only
# from a namespace not its own; each restart runs in a new one, as it must
# to get the segments back with their ids). Open MPI's ranks are started
# by the odls "pspawn" component: they inherit mpirun's stdout and stderr;
# the default component gives each rank's stdout a pseudo-terminal, which
# cr refuses (mpirun holds the /dev/ptmx side; Open MPI 4.1.4 has no
# parameter to turn ptys off). Runs:
#   reference   uninterrupted.
#   kill        `cr checkpoint --kill --net-lock` mid-run, every process
#               gone, `unshare --ipc cr restart --netns (the job's) --net-lock`.
#   leave       CKPT_HOLD --net-lock: freeze, dump, copy /dev/shm and the
#               session directory while the job is held (crd archives a
#               container's /tmp and /dev/shm the same way) and note the size
#               of its stdout, release; the job finishes; then its files are
#               put back as they were copied, its stdout cut back to that size
#               (crd keeps a job's output so far the same way) and
#               `cr restart --netns (a new one) --net-lock` runs the image to
#               its end too.
# Each finished run must have stdout byte for byte the reference's, exit 0,
# nothing on stderr, and one line in its start log (the solver's rank 0
# appends one when it starts: a restart that re-ran it shows two).
# Prints "ok ..." with timings and exits 0; "FAIL(run): why" with the logs
# and exits 1; 2 on a usage or set-up error; 77 (skipped) if not root.
set -u

me=$(readlink -f "$0")
# shellcheck source=tests/lib.sh
. "${me%/*}/../lib.sh" # now_ms, nap, wait_for, alive
cr='' hold='' mpirun='' btl='' solver=''
iters=40 sleep_ms=40 points=100
kill_at=12 leave_at=25 # lines of stdout

usage() {
	echo "usage: $0 --cr CR --hold CKPT_HOLD --mpirun MPIRUN --btl vader|tcp|ucx -- SOLVER" >&2
	exit 2
}

args=("$@")
while [ $# -gt 0 ]; do
	case "$1" in
	--cr) cr=$2; shift 2 ;;
	--hold) hold=$2; shift 2 ;;
	--mpirun) mpirun=$2; shift 2 ;;
	--btl) btl=$2; shift 2 ;;
	--) solver=${2:-}; break ;;
	*) usage ;;
	esac
done
[ -n "$cr" ] && [ -n "$hold" ] && [ -n "$mpirun" ] && [ -n "$solver" ] || usage
cr=$(readlink -f "$cr") hold=$(readlink -f "$hold") solver=$(readlink -f "$solver")
case "$btl" in
vader) btl_env=('OMPI_MCA_btl=self,vader') ;;
tcp) btl_env=('OMPI_MCA_btl=self,tcp' OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo) ;;
ucx) btl_env=(HYDRA_LAUNCHER=fork 'UCX_TLS=tcp,sm,self') ;;
*) usage ;;
esac

if [ -z "${MPI_INSIDE:-}" ]; then
	[ "$(id -u)" = 0 ] || { echo "mpi-engine.sh: skipped: must run as root"; exit 77; }
	tmp=$(mktemp -d /tmp/mpi-engine.XXXXXX) || exit 2
	chmod 755 "$tmp"
	unshare --pid --fork --mount-proc --mount --ipc --kill-child \
		env MPI_INSIDE=1 MPI_TMP="$tmp" bash "$me" "${args[@]}" &
	child=$!
	trap 'kill -KILL $child 2>/dev/null' INT TERM HUP
	wait $child
	rc=$?
	[ $rc -lt 128 ] || wait $child
	if [ -n "${CR_TEST_KEEP:-}" ]; then echo "kept $tmp"; else rm -rf "$tmp"; fi
	exit $rc
fi

# ---- inside the namespace, as pid 1 ----
tmp=$MPI_TMP
# nobody runs it: a copy, since the build tree may sit under a 0700 directory (/root)
install -m 0755 "$solver" "$tmp/solver" || exit 2
solver=$tmp/solver
rc_final=1
t0=$(now_ms)

# shellcheck disable=SC2317 # (called by the EXIT trap)
cleanup() {
	trap - EXIT INT TERM HUP
	cd /
	kill -KILL -1 2>/dev/null # everything in our namespace but us
	umount -l "$tmp/sess" /dev/shm 2>/dev/null
	exit "$rc_final"
}
trap cleanup EXIT
trap 'rc_final=2; exit' INT TERM HUP
exec 2>>"$tmp/driver.err"

NAP_FIFO=$tmp/tick
WAIT_POLL=0.02
mkfifo "$NAP_FIFO"

setup_err() {
	echo "mpi-engine.sh: $*"
	rc_final=2
	exit
}

# fail RUN WHY: report with the logs, and exit 1
fail() {
	local f
	echo "FAIL($1) mpi $btl: $2"
	for f in "$1".out "$1".err "$1".ck.err "$1".rst.err driver.err; do
		[ -s "$tmp/$f" ] || continue
		echo "---- $f"
		tail -c 3000 "$tmp/$f"
	done
	rc_final=1
	exit
}

mkdir -m 1777 "$tmp/sess" "$tmp/work" "$tmp/save" || setup_err "cannot make directories"
mount -t tmpfs -o mode=1777 tmpfs /dev/shm && mount -t tmpfs -o mode=1777 tmpfs "$tmp/sess" ||
	setup_err "cannot mount the private /dev/shm and session directory"
cd "$tmp/work" || setup_err "no $tmp/work"
job_env=("${btl_env[@]}" TMPDIR="$tmp/sess" HOME="$tmp/work")
[ "$btl" = ucx ] || job_env+=(OMPI_MCA_odls=pspawn OMPI_MCA_rmaps_base_oversubscribe=1
	OMPI_MCA_hwloc_base_binding_policy=none OMPI_MCA_mpi_yield_when_idle=1)

ns_empty() {
	local p
	for p in /proc/[0-9]*; do
		[ "${p#/proc/}" = 1 ] || return 1
	done
	return 0
}
lines() { local n=0; [ -f "$1" ] && n=$(wc -l <"$1"); echo "$n"; }
has_lines() { [ "$(lines "$tmp/$1.out")" -ge "$2" ] || ! alive "$pid"; }

# start RUN: the job in a net namespace of its own, as nobody; pid := mpirun
start() {
	unshare --net --ipc sh -c 'ip link set lo up && exec "$@"' sh \
		setpriv --reuid=nobody --regid=nogroup --clear-groups \
		env "${job_env[@]}" "$mpirun" -n 4 "$solver" -i "$iters" -n "$points" \
		-s "$sleep_ms" -l "$tmp/work/$1.starts" </dev/null >"$tmp/$1.out" 2>"$tmp/$1.err" &
	pid=$!
}

# check RUN STATUS: the finished run is the reference's
check() {
	[ "$2" = 0 ] || fail "$1" "exit status $2"
	cmp -s "$tmp/ref.out" "$tmp/$1.out" ||
		fail "$1" "stdout differs from the reference: $(diff "$tmp/ref.out" "$tmp/$1.out" | head -c 600)"
	[ ! -s "$tmp/$1.err" ] || fail "$1" "the job wrote to stderr"
	[ "$(lines "$tmp/work/$1.starts")" = 1 ] ||
		fail "$1" "started $(lines "$tmp/work/$1.starts") times, want once"
	wait_for 10 ns_empty || fail "$1" "processes left behind: $(ls -d /proc/[0-9]* | tr '\n' ' ')"
}

# the reference
start ref
wait "$pid"
st=$?
[ "$st" = 0 ] || fail ref "the uninterrupted run exited $st"
[ "$(lines "$tmp/ref.out")" = $((iters + 2)) ] || fail ref "$(lines "$tmp/ref.out") lines of stdout"
[ ! -s "$tmp/ref.err" ] || fail ref "the uninterrupted run wrote to stderr"
t_ref=$(($(now_ms) - t0))

# kill: checkpoint --kill, restart in the job's own (locked) net namespace
start kill
wait_for 20 has_lines kill "$kill_at" && alive "$pid" || fail kill "no line $kill_at in 20 s"
exec 9<"/proc/$pid/ns/net" || fail kill "cannot open the net namespace of $pid"
t=$(now_ms)
"$cr" checkpoint --kill --net-lock "$pid" "$tmp/kill.img" >/dev/null 2>"$tmp/kill.ck.err" ||
	fail kill "cr checkpoint --kill exited $?"
t_ck=$(($(now_ms) - t))
wait "$pid"
wait_for 10 ns_empty || fail kill "the job is still there 10 s after cr checkpoint --kill"
# Connections the job closed before the checkpoint (the TCP BTL drops one of
# two crossed connects) left TIME_WAIT sockets on its listeners' ports, which
# would block the bind of the restored listeners (EADDRINUSE): cr restart
# destroys them (sk-inet.c bind_sock).
t=$(now_ms)
unshare --ipc "$cr" restart --netns /proc/$$/fd/9 --net-lock "$tmp/kill.img" </dev/null \
	>>"$tmp/kill.out" 2>>"$tmp/kill.rst.err"
st=$?
t_rst=$(($(now_ms) - t))
exec 9<&-
check kill "$st"

# leave: checkpoint while the job runs on, its files copied while held; the
# job ends; then the image, its files put back, runs to its end too
start leave
wait_for 20 has_lines leave "$leave_at" && alive "$pid" || fail leave "no line $leave_at in 20 s"
"$hold" --net-lock "$pid" "$tmp/leave.img" sh -c \
	'cp -a /dev/shm "$1/shm" && cp -a "$2" "$1/sess" && stat -c %s "$3" >"$1/out.size"' \
	sh "$tmp/save" "$tmp/sess" "$tmp/leave.out" 2>"$tmp/leave.ck.err" ||
	fail leave "ckpt-hold exited $?"
wait "$pid"
check leave $?
# the job's stdout back to what it was at the checkpoint, as crd keeps it
cp "$tmp/leave.out" "$tmp/leave.first"
truncate -s "$(cat "$tmp/save/out.size")" "$tmp/leave.out" &&
	find /dev/shm "$tmp/sess" -mindepth 1 -delete &&
	cp -a "$tmp/save/shm/." /dev/shm && cp -a "$tmp/save/sess/." "$tmp/sess" ||
	setup_err "cannot put the job's files back"
# a net namespace of its own, not the job's: as on another node
unshare --net sh -c 'ip link set lo up && exec sleep 100' &
holder=$!
new_netns() { [ "$(readlink "/proc/$holder/ns/net")" != "$(readlink /proc/$$/ns/net)" ]; }
wait_for 5 new_netns || setup_err "no new net namespace"
exec 8<"/proc/$holder/ns/net" || setup_err "cannot open the new net namespace"
kill -KILL "$holder"
wait "$holder" 2>/dev/null
unshare --ipc "$cr" restart --netns /proc/$$/fd/8 --net-lock "$tmp/leave.img" </dev/null \
	>>"$tmp/leave.out" 2>>"$tmp/leave.rst.err"
st=$?
exec 8<&-
check leave "$st"

echo "ok mpi $btl: reference ${t_ref} ms, checkpoint --kill ${t_ck} ms," \
	"restart to the end ${t_rst} ms; total $(($(now_ms) - t0)) ms"
rc_final=0
exit

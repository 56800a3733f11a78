#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The owner policy (cr --owner) and the socket, event and SysV kinds: what
# the restarter does for an image of a user's tree it does with no more
# than that user's rights.
#   owner-kinds.sh CR IMG_EDIT_KINDS KINDS
# Run as root. The KINDS workload (workloads/kinds.c) runs as uid 4242 and is
# checkpointed with --owner 4242:4242 --kill; each image, as it is or edited
# (img-edit-kinds, checksums fixed), is restarted with --owner 4242:4242.
# Restored as the owner's: a socket file bound at restore belongs to the
# owner, buffer sizes are capped as for the owner, EPOLLWAKEUP is dropped, a
# SysV queue's creator is the owner, a TCP connection of the tree comes
# back. Refused, naming the task, fd and what:
# a unix socket bound, or a stale socket file removed, where the owner may
# not write; an inotify watch the owner may not place, an inotify instance
# beyond the owner's fs.inotify.max_user_instances; a repaired TCP
# connection whose other end is not in the image; SO_MARK, SO_PRIORITY
# above 6, a privileged port; a timerfd on an alarm clock; an epoll target
# the task does not hold, or the epoll itself; SysV objects owned by or
# created by another uid or group, a queue's qbytes above msgmnb (and an
# object that came back with another id is not left behind); an object
# twice in the image; a listener whose backlog no longer holds its pending
# connections (a clear error, not a hang).
set -u
set -o pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # wait_for, alive

cr=$(readlink -f "$1")
edit=$(readlink -f "$2")
kinds=$(readlink -f "$3")
owner=4242 # no one else's: its inotify instances are counted
[ "$(id -u)" = 0 ] || { echo "owner-kinds: must run as root" >&2; exit 2; }
tmp=$(mktemp -d /var/tmp/cr-okinds.XXXXXX)
chmod 755 "$tmp"
pub=$tmp/pub
mkdir -m 755 "$pub" "$tmp/rootdir" && chown $owner:$owner "$pub"
mkdir -m 700 "$tmp/private"
fails=0
pids=()

cleanup() {
	[ ${#pids[@]} -eq 0 ] || kill -9 "${pids[@]}" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

as_owner=(setpriv "--reuid=$owner" "--regid=$owner" --clear-groups)
# The owner runs its copy of the workload from $tmp: the build tree may be
# below a directory it cannot enter (a clone under /root).
install -m 0755 "$kinds" "$tmp/kinds"
kinds=$tmp/kinds
cd "$tmp" || exit 1
ready() { grep -q READY "$1"; }

# ckpt MODE [ARG] [-- WRAP...]: the workload as the owner, checkpointed into $tmp/MODE.img
ckpt() {
	local mode=$1 arg=${2:-} p rc
	shift 2 2>/dev/null || shift
	setsid "$@" "${as_owner[@]}" "$kinds" "$mode" ${arg:+"$arg"} </dev/null >"$tmp/$mode.run" 2>&1 &
	p=$!
	pids+=("$p")
	WAIT_POLL=0.02 wait_for 10 ready "$tmp/$mode.run" || { fail "$mode: never READY"; return 1; }
	# shellcheck disable=SC2086 # CK_OPTS: options, split on purpose
	"$cr" checkpoint --owner $owner:$owner --kill ${CK_OPTS:-} "$p" "$tmp/$mode.img" 2>"$tmp/ck.err"
	rc=$?
	wait "$p" 2>/dev/null
	[ $rc -eq 0 ] || { fail "$mode: checkpoint exit $rc"; sed 's/^/    /' "$tmp/ck.err"; return 1; }
}

# image MODE [KIND N FIELD VALUE | dup KIND]: a copy of MODE's image, edited, in $tmp/e
image() {
	local mode=$1
	shift
	rm -rf "$tmp/e"
	cp -a "$tmp/$mode.img" "$tmp/e"
	[ $# -eq 0 ] || "$edit" "$tmp/e" "$@" || fail "could not edit $mode's image: $*"
}

# restart [WRAP...]: restart $tmp/e as the owner's; rc in $rc, root pid in $rpid
restart() {
	rpid=
	# shellcheck disable=SC2086 # RST_OPTS: options, split on purpose
	timeout 30 "$@" "$cr" restart --owner $owner:$owner --pidns --detach ${RST_OPTS:-} \
		--inherit-fd stdout=3 "$tmp/e" 3>"$tmp/rst.out" >"$tmp/rst.pid" 2>"$tmp/rst.err"
	rc=$?
	rpid=$(head -n1 "$tmp/rst.pid" 2>/dev/null)
	[ -z "$rpid" ] || pids+=("$rpid")
}

# refused NAME WANT [WRAP...]: the restart of $tmp/e fails and says WANT
refused() {
	local name=$1 want=$2
	shift 2
	restart "$@"
	if [ $rc -eq 0 ]; then
		fail "$name: restored, want refused (\"$want\")"
		kill -9 "$rpid" 2>/dev/null
	elif [ $rc -eq 124 ]; then
		fail "$name: the restart hung (killed after 30 s)"
	elif ! grep -qF -- "$want" "$tmp/rst.err"; then
		fail "$name: exit $rc, the refusal does not say \"$want\""
		sed 's/^/    /' "$tmp/rst.err"
	else
		echo "ok: $name refused ($(grep -m1 -F -- "$want" "$tmp/rst.err" | cut -c1-160))"
	fi
}

# restored NAME [WRAP...]: the restart of $tmp/e works
restored() {
	local name=$1
	shift
	restart "$@"
	[ $rc -eq 0 ] && [ -n "$rpid" ] && return 0
	fail "$name: restart exit $rc"
	sed 's/^/    /' "$tmp/rst.err"
	return 1
}

# buffers NAME MAX: the restored workload's printed sndbuf and rcvbuf are at most MAX
buffers() {
	local name=$1 max=$2 line snd rcv
	kill -USR1 "$rpid"
	WAIT_POLL=0.02 wait_for 5 grep -q sndbuf= "$tmp/rst.out" || { fail "$name: no report"; return; }
	line=$(grep -m1 sndbuf= "$tmp/rst.out")
	snd=${line#sndbuf=}
	snd=${snd%% *}
	rcv=${line##*rcvbuf=}
	if [ "$snd" -gt "$max" ] || [ "$rcv" -gt "$max" ]; then
		fail "$name: restored with $line, above the owner's $max"
	else
		echo "ok: $name capped ($line, the owner's most $max)"
	fi
}

wmem_max=$(cat /proc/sys/net/core/wmem_max)
rmem_max=$(cat /proc/sys/net/core/rmem_max)
bufmax=$(((wmem_max > rmem_max ? wmem_max : rmem_max) * 2))
huge=$((512 << 20))

# ---- unix sockets ----
if ckpt unix "$pub"; then
	image unix
	if restored "unix listener"; then
		u=$(stat -c %u "$pub/sock")
		[ "$u" = $owner ] || fail "unix listener: the restored socket file belongs to uid $u"
		[ "$u" != $owner ] || echo "ok: the restored socket file belongs to uid $owner"
		kill -9 "$rpid"
	fi
	image unix unix 1 rcvbuf $huge
	"$edit" "$tmp/e" unix 1 sndbuf $huge || fail "could not edit sndbuf"
	if restored "unix buffers of 512 MiB"; then
		buffers "unix buffers of 512 MiB" $bufmax
		kill -9 "$rpid"
	fi
	image unix unix 0 name "$tmp/private/sock"
	refused "unix socket bound in a directory the owner can't write" \
		"Can't bind unix socket"
	[ ! -e "$tmp/private/sock" ] || fail "a socket file was made in $tmp/private"
	python3 -c 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' \
		"$tmp/rootdir/stale"
	image unix unix 0 name "$tmp/rootdir/stale"
	refused "root's stale socket file removed" "Can't bind unix socket"
	[ -S "$tmp/rootdir/stale" ] || fail "root's stale socket file $tmp/rootdir/stale was removed"
	image unix dup unix
	refused "a unix socket twice in the image" "twice in the image"
fi
if ckpt pending "$pub"; then
	image pending
	# shellcheck disable=SC2016
	refused "pending connections beyond somaxconn" "backlog is full" \
		unshare --net sh -c 'sysctl -qw net.core.somaxconn=1 && exec "$@"' sh
fi

# ---- inotify ----
if ckpt inotify "$pub"; then
	image inotify inotify 0 path.0 "$tmp/private"
	refused "inotify watch on a directory the owner can't read" "Can't watch $tmp/private"
	# every inotify instance the owner may have, held: the restored one is the owner's too
	setsid "${as_owner[@]}" "$kinds" ifill </dev/null >"$tmp/ifill.run" 2>&1 &
	pids+=($!)
	if WAIT_POLL=0.02 wait_for 10 ready "$tmp/ifill.run"; then
		image inotify
		refused "inotify beyond the owner's max_user_instances" "Can't create inotify"
	else
		fail "the inotify filler never got READY"
	fi
	kill -9 "${pids[-1]}"
fi

# ---- TCP and UDP (inet_opts[]: 2 SO_SNDBUF, 3 SO_RCVBUF, 7 SO_PRIORITY, 11 SO_MARK) ----
if ckpt tcp; then
	image tcp inet 0 opt.11 7
	refused "SO_MARK" "fd 3: SO_MARK 7 needs CAP_NET_ADMIN"
	image tcp inet 1 opt.7 7
	refused "SO_PRIORITY 7" "fd 4: SO_PRIORITY 7 needs CAP_NET_ADMIN"
	image tcp inet 0 port 80
	refused "a privileged port" "fd 3: port 80 is below net.ipv4.ip_unprivileged_port_start"
	image tcp inet 0 opt.2 $huge
	"$edit" "$tmp/e" inet 0 opt.3 $huge || fail "could not edit SO_RCVBUF"
	if restored "TCP buffers of 512 MiB"; then
		buffers "TCP buffers of 512 MiB" $bufmax
		kill -9 "$rpid"
	fi
fi

# ---- a TCP connection (repaired) in a net namespace of its own ----
# shellcheck disable=SC2016
netns=(unshare --net sh -c 'ip link set lo up && exec "$@"' sh)
if CK_OPTS=--net-lock ckpt conn "" "${netns[@]}"; then
	# restored into another net namespace, kept by a holder
	"${netns[@]}" sleep 600 &
	pids+=($!)
	WAIT_POLL=0.02 wait_for 5 test "$(readlink /proc/$!/ns/net)" != "$(readlink /proc/self/ns/net)"
	rst_net="--net-lock --netns /proc/$!/ns/net"
	image conn
	if RST_OPTS=$rst_net restored "TCP connection"; then
		echo "ok: the owner's TCP connection restored"
		kill -9 "$rpid"
	fi
	# the client's peer moved to a port no socket of the image has: sent to elsewhere
	image conn inet 0 dstport 9
	RST_OPTS=$rst_net refused "a repaired connection to outside the image" "fd 3: TCP connection"
	grep -qF "its other end is not in the image" "$tmp/rst.err" ||
		fail "a repaired connection to outside the image: not said why"
fi

# ---- timerfd, epoll ----
if ckpt timerfd; then
	image timerfd timerfd 0 clockid 8
	refused "timerfd on CLOCK_REALTIME_ALARM" "fd 3: timerfd clock CLOCK_REALTIME_ALARM needs CAP_WAKE_ALARM"
	image timerfd timerfd 0 clockid 9
	refused "timerfd on CLOCK_BOOTTIME_ALARM" "fd 3: timerfd clock CLOCK_BOOTTIME_ALARM needs CAP_WAKE_ALARM"
fi
if ckpt epoll; then
	image epoll epoll 0 events.0 $((0x20000000 | 0x1))
	if restored "EPOLLWAKEUP"; then
		ev=$(awk '/^tfd:/ { print $4 }' "/proc/$rpid/fdinfo/3")
		if [ -z "$ev" ] || [ $((0x$ev & 0x20000000)) -ne 0 ]; then
			fail "EPOLLWAKEUP: the restored target's events are '$ev'"
		else
			echo "ok: EPOLLWAKEUP dropped (events $ev)"
		fi
		kill -9 "$rpid"
	fi
	image epoll epoll 0 holder.0 999
	refused "an epoll target the task does not hold" "fd 999, which the task does not hold"
	image epoll epoll 0 tfd.0 3
	refused "an epoll watching itself" "is the epoll itself"
fi

# ---- SysV IPC, in an IPC namespace of the workload's own ----
if ckpt ipc "" unshare --ipc; then
	image ipc
	if restored "SysV objects" unshare --ipc; then
		# shellcheck disable=SC2016 # awk's
		cuid=$(nsenter --ipc="/proc/$rpid/ns/ipc" awk 'NR == 2 { print $10 }' /proc/sysvipc/msg)
		[ "$cuid" = $owner ] || fail "SysV objects: the restored queue's creator is uid '$cuid'"
		[ "$cuid" != $owner ] || echo "ok: the restored queue's creator is uid $owner"
		kill -9 "$rpid"
	fi
	for f in uid cuid; do
		image ipc msg 0 $f 0
		refused "SysV queue with $f 0" "msg id 0: $f is 0, the job's owner is $owner" unshare --ipc
	done
	image ipc sem 0 gid 0
	refused "SysV semaphores with gid 0" "gid is 0, not a group of the job's owner" unshare --ipc
	image ipc shm 0 cgid 0
	refused "SysV shm with cgid 0" "cgid is 0, not a group of the job's owner" unshare --ipc
	image ipc msg 0 qbytes $(($(cat /proc/sys/kernel/msgmnb) + 1))
	refused "SysV queue above msgmnb" "above kernel.msgmnb" unshare --ipc
	# the second queue given the first's id (0): it comes back with another, which must go
	image ipc msg 1 id 0
	# shellcheck disable=SC2016
	refused "two SysV queues with one id" "came back as id" unshare --ipc sh -c \
		'"$@"; rc=$?; tail -n +2 /proc/sysvipc/msg >'"$tmp/left"'; exit $rc' sh
	[ ! -s "$tmp/left" ] || { fail "the failed restart left SysV queues behind:"; cat "$tmp/left"; }
fi

echo "owner-kinds: $fails failed"
[ $fails -eq 0 ]

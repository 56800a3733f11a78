#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# The owner policy (cr --owner, struct cr_owner): a tree checkpointed and
# restored on behalf of a user never holds more than that user.
#   owner-policy.sh CR IMG_EDIT
# Run as root. A loop running as uid 1000 is checkpointed and restored with
# --owner 1000:1000 and runs on as uid 1000. Images of it edited (checksums
# fixed) to give it more are refused at restart, naming the task and the
# field, with nothing left running: uid 0, gid 0, a group the owner lacks,
# capability sets, a bounding set beyond cr's, an undefined securebit, a
# hard limit above cr's, a chroot, a cwd the owner cannot enter. Checkpoints
# of trees holding more are refused, naming the task, and the tree runs on:
# a setuid program (effective uid 0), a task in its own user namespace
# (unshare -Ur).
set -u
set -o pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # wait_for, alive

cr=$(readlink -f "$1")
edit=$(readlink -f "$2")
owner=1000
[ "$(id -u)" = 0 ] || { echo "owner-policy: must run as root" >&2; exit 2; }
tmp=$(mktemp -d /var/tmp/cr-owner.XXXXXX)
chmod 755 "$tmp"
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

as_owner=(setpriv --reuid=$owner --regid=$owner --clear-groups)
uid_of() { awk '/^Uid:/ { print $2, $3, $4, $5 }' "/proc/$1/status" 2>/dev/null; }
grew() { [ "$(wc -l <"$1")" -gt "$2" ]; }

# ---- a task of the owner's: checkpointed and restored as the owner's ----
cd "$tmp" || exit 1
# shellcheck disable=SC2016 # (expanded by the loop's bash)
loop='i=0; while :; do echo $i; i=$((i+1)); sleep 0.05; done'
setsid "${as_owner[@]}" bash -c "$loop" \
	</dev/null >"$tmp/run.out" 2>&1 &
pid=$!
pids+=("$pid")
WAIT_POLL=0.02 wait_for 10 grew "$tmp/run.out" 2 || fail "the loop never got going"
"$cr" checkpoint --owner $owner:$owner --kill "$pid" "$tmp/good" 2>"$tmp/ck.err"
rc=$?
if [ $rc -ne 0 ]; then
	fail "checkpoint of the owner's loop with --owner: exit $rc"
	sed 's/^/    /' "$tmp/ck.err"
	echo "owner-policy: $fails failed"
	exit 1
fi
wait "$pid" 2>/dev/null
task=$("$cr" info --json "$tmp/good" | python3 -c 'import json,sys; print(json.load(sys.stdin)["tasks"][0]["pid"])')

"$cr" restart --owner $owner:$owner --pidns --detach --inherit-fd stdout=3 "$tmp/good" \
	3>"$tmp/good.out" >"$tmp/good.pid" 2>"$tmp/good.err"
rc=$?
rpid=$(head -n1 "$tmp/good.pid")
if [ $rc -ne 0 ] || [ -z "$rpid" ]; then
	fail "restart of the good image with --owner: exit $rc"
	sed 's/^/    /' "$tmp/good.err"
else
	pids+=("$rpid")
	WAIT_POLL=0.02 wait_for 10 grew "$tmp/good.out" 2 || fail "the restored loop does not run"
	ids=$(uid_of "$rpid")
	[ "$ids" = "$owner $owner $owner $owner" ] || fail "the restored loop's uids are '$ids'"
	kill -9 "$rpid" 2>/dev/null
	echo "ok: the owner's loop restored as uid $owner"
fi

# ---- edited images: refused at restart, before any task exists ----
# refused NAME MESSAGE FIELD VALUE
refused() {
	local name=$1 msg=$2 rc sid
	shift 2
	rm -rf "$tmp/bad"
	cp -a "$tmp/good" "$tmp/bad"
	"$edit" "$tmp/bad" task "$task" "$@" || { fail "$name: could not edit the image"; return; }
	setsid "$cr" restart --owner $owner:$owner --pidns --inherit-fd stdout=3 "$tmp/bad" \
		3>"$tmp/bad.out" >/dev/null 2>"$tmp/bad.err" &
	sid=$!
	wait "$sid"
	rc=$?
	[ $rc -eq 1 ] || fail "$name: exit $rc, want 1 (refused)"
	grep -qF -- "Task $task: $msg" "$tmp/bad.err" ||
		{ fail "$name: the refusal does not say \"Task $task: $msg\""; sed 's/^/    /' "$tmp/bad.err"; }
	[ ! -s "$tmp/bad.out" ] || fail "$name: a restored task ran"
	! pgrep -s "$sid" >/dev/null || fail "$name: the refused restart left processes"
	echo "ok: $name refused ($(grep -m1 -o "Task $task: .*" "$tmp/bad.err"))"
}

hard_nofile=$(ulimit -Hn)
[ "$hard_nofile" != unlimited ] || hard_nofile=$((1 << 20))
mkdir -m 700 "$tmp/private"

refused "uid 0" "uid[1] (effective) is 0, the job's owner is $owner" uid1 0
refused "fs uid 0" "uid[3] (fs) is 0" uid3 0
refused "gid 0" "gid[0] (real) is 0, not a group of the job's owner" gid0 0
refused "a group the owner lacks" "supplementary group 0 is not a group" group 0
refused "permitted caps" "its permitted capabilities are 0x200000" cap_prm 0x200000
refused "effective caps" "its effective capabilities are 0x1" cap_eff 0x1
refused "inheritable caps" "its inheritable capabilities are 0x1" cap_inh 0x1
refused "ambient caps" "its ambient capabilities are 0x1" cap_amb 0x1
refused "bounding set" "its bounding set 0xffffffffffffffff has" cap_bnd 0xffffffffffffffff
refused "undefined securebit" "securebits 0x100 has bits the kernel does not define" \
	securebits 0x100
refused "raised hard limit" "rlimit NOFILE (hard) is $((hard_nofile + 1))" \
	rlim_max.7 $((hard_nofile + 1))
refused "raised soft limit" "rlimit NOFILE (soft) is $((hard_nofile + 1))" \
	rlim_cur.7 $((hard_nofile + 1))
refused "chroot" "its root is /tmp, not /" root /tmp
refused "cwd the owner cannot enter" "its cwd $tmp/private can't be entered" cwd "$tmp/private"

# ---- checkpoints refused: the tree runs on ----
# refuse_ckpt NAME MESSAGE WANT_EXIT CMD...
refuse_ckpt() {
	local name=$1 msg=$2 want=$3 p rc
	shift 3
	"$@" </dev/null >/dev/null 2>&1 &
	p=$!
	pids+=("$p")
	sleep 0.3 # setpriv and unshare exec into sleep
	"$cr" checkpoint --owner $owner:$owner "$p" "$tmp/ck-$want" 2>"$tmp/ck.err"
	rc=$?
	[ $rc -eq "$want" ] || fail "$name: checkpoint exit $rc, want $want"
	grep -qF -- "Task $p: $msg" "$tmp/ck.err" ||
		{ fail "$name: the refusal does not say \"Task $p: $msg\""; sed 's/^/    /' "$tmp/ck.err"; }
	[ ! -e "$tmp/ck-$want" ] || fail "$name: the refused checkpoint left an image"
	alive "$p" || fail "$name: the tree did not run on"
	grep -q '^State:.*[RS]' "/proc/$p/status" || fail "$name: the tree is left $(grep ^State: "/proc/$p/status")"
	kill -9 "$p" 2>/dev/null
	echo "ok: $name refused at checkpoint ($(grep -m1 -o "Task $p: .*" "$tmp/ck.err"))"
}

refuse_ckpt "setuid program" "uid[1] (effective) is 0, the job's owner is $owner" 1 \
	setpriv --ruid=$owner --rgid=$owner --egid=$owner --clear-groups sleep 30
if "${as_owner[@]}" unshare -Ur true 2>/dev/null; then
	refuse_ckpt "user namespace" "it runs in user namespace" 3 "${as_owner[@]}" unshare -Ur sleep 30
else
	refuse_ckpt "user namespace" "it runs in user namespace" 3 unshare -Ur sleep 30
fi

echo "owner-policy: $fails failed"
[ $fails -eq 0 ]

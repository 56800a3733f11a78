#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# What a rollback cuts is kept (cr restart --rollback-files --keep-cut):
#   keep-cut.sh CR
# A shell appends to a file it holds open, is checkpointed and killed; more
# is appended (what the job wrote after its checkpoint). The restart cuts
# the file back to its checkpoint length and first keeps the cut bytes in
# DIR/1.tail, listed in DIR/index (cloned or copied); with a bound of 0
# bytes (and no clone) it keeps nothing and says so, and the restart still
# goes on. Without --keep-cut the cut bytes are gone, as before.
set -u
set -o pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # wait_for

cr=$1
tmp=$(mktemp -d /var/tmp/cr-keepcut.XXXXXX)
fails=0
pid=

cleanup() {
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
fail() {
	echo "FAIL: $*"
	fails=$((fails + 1))
}

# round NAME KEEP-ARGS...: checkpoint, append, restart with the args; the data file's state after.
round() {
	local name=$1
	shift
	mkdir -p "$tmp/$name"
	printf 'before the checkpoint\n' >"$tmp/$name/data"
	setsid bash -c 'exec 3>>"$1/data"; echo ready; while [ ! -e "$1/go" ]; do sleep 0.05; done
		echo "resumed" >&3' bash "$tmp/$name" >"$tmp/$name/run.out" 2>&1 </dev/null &
	pid=$!
	wait_for 10 grep -q ready "$tmp/$name/run.out" || fail "$name: the workload did not start"
	"$cr" checkpoint --kill "$pid" "$tmp/$name/img" >"$tmp/$name/ck.out" 2>&1 ||
		fail "$name: checkpoint: $(cat "$tmp/$name/ck.out")"
	wait "$pid" 2>/dev/null
	pid=
	printf 'written after the checkpoint: %s\n' "$name" >>"$tmp/$name/data"
	"$cr" restart --pidns --detach --rollback-files "$@" "$tmp/$name/img" \
		>"$tmp/$name/rst.out" 2>"$tmp/$name/rst.err" </dev/null ||
		fail "$name: restart: $(cat "$tmp/$name/rst.err")"
	: >"$tmp/$name/go"
	wait_for 10 grep -q resumed "$tmp/$name/data" || fail "$name: the restored shell did not write"
	[ "$(cat "$tmp/$name/data")" = "before the checkpoint
resumed" ] || fail "$name: data after the restart: $(cat "$tmp/$name/data")"
}

mkdir "$tmp/keep" "$tmp/none"
round kept --keep-cut "$tmp/keep"
tail_want="written after the checkpoint: kept"
[ "$(cat "$tmp/keep/1.tail" 2>/dev/null)" = "$tail_want" ] ||
	fail "kept: 1.tail is not the cut bytes: $(cat "$tmp/keep/1.tail" 2>&1)"
printf -v line '1\t22\t%s\t' "$((${#tail_want} + 1))"
grep -qE "^${line}(cloned|copied)	$tmp/kept/data\$" "$tmp/keep/index" ||
	fail "kept: index: $(cat "$tmp/keep/index" 2>&1)"

round bounded --keep-cut "$tmp/none:0"
grep -qE "^1	22	[0-9]+	(not kept|cloned)	$tmp/bounded/data\$" "$tmp/none/index" ||
	fail "bounded: index: $(cat "$tmp/none/index" 2>&1)"
if grep -q "not kept" "$tmp/none/index"; then
	[ ! -e "$tmp/none/1.tail" ] || fail "bounded: a tail was kept beyond the bound"
fi

round plain
[ "$fails" = 0 ] && echo "ok: the cut tail kept, bounded, and not kept without --keep-cut"
exit $((fails > 0))

#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Bad images are refused with a clear error and nothing of them left running,
# while the tree they came from (checkpointed with --leave-running) runs on
# and finishes right:
#   bad-image.sh CR IMG_EDIT WORKLOAD
# Cases: a bit flipped in a page file, in image.cr, image.cr truncated, a
# page file truncated, a page file missing, and hand-edited headers (checksum
# fixed) from a CPU without our xsave features, with another xsave size, from
# a newer kernel, another image version, another architecture.
set -u
set -o pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # wait_for

cr=$1
edit=$2
workload=$3
tmp=$(mktemp -d /var/tmp/cr-bad-image.XXXXXX)
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

mkdir "$tmp/ref" "$tmp/run"
"$workload" "$tmp/ref" >"$tmp/ref.out"

"$workload" "$tmp/run" >"$tmp/run.out" &
pid=$!
going() { [ "$(wc -l <"$tmp/run.out")" -ge 8 ]; }
WAIT_POLL=0.02 wait_for 20 going || { echo "FAIL: workload never got going"; exit 1; }
"$cr" checkpoint --leave-running "$pid" "$tmp/good" || { echo "FAIL: checkpoint"; exit 1; }
pids=$("$cr" info --json "$tmp/good" | python3 -c 'import json,sys; print(" ".join(str(t["pid"]) for t in json.load(sys.stdin)["tasks"]))')
# Hold the tree while the bad restores run, so it is not done before we
# check that it runs on; SIGCONT afterwards.
kill -STOP $pids 2>/dev/null
page=$(cd "$tmp/good" && ls pages-*.img | head -n 1)

# case NAME EXPECTED_EXIT GREP_MESSAGE MUTATION...
case_() {
	local name=$1 want=$2 msg=$3 rc sid
	shift 3
	rm -rf "$tmp/bad"
	cp -a "$tmp/good" "$tmp/bad"
	(cd "$tmp/bad" && eval "$*") || { fail "$name: could not damage the image"; return; }
	# in a session of its own, so whatever it leaves behind can be found
	setsid "$cr" restart --pidns "$tmp/bad" >"$tmp/bad.out" 2>"$tmp/bad.err" &
	sid=$!
	wait "$sid"
	rc=$?
	if [ "$rc" -ne "$want" ]; then
		fail "$name: exit $rc, want $want"
		sed 's/^/    /' "$tmp/bad.err"
	fi
	if ! grep -q -- "$msg" "$tmp/bad.err"; then
		fail "$name: message does not say \"$msg\""
		sed 's/^/    /' "$tmp/bad.err"
	fi
	if [ -s "$tmp/bad.out" ]; then
		fail "$name: a restored task wrote output"
	fi
	# nothing of the image may run: nothing is left in the restart's session
	if pgrep -s "$sid" >/dev/null; then
		fail "$name: the failed restart left processes: $(pgrep -s "$sid" | tr '\n' ' ')"
	fi
	echo "ok: $name (exit $rc)"
}

flip() { # flip one bit of FILE at OFFSET
	printf "$(printf '\\x%02x' $(( $(od -An -tu1 -j "$2" -N1 "$1") ^ 4 )))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

case_ "page bit flip" 4 "checksum mismatch" "flip $page 100"
case_ "record bit flip" 4 "checksum mismatch" "flip image.cr 300"
case_ "image.cr truncated" 4 "truncated" "truncate -s 1000 image.cr"
case_ "page file truncated" 4 "$page" "truncate -s 4096 $page"
case_ "page file missing" 4 "$page" "rm $page"
case_ "CPU lacks xsave features" 4 "xsave features" "$edit . xfeatures 0xffffffffffff"
case_ "other xsave size" 4 "xsave area" "$edit . xsave_size 123456"
case_ "newer kernel" 4 "older" "$edit . kernel 99.1.0"
case_ "other image version" 4 "image version" "$edit . version 99"
case_ "other architecture" 4 "aarch64" "$edit . arch aarch64"

# the original runs on and finishes exactly as an uninterrupted run
kill -CONT $pids 2>/dev/null
wait "$pid"
st=$?
pid=
[ "$st" -eq 0 ] || fail "the original exited $st"
cmp -s "$tmp/ref.out" "$tmp/run.out" || { fail "the original's output differs"; diff "$tmp/ref.out" "$tmp/run.out" | head; }
# and the good image still restores: what it prints ends the reference
"$cr" restart --pidns "$tmp/good" >"$tmp/good.out" 2>"$tmp/good.err" || fail "good image: exit $?"
n=$(wc -l <"$tmp/good.out")
if [ "$n" -lt 5 ] || ! tail -n "$n" "$tmp/ref.out" | cmp -s - "$tmp/good.out"; then
	fail "good image: its output is not the end of the reference"
	sed 's/^/    /' "$tmp/good.err"
fi
echo "bad-image: $((11 - fails)) passed, $fails failed"
[ $fails -eq 0 ]

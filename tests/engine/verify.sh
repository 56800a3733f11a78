#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# Image digests: the bytes checked are the bytes used.
#   verify.sh CR IMG_EDIT PATTERN hooks|nohooks
# Cases:
#   1. the digests `cr checkpoint --digests` computed while writing equal the
#      BLAKE2b-256 of every 1 MiB chunk of the files as written (b2sum), and
#      name exactly the files of the image;
#   2. a page file changed by one byte: refused with --verify, exit 4, naming
#      the file and the chunk; the same with its size and checksum in image.cr
#      fixed (they have no key): restored without --verify (the memory is
#      corrupt: the change went unnoticed), refused with --verify;
#   3. (hooks: a CR_TEST_HOOKS build) the image swapped for another one of
#      the same process while the restore is held after checking a chunk
#      (CR_TEST_PAUSE_AFTER_VERIFY), in place and by rename: the restore is
#      refused or exact, the other image's bytes are never used.
# CR_VERIFY_OLD=1 (to show the hole it closes) runs case 3 only, as the agent
# did before issue 10: the files checked (b2sum), then the restart reads them
# by path (no --verify); there the swapped image is used.
set -u
set -o pipefail
# shellcheck source=tests/lib.sh
. "$(dirname "$(readlink -f "$0")")/../lib.sh" # wait_for

cr=$1
edit=$2
pattern=$3
hooks=$4
tmp=$(mktemp -d /var/tmp/cr-verify.XXXXXX)
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

# chunk_digests FILE: the BLAKE2b-256 of each 1 MiB chunk of FILE, one a line
chunk_digests() {
	local d
	d=$(mktemp -d "$tmp/split.XXXXXX")
	split -b 1048576 -a 4 "$1" "$d/c."
	for c in "$d"/c.*; do
		[ -e "$c" ] && b2sum -l 256 "$c" | cut -d' ' -f1
	done
	rm -rf "$d"
}

# The images: A at generation 1, B at generation 2, of the same process.
mkdir "$tmp/w"
"$pattern" "$tmp/w" >"$tmp/run.out" &
pid=$!
ready() { grep -q ready "$tmp/run.out"; }
WAIT_POLL=0.02 wait_for 20 ready || { echo "FAIL: workload never got ready"; exit 1; }
if [ "${CR_VERIFY_OLD:-0}" = 1 ]; then
	"$cr" checkpoint --leave-running "$pid" "$tmp/A" || { echo "FAIL: checkpoint A"; exit 1; }
else
	"$cr" checkpoint --leave-running --digests "$tmp/A.json" "$pid" "$tmp/A" ||
		{ echo "FAIL: checkpoint A with --digests"; exit 1; }
fi
touch "$tmp/w/bump"
bumped() { grep -q "gen 2" "$tmp/run.out"; }
WAIT_POLL=0.02 wait_for 20 bumped || { echo "FAIL: workload never bumped"; exit 1; }
"$cr" checkpoint --kill "$pid" "$tmp/B" || { echo "FAIL: checkpoint B"; exit 1; }
wait "$pid" 2>/dev/null
pid=
page=$(cd "$tmp/A" && ls pages-*.img)

# restore NAME DIR [CR_RESTART_ARGS...]: restart DIR in a session of its own,
# ask the restored process for its report; RC, OUT, ERR of the restart.
restore() {
	local name=$1 dir=$2 sid
	shift 2
	rm -f "$tmp/w/report"
	setsid "$cr" restart --pidns "$@" "$dir" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	sid=$!
	restarted() { [ -s "$tmp/$name.err" ] || ! kill -0 "$sid" 2>/dev/null || pgrep -s "$sid" -f "$pattern" >/dev/null; }
	WAIT_POLL=0.02 wait_for 60 restarted
	touch "$tmp/w/report"
	wait "$sid"
	RC=$?
	OUT=$(cat "$tmp/$name.out")
	ERR=$(cat "$tmp/$name.err")
	rm -f "$tmp/w/report"
	if pgrep -s "$sid" >/dev/null; then
		fail "$name: the restart left processes: $(pgrep -s "$sid" | tr '\n' ' ')"
		pkill -9 -s "$sid"
	fi
}

# refused_or_exact NAME: the restore was refused for a digest, or restored A
refused_or_exact() {
	if [ "$RC" -eq 4 ] && grep -q "does not match its digest" <<<"$ERR" && [ -z "$OUT" ]; then
		echo "ok: $1 (refused: $(grep -o '[^ ]*: chunk [0-9]* ([^)]*)' <<<"$ERR" | head -n 1))"
	elif [ "$RC" -eq 0 ] && [ "$OUT" = "report gen 1 ok" ]; then
		echo "ok: $1 (restored exactly)"
	else
		fail "$1: exit $RC, output \"$OUT\" (want a refusal or \"report gen 1 ok\")"
		sed 's/^/    /' <<<"$ERR"
	fi
}

# 1. digests computed while writing == digests of the files as written
if [ "${CR_VERIFY_OLD:-0}" != 1 ]; then
	names=$(jq -r '.files[].name' "$tmp/A.json" | sort | tr '\n' ' ')
	files=$(cd "$tmp/A" && ls | sort | tr '\n' ' ')
	[ "$names" = "$files" ] || fail "digests name \"$names\", the image holds \"$files\""
	for f in $files; do
		want=$(chunk_digests "$tmp/A/$f")
		got=$(jq -r --arg f "$f" '.files[] | select(.name == $f) | .chunks[]' "$tmp/A.json")
		size=$(jq -r --arg f "$f" '.files[] | select(.name == $f) | .size' "$tmp/A.json")
		[ "$want" = "$got" ] || fail "$f: digests while writing differ from b2sum of the file"
		[ "$size" = "$(stat -c %s "$tmp/A/$f")" ] || fail "$f: size $size in the digests"
	done
	echo "ok: digests of $(wc -w <<<"$files") files equal b2sum's of their chunks"
fi

# 2. one byte of a page file changed (bad); the same with image.cr's
# checksums fixed to match (fixed: nothing but the digests can tell)
[ "${CR_VERIFY_OLD:-0}" = 1 ] || cp -a "$tmp/A" "$tmp/bad"
[ "${CR_VERIFY_OLD:-0}" = 1 ] || off=$(python3 -c '
import sys
d = open(sys.argv[1], "rb").read()
i = d.find(b"CRVPAT:1:300:", 1 << 20)
print(i + 1000 if i >= 0 else -1)' "$tmp/bad/$page")
if [ "${CR_VERIFY_OLD:-0}" = 1 ]; then
	: # the old pipeline has no digest list to give --verify
elif [ "$off" -lt 0 ]; then
	fail "page 300 of the pattern is not past the first chunk of $page"
else
	printf '\xee' | dd of="$tmp/bad/$page" bs=1 seek="$off" conv=notrunc status=none
	cp -a "$tmp/bad" "$tmp/fixed"
	"$edit" "$tmp/fixed" pagefile "$page" || fail "could not fix the checksums of $page"
	restore fixed-plain "$tmp/fixed"
	if [ "$RC" -eq 0 ] && [ "$OUT" = "report gen 1 corrupt" ]; then
		echo "ok: changed page, checksums fixed: restored unnoticed without --verify (memory corrupt)"
	else
		fail "fixed, without --verify: exit $RC, output \"$OUT\" (want the corrupt memory restored)"
	fi
	restore fixed-verify "$tmp/fixed" --verify "$tmp/A.json"
	if [ "$RC" -eq 4 ] && grep -q "does not match its digest" <<<"$ERR" && [ -z "$OUT" ]; then
		echo "ok: changed page, checksums fixed: refused with --verify: $(grep -o "[^ ]*: chunk.*" <<<"$ERR")"
	else
		fail "fixed, with --verify: exit $RC, output \"$OUT\", want exit 4"
		sed 's/^/    /' <<<"$ERR"
	fi
	restore bad-verify "$tmp/bad" --verify "$tmp/A.json"
	chunk=$((off / 1048576))
	if [ "$RC" -eq 4 ] && grep -q "$page: chunk $chunk (" <<<"$ERR" && [ -z "$OUT" ]; then
		echo "ok: changed page refused with --verify: $(grep -o "$page: chunk.*" <<<"$ERR")"
	else
		fail "with --verify: exit $RC, output \"$OUT\", want exit 4 naming $page chunk $chunk"
		sed 's/^/    /' <<<"$ERR"
	fi
fi

# 3. the image swapped for B while the restore is held after a check
# swap_case NAME PAUSE_FILE HOW: HOW is cp (in place) or mv (rename)
swap_case() {
	local name=$1 at=$2 how=$3 ctl=$tmp/ctl.$1 swapper
	rm -rf "$tmp/S"
	cp -a "$tmp/A" "$tmp/S"
	(
		paused() { [ -e "$ctl.paused" ]; }
		WAIT_POLL=0.02 wait_for 60 paused || exit 1
		for f in "$tmp/B"/*; do
			if [ "$how" = cp ]; then
				cp "$f" "$tmp/S/"
			else
				cp "$f" "$tmp/S/.new" && mv "$tmp/S/.new" "$tmp/S/${f##*/}"
			fi
		done
		touch "$ctl.go"
	) &
	swapper=$!
	CR_TEST_PAUSE_AFTER_VERIFY="$at:$ctl" restore "$name" "$tmp/S" --verify "$tmp/A.json"
	wait "$swapper" || fail "$name: the restore never paused after checking $at"
	refused_or_exact "$name"
}

# as before issue 10: the files checked, then the restore reads them by path
swap_old() {
	local name=$1 f
	rm -rf "$tmp/S"
	cp -a "$tmp/A" "$tmp/S"
	for f in "$tmp/A"/*; do # digests taken after the dump, by reading back
		chunk_digests "$f" >"$tmp/${f##*/}.sum"
	done
	for f in "$tmp/S"/*; do # checked before the restore
		cmp -s <(chunk_digests "$f") "$tmp/${f##*/}.sum" || fail "$name: $f changed before"
	done
	cp "$tmp/B"/* "$tmp/S/" # ...and swapped in between
	restore "$name" "$tmp/S"
	refused_or_exact "$name"
}

if [ "${CR_VERIFY_OLD:-0}" = 1 ]; then
	swap_old "swap after the check (checked, then read by path)"
elif [ "$hooks" = hooks ]; then
	swap_case "swap-in-place-after-image.cr" image.cr cp
	swap_case "swap-by-rename-after-image.cr" image.cr mv
	swap_case "swap-in-place-after-$page" "$page" cp
	swap_case "swap-by-rename-after-$page" "$page" mv
else
	echo "skip: swap during restore (needs a -DCR_TEST_HOOKS=ON build)"
fi

echo "verify: $fails failed"
[ $fails -eq 0 ]

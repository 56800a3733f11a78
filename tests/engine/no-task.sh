#!/usr/bin/env bash
# SPDX-License-Identifier: LGPL-2.1-or-later
#
# cr checkpoint of a pid that is no process exits 6 ("no such process", as
# cr --help says) and writes nothing:
#   no-task.sh CR hooks|nohooks
# Cases: a pid that was freed (its process reaped), a zombie, and the id of
# a thread that is not its process's main thread (/proc/TID exists, hidden:
# it used to be checkpointed as a one-task image under that id). With hooks
# (a -DCR_TEST_HOOKS=ON build: CR_TEST_PAUSE_BEFORE_SEIZE), a process that
# exits once cr found it, before it is seized: reaped, and left a zombie.
set -u
cr=$1
hooks=${2:-nohooks}
tmp=$(mktemp -d /var/tmp/cr-notask.XXXXXX)
fails=0
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT

# case NAME PID: cr checkpoint PID must exit 6 and leave no directory
case_() {
	local name=$1 pid=$2 rc
	CR_TEST_PAUSE_BEFORE_SEIZE=${CR_TEST_PAUSE_BEFORE_SEIZE:-0} \
		"$cr" checkpoint "$pid" "$tmp/img-$name" >"$tmp/$name.out" 2>"$tmp/$name.err"
	rc=$?
	if [ "$rc" != 6 ]; then
		echo "FAIL: $name (pid $pid): exit $rc, not 6: $(tail -n2 "$tmp/$name.err")"
		fails=$((fails + 1))
	elif [ -e "$tmp/img-$name" ]; then
		echo "FAIL: $name (pid $pid): exit 6 but $tmp/img-$name was written"
		fails=$((fails + 1))
	else
		echo "ok $name: $(head -n1 "$tmp/$name.err")"
	fi
}

# a freed pid
true &
freed=$!
wait "$freed"
case_ freed "$freed"

# a zombie: a child of a parent that never waits
python3 -c 'import os,time
p = os.fork()
if p == 0: os._exit(3)
print(p, flush=True); time.sleep(30)' >"$tmp/zpid" &
pids+=($!)
disown
for _ in $(seq 100); do [ -s "$tmp/zpid" ] && break; sleep 0.05; done
zpid=$(cat "$tmp/zpid")
for _ in $(seq 100); do grep -q '^State:.*Z' "/proc/$zpid/status" 2>/dev/null && break; sleep 0.05; done
case_ zombie "$zpid"

# a thread id
python3 -c 'import threading,time
def f():
    print(threading.get_native_id(), flush=True); time.sleep(30)
threading.Thread(target=f, daemon=True).start(); time.sleep(30)' >"$tmp/tid" &
pids+=($!)
disown
for _ in $(seq 100); do [ -s "$tmp/tid" ] && break; sleep 0.05; done
case_ thread "$(cat "$tmp/tid")"

if [ "$hooks" = hooks ]; then
	# reaped by this shell while cr waits
	sleep 0.3 &
	CR_TEST_PAUSE_BEFORE_SEIZE=1500 case_ exits-reaped "$!"
	# left a zombie by a parent that never waits
	python3 -c 'import os,time
p = os.fork()
if p == 0: time.sleep(0.3); os._exit(3)
print(p, flush=True); time.sleep(30)' >"$tmp/zpid2" &
	pids+=($!)
	disown
	for _ in $(seq 100); do [ -s "$tmp/zpid2" ] && break; sleep 0.05; done
	CR_TEST_PAUSE_BEFORE_SEIZE=1500 case_ exits-zombie "$(cat "$tmp/zpid2")"
else
	echo "skip: a process that exits while cr freezes it (needs -DCR_TEST_HOOKS=ON)"
fi

[ "$fails" = 0 ] && echo "PASS" && exit 0
exit 1

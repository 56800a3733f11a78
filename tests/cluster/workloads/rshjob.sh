#!/bin/bash
# cr-rsh from a checkpointable job's batch script (tests/cluster/test-rsh.sh).
#   rshjob.sh DIR CR-RSH NODE2
# A command on NODE2 with stdin, stdout, stderr and a status; a host that is
# no node of the job; megabytes through both ways.
dir=$1 rsh=$2 node2=$3
printf 'one\ntwo\n' | "$rsh" -x -o BatchMode=yes -p 22 "$node2" \
	'echo "$HOSTNAME"; cat; echo to-stderr >&2; exit 3' >"$dir/out" 2>"$dir/err"
echo $? >"$dir/status"
"$rsh" -n nosuchnode true >"$dir/bad.out" 2>"$dir/bad.err"
echo $? >"$dir/bad.status"
seq 1 300000 | "$rsh" "$node2" 'cat; seq 1 300000 >&2' >"$dir/big.out" 2>"$dir/big.err"
echo $? >"$dir/big.status"

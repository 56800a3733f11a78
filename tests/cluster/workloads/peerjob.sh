#!/bin/bash
# A job of two nodes talking over the job network: each step the batch
# script connects to its second node by name (which its container resolves
# to that slot's address) on port 7788, sends "step N" and prints the
# answer. Until an answer comes it tries again, quietly, so its output
# depends on nothing but its arguments.
#   peerjob.sh DIR STEPS
# DIR/starts gets one line each time the job starts from the top.
dir=$1 steps=${2:-60}
echo "start ${SLURM_JOB_ID:-?}" >>"$dir/starts"
peer=$(scontrol show hostnames "$SLURM_JOB_NODELIST" | sed -n 2p)
for name in "$(hostname)" "$peer"; do
	case $(getent hosts "$name") in
	100.64.*) echo "slot: a job address" ;;
	*) echo "slot: $(getent hosts "$name")" ;;
	esac
done
ask() {
	{ exec 3<>"/dev/tcp/$peer/7788"; } 2>/dev/null || return 1
	echo "step $1" >&3
	timeout 5 head -1 <&3
}
for ((i = 1; i <= steps; i++)); do
	until reply=$(ask "$i") && [ -n "$reply" ]; do sleep 0.2; done
	echo "$reply"
	sleep 0.25
done
echo "done"

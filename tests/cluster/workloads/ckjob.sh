#!/bin/bash
# A job to checkpoint: python threads, a pipeline into awk, a file it appends
# to, a deleted temporary file in /tmp (the heredoc), and bash waiting on a
# child in sleep. Its output depends on nothing but its arguments.
#   ckjob.sh DIR STEPS
# DIR/starts gets one line each time the job starts from the top; DIR/clocks
# how far its monotonic and wall clocks went.
dir=$1 steps=${2:-40}
echo "start ${SLURM_JOB_ID:-?}" >>"$dir/starts"
exec 3>>"$dir/data"
echo "begin $steps"
python3 - "$steps" 3 <<'EOF' | awk '{ print "awk:", $0; fflush() }'
import os, sys, threading, time

steps, fd = int(sys.argv[1]), int(sys.argv[2])
m0, w0 = time.monotonic(), time.time()
lock = threading.Lock()
total = [0]


def work(k):
    for i in range(steps):
        with lock:
            total[0] += k * i
        time.sleep(0.05)


threads = [threading.Thread(target=work, args=(k,)) for k in (1, 2, 3)]
for t in threads:
    t.start()
for i in range(steps):
    print("step", i, flush=True)
    os.write(fd, b"data %d\n" % i)
    time.sleep(0.1)
for t in threads:
    t.join()
print("total", total[0], flush=True)
# Seconds the job's CLOCK_MONOTONIC and the wall clock advanced (not in the
# output: they differ run to run); a job resumed from a checkpoint in its own
# time namespace misses the time it was down on the first, not the second.
with open(os.path.join(os.path.dirname(os.readlink("/proc/self/fd/%d" % fd)), "clocks"), "w") as f:
    f.write("%.3f %.3f\n" % (time.monotonic() - m0, time.time() - w0))
EOF
for i in 1 2 3 4 5; do
	echo "tick $i"
	sleep 0.4
done
echo "end" >&2
echo done

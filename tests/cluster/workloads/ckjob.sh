#!/bin/bash
# A job to checkpoint: python threads, a pipeline into awk, a file it appends
# to, a deleted temporary file in /tmp (the heredoc), and bash waiting on a
# child in sleep. Its output depends on nothing but its arguments.
#   ckjob.sh DIR STEPS
# DIR/starts gets one line each time the job starts from the top.
dir=$1 steps=${2:-40}
echo "start ${SLURM_JOB_ID:-?}" >>"$dir/starts"
exec 3>>"$dir/data"
echo "begin $steps"
python3 - "$steps" 3 <<'EOF' | awk '{ print "awk:", $0; fflush() }'
import os, sys, threading, time

steps, fd = int(sys.argv[1]), int(sys.argv[2])
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
EOF
for i in 1 2 3 4 5; do
	echo "tick $i"
	sleep 0.4
done
echo "end" >&2
echo done

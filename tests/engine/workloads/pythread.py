# SPDX-License-Identifier: LGPL-2.1-or-later
"""Engine workload: CPython with a worker thread, same stdout on every run.

The main thread hands a number to the worker through a queue each step,
the worker does some pure-Python work (big integers, a dict that grows,
hashlib) and hands back a result; the main thread prints one line per step
and a summary, sleeping between steps so that a checkpoint lands mid-run.
A fresh start appends one line to the file named by $CR_START_LOG.
"""
import hashlib
import os
import queue
import sys
import threading
import time

NSTEPS = 30
# CR_ENGINE_STEP_MS: slower steps where cr is slower (the sanitized pass)
STEP_S = int(os.environ.get("CR_ENGINE_STEP_MS", "90")) / 1000


def start_log():
    path = os.environ.get("CR_START_LOG")
    if path:
        with open(path, "a") as f:
            f.write("pythread pid %d\n" % os.getpid())


def worker(requests, results):
    seen = {}
    acc = 1
    while True:
        n = requests.get()
        if n is None:
            break
        time.sleep(0.01)
        acc = (acc * 6364136223846793005 + n * n + 1442695040888963407) % (1 << 127)
        seen[n] = pow(3, 1000 + n, 1 << 61)
        h = hashlib.sha256(("%d:%d" % (acc, sum(seen.values()))).encode()).hexdigest()
        results.put((acc % 1000003, len(seen), h[:16]))


def main():
    start_log()
    requests, results = queue.Queue(), queue.Queue()
    t = threading.Thread(target=worker, args=(requests, results), name="worker")
    t.start()
    digest = hashlib.sha256()
    fib = [0, 1]
    for step in range(NSTEPS):
        requests.put(step * 31 + 7)
        acc, nseen, h = results.get(timeout=30)
        fib.append(fib[-1] + fib[-2])
        line = "step %02d acc=%07d seen=%d h=%s fib=%d" % (step, acc, nseen, h, fib[-1] % 99991)
        digest.update(line.encode())
        print(line, flush=True)
        time.sleep(STEP_S)
    requests.put(None)
    t.join(timeout=30)
    print("summary alive=%s threads=%d digest=%s" % (
        t.is_alive(), threading.active_count(), digest.hexdigest()[:32]), flush=True)
    return 1 if t.is_alive() else 0


if __name__ == "__main__":
    sys.exit(main())

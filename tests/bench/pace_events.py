#!/usr/bin/env python3
"""Writes the events of gen_events.py at RATE per second for SECONDS (for scripts/bench's
latency run), each stamped as it is written: event_id and content_id "lat-<ms>-<i>" and
created_at_ms, so that the queue entry an escalated one becomes, and the audit record keyed by
its content id, tell how long it took. Starts after WARMUP
seconds (default 1.5), so that the producer reading our output is connected by then and no
event waits in the pipe."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_events import event, line  # noqa: E402

rate = int(sys.argv[1])
seconds = float(sys.argv[2])
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 1.5)
rng = random.Random(11)
step = 0.005  # a batch every 5 ms
per = max(1, int(rate * step))
out = sys.stdout
start = time.monotonic()
i = 0
while i < rate * seconds:
    now_ms = int(time.time() * 1000)
    batch = []
    for _ in range(per):
        ev = event(i, rng)
        ev["event_id"] = f"lat-{now_ms}-{i}"
        ev["content_id"] = f"lat-{now_ms}-{i}"  # the audit record's key
        ev["created_at_ms"] = now_ms
        batch.append(line(ev))
        i += 1
    out.write("".join(batch))
    out.flush()
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)

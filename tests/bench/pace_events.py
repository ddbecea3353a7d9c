#!/usr/bin/env python3
"""Writes events like gen_events.py's at RATE per second for SECONDS (for scripts/bench's
latency run), each stamped as it is written: event_id and content_id "lat-<ms>-<i>" and
created_at_ms, so that the queue entry an escalated one becomes, and the audit record keyed by
its content id, tell how long it took. Starts after WARMUP seconds (default 1.5), so that the
producer reading our output is connected by then and no event waits in the pipe.

A batch goes out every 5 ms, its time filled in just before the write: the stamp is the time
the events leave for the producer. The bodies come from a pool of 1000 events built before the
start (one in 50 escalated, as in gen_events.py), so that the pacer costs little of the two
cores the latency run measures on."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_events import event, line  # noqa: E402

STAMP = "9" * 13  # a millisecond time's width; nothing else in an event spells it

rate = int(sys.argv[1])
seconds = float(sys.argv[2])
rng = random.Random(11)
per = max(1, int(rate * 0.005))
total = int(rate * seconds)


def body(i):
    """Event I's JSON after its two ids, its creation time left as STAMP."""
    ev = event(i, rng)
    del ev["event_id"], ev["content_id"]
    ev["created_at_ms"] = int(STAMP)
    return line(ev)[1:]


pool = [body(i) for i in range(1000)]  # a multiple of 50: event i's body is pool[i % 1000]


def build(first):
    """The lines of the batch from event FIRST, their time left as STAMP."""
    return "".join(f'{{"event_id":"lat-{STAMP}-{i}","content_id":"lat-{STAMP}-{i}",'
                   + pool[i % len(pool)] for i in range(first, min(first + per, total)))


out = sys.stdout
batch = build(0)
time.sleep(float(sys.argv[3]) if len(sys.argv) > 3 else 1.5)
start = time.monotonic()
i = 0
while i < total:
    out.write(batch.replace(STAMP, str(int(time.time() * 1000))))
    out.flush()
    i += per
    batch = build(i)
    delay = start + i / rate - time.monotonic()
    if delay > 0:
        time.sleep(delay)

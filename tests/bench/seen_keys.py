#!/usr/bin/env python3
"""Reads the "%k\\n" lines kcat -u writes (for scripts/bench's latency run) and prints
"<ms> <key>" for each "lat-" key, <ms> the wall-clock time its line arrived.

Cheap on purpose: the latency run shares two cores with the daemon, the mock cluster and
redis-server, and a reader costing a quarter of a core (a time read, a print and a flush per
line) would lengthen the very tail it measures. It reads what the pipe holds in one read, so
the lines of one read share its time (kcat -u writes each line as it goes, so a read holds
what arrived while we were busy), and it writes one line per key in one write per read."""
import os
import sys
import time

fd = sys.stdin.fileno()
out = sys.stdout.buffer
rest = b""
while True:
    chunk = os.read(fd, 1 << 16)
    if not chunk:
        break
    now = b"%d " % int(time.time() * 1000)
    lines = (rest + chunk).split(b"\n")
    rest = lines.pop()
    keys = [now + k + b"\n" for k in lines if k.startswith(b"lat-")]
    if keys:
        out.write(b"".join(keys))
        out.flush()

#!/usr/bin/env python3
"""Watches arbiterd instances consume a backlog, for scripts/bench: every INTERVAL seconds it
reads arbiter_consumed_total{topic="content"} from each instance's /metrics and sums them, until
the sum reaches TARGET. Prints one line: the monotonic milliseconds of the first consumed event
and of the last, the longest time in between during which the sum did not move (a fetch
stall), then the CPU time (ms) of each group of processes in GROUPS (a group is PID[+PID...],
groups are comma-separated, 0 for none) when the first event was seen, and again at the last,
and last the CPU time of the first group's main threads (arbiterd's event loop) and of its
threads named rdk:broker* (librdkafka's, one per broker: fetching and parsing; the rest of its
time is its other threads: librdkafka's main and the HTTP server's) at the first event and at
the last.
Exits 1 when nothing moves for TIMEOUT seconds.

usage: watch_consumed.py TARGET PORT[,PORT...] GROUPS [INTERVAL [TIMEOUT]]"""
import os
import http.client
import re
import sys
import time

target = int(sys.argv[1])
ports = [int(p) for p in sys.argv[2].split(",")]
groups = [[int(x) for x in g.split("+") if x != "0"] for g in sys.argv[3].split(",")]
interval = float(sys.argv[4]) if len(sys.argv) > 4 else 0.01
timeout = float(sys.argv[5]) if len(sys.argv) > 5 else 120.0
hz = os.sysconf("SC_CLK_TCK")
pattern = re.compile(rb'^arbiter_consumed_total\{topic="content"\} (\d+)$', re.M)
conns = {}


def consumed(port):
    """The instance's count, or None while it does not answer yet."""
    for _ in range(2):
        conn = conns.get(port)
        if conn is None:
            conn = conns[port] = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/metrics?name=arbiter_consumed_total")
            body = conn.getresponse().read()
        except (OSError, http.client.HTTPException):
            conn.close()
            conns.pop(port, None)
            continue
        m = pattern.search(body)
        return int(m.group(1)) if m else 0
    return None


def stat_ticks(path):
    """The thread or process name and user + system CPU ticks in the stat file PATH; None once
    it is gone."""
    try:
        with open(path) as f:
            comm, rest = f.read().split(" (", 1)[1].rsplit(")", 1)
    except (OSError, ValueError):
        return None
    fields = rest.split()
    return comm, int(fields[11]) + int(fields[12])


def cpu_ms(pid, thread=False):
    """User + system CPU time of PID so far (of its main thread alone with THREAD), in ms; 0
    once it is gone."""
    st = stat_ticks(f"/proc/{pid}/task/{pid}/stat" if thread else f"/proc/{pid}/stat")
    return st[1] * 1000 // hz if st else 0


def cpu_named_ms(pid, prefix):
    """CPU time (ms) of PID's threads whose name starts with PREFIX; 0 once it is gone."""
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return 0
    stats = (stat_ticks(f"/proc/{pid}/task/{tid}/stat") for tid in tids)
    return sum(t for c, t in filter(None, stats) if c.startswith(prefix)) * 1000 // hz


def cpu_groups():
    return ([sum(cpu_ms(p) for p in g) for g in groups] +
            [sum(cpu_ms(p, True) for p in groups[0])] +
            [sum(cpu_named_ms(p, "rdk:broker") for p in groups[0])])


def now_ms():
    return time.monotonic() * 1000.0


first = last = None
moved_at = None
gap = 0.0
seen = 0
started = time.monotonic()
while True:
    counts = [consumed(p) for p in ports]
    t = now_ms()
    total = sum(c or 0 for c in counts)
    if total > seen:
        if first is None:
            first = t
            cpu0 = cpu_groups()
        elif moved_at is not None:
            gap = max(gap, t - moved_at)
        moved_at = t
        seen = total
    if seen >= target:
        last = t
        cpu1 = cpu_groups()
        break
    if time.monotonic() - started > timeout and (moved_at is None or t - moved_at > timeout * 1000):
        print(f"stalled at {seen} of {target}", file=sys.stderr)
        sys.exit(1)
    time.sleep(interval)
print(f"{first:.0f} {last:.0f} {gap:.0f}", *cpu0, *cpu1)

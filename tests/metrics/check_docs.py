#!/usr/bin/env python3
"""Checks that docs/operations.md documents every metric, from the catalogue itself: the table
between <!-- metrics:begin --> and <!-- metrics:end --> must be what `metrics_list --markdown`
prints. With --write, puts it there instead (after changing metrics.c's catalogue).
Usage: check_docs.py METRICS_LIST DOCS_MD [--write]; exit 0 when up to date, 1 otherwise."""
import subprocess
import sys

BEGIN, END = "<!-- metrics:begin -->", "<!-- metrics:end -->"


def main(argv):
    if len(argv) not in (3, 4) or (len(argv) == 4 and argv[3] != "--write"):
        print(__doc__, file=sys.stderr)
        return 2
    table = subprocess.run([argv[1], "--markdown"], check=True, capture_output=True,
                           text=True).stdout
    text = open(argv[2], encoding="utf-8").read()
    if text.count(BEGIN) != 1 or text.count(END) != 1 or text.index(BEGIN) > text.index(END):
        print(f"{argv[2]}: needs exactly one {BEGIN} ... {END} section", file=sys.stderr)
        return 1
    head, rest = text.split(BEGIN)
    body, tail = rest.split(END)
    want = "\n" + table
    if body == want:
        return 0
    if len(argv) == 4:
        with open(argv[2], "w", encoding="utf-8") as f:
            f.write(head + BEGIN + want + END + tail)
        print(f"{argv[2]}: metrics table rewritten")
        return 0
    have = set(l for l in body.splitlines() if l.startswith("| `"))
    need = set(l for l in table.splitlines() if l.startswith("| `"))
    for l in sorted(need - have):
        print(f"{argv[2]}: missing or different: {l}", file=sys.stderr)
    for l in sorted(have - need):
        print(f"{argv[2]}: not in the catalogue: {l}", file=sys.stderr)
    print(f"{argv[2]}: the metrics table is stale; regenerate it with\n"
          f"  {argv[0]} {argv[1]} {argv[2]} --write", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))

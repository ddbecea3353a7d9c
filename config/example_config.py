#!/usr/bin/env python3
"""Writes the installed example config: config/arbiter.yaml with placeholder brokers.

The repository's config/arbiter.yaml keeps kafka.brokers: mock (the embedded default, what
scripts/demo and the tests run). An installed copy must never start an in-process mock
cluster and report ready, so the example names brokers that an operator has to replace.

  example_config.py IN OUT CONFDIR
"""
import sys

PLACEHOLDER = "kafka-1.example.org:9092,kafka-2.example.org:9092,kafka-3.example.org:9092"


def main() -> int:
    if len(sys.argv) != 4:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    src, dst, confdir = sys.argv[1:]
    with open(src, encoding="utf-8") as f:
        lines = f.read().splitlines(keepends=True)

    head = "# arbiterd configuration. Every key is shown with its default value.\n"
    brokers = "  brokers: mock\n"
    if lines.count(head) != 1 or lines.count(brokers) != 1:
        print(f"{src}: expected one line {head.strip()!r} and one line {brokers.strip()!r}",
              file=sys.stderr)
        return 1
    lines[lines.index(head)] = (
        "# arbiterd configuration: the example installed with arbiter. Every key is\n"
        "# shown with its default value except kafka.brokers, which names placeholder\n"
        "# brokers: its default, mock, runs an in-process test cluster. Copy this\n"
        f"# directory (rules/ and lists/ with it) to {confdir}/ and edit it there.\n")
    lines[lines.index(brokers)] = (
        "  # PLACEHOLDER: replace with your cluster's bootstrap list.\n"
        f"  brokers: {PLACEHOLDER}\n")
    with open(dst, "w", encoding="utf-8") as f:
        f.writelines(lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks the include graph of daemon/: every module sits in one layer of the table below and
includes only modules of its own layer or the layers before it; the pure core includes no
I/O library; and no two modules include each other, directly or through others.

A module is a .c file with its .h. A private header NAME_impl.h belongs to module NAME (the
files that share it include it; it includes NAME.h): it is no module of its own, so that
this family is no cycle. docs/architecture.md draws the same table.
Usage: check_layers.py DAEMON_DIR; exit 0 when clean, 1 with one line per violation."""
import fnmatch
import os
import re
import sys

# Lowest first. A module may include modules of its own layer and of the layers above it here.
LAYERS = [
    ("base", ["log", "diag", "strmap", "ydoc", "country"]),
    ("core", ["config", "normalise", "pbjson", "pbarena", "event", "rules_expr", "rules", "langtag",
              "rules_load", "rules_compile", "rules_eval", "rules_test", "rules_counters",
              "rules_banks", "counters", "dsa", "ledger",
              "records", "audit", "hashbank", "queues", "offsets", "prefetch", "policy", "report*"]),
    ("shell", ["metrics", "metrics_*", "kafka", "kafka_mock", "redis", "redis_ev", "sentinel", "review", "pipeline*",
               "reload", "notify", "main"]),
    ("tools", ["ctl", "ctl_*", "ctl/*"]),
]

# System headers of I/O libraries: never in the pure core (nor in base). hiredis.h itself is
# allowed for its reply type (queues parses the scripts' replies); its connections are not.
IO_HEADERS = ["uv.h", "hiredis/async.h", "hiredis/adapters/*", "microhttpd.h",
              "librdkafka/rdkafka_mock.h", "systemd/*"]

INCLUDE = re.compile(r'^\s*#\s*include\s+([<"])([^>"]+)[>"]', re.M)


def layer_of(module):
    for i, (_, patterns) in enumerate(LAYERS):
        if any(fnmatch.fnmatch(module, p) for p in patterns):
            return i
    return None


def main(root):
    modules = {}  # module -> set of included modules
    system = {}   # module -> set of system headers
    for dirpath, _, names in os.walk(root):
        for name in sorted(names):
            if not name.endswith((".c", ".h")):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            module = os.path.splitext(rel)[0]
            if module.endswith("_impl"):
                module = module[: -len("_impl")]
            text = open(path, encoding="utf-8").read()
            deps = modules.setdefault(module, set())
            sysh = system.setdefault(module, set())
            for kind, header in INCLUDE.findall(text):
                if kind == "<":
                    sysh.add(header)
                    continue
                if header.startswith("arbiter/") or header == "arbiter_build.h":
                    continue  # generated: protobuf messages, build configuration
                # Includes resolve against daemon/ (the include path) or the file's folder.
                target = os.path.splitext(header)[0]
                if not os.path.exists(os.path.join(root, header)):
                    local = os.path.relpath(os.path.join(dirpath, header), root)
                    target = os.path.splitext(local)[0]
                if target.endswith("_impl"):
                    target = target[: -len("_impl")]
                if target != module:
                    deps.add(target)
    bad = []
    for module in sorted(modules):
        lm = layer_of(module)
        if lm is None:
            bad.append(f"{module}: not in the layer table of {sys.argv[0]}")
            continue
        for dep in sorted(modules[module]):
            ld = layer_of(dep)
            if ld is None:
                bad.append(f"{module}: includes {dep}, which is not in the layer table")
            elif ld > lm:
                bad.append(f"{module} ({LAYERS[lm][0]}) includes {dep} ({LAYERS[ld][0]}): "
                           f"a lower layer may not depend on a higher one")
        if lm <= 1:
            for h in sorted(system[module]):
                if any(fnmatch.fnmatch(h, p) for p in IO_HEADERS):
                    bad.append(f"{module} ({LAYERS[lm][0]}) includes <{h}>: the pure core "
                               f"does no I/O")
    # Cycles, by depth-first search over the module graph.
    state, stack = {}, []

    def visit(m):
        state[m] = 1
        stack.append(m)
        for d in sorted(modules.get(m, ())):
            if d not in modules:
                continue
            if state.get(d) == 1:
                cycle = stack[stack.index(d):] + [d]
                bad.append("include cycle: " + " -> ".join(cycle))
            elif d not in state:
                visit(d)
        stack.pop()
        state[m] = 2

    for m in sorted(modules):
        if m not in state:
            visit(m)
    for line in bad:
        print(line)
    print(f"{len(modules)} modules, {len(bad)} violation(s)")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "daemon"))

#!/usr/bin/env python3
"""Every PromQL expression of the Grafana dashboard and of the alert rules names only metrics
arbiterd exports, so that neither drifts from the daemon's list of metrics.

  test_promql_names.py METRICS_LIST DASHBOARD_JSON RULES_YML...

METRICS_LIST is tests/metrics' metrics_list (`--names`: NAME TYPE per line). Expressions are
the dashboard's targets' `expr`, its annotations' `expr` and its variables' `label_values(...)`
queries, and the rules' `expr`. A histogram's _bucket, _sum and _count series count as its
family; functions, keywords, label names in matchers and groupings, durations, strings and
Grafana's $variables are not metric names. Fails too on an expression that names no metric
(a typo that left only functions)."""
import json
import re
import subprocess
import sys

try:
    import yaml
except ImportError:
    yaml = None

IDENT = re.compile(r"(?<![\w.:$])([A-Za-z_:][A-Za-z0-9_:]*)")
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "and", "or",
            "unless", "bool", "offset", "inf", "nan", "Inf", "NaN", "atan2"}
# A grouping or a vector-matching clause: its parentheses hold label names.
CLAUSE = re.compile(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")


def metric_names(expr: str) -> list:
    e = re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`', '""', expr)
    e = re.sub(r"\$\{[^}]*\}|\$\w+", "", e)          # Grafana variables
    e = re.sub(r"\{[^{}]*\}", "", e)                  # label matchers
    e = re.sub(r"\[[^\[\]]*\]", "", e)                # ranges and subqueries
    e = CLAUSE.sub(" ", e)                            # clauses and their label names
    names = []
    for m in IDENT.finditer(e):
        word = m.group(1)
        rest = e[m.end():].lstrip()
        if word in KEYWORDS or rest.startswith("("):
            continue  # a keyword, or a function / aggregation being called
        names.append(word)
    return names


def family(name: str, families: dict):
    if name in families:
        return name
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and families.get(base) == "histogram":
            return base
    return None


def dashboard_exprs(node, where="dashboard"):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "expr" and isinstance(value, str):
                yield f"{where}.{key}", value
            elif key in ("definition", "query") and isinstance(value, str) \
                    and value.startswith("label_values("):
                m = re.match(r"label_values\(\s*([^,)]+)", value)
                yield f"{where}.{key}", m.group(1).strip()
            else:
                title = node.get("title")
                yield from dashboard_exprs(value, f"{where}/{title}" if title else where)
    elif isinstance(node, list):
        for item in node:
            yield from dashboard_exprs(item, where)


def rule_exprs(path):
    if yaml is None:
        # Without python3-yaml, the rules' expressions are read line by line.
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"^\s*expr:\s*(\|\s*\n((?:\s{10,}.*\n)+)|(.+))", text, re.M):
            yield f"{path}", (m.group(2) or m.group(3))
        return
    doc = yaml.safe_load(open(path, encoding="utf-8"))
    for g in doc.get("groups", []):
        for r in g.get("rules", []):
            yield f"{path}:{r.get('alert') or r.get('record')}", r["expr"]


def main(argv):
    if len(argv) < 4:
        print(__doc__, file=sys.stderr)
        return 2
    out = subprocess.run([argv[1], "--names"], check=True, capture_output=True, text=True).stdout
    families = dict(line.split() for line in out.splitlines() if line.strip())
    exprs = list(dashboard_exprs(json.load(open(argv[2], encoding="utf-8"))))
    for path in argv[3:]:
        exprs += list(rule_exprs(path))
    bad, used = [], set()
    for where, expr in exprs:
        names = metric_names(expr)
        if not names:
            bad.append(f"{where}: names no metric: {expr!r}")
        for n in names:
            f = family(n, families)
            if f is None:
                bad.append(f"{where}: {n} is not a metric arbiterd exports ({expr!r})")
            else:
                used.add(f)
    for b in bad:
        print("FAIL", b)
    print(f"{len(exprs)} expression(s), {len(used)} of {len(families)} metric families used")
    unused = sorted(set(families) - used)
    if unused:
        print("not shown anywhere:", " ".join(unused))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

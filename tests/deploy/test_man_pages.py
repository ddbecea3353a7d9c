#!/usr/bin/env python3
"""The man pages cover what the binaries and the config say, and render cleanly.

  test_man_pages.py SRCDIR ARBITERD ARBITERCTL [MANDIR]

- arbiterd.8: every option of `arbiterd --help`, and (built) the default config path
  `arbiterd --help` prints;
- arbiterctl.1: a section per command of `arbiterctl --help` (and subcommand), and every
  --flag of each command's --help;
- arbiter.yaml.5: every key of config/arbiter.yaml (the keys of review.queues entries too);
- with MANDIR (the built pages): each renders with `man --warnings` and no warning.
"""
import os
import re
import shutil
import subprocess
import sys

try:
    import yaml
except ImportError:
    yaml = None

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z-]*")
failures = []


def fail(msg: str) -> None:
    failures.append(msg)
    print("FAIL", msg)


def helptext(prog: str, *args: str) -> str:
    r = subprocess.run([prog, *args, "--help"], capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{prog} {' '.join(args)} --help: exit {r.returncode}")
    return r.stdout


def config_keys(node, prefix=""):
    """Dotted keys of config/arbiter.yaml; maps of user-chosen names stop the descent."""
    user_maps = {"kafka.properties", "rules.modes", "review.queues"}
    for k, v in node.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict) and key not in user_maps and not key.startswith("kafka.topics."):
            yield from config_keys(v, key + ".")
        else:
            yield key


def main() -> int:
    srcdir, arbiterd, ctl = sys.argv[1:4]
    mandir = sys.argv[4] if len(sys.argv) > 4 else None
    man = os.path.join(srcdir, "docs", "man")

    def page(name: str) -> str:
        with open(os.path.join(man, name + ".scd"), encoding="utf-8") as f:
            return f.read()

    d8, c1, y5 = page("arbiterd.8"), page("arbiterctl.1"), page("arbiter.yaml.5")

    dhelp = helptext(arbiterd)
    for flag in sorted(set(FLAG.findall(dhelp))):
        if f"*{flag}*" not in d8:
            fail(f"arbiterd.8 does not describe {flag}")
    for short in sorted(set(re.findall(r"^\s+(-[a-zA-Z]),", dhelp, re.M))):
        if f"*{short}*" not in d8:
            fail(f"arbiterd.8 does not describe {short}")

    top = helptext(ctl)
    sections = set(re.findall(r"^## ([a-z][a-z-]*(?: [a-z]+)?)(?=\s|$)", c1, re.M))
    commands = re.findall(r"^  ([a-z][a-z-]*)(?: ([a-z]+(?:\|[a-z]+)+))?", top, re.M)
    if len(commands) < 5:
        fail(f"could not read arbiterctl's commands: {commands}")
    for cmd, subs in commands:
        names = [f"{cmd} {s}" for s in subs.split("|")] if subs else [cmd]
        for name in names:
            if name not in sections:
                fail(f"arbiterctl.1 has no section '## {name} ...'")
            # In the page: described in bold or named in a section's usage line (sections
            # share flags such as --brokers).
            for flag in sorted(set(FLAG.findall(helptext(ctl, *name.split())))):
                if not re.search(rf"(?<![\w-]){flag}(?![\w-])", c1):
                    fail(f"arbiterctl.1 does not mention {flag} ({name})")
    for name in sorted(sections):
        if name.split()[0] not in {c for c, _ in commands}:
            fail(f"arbiterctl.1 describes '{name}', which arbiterctl --help does not list")

    if yaml is None:
        print("python3-yaml is not installed: the config keys of arbiter.yaml.5 are not checked")
    else:
        with open(os.path.join(srcdir, "config", "arbiter.yaml"), encoding="utf-8") as f:
            cfg = yaml.safe_load(f)
        keys = list(config_keys(cfg))
        for k in keys:
            if f"*{k}*" not in y5:
                fail(f"arbiter.yaml.5 does not describe {k}")
        with open(os.path.join(srcdir, "config", "arbiter.yaml"), encoding="utf-8") as f:
            comment = f.read().split("  queues:", 1)[0].rsplit("review:", 1)[-1]
        for field in re.findall(r"^\s+#\s{3}(\w+)\s{2,}", comment, re.M):
            if f"*{field}*" not in y5:
                fail(f"arbiter.yaml.5 does not describe the queue field {field}")
        print(f"ok   {len(keys)} config keys checked")

    if mandir:
        built = os.path.join(mandir, "arbiterd.8")
        m = re.search(r"default (\S+/arbiter\.yaml)\)", dhelp)
        with open(built, encoding="utf-8") as f:
            roff = f.read().replace("\\&", "").replace("\\-", "-")
        if not m:
            fail("arbiterd --help names no default config path")
        elif m.group(1) not in roff:
            fail(f"the built arbiterd.8 does not name the default path {m.group(1)}")
        if shutil.which("man"):
            for p in ("arbiterd.8", "arbiterctl.1", "arbiter.yaml.5"):
                r = subprocess.run(["man", "--warnings", "-E", "UTF-8", "-l",
                                    os.path.join(mandir, p)],
                                   capture_output=True, text=True,
                                   env={**os.environ, "MANWIDTH": "80", "MAN_KEEP_FORMATTING": "0"})
                if r.returncode != 0 or r.stderr.strip():
                    fail(f"man -l {p}: exit {r.returncode}: {r.stderr.strip()}")
                elif len(r.stdout) < 2000:
                    fail(f"man -l {p}: only {len(r.stdout)} characters")
            print("ok   the built pages render without warnings")
        else:
            print("man is not installed: rendering not checked")

    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""`meson install` puts exactly the expected files in place, nothing in sysconfdir, and an
example config that names no mock cluster and that arbiterd accepts.

  test_install.py SRCDIR BUILDDIR

Installs BUILDDIR into a temporary --destdir and compares the tree with the list this build
should install: the two binaries, the example config with the sample rules and lists, the
bash completion, the man pages when this build makes them, the systemd unit when
-Dsystemdunitdir is set. Then runs the installed arbiterd --check-config on the installed
example (its rules and lists resolve inside the example directory).
"""
import json
import os
import subprocess
import sys
import tempfile

failures = []


def fail(msg: str) -> None:
    failures.append(msg)
    print("FAIL", msg)


def main() -> int:
    srcdir, builddir = sys.argv[1], sys.argv[2]
    opts = {o["name"]: o["value"] for o in json.loads(subprocess.run(
        ["meson", "introspect", builddir, "--buildoptions"], check=True,
        capture_output=True, text=True).stdout)}
    prefix = opts["prefix"]

    def under(d: str) -> str:
        return os.path.join(prefix, d).lstrip("/")

    examples = os.path.join(under(opts["datadir"]), "doc", "arbiter", "examples")
    want = {
        os.path.join(under(opts["sbindir"]), "arbiterd"),
        os.path.join(under(opts["bindir"]), "arbiterctl"),
        os.path.join(examples, "arbiter.yaml"),
        os.path.join(under(opts["datadir"]), "bash-completion", "completions", "arbiterctl"),
    }
    for sub in ("rules", "lists"):
        for name in os.listdir(os.path.join(srcdir, "config", sub)):
            want.add(os.path.join(examples, sub, name))
    if os.path.exists(os.path.join(builddir, "docs", "man", "arbiterd.8")):
        for page in ("arbiterd.8", "arbiterctl.1", "arbiter.yaml.5"):
            want.add(os.path.join(under(opts["mandir"]), "man" + page[-1], page))
    if opts.get("systemdunitdir"):
        want.add(os.path.join(opts["systemdunitdir"].lstrip("/"), "arbiterd.service"))

    with tempfile.TemporaryDirectory(prefix="arbiter-install.") as dest:
        r = subprocess.run(["meson", "install", "-C", builddir, "--no-rebuild", "--quiet",
                            "--destdir", dest], capture_output=True, text=True)
        if r.returncode != 0:
            fail(f"meson install: exit {r.returncode}\n{r.stdout}{r.stderr}")
            return 1
        got = set()
        for root, _, files in os.walk(dest):
            for f in files:
                got.add(os.path.relpath(os.path.join(root, f), dest))
        for f in sorted(want - got):
            fail(f"not installed: /{f}")
        for f in sorted(got - want):
            fail(f"installed but not expected: /{f}")
        etc = under(opts["sysconfdir"])
        for f in sorted(got):
            if f.startswith(etc + "/"):
                fail(f"installed into sysconfdir: /{f}")

        example = os.path.join(dest, examples, "arbiter.yaml")
        if os.path.exists(example):
            with open(example, encoding="utf-8") as f:
                text = f.read()
            brokers = [line.split(":", 1)[1].strip() for line in text.splitlines()
                       if line.startswith("  brokers:")]
            if len(brokers) != 1 or brokers[0].startswith("mock"):
                fail(f"the installed example's kafka.brokers is {brokers}: it must name "
                     "brokers, not the embedded mock cluster")
            with open(os.path.join(srcdir, "config", "arbiter.yaml"), encoding="utf-8") as f:
                if "  brokers: mock\n" not in f.read():
                    fail("config/arbiter.yaml no longer says kafka.brokers: mock (the "
                         "repository's embedded default)")
            arbiterd = os.path.join(dest, under(opts["sbindir"]), "arbiterd")
            r = subprocess.run([arbiterd, "--check-config", example], capture_output=True,
                               text=True)
            if r.returncode != 0:
                fail(f"arbiterd --check-config on the installed example: exit "
                     f"{r.returncode}\n{r.stdout}{r.stderr}")
            else:
                print("ok  ", r.stdout.strip().replace(dest, "DESTDIR"))
    print(f"{len(want)} files expected, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""The container image builds from what its Dockerfile copies, and runs with what it installs.

  test_docker.py SRCDIR DOCKERFILE ARBITERD ARBITERCTL [--no-metrics] [--build-dir=DIR]

No Docker engine is needed:
- copy set: the build stage's COPY lines are replayed from SRCDIR into a temporary
  directory and the stage's `meson setup` runs there with the same options, so a file meson
  reads that the Dockerfile does not copy fails it. What the compiler reads is checked
  against the copy set too: with --build-dir, every source-tree file that the compiled
  objects of daemon/ and proto/ in DIR depend on (ninja -t deps) must have been copied.
  ARBITER_DOCKER_BUILD=1 runs `ninja` and `meson install` in the copy instead (about 30 s
  on two cores, longer under load).
- runtime packages: the runtime stage's apt-get list must hold the Debian package of every
  library ARBITERD and ARBITERCTL link directly (less what bookworm-slim already has), and
  nothing else but ca-certificates. --no-metrics: this build has no libmicrohttpd, so its
  package cannot be shown to be needed.
- HEALTHCHECK: its command, run against a local HTTP server, passes on 200 from /healthz
  and fails on 503 and on a closed port.
"""
import http.server
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

# Packages every debian:bookworm-slim image holds (Priority: required, and apt's own).
SLIM_BASE = {"libc6", "libgcc-s1", "libstdc++6", "zlib1g", "libsystemd0"}
# Installed for what the binaries do at run time, not for a linked library.
RUNTIME_EXTRA = {"ca-certificates"}

failures = []


def fail(msg: str) -> None:
    failures.append(msg)
    print("FAIL", msg, flush=True)


def instructions(path: str) -> list[list[tuple[str, str]]]:
    """The Dockerfile's stages, each a list of (INSTRUCTION, arguments), continuations joined."""
    stages, cur, buf = [], None, ""
    with open(path, encoding="utf-8") as f:
        for raw in f:
            line = raw.rstrip("\n")
            if not buf and (not line.strip() or line.lstrip().startswith("#")):
                continue
            if buf and line.lstrip().startswith("#"):
                continue  # a comment inside a continued instruction
            if line.endswith("\\"):
                buf += line[:-1] + " "
                continue
            buf += line
            word, _, rest = buf.strip().partition(" ")
            buf = ""
            if word.upper() == "FROM":
                cur = []
                stages.append(cur)
            if cur is None:
                continue  # ARG before FROM
            cur.append((word.upper(), rest.strip()))
    return stages


def replay_copies(stage, srcdir: str, ctx: str) -> str:
    """Copies what the stage's COPY lines copy from SRCDIR into CTX; returns the WORKDIR."""
    workdir = "/"
    for word, args in stage:
        if word == "WORKDIR":
            workdir = os.path.join(workdir, args)
        if word != "COPY":
            continue
        if args.startswith("["):
            parts = json.loads(args)
        else:
            parts = shlex.split(args)
        if any(p.startswith("--from") for p in parts):
            continue
        parts = [p for p in parts if not p.startswith("--")]
        *sources, dest = parts
        dest_abs = os.path.normpath(os.path.join(workdir, dest))
        root = os.path.join(ctx, dest_abs.lstrip("/"))
        for s in sources:
            src = os.path.join(srcdir, s)
            if not os.path.exists(src):
                fail(f"COPY {s}: not in the repository")
                continue
            if os.path.isdir(src):
                # Docker copies a directory's contents into the destination.
                shutil.copytree(src, root, dirs_exist_ok=True, symlinks=True)
            elif dest.endswith("/") or len(sources) > 1:
                os.makedirs(root, exist_ok=True)
                shutil.copy2(src, root)
            else:
                os.makedirs(os.path.dirname(root), exist_ok=True)
                shutil.copy2(src, root)
    return workdir


def check_compiled_inputs(builddir: str, srcdir: str, copy: str) -> None:
    """Every source-tree file the objects of daemon/ and proto/ in BUILDDIR were compiled
    from (sources and headers, per ninja's deps log) exists in the copy COPY."""
    r = subprocess.run(["ninja", "-C", builddir, "-t", "deps"], capture_output=True, text=True)
    if r.returncode != 0:
        fail(f"ninja -t deps in {builddir}: {r.stderr.strip()}")
        return
    src, build = os.path.realpath(srcdir), os.path.realpath(builddir)
    inputs, objects, target = set(), 0, None
    for line in r.stdout.splitlines():
        if line and not line[0].isspace():
            target = line.split(":", 1)[0]
            if target.startswith(("daemon/", "proto/")):
                objects += 1
            continue
        if not target or not target.startswith(("daemon/", "proto/")) or not line.strip():
            continue
        path = os.path.realpath(os.path.join(build, line.strip()))
        if path.startswith(src + os.sep) and not path.startswith(build + os.sep):
            inputs.add(os.path.relpath(path, src))
    if objects == 0:
        fail(f"{builddir} has no compiled objects of daemon/ or proto/ in its deps log")
        return
    missing = sorted(f for f in inputs if not os.path.exists(os.path.join(copy, f)))
    if missing:
        fail(f"the compiler reads files the Dockerfile does not copy: {missing}")
    else:
        print(f"ok   the {len(inputs)} source files and headers of {objects} objects are all "
              "in the copy set", flush=True)


def check_copy_set(stage, srcdir: str, builddir: str | None) -> None:
    with tempfile.TemporaryDirectory(prefix="arbiter-docker.") as tmp:
        ctx = os.path.join(tmp, "root")
        os.makedirs(ctx)
        workdir = replay_copies(stage, srcdir, ctx)
        src = os.path.join(ctx, workdir.lstrip("/"))
        setup = None
        for word, args in stage:
            m = re.search(r"meson setup (.*?)(?:&&|;|$)", args) if word == "RUN" else None
            if m:
                setup = shlex.split(m.group(1))
        if not setup:
            fail("the build stage runs no `meson setup`")
            return
        # The first non-option word is the build directory; the rest are the options.
        opts = [a for a in setup if a.startswith("-")]
        build = os.path.join(tmp, "build")
        print("replayed the COPY lines; meson setup", " ".join(opts), flush=True)
        t0 = time.monotonic()
        r = subprocess.run(["meson", "setup", build, *opts], cwd=src, capture_output=True,
                           text=True)
        if r.returncode != 0:
            fail("meson setup on the Dockerfile's copy set failed:\n" + r.stdout[-3000:]
                 + r.stderr[-2000:])
            return
        print(f"ok   meson setup ({time.monotonic() - t0:.1f} s)", flush=True)
        if os.environ.get("ARBITER_DOCKER_BUILD") != "1":
            if builddir:
                check_compiled_inputs(builddir, srcdir, src)
            print("(ARBITER_DOCKER_BUILD=1 also builds and installs the copy)")
            return
        t0 = time.monotonic()
        r = subprocess.run(["ninja", "-C", build], capture_output=True, text=True)
        if r.returncode != 0:
            fail("ninja on the Dockerfile's copy set failed:\n" + r.stdout[-4000:])
            return
        r = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                            "--destdir", os.path.join(tmp, "out")],
                           capture_output=True, text=True)
        if r.returncode != 0:
            fail("meson install on the Dockerfile's copy set failed:\n" + r.stderr[-2000:])
            return
        for f in ("usr/sbin/arbiterd", "usr/bin/arbiterctl"):
            if not os.access(os.path.join(tmp, "out", f), os.X_OK):
                fail(f"the image would lack /{f}")
        if os.path.exists(os.path.join(tmp, "out", "etc")):
            fail("the build installs into /etc: " + str(os.listdir(os.path.join(tmp, "out", "etc"))))
        print(f"ok   ninja and meson install ({time.monotonic() - t0:.1f} s)", flush=True)


def direct_packages(binaries: list[str]) -> set[str]:
    """Debian packages of the libraries BINARIES name as NEEDED (one dpkg -S for all)."""
    wanted = {}  # soname -> path ldd resolves it to
    for binary in binaries:
        dyn = subprocess.run(["readelf", "-d", binary], check=True, capture_output=True,
                             text=True).stdout
        needed = re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", dyn)
        paths = {}
        for line in subprocess.run(["ldd", binary], check=True, capture_output=True,
                                   text=True).stdout.splitlines():
            m = re.match(r"\s*(\S+) => (\S+)", line)
            if m:
                paths[m.group(1)] = m.group(2)
        for so in needed:
            if re.match(r"lib(a|ub|l|t|hwa)san\.so", so):
                continue  # an ASan/UBSan build (ASAN=1 scripts/test), never the image's
            if so not in paths:
                fail(f"{binary}: ldd does not resolve {so}")
            else:
                wanted[so] = paths[so]
    # Merged /usr: dpkg knows a library under the path its package ships, which may be the
    # /lib or the /usr/lib spelling, of the name ldd gives or of the file it points to.
    candidates = {}
    for so, path in wanted.items():
        for c in {path, os.path.realpath(path)}:
            candidates[c] = so
            if c.startswith("/usr/lib/"):
                candidates[c[len("/usr"):]] = so
            elif c.startswith("/lib/"):
                candidates["/usr" + c] = so
    r = subprocess.run(["dpkg", "-S", *sorted(candidates)], capture_output=True, text=True)
    found = {}
    for line in r.stdout.splitlines():
        pkg, _, path = line.partition(": ")
        if path in candidates:
            found[candidates[path]] = pkg.split(":")[0].split(",")[0].strip()
    for so in sorted(set(wanted) - set(found)):
        fail(f"no Debian package ships {so} ({wanted[so]})")
    return set(found.values())


def check_runtime(stage, binaries: list[str], metrics: bool) -> None:
    text = " ".join(args for word, args in stage if word == "RUN")
    listed = set()
    m = re.search(r"apt-get install[^;&]*", text)
    if not m:
        fail("the runtime stage installs no packages with apt-get install")
        return
    words = [w for w in m.group(0).split()[2:] if not w.startswith("-")]
    arch = subprocess.run(["dpkg", "--print-architecture"], check=True, capture_output=True,
                          text=True).stdout.strip()
    for w in words:
        w = w.strip('"')
        if w.startswith("$"):
            # case "$(dpkg --print-architecture)" in amd64) hs=A ;; *) hs=B ;; esac
            var = w.strip("${}")
            c = re.search(rf"amd64\) {var}=(\S+) ;; \*\) {var}=(\S+) ;;", text)
            if not c:
                fail(f"cannot tell what {w} installs")
                continue
            w = c.group(1) if arch == "amd64" else c.group(2)
        listed.add(w)
    needed = direct_packages(binaries)
    missing = needed - SLIM_BASE - listed
    extra = listed - needed - RUNTIME_EXTRA
    if not metrics:
        extra.discard("libmicrohttpd12")
    if missing:
        fail(f"the runtime stage lacks {sorted(missing)}, which the binaries link")
    if extra:
        fail(f"the runtime stage installs {sorted(extra)}, which no binary links")
    if not missing and not extra:
        print(f"ok   runtime packages {sorted(listed)} are the binaries' libraries "
              f"({sorted(needed & SLIM_BASE)} come with bookworm-slim)")


def check_healthcheck(stage) -> None:
    hc = [args for word, args in stage if word == "HEALTHCHECK"]
    env = dict(os.environ)
    for word, args in stage:
        if word == "ENV":
            k, _, v = args.partition("=")
            env[k.strip()] = v.strip()
    if not hc:
        fail("the runtime stage has no HEALTHCHECK")
        return
    m = re.search(r"CMD (\[.*\])\s*$", hc[0])
    if not m:
        fail(f"HEALTHCHECK is not in exec form: {hc[0]}")
        return
    cmd = json.loads(m.group(1))
    if not cmd[0].startswith("/bin/") or not os.path.exists(cmd[0]):
        fail(f"HEALTHCHECK runs {cmd[0]}, which a Debian image may lack")
        return

    status = {"code": 200}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            code = status["code"] if self.path == "/healthz" else 404
            body = b"ok\n" if code == 200 else b"not ready\n"
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except OSError:
                pass  # the check hangs up once it has the status line

        def log_message(self, *a):
            pass

    srv = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    env["ARBITER_HEALTH_PORT"] = str(srv.server_address[1])
    try:
        def run() -> int:
            return subprocess.run(cmd, env=env, capture_output=True, timeout=10).returncode

        results = {}
        for code in (200, 503):
            status["code"] = code
            results[code] = run()
        srv.shutdown()
        srv.server_close()
        # A port nobody listens on.
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        env["ARBITER_HEALTH_PORT"] = str(s.getsockname()[1])
        s.close()
        results["closed"] = run()
    finally:
        srv.server_close()
    if results[200] != 0 or results[503] == 0 or results["closed"] == 0:
        fail(f"HEALTHCHECK exit status: 200 -> {results[200]}, 503 -> {results[503]}, "
             f"closed port -> {results['closed']} (want 0, non-zero, non-zero)")
    else:
        print("ok   HEALTHCHECK passes on 200 and fails on 503 and on a closed port")


def main() -> int:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    metrics = "--no-metrics" not in sys.argv
    builddir = next((a.split("=", 1)[1] for a in sys.argv if a.startswith("--build-dir=")),
                    None)
    srcdir, dockerfile, *binaries = args
    stages = instructions(dockerfile)
    if len(stages) < 2:
        fail(f"{dockerfile}: expected a build stage and a runtime stage, found {len(stages)}")
        return 1
    runtime = stages[-1]
    base = runtime[0][1].split()[0]
    if base != "debian:bookworm-slim":
        fail(f"the runtime stage is FROM {base}, not debian:bookworm-slim")
    user = [args for word, args in runtime if word == "USER"]
    if not user or user[-1].split(":")[0] in ("0", "root"):
        fail("the runtime stage runs as root")
    check_runtime(runtime, binaries, metrics)
    check_healthcheck(runtime)
    check_copy_set(stages[0], srcdir, builddir)
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

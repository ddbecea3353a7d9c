#!/usr/bin/env python3
"""deploy/kubernetes/*.yaml parse, hang together, and carry a config arbiterd accepts.

  test_kubernetes.py MANIFEST_DIR ARBITERD

- every file parses as YAML (python3-yaml; exit 77 without it);
- the Deployment, PodDisruptionBudget and Service select the Deployment's pod labels, the
  Service's target port is a named port of the container, the probes use named ports,
  readiness asks /readyz and liveness /livez;
- the ConfigMap's arbiter.yaml passes `arbiterd --check-config`, with each {file: ...}
  secret pointed at a file holding the Secret's value;
- the Deployment's volumes and mounts agree, and the config the container is started with
  is the ConfigMap's key.
"""
import os
import re
import subprocess
import sys
import tempfile

try:
    import yaml
except ImportError:
    print("python3-yaml is not installed: skipped")
    sys.exit(77)

failures = []


def fail(msg: str) -> None:
    failures.append(msg)
    print("FAIL", msg)


def main() -> int:
    mdir, arbiterd = sys.argv[1], sys.argv[2]
    docs = []
    for name in sorted(os.listdir(mdir)):
        if name.endswith((".yaml", ".yml")):
            path = os.path.join(mdir, name)
            with open(path, encoding="utf-8") as f:
                text = f.read()
            try:
                docs += [(name, d) for d in yaml.safe_load_all(text) if d]
            except yaml.YAMLError as e:
                fail(f"{name}: {e}")
            if re.search(r"not loaded yet|once the rules engine lands", text):
                fail(f"{name}: a comment still says the rules are not loaded")
    by_kind = {}
    for name, d in docs:
        for key in ("apiVersion", "kind", "metadata"):
            if key not in d:
                fail(f"{name}: a document without {key}")
        by_kind.setdefault(d.get("kind"), []).append(d)
    for kind in ("ConfigMap", "Secret", "Deployment", "PodDisruptionBudget", "Service"):
        if len(by_kind.get(kind, [])) != 1:
            fail(f"expected one {kind}, found {len(by_kind.get(kind, []))}")
    if failures:
        return 1

    dep = by_kind["Deployment"][0]
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    if dep["spec"]["selector"]["matchLabels"].items() - pod_labels.items():
        fail("the Deployment's selector does not match its pod labels")
    pdb = by_kind["PodDisruptionBudget"][0]
    if pdb["apiVersion"] != "policy/v1":
        fail(f"PodDisruptionBudget apiVersion {pdb['apiVersion']} (want policy/v1)")
    if pdb["spec"]["selector"]["matchLabels"].items() - pod_labels.items():
        fail("the PodDisruptionBudget selects no pod of the Deployment")
    if ("maxUnavailable" in pdb["spec"]) == ("minAvailable" in pdb["spec"]):
        fail("the PodDisruptionBudget needs exactly one of maxUnavailable, minAvailable")

    spec = dep["spec"]["template"]["spec"]
    container = spec["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container.get("ports", [])}
    svc = by_kind["Service"][0]
    if svc["spec"]["selector"].items() - pod_labels.items():
        fail("the Service selects no pod of the Deployment")
    for p in svc["spec"]["ports"]:
        if p.get("targetPort") not in ports:
            fail(f"Service port {p.get('name')}: targetPort {p.get('targetPort')} is not a "
                 f"named container port ({sorted(ports)})")
        elif ports[p["targetPort"]] != p.get("port"):
            fail(f"Service port {p['name']} is {p.get('port')}, the container's "
                 f"{ports[p['targetPort']]}")
        if not str(p.get("name", "")).endswith("metrics"):
            fail(f"Service port {p.get('name')}: name it for the metrics it serves")
    for probe, path in (("readinessProbe", "/readyz"), ("livenessProbe", "/livez")):
        get = container.get(probe, {}).get("httpGet", {})
        if get.get("port") not in ports:
            fail(f"{probe} uses port {get.get('port')}, not a named container port")
        if get.get("path") != path:
            fail(f"{probe} asks {get.get('path')}, not {path}")

    volumes = {v["name"] for v in spec.get("volumes", [])}
    mounts = {m["name"]: m["mountPath"] for m in container.get("volumeMounts", [])}
    if set(mounts) != volumes:
        fail(f"volumes {sorted(volumes)} and mounts {sorted(mounts)} differ")

    cm = by_kind["ConfigMap"][0]
    args = container.get("args", [])
    cfg_path = args[args.index("--config") + 1] if "--config" in args else None
    cm_vol = [v["name"] for v in spec["volumes"]
              if v.get("configMap", {}).get("name") == cm["metadata"]["name"]]
    if not cfg_path or not cm_vol or \
            os.path.join(mounts[cm_vol[0]], "arbiter.yaml") != cfg_path:
        fail(f"the container runs --config {cfg_path}, not the ConfigMap's arbiter.yaml")

    # The ConfigMap's config, with its secrets where this test can read them.
    secret = by_kind["Secret"][0]
    secret_mount = [mounts[v["name"]] for v in spec["volumes"]
                    if v.get("secret", {}).get("secretName") == secret["metadata"]["name"]]
    values = secret.get("stringData", {})
    with tempfile.TemporaryDirectory(prefix="arbiter-k8s.") as tmp:
        text = cm["data"]["arbiter.yaml"]
        for key, value in values.items():
            with open(os.path.join(tmp, key), "w", encoding="utf-8") as f:
                f.write(value + "\n")
            if secret_mount:
                text = text.replace(os.path.join(secret_mount[0], key), os.path.join(tmp, key))
        left = re.findall(r"\{file: ([^}]+)\}", text)
        for path in left:
            if not path.startswith(tmp):
                fail(f"the ConfigMap names secret file {path}, which no Secret key provides")
        cfg = os.path.join(tmp, "arbiter.yaml")
        with open(cfg, "w", encoding="utf-8") as f:
            f.write(text)
        r = subprocess.run([arbiterd, "--check-config", cfg], capture_output=True, text=True)
        if r.returncode != 0:
            fail("arbiterd --check-config on the ConfigMap's arbiter.yaml:\n"
                 + r.stdout.replace(tmp, "<tmp>") + r.stderr.replace(tmp, "<tmp>"))
        else:
            print("ok   the ConfigMap's arbiter.yaml passes arbiterd --check-config")

    print(f"{len(docs)} manifests, {len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())

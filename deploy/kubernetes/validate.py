"""Checks rendered blindmatch Kubernetes manifests offline (run by validate.sh).

Two layers, both without a cluster:

* schema: every document against the Kubernetes API's JSON schema for each
  pinned version, strictly (unknown fields are errors), with the schemas that
  the `kubernetes-validate` package bundles; a kind without a schema is an
  error too (the package itself only warns);
* deployment rules the schema cannot express: the shard Job is Indexed with
  completions = parallelism = SHARDS and per-index retries, the listening
  party has one Service per shard index on BASE_PORT + I, pods run as non-root
  with a read-only root filesystem, Secrets are read-only and never readable by
  others, the memory flag follows the container limit.

Usage: validate.py [--kubernetes-version V]... FILE...   (exit 1 on any error)
"""

import argparse
import re
import sys

import yaml
from kubernetes_validate import utils as kv

FINGERPRINT = re.compile(r"^sha256:[0-9a-f]{64}$")


def schema_errors(doc, version):
    """Errors of one document against the strict schema of `version`."""
    try:
        kv.validate(doc, version, strict=True)
    except kv.ValidationError as e:
        path = ".".join(str(p) for p in e.path) or "(top)"
        return [f"does not match the Kubernetes {e.version} schema at {path}: {e.message}"]
    except kv.SchemaNotFoundError as e:
        return [e.message]
    except (KeyError, TypeError) as e:
        return [f"is not a Kubernetes object ({e})"]
    return []


def name_of(doc):
    meta = doc.get("metadata") or {}
    return f"{doc.get('kind', '?')}/{meta.get('name', '?')}"


def pod_spec(doc):
    """The pod spec of a Pod or a Job's template, else None."""
    if doc.get("kind") == "Pod":
        return doc.get("spec") or {}
    if doc.get("kind") == "Job":
        return ((doc.get("spec") or {}).get("template") or {}).get("spec") or {}
    return None


def find(docs, kind, name_prefix):
    """Documents of `kind` whose name is `name_prefix` or starts with
    `name_prefix-` (kustomize adds a hash to generated ConfigMaps)."""
    return [
        d
        for d in docs
        if d.get("kind") == kind
        and re.fullmatch(re.escape(name_prefix) + r"(-[a-z0-9]+)?", name_of(d).split("/", 1)[1])
    ]


def mib(quantity):
    """A memory quantity in MiB (the suffixes these manifests use)."""
    units = {"Ki": 1 / 1024, "Mi": 1, "Gi": 1024, "Ti": 1024 * 1024}
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|Ti)", str(quantity))
    if not m:
        return None
    return int(m.group(1)) * units[m.group(2)]


def pod_errors(doc):
    """Security rules for every pod these manifests start."""
    spec = pod_spec(doc)
    if spec is None:
        return []
    errors = []
    sc = spec.get("securityContext") or {}
    if sc.get("runAsNonRoot") is not True or sc.get("runAsUser", 0) == 0:
        errors.append("pod must set runAsNonRoot: true and a non-zero runAsUser")
    if (sc.get("seccompProfile") or {}).get("type") != "RuntimeDefault":
        errors.append("pod must use the RuntimeDefault seccomp profile")
    if spec.get("automountServiceAccountToken") is not False:
        errors.append("pod must set automountServiceAccountToken: false (it needs no API access)")
    secret_volumes = {
        v["name"]: v["secret"] for v in spec.get("volumes") or [] if "secret" in v
    }
    for volume, secret in secret_volumes.items():
        modes = [secret.get("defaultMode", 0o644)] + [
            i["mode"] for i in secret.get("items") or [] if "mode" in i
        ]
        if any(mode & 0o337 for mode in modes):
            errors.append(
                f"secret volume {volume}: mode must give read access to owner and group only (at most 0440)"
            )
    for c in (spec.get("initContainers") or []) + (spec.get("containers") or []):
        csc = c.get("securityContext") or {}
        where = f"container {c.get('name')}"
        if csc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{where}: readOnlyRootFilesystem must be true")
        if csc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{where}: allowPrivilegeEscalation must be false")
        if "ALL" not in ((csc.get("capabilities") or {}).get("drop") or []):
            errors.append(f"{where}: must drop ALL capabilities")
        limits = (c.get("resources") or {}).get("limits") or {}
        if "memory" not in limits or "cpu" not in limits:
            errors.append(f"{where}: needs cpu and memory limits")
        for mount in c.get("volumeMounts") or []:
            if mount.get("name") in secret_volumes and mount.get("readOnly") is not True:
                errors.append(f"{where}: secret volume {mount['name']} must be mounted readOnly")
    return errors


def shard_job_errors(job, shards):
    """The Indexed Job of the shards: K from party.env, retries per index."""
    errors = []
    spec = job.get("spec") or {}
    if spec.get("completionMode") != "Indexed":
        errors.append("completionMode must be Indexed (the shard is the completion index)")
    if spec.get("completions") != shards or spec.get("parallelism") != shards:
        errors.append(
            f"completions and parallelism must both be SHARDS={shards} "
            f"(found {spec.get('completions')} and {spec.get('parallelism')})"
        )
    if not isinstance(spec.get("backoffLimitPerIndex"), int):
        errors.append("backoffLimitPerIndex must be set, so that a failed shard is retried alone")
    rules = (spec.get("podFailurePolicy") or {}).get("rules") or []
    fail_index = {
        v
        for r in rules
        if r.get("action") == "FailIndex"
        for v in (r.get("onExitCodes") or {}).get("values") or []
    }
    if not {2, 3} <= fail_index:
        errors.append("podFailurePolicy must fail the index (no retry) on exit codes 2 and 3")
    pod = pod_spec(job)
    if pod.get("restartPolicy") != "Never":
        errors.append("restartPolicy must be Never (podFailurePolicy needs it)")
    shard = [c for c in pod.get("containers") or [] if c.get("name") == "shard"]
    if len(shard) != 1:
        return errors + ["needs exactly one container named shard"]
    c = shard[0]
    res = c.get("resources") or {}
    limit = mib((res.get("limits") or {}).get("memory"))
    request = mib((res.get("requests") or {}).get("memory"))
    if limit is None or limit != request:
        errors.append("the shard's memory request must equal its limit (in Ki/Mi/Gi/Ti)")
    env = {e.get("name"): e for e in c.get("env") or []}
    ref = ((env.get("MEMORY_LIMIT_MIB") or {}).get("valueFrom") or {}).get("resourceFieldRef") or {}
    if ref.get("resource") != "limits.memory" or ref.get("divisor") != "1Mi":
        errors.append(
            "env MEMORY_LIMIT_MIB must come from limits.memory with divisor 1Mi (--memory-limit follows it)"
        )
    ports = {p.get("name"): p.get("containerPort") for p in c.get("ports") or []}
    listen = (env.get("LISTEN_PORT") or {}).get("value")
    if "psi" not in ports or str(ports["psi"]) != listen:
        errors.append("container port psi must equal env LISTEN_PORT (the port shard.sh listens on)")
    return errors


def service_errors(docs, party):
    """The listening party: Service blindmatch-shard-I for each index I."""
    services = [
        d
        for d in docs
        if d.get("kind") == "Service"
        and name_of(d).split("/", 1)[1].startswith("blindmatch-shard-")
    ]
    if party["ROLE"] != "listen":
        return [f"{name_of(s)}: only the listening party exposes shards" for s in services]
    errors = []
    shards = int(party["SHARDS"])
    try:
        base = int(party.get("BASE_PORT", ""))
    except ValueError:
        return ["party ConfigMap: BASE_PORT must be a port number"]
    by_name = {name_of(s).split("/", 1)[1]: s for s in services}
    expected = {f"blindmatch-shard-{i}" for i in range(shards)}
    for extra in sorted(set(by_name) - expected):
        errors.append(f"Service/{extra}: no such shard index (SHARDS={shards}); rerun shard-services.sh")
    for i in range(shards):
        s = by_name.get(f"blindmatch-shard-{i}")
        if s is None:
            errors.append(f"Service/blindmatch-shard-{i} is missing; rerun shard-services.sh")
            continue
        spec = s.get("spec") or {}
        selector = spec.get("selector") or {}
        if (
            selector.get("batch.kubernetes.io/job-completion-index") != str(i)
            or selector.get("batch.kubernetes.io/job-name") != "blindmatch-shards"
        ):
            errors.append(f"Service/blindmatch-shard-{i}: must select index {i} of job blindmatch-shards")
        ports = spec.get("ports") or []
        if [(p.get("port"), p.get("targetPort")) for p in ports] != [(base + i, "psi")]:
            errors.append(
                f"Service/blindmatch-shard-{i}: must have one port {base + i} (BASE_PORT + {i}) to targetPort psi"
            )
    return errors


def egress_errors(docs, party):
    """The connecting party: its NetworkPolicies let shard pods reach every
    partner port, PEER_BASE_PORT + I for I in 0..SHARDS-1."""
    if party["ROLE"] != "connect":
        return []
    try:
        first = int(party.get("PEER_BASE_PORT", ""))
    except ValueError:
        return ["party ConfigMap: PEER_BASE_PORT must be a port number"]
    last = first + int(party["SHARDS"]) - 1
    for policy in (d for d in docs if d.get("kind") == "NetworkPolicy"):
        for rule in (policy.get("spec") or {}).get("egress") or []:
            for p in rule.get("ports") or []:
                port = p.get("port")
                if (
                    p.get("protocol", "TCP") == "TCP"
                    and isinstance(port, int)
                    and port <= first
                    and p.get("endPort", port) >= last
                ):
                    return []
    return [
        f"no NetworkPolicy lets the shards reach TCP ports {first}-{last} "
        "(PEER_BASE_PORT + shard index): change overlays/party-b/networkpolicy.yaml"
    ]


def party_errors(docs):
    """Rules across documents, driven by the party's ConfigMap."""
    configs = find(docs, "ConfigMap", "blindmatch-party")
    if len(configs) != 1:
        return ["needs exactly one ConfigMap blindmatch-party (from party.env)"]
    party = configs[0].get("data") or {}
    errors = []
    shards = party.get("SHARDS", "")
    if not re.fullmatch(r"[1-9]\d*", shards):
        return ["party ConfigMap: SHARDS must be a positive number"]
    shards = int(shards)
    if party.get("ROLE") not in ("listen", "connect"):
        return ["party ConfigMap: ROLE must be listen or connect"]
    if not FINGERPRINT.fullmatch(party.get("PEER_FINGERPRINT", "")):
        errors.append("party ConfigMap: PEER_FINGERPRINT must be sha256: and 64 lowercase hex digits")
    if party["ROLE"] == "connect" and not party.get("PEER_HOST"):
        errors.append("party ConfigMap: the connecting party needs PEER_HOST")
    jobs = find(docs, "Job", "blindmatch-shards")
    if len(jobs) != 1:
        errors.append("needs exactly one Job blindmatch-shards")
    else:
        errors += [f"Job/blindmatch-shards: {e}" for e in shard_job_errors(jobs[0], shards)]
    merges = find(docs, "Job", "blindmatch-merge")
    if len(merges) != 1:
        errors.append("needs exactly one Job blindmatch-merge")
    elif (merges[0].get("spec") or {}).get("suspend") is not True:
        errors.append("Job/blindmatch-merge: must be created suspended (it runs after the shards)")
    return errors + service_errors(docs, party) + egress_errors(docs, party)


def check(docs, versions):
    """Every error in a rendered overlay, as 'Kind/name: message' lines."""
    errors = []
    for doc in docs:
        if not isinstance(doc, dict):
            errors.append(f"a document is not a mapping: {doc!r:.60}")
            continue
        for version in versions:
            errors += [f"{name_of(doc)}: {e}" for e in schema_errors(doc, version)]
        errors += [f"{name_of(doc)}: {e}" for e in pod_errors(doc)]
    return errors + party_errors(docs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kubernetes-version", action="append", required=True)
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    failed = False
    for path in args.files:
        try:
            with open(path, encoding="utf-8") as f:
                docs = [d for d in yaml.safe_load_all(f) if d is not None]
        except (OSError, yaml.YAMLError) as e:
            print(f"{path}: cannot read: {e}")
            failed = True
            continue
        errors = check(docs, args.kubernetes_version)
        for e in errors:
            print(f"{path}: {e}")
        failed = failed or bool(errors)
        if not errors:
            print(
                f"{path}: {len(docs)} documents valid for Kubernetes "
                f"{', '.join(args.kubernetes_version)}"
            )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env bash
# Offline checks of deploy/kubernetes/, no cluster needed (CI runs this):
#
#  1. renders each overlay with `kubectl kustomize` (client only, works offline)
#     and checks that party A's shard-services.yaml matches its party.env;
#  2. validates every rendered document strictly against the Kubernetes API
#     schemas of the pinned versions, plus the deployment rules (validate.py);
#  3. shows that the validation rejects: broken manifests made on the fly from
#     the two overlays must each fail with the expected error (only when run
#     without arguments);
#  4. runs shard.sh and merge.sh against a stand-in binary and compares the
#     command lines they build;
#  5. with BLINDMATCH_BIN set (CI sets it to the binary it built): checks that
#     the binary knows every flag the scripts pass, then runs a session of K=2
#     shard pairs on loopback through shard.sh (4 processes, as the pods run
#     it) and merge.sh on both sides, and compares the merged rows with those
#     of a single session over the same inputs.
#
# `kubectl apply/create --dry-run=client` cannot do step 2 without a cluster
# (they fetch the schema from the API server), hence the PyPI package
# kubernetes-validate, which bundles the schemas. It is installed with pinned
# versions (requirements.txt) into a virtual environment under target/ that
# later runs reuse; set K8S_VALIDATE_VENV to put it elsewhere.
#
#   deploy/kubernetes/validate.sh [OVERLAY_DIR...]   (default: both overlays)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# The oldest Kubernetes these manifests support (backoffLimitPerIndex is GA in
# 1.33) and the newest the pinned validator knows.
versions=(1.33.0 1.37.0)
venv="${K8S_VALIDATE_VENV:-$repo/target/k8s-validate-venv}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

command -v kubectl >/dev/null || fail "kubectl is not installed (its client renders the overlays)"

# --- the validator, pinned --------------------------------------------------
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "$want" ]]; then
    echo "== installing the validator into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
        --require-virtualenv -r "$here/requirements.txt"
    echo "$want" >"$stamp"
fi
py="$venv/bin/python"
validate() {
    local args=()
    for v in "${versions[@]}"; do args+=(--kubernetes-version "$v"); done
    "$py" "$here/validate.py" "${args[@]}" "$@"
}

# --- 1 and 2: render and validate each overlay --------------------------------
if (($# > 0)); then
    overlays=("$@")
else
    overlays=("$here/overlays/party-a" "$here/overlays/party-b")
fi
rendered=()
for overlay in "${overlays[@]}"; do
    name="$(basename "$overlay")"
    echo "== $name: kubectl kustomize"
    kubectl kustomize "$overlay" >"$tmp/$name.yaml"
    if [[ -e "$overlay/shard-services.yaml" ]]; then
        mkdir "$tmp/regen-$name"
        cp "$overlay/party.env" "$tmp/regen-$name/"
        "$here/shard-services.sh" "$tmp/regen-$name" >/dev/null
        diff -u "$overlay/shard-services.yaml" "$tmp/regen-$name/shard-services.yaml" ||
            fail "$name/shard-services.yaml does not match its party.env: run deploy/kubernetes/shard-services.sh $overlay"
    fi
    rendered+=("$tmp/$name.yaml")
done
echo "== schema (Kubernetes ${versions[*]}, strict) and deployment rules"
validate "${rendered[@]}" || fail "the manifests above do not validate"

# --- 3: broken manifests must be rejected -----------------------------------
# Each made on the fly from the rendered overlays; each must fail with the
# expected message, so a validator that accepted everything would fail here.
if (($# == 0)); then
    echo "== negative checks: broken manifests are rejected"
    "$py" - "${rendered[0]}" "${rendered[1]}" "$tmp" <<'PY'
import copy, sys, yaml
party_a, party_b, out = sys.argv[1:]

def job(d, name="blindmatch-shards"):
    return [x for x in d if x["kind"] == "Job" and x["metadata"]["name"] == name][0]
def container(d):
    return job(d)["spec"]["template"]["spec"]["containers"][0]
def party(d):
    return [x for x in d if x["kind"] == "ConfigMap" and x["metadata"]["name"].startswith("blindmatch-party")][0]["data"]
def service(d, i):
    return [x for x in d if x["kind"] == "Service" and x["metadata"]["name"] == f"blindmatch-shard-{i}"][0]

def secret_mode(d):
    for v in job(d)["spec"]["template"]["spec"]["volumes"]:
        if "secret" in v:
            v["secret"]["defaultMode"] = 0o644

mutants = {  # from party A's manifests
    "unknown-field": lambda d: job(d)["spec"].update(completionsPerShard=4),
    "wrong-type": lambda d: job(d)["spec"].update(backoffLimitPerIndex="two"),
    "unknown-kind": lambda d: job(d).update(kind="IndexedJob"),
    "missing-required": lambda d: job(d)["spec"]["template"]["spec"].pop("containers"),
    "root-filesystem-writable": lambda d: container(d)["securityContext"].update(readOnlyRootFilesystem=False),
    "secret-world-readable": secret_mode,
    "shards-changed-alone": lambda d: party(d).update(SHARDS="5"),
    "no-per-index-retry": lambda d: job(d)["spec"].pop("backoffLimitPerIndex"),
    "wrong-index-selector": lambda d: service(d, 2)["spec"]["selector"].update({"batch.kubernetes.io/job-completion-index": "3"}),
    "merge-not-suspended": lambda d: job(d, "blindmatch-merge")["spec"].update(suspend=False),
}
mutants_b = {
    "egress-misses-ports": lambda d: party(d).update(PEER_BASE_PORT="30700"),
}
for src, table in ((party_a, mutants), (party_b, mutants_b)):
    docs = list(yaml.safe_load_all(open(src)))
    for name, mutate in table.items():
        d = copy.deepcopy(docs)
        mutate(d)
        with open(f"{out}/mutant-{name}.yaml", "w") as f:
            yaml.safe_dump_all(d, f)
PY
    # A hand-written manifest with a misspelt field, as a user would make one.
    cat >"$tmp/mutant-typo.yaml" <<'EOF'
apiVersion: batch/v1
kind: Job
metadata:
  name: typo
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
        - name: c
          image: blindmatch
          volumeMount:
            - name: data
              mountPath: /data
EOF
    expect_rejected() {
        local file="$tmp/mutant-$1.yaml" pattern="$2" output
        if output="$(validate "$file" 2>&1)"; then
            fail "mutant $1 was accepted"
        fi
        grep -qF -- "$pattern" <<<"$output" || {
            echo "$output" >&2
            fail "mutant $1 was rejected, but not with '$pattern'"
        }
        echo "rejected as expected: $1"
    }
    expect_rejected unknown-field "'completionsPerShard' was unexpected"
    expect_rejected wrong-type "'two' is not of type 'integer'"
    expect_rejected unknown-kind "Couldn't find schema for kind IndexedJob"
    expect_rejected missing-required "'containers' is a required property"
    expect_rejected root-filesystem-writable "container shard: readOnlyRootFilesystem must be true"
    expect_rejected secret-world-readable "mode must give read access to owner and group only"
    expect_rejected shards-changed-alone "Service/blindmatch-shard-4 is missing"
    expect_rejected no-per-index-retry "backoffLimitPerIndex must be set"
    expect_rejected wrong-index-selector "Service/blindmatch-shard-2: must select index 2"
    expect_rejected merge-not-suspended "must be created suspended"
    expect_rejected egress-misses-ports "no NetworkPolicy lets the shards reach TCP ports 30700-30703"
    expect_rejected typo "'volumeMount' was unexpected"
fi

# --- 4: the command lines the scripts build -----------------------------------
echo "== shard.sh and merge.sh build the expected command lines"
for script in "$here/base/shard.sh" "$here/base/merge.sh" "$here/shard-services.sh"; do
    sh -n "$script" || fail "$script: syntax error"
    if command -v shellcheck >/dev/null; then shellcheck "$script" || fail "$script: shellcheck"; fi
done
# A stand-in binary that prints its arguments, one a line.
cat >"$tmp/stand-in" <<'EOF'
#!/bin/sh
printf '%s\n' "$@"
EOF
chmod +x "$tmp/stand-in"
run_shard() {
    env -i PATH="$PATH" BLINDMATCH="$tmp/stand-in" OUT_DIR="$tmp/out" STATE_DIR="$tmp/state" \
        WORK_DIR=/scratch IDENTITY=/secrets/identity/party MEMORY_LIMIT_MIB=3072 CPU_LIMIT=2 \
        SHARDS=4 PEER_FINGERPRINT="sha256:$(printf 'ab%.0s' $(seq 32))" INPUT=/data/in/customers.csv \
        COLUMNS="mobile:phone email:email" KEEP=customer_id EXTRA_ARGS="--reveal both" "$@" \
        sh "$here/base/shard.sh" 2>/dev/null
}
expected_tail() {
    local i="$1"
    printf '%s\n' --identity /secrets/identity/party --peer-fingerprint "sha256:$(printf 'ab%.0s' $(seq 32))" \
        --input /data/in/customers.csv --column mobile:phone --column email:email --keep customer_id \
        --shard "$i/4" --work-dir /scratch --memory-limit 2304MiB --resume "$tmp/state/shard-$i" \
        --threads 2 --wait-timeout 30m --events json -o "$tmp/out/shard-$i.csv" \
        --receipt "$tmp/out/shard-$i.receipt.json" --shareable-receipt "$tmp/out/shard-$i.shareable.json" \
        --reveal both
}
check_args() {
    local what="$1" got="$2" want="$3"
    diff -u <(printf '%s\n' "$want") <(printf '%s\n' "$got") || fail "shard.sh: $what"
    echo "command line as expected: $what"
}
check_args "party A, shard 2" "$(run_shard ROLE=listen JOB_COMPLETION_INDEX=2)" \
    "$(printf '%s\n' match --listen 0.0.0.0:7000; expected_tail 2)"
check_args "party B, shard 3, host pattern" \
    "$(run_shard ROLE=connect JOB_COMPLETION_INDEX=3 PEER_HOST='shard-{I}.psi.acme.example' PEER_BASE_PORT=7000)" \
    "$(printf '%s\n' match --connect shard-3.psi.acme.example:7003; expected_tail 3)"
check_args "party B, shard 1, host list" \
    "$(run_shard ROLE=connect JOB_COMPLETION_INDEX=1 PEER_HOST='a.example b.example c.example d.example' PEER_BASE_PORT=31000)" \
    "$(printf '%s\n' match --connect b.example:31001; expected_tail 1)"
# Refusals: exit 2, which the Job's podFailurePolicy does not retry.
for bad in "ROLE=listen" "ROLE=listen JOB_COMPLETION_INDEX=4" "ROLE=sideways JOB_COMPLETION_INDEX=0" \
    "ROLE=connect JOB_COMPLETION_INDEX=0 PEER_HOST='a.example b.example' PEER_BASE_PORT=7000" \
    "ROLE=listen JOB_COMPLETION_INDEX=0 PEER_FINGERPRINT=sha256:$(printf '0%.0s' $(seq 64))" \
    "ROLE=listen JOB_COMPLETION_INDEX=0 MEMORY_HEADROOM_PERCENT=100"; do
    rc=0
    eval "run_shard $bad" >/dev/null || rc=$?
    [[ "$rc" == 2 ]] || fail "shard.sh with $bad: exit $rc, expected 2"
done
echo "refused with exit 2: no index, index >= SHARDS, unknown role, wrong host count, placeholder fingerprint, headroom 100%"
# A shard whose receipt exists is done: a re-run of the Job skips it.
mkdir -p "$tmp/out"
echo '{}' >"$tmp/out/shard-1.receipt.json"
[[ -z "$(run_shard ROLE=listen JOB_COMPLETION_INDEX=1)" ]] || fail "shard.sh ran a shard that has a receipt"
echo "a shard with a receipt is skipped"

run_merge() {
    env -i PATH="$PATH" BLINDMATCH="$tmp/stand-in" OUT_DIR="$tmp/out" SHARDS=3 sh "$here/base/merge.sh" 2>&1
}
rc=0
output="$(run_merge)" || rc=$?
[[ "$rc" == 2 && "$output" == *"no receipt for shard(s) 0 2 of 3"* ]] || fail "merge.sh with missing receipts: exit $rc: $output"
echo '{}' >"$tmp/out/shard-0.receipt.json"
echo '{}' >"$tmp/out/shard-2.receipt.json"
echo '{}' >"$tmp/out/shard-7.receipt.json" # from an earlier run with more shards: ignored
want="$(printf '%s\n' merge -o "$tmp/out/matched.csv" --receipt "$tmp/out/merged.receipt.json" \
    "$tmp/out/shard-0.receipt.json" "$tmp/out/shard-1.receipt.json" "$tmp/out/shard-2.receipt.json" \
    audit receipt "$tmp/out/merged.receipt.json")"
diff -u <(printf '%s\n' "$want") <(run_merge) || fail "merge.sh: command lines"
echo "command lines as expected: merge of shards 0..2, then audit"

# With the real binary: every flag the scripts pass must exist.
if [[ -n "${BLINDMATCH_BIN:-}" ]]; then
    echo "== the flags exist in $BLINDMATCH_BIN"
    flags_of() { grep -E '^-' | sed 's/=.*//' | sort -u; }
    check_flags() {
        local command="$1" used="$2" help missing=()
        help="$("$BLINDMATCH_BIN" "$command" --help)" || fail "$BLINDMATCH_BIN has no command '$command'"
        for flag in $used; do
            grep -qE -- "(^|[ ,])$flag([ ,=<]|$)" <<<"$help" || missing+=("$flag")
        done
        ((${#missing[@]} == 0)) || fail "blindmatch $command has no ${missing[*]} (used by deploy/kubernetes/base/*.sh)"
        echo "blindmatch $command knows: ${used//$'\n'/ }"
    }
    check_flags match "$(run_shard OUT_DIR="$tmp/fresh" ROLE=listen JOB_COMPLETION_INDEX=0 | flags_of) --connect"
    check_flags merge "-o --receipt"
    help="$("$BLINDMATCH_BIN" audit --help)" || fail "$BLINDMATCH_BIN has no command 'audit'"
    grep -qE '^\s+receipt' <<<"$help" || fail "blindmatch audit has no 'receipt' subcommand"

    # --- 5: a real sharded session on loopback, through the scripts ------------
    # K=2 shard pairs as processes, each through shard.sh as a pod runs it, then
    # merge.sh on each side; the merged rows must equal a single session's.
    echo "== K=2 shard pairs on loopback through shard.sh, merge.sh on each side"
    bin="$(cd "$(dirname "$BLINDMATCH_BIN")" && pwd)/$(basename "$BLINDMATCH_BIN")"
    lb="$tmp/loopback"
    mkdir -p "$lb/a/scratch" "$lb/b/scratch"
    "$bin" -q identity new -o "$lb/a/party" >"$lb/a.fp"
    "$bin" -q identity new -o "$lb/b/party" >"$lb/b.fp"
    # 1,000 customers each, 500 shared.
    awk 'BEGIN { print "customer_id,mobile"; for (i = 0; i < 1000; i++) printf "a%d,1390000%04d\n", i, i }' >"$lb/a/in.csv"
    awk 'BEGIN { print "client_no,mobile"; for (i = 500; i < 1500; i++) printf "b%d,1390000%04d\n", i, i }' >"$lb/b/in.csv"
    # Two free ports in a row on loopback for party A's shards.
    base="$("$py" - <<'PY'
import random, socket
for _ in range(200):
    base = random.randint(20000, 60000)
    socks = [socket.socket() for _ in range(2)]
    try:
        for i, s in enumerate(socks):
            s.bind(("127.0.0.1", base + i))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
PY
)"
    [[ -n "$base" ]] || fail "no two free ports in a row on loopback"
    shard() {
        local side="$1" i="$2"
        shift 2
        env -i PATH="$PATH" BLINDMATCH="$bin" SHARDS=2 JOB_COMPLETION_INDEX="$i" MEMORY_LIMIT_MIB=512 \
            CPU_LIMIT=1 COLUMNS=mobile:phone WAIT_TIMEOUT=60s INPUT="$lb/$side/in.csv" \
            OUT_DIR="$lb/$side/out" STATE_DIR="$lb/$side/state" WORK_DIR="$lb/$side/scratch" \
            IDENTITY="$lb/$side/party" "$@" sh "$here/base/shard.sh" >"$lb/$side-$i.events" 2>"$lb/$side-$i.log"
    }
    pids=()
    for i in 0 1; do
        shard a "$i" ROLE=listen LISTEN_HOST=127.0.0.1 LISTEN_PORT=$((base + i)) KEEP=customer_id \
            PEER_FINGERPRINT="$(cat "$lb/b.fp")" &
        pids+=("$!")
        shard b "$i" ROLE=connect PEER_HOST=127.0.0.1 PEER_BASE_PORT="$base" KEEP=client_no \
            PEER_FINGERPRINT="$(cat "$lb/a.fp")" &
        pids+=("$!")
    done
    for pid in "${pids[@]}"; do
        wait "$pid" || {
            tail -n 5 "$lb"/*.log >&2
            fail "a shard process failed"
        }
    done
    for log in "$lb"/[ab]-[01].events; do
        grep -q '"event":"done"' "$log" || fail "$log has no done event"
    done
    for side in a b; do
        env -i PATH="$PATH" BLINDMATCH="$bin" SHARDS=2 OUT_DIR="$lb/$side/out" \
            sh "$here/base/merge.sh" >"$lb/$side-merge.log" 2>&1 || {
            cat "$lb/$side-merge.log" >&2
            fail "merge.sh failed for party $side"
        }
    done
    # The truth: one session over the whole sets.
    "$bin" -q match --listen "127.0.0.1:$base" --identity "$lb/a/party" --peer-fingerprint "$(cat "$lb/b.fp")" \
        --input "$lb/a/in.csv" --column mobile:phone --keep customer_id -o "$lb/a/single.csv" --wait-timeout 60s &
    pid="$!"
    "$bin" -q match --connect "127.0.0.1:$base" --identity "$lb/b/party" --peer-fingerprint "$(cat "$lb/a.fp")" \
        --input "$lb/b/in.csv" --column mobile:phone --keep client_no -o "$lb/b/single.csv" --wait-timeout 60s
    wait "$pid" || fail "the single session failed"
    "$py" - "$lb" <<'PY' || fail "the merged outputs differ from a single session's"
import csv, sys
lb = sys.argv[1]
for side, keep in (("a", "customer_id"), ("b", "client_no")):
    def rows(path):
        with open(path, newline="") as f:
            return {(r["row"], r[keep]) for r in csv.DictReader(f)}
    merged, single = rows(f"{lb}/{side}/out/matched.csv"), rows(f"{lb}/{side}/single.csv")
    if merged != single or len(single) != 500:
        sys.exit(f"party {side}: {len(merged)} merged rows, {len(single)} in a single session, {len(merged ^ single)} differ")
print("merged rows equal a single session's on both sides (500 each)")
PY
fi
echo "deploy/kubernetes: all checks passed"

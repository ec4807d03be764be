"""match(): two parties in two Python processes over TLS 1.3 on 127.0.0.1, and
every mode of the CLI in one process (two threads), checked against the known
overlap; Ctrl-C stops a waiting session."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import blindmatch as bm
from conftest import HERE, PYTHON, cli_binary, messy, two_sides

TIMEOUT = 120


def wait_for(path, proc, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                return f.read()
        if proc.poll() is not None:
            raise AssertionError(f"the party exited early: {proc.stderr.read().decode()}")
        time.sleep(0.05)
    raise AssertionError("the listener did not report its address in time")


def run_pair(tmp_path, a_spec, b_spec):
    """a listens, b connects; each in its own process. Returns both results."""
    out_a, out_b, addr = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "addr"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE)] + sys.path))
    a = subprocess.Popen(
        [PYTHON, str(HERE / "_party.py"), json.dumps(a_spec), str(addr), str(out_a)],
        env=env, stderr=subprocess.PIPE,
    )
    try:
        address = wait_for(addr, a)
        b_spec = dict(b_spec, connect=address)
        b = subprocess.Popen(
            [PYTHON, str(HERE / "_party.py"), json.dumps(b_spec), str(addr) + ".b", str(out_b)],
            env=env, stderr=subprocess.PIPE,
        )
        try:
            assert b.wait(TIMEOUT) == 0, b.stderr.read().decode()
        finally:
            b.kill()
        assert a.wait(TIMEOUT) == 0, a.stderr.read().decode()
    finally:
        a.kill()
    return json.loads(out_a.read_text()), json.loads(out_b.read_text())


def test_two_processes_over_tls_find_exactly_the_shared_customers(tmp_path, identities):
    (a_stem, a_fp), (b_stem, b_fp) = identities
    a_ids, b_ids = two_sides(300, 250, 120)
    common = sorted(set(a_ids) & set(b_ids))
    a, b = run_pair(
        tmp_path,
        dict(customers=a_ids, listen="127.0.0.1:0", identity=a_stem, peer_fingerprint=b_fp,
             wait_timeout=60, read_timeout=30),
        dict(customers=b_ids, identity=b_stem, peer_fingerprint=a_fp, wait_timeout=60, read_timeout=30),
    )
    assert a["customers"] == [f"C{i}" for i in common]
    assert b["customers"] == [f"C{i}" for i in common]
    assert a["match_ids"] == b["match_ids"]
    assert a["matched_values"] == b["matched_values"] == len(common)
    assert a["transcript"] == b["transcript"]
    assert a["kind"] == "DataFrame"


def tls_pair(tmp_path, identities, a_ids, b_ids, a_extra=None, b_extra=None, **both):
    """A listens, B connects, over TLS with pinning, with the options ``both``
    and each side's own."""
    (a_stem, a_fp), (b_stem, b_fp) = identities
    tmp_path.mkdir(parents=True, exist_ok=True)
    common = dict(wait_timeout=60, read_timeout=30, min_peer_set=10, **both)
    return run_pair(
        tmp_path,
        dict(customers=a_ids, listen="127.0.0.1:0", identity=a_stem, peer_fingerprint=b_fp,
             **common, **(a_extra or {})),
        dict(customers=b_ids, identity=b_stem, peer_fingerprint=a_fp, **common, **(b_extra or {})),
    )


def test_the_vole_protocol_over_tls_finds_what_ecdh_finds(tmp_path, identities):
    a_ids, b_ids = two_sides(400, 300, 170)
    common = sorted(set(a_ids) & set(b_ids))
    ecdh = tls_pair(tmp_path / "ecdh", identities, a_ids, b_ids)
    vole = tls_pair(tmp_path / "vole", identities, a_ids, b_ids, protocol="vole")
    for side in (0, 1):
        assert ecdh[side]["psi_protocol"] == "ecdh-ristretto255"
        assert vole[side]["psi_protocol"] == "vole-rr22-silent"
        assert vole[side]["customers"] == ecdh[side]["customers"] == [f"C{i}" for i in common]
        assert vole[side]["matched_values"] == ecdh[side]["matched_values"] == len(common)
    # Match IDs come from each session: equal across the sides, fresh per session.
    assert vole[0]["match_ids"] == vole[1]["match_ids"]
    assert vole[0]["transcript"] == vole[1]["transcript"]
    assert vole[0]["match_ids"] != ecdh[0]["match_ids"]


def test_the_vole_protocol_counts_like_ecdh_in_cardinality_mode(tmp_path, identities):
    a_ids, b_ids = two_sides(300, 260, 110)
    common = set(a_ids) & set(b_ids)
    ecdh = tls_pair(tmp_path / "ecdh", identities, a_ids, b_ids, mode="cardinality")
    vole = tls_pair(tmp_path / "vole", identities, a_ids, b_ids, mode="cardinality",
                    protocol="vole")
    for side in (0, 1):
        assert vole[side]["psi_protocol"] == "vole-rr22-silent"
        # Counts only: no rows on either side.
        assert vole[side]["customers"] is None and ecdh[side]["customers"] is None
        assert vole[side]["matched_values"] == ecdh[side]["matched_values"] == len(common)
    assert vole[0]["transcript"] == vole[1]["transcript"]


def test_a_small_memory_limit_runs_buckets_and_finds_the_same_rows(tmp_path, identities):
    # More values than 1 MiB holds (2,621 at 400 bytes each): both sides spill.
    a_ids, b_ids = two_sides(3000, 3200, 700)
    common = [f"C{i}" for i in sorted(set(a_ids) & set(b_ids))]
    whole = tls_pair(tmp_path / "whole", identities, a_ids, b_ids)
    work = tmp_path / "spill"
    work.mkdir()
    split = tls_pair(tmp_path / "split", identities, a_ids, b_ids, memory_limit="1MiB",
                     work_dir=str(work))
    for side in (0, 1):
        assert whole[side]["buckets"] is None
        assert split[side]["buckets"] >= 2, split[side]
        assert {"planned", "bucket_started", "bucket_done"} <= set(split[side]["events"])
        assert split[side]["customers"] == whole[side]["customers"] == common
        assert split[side]["matched_values"] == whole[side]["matched_values"] == len(common)
    assert split[0]["match_ids"] == split[1]["match_ids"]
    assert list(work.iterdir()) == [], "the spill folder is removed"
    # The same limit in bytes, and the partner with the default: the larger
    # need wins, so both run the same buckets.
    again = tls_pair(tmp_path / "bytes", identities, a_ids, b_ids, memory_limit=1 << 20)
    assert again[0]["buckets"] == split[0]["buckets"]
    assert again[1]["customers"] == common


def test_shards_cover_the_whole_set(tmp_path, identities):
    a_ids, b_ids = two_sides(300, 300, 150)
    common = {f"C{i}" for i in set(a_ids) & set(b_ids)}
    found = []
    for n, shard in enumerate([(0, 2), "1/2"]):
        a, b = tls_pair(tmp_path / f"shard-{n}", identities, a_ids, b_ids, shard=shard)
        assert a["customers"] == b["customers"]
        found += a["customers"]
    assert len(found) == len(common) and set(found) == common


def test_a_resumed_bucketed_session_runs_no_bucket_again(tmp_path, identities):
    a_ids, b_ids = two_sides(3000, 3000, 600)
    common = [f"C{i}" for i in sorted(set(a_ids) & set(b_ids))]
    a_dir, b_dir = tmp_path / "a-state", tmp_path / "b-state"
    options = dict(memory_limit="1MiB")
    first = tls_pair(tmp_path / "first", identities, a_ids, b_ids,
                     a_extra=dict(resume=str(a_dir)), b_extra=dict(resume=str(b_dir)), **options)
    assert first[0]["buckets"] >= 2 and first[0]["customers"] == common
    assert (a_dir / "plan.json").exists() and (b_dir / "plan.json").exists()
    again = tls_pair(tmp_path / "again", identities, a_ids, b_ids,
                     a_extra=dict(resume=str(a_dir)), b_extra=dict(resume=str(b_dir)), **options)
    for side in (0, 1):
        assert again[side]["customers"] == common
        assert again[side]["match_ids"] == first[side]["match_ids"]
        assert "bucket_started" not in again[side]["events"], again[side]["events"]


def test_a_cli_side_and_a_python_side_run_vole_buckets_together(tmp_path, identities):
    binary = cli_binary()
    if binary is None:
        pytest.skip("no blindmatch binary built in this checkout (cargo build)")
    (a_stem, a_fp), (b_stem, b_fp) = identities
    # The CLI's set needs buckets, the Python side's fits: it reads its table
    # again from memory into buckets when the plan says so.
    a_ids, b_ids = two_sides(3000, 1500, 500)
    common = [f"C{i}" for i in sorted(set(a_ids) & set(b_ids))]
    rows = ["customer_id,mobile"] + [f"C{i},{messy(i)}" for i in a_ids]
    (tmp_path / "a.csv").write_text("\n".join(rows) + "\n")
    cli = subprocess.Popen(
        [str(binary), "match", "--listen", "127.0.0.1:0", "--identity", a_stem,
         "--peer-fingerprint", b_fp, "--input", "a.csv", "--column", "mobile:phone",
         "--keep", "customer_id", "-o", "matched.csv", "--min-peer-set", "10",
         "--protocol", "vole", "--memory-limit", "1MiB", "--wait-timeout", "60s"],
        cwd=tmp_path, stderr=subprocess.PIPE, text=True,
    )
    try:
        addr = None
        for line in cli.stderr:
            if line.startswith("listening on "):
                addr = line.split()[-1]
                break
        assert addr, "the CLI did not listen"
        rest = []
        drain = threading.Thread(target=lambda: rest.append(cli.stderr.read()), daemon=True)
        drain.start()
        out = tmp_path / "b.json"
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE)] + sys.path))
        spec = dict(customers=b_ids, connect=addr, identity=b_stem, peer_fingerprint=a_fp,
                    min_peer_set=10, protocol="vole", memory_limit="1MiB", wait_timeout=60,
                    read_timeout=30)
        py = subprocess.run([PYTHON, str(HERE / "_party.py"), json.dumps(spec), str(out) + ".addr",
                             str(out)], env=env, capture_output=True, text=True, timeout=TIMEOUT)
        assert py.returncode == 0, py.stderr
        code = cli.wait(TIMEOUT)
        drain.join(10)
        assert code == 0, rest
    finally:
        cli.kill()
    b = json.loads(out.read_text())
    assert b["customers"] == common
    assert b["psi_protocol"] == "vole-rr22-silent" and b["buckets"] >= 2
    matched = (tmp_path / "matched.csv").read_text().splitlines()
    header = matched[0].split(",")
    ids = [line.split(",")[header.index("customer_id")] for line in matched[1:]]
    match_ids = [line.split(",")[header.index("match_id")] for line in matched[1:]]
    assert ids == common
    assert sorted(match_ids) == sorted(b["match_ids"])


def test_scale_options_are_checked_like_the_cli_flags():
    t = pa.table({"m": ["13800000000"] * 3})
    cases = [
        (dict(protocol="rsa"), "unknown protocol 'rsa'"),
        (dict(memory_limit="lots"), "is not a memory size"),
        (dict(memory_limit="10KiB"), "below the smallest limit"),
        (dict(memory_limit=True), "memory_limit must be"),
        (dict(shard=(2, 2)), "is not a shard"),
        (dict(shard=(0, 1, 2)), "shard must be"),
        (dict(mode="labelled", memory_limit="1GiB"), "do not apply to labelled mode"),
        (dict(mode="cardinality", shard="0/2"), "cardinality session must not be split"),
        (dict(mode="labelled", protocol="vole"), "--protocol vole with --mode labelled"),
    ]
    for kwargs, message in cases:
        with pytest.raises(bm.BadInputError) as info:
            bm.match(t, {"m": "phone"}, listen="127.0.0.1:0", insecure_plaintext_for_testing=True,
                     **kwargs)
        assert message in str(info.value), (kwargs, str(info.value))
        assert info.value.exit_code == 2


def test_labelled_mode_across_processes(tmp_path, identities):
    (a_stem, a_fp), (b_stem, b_fp) = identities
    a_ids, b_ids = two_sides(200, 150, 80)
    common = sorted(set(a_ids) & set(b_ids))
    giver, learner = run_pair(
        tmp_path,
        dict(customers=a_ids, listen="127.0.0.1:0", identity=a_stem, peer_fingerprint=b_fp,
             mode="labelled", release=["segment"], wait_timeout=60, read_timeout=30),
        dict(customers=b_ids, identity=b_stem, peer_fingerprint=a_fp, mode="labelled",
             wait_timeout=60, read_timeout=30),
    )
    assert giver["customers"] is None
    assert learner["customers"] == [f"C{i}" for i in common]
    assert learner["peer_segment"] == [f"seg-{i % 3}" for i in common]


def in_threads(a_kwargs, b_kwargs, a_data, b_data, columns):
    """Both sides in this process: the GIL is released during the session."""
    results = {}
    ready = threading.Event()
    addr = {}

    def progress(event):
        if event["event"] == "listening":
            addr["addr"] = event["addr"]
            ready.set()

    def side_a():
        try:
            results["a"] = bm.match(a_data, columns, listen="127.0.0.1:0", progress=progress,
                                    insecure_plaintext_for_testing=True, wait_timeout=60,
                                    read_timeout=30, **a_kwargs)
        except BaseException as e:  # noqa: BLE001  reported below
            results["a"] = e
            ready.set()

    t = threading.Thread(target=side_a)
    t.start()
    assert ready.wait(60)
    results["b"] = bm.match(b_data, columns, connect=addr["addr"], insecure_plaintext_for_testing=True,
                            wait_timeout=60, read_timeout=30, **b_kwargs)
    t.join(TIMEOUT)
    if isinstance(results["a"], BaseException):
        raise results["a"]
    return results["a"], results["b"]


def frames(a_ids, b_ids):
    def frame(ids):
        return pa.table({
            "id": [f"C{i}" for i in ids],
            "mobile": [messy(i) for i in ids],
            "email": [f"user{i}@example.com" if i % 2 else "" for i in ids],
        })
    return frame(a_ids), frame(b_ids)


def test_cardinality_and_reveal_me_peer(tmp_path):
    a_ids, b_ids = two_sides(150, 150, 60)
    a_t, b_t = frames(a_ids, b_ids)
    a, b = in_threads(dict(mode="cardinality"), dict(mode="cardinality"), a_t, b_t, {"mobile": "phone"})
    assert a.table is None and b.table is None
    assert a.matched_values == b.matched_values == 60
    a, b = in_threads(dict(reveal="me"), dict(reveal="peer"), a_t, b_t, {"mobile": "phone"})
    assert a.table.num_rows == 60 and b.table is None and b.matched_values is None
    assert isinstance(a.table, pa.Table)
    assert a.receipt["session_id"] == b.receipt["session_id"]


def test_several_rules_and_polars(tmp_path):
    a_ids, b_ids = two_sides(150, 150, 60)
    a_t, b_t = frames(a_ids, b_ids)
    a_pl, b_pl = pl.from_arrow(a_t), pl.from_arrow(b_t)
    cols = {"mobile": "phone", "email": "email"}
    a, b = in_threads(dict(rules=["phone", "email"], keep=["id"], min_peer_set=10),
                      dict(rules=["phone", "email"], keep=["id"], min_peer_set=10), a_pl, b_pl, cols)
    assert isinstance(a.table, pl.DataFrame)
    assert a.table.columns[:2] == ["row", "id"]
    assert "matched_rules" in a.table.columns and "match_id.email" in a.table.columns
    common = sorted(set(a_ids) & set(b_ids))
    assert a.table["id"].to_list() == [f"C{i}" for i in common]
    both = [f"C{i}" for i in common if i % 2]
    rules = dict(zip(a.table["id"].to_list(), a.table["matched_rules"].to_list()))
    assert all(rules[c] == "phone;email" for c in both)


def test_a_rules_mismatch_is_refused_on_both_sides():
    a_ids, b_ids = two_sides(150, 150, 60)
    a_t, b_t = frames(a_ids, b_ids)
    cols = {"mobile": "phone", "email": "email"}
    with pytest.raises(bm.BlindmatchError) as info:
        in_threads(dict(rules=["phone", "email"], min_peer_set=10),
                   dict(rules=["email", "phone"], min_peer_set=10), a_t, b_t, cols)
    assert info.value.exit_code in (1, 3)


def test_progress_receives_events_and_receipt_files_are_written(tmp_path):
    a_ids, b_ids = two_sides(150, 150, 60)
    a_t, b_t = frames(a_ids, b_ids)
    seen = []
    receipt = tmp_path / "b.receipt.json"
    a, b = in_threads({}, dict(progress=lambda e: seen.append(e["event"]), receipt=str(receipt)),
                      a_t, b_t.to_pandas(), {"mobile": "phone"})
    assert {"connected", "handshake_complete", "progress", "finished"} <= set(seen)
    assert json.loads(receipt.read_text())["transcript_hash"] == b.receipt["transcript_hash"]
    assert isinstance(b.table, pd.DataFrame)


def test_ctrl_c_stops_a_waiting_listener_cleanly(tmp_path, identities):
    (a_stem, _), (_, b_fp) = identities
    spec = dict(customers=list(range(200)), listen="127.0.0.1:0", identity=a_stem,
                peer_fingerprint=b_fp, wait_timeout=120)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE)] + sys.path))
    addr = tmp_path / "addr"
    proc = subprocess.Popen([PYTHON, str(HERE / "_party.py"), json.dumps(spec), str(addr), str(tmp_path / "o")],
                            env=env, stderr=subprocess.PIPE)
    try:
        wait_for(addr, proc)
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        proc.wait(30)
        assert time.monotonic() - started < 10
        assert "KeyboardInterrupt" in proc.stderr.read().decode()
        assert proc.returncode != 0
        assert not (tmp_path / "o").exists()
    finally:
        proc.kill()


SIDE = '''
import json, sys
import pyarrow as pa
import blindmatch as bm
role, n = sys.argv[1], int(sys.argv[2])
t = pa.table({"m": [f"+86138{i:08d}" for i in range(n)]})
def progress(e):
    if e["event"] in ("listening", "handshake_complete"):
        print(json.dumps(e), flush=True)
kw = dict(listen="127.0.0.1:0") if role == "listen" else dict(connect=sys.argv[3])
try:
    bm.match(t, {"m": "phone"}, insecure_plaintext_for_testing=True, progress=progress,
             wait_timeout=60, read_timeout=30, **kw)
    print("DONE", flush=True)
except bm.BlindmatchError as e:
    print("ERR", e.exit_code, str(e), flush=True)
'''


def test_ctrl_c_mid_session_cancels_and_tells_the_partner(tmp_path):
    side = tmp_path / "side.py"
    side.write_text(SIDE)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    run = lambda *a: subprocess.Popen([PYTHON, str(side), *a], env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True)
    listener = run("listen", "60000")
    try:
        addr = json.loads(listener.stdout.readline())["addr"]
        connector = run("connect", "60000", addr)
        try:
            assert json.loads(connector.stdout.readline())["event"] == "handshake_complete"
            started = time.monotonic()
            connector.send_signal(signal.SIGINT)
            connector.wait(30)
            assert time.monotonic() - started < 10
            assert "KeyboardInterrupt" in connector.stderr.read()
        finally:
            connector.kill()
        out, _ = listener.communicate(timeout=60)
        assert "ERR 1 the session was cancelled by the partner" in out, out
    finally:
        listener.kill()


def test_the_receipts_of_a_session_audit_clean(tmp_path):
    a_ids, b_ids = two_sides(150, 150, 60)
    a_t, b_t = frames(a_ids, b_ids)
    mine, theirs = tmp_path / "a.receipt.json", tmp_path / "b.shared.json"
    in_threads(dict(receipt=str(mine)), dict(shareable_receipt=str(theirs)), a_t, b_t, {"mobile": "phone"})
    report = bm.audit_receipts(str(mine), str(theirs))
    assert report["audit"] == "receipt" and report["clean"] is True, report["findings"]
    other = tmp_path / "c.receipt.json"
    in_threads(dict(receipt=str(other)), {}, a_t, b_t, {"mobile": "phone"})
    report = bm.audit_receipts(str(other), str(theirs))
    assert report["clean"] is False
    assert {f["check"] for f in report["findings"]}


def test_a_progress_callback_that_raises_stops_the_session():
    a_ids, b_ids = two_sides(150, 150, 60)
    a_t, b_t = frames(a_ids, b_ids)

    class Stop(Exception):
        pass

    def stop(event):
        if event["event"] == "handshake_complete":
            raise Stop()

    with pytest.raises(Stop):
        in_threads({}, dict(progress=stop), a_t, b_t, {"mobile": "phone"})

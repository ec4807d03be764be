"""resolve(), the audits and the transport-free party."""

from __future__ import annotations

import csv
import warnings

import pandas as pd
import pyarrow as pa
import pytest

import blindmatch as bm
from blindmatch.lowlevel import Party
from conftest import messy, phone, two_sides


def test_resolve_links_records_across_sources_with_stable_ids(tmp_path):
    crm = pd.DataFrame({
        "mobile": [messy(1), messy(2), messy(3), ""],
        "mail": ["a@example.com", "", "c@example.com", "d@example.com"],
    })
    app = pd.DataFrame({"tel": [phone(2), phone(9), ""], "email": ["", "", "D@example.com"]})
    result = bm.resolve(
        [bm.Source("crm", crm, {"mobile": "phone", "mail": "email"}),
         bm.Source("app", app, {"tel": "phone", "email": "email"})],
        rules=["phone", "email"],
    )
    clusters = result.clusters
    assert isinstance(clusters, pd.DataFrame)
    assert list(clusters.columns)[:3] == ["source", "row", "cluster_id"]
    cluster = {(r.source, int(r.row)): r.cluster_id for r in clusters.itertuples()}
    assert cluster[("crm", 2)] == cluster[("app", 1)]  # same phone
    assert cluster[("crm", 4)] == cluster[("app", 3)]  # same e-mail, different case
    assert cluster[("crm", 1)] != cluster[("crm", 3)]
    assert len(set(cluster.values())) == 5
    assert isinstance(result.report, dict) and result.report
    assert len(result.golden) == 5
    again = bm.resolve(
        [bm.Source("app", app, {"tel": "phone", "email": "email"}),
         bm.Source("crm", crm, {"mobile": "phone", "mail": "email"})],
        rules=["phone", "email"],
    )
    assert again.clusters.sort_values(["source", "row"]).reset_index(drop=True).equals(
        clusters.sort_values(["source", "row"]).reset_index(drop=True))


def test_resolve_refuses_a_bad_rule():
    with pytest.raises(bm.BadInputError) as info:
        bm.resolve([bm.Source("crm", pa.table({"m": ["1"]}), {"m": "phone"})], rules=["phone+"])
    assert info.value.exit_code == 2 and info.value.hint


def write_tokens(path, key, values, extra=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.RejectsWarning)
        tokens = bm.Tokenizer(key).tokenize(values, "phone")
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["phone"] + (["note"] if extra else []))
        for i, t in enumerate(tokens):
            w.writerow([t or ""] + ([extra[i]] if extra else []))


def test_audit_tokens_is_clean_for_tokens_and_finds_a_planted_number(tmp_path, key):
    clean = tmp_path / "tokens.csv"
    write_tokens(clean, key, [messy(i) for i in range(50)])
    report = bm.audit_tokens(str(clean))
    assert report["clean"] is True and report["audit"] == "tokens"
    leaky = tmp_path / "leaky.csv"
    planted = "13912345678"
    write_tokens(leaky, key, [messy(i) for i in range(50)],
                 extra=["ok"] * 49 + [f"call {planted} now"])
    report = bm.audit_tokens(str(leaky))
    assert report["clean"] is False
    assert any(f["column"] == "note" for f in report["findings"])
    assert planted not in str(report)


def test_audit_manifest_and_receipts_report_missing_files_as_errors(tmp_path):
    with pytest.raises(bm.BadInputError):
        bm.audit_manifest(str(tmp_path / "none.manifest.json"))
    with pytest.raises(bm.BadInputError):
        bm.audit_receipts(str(tmp_path / "a.json"), str(tmp_path / "b.json"))


def run(a: Party, b: Party):
    a.start(b.hello())
    b.start(a.hello())
    rounds = 0
    while not (a.is_finished and b.is_finished):
        to_b, to_a = a.outgoing(), b.outgoing()
        assert to_a or to_b, "stalled"
        for m in to_b:
            assert isinstance(m, bytes)
            b.handle(m)
        for m in to_a:
            a.handle(m)
        rounds += 1
        assert rounds < 1000
    return a.finish(), b.finish()


def test_lowlevel_parties_find_the_overlap_with_equal_match_ids():
    a_ids, b_ids = two_sides(300, 200, 90)
    a = Party([messy(i) for i in a_ids] + ["12345"], "phone", role="initiator", batch_size=64)
    b = Party(pa.array([phone(i) for i in b_ids]), "phone", role="responder")
    assert a.rejected_rows == [300]
    ra, rb = run(a, b)
    common = sorted(set(a_ids) & set(b_ids))
    assert ra["rows"] == [a_ids.index(i) for i in common]
    assert rb["rows"] == [b_ids.index(i) for i in common]
    assert ra["match_ids"] == rb["match_ids"]
    assert ra["matched"] == rb["matched"] == len(common)
    assert a.session_id == b.session_id and len(a.session_id) == 32


def test_lowlevel_cardinality_and_one_sided_reveal():
    a_ids, b_ids = two_sides(150, 150, 40)
    a = Party([phone(i) for i in a_ids], "phone", role="client", mode="cardinality", reveal="client")
    b = Party([phone(i) for i in b_ids], "phone", role="server", mode="cardinality", reveal="client")
    ra, rb = run(a, b)
    assert ra["matched"] == 40 and ra["rows"] == []
    assert rb["matched"] is None


def test_lowlevel_refuses_disagreement_small_sets_and_garbage():
    values = [phone(i) for i in range(150)]
    a = Party(values, "phone", role="initiator")
    with pytest.raises(bm.CheckFailedError):
        a.start(Party(values, "phone", role="initiator").hello())
    with pytest.raises(bm.CheckFailedError):
        a.start(Party(values, "phone", role="responder", mode="cardinality").hello())
    with pytest.raises(bm.CheckFailedError):
        a.start(Party(values[:10], "phone", role="responder").hello())
    with pytest.raises(bm.BadInputError):
        a.start(b"not a hello")
    b = Party(values, "phone", role="responder")
    a = Party(values, "phone", role="initiator")
    a.start(b.hello())
    b.start(a.hello())
    with pytest.raises(bm.BlindmatchError):
        b.handle(b"\x00" * 40)
    with pytest.raises(bm.BadInputError):
        Party(values, "phone", role="initiator", mode="labelled")


def test_audit_manifest_of_a_cli_tokenize_run_is_clean(tmp_path, key):
    from conftest import cli_binary
    import subprocess

    binary = cli_binary()
    if binary is None:
        pytest.skip("no blindmatch binary built in this checkout")
    source = tmp_path / "in.csv"
    source.write_text("id,mobile\n" + "".join(f"{i},{messy(i)}\n" for i in range(40)))
    out = tmp_path / "tokens.csv"
    subprocess.run([str(binary), "-q", "tokenize", "--key", str(key), "--input", str(source),
                    "--column", "mobile:phone", "--keep", "id", "-o", str(out)], check=True, timeout=120)
    manifest = str(out) + ".manifest.json"
    report = bm.audit_manifest(manifest, key=str(key), input=str(source))
    assert report["audit"] == "manifest" and report["clean"] is True, report["findings"]
    full = bm.audit_tokens(str(out), manifest=manifest, key=str(key), source=str(source), sample=40, seed=1)
    assert full["clean"] is True, full["findings"]
    with open(out, "a") as f:
        f.write("99,bm1.0000000000000000.AAAA\n")
    assert bm.audit_manifest(manifest)["clean"] is False

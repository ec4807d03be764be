"""normalize() and Tokenizer.tokenize() on every column kind, against the CLI."""

from __future__ import annotations

import csv
import subprocess
import warnings

import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import blindmatch as bm
from conftest import cli_binary, messy, phone

VALUES = [messy(i) for i in range(50)] + ["12345", None, "", "  "]


def test_normalize_list_gives_canonical_values_and_reports_rejects():
    with pytest.warns(bm.RejectsWarning, match="too_short: 1"):
        out = bm.normalize(VALUES, "phone")
    assert out[:50] == [phone(i) for i in range(50)]
    assert out[50:] == [None, None, None, None]
    report = bm.normalize_with_report(VALUES, "phone")
    assert report.rejected_rows == [50]
    assert report.reasons == ["too_short"]
    assert report.counts == {"values": 50, "empty": 3, "rejected": 1}


@pytest.mark.parametrize(
    "make, check",
    [
        (lambda v: pa.array(v), lambda r: isinstance(r, pa.Array)),
        (lambda v: pa.chunked_array([v[:10], v[10:]]), lambda r: isinstance(r, pa.ChunkedArray)),
        (lambda v: pa.array(v, pa.large_string()), lambda r: isinstance(r, pa.Array)),
        (lambda v: pd.Series(v, name="mobile", index=range(100, 100 + len(v))),
         lambda r: isinstance(r, pd.Series) and r.name == "mobile" and r.index[0] == 100),
        (lambda v: pl.Series("mobile", v), lambda r: isinstance(r, pl.Series) and r.name == "mobile"),
        (lambda v: list(v), lambda r: isinstance(r, list)),
    ],
)
def test_every_kind_round_trips_to_its_own_kind(key, make, check):
    tok = bm.Tokenizer(key)
    want = tok.tokenize_with_report(VALUES, "phone").result
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.RejectsWarning)
        got = tok.tokenize(make(VALUES), "phone")
        normalised = bm.normalize(make(VALUES), "phone")
    assert check(got) and check(normalised)
    as_list = lambda r: (r.to_pylist() if hasattr(r, "to_pylist") else list(r))
    got_list = [None if (x is None or x != x) else x for x in as_list(got)]
    assert got_list == want
    assert len(got_list) == len(VALUES)


def test_tokens_have_the_format_key_id_and_ignore_how_a_number_is_written(key, tmp_path):
    tok = bm.Tokenizer(key)
    tokens = tok.tokenize_with_report([messy(7), phone(7), messy(8)], "phone").result
    assert tokens[0] == tokens[1] != tokens[2]
    assert tokens[0].startswith(f"bm1.{tok.key_id}.")
    other = tmp_path / "other.key"
    bm.keygen(str(other))
    assert bm.Tokenizer(other).tokenize([phone(7)], "phone")[0] != tokens[0]
    short = bm.Tokenizer(key, token_bytes=16).tokenize([phone(7)], "phone")[0]
    assert len(short) < len(tokens[0])


def test_numbers_and_categoricals_are_read_as_text(key):
    tok = bm.Tokenizer(key)
    ints = pd.Series([13800000000 + i for i in range(3)])
    cats = pd.Series([f"138{i:08d}" for i in range(3)], dtype="category")
    assert tok.tokenize(ints, "phone", profile="bm-std-v1").tolist() == tok.tokenize(
        [f"138{i:08d}" for i in range(3)], "phone"
    )
    assert tok.tokenize(cats, "phone").tolist() == tok.tokenize(ints, "phone").tolist()


def test_a_large_column_on_several_threads_equals_one_thread(key):
    tok = bm.Tokenizer(key)
    column = pa.array([messy(i) if i % 7 else None for i in range(100_000)])
    assert tok.tokenize(column, "phone", threads=1).equals(tok.tokenize(column, "phone", threads=4))


def test_max_reject_rate_raises_check_failed(key):
    tok = bm.Tokenizer(key)
    with pytest.raises(bm.CheckFailedError) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", bm.RejectsWarning)
            tok.tokenize(VALUES, "phone", max_reject_rate=0.01)
    assert info.value.exit_code == 3 and info.value.category == "check_failed"


def test_profile_names_choose_the_rules():
    assert bm.normalize(["13800138000"], "phone") == ["+8613800138000"]
    assert bm.normalize(["2025550123"], "phone", profile="bm-std-v1,phone-region=1") == ["+12025550123"]
    with pytest.raises(bm.BadInputError):
        bm.normalize(["x"], "phone", profile="no-such-profile")
    with pytest.raises(bm.BadInputError) as info:
        bm.normalize(["x"], "no_such_type")
    assert "phone" in info.value.hint


def test_tokens_equal_the_cli_on_the_same_file(key, tmp_path):
    binary = cli_binary()
    if binary is None:
        pytest.skip("no blindmatch binary built in this checkout")
    source = tmp_path / "in.csv"
    with open(source, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "mobile"])
        for i, v in enumerate(VALUES):
            w.writerow([i, "" if v is None else v])
    out = tmp_path / "out.csv"
    subprocess.run(
        [str(binary), "-q", "tokenize", "--key", str(key), "--input", str(source),
         "--column", "mobile:phone", "--keep", "id", "-o", str(out)],
        check=True, timeout=120,
    )
    with open(out, newline="") as f:
        cli = [row["mobile"] or None for row in csv.DictReader(f)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", bm.RejectsWarning)
        assert bm.Tokenizer(key).tokenize(VALUES, "phone") == cli


def test_chunked_arrays_are_read_chunk_by_chunk(key):
    tok = bm.Tokenizer(key)
    col = pa.chunked_array([VALUES[:7], [], VALUES[7:30], VALUES[30:]], pa.string())
    got = tok.tokenize_with_report(col, "phone")
    assert got.result.to_pylist() == tok.tokenize_with_report(VALUES, "phone").result
    assert got.rejected_rows == [50] and got.counts["rejected"] == 1
    assert bm.normalize_with_report(col, "phone").rejected_rows == [50]
    assert tok.tokenize([], "phone") == []
    assert tok.tokenize(pa.chunked_array([], pa.string()), "phone").to_pylist() == []

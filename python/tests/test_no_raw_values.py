"""The rule that no raw identifier, key or cell value reaches an exception or a
warning: values are planted in the data (cells, a key file, message bytes),
every failure path is triggered, and the text of each exception (message, hint,
notes, chain) must hold none of them. Names the caller gave (columns, types,
rules) may be echoed, as the CLI echoes its flags."""

from __future__ import annotations

import warnings

import pandas as pd
import pyarrow as pa
import pytest

import blindmatch as bm
from blindmatch.lowlevel import Party

PLANTED = ["13987654321", "planted.person@example.org", "110105194912310021", "PLANTED-VALUE-ZQX"]


def text_of(exc: BaseException) -> str:
    parts = []
    while exc is not None:
        parts += [type(exc).__name__, str(exc), repr(exc), str(getattr(exc, "hint", ""))]
        parts += [str(n) for n in getattr(exc, "__notes__", [])]
        exc = exc.__cause__ or exc.__context__
    return "\n".join(parts)


def assert_clean(text: str) -> None:
    for value in PLANTED:
        assert value not in text, f"a planted value reached: {text}"
        assert value[:8] not in text, f"part of a planted value reached: {text}"


def failing_calls(key, tmp_path):
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("blindmatch-key v1\nkey: " + PLANTED[3] + "\n")
    bad_key.chmod(0o600)
    data = pa.table({"mobile": PLANTED, "n": [1, 2, 3, 4]})
    yield lambda: bm.normalize(PLANTED, "phone", max_reject_rate=0.0)
    yield lambda: bm.Tokenizer(key).tokenize(PLANTED, "uscc", max_reject_rate=0.0)
    yield lambda: bm.Tokenizer(bad_key)
    yield lambda: bm.Tokenizer(key).tokenize(pa.array([{"x": v} for v in PLANTED]), "phone")
    yield lambda: bm.normalize(pd.Series(PLANTED), "no_such_type")
    yield lambda: bm.match(data, {"mobile": "phone"}, listen="127.0.0.1:0",
                           insecure_plaintext_for_testing=True, wait_timeout=0.5)
    yield lambda: bm.match(data, {"no_such_column": "phone"}, connect="127.0.0.1:1",
                           insecure_plaintext_for_testing=True)
    yield lambda: bm.match(data, {"mobile": "phone"}, connect="127.0.0.1:1", wait_timeout=1,
                           insecure_plaintext_for_testing=True, max_reject_rate=0.0)
    yield lambda: bm.resolve([bm.Source("s", data, {"mobile": "phone"})], rules=["phone+"])
    yield lambda: Party(PLANTED * 40, "phone", role="initiator").start(PLANTED[3].encode())
    party = Party(PLANTED * 40, "email", role="initiator", min_peer_set=1)
    party.start(Party(PLANTED * 40, "email", role="responder", min_peer_set=1).hello())
    yield lambda: party.handle(PLANTED[0].encode() * 4)


def test_no_exception_or_warning_carries_a_planted_value(key, tmp_path):
    raised = 0
    for call in failing_calls(key, tmp_path):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(Exception) as info:
                call()
        assert isinstance(info.value, bm.BlindmatchError), text_of(info.value)
        assert info.value.exit_code in (1, 2, 3)
        assert info.value.category in ("failed", "bad_input", "check_failed")
        assert_clean(text_of(info.value))
        for w in caught:
            assert_clean(str(w.message))
        raised += 1
    assert raised == 11


def test_rejects_warnings_name_reasons_and_counts_only():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        bm.normalize(PLANTED, "cn_id")
    assert caught and all(isinstance(w.message, bm.RejectsWarning) for w in caught)
    for w in caught:
        assert_clean(str(w.message))


def test_tokenizer_repr_shows_the_key_id_only(key):
    tok = bm.Tokenizer(key)
    secret = key.read_text().split("key:")[-1].strip()
    assert secret and secret not in repr(tok) and tok.key_id in repr(tok)

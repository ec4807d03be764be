"""blindmatch for Python: keyed tokens, identifier normalisation, identity
resolution, private set intersection (PSI) over mutually authenticated TLS, and
compliance audits, as the ``blindmatch`` command-line tool does them, on pyarrow,
pandas and polars data.

Every function calls the same Rust libraries as the CLI; the GIL is released
while they work, and Ctrl-C stops a session cleanly (the partner is told).

Errors are :class:`BlindmatchError` subclasses carrying ``category``,
``exit_code`` (what the CLI would exit with) and ``hint``. No message ever holds a
raw identifier, key or cell value: they name columns, rows and counts.

Quick start::

    import blindmatch as bm
    bm.keygen("tokens.key")
    tok = bm.Tokenizer("tokens.key")
    df["phone_token"] = tok.tokenize(df["phone"], "phone")
"""

from __future__ import annotations

import os

import json
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from . import _native, lowlevel
from ._frames import _Column, _Table, bad_input, csv_to_table, table_to_csv
from ._native import (
    BadInputError,
    BlindmatchError,
    CheckFailedError,
    FailedError,
    keygen,
    new_identity,
)

__version__: str = _native.__version__

__all__ = [
    "BadInputError",
    "BlindmatchError",
    "CheckFailedError",
    "ColumnReport",
    "FailedError",
    "MatchResult",
    "RejectsWarning",
    "ResolveResult",
    "Source",
    "Tokenizer",
    "audit_manifest",
    "audit_receipts",
    "audit_tokens",
    "keygen",
    "lowlevel",
    "match",
    "new_identity",
    "normalize",
    "normalize_with_report",
    "resolve",
]

#: Identifier types, as the CLI names them.
ID_TYPES: Tuple[str, ...] = (
    "phone",
    "email",
    "uscc",
    "cn_id",
    "name",
    "text",
    "raw",
    "company",
    "wechat_id",
)


class RejectsWarning(UserWarning):
    """Issued when values were rejected by the normaliser: counts per reason,
    never a value. The rows are in the ``*_with_report`` functions' report."""


@dataclass
class ColumnReport:
    """What became of a column: the result (same kind as the input), the
    rejected rows (0-based positions) with their reason codes (e.g.
    ``too_short``), and counts of ``values``, ``empty`` and ``rejected`` cells."""

    result: Any
    rejected_rows: List[int]
    reasons: List[str]
    counts: Dict[str, int]

    def rejects_by_reason(self) -> Dict[str, int]:
        """Rejected cells per reason code."""
        out: Dict[str, int] = {}
        for r in self.reasons:
            out[r] = out.get(r, 0) + 1
        return out


def _check_rate(report: ColumnReport, max_reject_rate: Optional[float], what: str) -> None:
    rejected = report.counts["rejected"]
    if rejected:
        summary = ", ".join(f"{k}: {v}" for k, v in sorted(report.rejects_by_reason().items()))
        warnings.warn(
            f"{what}: {rejected} value(s) rejected ({summary}); they are null in the result",
            RejectsWarning,
            stacklevel=3,
        )
    if max_reject_rate is not None:
        non_empty = report.counts["values"] + rejected
        rate = rejected / non_empty if non_empty else 0.0
        if rate > max_reject_rate:
            err = CheckFailedError(
                f"{what}: {rate:.2%} of non-empty values rejected, above max_reject_rate {max_reject_rate:.2%}"
            )
            err.category, err.exit_code = "check_failed", 3
            err.hint = "see normalize_with_report() for the rejected rows and reasons"
            raise err


def normalize_with_report(values: Any, type: str, profile: Optional[str] = None) -> ColumnReport:
    """Normalises ``values`` (a pyarrow array, pandas Series, polars Series or
    list) as identifiers of ``type`` under ``profile`` (default ``bm-std-v1``;
    e.g. ``"bm-std-v1,phone-region=86"``), and reports what was rejected.

    Missing, empty and rejected values are null in ``result``, which has the
    input's kind. This returns identifier values: keep it where they may be seen.
    """
    column = _Column(values)
    array, rows, reasons, counts = _native.normalize_array(column.chunks, type, profile)
    return ColumnReport(column.back(array), list(rows), list(reasons), dict(counts))


def normalize(
    values: Any,
    type: str,
    profile: Optional[str] = None,
    *,
    max_reject_rate: Optional[float] = None,
) -> Any:
    """Normalises ``values`` as :func:`normalize_with_report` does and returns the
    normalised column in the input's kind (null where missing, empty or
    rejected). Rejects raise a :class:`RejectsWarning` with counts per reason;
    above ``max_reject_rate`` (a share of non-empty values, e.g. ``0.01``) a
    :class:`CheckFailedError` is raised instead of returning."""
    report = normalize_with_report(values, type, profile)
    _check_rate(report, max_reject_rate, f"normalize as {type}")
    return report.result


class Tokenizer:
    """Keyed tokens (``bm1.<key-id>.<base64url>``, HMAC-SHA256) under one key file,
    exactly as ``blindmatch tokenize --key KEY_FILE`` makes them.

    ``key_file`` is a master key (tokens use its derived token key) or a token
    key. The key stays inside the native tokeniser and is zeroised when this
    object is collected; nothing here exposes it.
    """

    def __init__(self, key_file: Union[str, "os.PathLike[str]"], token_bytes: int = 32) -> None:
        """Loads ``key_file``; ``token_bytes`` (16 to 32) truncates the MAC as
        ``--token-bytes`` does."""
        self._native = _native.NativeTokenizer(str(key_file), token_bytes)

    @property
    def key_id(self) -> str:
        """The ID of the key the tokens are made with, as in every token."""
        return self._native.key_id

    def __repr__(self) -> str:
        return f"Tokenizer(key_id='{self.key_id}')"

    def tokenize_with_report(
        self,
        column: Any,
        type: str,
        profile: Optional[str] = None,
        *,
        threads: Optional[int] = None,
    ) -> ColumnReport:
        """Tokenises ``column`` (pyarrow array or chunked array, pandas Series,
        polars Series or list) as identifiers of ``type``; the tokens have the
        input's kind, null where the value was missing, empty or rejected.
        ``threads`` limits the worker threads (default: one per core)."""
        col = _Column(column)
        array, rows, reasons, counts = self._native.tokenize_array(col.chunks, type, profile, threads)
        return ColumnReport(col.back(array), list(rows), list(reasons), dict(counts))

    def tokenize(
        self,
        column: Any,
        type: str,
        profile: Optional[str] = None,
        *,
        max_reject_rate: Optional[float] = None,
        threads: Optional[int] = None,
    ) -> Any:
        """The tokens of ``column`` in its own kind (see
        :meth:`tokenize_with_report`). Rejects raise a :class:`RejectsWarning`
        with counts per reason; above ``max_reject_rate`` a
        :class:`CheckFailedError` is raised instead of returning."""
        report = self.tokenize_with_report(column, type, profile, threads=threads)
        _check_rate(report, max_reject_rate, f"tokenize as {type}")
        return report.result


def _column_pairs(columns: Union[Mapping[str, str], Sequence[str]]) -> List[Tuple[str, str]]:
    if isinstance(columns, Mapping):
        return [(str(k), str(v)) for k, v in columns.items()]
    pairs = []
    for spec in columns:
        name, sep, type_ = str(spec).rpartition(":")
        if not sep:
            raise bad_input(f"column '{spec}' is not NAME:TYPE", "e.g. columns={'mobile': 'phone'}")
        pairs.append((name, type_))
    return pairs


@dataclass
class MatchResult:
    """What one side of a session got.

    ``table``: this side's matched rows (the input's kind) with ``row`` (the
    1-based data row, as the CLI writes it), the kept columns, ``match_id`` (equal
    on both sides for the same customer), with several rules ``matched_rules`` and
    ``match_id.RULE``, and in labelled mode ``peer.COLUMN``; ``None`` when this
    side learns no rows. ``receipt``: the full receipt (keep it);
    ``shareable_receipt``: the one to give the partner. ``matched_values``: the
    distinct shared values, when this side learns (also in cardinality mode).
    """

    table: Any
    receipt: Dict[str, Any]
    shareable_receipt: Dict[str, Any]
    matched_rows: Optional[int]
    matched_values: Optional[int]
    rows: int
    rejected: int


def match(
    data: Any,
    columns: Union[Mapping[str, str], Sequence[str]],
    *,
    listen: Optional[str] = None,
    connect: Optional[str] = None,
    identity: Optional[str] = None,
    peer_fingerprint: Optional[str] = None,
    peer_ca: Optional[str] = None,
    peer_name: Optional[str] = None,
    insecure_plaintext_for_testing: bool = False,
    rules: Sequence[str] = (),
    mode: str = "intersection",
    reveal: Optional[str] = None,
    release: Sequence[str] = (),
    release_max_bytes: int = 64,
    max_labels_per_id: int = 1,
    keep: Optional[Sequence[str]] = None,
    profile: Optional[str] = None,
    min_peer_set: int = 100,
    max_peer_set: Optional[int] = None,
    batch_size: int = 4096,
    wait_timeout: float = 300.0,
    read_timeout: float = 60.0,
    receipt: Optional[str] = None,
    shareable_receipt: Optional[str] = None,
    rejects: Optional[str] = None,
    max_reject_rate: Optional[float] = None,
    force: bool = False,
    protocol: str = "ecdh",
    memory_limit: Union[int, str, None] = None,
    work_dir: Optional[str] = None,
    resume: Optional[str] = None,
    shard: Union[Tuple[int, int], str, None] = None,
    progress: Optional[Callable[[Dict[str, Any]], None]] = None,
) -> MatchResult:
    """Runs one side of a PSI session with a partner, as ``blindmatch match`` does.

    ``data`` is a pyarrow Table, pandas or polars DataFrame; ``columns`` maps
    identifier columns to types (``{"mobile": "phone"}``). Exactly one of
    ``listen`` (``"0.0.0.0:7000"``; port 0 picks one, reported to ``progress``
    as the ``addr`` of the ``listening`` event) and ``connect`` (``"host:7000"``). TLS 1.3 with
    ``identity`` (a stem made by :func:`new_identity`) and the partner pinned by
    ``peer_fingerprint``, or a CA (``peer_ca``, ``peer_name``).

    Modes: ``mode`` ``intersection`` (default), ``cardinality`` or ``labelled``
    (``release=["segment"]`` on the giving side); ``reveal`` ``me``, ``peer`` or
    ``both`` (default both; labelled: inferred); ``rules`` in priority order
    (``["phone", "email", "name+company"]``; default: each column). ``protocol``
    ``"ecdh"`` (default, every mode) or ``"vole"`` (``vole-rr22-silent``: silent
    VOLE and OKVS, several times faster; intersection and cardinality mode); both sides choose the same. ``keep``:
    columns of ``data`` in the result (default: all). ``receipt``,
    ``shareable_receipt`` and ``rejects``: also write those files. Timeouts are in
    seconds.

    Scale, as ``--memory-limit``, ``--work-dir``, ``--shard`` and ``--resume``
    (not in labelled mode): ``memory_limit`` (bytes as an ``int``, or a size such
    as ``"256MiB"`` or ``"2GiB"``; default 1 GiB, at least 1 MiB) splits a set that
    does not fit into buckets agreed with the partner, one sub-session each, the
    table read again and spilled encrypted to ``work_dir`` (default: the system's
    temporary folder); ``shard=(i, k)`` or ``"i/k"`` runs shard ``i`` of ``k``
    (0-based; the partner runs the same shard; not in cardinality mode);
    ``resume`` is a folder that keeps a bucketed session's state, so that a rerun
    with the same folder on both sides runs only the buckets not yet completed.

    ``progress`` is called on this thread with each session event as a dict
    (``listening``, ``connected``, ``handshake_complete``, ``progress``,
    ``finished``; in a bucketed session also ``planned``, ``bucket_started`` and
    ``bucket_done``).

    The identifier values are handed to the library in memory and never written
    to disk. Raises :class:`BadInputError`, :class:`CheckFailedError` (refused by
    either side's policy) or :class:`FailedError`; ``KeyboardInterrupt`` on
    Ctrl-C, after the partner was told.
    """
    frame = _Table(data)
    table = frame.table
    pairs = _column_pairs(columns)
    needed: List[str] = []
    for name in [c for c, _ in pairs] + list(release):
        if name not in needed:
            needed.append(name)
    keep_names = list(table.column_names if keep is None else keep)
    for name in keep_names:
        if name not in table.column_names:
            raise bad_input(f"keep column '{name}' is not in the table", "check the column name")
    csv = table_to_csv(table, needed)
    if isinstance(memory_limit, bool) or not (
        memory_limit is None or isinstance(memory_limit, (int, str))
    ):
        raise bad_input(
            "memory_limit must be a number of bytes or a size such as '256MiB'",
            "e.g. memory_limit='512MiB' or memory_limit=2**30",
        )
    if isinstance(shard, (tuple, list)) and len(shard) == 2 and all(
        isinstance(n, int) and not isinstance(n, bool) for n in shard
    ):
        shard = f"{shard[0]}/{shard[1]}"
    elif shard is not None and not isinstance(shard, str):
        raise bad_input("shard must be (i, k) or 'i/k'", "e.g. shard=(0, 4) for the first of 4 shards")
    options = dict(
        columns=pairs,
        rules=list(rules),
        listen=listen,
        connect=connect,
        identity=None if identity is None else str(identity),
        peer_fingerprint=peer_fingerprint,
        peer_ca=None if peer_ca is None else str(peer_ca),
        peer_name=peer_name,
        insecure_plaintext_for_testing=insecure_plaintext_for_testing,
        mode=mode,
        reveal=reveal,
        release=[r.strip() for r in release],
        release_max_bytes=release_max_bytes,
        max_labels_per_id=max_labels_per_id,
        profile=profile,
        min_peer_set=min_peer_set,
        max_peer_set=max_peer_set,
        batch_size=batch_size,
        wait_timeout=float(wait_timeout),
        read_timeout=float(read_timeout),
        receipt=None if receipt is None else str(receipt),
        shareable_receipt=None if shareable_receipt is None else str(shareable_receipt),
        rejects=None if rejects is None else str(rejects),
        max_reject_rate=max_reject_rate,
        force=force,
        protocol=protocol,
        memory_limit=None if memory_limit is None else str(memory_limit),
        work_dir=None if work_dir is None else str(work_dir),
        shard=shard,
        resume=None if resume is None else str(resume),
    )
    out_csv, receipt_json, shareable_json, summary = _native.match_csv(
        csv, "<DataFrame>", _Options(options), progress
    )
    result_table = None
    if out_csv is not None:
        out = csv_to_table(out_csv)
        generated = [c for c in out.column_names if c != "row"]
        clash = [c for c in keep_names if c in out.column_names]
        if clash:
            raise bad_input(
                f"keep column '{clash[0]}' clashes with the output column of that name",
                "rename the column or leave it out of keep",
            )
        rows = out.column("row")
        import pyarrow.compute as pc

        kept = table.select(keep_names).take(pc.subtract(rows, 1))
        arrays = [rows] + [kept.column(c) for c in keep_names] + [out.column(c) for c in generated]
        names = ["row"] + keep_names + generated
        result_table = frame.back(pa.Table.from_arrays(arrays, names=names))
    return MatchResult(
        table=result_table,
        receipt=json.loads(receipt_json),
        shareable_receipt=json.loads(shareable_json) if shareable_json else {},
        matched_rows=summary["matched_rows"],
        matched_values=summary["matched_values"],
        rows=summary["rows"],
        rejected=summary["rejected"],
    )


class _Options:
    """Keyword options as attributes, the form the native side extracts."""

    def __init__(self, options: Dict[str, Any]) -> None:
        self.__dict__.update(options)


@dataclass
class Source:
    """One system's records for :func:`resolve`: its name (in cluster IDs and
    ``prefer``), its table, and which column fills which field
    (``{"mobile": "phone"}``)."""

    name: str
    data: Any
    columns: Union[Mapping[str, str], Sequence[str]]


@dataclass
class ResolveResult:
    """The cluster of every record (``source``, ``row``, ``cluster_id`` …), one
    golden record per cluster (normalised identifiers), both in the kind of the
    first source's data, and the report as a dict."""

    clusters: Any
    golden: Any
    report: Dict[str, Any]


def resolve(
    sources: Sequence[Source],
    rules: Sequence[str],
    *,
    never_link_on: Sequence[str] = (),
    prefer: Sequence[str] = (),
    profile: Optional[str] = None,
    previous: Optional[str] = None,
) -> ResolveResult:
    """Links one party's own records from several sources into one cluster per
    customer, as ``blindmatch resolve`` does: ``rules`` are an OR of ANDs over
    fields (``["phone", "email", "name+company"]``), ``never_link_on`` keeps
    records with different values of a field apart, ``prefer`` chooses golden
    values (``"source:crm,app"``, ``"frequent"``, ``"recent:DATE_COLUMN"``, or
    ``"FIELD=POLICY"``), ``previous`` is an earlier clusters CSV whose IDs
    persist. Semantics: docs/resolve.md.

    The tables reach the library as CSV text in memory; the clusters and golden
    files it writes (golden records hold normalised identifiers) go to a private
    temporary folder (mode 0700, files 0600) and are read back and removed
    before this returns."""
    if not sources:
        raise bad_input("resolve needs at least one source")
    native_sources = []
    first: Optional[_Table] = None
    for source in sources:
        frame = _Table(source.data)
        first = first or frame
        table = frame.table
        native_sources.append(
            (source.name, table_to_csv(table, table.column_names), _column_pairs(source.columns))
        )
    clusters, golden, report = _native.resolve_csv(
        native_sources, list(rules), list(never_link_on), list(prefer), profile,
        None if previous is None else str(previous),
    )
    assert first is not None
    return ResolveResult(
        clusters=first.back(csv_to_table(clusters)),
        golden=first.back(csv_to_table(golden)),
        report=json.loads(report),
    )


def audit_tokens(
    file: str,
    *,
    manifest: Optional[str] = None,
    key: Optional[str] = None,
    key_ids: Sequence[str] = (),
    source: Optional[str] = None,
    sample: int = 1000,
    seed: Optional[int] = None,
    delimiter: str = ",",
    source_delimiter: Optional[str] = None,
    max_rows: int = 20,
) -> Dict[str, Any]:
    """``blindmatch audit tokens FILE --json`` as a dict: scans every cell for raw
    identifiers, checks the tokens' form and key IDs, and with ``manifest``,
    ``key`` and ``source`` re-tokenises a sample. ``report["clean"]`` is True
    when there are no findings (the CLI would exit 0, else 3)."""
    text = _native.audit_tokens_json(
        str(file), _opt(manifest), _opt(key), list(key_ids), _opt(source), sample, seed,
        delimiter, source_delimiter, max_rows,
    )
    return json.loads(text)


def audit_manifest(
    manifest: str,
    *,
    key: Optional[str] = None,
    output: Optional[str] = None,
    input: Optional[str] = None,
    delimiter: str = ",",
    max_rows: int = 20,
) -> Dict[str, Any]:
    """``blindmatch audit manifest MANIFEST --json`` as a dict: the token file
    against its recorded hash, the manifest's consistency, and with ``key`` that
    the key is the one it names; ``input`` adds the raw file's hash and a recount."""
    text = _native.audit_manifest_json(str(manifest), _opt(key), _opt(output), _opt(input), delimiter, max_rows)
    return json.loads(text)


def audit_receipts(
    a: str,
    b: str,
    *,
    output_a: Optional[str] = None,
    output_b: Optional[str] = None,
    delimiter: str = ",",
    max_rows: int = 20,
) -> Dict[str, Any]:
    """``blindmatch audit receipt A B --json`` as a dict: whether two receipt
    files (full or shareable, either order) describe the same session, and that
    output files still match their recorded hashes."""
    text = _native.audit_receipts_json(str(a), str(b), _opt(output_a), _opt(output_b), delimiter, max_rows)
    return json.loads(text)


def _opt(path: Optional[Any]) -> Optional[str]:
    return None if path is None else str(path)




"""Type stubs for blindmatch._native, the Rust extension (PyO3). The public API
is the blindmatch package; these are its building blocks."""

from os import PathLike
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import pyarrow as pa

__version__: str

class BlindmatchError(Exception):
    """Any blindmatch failure; never holds a raw identifier, key or cell value."""

    category: str
    """'failed', 'bad_input' or 'check_failed'."""
    exit_code: int
    """What the CLI would exit with: 1, 2 or 3."""
    hint: Optional[str]
    """What to do about it, when there is something."""

class FailedError(BlindmatchError):
    """Run-time failure (network, partner abort, output I/O): exit code 1."""

class BadInputError(BlindmatchError):
    """Bad input or usage; nothing was written: exit code 2."""

class CheckFailedError(BlindmatchError):
    """A check asked for did not pass (reject rate, audit, policy): exit code 3."""

_ColumnResult = Tuple[pa.Array, List[int], List[str], Dict[str, int]]

def normalize_array(array: Sequence[pa.Array], id_type: str, profile: Optional[str] = None) -> _ColumnResult:
    """Normalised column (null where missing, empty or rejected), rejected rows,
    their reason codes, counts."""

class NativeTokenizer:
    """Keyed tokens under one key file; the key never leaves the native side."""

    def __init__(self, key_file: Union[str, PathLike[str]], token_bytes: int = 32) -> None: ...
    @property
    def key_id(self) -> str:
        """The ID of the key the tokens are made with."""
    def tokenize_array(
        self,
        array: Sequence[pa.Array],
        id_type: str,
        profile: Optional[str] = None,
        threads: Optional[int] = None,
    ) -> _ColumnResult:
        """Token column (null where missing, empty or rejected), rejected rows,
        their reason codes, counts."""

def match_csv(
    csv: bytes, name: str, options: Any, progress: Optional[Any] = None
) -> Tuple[Optional[bytes], str, str, Dict[str, Any]]:
    """One party of a session over in-memory CSV text: (matched rows as CSV or
    None, receipt JSON, shareable receipt JSON, summary). ``options`` has the
    keyword arguments of :func:`blindmatch.match` as attributes, converted:
    ``protocol`` ``"ecdh"`` or ``"vole"``; ``memory_limit`` a size as text
    (``"268435456"``, ``"256MiB"``) or None; ``work_dir`` and ``resume`` paths
    or None; ``shard`` ``"I/K"`` or None."""

def resolve_csv(
    sources: Sequence[Tuple[str, bytes, Sequence[Tuple[str, str]]]],
    rules: Sequence[str],
    guards: Sequence[str] = ...,
    prefer: Sequence[str] = ...,
    profile: Optional[str] = None,
    previous: Optional[str] = None,
) -> Tuple[bytes, bytes, str]:
    """(clusters CSV, golden CSV, report JSON)."""

def audit_tokens_json(
    file: str,
    manifest: Optional[str] = None,
    key: Optional[str] = None,
    key_ids: Sequence[str] = ...,
    source: Optional[str] = None,
    sample: int = 1000,
    seed: Optional[int] = None,
    delimiter: str = ",",
    source_delimiter: Optional[str] = None,
    max_rows: int = 20,
) -> str:
    """The JSON report of `blindmatch audit tokens --json`."""

def audit_manifest_json(
    manifest: str,
    key: Optional[str] = None,
    output: Optional[str] = None,
    input: Optional[str] = None,
    delimiter: str = ",",
    max_rows: int = 20,
) -> str:
    """The JSON report of `blindmatch audit manifest --json`."""

def audit_receipts_json(
    a: str,
    b: str,
    output_a: Optional[str] = None,
    output_b: Optional[str] = None,
    delimiter: str = ",",
    max_rows: int = 20,
) -> str:
    """The JSON report of `blindmatch audit receipt --json`."""

def keygen(path: Union[str, PathLike[str]]) -> str:
    """A new master key file (mode 0600, never overwritten); returns its key ID."""

def new_identity(stem: Union[str, PathLike[str]], name: str = "blindmatch") -> str:
    """STEM.key and STEM.crt; returns the certificate's fingerprint (sha256:…)."""

class NativeParty:
    """One side of a transport-free PSI session (see blindmatch.lowlevel.Party)."""

    def __init__(
        self,
        array: Sequence[pa.Array],
        id_type: str,
        role: str,
        mode: str = "intersection",
        reveal: str = "both",
        profile: Optional[str] = None,
        min_peer_set: int = 100,
        max_peer_set: Optional[int] = None,
        batch_size: int = 4096,
    ) -> None: ...
    @property
    def rejected_rows(self) -> List[int]:
        """0-based rows whose value was rejected."""
    @property
    def value_count(self) -> int:
        """Values in the set, before de-duplication."""
    @property
    def session_id(self) -> Optional[str]:
        """Equal on both sides once started."""
    @property
    def is_finished(self) -> bool:
        """Everything sent and received."""
    def hello(self) -> bytes:
        """Our hello, to send first."""
    def start(self, peer_hello: bytes) -> None:
        """Takes the peer's hello and starts the protocol."""
    def outgoing(self) -> List[bytes]:
        """Every message ready to send now."""
    def handle(self, message: bytes) -> None:
        """Takes one message from the peer."""
    def finish(self) -> Dict[str, Any]:
        """What this side learned."""

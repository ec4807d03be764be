"""The transport-free API: one side of a PSI session (ECDH over ristretto255, the
protocol ``blindmatch match`` runs) that makes and takes messages as bytes, for
callers who carry them over their own channel (a message queue, HTTP, a
notebook cell), as openmined-psi's client and server do.

Both sides build a :class:`Party` (one ``initiator``, one ``responder``),
exchange :meth:`Party.hello` messages, call :meth:`Party.start` with the peer's,
then pass every message from :meth:`Party.outgoing` to the other side's
:meth:`Party.handle` until both are :attr:`Party.is_finished`::

    a = Party(phones_a, "phone", role="initiator")
    b = Party(phones_b, "phone", role="responder")
    a.start(b.hello()); b.start(a.hello())
    while not (a.is_finished and b.is_finished):
        for m in a.outgoing(): b.handle(m)
        for m in b.outgoing(): a.handle(m)
    a.finish()["rows"]   # a's rows whose value b also holds

The channel is yours to protect: unlike ``match()``, nothing here
authenticates the peer or encrypts the messages (the messages are blinded
points, but a man in the middle could run the session in the peer's place).
Both sides must use the same identifier type, normalisation profile, mode and
reveal; the hello checks that they agree (except the profile, which you must
agree) and refuses a peer set smaller than ``min_peer_set``.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from . import _native
from ._frames import _Column

__all__ = ["Party"]


class Party:
    """One side of a transport-free PSI session over ``values`` (a pyarrow
    array, pandas or polars Series, or list), normalised as identifiers of
    ``id_type`` under ``profile``. Rejected and empty values are left out
    (:attr:`rejected_rows` lists the rejected ones by 0-based position).

    ``role``: ``initiator`` (openmined-psi's client) or ``responder`` (its
    server). ``mode``: ``intersection`` or ``cardinality``. ``reveal``: who
    learns: ``initiator``, ``responder`` or ``both``. The session uses the
    smaller ``batch_size`` of the two sides.
    """

    def __init__(
        self,
        values: Any,
        id_type: str,
        *,
        role: str,
        mode: str = "intersection",
        reveal: str = "both",
        profile: Optional[str] = None,
        min_peer_set: int = 100,
        max_peer_set: Optional[int] = None,
        batch_size: int = 4096,
    ) -> None:
        column = _Column(values, "the values")
        self._native = _native.NativeParty(
            column.chunks, id_type, role, mode, reveal, profile, min_peer_set, max_peer_set, batch_size
        )

    @property
    def rejected_rows(self) -> List[int]:
        """0-based positions of values the normaliser rejected (never sent)."""
        return list(self._native.rejected_rows)

    def hello(self) -> bytes:
        """The first message: send it to the peer."""
        return self._native.hello()

    def start(self, peer_hello: bytes) -> None:
        """Takes the peer's hello; raises :class:`blindmatch.CheckFailedError` when
        the two sides disagree or the peer's set is outside the size policy."""
        self._native.start(bytes(peer_hello))

    @property
    def session_id(self) -> Optional[str]:
        """32 hex digits, equal on both sides, once started."""
        return self._native.session_id

    def outgoing(self) -> List[bytes]:
        """Every message ready to send now, in order (may be empty)."""
        return list(self._native.outgoing())

    def handle(self, message: bytes) -> None:
        """Takes one message from the peer, in the order it was sent."""
        self._native.handle(bytes(message))

    @property
    def is_finished(self) -> bool:
        """Whether everything has been sent and received."""
        return bool(self._native.is_finished)

    def finish(self) -> Dict[str, Any]:
        """What this side learned: ``matched`` (distinct shared values, or None
        when this side does not learn), ``rows`` (our matched 0-based positions,
        intersection mode), ``match_ids`` (hex, one per row, equal on both sides
        for the same value), ``local_size`` and ``peer_size``."""
        return dict(self._native.finish())

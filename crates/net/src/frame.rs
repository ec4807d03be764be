//! The wire format: length-prefixed frames, the [`Frame`] kinds (hello, control,
//! point batches), their encoders, and [`decode_frame`], a pure decoder over a byte
//! slice that says "need more bytes" with `Ok(None)` and is what a fuzz target calls.
//!
//! Every frame is `length (u32 big-endian) ‖ kind (1 byte) ‖ payload`, where `length`
//! counts the kind byte and the payload. `docs/protocol.md` gives every byte.

use blindmatch_psi::{Mode, POINT_LEN, Reveal, Role};
use serde::{Deserialize, Serialize};

/// Bytes of the length prefix.
pub const LENGTH_PREFIX_LEN: usize = 4;

/// Hard upper bound on a frame's `length` field (kind byte + payload): 4 MiB. A session
/// may set a lower limit ([`crate::SessionOptions::max_frame_len`]), never a higher one.
pub const MAX_FRAME_LEN: u32 = 4 << 20;

/// Smallest limit a session may configure: a full batch of [`blindmatch_psi::MAX_BATCH_SIZE`]
/// is never needed, but a hello with its strings must always fit.
pub const MIN_FRAME_LEN: u32 = 16 << 10;

/// First bytes of a `Hello` payload: a non-ASCII byte, a name, CR LF, so that text
/// protocols, 7-bit channels and line-ending conversion are all caught at once.
pub const MAGIC: [u8; 8] = *b"\x89BMPSI\r\n";

/// The protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// Largest reblinded value width: a whole compressed point.
pub const MAX_VALUE_WIDTH: u8 = POINT_LEN as u8;

/// Most identifier types one hello may name.
pub const MAX_HELLO_ID_TYPES: usize = blindmatch_psi::MAX_IDENTIFIER_TYPES;
/// Longest identifier type name in a hello, in bytes.
pub const MAX_ID_TYPE_LEN: usize = blindmatch_psi::MAX_TYPE_LEN;
/// Longest normalisation profile string in a hello, in bytes.
pub const MAX_PROFILE_LEN: usize = 256;
/// Longest implementation string in a hello, in bytes.
pub const MAX_IMPLEMENTATION_LEN: usize = 64;
/// Longest abort reason text, in bytes.
pub const MAX_ABORT_REASON_LEN: usize = 1024;

/// Frame kind bytes.
pub mod kind {
    /// [`super::Frame::Hello`].
    pub const HELLO: u8 = 0x01;
    /// [`super::Frame::Control`].
    pub const CONTROL: u8 = 0x02;
    /// [`super::Frame::Blinded`].
    pub const BLINDED: u8 = 0x10;
    /// [`super::Frame::Reblinded`].
    pub const REBLINDED: u8 = 0x11;
}

/// Why a byte sequence is not a valid frame. Only lengths, kinds and reasons are
/// named, never payload bytes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// A length field of zero (a frame always has a kind byte).
    #[error("empty frame (length 0)")]
    Empty,
    /// A length field beyond the limit; refused before the payload is read.
    #[error("frame of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Declared length.
        len: u32,
        /// The limit in force.
        max: u32,
    },
    /// A kind byte this version does not know.
    #[error("unknown frame kind 0x{kind:02x}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// A hello that does not start with [`MAGIC`]: not a blindmatch peer.
    #[error("not a blindmatch peer (hello without the protocol magic)")]
    BadMagic,
    /// A hello of a protocol version this side does not speak.
    #[error("peer speaks protocol version {version}, this side speaks {PROTOCOL_VERSION}")]
    UnsupportedVersion {
        /// The peer's version.
        version: u16,
    },
    /// A payload that does not parse, or breaks a field limit.
    #[error("malformed {kind} frame: {reason}")]
    Malformed {
        /// Frame kind name.
        kind: &'static str,
        /// What is wrong.
        reason: &'static str,
    },
    /// A payload longer than its content.
    #[error("{kind} frame has {extra} trailing byte(s)")]
    TrailingBytes {
        /// Frame kind name.
        kind: &'static str,
        /// Bytes left over.
        extra: usize,
    },
}

/// What the peers agree on before any identifier-derived byte: one per side, sent
/// first. `Debug` is fine: nothing in it is secret (the nonce is public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hello {
    /// The sender's role: the connecting side is the initiator.
    pub role: Role,
    /// The mode the sender wants.
    pub mode: Mode,
    /// Who learns, in absolute terms.
    pub reveal: Reveal,
    /// Identifier type names the sender's items use (compared as a set).
    pub id_types: Vec<String>,
    /// Opaque digest of the sender's normalisation profile (must be equal).
    pub profile: String,
    /// The sender's de-duplicated set size.
    pub set_size: u64,
    /// The sender's policy: the smallest peer set it accepts.
    pub min_peer_set: u64,
    /// The sender's policy: modes it accepts.
    pub allowed_modes: Vec<Mode>,
    /// The sender's preferred batch size; the session uses the smaller of the two.
    pub batch_size: u32,
    /// Fresh random bytes, so that two sessions over the same data differ.
    pub nonce: [u8; 32],
    /// Free text naming the sender's software, e.g. `blindmatch-net/0.1.0`.
    pub implementation: String,
}

/// Control messages after the hellos.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Control {
    /// The sender accepts the peer's hello; `context` is its session context, which
    /// must equal the receiver's.
    Accept {
        /// SHA-256 session context over both hellos.
        context: [u8; 32],
    },
    /// The sender gives up; both sides report `code` and `reason`.
    Abort {
        /// Machine-readable reason.
        code: AbortCode,
        /// Human-readable reason, at most [`MAX_ABORT_REASON_LEN`] bytes, never data.
        reason: String,
    },
    /// The sender has finished the PSI and sent everything; a summary of what it
    /// sent in its direction before this frame.
    Done(DoneSummary),
}

/// What [`Control::Done`] carries: the sender's view of its own direction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoneSummary {
    /// Frames the sender wrote before this one.
    pub frames: u64,
    /// Bytes the sender wrote before this frame.
    pub bytes: u64,
    /// SHA-256 (labelled) over those bytes; the receiver compares it with its own.
    pub stream_hash: [u8; 32],
}

/// Machine-readable abort reasons. Unknown codes from a newer peer are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "u16", into = "u16")]
#[non_exhaustive]
pub enum AbortCode {
    /// A malformed or unexpected frame.
    ProtocolViolation,
    /// Different protocol versions.
    VersionMismatch,
    /// Both sides claim the same role.
    RoleConflict,
    /// Different modes.
    ModeMismatch,
    /// The mode is outside the refusing side's allowed modes.
    ModeNotAllowed,
    /// Different reveal settings.
    RevealMismatch,
    /// Different identifier types.
    IdTypeMismatch,
    /// Different normalisation profiles.
    ProfileMismatch,
    /// The receiver's declared set is below the refusing side's minimum.
    PeerSetTooSmall,
    /// A declared set size or batch size beyond the limits.
    SizeLimit,
    /// The two sides derived different session contexts.
    ContextMismatch,
    /// The PSI state machine refused a peer message.
    PsiFailure,
    /// A read or write timed out.
    Timeout,
    /// The transcripts of the two sides differ.
    TranscriptMismatch,
    /// A local failure unrelated to the peer (I/O, cancelled, internal).
    LocalFailure,
    /// A code this version does not know.
    Unknown(u16),
}

impl AbortCode {
    /// The code's number on the wire.
    #[must_use]
    pub fn to_u16(self) -> u16 {
        match self {
            AbortCode::ProtocolViolation => 1,
            AbortCode::VersionMismatch => 2,
            AbortCode::RoleConflict => 3,
            AbortCode::ModeMismatch => 4,
            AbortCode::ModeNotAllowed => 5,
            AbortCode::RevealMismatch => 6,
            AbortCode::IdTypeMismatch => 7,
            AbortCode::ProfileMismatch => 8,
            AbortCode::PeerSetTooSmall => 9,
            AbortCode::SizeLimit => 10,
            AbortCode::ContextMismatch => 11,
            AbortCode::PsiFailure => 12,
            AbortCode::Timeout => 13,
            AbortCode::TranscriptMismatch => 14,
            AbortCode::LocalFailure => 15,
            AbortCode::Unknown(n) => n,
        }
    }

    /// A short snake_case name, for logs and receipts.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            AbortCode::ProtocolViolation => "protocol_violation",
            AbortCode::VersionMismatch => "version_mismatch",
            AbortCode::RoleConflict => "role_conflict",
            AbortCode::ModeMismatch => "mode_mismatch",
            AbortCode::ModeNotAllowed => "mode_not_allowed",
            AbortCode::RevealMismatch => "reveal_mismatch",
            AbortCode::IdTypeMismatch => "id_type_mismatch",
            AbortCode::ProfileMismatch => "profile_mismatch",
            AbortCode::PeerSetTooSmall => "peer_set_too_small",
            AbortCode::SizeLimit => "size_limit",
            AbortCode::ContextMismatch => "context_mismatch",
            AbortCode::PsiFailure => "psi_failure",
            AbortCode::Timeout => "timeout",
            AbortCode::TranscriptMismatch => "transcript_mismatch",
            AbortCode::LocalFailure => "local_failure",
            AbortCode::Unknown(_) => "unknown",
        }
    }
}

impl From<u16> for AbortCode {
    fn from(n: u16) -> Self {
        match n {
            1 => AbortCode::ProtocolViolation,
            2 => AbortCode::VersionMismatch,
            3 => AbortCode::RoleConflict,
            4 => AbortCode::ModeMismatch,
            5 => AbortCode::ModeNotAllowed,
            6 => AbortCode::RevealMismatch,
            7 => AbortCode::IdTypeMismatch,
            8 => AbortCode::ProfileMismatch,
            9 => AbortCode::PeerSetTooSmall,
            10 => AbortCode::SizeLimit,
            11 => AbortCode::ContextMismatch,
            12 => AbortCode::PsiFailure,
            13 => AbortCode::Timeout,
            14 => AbortCode::TranscriptMismatch,
            15 => AbortCode::LocalFailure,
            n => AbortCode::Unknown(n),
        }
    }
}

impl From<AbortCode> for u16 {
    fn from(code: AbortCode) -> u16 {
        code.to_u16()
    }
}

impl std::fmt::Display for AbortCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AbortCode::Unknown(n) => write!(f, "unknown ({n})"),
            c => f.write_str(c.name()),
        }
    }
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The handshake opener (kind 0x01).
    Hello(Hello),
    /// A control message (kind 0x02).
    Control(Control),
    /// A batch of singly blinded compressed points (kind 0x10).
    Blinded {
        /// Batch number.
        batch: u32,
        /// The points, 32 bytes each.
        points: Vec<[u8; 32]>,
    },
    /// A batch of doubly blinded values truncated to `width` bytes (kind 0x11).
    Reblinded {
        /// Batch number.
        batch: u32,
        /// Bytes per value, `1..=32`.
        width: u8,
        /// `count × width` bytes.
        values: Vec<u8>,
    },
}

impl Frame {
    /// The kind byte.
    #[must_use]
    pub fn kind(&self) -> u8 {
        match self {
            Frame::Hello(_) => kind::HELLO,
            Frame::Control(_) => kind::CONTROL,
            Frame::Blinded { .. } => kind::BLINDED,
            Frame::Reblinded { .. } => kind::REBLINDED,
        }
    }

    /// A short name of the frame kind, for errors and logs.
    #[must_use]
    pub fn kind_name(&self) -> &'static str {
        kind_name(self.kind())
    }

    /// Appends the whole frame (length prefix included) to `out`.
    ///
    /// # Errors
    ///
    /// [`FrameError::TooLarge`] if the frame would exceed [`MAX_FRAME_LEN`];
    /// [`FrameError::Malformed`] for a field beyond its limit (a reblinded width
    /// outside `1..=32` or values not a multiple of it, an over-long string).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.push(self.kind());
        match self {
            Frame::Hello(h) => {
                h.check_limits()?;
                out.extend_from_slice(&MAGIC);
                out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
                let wire = HelloWire::from(h);
                postcard_extend(out, &wire, "hello")?;
            }
            Frame::Control(c) => {
                if let Control::Abort { reason, .. } = c
                    && reason.len() > MAX_ABORT_REASON_LEN
                {
                    return Err(malformed("control", "abort reason too long"));
                }
                postcard_extend(out, c, "control")?;
            }
            Frame::Blinded { batch, points } => {
                out.reserve(4 + points.len() * POINT_LEN);
                out.extend_from_slice(&batch.to_be_bytes());
                for p in points {
                    out.extend_from_slice(p);
                }
            }
            Frame::Reblinded {
                batch,
                width,
                values,
            } => {
                if *width == 0 || *width > MAX_VALUE_WIDTH {
                    return Err(malformed("reblinded", "value width outside 1..=32"));
                }
                if values.len() % usize::from(*width) != 0 {
                    return Err(malformed(
                        "reblinded",
                        "values are not a whole number of the width",
                    ));
                }
                out.extend_from_slice(&batch.to_be_bytes());
                out.push(*width);
                out.extend_from_slice(values);
            }
        }
        let body_len = out.len() - start - LENGTH_PREFIX_LEN;
        let len = u32::try_from(body_len)
            .ok()
            .filter(|&l| l <= MAX_FRAME_LEN)
            .ok_or(FrameError::TooLarge {
                len: u32::try_from(body_len).unwrap_or(u32::MAX),
                max: MAX_FRAME_LEN,
            });
        match len {
            Ok(len) => {
                out[start..start + LENGTH_PREFIX_LEN].copy_from_slice(&len.to_be_bytes());
                Ok(())
            }
            Err(e) => {
                out.truncate(start);
                Err(e)
            }
        }
    }

    /// The whole frame as a new vector.
    ///
    /// # Errors
    ///
    /// As [`Frame::encode_into`].
    pub fn encode(&self) -> Result<Vec<u8>, FrameError> {
        let mut out = Vec::new();
        self.encode_into(&mut out)?;
        Ok(out)
    }
}

/// Decodes the first frame in `buf` with the hard limit [`MAX_FRAME_LEN`].
///
/// Returns `Ok(None)` when `buf` holds only part of a frame (read more and call
/// again), `Ok(Some((frame, used)))` with the number of bytes the frame took (bytes
/// after it belong to the next frame). Pure and panic-free on any input: this is the
/// function a fuzz target calls.
///
/// # Errors
///
/// Any [`FrameError`]. A length beyond the limit is refused as soon as the four
/// length bytes are in, without waiting for the payload.
pub fn decode_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, FrameError> {
    decode_frame_limited(buf, MAX_FRAME_LEN)
}

/// [`decode_frame`] with a lower frame limit (`max_frame_len` is capped at
/// [`MAX_FRAME_LEN`]).
///
/// # Errors
///
/// As [`decode_frame`].
pub fn decode_frame_limited(
    buf: &[u8],
    max_frame_len: u32,
) -> Result<Option<(Frame, usize)>, FrameError> {
    let Some(len) = frame_len(buf, max_frame_len)? else {
        return Ok(None);
    };
    let total = LENGTH_PREFIX_LEN + len;
    let Some(body) = buf.get(LENGTH_PREFIX_LEN..total) else {
        return Ok(None);
    };
    let (&kind_byte, payload) = body.split_first().ok_or(FrameError::Empty)?;
    let frame = match kind_byte {
        kind::HELLO => Frame::Hello(decode_hello(payload)?),
        kind::CONTROL => Frame::Control(decode_control(payload)?),
        kind::BLINDED => {
            let (batch, points) = split_batch(payload, "blinded")?;
            let (chunks, rest) = points.as_chunks::<POINT_LEN>();
            if !rest.is_empty() {
                return Err(malformed(
                    "blinded",
                    "payload is not a whole number of 32-byte points",
                ));
            }
            Frame::Blinded {
                batch,
                points: chunks.to_vec(),
            }
        }
        kind::REBLINDED => {
            let (batch, rest) = split_batch(payload, "reblinded")?;
            let (&width, values) = rest
                .split_first()
                .ok_or(malformed("reblinded", "missing value width"))?;
            if width == 0 || width > MAX_VALUE_WIDTH {
                return Err(malformed("reblinded", "value width outside 1..=32"));
            }
            if values.len() % usize::from(width) != 0 {
                return Err(malformed(
                    "reblinded",
                    "payload is not a whole number of values",
                ));
            }
            Frame::Reblinded {
                batch,
                width,
                values: values.to_vec(),
            }
        }
        other => return Err(FrameError::UnknownKind { kind: other }),
    };
    Ok(Some((frame, total)))
}

/// The `length` field of the frame at the start of `buf`, checked against the limit;
/// `Ok(None)` if fewer than four bytes are in.
///
/// # Errors
///
/// [`FrameError::Empty`] or [`FrameError::TooLarge`].
pub fn frame_len(buf: &[u8], max_frame_len: u32) -> Result<Option<usize>, FrameError> {
    let Some(prefix) = buf.first_chunk::<LENGTH_PREFIX_LEN>() else {
        return Ok(None);
    };
    let len = u32::from_be_bytes(*prefix);
    let max = max_frame_len.min(MAX_FRAME_LEN);
    if len == 0 {
        return Err(FrameError::Empty);
    }
    if len > max {
        return Err(FrameError::TooLarge { len, max });
    }
    Ok(Some(len as usize))
}

/// Name of a kind byte.
#[must_use]
pub fn kind_name(kind_byte: u8) -> &'static str {
    match kind_byte {
        kind::HELLO => "hello",
        kind::CONTROL => "control",
        kind::BLINDED => "blinded",
        kind::REBLINDED => "reblinded",
        _ => "unknown",
    }
}

fn malformed(kind: &'static str, reason: &'static str) -> FrameError {
    FrameError::Malformed { kind, reason }
}

fn split_batch<'a>(payload: &'a [u8], kind: &'static str) -> Result<(u32, &'a [u8]), FrameError> {
    let (batch, rest) = payload
        .split_first_chunk::<4>()
        .ok_or(malformed(kind, "shorter than the 4-byte batch number"))?;
    Ok((u32::from_be_bytes(*batch), rest))
}

fn postcard_extend<T: Serialize>(
    out: &mut Vec<u8>,
    value: &T,
    kind: &'static str,
) -> Result<(), FrameError> {
    let bytes = postcard::to_stdvec(value).map_err(|_| malformed(kind, "cannot encode"))?;
    out.extend_from_slice(&bytes);
    Ok(())
}

fn postcard_exact<'a, T: Serialize + Deserialize<'a>>(
    bytes: &'a [u8],
    kind: &'static str,
) -> Result<T, FrameError> {
    let (value, rest) =
        postcard::take_from_bytes::<T>(bytes).map_err(|_| malformed(kind, "does not parse"))?;
    if !rest.is_empty() {
        return Err(FrameError::TrailingBytes {
            kind,
            extra: rest.len(),
        });
    }
    // postcard reads a varint padded with zero groups (`80 00` for 0) as the value it
    // pads. Refuse every encoding but the one this side writes, so that a frame has
    // exactly one byte form (found by the `net_frame` fuzz target).
    let canonical = postcard::to_stdvec(&value).map_err(|_| malformed(kind, "does not parse"))?;
    if canonical != bytes {
        return Err(malformed(kind, "not in canonical encoding (padded varint)"));
    }
    Ok(value)
}

fn decode_control(payload: &[u8]) -> Result<Control, FrameError> {
    let control: Control = postcard_exact(payload, "control")?;
    if let Control::Abort { reason, .. } = &control
        && reason.len() > MAX_ABORT_REASON_LEN
    {
        return Err(malformed("control", "abort reason too long"));
    }
    Ok(control)
}

fn decode_hello(payload: &[u8]) -> Result<Hello, FrameError> {
    let Some((magic, rest)) = payload.split_first_chunk::<8>() else {
        return Err(FrameError::BadMagic);
    };
    if *magic != MAGIC {
        return Err(FrameError::BadMagic);
    }
    let (version, body) = rest
        .split_first_chunk::<2>()
        .ok_or(malformed("hello", "missing protocol version"))?;
    let version = u16::from_be_bytes(*version);
    if version != PROTOCOL_VERSION {
        return Err(FrameError::UnsupportedVersion { version });
    }
    let wire: HelloWire = postcard_exact(body, "hello")?;
    let hello = Hello::try_from(wire)?;
    hello.check_limits()?;
    Ok(hello)
}

impl Hello {
    fn check_limits(&self) -> Result<(), FrameError> {
        let bad = |reason| Err(malformed("hello", reason));
        if self.id_types.len() > MAX_HELLO_ID_TYPES {
            return bad("too many identifier types");
        }
        if self.id_types.iter().any(|t| t.len() > MAX_ID_TYPE_LEN) {
            return bad("identifier type name too long");
        }
        if self.profile.len() > MAX_PROFILE_LEN {
            return bad("profile too long");
        }
        if self.implementation.len() > MAX_IMPLEMENTATION_LEN {
            return bad("implementation string too long");
        }
        if self.allowed_modes.len() > 8 {
            return bad("too many allowed modes");
        }
        Ok(())
    }
}

/// The hello body exactly as postcard encodes it; enums as single bytes so the wire
/// does not depend on `blindmatch-psi`'s enum declarations.
#[derive(Serialize, Deserialize)]
struct HelloWire {
    role: u8,
    mode: u8,
    reveal: u8,
    id_types: Vec<String>,
    profile: String,
    set_size: u64,
    min_peer_set: u64,
    allowed_modes: Vec<u8>,
    batch_size: u32,
    nonce: [u8; 32],
    implementation: String,
}

pub(crate) fn role_code(r: Role) -> u8 {
    match r {
        Role::Initiator => 0,
        Role::Responder => 1,
    }
}

pub(crate) fn mode_code(m: Mode) -> u8 {
    match m {
        Mode::Intersection => 0,
        Mode::Cardinality => 1,
    }
}

pub(crate) fn reveal_code(r: Reveal) -> u8 {
    match r {
        Reveal::Initiator => 0,
        Reveal::Responder => 1,
        Reveal::Both => 2,
    }
}

fn role_from(c: u8) -> Result<Role, FrameError> {
    match c {
        0 => Ok(Role::Initiator),
        1 => Ok(Role::Responder),
        _ => Err(malformed("hello", "unknown role")),
    }
}

fn mode_from(c: u8) -> Result<Mode, FrameError> {
    match c {
        0 => Ok(Mode::Intersection),
        1 => Ok(Mode::Cardinality),
        _ => Err(malformed("hello", "unknown mode")),
    }
}

fn reveal_from(c: u8) -> Result<Reveal, FrameError> {
    match c {
        0 => Ok(Reveal::Initiator),
        1 => Ok(Reveal::Responder),
        2 => Ok(Reveal::Both),
        _ => Err(malformed("hello", "unknown reveal")),
    }
}

impl From<&Hello> for HelloWire {
    fn from(h: &Hello) -> Self {
        HelloWire {
            role: role_code(h.role),
            mode: mode_code(h.mode),
            reveal: reveal_code(h.reveal),
            id_types: h.id_types.clone(),
            profile: h.profile.clone(),
            set_size: h.set_size,
            min_peer_set: h.min_peer_set,
            allowed_modes: h.allowed_modes.iter().map(|&m| mode_code(m)).collect(),
            batch_size: h.batch_size,
            nonce: h.nonce,
            implementation: h.implementation.clone(),
        }
    }
}

impl TryFrom<HelloWire> for Hello {
    type Error = FrameError;

    fn try_from(w: HelloWire) -> Result<Self, FrameError> {
        Ok(Hello {
            role: role_from(w.role)?,
            mode: mode_from(w.mode)?,
            reveal: reveal_from(w.reveal)?,
            id_types: w.id_types,
            profile: w.profile,
            set_size: w.set_size,
            min_peer_set: w.min_peer_set,
            allowed_modes: w
                .allowed_modes
                .into_iter()
                .map(mode_from)
                .collect::<Result<_, _>>()?,
            batch_size: w.batch_size,
            nonce: w.nonce,
            implementation: w.implementation,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    fn sample_hello() -> Hello {
        Hello {
            role: Role::Initiator,
            mode: Mode::Intersection,
            reveal: Reveal::Both,
            id_types: vec!["phone".into()],
            profile: "phone-cn/v1".into(),
            set_size: 1000,
            min_peer_set: 10,
            allowed_modes: vec![Mode::Intersection, Mode::Cardinality],
            batch_size: 4096,
            nonce: [7u8; 32],
            implementation: "blindmatch-net/0.1.0".into(),
        }
    }

    fn round_trip(frame: &Frame) {
        let bytes = frame.encode().unwrap();
        let (decoded, used) = decode_frame(&bytes).unwrap().unwrap();
        assert_eq!(&decoded, frame);
        assert_eq!(used, bytes.len());
        // Every strict prefix asks for more bytes.
        for cut in 0..bytes.len() {
            assert_eq!(decode_frame(&bytes[..cut]).unwrap(), None, "cut {cut}");
        }
        // Bytes after the frame belong to the next one.
        let mut two = bytes.clone();
        two.extend_from_slice(&bytes);
        let (again, used2) = decode_frame(&two).unwrap().unwrap();
        assert_eq!(&again, frame);
        assert_eq!(used2, bytes.len());
    }

    #[test]
    fn every_kind_round_trips() {
        round_trip(&Frame::Hello(sample_hello()));
        round_trip(&Frame::Control(Control::Accept { context: [3; 32] }));
        round_trip(&Frame::Control(Control::Abort {
            code: AbortCode::PeerSetTooSmall,
            reason: "too small".into(),
        }));
        round_trip(&Frame::Control(Control::Abort {
            code: AbortCode::Unknown(999),
            reason: String::new(),
        }));
        round_trip(&Frame::Control(Control::Done(DoneSummary {
            frames: 12,
            bytes: 1 << 40,
            stream_hash: [9; 32],
        })));
        round_trip(&Frame::Blinded {
            batch: 3,
            points: vec![[1; 32], [2; 32]],
        });
        round_trip(&Frame::Blinded {
            batch: 0,
            points: vec![],
        });
        round_trip(&Frame::Reblinded {
            batch: 9,
            width: 10,
            values: vec![5; 30],
        });
    }

    #[test]
    fn known_bytes() {
        // Accept: length 1 + 1 + 32 = 34, kind 0x02, variant 0, 32 context bytes.
        let bytes = Frame::Control(Control::Accept {
            context: [0xAB; 32],
        })
        .encode()
        .unwrap();
        let mut expected = vec![0, 0, 0, 34, 0x02, 0x00];
        expected.extend_from_slice(&[0xAB; 32]);
        assert_eq!(bytes, expected);
        // Abort: variant 1, code 9 as varint, reason length 2, "no".
        let bytes = Frame::Control(Control::Abort {
            code: AbortCode::PeerSetTooSmall,
            reason: "no".into(),
        })
        .encode()
        .unwrap();
        assert_eq!(bytes, [0, 0, 0, 6, 0x02, 0x01, 0x09, 0x02, b'n', b'o']);
        // Blinded: batch 1, one point.
        let bytes = Frame::Blinded {
            batch: 1,
            points: vec![[0xCC; 32]],
        }
        .encode()
        .unwrap();
        assert_eq!(&bytes[..9], &[0, 0, 0, 37, 0x10, 0, 0, 0, 1]);
        // Reblinded: batch 2, width 8, one value.
        let bytes = Frame::Reblinded {
            batch: 2,
            width: 8,
            values: vec![0xEE; 8],
        }
        .encode()
        .unwrap();
        assert_eq!(&bytes[..10], &[0, 0, 0, 14, 0x11, 0, 0, 0, 2, 8]);
        // Hello starts with magic and version 1.
        let bytes = Frame::Hello(sample_hello()).encode().unwrap();
        assert_eq!(bytes[4], 0x01);
        assert_eq!(&bytes[5..13], &MAGIC);
        assert_eq!(&bytes[13..15], &[0, 1]);
    }

    /// The example frames of docs/protocol.md, byte for byte.
    #[test]
    fn documented_examples() {
        let hello = Hello {
            role: Role::Initiator,
            mode: Mode::Intersection,
            reveal: Reveal::Both,
            id_types: vec!["phone".into()],
            profile: "p1".into(),
            set_size: 300,
            min_peer_set: 100,
            allowed_modes: vec![Mode::Intersection, Mode::Cardinality],
            batch_size: 4096,
            nonce: [0x11; 32],
            implementation: "bm".into(),
        };
        let mut expected = vec![0x00, 0x00, 0x00, 0x43, 0x01];
        expected.extend_from_slice(&[0x89, 0x42, 0x4D, 0x50, 0x53, 0x49, 0x0D, 0x0A, 0x00, 0x01]);
        expected.extend_from_slice(&[0x00, 0x00, 0x02]);
        expected.extend_from_slice(&[0x01, 0x05, b'p', b'h', b'o', b'n', b'e']);
        expected.extend_from_slice(&[0x02, b'p', b'1']);
        expected.extend_from_slice(&[0xAC, 0x02, 0x64, 0x02, 0x00, 0x01, 0x80, 0x20]);
        expected.extend_from_slice(&[0x11; 32]);
        expected.extend_from_slice(&[0x02, b'b', b'm']);
        assert_eq!(Frame::Hello(hello).encode().unwrap(), expected);

        let done = Frame::Control(Control::Done(DoneSummary {
            frames: 3,
            bytes: 200,
            stream_hash: [0xAA; 32],
        }));
        let mut expected = vec![0x00, 0x00, 0x00, 0x25, 0x02, 0x02, 0x03, 0xC8, 0x01];
        expected.extend_from_slice(&[0xAA; 32]);
        assert_eq!(done.encode().unwrap(), expected);
    }

    #[test]
    fn limits_and_bad_layouts_are_refused() {
        assert_eq!(decode_frame(&[0, 0, 0, 0]), Err(FrameError::Empty));
        let too_big = (MAX_FRAME_LEN + 1).to_be_bytes();
        assert!(matches!(
            decode_frame(&too_big),
            Err(FrameError::TooLarge { .. })
        ));
        assert!(matches!(
            decode_frame_limited(&[0, 1, 0, 0], 1000),
            Err(FrameError::TooLarge {
                len: 65536,
                max: 1000
            })
        ));
        assert_eq!(
            decode_frame(&[0, 0, 0, 1, 0x7F]),
            Err(FrameError::UnknownKind { kind: 0x7F })
        );
        // A blinded payload with a partial point.
        assert!(matches!(
            decode_frame(&[0, 0, 0, 6, 0x10, 0, 0, 0, 0, 1]),
            Err(FrameError::Malformed { .. })
        ));
        // Reblinded with width 0, width 33, and a partial value.
        for body in [
            vec![0x11, 0, 0, 0, 0, 0],
            vec![0x11, 0, 0, 0, 0, 33],
            vec![0x11, 0, 0, 0, 0, 4, 1, 2, 3],
        ] {
            let mut f = (body.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&body);
            assert!(matches!(
                decode_frame(&f),
                Err(FrameError::Malformed { .. })
            ));
        }
        // Control with trailing bytes.
        let mut accept = Frame::Control(Control::Accept { context: [0; 32] })
            .encode()
            .unwrap();
        accept.push(0);
        accept[3] += 1;
        assert!(matches!(
            decode_frame(&accept),
            Err(FrameError::TrailingBytes { extra: 1, .. })
        ));
        // Unknown control variant.
        assert!(matches!(
            decode_frame(&[0, 0, 0, 2, 0x02, 0x09]),
            Err(FrameError::Malformed { .. })
        ));
    }

    /// Found by the `net_frame` fuzz target: postcard accepts a varint padded with
    /// zero groups, so one frame had many byte forms. Only the minimal one decodes.
    #[test]
    fn padded_varints_are_refused() {
        let done = |frames: &[u8]| {
            let mut body = vec![0x02, 0x02];
            body.extend_from_slice(frames);
            body.push(0); // bytes: 0
            body.extend_from_slice(&[9; 32]);
            let mut f = (body.len() as u32).to_be_bytes().to_vec();
            f.extend_from_slice(&body);
            decode_frame(&f)
        };
        assert!(matches!(done(&[12]), Ok(Some(_))));
        for padded in [&[0x8C, 0x00][..], &[0x8C, 0x80, 0x00], &[0x80, 0x00]] {
            assert!(
                matches!(
                    done(padded),
                    Err(FrameError::Malformed {
                        kind: "control",
                        ..
                    })
                ),
                "{padded:02x?}"
            );
        }
        // The same in a hello: set_size 1000 is `e8 07`; `e8 87 00` pads it.
        let good = Frame::Hello(sample_hello()).encode().unwrap();
        let at = good.windows(2).position(|w| w == [0xE8, 0x07]).unwrap();
        let mut padded = good[..at].to_vec();
        padded.extend_from_slice(&[0xE8, 0x87, 0x00]);
        padded.extend_from_slice(&good[at + 2..]);
        let len = (padded.len() - 4) as u32;
        padded[..4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            decode_frame(&padded),
            Err(FrameError::Malformed { kind: "hello", .. })
        ));
    }

    #[test]
    fn hello_magic_and_version_are_checked_first() {
        let good = Frame::Hello(sample_hello()).encode().unwrap();
        let mut bad_magic = good.clone();
        bad_magic[6] ^= 1;
        assert_eq!(decode_frame(&bad_magic), Err(FrameError::BadMagic));
        // A future version with a body this version cannot parse: the version is named.
        let mut future = good[..15].to_vec();
        future[14] = 2;
        future.extend_from_slice(&[0xFF; 7]);
        let len = (future.len() - 4) as u32;
        future[..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            decode_frame(&future),
            Err(FrameError::UnsupportedVersion { version: 2 })
        );
        // Trailing bytes after the hello body.
        let mut trailing = good.clone();
        trailing.push(0);
        let len = (trailing.len() - 4) as u32;
        trailing[..4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            decode_frame(&trailing),
            Err(FrameError::TrailingBytes { .. })
        ));
    }

    #[test]
    fn encoder_refuses_what_the_decoder_would() {
        let mut h = sample_hello();
        h.profile = "p".repeat(MAX_PROFILE_LEN + 1);
        assert!(Frame::Hello(h).encode().is_err());
        assert!(
            Frame::Reblinded {
                batch: 0,
                width: 0,
                values: vec![]
            }
            .encode()
            .is_err()
        );
        let huge = Frame::Blinded {
            batch: 0,
            points: vec![[0; 32]; (MAX_FRAME_LEN as usize) / 32 + 1],
        };
        let mut out = vec![1, 2, 3];
        assert!(matches!(
            huge.encode_into(&mut out),
            Err(FrameError::TooLarge { .. })
        ));
        assert_eq!(out, [1, 2, 3]);
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let hello = (
            any::<bool>(),
            any::<bool>(),
            0u8..3,
            proptest::collection::vec("[a-z]{1,10}", 0..4),
            "[ -~]{0,40}",
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(r, m, rv, id_types, profile, s, min, b, nonce)| {
                Frame::Hello(Hello {
                    role: if r { Role::Initiator } else { Role::Responder },
                    mode: if m {
                        Mode::Intersection
                    } else {
                        Mode::Cardinality
                    },
                    reveal: reveal_from(rv).unwrap(),
                    id_types,
                    profile,
                    set_size: s,
                    min_peer_set: min,
                    allowed_modes: vec![Mode::Cardinality],
                    batch_size: b,
                    nonce,
                    implementation: "x".into(),
                })
            });
        prop_oneof![
            hello,
            any::<[u8; 32]>().prop_map(|c| Frame::Control(Control::Accept { context: c })),
            (any::<u16>(), "\\PC{0,50}").prop_map(|(c, r)| Frame::Control(Control::Abort {
                code: AbortCode::from(c),
                reason: r
            })),
            (any::<u64>(), any::<u64>(), any::<[u8; 32]>()).prop_map(|(f, b, h)| {
                Frame::Control(Control::Done(DoneSummary {
                    frames: f,
                    bytes: b,
                    stream_hash: h,
                }))
            }),
            (
                any::<u32>(),
                proptest::collection::vec(any::<[u8; 32]>(), 0..20)
            )
                .prop_map(|(batch, points)| Frame::Blinded { batch, points }),
            (any::<u32>(), 1u8..=32, 0usize..20).prop_flat_map(|(batch, width, n)| {
                proptest::collection::vec(any::<u8>(), n * usize::from(width)).prop_map(
                    move |values| Frame::Reblinded {
                        batch,
                        width,
                        values,
                    },
                )
            }),
        ]
    }

    proptest! {
        #[test]
        fn proptest_round_trip(frame in arb_frame()) {
            let bytes = frame.encode().unwrap();
            let (decoded, used) = decode_frame(&bytes).unwrap().unwrap();
            prop_assert_eq!(decoded, frame);
            prop_assert_eq!(used, bytes.len());
        }

        #[test]
        fn decoder_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            if let Ok(Some((frame, used))) = decode_frame(&bytes) {
                prop_assert!(used <= bytes.len());
                // What decodes re-encodes to the same bytes.
                prop_assert_eq!(frame.encode().unwrap(), bytes[..used].to_vec());
            }
        }
    }
}

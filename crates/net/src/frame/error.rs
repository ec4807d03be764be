//! [`FrameError`]: why bytes are not a valid frame.

use super::limits::PROTOCOL_VERSION;

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
    /// A hello that does not start with [`MAGIC`](crate::frame::MAGIC): not a blindmatch peer.
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

/// A payload that breaks a field limit or does not parse.
pub(super) fn malformed(kind: &'static str, reason: &'static str) -> FrameError {
    FrameError::Malformed { kind, reason }
}

//! The wire's fixed numbers: the length prefix, the frame limits, the hello's magic
//! and version, the longest abort reason.

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

/// The protocol version this crate speaks. Version 2 named the PSI protocol in the
/// hello and carried its messages as opaque payloads; version 3 adds the sizes per
/// identifier type (matching rule) and compares the rules in priority order;
/// version 4 changes the ECDH flow when both sides learn (doubly blinded values go
/// one way, the first learner sends its result back); version 5 cuts that result to
/// a bitmap of matched positions, from which both sides derive the match IDs.
pub const PROTOCOL_VERSION: u16 = 5;

/// Longest abort reason text, in bytes.
pub const MAX_ABORT_REASON_LEN: usize = 1024;

//! The wire format: length-prefixed frames, the [`Frame`] kinds (hello, control, and
//! protocol messages carried as opaque payloads), their encoders, and [`decode_frame`],
//! a pure decoder over a byte slice that says "need more bytes" with `Ok(None)` and is
//! what a fuzz target calls.
//!
//! Every frame is `length (u32 big-endian) ‖ kind (1 byte) ‖ payload`, where `length`
//! counts the kind byte and the payload. `docs/protocol.md` gives every byte.

mod control;
mod error;
mod hello;
mod limits;

pub use control::{AbortCode, Control, DoneSummary};
pub use error::FrameError;
use error::malformed;
pub use hello::{
    Hello, MAX_ALLOWED_MODES, MAX_HELLO_ID_TYPES, MAX_ID_TYPE_LEN, MAX_IMPLEMENTATION_LEN,
    MAX_MODE_NAME_LEN, MAX_PROFILE_LEN,
};
pub use limits::{
    LENGTH_PREFIX_LEN, MAGIC, MAX_ABORT_REASON_LEN, MAX_FRAME_LEN, MIN_FRAME_LEN, PROTOCOL_VERSION,
};

use serde::{Deserialize, Serialize};

use hello::HelloWire;

/// Frame kind bytes.
pub mod kind {
    /// [`super::Frame::Hello`].
    pub const HELLO: u8 = 0x01;
    /// [`super::Frame::Control`].
    pub const CONTROL: u8 = 0x02;
    /// [`super::Frame::Protocol`].
    pub const PROTOCOL: u8 = 0x20;
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    /// The handshake opener (kind 0x01).
    Hello(Hello),
    /// A control message (kind 0x02).
    Control(Control),
    /// A message of the agreed PSI protocol, in that protocol's own encoding (kind
    /// 0x20); the transport bounds its length and never looks inside.
    Protocol(Vec<u8>),
}

impl Frame {
    /// The kind byte.
    #[must_use]
    pub fn kind(&self) -> u8 {
        match self {
            Frame::Hello(_) => kind::HELLO,
            Frame::Control(_) => kind::CONTROL,
            Frame::Protocol(_) => kind::PROTOCOL,
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
    /// [`FrameError::Malformed`] for a field beyond its limit (an over-long string).
    pub fn encode_into(&self, out: &mut Vec<u8>) -> Result<(), FrameError> {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0]);
        out.push(self.kind());
        let body = match self {
            Frame::Hello(h) => h.check_limits().and_then(|()| {
                out.extend_from_slice(&MAGIC);
                out.extend_from_slice(&PROTOCOL_VERSION.to_be_bytes());
                postcard_extend(out, &HelloWire::from(h), "hello")
            }),
            Frame::Control(c) => check_control(c).and_then(|()| postcard_extend(out, c, "control")),
            Frame::Protocol(payload) => {
                out.extend_from_slice(payload);
                Ok(())
            }
        };
        let body_len = out.len() - start - LENGTH_PREFIX_LEN;
        let len = body.and_then(|()| {
            u32::try_from(body_len)
                .ok()
                .filter(|&l| l <= MAX_FRAME_LEN)
                .ok_or(FrameError::TooLarge {
                    len: u32::try_from(body_len).unwrap_or(u32::MAX),
                    max: MAX_FRAME_LEN,
                })
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
        kind::PROTOCOL => Frame::Protocol(payload.to_vec()),
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
        kind::PROTOCOL => "protocol",
        _ => "unknown",
    }
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

fn check_control(control: &Control) -> Result<(), FrameError> {
    if let Control::Abort { reason, .. } = control
        && reason.len() > MAX_ABORT_REASON_LEN
    {
        return Err(malformed("control", "abort reason too long"));
    }
    Ok(())
}

fn decode_control(payload: &[u8]) -> Result<Control, FrameError> {
    let control: Control = postcard_exact(payload, "control")?;
    check_control(&control)?;
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_psi::{Reveal, Role};
    use proptest::prelude::*;

    fn sample_hello() -> Hello {
        Hello {
            role: Role::Initiator,
            protocol: "ecdh-ristretto255".into(),
            protocol_params: vec![1],
            mode: "intersection".into(),
            reveal: Reveal::Both,
            id_types: vec!["phone".into()],
            profile: "phone-cn/v1".into(),
            set_size: 1000,
            type_sizes: vec![1000],
            min_peer_set: 10,
            allowed_modes: vec!["intersection".into(), "cardinality".into()],
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
        round_trip(&Frame::Protocol(vec![1, 0, 0, 0, 3, 0xCC, 0xDD]));
        round_trip(&Frame::Protocol(vec![]));
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
        // A protocol message: the payload as it is.
        let bytes = Frame::Protocol(vec![1, 2, 3]).encode().unwrap();
        assert_eq!(bytes, [0, 0, 0, 4, 0x20, 1, 2, 3]);
        // Hello starts with magic and version 5.
        let bytes = Frame::Hello(sample_hello()).encode().unwrap();
        assert_eq!(bytes[4], 0x01);
        assert_eq!(&bytes[5..13], &MAGIC);
        assert_eq!(&bytes[13..15], &[0, 5]);
    }

    /// The example frames of docs/protocol.md, byte for byte.
    #[test]
    fn documented_examples() {
        let hello = Hello {
            role: Role::Initiator,
            protocol: "ecdh-ristretto255".into(),
            protocol_params: vec![1],
            mode: "intersection".into(),
            reveal: Reveal::Both,
            id_types: vec!["phone".into()],
            profile: "p1".into(),
            set_size: 300,
            type_sizes: vec![300],
            min_peer_set: 100,
            allowed_modes: vec!["intersection".into(), "cardinality".into()],
            batch_size: 4096,
            nonce: [0x11; 32],
            implementation: "bm".into(),
        };
        let mut expected = vec![0x00, 0x00, 0x00, 0x7D, 0x01];
        expected.extend_from_slice(&[0x89, 0x42, 0x4D, 0x50, 0x53, 0x49, 0x0D, 0x0A, 0x00, 0x05]);
        expected.push(0x00);
        expected.push(0x11);
        expected.extend_from_slice(b"ecdh-ristretto255");
        expected.extend_from_slice(&[0x01, 0x01]);
        expected.push(0x0C);
        expected.extend_from_slice(b"intersection");
        expected.push(0x02);
        expected.extend_from_slice(&[0x01, 0x05, b'p', b'h', b'o', b'n', b'e']);
        expected.extend_from_slice(&[0x02, b'p', b'1']);
        expected.extend_from_slice(&[0xAC, 0x02, 0x01, 0xAC, 0x02, 0x64]);
        expected.extend_from_slice(&[0x02, 0x0C]);
        expected.extend_from_slice(b"intersection");
        expected.push(0x0B);
        expected.extend_from_slice(b"cardinality");
        expected.extend_from_slice(&[0x80, 0x20]);
        expected.extend_from_slice(&[0x11; 32]);
        expected.extend_from_slice(&[0x02, b'b', b'm']);
        assert_eq!(Frame::Hello(hello).encode().unwrap(), expected);

        // ECDH messages in protocol frames (the psi crate's encoding, as it is).
        let blinded = blindmatch_psi::Message::Blinded {
            batch: 1,
            points: vec![[0xCC; 32]],
        };
        let mut expected = vec![0x00, 0x00, 0x00, 0x26, 0x20, 0x01, 0x00, 0x00, 0x00, 0x01];
        expected.extend_from_slice(&[0xCC; 32]);
        assert_eq!(
            Frame::Protocol(blinded.encode()).encode().unwrap(),
            expected
        );
        let reblinded = blindmatch_psi::Message::Reblinded {
            batch: 2,
            values: vec![0xEE; 8],
        };
        let mut expected = vec![0x00, 0x00, 0x00, 0x0E, 0x20, 0x02, 0x00, 0x00, 0x00, 0x02];
        expected.extend_from_slice(&[0xEE; 8]);
        assert_eq!(
            Frame::Protocol(reblinded.encode()).encode().unwrap(),
            expected
        );
        // Both learn: a first learner's matches for the peer's batch 3 of 12 items
        // (positions 1, 6 and 9 matched: the bitmap alone), and counts per rule.
        let matches = blindmatch_psi::Message::Matches {
            batch: 3,
            bitmap: vec![0x42, 0x40],
        };
        let expected = [
            0x00, 0x00, 0x00, 0x08, 0x20, 0x04, 0x00, 0x00, 0x00, 0x03, 0x42, 0x40,
        ];
        assert_eq!(
            Frame::Protocol(matches.encode()).encode().unwrap(),
            expected
        );
        let counts = blindmatch_psi::Message::Counts {
            batch: 0,
            counts: vec![20, 5],
        };
        let expected = [
            0x00, 0x00, 0x00, 0x0E, 0x20, 0x05, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14,
            0x00, 0x00, 0x00, 0x05,
        ];
        assert_eq!(Frame::Protocol(counts.encode()).encode().unwrap(), expected);

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
        // The kinds of version 1's point batches are gone.
        for old in [0x10, 0x11] {
            assert_eq!(
                decode_frame(&[0, 0, 0, 1, old]),
                Err(FrameError::UnknownKind { kind: old })
            );
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
        // A hello naming too many allowed modes.
        let mut h = sample_hello();
        h.allowed_modes = vec!["x".into(); MAX_ALLOWED_MODES + 1];
        assert!(Frame::Hello(h).encode().is_err());
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
        future[14] = 6;
        future.extend_from_slice(&[0xFF; 7]);
        let len = (future.len() - 4) as u32;
        future[..4].copy_from_slice(&len.to_be_bytes());
        assert_eq!(
            decode_frame(&future),
            Err(FrameError::UnsupportedVersion { version: 6 })
        );
        // Version 4, whose hello has the same layout (only its `Matches` differ).
        let mut v4 = good.clone();
        v4[14] = 4;
        assert_eq!(
            decode_frame(&v4),
            Err(FrameError::UnsupportedVersion { version: 4 })
        );
        // Version 1 peers are named too.
        let mut v1 = good.clone();
        v1[14] = 1;
        assert_eq!(
            decode_frame(&v1),
            Err(FrameError::UnsupportedVersion { version: 1 })
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
    fn unknown_names_decode_so_they_can_be_refused_by_name() {
        let mut h = sample_hello();
        h.protocol = "vole-rr22".into();
        h.mode = "labelled".into();
        h.allowed_modes = vec!["labelled".into()];
        h.id_types = vec!["passport".into()];
        round_trip(&Frame::Hello(h));
    }

    #[test]
    fn encoder_refuses_what_the_decoder_would() {
        let mut h = sample_hello();
        h.profile = "p".repeat(MAX_PROFILE_LEN + 1);
        assert!(Frame::Hello(h).encode().is_err());
        let mut h = sample_hello();
        h.protocol_params = vec![0; blindmatch_psi::protocol::MAX_PROTOCOL_PARAMS_LEN + 1];
        assert!(Frame::Hello(h).encode().is_err());
        // Sizes per type must be one per type and add up to the set size.
        let mut h = sample_hello();
        h.type_sizes = vec![999];
        assert!(Frame::Hello(h).encode().is_err());
        let mut h = sample_hello();
        h.type_sizes = vec![1000, 0];
        assert!(Frame::Hello(h).encode().is_err());
        let mut h = sample_hello();
        h.id_types.push("email".into());
        h.type_sizes = vec![u64::MAX, 1001];
        assert!(Frame::Hello(h).encode().is_err());
        let huge = Frame::Protocol(vec![0; MAX_FRAME_LEN as usize]);
        let mut out = vec![1, 2, 3];
        assert!(matches!(
            huge.encode_into(&mut out),
            Err(FrameError::TooLarge { .. })
        ));
        assert_eq!(out, [1, 2, 3]);
    }

    fn arb_frame() -> impl Strategy<Value = Frame> {
        let hello = (
            (
                any::<bool>(),
                "[a-z0-9.-]{0,20}",
                proptest::collection::vec(any::<u8>(), 0..8),
            ),
            "[a-z]{0,12}",
            0u8..3,
            proptest::collection::vec("[a-z]{1,10}", 0..4),
            "[ -~]{0,40}",
            (any::<u64>(), any::<u64>()),
            proptest::collection::vec("[a-z]{1,12}", 0..3),
            any::<u32>(),
            any::<[u8; 32]>(),
        )
            .prop_map(
                |(
                    (r, protocol, params),
                    mode,
                    rv,
                    id_types,
                    profile,
                    (s, min),
                    allowed,
                    b,
                    nonce,
                )| {
                    // Sizes per type that add up, as a valid hello's must.
                    let mut type_sizes = vec![0u64; id_types.len()];
                    let s = match type_sizes.first_mut() {
                        Some(first) => {
                            *first = s;
                            s
                        }
                        None => 0,
                    };
                    Frame::Hello(Hello {
                        role: if r { Role::Initiator } else { Role::Responder },
                        protocol,
                        protocol_params: params,
                        mode,
                        reveal: hello::reveal_from(rv).unwrap(),
                        id_types,
                        profile,
                        set_size: s,
                        type_sizes,
                        min_peer_set: min,
                        allowed_modes: allowed,
                        batch_size: b,
                        nonce,
                        implementation: "x".into(),
                    })
                },
            );
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
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(Frame::Protocol),
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

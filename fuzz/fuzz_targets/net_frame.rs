//! `blindmatch_net::decode_frame` and `frame::decode_frame_limited`, the decoder of
//! every byte a peer sends, on any byte stream.
//!
//! The first byte picks a session frame limit (a multiple of 16 KiB, as sessions
//! configure), the rest is the stream; frames are decoded one after another as the
//! session reader does. Checked, beyond "never panics":
//! - a frame that decodes encodes to exactly the bytes it took (one encoding per
//!   frame), and the limited decoder gives it too when it fits the limit;
//! - "need more bytes" is `Ok(None)`, never an error: every strict prefix of a
//!   decoded frame asks for more, and `Ok(None)` only comes for an incomplete frame.
#![no_main]

use blindmatch_net::frame::{
    FrameError, LENGTH_PREFIX_LEN, MAX_FRAME_LEN, MIN_FRAME_LEN, decode_frame_limited,
};
use blindmatch_net::{Frame, decode_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut stream)) = data.split_first() else {
        return;
    };
    let limit = (MIN_FRAME_LEN * (u32::from(selector) + 1)).min(MAX_FRAME_LEN);
    // A handful of frames is enough to reach every state; stop on the first error.
    for _ in 0..8 {
        let Some((frame, used)) = step(stream, limit) else {
            return;
        };
        check_round_trip(&frame, &stream[..used]);
        stream = &stream[used..];
    }
});

/// Decodes the first frame with both decoders; `None` once the stream ends or errs.
fn step(stream: &[u8], limit: u32) -> Option<(Frame, usize)> {
    let full = decode_frame(stream);
    let limited = decode_frame_limited(stream, limit);
    let declared = stream
        .first_chunk()
        .map(|prefix| u32::from_be_bytes(*prefix));
    match declared {
        Some(len) if len > limit => assert!(
            matches!(limited, Err(FrameError::TooLarge { .. })),
            "limited decoder took a {len}-byte frame over its limit {limit}: {limited:?}"
        ),
        _ => assert_eq!(full, limited, "the decoders disagree under the limit"),
    }
    match full {
        Ok(None) => {
            let complete =
                declared.is_some_and(|len| stream.len() >= LENGTH_PREFIX_LEN + len as usize);
            assert!(!complete, "Ok(None) for a complete frame");
            None
        }
        Ok(Some((frame, used))) => {
            assert!(used > LENGTH_PREFIX_LEN && used <= stream.len());
            Some((frame, used))
        }
        Err(_) => None,
    }
}

fn check_round_trip(frame: &Frame, bytes: &[u8]) {
    match frame.encode() {
        Ok(encoded) => assert_eq!(encoded, bytes, "decode → encode changed the bytes"),
        Err(e) => panic!("a decoded {} frame does not encode: {e}", frame.kind_name()),
    }
    for cut in [
        0,
        1,
        LENGTH_PREFIX_LEN - 1,
        LENGTH_PREFIX_LEN,
        bytes.len() - 1,
    ] {
        if let Some(prefix) = bytes.get(..cut).filter(|p| p.len() < bytes.len()) {
            assert_eq!(decode_frame(prefix), Ok(None), "prefix of {cut} bytes");
        }
    }
}

//! `blindmatch_psi::Message::decode`, the PSI message layout inside a batch frame, on
//! any bytes.
//!
//! Checked, beyond "never panics": a message that decodes encodes to exactly the
//! bytes it came from (one encoding per message), with the length it announces.
#![no_main]

use blindmatch_psi::Message;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = Message::decode(data) {
        assert_eq!(message.encoded_len(), data.len());
        assert_eq!(message.encode(), data, "decode → encode changed the bytes");
    }
});

//! `blindmatch_psi::labelled::LabelledMessage::decode` (the labelled protocol's
//! message layout inside a batch frame) and the labelled parameter check, on any
//! bytes.
//!
//! Checked, beyond "never panics": a message that decodes encodes to exactly the
//! bytes it came from, with the length it announces; the parameter check (the peer's
//! hello parameters against a learner's) only ever answers with a reason.
#![no_main]

use blindmatch_psi::labelled::LabelledMessage;
use blindmatch_psi::{LabelledSetup, PreparedSet, ProtocolSetup};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = LabelledMessage::decode(data) {
        assert_eq!(message.encoded_len(), data.len());
        assert_eq!(message.encode(), data, "decode → encode changed the bytes");
    }
    if let Ok(learner) = LabelledSetup::learner(PreparedSet::new(), 4) {
        let check = learner.params_check();
        let _ = check(&learner.params(), data);
    }
});

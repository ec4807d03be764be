//! The oblivious shuffle's payloads (`blindmatch_psi::osn_fuzz`, a hidden shim over
//! the crate-private `osn` module) on any bytes: the decoder, and the same bytes
//! handed to the holder R before and after the permuter's start, and to the
//! permuter S before its start, after it and (for input shares and corrections,
//! the kinds a later state treats differently) after R's choices, and after R's
//! choices, inputs and S's columns.
//!
//! Checked, beyond "never panics": a payload that decodes encodes to exactly the
//! bytes it came from; a party that refused a payload refuses everything after it,
//! sends nothing more and never finishes; one that took it can still be polled.
#![no_main]
// Only the set-up on fixed inputs unwraps; nothing fuzzed reaches an unwrap.
#![allow(clippy::unwrap_used)]

use blindmatch_psi::PsiError;
use blindmatch_psi::osn_fuzz::{self, FuzzHolder, FuzzPermuter};
use libfuzzer_sys::fuzz_target;

trait Party {
    fn handle(&mut self, payload: &[u8]) -> Result<(), PsiError>;
    fn poll(&mut self) -> Option<Vec<u8>>;
    fn is_done(&self) -> bool;
}

impl Party for FuzzHolder {
    fn handle(&mut self, payload: &[u8]) -> Result<(), PsiError> {
        FuzzHolder::handle(self, payload)
    }
    fn poll(&mut self) -> Option<Vec<u8>> {
        FuzzHolder::poll(self)
    }
    fn is_done(&self) -> bool {
        FuzzHolder::is_done(self)
    }
}

impl Party for FuzzPermuter {
    fn handle(&mut self, payload: &[u8]) -> Result<(), PsiError> {
        FuzzPermuter::handle(self, payload)
    }
    fn poll(&mut self) -> Option<Vec<u8>> {
        FuzzPermuter::poll(self)
    }
    fn is_done(&self) -> bool {
        FuzzPermuter::is_done(self)
    }
}

fn feed(party: &mut impl Party, data: &[u8]) {
    if party.handle(data).is_err() {
        assert!(matches!(party.handle(data), Err(PsiError::Aborted)));
        assert!(party.poll().is_none());
        assert!(!party.is_done());
    } else {
        while party.poll().is_some() {}
    }
}

fuzz_target!(|data: &[u8]| {
    if let Some(bytes) = osn_fuzz::reencode(data) {
        assert_eq!(bytes, data, "decode → encode changed the bytes");
    }
    let (mut r, mut s) = osn_fuzz::parties(1);
    feed(&mut r, data);
    feed(&mut s, data);
    let (mut r, mut s) = osn_fuzz::parties(1);
    let start = s.poll().unwrap();
    feed(&mut s, data);
    r.handle(&start).unwrap();
    feed(&mut r, data);
    // Base OTs cost milliseconds: the later states only for the payloads they
    // treat differently (input shares 0x53, corrections 0x55).
    if matches!(data.first(), Some(0x53 | 0x55)) {
        let (mut r, mut s) = osn_fuzz::parties(1);
        r.handle(&s.poll().unwrap()).unwrap();
        let choices = r.poll().unwrap();
        s.handle(&choices).unwrap();
        let mut after_choices = osn_fuzz::parties(1).1;
        after_choices.poll().unwrap();
        after_choices.handle(&choices).unwrap();
        feed(&mut after_choices, data);
        while let Some(p) = r.poll() {
            s.handle(&p).unwrap();
        }
        let columns = s.poll().unwrap();
        assert!(s.poll().is_none());
        assert!(!columns.is_empty());
        feed(&mut s, data);
    }
});

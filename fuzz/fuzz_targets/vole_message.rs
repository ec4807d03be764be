//! `blindmatch_psi::vole::VoleMessage::decode` (the vole protocol's message layout)
//! on any bytes, and the same bytes handed as a peer message to both sides of a
//! vole session (the OPRF receiver after its start message, the OPRF sender before
//! the receiver's start and, for masked-column and matched-position kinds, after it).
//!
//! Checked, beyond "never panics": a message that decodes encodes to exactly the
//! bytes it came from; a party that refused a message refuses everything after it.
#![no_main]
// Only the set-up on fixed inputs unwraps; nothing fuzzed reaches an unwrap.
#![allow(clippy::unwrap_used)]

use blindmatch_psi::protocol::Protocol;
use blindmatch_psi::vole::{VOLE_KIND_MASKED, VOLE_KIND_MATCHED, VoleMessage, VoleSetup};
use blindmatch_psi::{Mode, PreparedSet, PsiError, Reveal, Role, SessionConfig};
use libfuzzer_sys::fuzz_target;

fn party(role: Role) -> Box<dyn Protocol> {
    let set = PreparedSet::from_items([("phone", &b"1"[..], 0), ("phone", b"2", 1)]).unwrap();
    let config = SessionConfig {
        role,
        mode: Mode::Intersection,
        reveal: Reveal::Both,
        batch_size: 2,
        context: [3; 32],
        local_count: 2,
        peer_count: 2,
        groups: Vec::new(),
        peer_params: Vec::new(),
    };
    VoleSetup::new(set)
        .start_with_seed(config, [9; 32])
        .unwrap()
}

fn feed(party: &mut Box<dyn Protocol>, data: &[u8]) {
    if party.handle(data).is_err() {
        assert!(matches!(
            party.handle(data),
            Err(PsiError::Aborted) | Err(PsiError::Malformed { .. })
        ));
        assert!(party.poll_transmit().is_none());
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(message) = VoleMessage::decode(data) {
        assert_eq!(message.encode(), data, "decode → encode changed the bytes");
    }
    // The initiator is the OPRF receiver when both learn.
    let mut receiver = party(Role::Initiator);
    let start = receiver.poll_transmit().unwrap().payload;
    feed(&mut receiver, data);
    let mut sender = party(Role::Responder);
    feed(&mut sender, data);
    // A started sender runs 512 base OTs first: only for the kinds it then treats
    // differently (masked columns, matched positions), so the fuzzer stays fast.
    if matches!(data.first(), Some(&VOLE_KIND_MASKED | &VOLE_KIND_MATCHED)) {
        let mut started = party(Role::Responder);
        started.handle(&start).unwrap();
        while started.poll_transmit().is_some() {}
        feed(&mut started, data);
    }
});

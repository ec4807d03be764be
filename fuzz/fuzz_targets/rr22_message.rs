//! `blindmatch_psi::rr22::Rr22Message::decode` (the `vole-rr22-silent` message
//! layout) on any bytes, and the same bytes handed as a peer message to both sides
//! of a session: the OPRF receiver after its start message, the OPRF sender before
//! the receiver's start and, for the kinds it then treats differently (correlated-OT
//! columns, masked rows, matched positions), after it; and, for tree sums, the
//! receiver once it has sent all its columns; and, for the cardinality kinds (table,
//! shuffle, masks, counts), both sides of a cardinality session once its OPRF ended.
//!
//! Checked, beyond "never panics": a message that decodes encodes to exactly the
//! bytes it came from; a party that refused a message refuses everything after it.
#![no_main]
// Only the set-up on fixed inputs unwraps; nothing fuzzed reaches an unwrap.
#![allow(clippy::unwrap_used)]

use blindmatch_psi::protocol::Protocol;
use blindmatch_psi::rr22::{
    RR22_KIND_COLUMNS, RR22_KIND_COUNTS, RR22_KIND_MASKED, RR22_KIND_MASKS, RR22_KIND_MATCHED,
    RR22_KIND_SHUFFLE, RR22_KIND_TABLE, RR22_KIND_TREES, Rr22Message, Rr22Setup,
};
use blindmatch_psi::{Mode, PreparedSet, PsiError, Reveal, Role, SessionConfig};
use libfuzzer_sys::fuzz_target;

fn party(role: Role) -> Box<dyn Protocol> {
    party_in(role, Mode::Intersection)
}

fn party_in(role: Role, mode: Mode) -> Box<dyn Protocol> {
    let set = PreparedSet::from_items([("phone", &b"1"[..], 0), ("phone", b"2", 1)]).unwrap();
    let config = SessionConfig {
        role,
        mode,
        reveal: Reveal::Both,
        batch_size: 2,
        context: [3; 32],
        local_count: 2,
        peer_count: 2,
        groups: Vec::new(),
        peer_params: Vec::new(),
    };
    Rr22Setup::new(set)
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
    if let Ok(message) = Rr22Message::decode(data) {
        assert_eq!(message.encode(), data, "decode → encode changed the bytes");
    }
    // The initiator is the OPRF receiver when both learn.
    let mut receiver = party(Role::Initiator);
    let start = receiver.poll_transmit().unwrap().payload;
    feed(&mut receiver, data);
    let mut sender = party(Role::Responder);
    feed(&mut sender, data);
    // Base OTs and the correlated-OT extension cost milliseconds: only for the kinds
    // a later state treats differently, so the fuzzer stays fast.
    let kind = data.first().copied();
    if matches!(
        kind,
        Some(RR22_KIND_COLUMNS | RR22_KIND_MASKED | RR22_KIND_MATCHED)
    ) {
        let mut started = party(Role::Responder);
        started.handle(&start).unwrap();
        while started.poll_transmit().is_some() {}
        feed(&mut started, data);
    }
    if kind == Some(RR22_KIND_TREES) {
        let mut r = party(Role::Initiator);
        let mut s = party(Role::Responder);
        s.handle(&r.poll_transmit().unwrap().payload).unwrap();
        while let Some(m) = s.poll_transmit() {
            r.handle(&m.payload).unwrap();
        }
        while r.poll_transmit().is_some() {}
        feed(&mut r, data);
    }
    if matches!(
        kind,
        Some(RR22_KIND_TABLE | RR22_KIND_SHUFFLE | RR22_KIND_MASKS | RR22_KIND_COUNTS)
    ) {
        // A cardinality session up to the sender's first table chunk.
        let mut r = party_in(Role::Initiator, Mode::Cardinality);
        let mut s = party_in(Role::Responder, Mode::Cardinality);
        'oprf: loop {
            let mut moved = false;
            while let Some(m) = r.poll_transmit() {
                s.handle(&m.payload).unwrap();
                moved = true;
            }
            while let Some(m) = s.poll_transmit() {
                if m.payload.first() == Some(&RR22_KIND_TABLE) {
                    break 'oprf;
                }
                r.handle(&m.payload).unwrap();
                moved = true;
            }
            if !moved {
                break;
            }
        }
        feed(&mut r, data);
        feed(&mut s, data);
    }
});

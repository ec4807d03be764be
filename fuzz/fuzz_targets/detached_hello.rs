//! `blindmatch_pipeline::detached::DetachedParty::start` on any bytes as the
//! peer's hello (the Python package's transport-free API reads it from the
//! caller's channel), then `handle` on the same bytes as a protocol message.
//!
//! Checked, beyond "never panics": a hello that is refused leaves the party
//! unstarted (no session ID), and one that is accepted gives a session ID.
#![no_main]

use blindmatch_pipeline::detached::{DetachedOptions, DetachedParty};
use blindmatch_psi::{EcdhSetup, Mode, PreparedSet, Reveal, Role};
use libfuzzer_sys::fuzz_target;

fn party() -> Option<DetachedParty> {
    let set = PreparedSet::from_items(
        ["+8613800138000", "+8613900139000"]
            .iter()
            .enumerate()
            .map(|(i, v)| ("phone", v.as_bytes(), i as u64)),
    )
    .ok()?;
    DetachedParty::new(
        Box::new(EcdhSetup::new(set)),
        DetachedOptions {
            role: Role::Initiator,
            mode: Mode::Intersection,
            reveal: Reveal::Both,
            batch_size: 16,
            min_peer_set: 1,
            max_peer_set: 1_000,
        },
        [7; 32],
    )
    .ok()
}

fuzz_target!(|data: &[u8]| {
    let Some(mut party) = party() else {
        return;
    };
    match party.start(data) {
        Ok(()) => {
            assert!(party.session_id().is_some());
            let _ = party.outgoing();
            let _ = party.handle(data);
        }
        Err(_) => assert!(party.session_id().is_none()),
    }
});

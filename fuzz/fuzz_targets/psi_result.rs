//! The first learner's result as the side that learns second checks it
//! (`blindmatch_psi::Party::handle` on `Matches` and `Counts` messages, after
//! `Message::decode`), on any bytes: a small both-learn session with two rules is run
//! up to the point where the initiator waits for the responder's result, then fed
//! the input's messages instead.
//!
//! Input: a mode byte (even: intersection, odd: cardinality), then messages, each
//! behind a one-byte length. Checked, beyond "never panics": a refused message leaves
//! the party failed (nothing more to send, never finished); a party that accepted a
//! complete result finishes with an outcome, which in intersection mode counts exactly
//! the positions its bitmaps set.
#![no_main]

use blindmatch_psi::{Message, Mode};
use libfuzzer_sys::fuzz_target;

#[path = "shared/both_learn.rs"]
mod both_learn;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, mut rest)) = data.split_first() else {
        return;
    };
    let mode = if selector % 2 == 0 {
        Mode::Intersection
    } else {
        Mode::Cardinality
    };
    let (mut party, _) = both_learn::held_back(mode);
    let mut set_bits = 0u64;
    while let Some((&len, tail)) = rest.split_first() {
        let (bytes, after) = tail.split_at(usize::from(len).min(tail.len()));
        rest = after;
        let Ok(message) = Message::decode(bytes) else {
            continue;
        };
        let bits = match &message {
            Message::Matches { bitmap, .. } => {
                bitmap.iter().map(|b| u64::from(b.count_ones())).sum()
            }
            _ => 0,
        };
        if party.handle(message).is_err() {
            assert!(party.poll_transmit().is_none());
            assert!(!party.is_finished());
            return;
        }
        set_bits += bits;
    }
    if party.is_finished() {
        let outcome = party.finish();
        assert!(outcome.is_ok(), "a finished party gives its outcome");
        if mode == Mode::Intersection {
            let matched = outcome.ok().and_then(|o| o.matched_count());
            assert_eq!(matched, Some(set_bits), "one match per set bit");
        }
    }
});

//! Helpers shared by the `vole-rr22-silent` integration tests: item lists, sets,
//! configurations and an in-memory run of two parties.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::collections::HashSet;

use blindmatch_psi::protocol::Protocol;
use blindmatch_psi::rr22::Rr22Setup;
use blindmatch_psi::{
    Mode, Outcome, PreparedSet, PsiError, Reveal, Role, SessionConfig, TypeGroup,
};

pub type Item = (String, Vec<u8>, u64);

pub const CTX: [u8; 32] = [0x5a; 32];

pub fn items(t: &str, values: &[&str], first_row: u64) -> Vec<Item> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (t.to_owned(), v.as_bytes().to_vec(), first_row + i as u64))
        .collect()
}

pub fn set(items: &[Item]) -> PreparedSet {
    PreparedSet::from_items(items.iter().map(|(t, v, r)| (t.as_str(), v.as_slice(), *r))).unwrap()
}

pub fn distinct(items: &[Item]) -> u64 {
    items
        .iter()
        .map(|(t, v, _)| (t, v))
        .collect::<HashSet<_>>()
        .len() as u64
}

pub fn config(
    role: Role,
    reveal: Reveal,
    batch_size: u32,
    mine: &[Item],
    theirs: &[Item],
    groups: &[&str],
) -> SessionConfig {
    let count = |items: &[Item], t: &str| {
        items
            .iter()
            .filter(|(ty, _, _)| ty == t)
            .map(|(_, v, _)| v)
            .collect::<HashSet<_>>()
            .len() as u64
    };
    SessionConfig {
        role,
        mode: Mode::Intersection,
        reveal,
        batch_size,
        context: CTX,
        local_count: distinct(mine),
        peer_count: distinct(theirs),
        groups: groups
            .iter()
            .map(|g| TypeGroup {
                id_type: (*g).to_owned(),
                local: count(mine, g),
                peer: count(theirs, g),
            })
            .collect(),
        peer_params: Vec::new(),
    }
}

pub fn start(cfg: SessionConfig, items: &[Item], seed: u8) -> Box<dyn Protocol> {
    Rr22Setup::new(set(items))
        .start_with_seed(cfg, [seed; 32])
        .unwrap()
}

/// Both outcomes and the transcript.
pub type Ran = (Outcome, Outcome, Vec<(bool, Vec<u8>)>);

/// Runs both parties to the end; returns both outcomes and every payload sent
/// (`true` for the initiator's).
pub fn run(mut a: Box<dyn Protocol>, mut b: Box<dyn Protocol>) -> Result<Ran, PsiError> {
    let mut transcript = Vec::new();
    loop {
        let mut moved = false;
        while let Some(m) = a.poll_transmit() {
            b.handle(&m.payload)?;
            transcript.push((true, m.payload));
            moved = true;
        }
        while let Some(m) = b.poll_transmit() {
            a.handle(&m.payload)?;
            transcript.push((false, m.payload));
            moved = true;
        }
        if a.is_finished() && b.is_finished() {
            break;
        }
        assert!(moved, "no party can move: deadlock");
    }
    Ok((a.finish()?, b.finish()?, transcript))
}

pub fn sample() -> (Vec<Item>, Vec<Item>) {
    let mut a = items("phone", &["1", "2", "3", "4", "5", "2"], 0);
    a.extend(items("email", &["a@x", "b@x", "c@x"], 100));
    let mut b = items("phone", &["2", "4", "6", "8"], 1000);
    b.extend(items("email", &["b@x", "c@x", "c@x", "z@x"], 2000));
    // The same bytes under another type never match.
    b.extend(items("email", &["1"], 3000));
    (a, b)
}

/// Two e-mail sets sharing one value, every value containing `secret`: a transcript
/// that carries a raw identifier shows the word.
pub fn secret_emails() -> (Vec<Item>, Vec<Item>) {
    let a = items(
        "email",
        &["alice.secret@example.com", "bob.secret@example.com"],
        0,
    );
    let b = items(
        "email",
        &["bob.secret@example.com", "carol.secret@example.com"],
        0,
    );
    (a, b)
}

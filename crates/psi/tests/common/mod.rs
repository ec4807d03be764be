//! Shared helpers for the integration tests: building parties and running a session in
//! one process.
#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use blindmatch_psi::{
    Message, Mode, Outcome, Party, PreparedSet, PsiError, Reveal, Role, SessionConfig,
};
use rand::SeedableRng;
use rand::rngs::StdRng;

pub type Item = (String, Vec<u8>, u64);

pub fn config(
    role: Role,
    mode: Mode,
    reveal: Reveal,
    batch_size: u32,
    context: [u8; 32],
    local: &PreparedSet,
    peer: &PreparedSet,
) -> SessionConfig {
    SessionConfig {
        role,
        mode,
        reveal,
        batch_size,
        context,
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: Vec::new(),
        peer_params: Vec::new(),
    }
}

/// Two seeded parties: the initiator holds `a`, the responder `b`.
pub fn parties(
    a: &[Item],
    b: &[Item],
    mode: Mode,
    reveal: Reveal,
    batch_size: u32,
    context: [u8; 32],
    seed: u64,
) -> (Party, Party) {
    let sa = PreparedSet::from_items(a.iter().map(|(t, v, r)| (t, v, *r))).unwrap();
    let sb = PreparedSet::from_items(b.iter().map(|(t, v, r)| (t, v, *r))).unwrap();
    let ca = config(Role::Initiator, mode, reveal, batch_size, context, &sa, &sb);
    let cb = config(Role::Responder, mode, reveal, batch_size, context, &sb, &sa);
    let mut rng = StdRng::seed_from_u64(seed);
    let pa = Party::with_rng(ca, sa, &mut rng).unwrap();
    let pb = Party::with_rng(cb, sb, &mut rng).unwrap();
    (pa, pb)
}

/// Every message each side sent, and both outcomes.
pub struct Transcript {
    pub from_a: Vec<Message>,
    pub from_b: Vec<Message>,
    pub a: Outcome,
    pub b: Outcome,
}

/// Runs a session to the end, one message at a time in alternation (so batches
/// interleave the way they would over a network).
pub fn run(mut a: Party, mut b: Party) -> Result<Transcript, PsiError> {
    let mut from_a = Vec::new();
    let mut from_b = Vec::new();
    loop {
        let ma = a.poll_transmit();
        let mb = b.poll_transmit();
        if ma.is_none() && mb.is_none() {
            break;
        }
        if let Some(m) = ma {
            from_a.push(m.clone());
            b.handle(m)?;
        }
        if let Some(m) = mb {
            from_b.push(m.clone());
            a.handle(m)?;
        }
    }
    assert!(a.is_finished() && b.is_finished(), "session stalled");
    assert!(!a.needs_input() && !b.needs_input());
    Ok(Transcript {
        from_a,
        from_b,
        a: a.finish()?,
        b: b.finish()?,
    })
}

pub fn items(type_name: &str, values: &[&str]) -> Vec<Item> {
    values
        .iter()
        .enumerate()
        .map(|(i, v)| (type_name.to_owned(), v.as_bytes().to_vec(), i as u64))
        .collect()
}

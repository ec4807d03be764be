//! A small ECDH session in which both sides learn, run until the side that learns
//! second waits for the first learner's result: the state the `psi_result` target
//! feeds its input to, and from which `examples/seeds.rs` takes the honest result
//! messages as seeds. Deterministic (fixed seeds), so an input always meets the same
//! party.

use blindmatch_psi::{Message, Mode, Party, PreparedSet, Reveal, Role, SessionConfig, TypeGroup};
use rand::SeedableRng;
use rand::rngs::StdRng;

/// Items per batch: the initiator's 8 items make batches of 3, 3 and 2, so the last
/// bitmap has padding bits.
const BATCH: u32 = 3;

/// The initiator holds phones 0..5 and e-mails 0..3, the responder phones 3..6 and
/// e-mails 1..4: two rules, 2 shared phones and 2 shared e-mails. The responder has
/// fewer items, so it learns first and the initiator waits for its result.
fn set(initiator: bool) -> PreparedSet {
    let (phones, emails) = if initiator {
        (0..5, 0..3)
    } else {
        (3..6, 1..4)
    };
    let mut set = PreparedSet::new();
    for i in phones {
        set.push("phone", format!("+86138000000{i:02}").as_bytes(), i)
            .expect("a valid item");
    }
    for i in emails {
        set.push("email", format!("u{i}@example.com").as_bytes(), 100 + i)
            .expect("a valid item");
    }
    set
}

fn config(role: Role, mode: Mode, local: &PreparedSet, peer: &PreparedSet) -> SessionConfig {
    let size = |s: &PreparedSet, t: &str| {
        s.type_sizes()
            .into_iter()
            .find(|(n, _)| n == t)
            .map_or(0, |(_, c)| c)
    };
    SessionConfig {
        role,
        mode,
        reveal: Reveal::Both,
        batch_size: BATCH,
        context: [0x66; 32],
        local_count: local.declared_size(),
        peer_count: peer.declared_size(),
        groups: ["phone", "email"]
            .iter()
            .map(|t| TypeGroup {
                id_type: (*t).to_owned(),
                local: size(local, t),
                peer: size(peer, t),
            })
            .collect(),
        peer_params: Vec::new(),
    }
}

/// The initiator, ready for the responder's result, and that result as the
/// responder sent it.
pub(crate) fn held_back(mode: Mode) -> (Party, Vec<Message>) {
    let (si, sr) = (set(true), set(false));
    let ci = config(Role::Initiator, mode, &si, &sr);
    let cr = config(Role::Responder, mode, &sr, &si);
    let mut rng = StdRng::seed_from_u64(0x5eed);
    let mut a = Party::with_rng(ci, si, &mut rng).expect("a valid session");
    let mut b = Party::with_rng(cr, sr, &mut rng).expect("a valid session");
    let mut result = Vec::new();
    loop {
        let ma = a.poll_transmit();
        let mb = b.poll_transmit();
        if ma.is_none() && mb.is_none() {
            break;
        }
        if let Some(m) = ma {
            b.handle(m).expect("an honest message");
        }
        match mb {
            Some(m @ (Message::Matches { .. } | Message::Counts { .. })) => result.push(m),
            Some(m) => a.handle(m).expect("an honest message"),
            None => {}
        }
    }
    (a, result)
}

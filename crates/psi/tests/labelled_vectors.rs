//! Replays `docs/test-vectors/labelled.json`: a small labelled session with fixed
//! seeds, every message in both directions, one item's derivations, the learner's
//! output. The file is written by an independent generator,
//! `crates/psi/tests/vectors/gen_labelled.py` (plain Python from `docs/protocol.md`,
//! "Labelled mode"), which is the source of truth; this test runs the real protocol
//! code from the same seeds and requires every field but `source` to come out equal,
//! messages byte for byte. Then the OPRF relation, the HKDF tag and key and the AEAD
//! opening of one entry are re-derived here with the curve, `hkdf` and
//! `chacha20poly1305` crates directly, not through the protocol code.
//!
//! After a deliberate, versioned change of the protocol, change the generator and
//! rerun it: `python3 crates/psi/tests/vectors/gen_labelled.py >
//! docs/test-vectors/labelled.json`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use blindmatch_psi::hash::{h2g_dst, hash_identifier};
use blindmatch_psi::labelled::{AAD_LABEL, KEY_INFO, LABELLED_HEADER_LEN, TAG_INFO};
use blindmatch_psi::{
    LABELLED_PROTOCOL_ID, LabelColumn, LabelTable, LabelledSetup, MatchId, Mode, PreparedSet,
    ProtocolSetup, Reveal, Role, SessionConfig, comparison_len,
};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::CompressedRistretto;
use hkdf::Hkdf;
use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use sha2::Sha256;

const PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../docs/test-vectors/labelled.json"
);
const CONTEXT: [u8; 32] = [0x42; 32];
const LEARNER_SEED: [u8; 32] = [0x11; 32];
const SENDER_SEED: [u8; 32] = [0x22; 32];
const BATCH: u32 = 2;
const CAP: u32 = 2;

const LEARNER: [(&str, &str, u64); 4] = [
    ("email", "alice@example.org", 0),
    ("email", "carol@example.org", 1),
    ("phone", "+4915112345678", 2),
    ("email", "alice@example.org", 3),
];
const SENDER: [(&str, &str, u64, [&str; 2]); 4] = [
    ("email", "alice@example.org", 10, ["gold", "1200"]),
    ("email", "alice@example.org", 11, ["silver", "80"]),
    ("email", "dave@example.org", 12, ["bronze", "5"]),
    ("phone", "+4915112345678", 13, ["gold", ""]),
];

fn columns() -> Vec<LabelColumn> {
    vec![
        LabelColumn {
            name: "tier".to_owned(),
            max_bytes: 8,
        },
        LabelColumn {
            name: "ltv_eur".to_owned(),
            max_bytes: 6,
        },
    ]
}

/// The scalar a seeded side draws first: 64 bytes of `StdRng::from_seed(seed)`,
/// reduced mod ℓ.
fn scalar(seed: [u8; 32]) -> Scalar {
    use rand::Rng;
    let mut wide = [0u8; 64];
    StdRng::from_seed(seed).fill_bytes(&mut wide);
    Scalar::from_bytes_mod_order_wide(&wide)
}

fn generate() -> Value {
    let lset =
        PreparedSet::from_items(LEARNER.iter().map(|(t, v, r)| (*t, v.as_bytes(), *r))).unwrap();
    let sset =
        PreparedSet::from_items(SENDER.iter().map(|(t, v, r, _)| (*t, v.as_bytes(), *r))).unwrap();
    let mut table = LabelTable::new(&columns());
    for (_, _, r, l) in SENDER {
        table
            .insert(r, l.iter().map(|s| s.as_bytes().to_vec()).collect())
            .unwrap();
    }
    let l = LabelledSetup::learner(lset, CAP).unwrap();
    let s = LabelledSetup::sender(sset, columns(), table, CAP).unwrap();
    let (lp, sp) = (l.params(), s.params());
    let cfg = |role, local: u64, peer: u64, peer_params: Vec<u8>| SessionConfig {
        role,
        mode: Mode::Labelled,
        reveal: Reveal::Initiator,
        batch_size: BATCH,
        context: CONTEXT,
        local_count: local,
        peer_count: peer,
        groups: Vec::new(),
        peer_params,
    };
    let (ln, sn) = (l.declared_size(), s.declared_size());
    let mut learner = l
        .start_seeded(cfg(Role::Initiator, ln, sn, sp.clone()), LEARNER_SEED)
        .unwrap();
    let mut sender = s
        .start_seeded(cfg(Role::Responder, sn, ln, lp.clone()), SENDER_SEED)
        .unwrap();
    let (mut to_s, mut to_l) = (Vec::new(), Vec::new());
    loop {
        let ml = learner.poll_transmit();
        let ms = sender.poll_transmit();
        if ml.is_none() && ms.is_none() {
            break;
        }
        if let Some(m) = ml {
            sender.handle(&m.payload).unwrap();
            to_s.push(hex::encode(&m.payload));
        }
        if let Some(m) = ms {
            learner.handle(&m.payload).unwrap();
            to_l.push(hex::encode(&m.payload));
        }
    }
    let lo = learner.finish().unwrap();
    let _ = sender.finish().unwrap();

    // One matched item's derivations, computed from the scalars, not by a party.
    let (t, v) = ("email", "alice@example.org");
    let b = scalar(SENDER_SEED);
    let h = hash_identifier(t, v.as_bytes(), &CONTEXT).unwrap();
    let p = (b * CompressedRistretto(h).decompress().unwrap())
        .compress()
        .to_bytes();
    let tag_len = comparison_len(ln, sn);
    let hk = Hkdf::<Sha256>::new(Some(&CONTEXT), &p);
    let mut tag = vec![0u8; tag_len];
    hk.expand(TAG_INFO, &mut tag).unwrap();
    let mut key = [0u8; 32];
    hk.expand(KEY_INFO, &mut key).unwrap();

    let labels = lo.labels.as_ref().unwrap();
    json!({
        "protocol": LABELLED_PROTOCOL_ID,
        "context": hex::encode(CONTEXT),
        "batch_size": BATCH,
        "max_labels_per_id": CAP,
        "comparison_len": tag_len,
        "learner": {
            "role": "initiator",
            "seed": hex::encode(LEARNER_SEED),
            "a": hex::encode(scalar(LEARNER_SEED).to_bytes()),
            "items": LEARNER.iter().map(|(t, v, r)| json!([t, v, r])).collect::<Vec<_>>(),
            "params": hex::encode(&lp),
        },
        "sender": {
            "role": "responder",
            "seed": hex::encode(SENDER_SEED),
            "b": hex::encode(b.to_bytes()),
            "columns": columns().iter().map(|c| json!({"name": c.name, "max_bytes": c.max_bytes})).collect::<Vec<_>>(),
            "items": SENDER.iter().map(|(t, v, r, l)| json!([t, v, r, l])).collect::<Vec<_>>(),
            "params": hex::encode(&sp),
        },
        "messages": {
            "learner_to_sender": to_s,
            "sender_to_learner": to_l,
        },
        "item": {
            "type": t,
            "value": v,
            "h2g_dst": String::from_utf8(h2g_dst(t, &CONTEXT).unwrap()).unwrap(),
            "h": hex::encode(h),
            "b_h": hex::encode(p),
            "tag": hex::encode(&tag),
            "key": hex::encode(key),
            "aad": hex::encode([AAD_LABEL, &CONTEXT[..], &sp].concat()),
            "match_id": MatchId::derive(&CONTEXT, &p).to_string(),
        },
        "output": {
            "matched": lo.matched_count(),
            "matches": lo.matches().iter().map(|m| json!([m.row, m.match_id.to_string()])).collect::<Vec<_>>(),
            "columns": labels.columns,
            "labels": labels.rows.iter().map(|r| json!([
                r.row,
                r.match_id.to_string(),
                r.values.iter().map(|v| String::from_utf8(v.clone()).unwrap()).collect::<Vec<_>>(),
            ])).collect::<Vec<_>>(),
        },
    })
}

#[test]
fn session_replays_byte_for_byte() {
    let fresh = generate();
    let mut stored: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let source = stored.as_object_mut().unwrap().remove("source").unwrap();
    assert!(
        source.as_str().unwrap().contains("gen_labelled.py"),
        "the vectors name their generator"
    );
    assert_eq!(
        stored, fresh,
        "docs/test-vectors/labelled.json no longer matches the protocol code \
         (the file comes from crates/psi/tests/vectors/gen_labelled.py)"
    );
}

fn hx(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

#[test]
fn an_entry_opens_with_independently_derived_keys() {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(PATH).unwrap()).unwrap();
    let a = Scalar::from_canonical_bytes(hx(&v["learner"]["a"]).try_into().unwrap()).unwrap();
    let b = Scalar::from_canonical_bytes(hx(&v["sender"]["b"]).try_into().unwrap()).unwrap();
    let point = |bytes: &[u8]| {
        CompressedRistretto(bytes.try_into().unwrap())
            .decompress()
            .unwrap()
    };
    // Blinded: a·H(x) for the learner's distinct items (in some order); Evaluated:
    // b times the blinded batch of the same number.
    let mut expected: Vec<[u8; 32]> = LEARNER
        .iter()
        .map(|(t, x, _)| {
            (a * point(&hash_identifier(t, x.as_bytes(), &CONTEXT).unwrap()))
                .compress()
                .to_bytes()
        })
        .collect();
    expected.sort();
    expected.dedup();
    let to_s: Vec<Vec<u8>> = v["messages"]["learner_to_sender"]
        .as_array()
        .unwrap()
        .iter()
        .map(hx)
        .collect();
    let to_l: Vec<Vec<u8>> = v["messages"]["sender_to_learner"]
        .as_array()
        .unwrap()
        .iter()
        .map(hx)
        .collect();
    let mut blinded: Vec<[u8; 32]> = Vec::new();
    for m in &to_s {
        assert_eq!(m[0], 1);
        for c in m[LABELLED_HEADER_LEN..].chunks(32) {
            blinded.push(c.try_into().unwrap());
        }
    }
    let evaluated: Vec<[u8; 32]> = to_l
        .iter()
        .filter(|m| m[0] == 2)
        .flat_map(|m| {
            m[LABELLED_HEADER_LEN..]
                .chunks(32)
                .map(|c| c.try_into().unwrap())
        })
        .collect();
    for (x, y) in blinded.iter().zip(&evaluated) {
        assert_eq!((b * point(x)).compress().to_bytes(), *y);
    }
    assert_eq!(blinded.len(), evaluated.len());
    blinded.sort();
    assert_eq!(blinded, expected);

    // The item's tag and key, then its entry among the sender's.
    let item = &v["item"];
    let p = hx(&item["b_h"]);
    let h = hash_identifier("email", b"alice@example.org", &CONTEXT).unwrap();
    assert_eq!((b * point(&h)).compress().to_bytes().to_vec(), p);
    let hk = Hkdf::<Sha256>::new(Some(&CONTEXT), &p);
    let tag_len = v["comparison_len"].as_u64().unwrap() as usize;
    let mut tag = vec![0u8; tag_len];
    hk.expand(TAG_INFO, &mut tag).unwrap();
    assert_eq!(tag, hx(&item["tag"]));
    let mut key = [0u8; 32];
    hk.expand(KEY_INFO, &mut key).unwrap();
    // Plaintext: 2 + cap × (16 + (2+8) + (2+6)) = 70 bytes, + 16-byte AEAD tag.
    let padded = 2 + 2 * (16 + 10 + 8);
    let entry_len = tag_len + padded + 16;
    let entries: Vec<u8> = to_l
        .iter()
        .filter(|m| m[0] == 3)
        .flat_map(|m| m[LABELLED_HEADER_LEN..].to_vec())
        .collect();
    assert_eq!(
        entries.len(),
        3 * entry_len,
        "one entry per distinct sender item"
    );
    let entry = entries
        .chunks(entry_len)
        .find(|e| e[..tag_len] == tag[..])
        .expect("the item's entry");
    let mut plain = entry[tag_len..tag_len + padded].to_vec();
    let aead_tag = Tag::try_from(&entry[tag_len + padded..]).unwrap();
    ChaCha20Poly1305::new((&key).into())
        .decrypt_inout_detached(
            &Nonce::default(),
            &hx(&item["aad"]),
            (&mut plain[..]).into(),
            &aead_tag,
        )
        .unwrap();
    assert_eq!(&plain[..2], &[0, 2], "two label sets for alice");
    let mut values = Vec::new();
    for slot in plain[2..].chunks(34) {
        let f1 = &slot[16..26];
        let f2 = &slot[26..34];
        let n1 = u16::from_be_bytes([f1[0], f1[1]]) as usize;
        let n2 = u16::from_be_bytes([f2[0], f2[1]]) as usize;
        values.push((
            String::from_utf8(f1[2..2 + n1].to_vec()).unwrap(),
            String::from_utf8(f2[2..2 + n2].to_vec()).unwrap(),
        ));
        assert!(f1[2 + n1..].iter().chain(&f2[2 + n2..]).all(|&b| b == 0));
    }
    values.sort();
    assert_eq!(
        values,
        [
            ("gold".to_owned(), "1200".to_owned()),
            ("silver".to_owned(), "80".to_owned())
        ]
    );
    let id = MatchId::derive(&CONTEXT, &p.try_into().unwrap()).to_string();
    assert_eq!(item["match_id"], json!(id));
    let rows: Vec<&Value> = v["output"]["labels"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r[1] == json!(id))
        .collect();
    assert_eq!(
        rows.len(),
        4,
        "learner rows 0 and 3 × sender rows 10 and 11"
    );
}

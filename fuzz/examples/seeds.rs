//! Writes the committed seed corpora, `fuzz/corpus/TARGET/*`, from the published test
//! vectors and the crates' own encoders, so every seed is a valid (or deliberately
//! almost valid) input. Deterministic: rerunning rewrites the same files.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! Keys here are fixed test bytes, never real secrets.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use blindmatch_net::frame::{Control, DoneSummary, Hello};
use blindmatch_net::{AbortCode, Frame};
use blindmatch_psi::curve25519_dalek::{RistrettoPoint, Scalar};
use blindmatch_psi::{ECDH_PARAMS, ECDH_PROTOCOL_ID, Message, Reveal, Role};
use blindmatch_token::{
    CallingCode, Derivation, EmailProviderRules, IdType, Key, KeyFile, KeyPurpose, Profile,
    ShortCoder, Tokenizer,
};
use time::OffsetDateTime;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    normalize(&root);
    key_file(&root);
    token(&root);
    psi_message(&root);
    net_frame(&root);
}

/// Writes `seeds` to `corpus/TARGET/NAME`, replacing what the generator wrote before.
fn write(root: &Path, target: &str, seeds: &[(String, Vec<u8>)]) {
    let dir = root.join("corpus").join(target);
    if dir.exists() {
        fs::remove_dir_all(&dir).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    for (name, bytes) in seeds {
        fs::write(dir.join(name), bytes).unwrap();
    }
    println!("{target}: {} seeds", seeds.len());
}

/// The selector byte of the `normalize` target for a type under a profile.
fn selector(id_type: IdType, profile: &Profile) -> u8 {
    let region = match profile.phone_default_region().map(CallingCode::get) {
        None => 0,
        Some(86) => 1,
        Some(44) => 2,
        Some(1) => 3,
        Some(other) => panic!("the normalize target has no region {other}"),
    };
    let gmail = profile.email_provider_rules() == EmailProviderRules::Gmail;
    id_type.index() as u8 | region << 3 | u8::from(gmail) << 5
}

/// Every input and every expected output of `docs/test-vectors/normalize.json`.
fn normalize(root: &Path) {
    let path = root.join("../docs/test-vectors/normalize.json");
    let doc: serde_json::Value = serde_json::from_slice(&fs::read(path).unwrap()).unwrap();
    let mut seeds = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for case in doc["cases"].as_array().unwrap() {
        let id_type: IdType = case["type"].as_str().unwrap().parse().unwrap();
        let profile: Profile = case["profile"].as_str().unwrap().parse().unwrap();
        let values = [&case["input"], &case["expected"]];
        for value in values.into_iter().filter_map(serde_json::Value::as_str) {
            let mut seed = vec![selector(id_type, &profile)];
            seed.extend_from_slice(value.as_bytes());
            if seen.insert(seed.clone()) {
                seeds.push((format!("{id_type}-{:03}", seeds.len()), seed));
            }
        }
    }
    write(root, "normalize", &seeds);
}

fn created() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_795_000_000).unwrap()
}

/// Key files of every purpose and derivation, plus near misses.
fn key_file(root: &Path) {
    // The documented example's key (bytes 0..=31), and other obvious test patterns.
    let bytes: [u8; 32] = core::array::from_fn(|i| i as u8);
    let master = KeyFile::new(
        Key::from_bytes(bytes),
        KeyPurpose::Master,
        Derivation::Random,
        created(),
    );
    let partner = KeyFile::new(
        master
            .key()
            .derive(KeyPurpose::Token, Some("insurer-x"))
            .unwrap(),
        KeyPurpose::Token,
        Derivation::Master {
            master: master.key_id(),
            partner: Some("insurer-x".into()),
        },
        created(),
    );
    let plain_token = KeyFile::new(
        master.key().derive(KeyPurpose::Token, None).unwrap(),
        KeyPurpose::Token,
        Derivation::Master {
            master: master.key_id(),
            partner: None,
        },
        created(),
    );
    let shared = KeyFile::new(
        Key::from_bytes([0x5a; 32]),
        KeyPurpose::Token,
        Derivation::Shared {
            collaboration_id: "acme-bank-2026q3".into(),
        },
        created(),
    );
    let short_code = KeyFile::new(
        Key::from_bytes([0x11; 32]),
        KeyPurpose::ShortCode,
        Derivation::Random,
        created(),
    );
    let text = |f: &KeyFile| f.to_text().as_bytes().to_vec();
    let master_text = String::from_utf8(text(&master)).unwrap();
    let seeds = vec![
        ("master".to_owned(), text(&master)),
        ("token-partner".to_owned(), text(&partner)),
        ("token-master".to_owned(), text(&plain_token)),
        ("token-shared".to_owned(), text(&shared)),
        ("short-code".to_owned(), text(&short_code)),
        (
            "crlf".to_owned(),
            master_text.replace('\n', "\r\n").into_bytes(),
        ),
        (
            "version-2".to_owned(),
            master_text.replace(" v1\n", " v2\n").into_bytes(),
        ),
        (
            "no-key-line".to_owned(),
            master_text
                .lines()
                .filter(|l| !l.starts_with("key:"))
                .map(|l| format!("{l}\n"))
                .collect::<String>()
                .into_bytes(),
        ),
    ];
    write(root, "key_file", &seeds);
}

/// Tokens of full and truncated length, short codes, key IDs and profile names.
fn token(root: &Path) {
    let key = Key::from_bytes([0x42; 32]);
    let full = Tokenizer::new(&key);
    let short = Tokenizer::with_len(&key, 16).unwrap();
    let coder = ShortCoder::new(&key, 10).unwrap();
    let long_coder = ShortCoder::new(&key, ShortCoder::MAX_LEN).unwrap();
    let phone = b"+8613812345678";
    let seeds = vec![
        ("token-phone".to_owned(), full.token(IdType::Phone, phone)),
        (
            "token-email".to_owned(),
            full.token(IdType::Email, b"a@b.cn"),
        ),
        ("token-16".to_owned(), short.token(IdType::Phone, phone)),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = seeds
        .into_iter()
        .map(|(name, t)| (name, t.to_string().into_bytes()))
        .collect();
    let code = coder.code(IdType::Phone, phone).to_string();
    let typed = format!("{}-{}", &code[..5], &code[5..]).to_lowercase();
    seeds.extend([
        ("short-code".to_owned(), code.into_bytes()),
        ("short-code-typed".to_owned(), typed.into_bytes()),
        (
            "short-code-24".to_owned(),
            long_coder
                .code(IdType::Phone, phone)
                .to_string()
                .into_bytes(),
        ),
        ("key-id".to_owned(), key.id().to_string().into_bytes()),
        ("profile".to_owned(), b"bm-std-v1".to_vec()),
        (
            "profile-options".to_owned(),
            b"bm-std-v1,email-rules=gmail,phone-region=86".to_vec(),
        ),
    ]);
    write(root, "token", &seeds);
}

/// Real compressed ristretto255 points (multiples of the base point).
fn points(n: u64) -> Vec<[u8; 32]> {
    (1..=n)
        .map(|k| {
            RistrettoPoint::mul_base(&Scalar::from(k))
                .compress()
                .to_bytes()
        })
        .collect()
}

fn psi_message(root: &Path) {
    let messages = [
        (
            "blinded",
            Message::Blinded {
                batch: 0,
                points: points(3),
            },
        ),
        (
            "blinded-empty",
            Message::Blinded {
                batch: 7,
                points: vec![],
            },
        ),
        (
            "reblinded",
            Message::Reblinded {
                batch: 1,
                values: (0..48).collect(),
            },
        ),
    ];
    let mut seeds: Vec<(String, Vec<u8>)> = messages
        .iter()
        .map(|(name, m)| ((*name).to_owned(), m.encode()))
        .collect();
    seeds.push(("short-header".to_owned(), vec![1, 0, 0]));
    write(root, "psi_message", &seeds);
}

fn net_frame(root: &Path) {
    let hello = Hello {
        role: Role::Initiator,
        protocol: ECDH_PROTOCOL_ID.into(),
        protocol_params: ECDH_PARAMS.to_vec(),
        mode: "intersection".into(),
        reveal: Reveal::Both,
        id_types: vec!["phone".into(), "email".into()],
        profile: Profile::standard().digest().to_hex(),
        set_size: 1000,
        min_peer_set: 10,
        allowed_modes: vec!["intersection".into(), "cardinality".into()],
        batch_size: 4096,
        nonce: [7; 32],
        implementation: "blindmatch-net/0.1.0".into(),
    };
    let responder = Hello {
        role: Role::Responder,
        mode: "cardinality".into(),
        reveal: Reveal::Responder,
        allowed_modes: vec!["cardinality".into()],
        ..hello.clone()
    };
    let frames = [
        ("hello", Frame::Hello(hello.clone())),
        ("hello-responder", Frame::Hello(responder)),
        (
            "accept",
            Frame::Control(Control::Accept { context: [3; 32] }),
        ),
        (
            "abort",
            Frame::Control(Control::Abort {
                code: AbortCode::PeerSetTooSmall,
                reason: "peer set below the minimum of 10".into(),
            }),
        ),
        (
            "abort-unknown-code",
            Frame::Control(Control::Abort {
                code: AbortCode::Unknown(999),
                reason: String::new(),
            }),
        ),
        (
            "done",
            Frame::Control(Control::Done(DoneSummary {
                frames: 12,
                bytes: 1 << 20,
                stream_hash: [9; 32],
            })),
        ),
        (
            "blinded",
            Frame::Protocol(
                Message::Blinded {
                    batch: 0,
                    points: points(3),
                }
                .encode(),
            ),
        ),
        (
            "reblinded",
            Frame::Protocol(
                Message::Reblinded {
                    batch: 0,
                    values: (0..48).collect(),
                }
                .encode(),
            ),
        ),
        ("protocol-empty", Frame::Protocol(Vec::new())),
    ];
    let mut seeds = Vec::new();
    let mut session = vec![0];
    for (name, frame) in &frames {
        let mut seed = vec![0]; // the 16 KiB session limit
        frame.encode_into(&mut seed).unwrap();
        seeds.push(((*name).to_owned(), seed));
        frame.encode_into(&mut session).unwrap();
    }
    // The whole exchange as one stream, under the 4 MiB limit.
    session[0] = 255;
    seeds.push(("stream".to_owned(), session));
    write(root, "net_frame", &seeds);
}

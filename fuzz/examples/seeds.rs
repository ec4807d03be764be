//! Writes the committed seed corpora, `fuzz/corpus/TARGET/*`, from the published test
//! vectors, the crates' own encoders and a real tokenize run (in a temporary
//! folder), so every seed is a valid (or deliberately almost valid) input; the
//! manifests, token files and receipts among them are checked to audit clean.
//! Deterministic: rerunning rewrites the same files.
//!
//! ```sh
//! cargo run --manifest-path fuzz/Cargo.toml --example seeds
//! ```
//!
//! Keys here are fixed test bytes, never real secrets.
#![allow(clippy::unwrap_used)]

use std::fs;
use std::path::{Path, PathBuf};

use blindmatch_audit::{manifest_findings, receipt_findings, token_file_findings};
use blindmatch_data::dataset::InputSpec;
use blindmatch_data::output::OutputTarget;
use blindmatch_net::frame::{Control, DoneSummary, Hello};
use blindmatch_net::{AbortCode, Fingerprint, Frame, Mode};
use blindmatch_pipeline::receipt::{
    ColumnInfo, FileInfo, InputInfo, LocalInfo, PeerInfo, Receipt, ResultInfo, RuleInfo, TimingsMs,
    Tool, TrafficInfo, TypeProfileInfo,
};
use blindmatch_pipeline::{TokenizeConfig, tokenize};
use blindmatch_psi::curve25519_dalek::{RistrettoPoint, Scalar};
use blindmatch_psi::{ECDH_PARAMS, ECDH_PROTOCOL_ID, Message, Reveal, Role};
use blindmatch_token::{
    CallingCode, Derivation, EmailProviderRules, IdType, Key, KeyFile, KeyPurpose, Profile,
    ShortCoder, Tokenizer, token,
};
use time::OffsetDateTime;

#[path = "../fuzz_targets/shared/both_learn.rs"]
mod both_learn;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    normalize(&root);
    key_file(&root);
    token(&root);
    psi_message(&root);
    psi_result(&root);
    detached_hello(&root);
    rr22_message(&root);
    osn_message(&root);
    net_frame(&root);
    let runs = tokenize_runs();
    csv_input(&root, &runs);
    columnar_input(&root);
    manifest(&root, &runs);
    token_file(&root, &runs);
    receipt(&root);
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
    let index = id_type.index() as u8;
    (index & 7) | region << 3 | u8::from(gmail) << 5 | (index >> 3) << 6
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
        (
            "matches",
            Message::Matches {
                batch: 2,
                bitmap: vec![0b1010_0000, 0b0100_0000],
            },
        ),
        (
            "counts",
            Message::Counts {
                batch: 0,
                counts: vec![20, 5, 0],
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

/// The target's input for these messages: a mode byte (even: intersection, odd:
/// cardinality), then each encoded message behind a one-byte length.
fn result_input(mode: Mode, messages: &[Vec<u8>]) -> Vec<u8> {
    let mut out = vec![u8::from(mode == Mode::Cardinality)];
    for m in messages {
        out.push(u8::try_from(m.len()).expect("short messages"));
        out.extend_from_slice(m);
    }
    out
}

/// The honest result of `psi_result`'s session in each mode, and a few that break
/// one check each.
fn psi_result(root: &Path) {
    let mut seeds = Vec::new();
    for (name, mode) in [
        ("intersection", Mode::Intersection),
        ("cardinality", Mode::Cardinality),
    ] {
        let (_, result) = both_learn::held_back(mode);
        let encoded: Vec<Vec<u8>> = result.iter().map(Message::encode).collect();
        seeds.push((format!("{name}-honest"), result_input(mode, &encoded)));
        let mut bad = encoded.clone();
        match mode {
            // A bit in the padding of the last batch (the initiator's 8 items in
            // batches of 3: the last has 2, so bits 2..8 of its one byte are clear).
            Mode::Intersection => {
                let last = bad.last_mut().unwrap();
                last[5] |= 0x01;
            }
            // The last byte of the first count: more than a group holds.
            _ => bad[0][8] = 0xFF,
        }
        seeds.push((format!("{name}-inconsistent"), result_input(mode, &bad)));
    }
    write(root, "psi_result", &seeds);
}

/// Hellos of the transport-free API (`blindmatch_pipeline::detached`): a
/// responder's that the target's initiator accepts, and ones it refuses.
fn detached_hello(root: &Path) {
    use blindmatch_pipeline::detached::{DetachedOptions, DetachedParty};
    use blindmatch_psi::{EcdhSetup, Mode, PreparedSet, Reveal, Role};
    let hello = |role: Role, mode: Mode| {
        let set = PreparedSet::from_items(
            ["+8613800138000", "+8613900139000", "+8613700137000"]
                .iter()
                .enumerate()
                .map(|(i, v)| ("phone", v.as_bytes(), i as u64)),
        )
        .unwrap();
        let options = DetachedOptions {
            role,
            mode,
            reveal: Reveal::Both,
            batch_size: 16,
            min_peer_set: 1,
            max_peer_set: 1_000,
        };
        DetachedParty::new(Box::new(EcdhSetup::new(set)), options, [3; 32])
            .unwrap()
            .hello()
            .to_vec()
    };
    let seeds = vec![
        (
            "responder".to_owned(),
            hello(Role::Responder, Mode::Intersection),
        ),
        (
            "same-role".to_owned(),
            hello(Role::Initiator, Mode::Intersection),
        ),
        (
            "cardinality".to_owned(),
            hello(Role::Responder, Mode::Cardinality),
        ),
        ("not-json".to_owned(), b"{\"version\":1,".to_vec()),
    ];
    write(root, "detached_hello", &seeds);
}

/// Every kind of message of honest `vole-rr22-silent` sessions, intersection and
/// cardinality, between two tiny sets (the parties of the `rr22_message` target),
/// the first few of each kind, plus near misses.
fn rr22_message(root: &Path) {
    use blindmatch_psi::protocol::Protocol;
    use blindmatch_psi::rr22::Rr22Setup;
    use blindmatch_psi::{PreparedSet, SessionConfig};
    let party = |role, values: [&[u8]; 2], mode| -> Box<dyn Protocol> {
        let set =
            PreparedSet::from_items([("phone", values[0], 0), ("phone", values[1], 1)]).unwrap();
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
    };
    let mut seeds = Vec::new();
    let mut per_kind = std::collections::BTreeMap::<u8, usize>::new();
    let mut keep = |who: &str, payload: Vec<u8>, seeds: &mut Vec<(String, Vec<u8>)>| {
        let n = per_kind.entry(payload[0]).or_default();
        *n += 1;
        if *n <= 2 {
            seeds.push((
                format!("{who}-{:03}-kind-{:02x}", seeds.len(), payload[0]),
                payload,
            ));
        }
    };
    for mode in [Mode::Intersection, Mode::Cardinality] {
        let mut a = party(Role::Initiator, [b"1", b"2"], mode);
        let mut b = party(Role::Responder, [b"2", b"3"], mode);
        while !(a.is_finished() && b.is_finished()) {
            while let Some(m) = a.poll_transmit() {
                b.handle(&m.payload).unwrap();
                keep("receiver", m.payload, &mut seeds);
            }
            while let Some(m) = b.poll_transmit() {
                a.handle(&m.payload).unwrap();
                keep("sender", m.payload, &mut seeds);
            }
        }
    }
    seeds.push(("short-header".to_owned(), vec![0x31, 0, 0]));
    seeds.push(("trees-odd".to_owned(), vec![0x34, 0, 0, 0, 0, 1, 2, 3]));
    seeds.push((
        "matched-odd".to_owned(),
        vec![0x37, 0, 0, 0, 0, 0, 0, 0, 1, 7],
    ));
    write(root, "rr22_message", &seeds);
}

/// Every payload of an honest oblivious shuffle between the parties of the
/// `osn_message` target, plus near misses.
fn osn_message(root: &Path) {
    use blindmatch_psi::osn_fuzz;
    let (mut r, mut s) = osn_fuzz::parties(1);
    let mut seeds = Vec::new();
    while !(r.is_done() && s.is_done()) {
        while let Some(p) = s.poll() {
            r.handle(&p).unwrap();
            seeds.push((format!("permuter-{:03}-tag-{:02x}", seeds.len(), p[0]), p));
        }
        while let Some(p) = r.poll() {
            s.handle(&p).unwrap();
            seeds.push((format!("holder-{:03}-tag-{:02x}", seeds.len(), p[0]), p));
        }
    }
    seeds.push(("short-header".to_owned(), vec![0x51, 0, 0]));
    seeds.push(("inputs-odd".to_owned(), vec![0x53, 0, 0, 0, 0, 1, 2]));
    seeds.push(("corrections-ahead".to_owned(), vec![0x55, 0, 0, 0, 1, 1]));
    write(root, "osn_message", &seeds);
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
        type_sizes: vec![600, 400],
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
        (
            "matches",
            Frame::Protocol(
                Message::Matches {
                    batch: 0,
                    bitmap: vec![0x80],
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

/// The files of one real tokenize run: the input, the token file and its manifest.
struct Run {
    name: &'static str,
    input: Vec<u8>,
    tokens: Vec<u8>,
    manifest: Vec<u8>,
}

/// A tokenize run's options, as `blindmatch tokenize` takes them.
struct RunSpec {
    name: &'static str,
    input: &'static str,
    columns: &'static [&'static str],
    keep: &'static [&'static str],
    short_codes: &'static [&'static str],
    previous_key: bool,
    rejects: bool,
    token_bytes: usize,
}

const CUSTOMERS: &str = "customer_id,phone,email,notes\n\
1,138 1234 5678,Alice@Example.com,vip\n\
2,+86 139-0000-1111,bob@example.cn,\n\
3,12345,not-an-email,\"two\nlines\"\n\
4,,carol@example.org,x\n\
5,13800138000,,\n";

/// Runs the real tokenize pipeline in a temporary folder, with relative paths
/// (recorded as given) and fixed test keys, so that only the timestamps vary
/// from run to run; they are then set to fixed values in place.
fn tokenize_runs() -> Vec<Run> {
    let specs = [
        RunSpec {
            name: "full",
            input: CUSTOMERS,
            columns: &["phone:phone", "email:email"],
            keep: &["customer_id"],
            short_codes: &["phone"],
            previous_key: true,
            rejects: true,
            token_bytes: token::FULL_LEN,
        },
        RunSpec {
            name: "minimal",
            input: "email\na@b.cn\n\nc@d.cn\n",
            columns: &["email:email"],
            keep: &[],
            short_codes: &[],
            previous_key: false,
            rejects: false,
            token_bytes: 16,
        },
    ];
    let dir = tempfile::tempdir().unwrap();
    let back = std::env::current_dir().unwrap();
    std::env::set_current_dir(dir.path()).unwrap();
    let key = |name: &str, byte: u8| {
        let file = KeyFile::new(
            Key::from_bytes([byte; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            created(),
        );
        file.write_new(Path::new(name)).unwrap();
        PathBuf::from(name)
    };
    let current = key("current.key", 0x21);
    let previous = key("previous.key", 0x12);
    let runs = specs
        .iter()
        .map(|spec| {
            let input = format!("{}.csv", spec.name);
            let output = format!("{}.tokens.csv", spec.name);
            fs::write(&input, spec.input).unwrap();
            let strings = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
            let config = TokenizeConfig {
                input: InputSpec::parse(
                    Path::new(&input),
                    &strings(spec.columns),
                    &strings(spec.keep),
                    ",",
                )
                .unwrap(),
                profile: Profile::default(),
                key: Some(current.clone()),
                previous_key: spec.previous_key.then(|| previous.clone()),
                output: OutputTarget::File(PathBuf::from(&output)),
                manifest: None,
                short_code_registry: None,
                rejects: spec
                    .rejects
                    .then(|| PathBuf::from(format!("{}.rejects.csv", spec.name))),
                max_reject_rate: Some(0.9),
                short_codes: strings(spec.short_codes),
                short_code_len: ShortCoder::DEFAULT_LEN,
                token_bytes: spec.token_bytes,
                overwrite: false,
                threads: Some(1),
                passthrough: false,
            };
            let summary = tokenize(&config, &blindmatch_data::Silent).unwrap();
            summary.check().unwrap();
            let manifest = fs::read_to_string(format!("{output}.manifest.json")).unwrap();
            let manifest = fixed_times(&manifest).into_bytes();
            let run = Run {
                name: spec.name,
                input: spec.input.as_bytes().to_vec(),
                tokens: fs::read(&output).unwrap(),
                manifest,
            };
            // What the pipeline wrote reads back clean.
            let findings = manifest_findings(&run.manifest, Path::new("m.json")).unwrap();
            assert!(findings.is_empty(), "{}: {findings:?}", spec.name);
            let findings = token_file_findings(
                Box::new(std::io::Cursor::new(run.tokens.clone())),
                Path::new(&output),
                Some((Path::new("m.json"), &run.manifest)),
                b',',
                20,
            )
            .unwrap();
            assert!(findings.is_empty(), "{}: {findings:?}", spec.name);
            run
        })
        .collect();
    std::env::set_current_dir(back).unwrap();
    runs
}

/// The manifest with its times set to fixed values, in place.
fn fixed_times(manifest: &str) -> String {
    let fields = [
        ("\"started_at\": \"", "2026-11-22T10:00:00.125Z", "\""),
        ("\"finished_at\": \"", "2026-11-22T10:00:00.375Z", "\""),
        ("\"elapsed_seconds\": ", "0.25", "\n"),
    ];
    let mut text = manifest.to_owned();
    for (start, value, end) in fields {
        let from = text.find(start).unwrap() + start.len();
        let to = from + text[from..].find(end).unwrap();
        text.replace_range(from..to, value);
    }
    text
}

/// The first byte of a `csv_input` seed: comma, every column checked for UTF-8,
/// hashed, read whole and by `step` bytes, then again with `finish()` alone.
fn csv_selector(delimiter: u8, step: u8) -> u8 {
    let d = match delimiter {
        b',' => 0,
        b';' => 1,
        b'\t' => 2,
        b'|' => 3,
        other => panic!("the csv_input target has no delimiter {other}"),
    };
    d | step << 2 | 0x20 | 0x80
}

fn with_selector(selector: u8, bytes: &[u8]) -> Vec<u8> {
    let mut seed = vec![selector];
    seed.extend_from_slice(bytes);
    seed
}

/// The real inputs and token files, other delimiters, and the reader's edge cases.
fn csv_input(root: &Path, runs: &[Run]) {
    let mut seeds = Vec::new();
    for run in runs {
        seeds.push((
            format!("{}-input", run.name),
            with_selector(csv_selector(b',', 0), &run.input),
        ));
        seeds.push((
            format!("{}-tokens", run.name),
            with_selector(csv_selector(b',', 3), &run.tokens),
        ));
    }
    let cases: [(&str, u8, &[u8]); 11] = [
        ("semicolon", b';', b"id;phone\n1;138\n2;\"13;9\"\n"),
        ("tab", b'\t', b"id\tphone\n1\t138\n"),
        ("pipe", b'|', b"id|phone\n1|138\n"),
        (
            "crlf-bom-blank",
            b',',
            b"\xef\xbb\xbfid,phone\r\n1,a\r\n\r\n2,b\r\n",
        ),
        (
            "quoted-newlines",
            b',',
            b"id,phone\n1,138\n\n2,\"13\n9\"\n3,x",
        ),
        ("open-quote", b',', b"a,b\n1,2\n3,\"4\n5,6\n"),
        ("ragged", b',', b"a,b\n1,2\n3\n"),
        ("not-utf8", b',', b"id,phone\n1,ok\n2,\xff\xfe\n"),
        ("header-not-utf8", b',', b"id,\xff\n1,2\n"),
        ("cr-only", b',', b"a,b\r1,2\r3,4"),
        ("empty", b',', b"\n\r\n"),
    ];
    for (name, delimiter, bytes) in cases {
        seeds.push((
            name.to_owned(),
            with_selector(csv_selector(delimiter, 1), bytes),
        ));
    }
    write(root, "csv_input", &seeds);
}

/// Small Parquet (uncompressed, Snappy, zstd, LZ4) and Arrow IPC files with text,
/// nulls, integers, floats and dates, for the `columnar_input` target (selector:
/// bit 0 Arrow, bit 1 decode the first column only).
fn columnar_input(root: &Path) {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray};
    use arrow_schema::{DataType, Field, Schema};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    let schema = Arc::new(Schema::new(vec![
        Field::new("phone", DataType::Utf8, true),
        Field::new("member_no", DataType::Int64, true),
        Field::new("score", DataType::Float64, true),
        Field::new("since", DataType::Date32, true),
    ]));
    let columns: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(vec![
            Some("+86 138 1234 5678"),
            None,
            Some(""),
        ])),
        Arc::new(Int64Array::from(vec![Some(1), None, Some(-3)])),
        Arc::new(Float64Array::from(vec![Some(0.5), Some(-1e300), None])),
        Arc::new(Date32Array::from(vec![Some(19_000), None, Some(0)])),
    ];
    let batch = RecordBatch::try_new(schema.clone(), columns).unwrap();
    let mut seeds = Vec::new();
    for (name, codec) in [
        ("plain", Compression::UNCOMPRESSED),
        ("snappy", Compression::SNAPPY),
        ("zstd", Compression::ZSTD(ZstdLevel::default())),
        ("lz4", Compression::LZ4_RAW),
    ] {
        let properties = WriterProperties::builder().set_compression(codec).build();
        let mut bytes = Vec::new();
        let mut writer =
            ArrowWriter::try_new(&mut bytes, schema.clone(), Some(properties)).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
        seeds.push((format!("parquet-{name}"), with_selector(0, &bytes)));
        seeds.push((
            format!("parquet-{name}-first-column"),
            with_selector(2, &bytes),
        ));
    }
    let mut bytes = Vec::new();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(&mut bytes, &schema).unwrap();
    writer.write(&batch).unwrap();
    writer.finish().unwrap();
    drop(writer);
    seeds.push(("arrow".to_owned(), with_selector(1, &bytes)));
    seeds.push(("arrow-first-column".to_owned(), with_selector(3, &bytes)));
    write(root, "columnar_input", &seeds);
}

/// Real manifests, and near misses: another version or format, a damaged field,
/// raw identifiers where names belong.
fn manifest(root: &Path, runs: &[Run]) {
    let mut seeds: Vec<(String, Vec<u8>)> = runs
        .iter()
        .map(|run| (run.name.to_owned(), run.manifest.clone()))
        .collect();
    let full = String::from_utf8(runs[0].manifest.clone()).unwrap();
    let edits: [(&str, &str, &str); 6] = [
        ("version-2", "\"version\": 1", "\"version\": 2"),
        ("other-format", "blindmatch-manifest", "blindmatch-receipt"),
        (
            "command-phone",
            "\"command\": \"tokenize\"",
            "\"command\": \"+86 138 1234 5678\"",
        ),
        (
            "input-email",
            "\"input\": \"email\"",
            "\"input\": \"alice@example.com\"",
        ),
        (
            "reject-key-phone",
            "\"rejects\": {",
            "\"rejects\": {\"13812345678\": \"x\", ",
        ),
        ("rows-string", "\"read\": 5", "\"read\": \"5\""),
    ];
    for (name, from, to) in edits {
        assert!(full.contains(from), "{name}: {from}");
        seeds.push((name.to_owned(), full.replacen(from, to, 1).into_bytes()));
    }
    seeds.push((
        "truncated".to_owned(),
        full.as_bytes()[..full.len() / 2].to_vec(),
    ));
    write(root, "manifest", &seeds);
}

/// Real token files with and without their manifests, and files holding raw
/// identifiers or malformed tokens.
fn token_file(root: &Path, runs: &[Run]) {
    const WITH_MANIFEST: u8 = 0x10;
    const ROWS_3: u8 = 2 << 2;
    let mut seeds = Vec::new();
    for run in runs {
        let mut paired = vec![WITH_MANIFEST | ROWS_3];
        paired.extend_from_slice(&run.manifest);
        paired.push(0);
        paired.extend_from_slice(&run.tokens);
        seeds.push((format!("{}-with-manifest", run.name), paired));
        seeds.push((
            format!("{}-alone", run.name),
            with_selector(ROWS_3, &run.tokens),
        ));
    }
    let tokens = String::from_utf8(runs[0].tokens.clone()).unwrap();
    let second = tokens.lines().nth(1).unwrap();
    let first_token = second.split(',').nth(1).unwrap();
    let leaked = format!(
        "{}\n{}\n",
        tokens.trim_end(),
        second.replacen(first_token, "13812345678", 1)
    );
    seeds.push((
        "raw-phone".to_owned(),
        with_selector(ROWS_3, leaked.as_bytes()),
    ));
    let cut = &first_token[..first_token.len() - 2];
    let malformed = tokens.replacen(first_token, cut, 1);
    seeds.push((
        "short-token".to_owned(),
        with_selector(1 << 2, malformed.as_bytes()),
    ));
    seeds.push((
        "identifiers".to_owned(),
        with_selector(
            3 << 2,
            b"id,contact\n1,call 13800138000 now\n2,a@b.cn\n3,11010519491231002X\n4,91350100M000100Y43\n",
        ),
    ));
    write(root, "token_file", &seeds);
}

/// A pair of receipts of one session, built as the match pipeline builds them
/// (`blindmatch_pipeline::receipt`), and near misses.
fn receipt(root: &Path) {
    let profile = Profile::default();
    let fa = Fingerprint::from_bytes([0xaa; 32]);
    let fb = Fingerprint::from_bytes([0xbb; 32]);
    let side = |role: Role| {
        let initiator = role == Role::Initiator;
        let (local, peer) = if initiator { (80, 100) } else { (100, 80) };
        let (sent, received) = if initiator {
            (1000, 2000)
        } else {
            (2000, 1000)
        };
        let (frames_sent, frames_received) = if initiator { (5, 6) } else { (6, 5) };
        Receipt {
            format: blindmatch_pipeline::receipt::FORMAT,
            version: blindmatch_pipeline::receipt::VERSION,
            tool: Tool::current(),
            protocol_version: 2,
            psi_protocol: ECDH_PROTOCOL_ID.to_owned(),
            session_id: "11".repeat(16),
            transcript_hash: "22".repeat(32),
            started_at: "2026-11-22T10:00:00Z".to_owned(),
            finished_at: "2026-11-22T10:00:05Z".to_owned(),
            mode: Mode::Intersection,
            reveal: Reveal::Both,
            id_type: "phone".to_owned(),
            rules: vec![RuleInfo {
                rule: "phone".to_owned(),
                columns: vec!["phone".to_owned()],
                local_size: local,
                peer_size: Some(peer),
                matched_values: Some(30),
                matched_rows: Some(31),
            }],
            profile: TypeProfileInfo::new(&profile, IdType::Phone),
            batch_size: 4096,
            comparison_bytes: 8,
            local: LocalInfo {
                role,
                network_role: if initiator { "connector" } else { "listener" },
                fingerprint: Some(if initiator { fa } else { fb }),
                declared_size: local,
                input: InputInfo {
                    path: if initiator { "a.csv" } else { "b.csv" }.to_owned(),
                    format: "csv".to_owned(),
                    sha256: "44".repeat(32),
                    rows: local + 10,
                    bytes: 900,
                    column: "phone".to_owned(),
                    columns: vec![ColumnInfo {
                        column: "phone".to_owned(),
                        id_type: "phone".to_owned(),
                        values: local + 5,
                        empty: 3,
                        rejected: 2,
                        rejects: [("too_short", 2)].into_iter().collect(),
                    }],
                    values: local + 5,
                    empty: 3,
                    rejected: 2,
                    rejects: [("too_short", 2)].into_iter().collect(),
                },
                learns: true,
            },
            peer: PeerInfo {
                role: role.peer(),
                fingerprint: Some(if initiator { fb } else { fa }),
                declared_size: peer,
                min_peer_set: 10,
                address: Some("203.0.113.7:52144".to_owned()),
                implementation: "blindmatch-net/0.1.0".to_owned(),
            },
            result: ResultInfo {
                matched_rows: Some(31),
                matched_values: Some(30),
                cardinality: Some(30),
            },
            output: Some(FileInfo {
                path: if initiator { "a.out.csv" } else { "b.out.csv" }.to_owned(),
                sha256: "55".repeat(32),
                bytes: 10,
                format: Some("csv".to_owned()),
            }),
            traffic: TrafficInfo {
                bytes_sent: sent,
                bytes_received: received,
                frames_sent,
                frames_received,
                wire_bytes_sent: Some(sent + 400),
                wire_bytes_received: None,
            },
            timings_ms: TimingsMs::default(),
            labels: None,
            partition: None,
        }
    };
    let a = side(Role::Initiator).to_json().unwrap();
    let b = side(Role::Responder).to_json().unwrap();
    let findings = receipt_findings(&a, Path::new("a.json"), &b, Path::new("b.json")).unwrap();
    assert!(findings.is_empty(), "{findings:?}");
    let pair = |a: &[u8], b: &[u8]| [a, &[0], b].concat();
    let text = String::from_utf8(b.clone()).unwrap();
    let edit = |from: &str, to: &str| {
        assert!(text.contains(from), "{from}");
        text.replacen(from, to, 1).into_bytes()
    };
    let seeds = vec![
        ("pair".to_owned(), pair(&a, &b)),
        ("alone".to_owned(), a.clone()),
        (
            "other-session".to_owned(),
            pair(&a, &edit("\"1111", "\"2111")),
        ),
        (
            "role-phone".to_owned(),
            pair(
                &a,
                &edit("\"role\": \"responder\"", "\"role\": \"13812345678\""),
            ),
        ),
        (
            "reject-key-email".to_owned(),
            pair(&a, &edit("\"too_short\"", "\"bob@example.cn\"")),
        ),
        (
            "version-3".to_owned(),
            pair(&a, &edit("\"version\": 2", "\"version\": 3")),
        ),
        ("not-json".to_owned(), pair(&a, &b[..b.len() / 3])),
    ];
    write(root, "receipt", &seeds);
}

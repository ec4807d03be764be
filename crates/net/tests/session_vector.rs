//! Replays `docs/test-vectors/session.json` (written by `tests/vectors/gen_session.py`)
//! through the real code: the derived values from the fixed seeds, every frame
//! decoded and re-encoded, the context, session ID, `Done` summaries, stream hashes
//! and transcript from the frames, two parties driven in the vector's schedule, and
//! then both sides of a whole session over in-memory pipes
//! (`run_plaintext_session_for_test_vectors`: `run_session` with the hello nonce
//! fixed), whose bytes in each direction must be the vector's.
#![allow(clippy::unwrap_used, missing_docs)]

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use blindmatch_net::frame::{Control, DoneSummary, Frame};
use blindmatch_net::{
    ChannelBinding, FixedHelloForTestVectors, MatchResult, Mode, Policy, PreparedSet, Protocol,
    ProtocolSetup, Reveal, Role, SessionOptions, SessionParams, SessionReport, decode_frame,
    run_plaintext_session_for_test_vectors, session_context, session_id,
};
use blindmatch_psi::curve25519_dalek::Scalar;
use blindmatch_psi::{EcdhSetup, Message, Party, PsiError, SessionConfig, TypeGroup};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng, TryCryptoRng, TryRng};
use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};
use tokio::sync::watch;

const TEST_LIMIT: Duration = Duration::from_secs(60);

fn vector() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/test-vectors/session.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string {key}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("missing number {key}"))
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(s(v, key)).unwrap()
}

fn array<const N: usize>(v: &Value, key: &str) -> [u8; N] {
    bytes(v, key).try_into().unwrap()
}

fn names(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_owned())
        .collect()
}

const ROLES: [Role; 2] = [Role::Initiator, Role::Responder];

fn side(v: &Value, role: Role) -> &Value {
    match role {
        Role::Initiator => &v["initiator"],
        Role::Responder => &v["responder"],
    }
}

/// The frames one role wrote, in order.
fn frames(v: &Value, role: Role) -> Vec<Vec<u8>> {
    let key = match role {
        Role::Initiator => "initiator_to_responder",
        Role::Responder => "responder_to_initiator",
    };
    v[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| bytes(f, "hex"))
        .collect()
}

fn prepared(side: &Value) -> PreparedSet {
    let items = side["items"].as_array().unwrap();
    PreparedSet::from_items(
        items
            .iter()
            .map(|i| (s(i, "id_type"), s(i, "value").as_bytes(), u(i, "row"))),
    )
    .unwrap()
}

fn params(v: &Value, role: Role) -> SessionParams {
    let shared = &v["parameters"];
    let hello = &side(v, role)["hello"];
    let mut p = SessionParams::new(
        Mode::from_name(s(shared, "mode")).unwrap(),
        Reveal::Both,
        names(&shared["id_types"]),
        s(shared, "profile").to_owned(),
    );
    assert_eq!(s(shared, "reveal"), "both");
    p.batch_size = u(hello, "batch_size") as u32;
    p.policy = Policy {
        min_peer_set: u(hello, "min_peer_set"),
        allowed_modes: names(&hello["allowed_modes"])
            .iter()
            .map(|m| Mode::from_name(m).unwrap())
            .collect(),
        ..Policy::default()
    };
    p
}

/// Hands out fixed bytes as its random output: a party's 96 seed bytes.
struct Replay(Vec<u8>);

impl TryRng for Replay {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        let mut b = [0u8; 4];
        self.try_fill_bytes(&mut b)?;
        Ok(u32::from_le_bytes(b))
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        let mut b = [0u8; 8];
        self.try_fill_bytes(&mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        assert!(
            dst.len() <= self.0.len(),
            "the party wanted more than its seed"
        );
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl TryCryptoRng for Replay {}

/// The ECDH protocol exactly as [`EcdhSetup`] offers it, except that the party takes
/// its 96 random bytes from the vector instead of the OS generator.
struct SeededEcdh {
    offer: EcdhSetup,
    set: PreparedSet,
    seed: Vec<u8>,
}

impl SeededEcdh {
    fn of(side: &Value) -> Box<dyn ProtocolSetup> {
        Box::new(SeededEcdh {
            offer: EcdhSetup::new(prepared(side)),
            set: prepared(side),
            seed: bytes(side, "party_seed"),
        })
    }
}

impl ProtocolSetup for SeededEcdh {
    fn id(&self) -> &'static str {
        self.offer.id()
    }

    fn params(&self) -> Vec<u8> {
        self.offer.params()
    }

    fn declared_size(&self) -> u64 {
        self.offer.declared_size()
    }

    fn identifier_types(&self) -> Vec<String> {
        self.offer.identifier_types()
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        self.offer.type_sizes()
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        self.offer.max_message_len(batch_size)
    }

    fn start(self: Box<Self>, config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        let party = Party::with_rng(config, self.set, &mut Replay(self.seed))?;
        Ok(Box::new(party))
    }
}

fn stream_hash(frames: &[Vec<u8>]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"blindmatch/v1/net/stream");
    for f in frames {
        h.update(f);
    }
    h.finalize().into()
}

/// What the seeds give, as `party_seed_rule` says: the scalar from bytes 0..64, and
/// from bytes 64..96 (rand's StdRng) 32 bytes of shuffle seed, then the order.
#[test]
fn seeds_give_the_scalars_and_orders() {
    let v = vector();
    for role in ROLES {
        let side = side(&v, role);
        let seed = bytes(side, "party_seed");
        assert_eq!(seed.len(), 96);
        let wide: [u8; 64] = seed[..64].try_into().unwrap();
        let scalar = Scalar::from_bytes_mod_order_wide(&wide);
        assert_eq!(hex::encode(scalar.as_bytes()), s(side, "scalar"));
        assert_eq!(seed[64..], bytes(side, "order_seed"));

        let mut rng = StdRng::from_seed(seed[64..].try_into().unwrap());
        let mut shuffle_seed = [0u8; 32];
        rng.fill_bytes(&mut shuffle_seed);
        let n = prepared(side).declared_size() as u32;
        // Grouped by the hello's type order, each group shuffled in turn.
        let types = names(&v["parameters"]["id_types"]);
        let items = side["elements"].as_array().unwrap();
        let mut order: Vec<u32> = Vec::new();
        for t in &types {
            let mut group: Vec<u32> = (0..n)
                .filter(|&i| s(&items[i as usize], "id_type") == t)
                .collect();
            group.shuffle(&mut rng);
            order.extend(group);
        }
        let listed: Vec<u32> = side["sending_order"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(
            order, listed,
            "{role:?}: sending_order (update SENDING_ORDER in gen_session.py)"
        );
        assert_eq!(u(&side["hello"], "set_size"), u64::from(n));
    }
}

/// Every frame decodes and re-encodes to its bytes; the context, session ID, `Done`
/// summaries, stream hashes and transcript follow from the frames as
/// `docs/protocol.md` says.
#[test]
fn frames_context_and_hashes() {
    let v = vector();
    let hellos: Vec<Vec<u8>> = ROLES.map(|r| frames(&v, r)[0].clone()).to_vec();
    let context = session_context(&hellos[0], &hellos[1], &ChannelBinding::Plaintext);
    // The same by the formula.
    let mut h = Sha256::new();
    h.update(b"blindmatch/v1/net/session-context");
    for part in [&hellos[0][..], &hellos[1][..], b"plaintext"] {
        h.update((part.len() as u32).to_be_bytes());
        h.update(part);
    }
    assert_eq!(<[u8; 32]>::from(h.finalize()), context);
    assert_eq!(hex::encode(context), s(&v, "context"));
    assert_eq!(session_id(&context), s(&v, "session_id"));

    let mut hashes = Vec::new();
    for role in ROLES {
        let side = side(&v, role);
        let all = frames(&v, role);
        let mut decoded = Vec::new();
        for raw in &all {
            let (frame, used) = decode_frame(raw).unwrap().unwrap();
            assert_eq!(used, raw.len());
            assert_eq!(&frame.encode().unwrap(), raw);
            decoded.push(frame);
        }
        let Frame::Hello(hello) = &decoded[0] else {
            panic!("{role:?}: the first frame is no hello");
        };
        let want = &side["hello"];
        assert_eq!(hello.role, role);
        assert_eq!(hello.nonce, array::<32>(want, "nonce"));
        assert_eq!(hello.implementation, s(want, "implementation"));
        assert_eq!(hello.set_size, u(want, "set_size"));
        assert_eq!(hello.batch_size, u(want, "batch_size") as u32);
        assert_eq!(
            decoded[1],
            Frame::Control(Control::Accept { context }),
            "{role:?}"
        );
        let (done, before) = all.split_last().unwrap();
        let summary = DoneSummary {
            frames: before.len() as u64,
            bytes: before.iter().map(|f| f.len() as u64).sum(),
            stream_hash: stream_hash(before),
        };
        let want = &side["done"];
        assert_eq!(summary.frames, u(want, "frames"));
        assert_eq!(summary.bytes, u(want, "bytes"));
        assert_eq!(hex::encode(summary.stream_hash), s(want, "stream_hash"));
        assert_eq!(
            decode_frame(done).unwrap().unwrap().0,
            Frame::Control(Control::Done(summary))
        );
        hashes.push(stream_hash(&all));
    }
    let stream = &v["stream_hashes"];
    assert_eq!(hex::encode(hashes[0]), s(stream, "initiator_to_responder"));
    assert_eq!(hex::encode(hashes[1]), s(stream, "responder_to_initiator"));
    let transcript: [u8; 32] = Sha256::new()
        .chain_update(b"blindmatch/v1/net/transcript")
        .chain_update(hashes[0])
        .chain_update(hashes[1])
        .finalize()
        .into();
    assert_eq!(hex::encode(transcript), s(&v, "transcript_hash"));
}

/// The two parties alone, in the vector's schedule: each sends all its `Blinded`
/// batches, the second learner answers the first's, the first sends its `Matches`;
/// their messages are the protocol frames' payloads and their outcomes the listed
/// matches.
#[test]
fn parties_send_the_protocol_frames() {
    let v = vector();
    let context = array::<32>(&v, "context");
    let shared = &v["parameters"];
    let sizes = ROLES.map(|r| prepared(side(&v, r)).declared_size());
    let mut parties = ROLES.map(|role| {
        let (local, peer) = match role {
            Role::Initiator => (sizes[0], sizes[1]),
            Role::Responder => (sizes[1], sizes[0]),
        };
        let config = SessionConfig {
            role,
            mode: Mode::Intersection,
            reveal: Reveal::Both,
            batch_size: u(shared, "batch_size") as u32,
            context,
            local_count: local,
            peer_count: peer,
            // The hellos' sizes per type, in the agreed type order.
            groups: names(&shared["id_types"])
                .into_iter()
                .enumerate()
                .map(|(i, id_type)| {
                    let of = |r: Role| side(&v, r)["hello"]["type_sizes"][i].as_u64().unwrap();
                    TypeGroup {
                        id_type,
                        local: of(role),
                        peer: of(role.peer()),
                    }
                })
                .collect(),
            peer_params: Vec::new(),
        };
        assert_eq!(config.comparison_len() as u64, u(shared, "comparison_len"));
        let side = side(&v, role);
        Party::with_rng(
            config,
            prepared(side),
            &mut Replay(bytes(side, "party_seed")),
        )
        .unwrap()
    });
    let mut sent: [Vec<Message>; 2] = [Vec::new(), Vec::new()];
    for (party, out) in parties.iter_mut().zip(&mut sent) {
        while let Some(m) = party.poll_transmit() {
            out.push(m);
        }
    }
    // Each kind is delivered both ways before the next: Blinded batches, then the
    // second learner's Reblinded answers, then the first learner's Matches (which it
    // hands out once it has every answer).
    let kinds: [fn(&Message) -> bool; 3] = [
        |m| matches!(m, Message::Blinded { .. }),
        |m| matches!(m, Message::Reblinded { .. }),
        |m| matches!(m, Message::Matches { .. }),
    ];
    for is_kind in kinds {
        for (to, from) in [(0, 1), (1, 0)] {
            for m in sent[from].clone() {
                if is_kind(&m) {
                    parties[to].handle(m).unwrap();
                    while let Some(answer) = parties[to].poll_transmit() {
                        sent[to].push(answer);
                    }
                }
            }
        }
    }
    let [a, b] = parties;
    for ((role, party), messages) in ROLES.into_iter().zip([a, b]).zip(&sent) {
        let all = frames(&v, role);
        let protocol: Vec<Vec<u8>> = all[2..all.len() - 1]
            .iter()
            .map(|raw| match decode_frame(raw).unwrap().unwrap().0 {
                Frame::Protocol(payload) => payload,
                other => panic!("{role:?}: {} among the protocol frames", other.kind_name()),
            })
            .collect();
        let encoded: Vec<Vec<u8>> = messages.iter().map(Message::encode).collect();
        assert_eq!(encoded, protocol, "{role:?}");
        assert!(party.is_finished());
        let outcome = party.finish().unwrap();
        check_matches(&v, role, &outcome.result);
    }
}

fn check_matches(v: &Value, role: Role, result: &MatchResult) {
    let side = side(v, role);
    let MatchResult::Intersection { matched, matches } = result else {
        panic!("{role:?}: not an intersection result");
    };
    assert_eq!(*matched, u(side, "matched"), "{role:?}");
    let got: Vec<(u64, String)> = matches
        .iter()
        .map(|m| (m.row, m.match_id.to_string()))
        .collect();
    let want: Vec<(u64, String)> = side["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (u(m, "row"), s(m, "match_id").to_owned()))
        .collect();
    assert_eq!(got, want, "{role:?}");
}

/// Frames one direction carried, recorded by the relay.
type Recorded = Arc<Mutex<Vec<Vec<u8>>>>;

/// When the relay lets protocol frames through: once both sides have written all
/// their `Blinded` batches.
struct Gate {
    reached: Mutex<[bool; 2]>,
    open: watch::Sender<bool>,
}

/// One direction of the relay.
struct Direction {
    /// 0 from the initiator, 1 from the responder.
    index: usize,
    /// Frames that pass at once: the hello and the Accept.
    handshake: usize,
    /// Frames up to and including this side's last `Blinded` batch.
    blinded_end: usize,
    recorded: Recorded,
}

/// Carries one direction from `from` to `to` frame by frame, recording each. The
/// handshake passes at once; later frames are held until the gate opens, which makes
/// the session follow the vector's schedule ("frame_order").
async fn relay(
    mut from: tokio::io::ReadHalf<DuplexStream>,
    mut to: tokio::io::WriteHalf<DuplexStream>,
    dir: Direction,
    gate: Arc<Gate>,
) {
    let mut open = gate.open.subscribe();
    let mut buf = Vec::new();
    let mut held: Vec<Vec<u8>> = Vec::new();
    let mut chunk = vec![0u8; 64 << 10];
    loop {
        let is_open = *open.borrow_and_update();
        if is_open {
            for f in held.drain(..) {
                to.write_all(&f).await.unwrap();
            }
        }
        let read = tokio::select! {
            read = from.read(&mut chunk) => Some(read.unwrap()),
            _ = open.changed(), if !is_open => None,
        };
        let Some(n) = read else {
            continue;
        };
        if n == 0 {
            assert!(held.is_empty(), "a side closed with frames held back");
            to.shutdown().await.unwrap();
            return;
        }
        buf.extend_from_slice(&chunk[..n]);
        while let Some((_, used)) = decode_frame(&buf).unwrap() {
            let raw: Vec<u8> = buf.drain(..used).collect();
            let count = {
                let mut r = dir.recorded.lock().unwrap();
                r.push(raw.clone());
                r.len()
            };
            if count <= dir.handshake || *open.borrow() {
                to.write_all(&raw).await.unwrap();
            } else {
                held.push(raw);
            }
            if count == dir.blinded_end {
                let mut reached = gate.reached.lock().unwrap();
                reached[dir.index] = true;
                if reached.iter().all(|&r| r) {
                    gate.open.send_replace(true);
                }
            }
        }
    }
}

/// The real session, both sides with the vector's seeds and hello fields, over
/// in-memory pipes through the relay: each direction carries exactly the vector's
/// frames, and both reports agree with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_session_sends_the_vector() {
    let v = vector();
    let batch = u(&v["parameters"], "batch_size");
    let (i_end, i_relay) = tokio::io::duplex(1 << 20);
    let (r_end, r_relay) = tokio::io::duplex(1 << 20);
    let (i_read, i_write) = tokio::io::split(i_relay);
    let (r_read, r_write) = tokio::io::split(r_relay);
    let recorded: [Recorded; 2] = Default::default();
    let gate = Arc::new(Gate {
        reached: Mutex::new([false; 2]),
        open: watch::channel(false).0,
    });
    let direction = |index: usize| {
        let role = ROLES[index];
        let batches = prepared(side(&v, role)).declared_size().div_ceil(batch);
        Direction {
            index,
            handshake: 2,
            blinded_end: 2 + batches as usize,
            recorded: recorded[index].clone(),
        }
    };
    let to_responder = tokio::spawn(relay(i_read, r_write, direction(0), gate.clone()));
    let to_initiator = tokio::spawn(relay(r_read, i_write, direction(1), gate.clone()));

    // Only the nonce and the software string are fixed (and the seeds, through the
    // protocol setup); everything else is what a real session uses.
    let options = SessionOptions::default();
    let implementation: &'static str = s(&v["initiator"]["hello"], "implementation")
        .to_owned()
        .leak();
    let both_params = ROLES.map(|role| params(&v, role));
    let run = |stream: DuplexStream, role: Role| {
        let side = side(&v, role);
        let params = &both_params[usize::from(role == Role::Responder)];
        let fixed = FixedHelloForTestVectors {
            nonce: array(&side["hello"], "nonce"),
            implementation,
        };
        run_plaintext_session_for_test_vectors(
            stream,
            role,
            params,
            SeededEcdh::of(side),
            &options,
            fixed,
        )
    };
    let (initiator, responder) = tokio::time::timeout(TEST_LIMIT, async {
        tokio::join!(run(i_end, Role::Initiator), run(r_end, Role::Responder))
    })
    .await
    .unwrap();
    to_responder.await.unwrap();
    to_initiator.await.unwrap();

    for (role, recorded) in ROLES.into_iter().zip(&recorded) {
        let got: Vec<String> = recorded.lock().unwrap().iter().map(hex::encode).collect();
        let want: Vec<String> = frames(&v, role).iter().map(hex::encode).collect();
        assert_eq!(got, want, "{role:?}'s frames");
    }
    for (role, report) in ROLES
        .into_iter()
        .zip([initiator.unwrap(), responder.unwrap()])
    {
        check_report(&v, role, &report);
    }
}

fn check_report(v: &Value, role: Role, report: &SessionReport) {
    let side = side(v, role);
    assert_eq!(report.session_id, s(v, "session_id"));
    assert_eq!(report.transcript_hash, s(v, "transcript_hash"));
    assert_eq!(
        u64::from(report.batch_size),
        u(&v["parameters"], "batch_size")
    );
    assert_eq!(
        report.comparison_len as u64,
        u(&v["parameters"], "comparison_len")
    );
    assert_eq!(report.implementation, s(&side["hello"], "implementation"));
    assert!(report.local_fingerprint.is_none() && report.peer_fingerprint.is_none());
    // What we wrote: everything before our Done, and the Done.
    let done = &side["done"];
    assert_eq!(report.traffic.frames_sent, u(done, "frames") + 1);
    let sent: u64 = frames(v, role).iter().map(|f| f.len() as u64).sum();
    assert_eq!(report.traffic.bytes_sent, sent);
    check_matches(v, role, &report.outcome.result);
}

/// The fixed-hello entry point is for tests: no library or binary source outside
/// blindmatch-net's own session code names it.
#[test]
fn fixed_hello_stays_in_tests() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut dirs = vec![root.join("src")];
    for entry in std::fs::read_dir(root.join("crates")).unwrap() {
        let krate = entry.unwrap().path();
        if !krate.ends_with("net") {
            dirs.push(krate.join("src"));
        }
    }
    let mut offenders = Vec::new();
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                if text.contains("for_test_vectors") || text.contains("ForTestVectors") {
                    offenders.push(path.display().to_string());
                }
            }
        }
    }
    assert!(offenders.is_empty(), "used outside tests: {offenders:?}");
}

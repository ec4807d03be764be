//! Runs `docs/test-vectors/psi.json`: RFC 9380 `expand_message_xmd` (SHA-512), RFC 9496
//! hash-to-group, RFC 9497 hash-to-group through a known blind, and blindmatch's own
//! vectors from a raw cell to its match ID: normalisation (blindmatch-token), DST,
//! hashing, blinding, double blinding, match ID, and the same values out of two
//! [`Party`]s.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::convert::Infallible;

use blindmatch_psi::hash::{
    expand_message_xmd_sha512, h2g_dst, hash_identifier, hash_to_ristretto255,
};
use blindmatch_psi::{
    MatchId, MatchResult, Message, Mode, Party, PreparedSet, Reveal, Role, SessionConfig,
};
use blindmatch_token::{IdType, Profile};
use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use rand::{TryCryptoRng, TryRng};
use serde_json::Value;
use sha2::{Digest, Sha512};

fn vectors() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/test-vectors/psi.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("missing string {key}"))
}

fn bytes(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(s(v, key)).unwrap()
}

fn array32(v: &Value, key: &str) -> [u8; 32] {
    bytes(v, key).try_into().unwrap()
}

fn list(v: &Value) -> &Vec<Value> {
    v["vectors"].as_array().unwrap()
}

#[test]
fn rfc9380_expand_message_xmd_sha512() {
    let all = vectors();
    let set = &all["expand_message_xmd_sha512"];
    let dst = s(set, "dst").as_bytes();
    assert_eq!(list(set).len(), 10);
    for v in list(set) {
        let len = v["len_in_bytes"].as_u64().unwrap() as usize;
        let mut out = vec![0u8; len];
        expand_message_xmd_sha512(s(v, "msg").as_bytes(), dst, &mut out).unwrap();
        assert_eq!(
            hex::encode(out),
            s(v, "uniform_bytes"),
            "msg {:?}",
            s(v, "msg")
        );
    }
}

#[test]
fn rfc9496_hash_to_group() {
    let all = vectors();
    let set = &all["ristretto255_hash_to_group"];
    assert_eq!(list(set).len(), 7);
    for v in list(set) {
        let uniform: [u8; 64] = Sha512::digest(s(v, "input").as_bytes()).into();
        assert_eq!(hex::encode(uniform), s(v, "sha512"));
        let p = RistrettoPoint::from_uniform_bytes(&uniform);
        assert_eq!(hex::encode(p.compress().as_bytes()), s(v, "element"));
    }
    let edge = &all["ristretto255_one_way_map_edge_cases"];
    for v in list(edge) {
        let uniform: [u8; 64] = bytes(v, "uniform_bytes").try_into().unwrap();
        let p = RistrettoPoint::from_uniform_bytes(&uniform);
        assert_eq!(hex::encode(p.compress().as_bytes()), s(v, "element"));
    }
}

#[test]
fn rfc9497_hash_to_group_through_blind() {
    let all = vectors();
    let set = &all["hash_to_ristretto255_oprf"];
    let dst = bytes(set, "dst_hex");
    let blind = Scalar::from_canonical_bytes(array32(set, "blind")).unwrap();
    for v in list(set) {
        let p = hash_to_ristretto255(&bytes(v, "msg_hex"), &dst).unwrap();
        assert_eq!(
            hex::encode((blind * p).compress().as_bytes()),
            s(v, "blinded_element")
        );
    }
}

/// The normaliser cases of `docs/test-vectors/normalize.json` under the standard profile,
/// as (type, input, normalised).
fn standard_normalize_cases() -> BTreeSet<(String, String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/test-vectors/normalize.json"
    );
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let standard = Profile::standard().name();
    doc["cases"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["profile"] == standard.as_str())
        .filter_map(|c| {
            let out = c["expected"].as_str()?;
            Some((s(c, "type").into(), s(c, "input").into(), out.into()))
        })
        .collect()
}

#[test]
fn blindmatch_v1_vectors() {
    let all = vectors();
    let set = &all["blindmatch_v1"];
    let ka = Scalar::from_canonical_bytes(array32(set, "scalar_a")).unwrap();
    let kb = Scalar::from_canonical_bytes(array32(set, "scalar_b")).unwrap();
    let cases = standard_normalize_cases();
    let profile = Profile::standard();
    let mut types = BTreeSet::new();
    for v in list(set) {
        let id_type = s(v, "id_type");
        types.insert(id_type);
        // Raw cell -> normalised form (blindmatch-token, as `normalize.json` says) ->
        // its UTF-8, which is the element.
        let input = s(v, "input");
        let normalised = s(v, "normalised");
        let t: IdType = id_type.parse().unwrap();
        assert_eq!(profile.normalize(t, input).as_deref(), Ok(normalised));
        assert!(
            cases.contains(&(id_type.into(), input.into(), normalised.into())),
            "{id_type} {input:?} is not a case of normalize.json"
        );
        let value = bytes(v, "value_hex");
        assert_eq!(value, normalised.as_bytes());

        let context = array32(v, "context");
        assert_eq!(h2g_dst(id_type, &context).unwrap(), s(v, "dst").as_bytes());

        let point = hash_identifier(id_type, &value, &context).unwrap();
        assert_eq!(hex::encode(point), s(v, "point"), "{id_type}");

        // Blinding as the party does it: (k/2)·P, then double-and-compress in a batch.
        let p = CompressedRistretto(point).decompress().unwrap();
        let a = RistrettoPoint::double_and_compress_batch(&[ka.div_by_2() * p]);
        assert_eq!(hex::encode(a[0].as_bytes()), s(v, "blinded_a"));
        let a_point = a[0].decompress().unwrap();
        let ab = RistrettoPoint::double_and_compress_batch(&[kb.div_by_2() * a_point]);
        assert_eq!(hex::encode(ab[0].as_bytes()), s(v, "double_blinded"));

        let id = MatchId::derive(&context, &array32(v, "double_blinded"));
        assert_eq!(hex::encode(id.as_bytes()), s(v, "match_id"));
    }
    assert!(types.len() >= 5, "vectors cover only {types:?}");
}

/// Hands out fixed bytes as its random output: a [`Party`] draws 96 bytes, 64 for its
/// scalar (reduced modulo the group order) and 32 for its order, so `scalar ‖ 0^32 ‖
/// order seed` gives it exactly `scalar`.
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
        assert!(dst.len() <= self.0.len(), "replay exhausted");
        let rest = self.0.split_off(dst.len());
        dst.copy_from_slice(&self.0);
        self.0 = rest;
        Ok(())
    }
}

impl TryCryptoRng for Replay {}

fn party_with_scalar(config: SessionConfig, set: PreparedSet, scalar: [u8; 32]) -> Party {
    let mut seed = scalar.to_vec();
    seed.resize(96, 7);
    seed[32..64].fill(0);
    Party::with_rng(config, set, &mut Replay(seed)).unwrap()
}

/// The vectors of each context, run through two parties holding the scalars: A's
/// `Blinded` points are the `blinded_a` values, and a single learner (either side)
/// reports every element with the vector's match ID. (When both learn, the IDs come
/// from positions instead: the session vector, `crates/net/tests/session_vector.rs`,
/// checks those.)
#[test]
fn blindmatch_v1_vectors_through_parties() {
    let all = vectors();
    let set = &all["blindmatch_v1"];
    let contexts: BTreeSet<[u8; 32]> = list(set).iter().map(|v| array32(v, "context")).collect();
    for context in contexts {
        let here: Vec<&Value> = list(set)
            .iter()
            .filter(|v| array32(v, "context") == context)
            .collect();
        let items = || {
            let rows = here.iter().enumerate();
            PreparedSet::from_items(
                rows.map(|(row, v)| (s(v, "id_type"), bytes(v, "value_hex"), row as u64)),
            )
            .unwrap()
        };
        let n = items().declared_size();
        for reveal in [Reveal::Initiator, Reveal::Responder] {
            let config = |role| SessionConfig {
                role,
                mode: Mode::Intersection,
                reveal,
                batch_size: 3,
                context,
                local_count: n,
                peer_count: n,
                groups: Vec::new(),
                peer_params: Vec::new(),
            };
            let a = party_with_scalar(config(Role::Initiator), items(), array32(set, "scalar_a"));
            let b = party_with_scalar(config(Role::Responder), items(), array32(set, "scalar_b"));
            let t = common::run(a, b).unwrap();

            let sent: BTreeSet<String> = t
                .from_a
                .iter()
                .filter_map(|m| match m {
                    Message::Blinded { points, .. } => Some(points.iter().map(hex::encode)),
                    _ => None,
                })
                .flatten()
                .collect();
            let want: BTreeSet<String> = here.iter().map(|v| s(v, "blinded_a").into()).collect();
            assert_eq!(sent, want);

            let outcome = if reveal == Reveal::Initiator {
                &t.a
            } else {
                &t.b
            };
            let MatchResult::Intersection { matches, .. } = &outcome.result else {
                panic!("not an intersection");
            };
            assert_eq!(matches.len(), here.len());
            for m in matches {
                let v = here[m.row as usize];
                assert_eq!(hex::encode(m.match_id.as_bytes()), s(v, "match_id"));
            }
        }
    }
}

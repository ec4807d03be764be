//! Runs `docs/test-vectors/psi.json`: RFC 9380 `expand_message_xmd` (SHA-512), RFC 9496
//! hash-to-group, RFC 9497 hash-to-group through a known blind, and blindmatch's own
//! DST, blinding, double blinding and match-ID vectors.
#![allow(clippy::unwrap_used)]

use blindmatch_psi::MatchId;
use blindmatch_psi::hash::{
    expand_message_xmd_sha512, h2g_dst, hash_identifier, hash_to_ristretto255,
};
use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
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

#[test]
fn blindmatch_v1_vectors() {
    let all = vectors();
    let set = &all["blindmatch_v1"];
    let ka = Scalar::from_canonical_bytes(array32(set, "scalar_a")).unwrap();
    let kb = Scalar::from_canonical_bytes(array32(set, "scalar_b")).unwrap();
    assert!(list(set).len() >= 5);
    for v in list(set) {
        let id_type = s(v, "id_type");
        let value = bytes(v, "value_hex");
        if let Some(text) = v["value"].as_str() {
            assert_eq!(text.as_bytes(), &value[..]);
        }
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
}

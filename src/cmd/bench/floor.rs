//! The primitive floor: the group operations the protocol cannot avoid, timed alone for
//! the same sets, on the same thread pool, in the same run as the protocol.
//!
//! For every item of each side, the protocol must hash it to the group, multiply it by
//! its owner's key and compress it (the `Blinded` batch); the peer must decompress that
//! point, multiply it by its own key and compress it again (the doubly blinded value).
//! So the floor for sets of `n` and `m` items is `n + m` hash-to-group, `2(n + m)`
//! variable-base scalar multiplications, `2(n + m)` compressions (batched exactly as
//! `blindmatch-psi` batches them: `double_and_compress_batch` over the same chunk sizes,
//! with half keys) and `n + m` decompressions, all through the same public functions
//! the protocol uses (`blindmatch_psi::hash::IdentifierHasher` and the re-exported
//! `curve25519_dalek`). Everything else the protocol does — de-duplication, shuffles,
//! framing, TLS, sorting and comparing, match IDs — is overhead above the floor.
//!
//! Labelled mode ([`measure_labelled`]) has its own floor: the learner's `l` items are
//! hashed, blinded (`a`), evaluated by the giver (`b`) and unblinded (`a⁻¹`), three
//! multiplications and compressions and two decompressions each, and each unblinded
//! point goes through HKDF-SHA256 (tag and key); the giver's `g` items are hashed,
//! multiplied by `b`, compressed, put through HKDF and their padded label set sealed
//! with ChaCha20-Poly1305; the learner opens one entry per match. So `l + g`
//! hash-to-group, `3l + g` multiplications and compressions, `2l` decompressions,
//! `l + g` HKDF derivations, `g` seals and `shared` opens (the `hkdf` and
//! `chacha20poly1305` crates the protocol uses).

use std::hint::black_box;
use std::ops::Range;
use std::time::{Duration, Instant};

use blindmatch_psi::curve25519_dalek::Scalar;
use blindmatch_psi::curve25519_dalek::ristretto::RistrettoPoint;
use blindmatch_psi::hash::IdentifierHasher;
use blindmatch_psi::labelled::{KEY_INFO, TAG_INFO};
use blindmatch_psi::vole::floor::VoleWork;
use blindmatch_psi::{MAX_BATCH_SIZE, PsiError};
use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce};
use hkdf::Hkdf;
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use super::data::{SideIds, value};
use super::probe;

/// Versioned label of the floor's (public, fixed) keys: they only need to be
/// non-trivial scalars, the floor's outputs are discarded.
const FLOOR_KEY_LABEL: &[u8] = b"blindmatch/v1/bench/floor-key";
/// Session context of the floor's hash-to-group (any fixed value costs the same).
const FLOOR_CONTEXT: [u8; 32] = [0x42; 32];
/// Associated data of the floor's seals (the protocol's is about as long).
const FLOOR_AAD: &[u8] = b"blindmatch/v1/psi/labelled/aad-and-a-32-byte-session-context-and-params";

/// Group operations counted in a floor measurement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(crate) struct FloorOps {
    /// Hash-to-group evaluations.
    pub(crate) hash_to_group: u64,
    /// Variable-base scalar multiplications.
    pub(crate) scalar_mul: u64,
    /// Point compressions (in batches).
    pub(crate) compress: u64,
    /// Point decompressions (with validation).
    pub(crate) decompress: u64,
    /// HKDF-SHA256 derivations (extract, tag and key expand): labelled mode only.
    pub(crate) hkdf: u64,
    /// ChaCha20-Poly1305 encryptions of a padded label set: labelled mode only.
    pub(crate) aead_seal: u64,
    /// ChaCha20-Poly1305 decryptions (one per match): labelled mode only.
    pub(crate) aead_open: u64,
    /// The vole protocol's primitives (`--protocol vole` only; the group
    /// operations above are then zero).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) vole: Option<VoleWork>,
}

impl FloorOps {
    /// The operations the protocol needs for sets of `n` and `m` items.
    pub(crate) fn for_sizes(n: u64, m: u64) -> FloorOps {
        let items = n + m;
        FloorOps {
            hash_to_group: items,
            scalar_mul: 2 * items,
            compress: 2 * items,
            decompress: items,
            ..FloorOps::default()
        }
    }

    /// The operations of labelled mode for `learner` and `giver` items, `shared` of
    /// them matched.
    pub(crate) fn for_labelled(learner: u64, giver: u64, shared: u64) -> FloorOps {
        FloorOps {
            hash_to_group: learner + giver,
            scalar_mul: 3 * learner + giver,
            compress: 3 * learner + giver,
            decompress: 2 * learner,
            hkdf: learner + giver,
            aead_seal: giver,
            aead_open: shared,
            vole: None,
        }
    }
}

/// One floor measurement.
#[derive(Debug, Clone, Copy)]
pub(crate) struct FloorSample {
    /// Wall-clock time.
    pub(crate) wall: Duration,
    /// Process CPU time.
    pub(crate) cpu: Option<Duration>,
    /// What was done.
    pub(crate) ops: FloorOps,
}

/// Runs the floor for the two sides on the current rayon pool: every rule's items,
/// each rule under its own label (as the protocol hashes them), rule after rule.
///
/// # Errors
///
/// [`PsiError`] if the hasher cannot be built (not for the fixed labels used here).
pub(crate) fn measure(
    initiator: &SideIds,
    responder: &SideIds,
    batch_size: u32,
) -> Result<FloorSample, PsiError> {
    let hashers = initiator
        .labels()
        .iter()
        .map(|label| IdentifierHasher::new(label, &FLOOR_CONTEXT))
        .collect::<Result<Vec<_>, _>>()?;
    let keys = [half_key(b"initiator"), half_key(b"responder")];
    let [key_i, key_r] = &keys;
    let started = Instant::now();
    let cpu_before = probe::process_cpu_time();
    let mut ops = FloorOps::default();
    for (rule, hasher) in hashers.iter().enumerate() {
        for (side, own, peer) in [(initiator, key_i, key_r), (responder, key_r, key_i)] {
            let done = chunks(side.len(), batch_size)
                .into_par_iter()
                .map(|range| one_chunk(hasher, side, rule, range, own, peer))
                .reduce(FloorOps::default, add);
            ops = add(ops, done);
        }
    }
    let wall = started.elapsed();
    let cpu = probe::process_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(FloorSample { wall, cpu, ops })
}

/// What one item chunk costs both parties: the owner's blinding, the peer's reblinding.
fn one_chunk(
    hasher: &IdentifierHasher,
    side: &SideIds,
    rule: usize,
    range: Range<u64>,
    own: &Scalar,
    peer: &Scalar,
) -> FloorOps {
    let blinded: Vec<RistrettoPoint> = range
        .map(|j| own * hasher.hash(value(rule, side.id_at(j)).as_bytes()))
        .collect();
    let sent = RistrettoPoint::double_and_compress_batch(&blinded);
    let reblinded: Vec<RistrettoPoint> = sent
        .iter()
        .filter_map(|c| c.decompress())
        .map(|p| peer * p)
        .collect();
    let returned = RistrettoPoint::double_and_compress_batch(&reblinded);
    black_box(&returned);
    let items = blinded.len() as u64;
    let decompressed = reblinded.len() as u64;
    FloorOps {
        hash_to_group: items,
        scalar_mul: items + decompressed,
        compress: (sent.len() + returned.len()) as u64,
        decompress: items,
        ..FloorOps::default()
    }
}

fn add(a: FloorOps, b: FloorOps) -> FloorOps {
    FloorOps {
        hash_to_group: a.hash_to_group + b.hash_to_group,
        scalar_mul: a.scalar_mul + b.scalar_mul,
        compress: a.compress + b.compress,
        decompress: a.decompress + b.decompress,
        hkdf: a.hkdf + b.hkdf,
        aead_seal: a.aead_seal + b.aead_seal,
        aead_open: a.aead_open + b.aead_open,
        vole: a.vole.or(b.vole),
    }
}

/// The labelled floor (see the module docs) for a `learner` and a `giver` side whose
/// first `shared` customers are common, with `label_bytes`-byte values and `tag_len`-
/// byte entry tags, rule after rule, on the current rayon pool.
///
/// # Errors
///
/// [`PsiError`] if the hasher cannot be built (not for the fixed labels used here).
pub(crate) fn measure_labelled(
    learner: &SideIds,
    giver: &SideIds,
    shared: u64,
    label_bytes: u32,
    batch_size: u32,
) -> Result<FloorSample, PsiError> {
    let hashers = learner
        .labels()
        .iter()
        .map(|label| IdentifierHasher::new(label, &FLOOR_CONTEXT))
        .collect::<Result<Vec<_>, _>>()?;
    let [a, b, a_inv] = [
        half_key(b"learner"),
        half_key(b"giver"),
        half_key(b"unblind"),
    ];
    let tag_len = blindmatch_psi::comparison_len(learner.len(), giver.len());
    let padded = super::labelled::padded_len(label_bytes) as usize;
    let started = Instant::now();
    let cpu_before = probe::process_cpu_time();
    let mut ops = FloorOps::default();
    for (rule, hasher) in hashers.iter().enumerate() {
        let done = chunks(learner.len(), batch_size)
            .into_par_iter()
            .map(|range| learner_chunk(hasher, learner, rule, range, [&a, &b, &a_inv], tag_len))
            .reduce(FloorOps::default, add);
        ops = add(ops, done);
        let done = chunks(giver.len(), batch_size)
            .into_par_iter()
            .map(|range| giver_chunk(hasher, giver, rule, range, &b, tag_len, padded, shared))
            .reduce(FloorOps::default, add);
        ops = add(ops, done);
    }
    let wall = started.elapsed();
    let cpu = probe::process_cpu_time()
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before));
    Ok(FloorSample { wall, cpu, ops })
}

/// The learner's items through blinding, evaluation, unblinding and HKDF.
fn learner_chunk(
    hasher: &IdentifierHasher,
    side: &SideIds,
    rule: usize,
    range: Range<u64>,
    [a, b, a_inv]: [&Scalar; 3],
    tag_len: usize,
) -> FloorOps {
    let blinded: Vec<RistrettoPoint> = range
        .map(|j| a * hasher.hash(value(rule, side.id_at(j)).as_bytes()))
        .collect();
    let sent = RistrettoPoint::double_and_compress_batch(&blinded);
    let evaluated: Vec<RistrettoPoint> = sent
        .iter()
        .filter_map(|c| c.decompress())
        .map(|p| b * p)
        .collect();
    let returned = RistrettoPoint::double_and_compress_batch(&evaluated);
    let unblinded: Vec<RistrettoPoint> = returned
        .iter()
        .filter_map(|c| c.decompress())
        .map(|p| a_inv * p)
        .collect();
    let points = RistrettoPoint::double_and_compress_batch(&unblinded);
    for p in &points {
        black_box(derive(p.as_bytes(), tag_len));
    }
    let n = blinded.len() as u64;
    FloorOps {
        hash_to_group: n,
        scalar_mul: n + evaluated.len() as u64 + unblinded.len() as u64,
        compress: (sent.len() + returned.len() + points.len()) as u64,
        decompress: (evaluated.len() + unblinded.len()) as u64,
        hkdf: points.len() as u64,
        ..FloorOps::default()
    }
}

/// The giver's items through `b`, HKDF and the seal; the first `shared` customers'
/// entries also opened (the learner's work for its matches).
#[allow(clippy::too_many_arguments)]
fn giver_chunk(
    hasher: &IdentifierHasher,
    side: &SideIds,
    rule: usize,
    range: Range<u64>,
    b: &Scalar,
    tag_len: usize,
    padded: usize,
    shared: u64,
) -> FloorOps {
    let start = range.start;
    let evaluated: Vec<RistrettoPoint> = range
        .map(|j| b * hasher.hash(value(rule, side.id_at(j)).as_bytes()))
        .collect();
    let points = RistrettoPoint::double_and_compress_batch(&evaluated);
    let mut ops = FloorOps {
        hash_to_group: evaluated.len() as u64,
        scalar_mul: evaluated.len() as u64,
        compress: points.len() as u64,
        ..FloorOps::default()
    };
    let mut plain = vec![0u8; padded];
    for (k, p) in points.iter().enumerate() {
        let (tag, key) = derive(p.as_bytes(), tag_len);
        plain.fill(0x5a);
        let cipher = ChaCha20Poly1305::new(&key.into());
        let Ok(aead_tag) =
            cipher.encrypt_inout_detached(&Nonce::default(), FLOOR_AAD, (&mut plain[..]).into())
        else {
            continue;
        };
        ops.hkdf += 1;
        ops.aead_seal += 1;
        if start + (k as u64) < shared
            && cipher
                .decrypt_inout_detached(
                    &Nonce::default(),
                    FLOOR_AAD,
                    (&mut plain[..]).into(),
                    &aead_tag,
                )
                .is_ok()
        {
            ops.aead_open += 1;
        }
        black_box((&tag, &plain));
    }
    ops
}

/// HKDF-SHA256 of a point as the labelled protocol derives an entry's tag and key.
fn derive(point: &[u8; 32], tag_len: usize) -> ([u8; 32], [u8; 32]) {
    let hk = Hkdf::<Sha256>::new(Some(&FLOOR_CONTEXT), point);
    let mut tag = [0u8; 32];
    let mut key = [0u8; 32];
    let _ = hk.expand(TAG_INFO, tag.get_mut(..tag_len.min(32)).unwrap_or_default());
    let _ = hk.expand(KEY_INFO, &mut key);
    (tag, key)
}

/// The item ranges `blindmatch-psi` compresses together: each batch of `batch_size`
/// items is cut into chunks of `clamp(batch / (4 × threads), 64, 1024)` items (the
/// rule in `blindmatch_psi`'s party, which keeps one field inversion per chunk).
fn chunks(items: u64, batch_size: u32) -> Vec<Range<u64>> {
    let threads = rayon::current_num_threads().max(1) as u64;
    let batch = u64::from(batch_size.clamp(1, MAX_BATCH_SIZE));
    let mut out = Vec::new();
    let mut start = 0;
    while start < items {
        let end = (start + batch).min(items);
        let chunk = (end - start).div_ceil(4 * threads).clamp(64, 1024);
        let mut c = start;
        while c < end {
            let e = (c + chunk).min(end);
            out.push(c..e);
            c = e;
        }
        start = end;
    }
    out
}

/// A fixed half key (the protocol multiplies by `k / 2` and doubles in the batch
/// compression, so the floor does the same work).
fn half_key(who: &[u8]) -> Scalar {
    let wide: [u8; 64] = Sha512::new()
        .chain_update(FLOOR_KEY_LABEL)
        .chain_update(who)
        .finalize()
        .into();
    Scalar::from_bytes_mod_order_wide(&wide).div_by_2()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn chunks_cover_every_item_once_within_batches() {
        for (items, batch) in [(0u64, 4096u32), (1, 4096), (5000, 4096), (10_000, 100)] {
            let cs = chunks(items, batch);
            let mut next = 0;
            for c in &cs {
                assert_eq!(c.start, next);
                assert!(c.end > c.start);
                // No chunk straddles a batch boundary.
                assert_eq!(c.start / u64::from(batch), (c.end - 1) / u64::from(batch));
                next = c.end;
            }
            assert_eq!(next, items);
        }
    }

    #[test]
    fn floor_does_exactly_the_protocols_group_operations() {
        let a = SideIds::initiator(150);
        let b = SideIds::responder(150, 90, 40);
        let sample = measure(&a, &b, 64).unwrap();
        assert_eq!(sample.ops, FloorOps::for_sizes(150, 90));
        assert!(sample.wall > Duration::ZERO);
        let sample = measure(&a.with_rules(3), &b.with_rules(3), 64).unwrap();
        assert_eq!(sample.ops, FloorOps::for_sizes(450, 270));
    }

    #[test]
    fn labelled_floor_does_the_labelled_operations() {
        let learner = SideIds::initiator(150);
        let giver = SideIds::responder(150, 90, 40);
        let sample = measure_labelled(&learner, &giver, 40, 32, 64).unwrap();
        assert_eq!(sample.ops, FloorOps::for_labelled(150, 90, 40));
        let sample = measure_labelled(&giver, &learner, 40, 32, 64).unwrap();
        assert_eq!(sample.ops, FloorOps::for_labelled(90, 150, 40));
    }
}

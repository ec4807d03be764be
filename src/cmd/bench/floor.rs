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

use std::hint::black_box;
use std::ops::Range;
use std::time::{Duration, Instant};

use blindmatch_psi::curve25519_dalek::Scalar;
use blindmatch_psi::curve25519_dalek::ristretto::RistrettoPoint;
use blindmatch_psi::hash::IdentifierHasher;
use blindmatch_psi::{MAX_BATCH_SIZE, PsiError};
use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha512};

use super::data::{SideIds, value};
use super::probe;

/// Versioned label of the floor's (public, fixed) keys: they only need to be
/// non-trivial scalars, the floor's outputs are discarded.
const FLOOR_KEY_LABEL: &[u8] = b"blindmatch/v1/bench/floor-key";
/// Session context of the floor's hash-to-group (any fixed value costs the same).
const FLOOR_CONTEXT: [u8; 32] = [0x42; 32];

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
    }
}

fn add(a: FloorOps, b: FloorOps) -> FloorOps {
    FloorOps {
        hash_to_group: a.hash_to_group + b.hash_to_group,
        scalar_mul: a.scalar_mul + b.scalar_mul,
        compress: a.compress + b.compress,
        decompress: a.decompress + b.decompress,
    }
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
}

//! The bins of cardinality mode: the learner cuckoo-hashes its items into `n = 2^k`
//! bins (one item or a dummy per bin), the other side places each of its items in
//! all three of its bins, and both derive the OPRF query of an item in a bin from
//! the bin, the hash function that chose it and the item hash. BLAKE3 keyed from the
//! session context and the learner's public seed, with versioned labels.

use rand::RngExt;
use rand::rngs::StdRng;

use crate::rr22::hash::ItemHash;

/// Key-derivation label of the three bin hash functions.
pub const BIN_LABEL: &str = "blindmatch/v1/psi/vole-rr22/cardinality-bin";
/// Key-derivation label of the query of an item in a bin.
pub const QUERY_LABEL: &str = "blindmatch/v1/psi/vole-rr22/cardinality-query";

/// Hash functions per item (Pinkas–Schneider–Tkachenko–Yanai, EUROCRYPT 2019, §5:
/// three functions, no stash).
pub const CUCKOO_HASHES: usize = 3;
/// Bins per item before rounding up to a power of two, per mille: PSTY19's 1.27
/// for three hash functions and failure below `2^-40`; the power of two only lowers
/// the load.
pub const BINS_PER_MILLE: u64 = 1270;
/// Fewest bins, so that tiny sets do not make cuckoo hashing fail often.
pub const MIN_LOG_BINS: u32 = 3;
/// Evictions before an insertion gives up (then the learner draws a new seed).
const MAX_EVICTIONS: usize = 1000;

/// `log2` of the bins for a learner holding `n` items: the power of two at least
/// `1.27·n` and at least `2^MIN_LOG_BINS`.
#[must_use]
pub fn log_bins(n: u64) -> u32 {
    let want = n.saturating_mul(BINS_PER_MILLE).div_ceil(1000);
    want.max(1 << MIN_LOG_BINS)
        .checked_next_power_of_two()
        .map_or(63, u64::trailing_zeros)
}

/// The bin hashes and queries of one session.
pub(crate) struct BinHasher {
    bin_key: [u8; 32],
    query_key: [u8; 32],
    mask: u64,
}

impl BinHasher {
    /// For `2^log_n` bins, from the session context and the learner's seed.
    pub(crate) fn new(context: &[u8; 32], seed: &[u8; 16], log_n: u32) -> Self {
        let mut material = [0u8; 48];
        material[..32].copy_from_slice(context);
        material[32..].copy_from_slice(seed);
        BinHasher {
            bin_key: blake3::derive_key(BIN_LABEL, &material),
            query_key: blake3::derive_key(QUERY_LABEL, context),
            mask: (1u64 << log_n.min(63)) - 1,
        }
    }

    /// The item's three bins (not necessarily distinct).
    pub(crate) fn bins(&self, x: &ItemHash) -> [u64; CUCKOO_HASHES] {
        let mut h = blake3::Hasher::new_keyed(&self.bin_key);
        h.update(&x.value.to_le_bytes());
        h.update(&x.band_key);
        let mut out = [0u8; 8 * CUCKOO_HASHES];
        h.finalize_xof().fill(&mut out);
        let mut bins = [0u64; CUCKOO_HASHES];
        for (b, c) in bins.iter_mut().zip(out.chunks_exact(8)) {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            *b = u64::from_le_bytes(w) & self.mask;
        }
        bins
    }

    /// The OPRF query of item `x` placed in `bin` by hash function `which`: distinct
    /// for distinct `(bin, which, x)`, so the other side's three keys per item never
    /// collide even when two of its bins coincide.
    pub(crate) fn query(&self, bin: u64, which: u8, x: &ItemHash) -> ItemHash {
        let mut h = blake3::Hasher::new_keyed(&self.query_key);
        h.update(&bin.to_le_bytes());
        h.update(&[which]);
        h.update(&x.value.to_le_bytes());
        h.update(&x.band_key);
        ItemHash::from_xof(&h)
    }
}

/// What a bin holds: an item (its position in our sending order, and which hash
/// function put it there) or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Slot {
    /// No item: the bin gets a random dummy query.
    Empty,
    /// Our item at this sending position, placed by hash function `which`.
    Item { position: u32, which: u8 },
}

/// Cuckoo hashing of `items` (distinct) into `2^log_n` bins; `None` when an
/// insertion runs out of evictions (the caller draws a new seed).
pub(crate) fn cuckoo(
    hasher: &BinHasher,
    items: &[ItemHash],
    log_n: u32,
    rng: &mut StdRng,
) -> Option<Vec<Slot>> {
    let n = 1usize << log_n;
    if items.len() > n {
        return None;
    }
    let mut slots = vec![Slot::Empty; n];
    for (position, x) in items.iter().enumerate() {
        let mut current = (u32::try_from(position).ok()?, *x, 0u8);
        let mut placed = false;
        for _ in 0..MAX_EVICTIONS {
            let (pos, item, _) = current;
            let bins = hasher.bins(&item);
            // A free bin among the item's own first.
            if let Some(which) = (0..CUCKOO_HASHES).find(|&w| {
                slots
                    .get(bins[w] as usize)
                    .is_some_and(|s| *s == Slot::Empty)
            }) {
                if let Some(s) = slots.get_mut(bins[which] as usize) {
                    *s = Slot::Item {
                        position: pos,
                        which: which as u8,
                    };
                }
                placed = true;
                break;
            }
            // Otherwise evict the occupant of a random one of its bins (random walk).
            let which = rng.random_range(0..CUCKOO_HASHES);
            let slot = slots.get_mut(bins[which] as usize)?;
            let Slot::Item {
                position: evicted, ..
            } = *slot
            else {
                return None;
            };
            *slot = Slot::Item {
                position: pos,
                which: which as u8,
            };
            let evicted_item = *items.get(evicted as usize)?;
            current = (evicted, evicted_item, 0);
        }
        if !placed {
            return None;
        }
    }
    Some(slots)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    fn items(n: usize, rng: &mut StdRng) -> Vec<ItemHash> {
        (0..n)
            .map(|_| ItemHash {
                value: rng.random(),
                band_key: rng.random(),
            })
            .collect()
    }

    #[test]
    fn bins_hold_at_least_1_27_per_item_as_a_power_of_two() {
        assert_eq!(log_bins(0), MIN_LOG_BINS);
        assert_eq!(log_bins(6), MIN_LOG_BINS);
        assert_eq!(log_bins(7), 4);
        assert_eq!(log_bins(1 << 20), 21);
        assert_eq!(log_bins(806), 10); // 1.27 · 806 rounds up to 1024
        assert_eq!(log_bins(807), 11); // 1025 bins: the next power of two
    }

    #[test]
    fn every_item_lands_in_one_of_its_bins_once() {
        let mut rng = StdRng::from_seed([5; 32]);
        for n in [0usize, 1, 6, 100, 1000, 5000] {
            let xs = items(n, &mut rng);
            let log_n = log_bins(n as u64);
            let hasher = BinHasher::new(&[1; 32], &[2; 16], log_n);
            let slots = cuckoo(&hasher, &xs, log_n, &mut rng).unwrap_or_default();
            assert_eq!(slots.len(), 1 << log_n, "n = {n}");
            let mut seen = vec![0u32; n];
            for (bin, slot) in slots.iter().enumerate() {
                if let Slot::Item { position, which } = *slot {
                    seen[position as usize] += 1;
                    let bins = hasher.bins(&xs[position as usize]);
                    assert_eq!(bins[usize::from(which)], bin as u64);
                }
            }
            assert!(seen.iter().all(|&c| c == 1), "n = {n}");
        }
    }

    #[test]
    fn queries_separate_bins_functions_items_and_contexts() {
        let mut rng = StdRng::from_seed([6; 32]);
        let x = items(2, &mut rng);
        let h = BinHasher::new(&[1; 32], &[2; 16], 10);
        let q = h.query(3, 0, &x[0]);
        assert_eq!(q.value, h.query(3, 0, &x[0]).value);
        assert_ne!(q.value, h.query(4, 0, &x[0]).value);
        assert_ne!(q.value, h.query(3, 1, &x[0]).value);
        assert_ne!(q.value, h.query(3, 0, &x[1]).value);
        assert_ne!(
            q.value,
            BinHasher::new(&[9; 32], &[2; 16], 10)
                .query(3, 0, &x[0])
                .value
        );
        // The seed moves the bins, not the queries.
        let other = BinHasher::new(&[1; 32], &[3; 16], 10);
        assert_ne!(h.bins(&x[0]), other.bins(&x[0]));
        assert!(h.bins(&x[0]).iter().all(|&b| b < 1024));
    }

    #[test]
    fn more_items_than_bins_fail_instead_of_looping() {
        let mut rng = StdRng::from_seed([7; 32]);
        let xs = items(9, &mut rng);
        let h = BinHasher::new(&[1; 32], &[2; 16], 3);
        assert!(cuckoo(&h, &xs, 3, &mut rng).is_none());
    }
}

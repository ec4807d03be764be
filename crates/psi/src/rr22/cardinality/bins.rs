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
/// for three hash functions and failure below `2^-40` for large sets; the power of
/// two only lowers the load.
pub const BINS_PER_MILLE: u64 = 1270;
/// Fewest bins.
pub const MIN_LOG_BINS: u32 = 3;
/// Small sets need relatively more bins: `(most items, log2 bins)`, first fit.
/// Each row is the fullest power of two for which the union bound over the small
/// obstructions to cuckoo hashing — `k + 1` items whose `3(k + 1)` bin choices all
/// fall in `k` bins, `Σ_{k ≤ 16} C(n, k+1)·C(b, k)·(k/b)^{3(k+1)}` — stays below
/// `2^-40` (the unit test recomputes it). From `2^13` bins on, `1.27·n` meets it.
/// A failure would make the learner draw another seed, and the seed it sends would
/// then say that its set fits under it: the bound keeps that below `2^-40`.
pub const SMALL_SET_BINS: [(u64, u32); 6] =
    [(1, 3), (8, 9), (45, 10), (255, 11), (1443, 12), (6450, 13)];
/// Evictions before an insertion gives up (then the learner draws a new seed).
const MAX_EVICTIONS: usize = 1000;

/// `log2` of the bins for a learner holding `n` items: [`SMALL_SET_BINS`] for small
/// sets, else the power of two at least `1.27·n`.
#[must_use]
pub fn log_bins(n: u64) -> u32 {
    if let Some(&(_, log_n)) = SMALL_SET_BINS.iter().find(|(most, _)| n <= *most) {
        return log_n;
    }
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

    /// `log2` of the union bound over the small obstructions (see
    /// [`SMALL_SET_BINS`]) for `n` items in `2^log_b` bins.
    fn small_obstructions_log2(n: u64, log_b: u32) -> f64 {
        let b = (1u64 << log_b) as f64;
        let ln_choose = |n: f64, k: u64| -> f64 {
            (0..k)
                .map(|i| (n - i as f64).ln() - ((i + 1) as f64).ln())
                .sum()
        };
        let terms: Vec<f64> = (1..=16u64)
            .take_while(|&k| k < n)
            .map(|k| {
                ln_choose(n as f64, k + 1)
                    + ln_choose(b, k)
                    + 3.0 * (k + 1) as f64 * (k as f64 / b).ln()
            })
            .collect();
        let Some(max) = terms.iter().copied().reduce(f64::max) else {
            return f64::NEG_INFINITY;
        };
        (max + terms.iter().map(|t| (t - max).exp()).sum::<f64>().ln()) / 2f64.ln()
    }

    #[test]
    fn small_sets_get_bins_enough_for_a_failure_below_2_to_the_minus_40() {
        // Each row meets the bound within the 1.27 load, and one more item would
        // not (the first row: 2^3 bins hold one item, which cannot collide).
        for (i, &(most, log_b)) in SMALL_SET_BINS.iter().enumerate() {
            assert!(small_obstructions_log2(most, log_b) <= -40.0, "{most}");
            assert!(most * BINS_PER_MILLE <= (1000 << log_b));
            let over = most + 1;
            assert!(
                i == 0
                    || small_obstructions_log2(over, log_b) > -40.0
                    || over * BINS_PER_MILLE > (1000 << log_b),
                "{over}"
            );
        }
        // From 2^13 bins on, the 1.27 rule alone meets it.
        for n in [6451u64, 12_900, 12_901, 100_000, 1 << 20, 52_841_625] {
            assert!(small_obstructions_log2(n, log_bins(n)) <= -40.0, "{n}");
        }
    }

    #[test]
    fn bins_hold_at_least_1_27_per_item_as_a_power_of_two() {
        assert_eq!(log_bins(0), MIN_LOG_BINS);
        assert_eq!(log_bins(1), MIN_LOG_BINS);
        assert_eq!(log_bins(2), 9);
        assert_eq!(log_bins(6450), 13);
        assert_eq!(log_bins(6451), 14);
        assert_eq!(log_bins(1 << 20), 21);
        assert_eq!(log_bins(12_900), 14); // 1.27 · 12,900 rounds up to 16,384
        assert_eq!(log_bins(12_901), 15); // 16,385 bins: the next power of two
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

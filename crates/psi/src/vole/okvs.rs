//! A random-band oblivious key-value store (RB-OKVS, Bienstock–Patel–Seo–Yeo, USENIX
//! Security 2023) over [`Value`]s (`GF(2^128)` elements for `vole-rr22-silent`, or
//! 512-bit [`Row`]s): each key owns a random band of [`BAND_WIDTH`] bits starting at
//! a random column, and the encoding is a vector of `m` rows such that XOR-ing the
//! rows under a key's band gives its value.
//!
//! Encoding sorts the keys by band start and runs Gaussian elimination along the
//! band; it fails (rarely, see [`super::params`]) when the bands are linearly
//! dependent, and the caller retries with fresh bands. Decoding is one XOR per set
//! band bit.

use rayon::prelude::*;

use super::params::{BAND_WIDTH, BAND_WORDS, VALUE_WORDS};

/// One OKVS value (and one row of the OT-extension matrices).
pub(crate) type Row = [u64; VALUE_WORDS];

/// XORs `b` into `a`.
#[inline]
pub(crate) fn xor_into(a: &mut Row, b: &Row) {
    for (x, y) in a.iter_mut().zip(b) {
        *x ^= y;
    }
}

/// An OKVS value: anything with XOR. Band coefficients are bits, so encoding and
/// decoding only ever add values.
pub(crate) trait Value: Copy + Send + Sync {
    /// The zero value.
    const ZERO: Self;
    /// `self ⊕= other`.
    fn add(&mut self, other: &Self);
}

impl Value for Row {
    const ZERO: Self = [0u64; VALUE_WORDS];
    #[inline]
    fn add(&mut self, other: &Self) {
        xor_into(self, other);
    }
}

impl Value for u128 {
    const ZERO: Self = 0;
    #[inline]
    fn add(&mut self, other: &Self) {
        *self ^= other;
    }
}

/// A key's band: columns `start .. start + BAND_WIDTH`, bit `k` of `bits` for
/// column `start + k`.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Band {
    pub(crate) start: usize,
    pub(crate) bits: [u64; BAND_WORDS],
}

// A band is a hash of an item: wiped with the vectors that hold our items' bands.
impl zeroize::DefaultIsZeroes for Band {}

/// Why an encoding could not be built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OkvsError {
    /// The bands are linearly dependent (or two keys hashed alike).
    Dependent,
    /// A band reaches past the last column (a caller bug, never peer input).
    OutOfRange,
}

fn lowest_bit(b: &[u64; BAND_WORDS]) -> Option<usize> {
    b.iter()
        .enumerate()
        .find(|(_, w)| **w != 0)
        .map(|(i, w)| i * 64 + w.trailing_zeros() as usize)
}

fn test_bit(b: &[u64; BAND_WORDS], k: usize) -> bool {
    b.get(k / 64).is_some_and(|w| w >> (k % 64) & 1 == 1)
}

/// `b >> d` over the whole band (bits shifted towards bit 0).
fn shr(b: &[u64; BAND_WORDS], d: usize) -> [u64; BAND_WORDS] {
    let mut out = [0u64; BAND_WORDS];
    let (words, bits) = (d / 64, d % 64);
    for (i, o) in out.iter_mut().enumerate() {
        let lo = b.get(i + words).copied().unwrap_or(0);
        let hi = b.get(i + words + 1).copied().unwrap_or(0);
        *o = if bits == 0 {
            lo
        } else {
            (lo >> bits) | (hi << (64 - bits))
        };
    }
    out
}

/// Calls `f(k)` for every set bit `k` of the band, lowest first.
#[inline]
fn for_each_bit(b: &[u64; BAND_WORDS], mut f: impl FnMut(usize)) {
    for (i, &w) in b.iter().enumerate() {
        let mut w = w;
        while w != 0 {
            f(i * 64 + w.trailing_zeros() as usize);
            w &= w - 1;
        }
    }
}

/// Encodes `(band, value)` pairs into `m` rows; free columns are zero. Only for an
/// encoding that is masked as a whole before anyone sees it (the OPRF's `P`, under
/// the VOLE): which columns stay zero depends on the keys.
pub(crate) fn encode<V: Value>(m: usize, items: &[(Band, V)]) -> Result<Vec<V>, OkvsError> {
    encode_over(vec![V::ZERO; m], items)
}

/// Encodes `(band, value)` pairs into `m` rows whose free columns are uniformly
/// random: the *oblivious* OKVS an encoding sent in the clear must be (Garimella–
/// Pinkas–Rosulek–Trieu–Yanai, CRYPTO 2021, §2: with random values and random
/// free columns the table says nothing about which keys it holds).
pub(crate) fn encode_oblivious<R: rand::Rng + ?Sized>(
    m: usize,
    items: &[(Band, u128)],
    rng: &mut R,
) -> Result<Vec<u128>, OkvsError> {
    let mut free = vec![0u128; m];
    for x in &mut free {
        let mut b = [0u8; 16];
        rng.fill_bytes(&mut b);
        *x = u128::from_le_bytes(b);
    }
    encode_over(free, items)
}

/// Back-substitution over `out`, whose entries stand for the free columns: every
/// pivot column is overwritten, every other column keeps its entry.
fn encode_over<V: Value>(mut out: Vec<V>, items: &[(Band, V)]) -> Result<Vec<V>, OkvsError> {
    let m = out.len();
    if items.iter().any(|(b, _)| b.start + BAND_WIDTH > m) {
        return Err(OkvsError::OutOfRange);
    }
    let mut order: Vec<u32> = (0..items.len() as u32).collect();
    order.sort_unstable_by_key(|&i| items.get(i as usize).map_or(0, |(b, _)| b.start));
    let mut rows: Vec<(Band, V)> = order
        .iter()
        .filter_map(|&i| items.get(i as usize).copied())
        .collect();
    drop(order);
    let mut pivots = Vec::with_capacity(rows.len());
    for i in 0..rows.len() {
        let (head, tail) = rows.split_at_mut(i + 1);
        let Some((band, value)) = head.last() else {
            continue;
        };
        let p = lowest_bit(&band.bits).ok_or(OkvsError::Dependent)?;
        let pivot = band.start + p;
        pivots.push(pivot);
        for (other, other_value) in tail.iter_mut() {
            if other.start > pivot {
                break;
            }
            if test_bit(&other.bits, pivot - other.start) {
                // Every bit of `band` below its pivot is clear, so the shift drops
                // nothing.
                let shifted = shr(&band.bits, other.start - band.start);
                for (o, s) in other.bits.iter_mut().zip(shifted) {
                    *o ^= s;
                }
                other_value.add(value);
            }
        }
    }
    for ((band, value), &pivot) in rows.iter().zip(&pivots).rev() {
        let mut acc = *value;
        for_each_bit(&band.bits, |k| {
            let col = band.start + k;
            if col != pivot
                && let Some(x) = out.get(col)
            {
                acc.add(x);
            }
        });
        if let Some(slot) = out.get_mut(pivot) {
            *slot = acc;
        }
    }
    Ok(out)
}

/// The value stored for `band`: the XOR of the rows its bits select. Columns past
/// the encoding's end read as zero (they cannot occur for bands built for `m`).
pub(crate) fn decode<V: Value>(table: &[V], band: &Band) -> V {
    let mut acc = V::ZERO;
    let window = table.get(band.start..).unwrap_or_default();
    for_each_bit(&band.bits, |k| {
        if let Some(x) = window.get(k) {
            acc.add(x);
        }
    });
    acc
}

/// `f(i, Decode(table, bands[i]))` for every band, in parallel, in the order of
/// the bands. The decodes run sorted by band start, so that neighbouring decodes on
/// a thread read the same rows: at 2^20 items the table is far larger than the
/// caches, and decoding in item order would fetch a whole band's rows from memory
/// for every item.
pub(crate) fn decode_all<V, T, F>(table: &[V], bands: &[Band], f: F) -> Vec<T>
where
    V: Value,
    T: Send + Copy + Default,
    F: Fn(usize, V) -> T + Sync,
{
    let mut order: Vec<u32> = (0..bands.len() as u32).collect();
    order.par_sort_unstable_by_key(|&i| bands.get(i as usize).map_or(0, |b| b.start));
    let done: Vec<(u32, T)> = order
        .par_iter()
        .filter_map(|&i| {
            let band = bands.get(i as usize)?;
            Some((i, f(i as usize, decode(table, band))))
        })
        .collect();
    let mut out = vec![T::default(); bands.len()];
    for (i, v) in done {
        if let Some(slot) = out.get_mut(i as usize) {
            *slot = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    fn random_items(n: usize, m: usize, rng: &mut StdRng) -> Vec<(Band, Row)> {
        (0..n)
            .map(|_| {
                let band = Band {
                    start: rng.random_range(0..=m - BAND_WIDTH),
                    bits: rng.random(),
                };
                (band, rng.random())
            })
            .collect()
    }

    #[test]
    fn decode_returns_every_encoded_value() {
        let mut rng = StdRng::from_seed([9; 32]);
        for n in [0usize, 1, 2, 100, 5000] {
            let m = super::super::params::okvs_columns(n as u64);
            let items = random_items(n, m, &mut rng);
            let table = encode(m, &items).expect("encodes");
            assert_eq!(table.len(), m);
            for (band, value) in &items {
                assert_eq!(&decode(&table, band), value);
            }
            let bands: Vec<Band> = items.iter().map(|(b, _)| *b).collect();
            let all = decode_all(&table, &bands, |i, row| (i, row[0]));
            for (i, (got, (_, value))) in all.iter().zip(&items).enumerate() {
                assert_eq!(*got, (i, value[0]));
            }
        }
    }

    /// `n` random bands with field-element values, and the columns they fit.
    fn field_items(n: usize, rng: &mut StdRng) -> (usize, Vec<(Band, u128)>) {
        let m = super::super::params::okvs_columns(n as u64);
        let items = random_items(n, m, rng)
            .into_iter()
            .map(|(b, _)| (b, rng.random()))
            .collect();
        (m, items)
    }

    #[test]
    fn field_element_values_round_trip() {
        let mut rng = StdRng::from_seed([10; 32]);
        let (m, items) = field_items(3000, &mut rng);
        let table = encode(m, &items).expect("encodes");
        for (band, value) in &items {
            assert_eq!(decode(&table, band), *value);
        }
    }

    #[test]
    fn the_oblivious_encoding_decodes_and_leaves_no_column_to_tell_the_keys_by() {
        let mut rng = StdRng::from_seed([12; 32]);
        let n = 3000;
        let (m, items) = field_items(n, &mut rng);
        let table = encode_oblivious(m, &items, &mut rng).expect("encodes");
        for (band, value) in &items {
            assert_eq!(decode(&table, band), *value);
        }
        // The zero-filled encoding leaves the free columns (about m − n of them) at
        // zero, and which ones are free depends on the keys; the oblivious one
        // leaves none (a random column is zero with probability 2^-128).
        let plain = encode(m, &items).expect("encodes");
        assert!(plain.iter().filter(|&&x| x == 0).count() >= m - n);
        assert_eq!(table.iter().filter(|&&x| x == 0).count(), 0);
        // Two encodings of the same pairs differ in every free column.
        let again = encode_oblivious(m, &items, &mut rng).expect("encodes");
        assert!(table.iter().zip(&again).filter(|(a, b)| a != b).count() >= m - n);
    }

    #[test]
    fn dependent_bands_are_refused() {
        let mut rng = StdRng::from_seed([3; 32]);
        let m = 512;
        let mut items = random_items(10, m, &mut rng);
        // The same band twice with different values: no solution.
        let (band, mut value) = items[3];
        value[0] ^= 1;
        items.push((band, value));
        assert_eq!(encode(m, &items), Err(OkvsError::Dependent));
        // More keys than columns can never be solved.
        let crowded = random_items(m + 1, m, &mut rng);
        assert_eq!(encode(m, &crowded), Err(OkvsError::Dependent));
        // An all-zero band selects nothing.
        let zero = [(
            Band {
                start: 0,
                bits: [0; BAND_WORDS],
            },
            [1u64; VALUE_WORDS],
        )];
        assert_eq!(encode(m, &zero), Err(OkvsError::Dependent));
        let far = [(
            Band {
                start: m - BAND_WIDTH + 1,
                bits: [1; BAND_WORDS],
            },
            [0u64; VALUE_WORDS],
        )];
        assert_eq!(encode(m, &far), Err(OkvsError::OutOfRange));
    }

    #[test]
    fn shift_keeps_bits_in_order() {
        let b = [0x8000_0000_0000_0001u64, 0x3, 0, 1 << 63];
        let s = shr(&b, 65);
        assert_eq!(s, [0x1, 0, 1 << 62, 0]);
        assert_eq!(shr(&b, 0), b);
        assert_eq!(lowest_bit(&s), Some(0));
        assert_eq!(lowest_bit(&[0; BAND_WORDS]), None);
    }
}

/// The encoding's failure rate at small band widths, where it can be measured: the
/// evidence behind the extrapolation to `w = 256` in `docs/threat-model.md`. Slow
/// (minutes in release): `cargo test -p blindmatch-psi --release --lib
/// okvs_failure_rates -- --ignored --nocapture`.
#[cfg(test)]
mod failure_rates {
    use rand::rngs::StdRng;
    use rand::{RngExt, SeedableRng};

    use super::*;

    /// Failures of `trials` encodings of `n` random bands of width `w < 64` with
    /// `ε = 0.1`.
    fn failures(w: usize, n: usize, trials: usize, rng: &mut StdRng) -> usize {
        let m = n + n / 10 + w;
        (0..trials)
            .filter(|_| {
                let items: Vec<(Band, Row)> = (0..n)
                    .map(|_| {
                        let mut bits = [0u64; BAND_WORDS];
                        bits[0] = rng.random::<u64>() & ((1u64 << w) - 1);
                        let start = rng.random_range(0..=m - w);
                        (Band { start, bits }, rng.random())
                    })
                    .collect();
                encode(m + BAND_WIDTH, &items).is_err()
            })
            .count()
    }

    #[test]
    #[ignore = "minutes in release; run by hand for the threat model's figures"]
    fn okvs_failure_rates() {
        let mut rng = StdRng::from_seed([1; 32]);
        for n in [4000usize, 1 << 16] {
            let mut last = usize::MAX;
            for w in [40usize, 48, 56] {
                let f = failures(w, n, 200, &mut rng);
                println!("n={n} w={w} failures={f}/200");
                assert!(f <= last, "wider bands must not fail more often");
                last = f;
            }
        }
    }
}

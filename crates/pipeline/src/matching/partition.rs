//! Bucketed and sharded sessions: where each item goes, and how big each bucket is
//! declared to be.
//!
//! Every item (a rule's value) has a public place: `h` = the first 8 bytes of
//! SHA-256(`PLACE_LABEL` ‖ rule label ‖ 0 ‖ value) as a big-endian integer; its shard
//! is `h mod K` and its slice within the shard `(h div K) mod SLICES`. Both sides
//! compute the same place for the same value, so a value can only match within its
//! slice. A session of `B` buckets runs one sub-session per bucket, bucket `b`
//! holding the slices `s` with `s mod B = b`; `B` is agreed in the handshake
//! ([`plan`]).
//!
//! Bucket sizes would tell the partner how a set spreads over the slices. So in a
//! bucketed session every slice is padded with random dummies to a public bound
//! that depends only on the rule's total size ([`slice_bound`]), and a bucket
//! declares the sum of its slices' bounds: the partner learns the totals (as in any
//! session) and nothing per bucket. `docs/threat-model.md` ("Buckets and shards")
//! gives the bound's margin and what is left.

pub mod plan;

use std::path::PathBuf;

use blindmatch_data::Error;
use blindmatch_net::Mode;
use sha2::{Digest, Sha256};

/// Label of the placement hash.
pub const PLACE_LABEL: &[u8] = b"blindmatch/v1/partition/place";

/// Slices per shard: the finest unit of bucketing, so at most this many buckets.
pub const SLICES: u32 = 64;

/// Most shards a run may be split into.
pub const MAX_SHARDS: u32 = 4096;

/// The default `--memory-limit`: 1 GiB per party.
pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

/// Peak memory one item of a bucket costs a party under ECDH, all told (the
/// de-duplicated set, the protocol's points and answers, the partner's items): what
/// turns `--memory-limit` into a bucket's capacity. Measured with `blindmatch bench`
/// (`docs/benchmarks.md`, "Buckets and bounded memory") and rounded up.
pub const BYTES_PER_ITEM: u64 = 400;

/// The same for the vole protocol, whose silent VOLE and OKVS hold several 16-byte
/// vectors per item (about 570 bytes per item measured at 256 MiB; rounded up).
pub const VOLE_BYTES_PER_ITEM: u64 = 640;

/// The smallest `--memory-limit` accepted: 1 MiB (a few thousand items per bucket).
pub const MIN_MEMORY_LIMIT: u64 = 1 << 20;

/// How a session may be partitioned: the memory limit that sets the buckets, where
/// spill files go, the shard, and the resume folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionConfig {
    /// `--memory-limit` in bytes.
    pub memory_limit: u64,
    /// `--work-dir`: where the spill folder is made.
    pub work_dir: PathBuf,
    /// `--shard I/K`.
    pub shard: Shard,
    /// `--resume DIR`.
    pub resume: Option<PathBuf>,
}

impl PartitionConfig {
    /// The whole set, the default limit, spill files in the system's temporary folder.
    #[must_use]
    pub fn new() -> Self {
        PartitionConfig {
            memory_limit: DEFAULT_MEMORY_LIMIT,
            work_dir: std::env::temp_dir(),
            shard: Shard::WHOLE,
            resume: None,
        }
    }

    /// Items one bucket may hold under the memory limit, for a protocol whose items
    /// cost `bytes_per_item` each ([`BYTES_PER_ITEM`], [`VOLE_BYTES_PER_ITEM`]; both
    /// sides run the same protocol, so they size buckets alike).
    #[must_use]
    pub fn bucket_capacity(&self, bytes_per_item: u64) -> u64 {
        (self.memory_limit / bytes_per_item.max(1)).max(1)
    }

    /// Buckets needed for rules of `totals` distinct values each: the fewest whose
    /// fullest bucket, padded, fits [`PartitionConfig::bucket_capacity`].
    ///
    /// Buckets are made of whole slices, so with `B` buckets the fullest holds
    /// ⌈[`SLICES`] / B⌉ of them, not 1/B of the set: dividing the padded total by
    /// the capacity would let that bucket run up to 1.5 times over the limit (3
    /// slices instead of 2.46 with 26 buckets), and make the buckets' size, and so
    /// the peak memory, swing with the set size. Above [`SLICES`] (one slice
    /// alone is over the capacity) the answer is what dividing the total gives, for
    /// the plan to refuse with a hint to shard.
    #[must_use]
    pub fn buckets_for(&self, totals: &[u64], bytes_per_item: u64) -> u32 {
        let per_slice: u64 = totals.iter().map(|&t| slice_bound(t)).sum();
        if per_slice == 0 {
            return 1;
        }
        let capacity = self.bucket_capacity(bytes_per_item);
        // Slices one bucket may hold.
        let fit = capacity / per_slice;
        if fit == 0 {
            let all = per_slice.saturating_mul(u64::from(SLICES));
            let needed = all.div_ceil(capacity).max(u64::from(SLICES) + 1);
            return u32::try_from(needed).unwrap_or(u32::MAX);
        }
        // ⌈SLICES / fit⌉ buckets hold at most `fit` slices each; one fewer would not.
        u32::try_from(u64::from(SLICES).div_ceil(fit)).unwrap_or(SLICES)
    }
}

impl Default for PartitionConfig {
    fn default() -> Self {
        Self::new()
    }
}

/// The partition options of `match` as a caller gives them (`None`: not given):
/// `--memory-limit`, `--work-dir`, `--shard`, `--resume`. The CLI and the Python
/// package both turn them into a [`PartitionConfig`] here, so they accept and
/// refuse the same settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PartitionOptions {
    /// `--memory-limit` in bytes ([`parse_memory_limit`]); default
    /// [`DEFAULT_MEMORY_LIMIT`].
    pub memory_limit: Option<u64>,
    /// `--work-dir`; default the system's temporary folder.
    pub work_dir: Option<PathBuf>,
    /// `--shard I/K`; default the whole set.
    pub shard: Option<Shard>,
    /// `--resume DIR`.
    pub resume: Option<PathBuf>,
}

impl PartitionOptions {
    /// The partition settings of a session in `mode`: none in labelled mode
    /// (which runs one session in memory), where none of the options may be given.
    ///
    /// # Errors
    /// An option in labelled mode; a shard or resume folder in cardinality mode
    /// (each part would reveal its own count). Bad input, naming the CLI's flags.
    pub fn resolve(&self, mode: Mode) -> blindmatch_data::Result<Option<PartitionConfig>> {
        let given = self.memory_limit.is_some()
            || self.work_dir.is_some()
            || self.shard.is_some()
            || self.resume.is_some();
        if mode == Mode::Labelled {
            if given {
                return Err(Error::bad_input(
                    "--memory-limit, --work-dir, --shard and --resume do not apply to labelled mode",
                )
                .hint("a labelled session runs in memory, in one piece"));
            }
            return Ok(None);
        }
        if mode == Mode::Cardinality && (self.shard.is_some() || self.resume.is_some()) {
            return Err(Error::bad_input(
                "--shard and --resume split a session, and a cardinality session must not be split",
            )
            .hint("each part would reveal its own count; run one cardinality session (raise --memory-limit if needed)"));
        }
        Ok(Some(PartitionConfig {
            memory_limit: self.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT),
            work_dir: self.work_dir.clone().unwrap_or_else(std::env::temp_dir),
            shard: self.shard.unwrap_or(Shard::WHOLE),
            resume: self.resume.clone(),
        }))
    }
}

/// Parses a memory size as `--memory-limit` takes it: `512MiB`, `2GiB`, `1G`,
/// `800M`, or bytes.
///
/// # Errors
/// A message for the user: anything else, or less than [`MIN_MEMORY_LIMIT`].
pub fn parse_memory_limit(arg: &str) -> Result<u64, String> {
    let s = arg.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{arg}' is not a memory size; use e.g. 512MiB or 2GiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("'{arg}': unknown unit; use MiB or GiB")),
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("'{arg}' is too large"))?;
    if bytes < MIN_MEMORY_LIMIT {
        return Err(format!("'{arg}' is below the smallest limit, 1MiB"));
    }
    Ok(bytes)
}

/// The placement hash of a rule's value.
#[must_use]
pub fn place(label: &str, value: &[u8]) -> u64 {
    let digest = Sha256::new()
        .chain_update(PLACE_LABEL)
        .chain_update(label.as_bytes())
        .chain_update([0u8])
        .chain_update(value)
        .finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(digest.get(..8).unwrap_or(&[0; 8]));
    u64::from_be_bytes(first)
}

/// Which shard of how many this run is: `--shard I/K` (0-based `I`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This run's shard, `0..count`.
    pub index: u32,
    /// Shards in all.
    pub count: u32,
}

impl Shard {
    /// The whole set: shard 0 of 1.
    pub const WHOLE: Shard = Shard { index: 0, count: 1 };

    /// Parses `I/K` (e.g. `3/8`): `I` within `0..K`, `K` within 1..=[`MAX_SHARDS`].
    ///
    /// # Errors
    /// A message for the user when the text is not of that form.
    pub fn parse(text: &str) -> Result<Shard, String> {
        let bad = || {
            format!("'{text}' is not a shard: give I/K with 0 <= I < K <= {MAX_SHARDS}, e.g. 0/4")
        };
        let (i, k) = text.split_once('/').ok_or_else(bad)?;
        let index: u32 = i.trim().parse().map_err(|_| bad())?;
        let count: u32 = k.trim().parse().map_err(|_| bad())?;
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }

    /// The slice of an item with placement hash `h`, or `None` when it belongs to
    /// another shard.
    #[must_use]
    pub fn slice_of(self, h: u64) -> Option<u32> {
        let count = u64::from(self.count.max(1));
        if h % count != u64::from(self.index) {
            return None;
        }
        // Below SLICES, so it fits.
        Some(((h / count) % u64::from(SLICES)) as u32)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The bucket that holds `slice` when there are `buckets` of them.
#[must_use]
pub fn bucket_of(slice: u32, buckets: u32) -> u32 {
    slice % buckets.max(1)
}

/// The slices of bucket `bucket` of `buckets`.
pub fn slices_of(bucket: u32, buckets: u32) -> impl Iterator<Item = u32> {
    (0..SLICES).filter(move |s| bucket_of(*s, buckets) == bucket)
}

/// The public bound every slice of a rule with `total` distinct values is padded to.
///
/// A slice's count is binomial with mean `total / SLICES` (the placement hash acts
/// as a random function), so with `m` = that mean rounded up, the bound
/// `m + 7·(⌊√m⌋ + 1) + 8` lies more than seven standard deviations above it: a slice exceeds it with
/// probability below 10⁻¹¹ for honest data. A slice that does is an error naming
/// the remedy (more shards), never a silent leak. Integer arithmetic only, so both
/// sides compute the same bound.
#[must_use]
pub fn slice_bound(total: u64) -> u64 {
    if total == 0 {
        return 0;
    }
    let mean = total.div_ceil(u64::from(SLICES));
    mean + 7 * (mean.isqrt() + 1) + 8
}

/// The padded size of bucket `bucket` of `buckets` for a rule of `total` values.
#[must_use]
pub fn bucket_bound(total: u64, bucket: u32, buckets: u32) -> u64 {
    slices_of(bucket, buckets).count() as u64 * slice_bound(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory_limit("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory_limit("512MiB"), Ok(512 << 20));
        assert_eq!(parse_memory_limit("2G"), Ok(2 << 30));
        assert_eq!(parse_memory_limit("1048576"), Ok(1 << 20));
        assert!(parse_memory_limit("512KiB").is_err());
        assert!(parse_memory_limit("lots").is_err());
        assert!(parse_memory_limit("5 parsecs").is_err());
        assert!(parse_memory_limit("-1").is_err());
    }

    #[test]
    fn options_resolve_per_mode() {
        let none = PartitionOptions::default();
        let whole = none.resolve(Mode::Intersection).unwrap().unwrap();
        assert_eq!(whole, PartitionConfig::new());
        assert_eq!(none.resolve(Mode::Labelled).unwrap(), None);
        let small = PartitionOptions {
            memory_limit: Some(1 << 20),
            shard: Some(Shard { index: 1, count: 4 }),
            ..PartitionOptions::default()
        };
        let config = small.resolve(Mode::Intersection).unwrap().unwrap();
        assert_eq!((config.memory_limit, config.shard.count), (1 << 20, 4));
        let err = small.resolve(Mode::Labelled).unwrap_err();
        assert!(err.to_string().contains("labelled mode"), "{err}");
        let err = small.resolve(Mode::Cardinality).unwrap_err();
        assert!(err.to_string().contains("cardinality"), "{err}");
        let limit_only = PartitionOptions {
            memory_limit: Some(1 << 20),
            ..PartitionOptions::default()
        };
        assert!(limit_only.resolve(Mode::Cardinality).unwrap().is_some());
    }

    #[test]
    fn shards_parse_and_reject() {
        assert_eq!(Shard::parse("0/1").unwrap(), Shard::WHOLE);
        assert_eq!(Shard::parse("3/8").unwrap(), Shard { index: 3, count: 8 });
        for bad in ["", "1", "1/1", "2/1", "0/0", "-1/4", "a/b", "0/5000"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn shards_split_every_item_exactly_once() {
        let shards: Vec<Shard> = (0..3).map(|index| Shard { index, count: 3 }).collect();
        for i in 0..3000u32 {
            let h = place("phone", format!("+8613{i:09}").as_bytes());
            let owners = shards.iter().filter(|s| s.slice_of(h).is_some()).count();
            assert_eq!(owners, 1);
        }
    }

    #[test]
    fn buckets_cover_the_slices_once() {
        for buckets in 1..=SLICES {
            let mut seen = vec![0u32; SLICES as usize];
            for b in 0..buckets {
                for s in slices_of(b, buckets) {
                    seen[s as usize] += 1;
                }
            }
            assert!(seen.iter().all(|&n| n == 1), "{buckets}");
        }
    }

    #[test]
    fn the_label_separates_rules() {
        assert_ne!(place("phone", b"x"), place("email", b"x"));
        assert_eq!(place("phone", b"x"), place("phone", b"x"));
    }

    #[test]
    fn the_fullest_bucket_fits_the_capacity() {
        let part = PartitionConfig {
            memory_limit: 256 << 20,
            ..PartitionConfig::new()
        };
        let capacity = part.bucket_capacity(BYTES_PER_ITEM);
        for e in [10u32, 16, 18, 20, 21, 22, 23, 24, 25] {
            let totals = [1u64 << e];
            let buckets = part.buckets_for(&totals, BYTES_PER_ITEM);
            let fullest = (0..buckets)
                .map(|b| bucket_bound(totals[0], b, buckets))
                .max()
                .unwrap();
            assert!(fullest <= capacity, "2^{e}: {fullest} > {capacity}");
            if buckets > 1 {
                let fewer = buckets - 1;
                let over = (0..fewer).any(|b| bucket_bound(totals[0], b, fewer) > capacity);
                assert!(over, "2^{e}: {fewer} buckets would do");
            }
        }
        // 2^24 values: 26 buckets by the total alone, whose fullest holds 3 slices
        // (797,000 items, 1.2 times the capacity); 32 buckets of 2 slices fit.
        assert_eq!(part.buckets_for(&[1 << 24], BYTES_PER_ITEM), 32);
        assert_eq!(part.buckets_for(&[1 << 20], BYTES_PER_ITEM), 2);
        assert_eq!(part.buckets_for(&[0], BYTES_PER_ITEM), 1);
        assert_eq!(part.buckets_for(&[1000, 2000], BYTES_PER_ITEM), 1);
        // Two rules share the buckets.
        assert_eq!(part.buckets_for(&[1 << 23, 1 << 23], BYTES_PER_ITEM), 32);
        // One slice over the capacity: more than SLICES, which the plan refuses.
        assert!(part.buckets_for(&[1 << 26], BYTES_PER_ITEM) > SLICES);
        // Vole's items cost more, so the same limit makes more, smaller buckets.
        assert_eq!(part.buckets_for(&[1 << 20], VOLE_BYTES_PER_ITEM), 3);
        assert!(part.bucket_capacity(VOLE_BYTES_PER_ITEM) < part.bucket_capacity(BYTES_PER_ITEM));
    }

    #[test]
    fn slices_stay_under_their_bound() {
        // 200,000 values over 64 slices: the fullest slice stays below the bound.
        let total = 200_000u64;
        let mut counts = vec![0u64; SLICES as usize];
        for i in 0..total {
            let h = place("phone", &i.to_be_bytes());
            counts[Shard::WHOLE.slice_of(h).unwrap() as usize] += 1;
        }
        let bound = slice_bound(total);
        assert!(counts.iter().all(|&c| c <= bound), "{counts:?} vs {bound}");
        // ... and the padding costs about 13% at this size (under 2% at 10^7).
        assert!(bound * u64::from(SLICES) < total * 115 / 100);
        assert_eq!(slice_bound(0), 0);
        assert_eq!(bucket_bound(total, 0, 1), bound * u64::from(SLICES));
    }
}

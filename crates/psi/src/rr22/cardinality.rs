//! Cardinality mode of `vole-rr22-silent`: PSI-CA from the RR22 OPRF, an OPPRF and
//! an oblivious shuffle, after Garimella–Mohassel–Rosulek–Sadeghian–Singh, "Private
//! Set Operations from Oblivious Switching" (PKC 2021, §6).
//!
//! The plain OPRF cannot count without telling the learner *which* of its items
//! matched (it computes its own outputs in its own order). So:
//!
//! 1. The learner cuckoo-hashes its items into `n = 2^k` bins ([`bins`]) and runs the
//!    RR22 OPRF on one query per bin (a random dummy for an empty bin).
//! 2. The other side draws a random target `r_j` per bin and programs an OKVS
//!    mapping each of its items' three queries `(bin, function, y)` to
//!    `F(query) ⊕ r_bin` (an OPPRF). The learner decodes it at its queries:
//!    `w_j = Decode(table, q_j) ⊕ F(q_j)` equals `r_j` exactly when bin `j`'s item
//!    is the other side's too, and is random otherwise; it cannot tell which.
//! 3. An oblivious shuffle (`osn`, `docs/protocol.md` "Oblivious shuffle") permutes `w` by a permutation `π` only
//!    the other side knows and leaves it XOR-shared: learner `s`, other side `t`.
//! 4. The other side sends `t_j ⊕ r_{π(j)}`; the learner counts the positions equal
//!    to its `s_j`. Positions are shuffled, so it learns how many bins matched (per
//!    agreed group: the group travels through the shuffle beside `w`) and nothing
//!    about which. When both learn, it reports the counts.
//!
//! Byte for byte: `docs/protocol.md`, "Silent VOLE protocol, cardinality mode".

pub mod bins;
mod learner;
pub(crate) mod sender;

pub(crate) use learner::CardLearner;
pub(crate) use sender::CardSender;

use std::ops::Range;

use crate::config::batch_count;
use crate::vole::params::{STATISTICAL_BITS, chunk_rows, okvs_columns};

/// The public shape of a cardinality session, the same on both sides.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CardShape {
    pub(crate) context: [u8; 32],
    pub(crate) batch_size: u32,
    /// `log2` of the bins ([`bins::log_bins`] of the learner's count).
    pub(crate) log_n: u32,
    /// The other side's (the OPRF sender's) item count.
    pub(crate) sender_count: u64,
    /// Agreed identifier-type groups.
    pub(crate) groups: usize,
    /// Whether the OPRF sender learns the counts too (both learn).
    pub(crate) peer_learns: bool,
}

impl CardShape {
    /// Bins, a power of two.
    pub(crate) fn bins(&self) -> usize {
        1usize << self.log_n
    }

    /// Columns of the programmed OKVS: three keys per sender item.
    pub(crate) fn table_len(&self) -> usize {
        okvs_columns(self.sender_count.saturating_mul(3))
    }

    /// Whether each value carries its group ([`GROUP_TAG_BYTES`]) through the
    /// shuffle.
    pub(crate) fn tagged(&self) -> bool {
        self.groups > 1
    }

    /// Bytes of each shuffled value.
    pub(crate) fn width(&self) -> usize {
        match_len(self.log_n) + if self.tagged() { GROUP_TAG_BYTES } else { 0 }
    }

    /// `Masks` messages: one value per bin, `batch_size` per message.
    pub(crate) fn mask_batches(&self) -> u32 {
        batch_count(self.bins() as u64, self.batch_size)
    }
}

/// Bytes of the group index each shuffled value carries when a session agreed
/// several type groups (`u16`, big-endian).
pub const GROUP_TAG_BYTES: usize = 2;

/// Bins for a learner holding `n` items (a power of two): [`bins::log_bins`].
#[must_use]
pub fn bin_count(n: u64) -> u64 {
    1u64 << bins::log_bins(n)
}

/// Bytes of each shuffled value for a learner of `n` items in a session of `groups`
/// agreed type groups: the match length, plus two bytes of group when `groups > 1`.
#[must_use]
pub fn value_width(n: u64, groups: usize) -> usize {
    match_len(bins::log_bins(n)) + if groups > 1 { GROUP_TAG_BYTES } else { 0 }
}

/// Switches of the shuffle for a learner of `n` items: `(2·log2 b − 1)·b/2` for `b`
/// bins (one random OT each).
#[must_use]
pub fn switch_count(n: u64) -> u64 {
    let log_n = bins::log_bins(n);
    (2 * u64::from(log_n) - 1) * (1u64 << log_n) / 2
}

/// The widest shuffled value: the match length at `2^63` bins plus a group.
pub(crate) const MAX_WIDTH: usize = 16;

/// Bytes of `w` compared after the shuffle: `⌈(40 + log2 n)/8⌉`, so that the `n`
/// comparisons all miss a random value with probability `1 − 2^-40`.
pub(crate) fn match_len(log_n: u32) -> usize {
    (u32::from(STATISTICAL_BITS) + log_n).div_ceil(8) as usize
}

/// `Table` messages for this shape.
pub(crate) fn table_chunks(shape: &CardShape) -> u32 {
    let rows = chunk_rows(shape.batch_size);
    u32::try_from(shape.table_len().div_ceil(rows).max(1)).unwrap_or(u32::MAX)
}

/// The OKVS columns of `Table` chunk `chunk`.
pub(crate) fn table_chunk(shape: &CardShape, chunk: u32) -> Range<usize> {
    let rows = chunk_rows(shape.batch_size);
    let m = shape.table_len();
    let start = (chunk as usize).saturating_mul(rows).min(m);
    start..start.saturating_add(rows).min(m)
}

/// The sender's items that `Table` chunk `chunk` stands for in progress reports:
/// its share of `sender_count`, so that the chunks add up to it.
pub(crate) fn table_share(shape: &CardShape, chunk: u32) -> u64 {
    let total = u64::from(table_chunks(shape));
    let share = |c: u64| shape.sender_count * c / total;
    share(u64::from(chunk) + 1) - share(u64::from(chunk))
}

/// Where a cardinality session stands, after the OPRF.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stage {
    Table,
    Shuffle,
    Masks,
    Counts,
    Done,
}

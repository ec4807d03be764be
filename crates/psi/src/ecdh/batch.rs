//! Batch arithmetic shared by both directions of a session: how many items a batch
//! holds, which positions it covers, and the checks on a peer's batch index.

use crate::{MessageKind, PsiError};

/// Elements to reserve room for when the count comes from the peer.
pub(crate) fn prealloc(peer_count: u64) -> usize {
    const LIMIT: u64 = 1 << 16;
    peer_count.min(LIMIT) as usize
}

/// Items in batch `batch` of a set of `total` items.
pub(crate) fn batch_len(batch: u32, batch_size: u32, total: u64) -> usize {
    let start = u64::from(batch) * u64::from(batch_size);
    total.saturating_sub(start).min(u64::from(batch_size)) as usize
}

pub(crate) fn batch_range(batch: u32, batch_size: u32, total: usize) -> std::ops::Range<usize> {
    let start = (batch as usize)
        .saturating_mul(batch_size as usize)
        .min(total);
    let end = start.saturating_add(batch_size as usize).min(total);
    start..end
}

/// Work unit for one rayon task: big enough that the one field inversion of a batch
/// compression is amortised, small enough to spread a batch over all threads. The
/// results do not depend on it.
pub(crate) fn chunk_len(items: usize) -> usize {
    let threads = rayon::current_num_threads().max(1);
    items.div_ceil(4 * threads).clamp(64, 1024)
}

pub(crate) fn check_batch_index(
    kind: MessageKind,
    got: u32,
    next: u32,
    total: u32,
    declared: u64,
) -> Result<(), PsiError> {
    if got < next {
        return Err(PsiError::DuplicateBatch { kind, batch: got });
    }
    if got >= total {
        return Err(PsiError::TooManyItems {
            kind,
            batch: got,
            declared,
        });
    }
    if got > next {
        return Err(PsiError::BatchOutOfOrder {
            kind,
            expected: next,
            got,
        });
    }
    Ok(())
}

/// Checks the header of a batch of points from the peer: `batch` is the next of
/// `total` (after `next - 1`), and it holds as many points as batch `batch` of
/// `declared` items at `batch_size` per batch must.
///
/// # Errors
/// As [`check_batch_index`], or [`PsiError::WrongBatchLength`] (in bytes).
pub(crate) fn check_point_batch(
    kind: MessageKind,
    batch: u32,
    next: u32,
    total: u32,
    declared: u64,
    batch_size: u32,
    points: usize,
) -> Result<(), PsiError> {
    check_batch_index(kind, batch, next, total, declared)?;
    let expected = batch_len(batch, batch_size, declared);
    if points != expected {
        return Err(PsiError::WrongBatchLength {
            kind,
            batch,
            expected: expected * crate::config::POINT_LEN,
            actual: points * crate::config::POINT_LEN,
        });
    }
    Ok(())
}

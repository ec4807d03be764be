//! Everything derived from `P = b·H(y)`: the entry tag and AEAD key (HKDF-SHA256,
//! salted with the session context, one `info` label each), the padded label-set
//! plaintext and its ChaCha20-Poly1305 encryption, plus the session's [`Layout`].

use chacha20poly1305::aead::AeadInOut;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use curve25519_dalek::Scalar;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoPoint};
use hkdf::Hkdf;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use zeroize::{Zeroize, Zeroizing};

use super::params::{HANDLE_LEN, Params, padded_len, slot_len};
use super::{ENTRY_MESSAGE_BUDGET, LabelColumn};
use crate::config::POINT_LEN;
use crate::ecdh::hash::IdentifierHasher;
use crate::items::split_key;
use crate::{PsiError, comparison_len};

/// HKDF `info` of an entry's tag.
pub const TAG_INFO: &[u8] = b"blindmatch/v1/psi/labelled/tag";
/// HKDF `info` of an entry's AEAD key.
pub const KEY_INFO: &[u8] = b"blindmatch/v1/psi/labelled/key";
/// Prefix of the AEAD associated data.
pub const AAD_LABEL: &[u8] = b"blindmatch/v1/psi/labelled/aad";
/// Prefix of a label set's handle hash.
pub const HANDLE_LABEL: &[u8] = b"blindmatch/v1/psi/labelled/handle";
/// Bytes of the Poly1305 authentication tag.
pub const AEAD_TAG_LEN: usize = 16;

/// What both sides derive from the agreed parameters and sizes.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    pub(crate) columns: Vec<LabelColumn>,
    pub(crate) cap: u32,
    pub(crate) tag_len: usize,
    pub(crate) slot_len: usize,
    pub(crate) padded_len: usize,
    /// `tag_len + padded_len + AEAD_TAG_LEN`.
    pub(crate) entry_len: usize,
    /// Entries per `Entries` message (all full but the last).
    pub(crate) per_message: u32,
    /// `AAD_LABEL ‖ context ‖ the sender's parameter bytes`.
    pub(crate) aad: Vec<u8>,
}

impl Layout {
    /// The layout of a session: `learner_count`/`sender_count` distinct items, the
    /// sender's encoded parameters (already validated) and the batch size.
    pub(crate) fn new(
        sender_params: &[u8],
        context: &[u8; 32],
        learner_count: u64,
        sender_count: u64,
        batch_size: u32,
    ) -> Result<Layout, PsiError> {
        let params = Params::decode(sender_params)
            .map_err(|reason| PsiError::InvalidLabelColumns { reason })?;
        let columns = params.columns.ok_or(PsiError::InvalidLabelColumns {
            reason: "the releasing side named no columns",
        })?;
        let cap = params.max_labels_per_id;
        let tag_len = comparison_len(learner_count, sender_count);
        let padded_len = padded_len(&columns, cap);
        let entry_len = tag_len + padded_len + AEAD_TAG_LEN;
        let per_message = (ENTRY_MESSAGE_BUDGET / entry_len).clamp(1, batch_size.max(1) as usize);
        let mut aad = Vec::with_capacity(AAD_LABEL.len() + 32 + sender_params.len());
        aad.extend_from_slice(AAD_LABEL);
        aad.extend_from_slice(context);
        aad.extend_from_slice(sender_params);
        Ok(Layout {
            slot_len: slot_len(&columns),
            columns,
            cap,
            tag_len,
            padded_len,
            entry_len,
            // per_message <= batch_size, a u32.
            per_message: per_message as u32,
            aad,
        })
    }
}

/// An entry's tag (first `tag_len` bytes used) and AEAD key.
pub(crate) struct EntryKeys {
    pub(crate) tag: [u8; POINT_LEN],
    pub(crate) key: Zeroizing<[u8; 32]>,
}

/// `prk = HKDF-Extract(salt = context, IKM = P)`, `tag = HKDF-Expand(prk, TAG_INFO,
/// tag_len)`, `key = HKDF-Expand(prk, KEY_INFO, 32)`.
pub(crate) fn derive(context: &[u8; 32], point: &[u8; 32], tag_len: usize) -> EntryKeys {
    let hk = Hkdf::<Sha256>::new(Some(context), point);
    let mut tag = [0u8; POINT_LEN];
    let mut key = Zeroizing::new([0u8; 32]);
    // Both lengths are at most 32 bytes, far below HKDF's 255·32-byte limit, so
    // expand cannot fail; a zero tag/key would only fail to match or authenticate.
    let n = tag_len.min(POINT_LEN);
    let _ = hk.expand(TAG_INFO, tag.get_mut(..n).unwrap_or_default());
    let _ = hk.expand(KEY_INFO, &mut key[..]);
    EntryKeys { tag, key }
}

/// A label set's handle: `SHA-256(HANDLE_LABEL ‖ handle_key ‖ row (u64 BE))`, first
/// 16 bytes. Lets the learner release a sender row once per learner row even when it
/// matched through several identifiers, without learning the row reference.
pub(crate) fn handle(handle_key: &[u8; 32], row: u64) -> [u8; HANDLE_LEN] {
    let d = Sha256::new()
        .chain_update(HANDLE_LABEL)
        .chain_update(handle_key)
        .chain_update(row.to_be_bytes())
        .finalize();
    let mut h = [0u8; HANDLE_LEN];
    h.copy_from_slice(d.get(..HANDLE_LEN).unwrap_or(&[0u8; HANDLE_LEN]));
    h
}

/// The all-zero nonce: every key encrypts exactly one plaintext (one entry per
/// distinct item, keys bound to the session's OPRF key and context).
fn nonce() -> Nonce {
    Nonce::default()
}

/// Appends one entry (`tag ‖ ct ‖ AEAD tag`) for these label sets to `out`.
/// `sets` holds (handle, values) with one value per column, each within its maximum,
/// and at most `cap` sets (the sender checked all of it before the session).
pub(crate) fn seal(
    layout: &Layout,
    keys: &EntryKeys,
    sets: &[([u8; HANDLE_LEN], &[Vec<u8>])],
    out: &mut Vec<u8>,
) -> Result<(), PsiError> {
    let mut plain = Zeroizing::new(vec![0u8; layout.padded_len]);
    // At most MAX_LABELS_PER_ID (256) sets.
    let count = sets.len() as u16;
    plain[..2].copy_from_slice(&count.to_be_bytes());
    for (i, (h, values)) in sets.iter().enumerate() {
        let start = 2 + i * layout.slot_len;
        let slot =
            plain
                .get_mut(start..start + layout.slot_len)
                .ok_or(PsiError::TooManyLabelsPerId {
                    found: sets.len() as u64,
                    max: layout.cap,
                })?;
        slot[..HANDLE_LEN].copy_from_slice(h);
        let mut at = HANDLE_LEN;
        for (column, (c, v)) in layout.columns.iter().zip(values.iter()).enumerate() {
            let max = c.max_bytes as usize;
            let field = slot
                .get_mut(at..at + 2 + max)
                .filter(|_| v.len() <= max)
                .ok_or(PsiError::LabelTooLong { row: 0, column })?;
            // v.len() <= max <= 1024.
            field[..2].copy_from_slice(&(v.len() as u16).to_be_bytes());
            field[2..2 + v.len()].copy_from_slice(v);
            at += 2 + max;
        }
    }
    let cipher = ChaCha20Poly1305::new((&*keys.key).into());
    let tag = cipher
        .encrypt_inout_detached(&nonce(), &layout.aad, (&mut plain[..]).into())
        .map_err(|_| PsiError::Malformed {
            reason: "label set too long for the AEAD",
        })?;
    out.extend_from_slice(keys.tag.get(..layout.tag_len).unwrap_or_default());
    out.extend_from_slice(&plain);
    out.extend_from_slice(&tag);
    // `plain` now holds ciphertext; it is wiped on drop all the same.
    Ok(())
}

/// Why an entry did not open.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum OpenError {
    /// The AEAD refused it.
    Auth,
    /// It authenticated but its layout is wrong.
    Layout(&'static str),
}

/// A decrypted label set: its handle and one value per column.
pub(crate) struct LabelSet {
    pub(crate) handle: [u8; HANDLE_LEN],
    pub(crate) values: Vec<Vec<u8>>,
}

impl Drop for LabelSet {
    fn drop(&mut self) {
        for v in &mut self.values {
            v.zeroize();
        }
    }
}

/// Decrypts an entry's `ct ‖ AEAD tag` (`body`, the entry without its tag) and
/// checks the count, every length and every padding byte.
pub(crate) fn open(
    layout: &Layout,
    key: &[u8; 32],
    body: &[u8],
) -> Result<Vec<LabelSet>, OpenError> {
    let (ct, tag) = body
        .split_at_checked(layout.padded_len)
        .filter(|(_, t)| t.len() == AEAD_TAG_LEN)
        .ok_or(OpenError::Layout("wrong entry length"))?;
    let tag = Tag::try_from(tag).map_err(|_| OpenError::Layout("wrong AEAD tag length"))?;
    let mut plain = Zeroizing::new(ct.to_vec());
    let cipher = ChaCha20Poly1305::new(key.into());
    cipher
        .decrypt_inout_detached(&nonce(), &layout.aad, (&mut plain[..]).into(), &tag)
        .map_err(|_| OpenError::Auth)?;
    let (count, slots) = plain
        .split_first_chunk::<2>()
        .ok_or(OpenError::Layout("no count"))?;
    let count = usize::from(u16::from_be_bytes(*count));
    if count == 0 || count > layout.cap as usize {
        return Err(OpenError::Layout(
            "label set count outside 1..=max labels per identifier",
        ));
    }
    let mut sets = Vec::with_capacity(count);
    for (i, slot) in slots.chunks(layout.slot_len.max(1)).enumerate() {
        if i >= count {
            if slot.iter().any(|&b| b != 0) {
                return Err(OpenError::Layout("an unused slot is not all zero"));
            }
            continue;
        }
        let (h, mut rest) = slot
            .split_first_chunk::<HANDLE_LEN>()
            .ok_or(OpenError::Layout("short slot"))?;
        // Wiped if a later field fails: these are the partner's values.
        let mut values = Zeroizing::new(Vec::with_capacity(layout.columns.len()));
        for c in &layout.columns {
            let max = c.max_bytes as usize;
            let (len, tail) = rest
                .split_first_chunk::<2>()
                .ok_or(OpenError::Layout("short slot"))?;
            let len = usize::from(u16::from_be_bytes(*len));
            let field = tail.get(..max).ok_or(OpenError::Layout("short slot"))?;
            if len > max {
                return Err(OpenError::Layout(
                    "a value is longer than its column's maximum",
                ));
            }
            let (value, padding) = field.split_at(len);
            if padding.iter().any(|&b| b != 0) {
                return Err(OpenError::Layout("non-zero padding after a value"));
            }
            // The releasing side reads its values as text; anything else (a NUL, bytes
            // that are not UTF-8) would go unchecked into the learner's output.
            if std::str::from_utf8(value).is_err() || value.contains(&0) {
                return Err(OpenError::Layout("a released value is not text"));
            }
            values.push(value.to_vec());
            rest = tail.get(max..).unwrap_or_default();
        }
        sets.push(LabelSet {
            handle: *h,
            values: std::mem::take(&mut *values),
        });
    }
    Ok(sets)
}

/// Hashes our prepared-set keys (type index ‖ value) to the group with their type's
/// hasher, wipes and drops each raw value as it goes, and blinds the points with
/// `2·half`: what both sides send first of their own items.
pub(crate) fn hash_and_blind(
    items: &mut [Box<[u8]>],
    hashers: &[IdentifierHasher],
    half: &Scalar,
) -> Vec<[u8; 32]> {
    let hashed: Vec<RistrettoPoint> = items
        .par_iter_mut()
        .map(|key| {
            let (t, value) = split_key(key);
            // Type indices come from the same prepared set as the hashers.
            let p = hashers
                .get(usize::from(t))
                .map_or(RistrettoPoint::default(), |h| h.hash(value));
            key.zeroize();
            *key = Box::default();
            p
        })
        .collect();
    mul_compress(&hashed, half)
}

/// `2·(half·Pᵢ)` for each point, compressed: one field inversion per chunk instead of
/// one per point (`double_and_compress_batch`), run over the rayon pool.
pub(crate) fn mul_compress(points: &[RistrettoPoint], half: &Scalar) -> Vec<[u8; 32]> {
    let chunk = points
        .len()
        .div_ceil(4 * rayon::current_num_threads().max(1))
        .clamp(64, 1024);
    points
        .par_chunks(chunk)
        .flat_map_iter(|c| {
            let m: Vec<RistrettoPoint> = c.iter().map(|p| half * p).collect();
            RistrettoPoint::double_and_compress_batch(&m)
                .into_iter()
                .map(|c| c.to_bytes())
        })
        .collect()
}

/// Decompresses peer points, refusing the identity and non-canonical encodings;
/// the error is the index of a bad one.
pub(crate) fn decompress_all(points: &[[u8; 32]]) -> Result<Vec<RistrettoPoint>, usize> {
    points
        .par_iter()
        .enumerate()
        .map(|(i, b)| {
            // The identity is a valid encoding but never a blinded hash from an
            // honest peer; refusing it keeps degenerate inputs out.
            (*b != [0u8; 32])
                .then(|| CompressedRistretto(*b).decompress())
                .flatten()
                .ok_or(i)
        })
        .collect()
}

//! HMAC-SHA256 specialised for many short messages under one key and one fixed prefix.
//!
//! The generic `hmac` crate re-buffers every byte and zeroises its copied state on
//! each call; here the two pad blocks and the constant message prefix are absorbed
//! once, and a token of a typical identifier costs exactly two SHA-256 compressions
//! (SHA-NI when the CPU has it) on stack buffers. Checked against `hmac` and against
//! the published test vectors.

use sha2::block_api::compress256;

use crate::IdType;
use zeroize::{Zeroize, ZeroizeOnDrop};

/// SHA-256 initial hash value (FIPS 180-4, 5.3.3).
const IV: [u32; 8] = [
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
];
const BLOCK: usize = 64;
/// Longest `prefix ‖ message` that fits one padded block (room for `0x80` and the
/// 8-byte length).
const SHORT_ONE: usize = BLOCK - 9;
/// Longest constant prefix; it must fit in the first block with room to spare.
pub(crate) const MAX_PREFIX: usize = 48;

/// A constant MAC prefix of at most [`MAX_PREFIX`] bytes. Made by a `const fn` that
/// refuses a longer one: the crate's prefixes are `const` items, so an over-long
/// label is a compile error, never a prefix cut short.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Prefix {
    bytes: [u8; MAX_PREFIX],
    len: usize,
}

impl Prefix {
    /// The concatenation of `parts`.
    ///
    /// # Panics
    ///
    /// When the parts are longer than [`MAX_PREFIX`] bytes together; in a `const`
    /// item, that is a compile error.
    pub(crate) const fn of(parts: &[&[u8]]) -> Prefix {
        let mut bytes = [0u8; MAX_PREFIX];
        let mut len = 0;
        let mut i = 0;
        while i < parts.len() {
            let part = parts[i];
            let mut j = 0;
            while j < part.len() {
                assert!(len < MAX_PREFIX, "MAC prefix longer than MAX_PREFIX bytes");
                bytes[len] = part[j];
                len += 1;
                j += 1;
            }
            i += 1;
        }
        Prefix { bytes, len }
    }

    /// `domain ‖ type name ‖ 0x00` for every identifier type, in [`IdType::ALL`]
    /// order: the prefixes of tokens and short codes.
    pub(crate) const fn per_type(domain: &[u8]) -> [Prefix; IdType::ALL.len()] {
        let mut out = [Prefix {
            bytes: [0u8; MAX_PREFIX],
            len: 0,
        }; IdType::ALL.len()];
        let mut k = 0;
        while k < IdType::ALL.len() {
            out[k] = Prefix::of(&[domain, IdType::ALL[k].as_str().as_bytes(), &[0]]);
            k += 1;
        }
        out
    }

    fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..self.len).unwrap_or_default()
    }
}

/// `HMAC-SHA256(key, prefix ‖ message)` with `key` and `prefix` fixed at construction.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct PrefixedHmac {
    /// State after the `key ⊕ ipad` block.
    inner: [u32; 8],
    /// State after the `key ⊕ opad` block.
    outer: [u32; 8],
    /// The prefix followed by zeros: the start of every message's first block.
    block: [u8; BLOCK],
    prefix_len: usize,
}

impl PrefixedHmac {
    /// Prepares the pad states for `key` and `prefix`.
    pub(crate) fn new(key: &[u8; 32], prefix: &Prefix) -> PrefixedHmac {
        let mut ipad = [0x36u8; BLOCK];
        let mut opad = [0x5cu8; BLOCK];
        for (i, k) in key.iter().enumerate() {
            ipad[i] ^= k;
            opad[i] ^= k;
        }
        let mut inner = IV;
        let mut outer = IV;
        compress256(&mut inner, &[ipad]);
        compress256(&mut outer, &[opad]);
        ipad.zeroize();
        opad.zeroize();
        let mut buf = [0u8; BLOCK];
        let bytes = prefix.as_bytes();
        // MAX_PREFIX < BLOCK: the prefix always fits the first block.
        buf[..bytes.len()].copy_from_slice(bytes);
        PrefixedHmac {
            inner,
            outer,
            block: buf,
            prefix_len: bytes.len(),
        }
    }

    /// Pads `prefix ‖ message` into the inner hash's remaining blocks; the number
    /// of blocks (1 or 2), or `None` when the message needs more (then use [`mac`]).
    ///
    /// [`mac`]: PrefixedHmac::mac
    fn pad_short(&self, message: &[u8], blocks: &mut [[u8; BLOCK]; 2]) -> Option<usize> {
        let total = self.prefix_len + message.len();
        let n = match total {
            0..=SHORT_ONE => 1,
            _ if total <= SHORT_ONE + BLOCK => 2,
            _ => return None,
        };
        let [first, second] = blocks;
        *first = self.block;
        let head = message.len().min(BLOCK - self.prefix_len);
        first[self.prefix_len..self.prefix_len + head].copy_from_slice(&message[..head]);
        let bits = ((BLOCK + total) as u64).wrapping_mul(8).to_be_bytes();
        if n == 1 {
            first[total] = 0x80;
            first[BLOCK - 8..].copy_from_slice(&bits);
        } else {
            *second = [0; BLOCK];
            let tail = &message[head..];
            second[..tail.len()].copy_from_slice(tail);
            // 0x80 goes right after the message: in the first block when the
            // message ends exactly at its end, otherwise in the second.
            match first.get_mut(total) {
                Some(slot) => *slot = 0x80,
                None => second[tail.len()] = 0x80,
            }
            second[BLOCK - 8..].copy_from_slice(&bits);
        }
        Some(n)
    }

    /// The 32-byte MAC of `prefix ‖ message`.
    pub(crate) fn mac(&self, message: &[u8]) -> [u8; 32] {
        let mut state = self.inner;
        let mut block = self.block;
        let mut fill = self.prefix_len;
        let take = (BLOCK - fill).min(message.len());
        block[fill..fill + take].copy_from_slice(&message[..take]);
        fill += take;
        if fill == BLOCK {
            compress256(&mut state, &[block]);
            let (blocks, tail) = message[take..].as_chunks::<BLOCK>();
            compress256(&mut state, blocks);
            block = [0u8; BLOCK];
            block[..tail.len()].copy_from_slice(tail);
            fill = tail.len();
        }
        // Padding: 0x80, zeros, then the bit length of ipad block + prefix + message.
        block[fill] = 0x80;
        block[fill + 1..].fill(0);
        if fill >= BLOCK - 8 {
            compress256(&mut state, &[block]);
            block = [0u8; BLOCK];
        }
        let bits = ((BLOCK + self.prefix_len + message.len()) as u64).wrapping_mul(8);
        block[BLOCK - 8..].copy_from_slice(&bits.to_be_bytes());
        compress256(&mut state, &[block]);

        // Outer hash: opad block, then the 32-byte inner digest in one padded block.
        let mut out_state = self.outer;
        compress256(&mut out_state, &[outer_block(&state)]);
        state_bytes(&out_state)
    }
}

/// MACs computed side by side by [`mac_many`]. Eight covers the CPU's SHA-256 latency
/// with room to spare.
pub(crate) const LANES: usize = 8;

/// The MAC of each `(state, message)` in `jobs` into the same slot of `out`
/// (`out` shorter than `jobs` leaves the rest uncomputed): the same values as
/// [`PrefixedHmac::mac`] one by one, but faster. A single SHA-256 compression is a
/// chain of dependent instructions, so a CPU runs two independent ones almost in
/// the time of one; HMACs done one after the other cannot use that, as each outer
/// hash waits for its inner hash. Here all inner hashes of a group go first, then
/// all outer hashes, and every block is padded before the compressions start (a
/// block stored just before it is loaded stalls the pipeline).
pub(crate) fn mac_many(jobs: &[(&PrefixedHmac, &[u8])], out: &mut [[u8; 32]]) {
    let mut blocks = [[[0u8; BLOCK]; 2]; LANES];
    for (jobs, out) in jobs.chunks(LANES).zip(out.chunks_mut(LANES)) {
        let mut used = [0usize; LANES];
        for ((&(hmac, message), blocks), used) in jobs.iter().zip(&mut blocks).zip(&mut used) {
            *used = hmac.pad_short(message, blocks).unwrap_or(0);
        }
        let mut states = [[0u32; 8]; LANES];
        for (((&(hmac, _), blocks), &used), state) in
            jobs.iter().zip(&blocks).zip(&used).zip(&mut states)
        {
            if used > 0 {
                *state = hmac.inner;
                compress256(state, &blocks[..used]);
            }
        }
        let mut outer_blocks = [[0u8; BLOCK]; LANES];
        for (block, state) in outer_blocks.iter_mut().zip(&states) {
            *block = outer_block(state);
        }
        for ((((&(hmac, message), block), &used), state), mac) in jobs
            .iter()
            .zip(&outer_blocks)
            .zip(&used)
            .zip(&mut states)
            .zip(out.iter_mut())
        {
            if used > 0 {
                *state = hmac.outer;
                compress256(state, std::slice::from_ref(block));
                *mac = state_bytes(state);
            } else {
                *mac = hmac.mac(message);
            }
        }
    }
}

/// The outer hash's only block: the inner digest, padded (its length is fixed).
fn outer_block(inner: &[u32; 8]) -> [u8; BLOCK] {
    let mut block = [0u8; BLOCK];
    block[..32].copy_from_slice(&state_bytes(inner));
    block[32] = 0x80;
    block[BLOCK - 8..].copy_from_slice(&(((BLOCK + 32) * 8) as u64).to_be_bytes());
    block
}

/// A SHA-256 state as its big-endian digest bytes.
fn state_bytes(state: &[u32; 8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(state) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    out
}

#[cfg(test)]
mod tests {
    use hmac::{KeyInit, Mac};

    use super::*;

    #[test]
    fn matches_the_hmac_crate_at_every_length_around_block_boundaries() {
        let key: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(37).wrapping_add(5));
        let prefix: &[&[u8]] = &[b"blindmatch/v1/token/", b"email", b"\x00"];
        let fast = PrefixedHmac::new(&key, &Prefix::of(prefix));
        let message: Vec<u8> = (0..300u32).map(|i| (i * 7 + 1) as u8).collect();
        for len in 0..message.len() {
            let mut reference = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key)
                .unwrap_or_else(|_| unreachable!());
            for p in prefix {
                reference.update(p);
            }
            reference.update(&message[..len]);
            let want: [u8; 32] = reference.finalize().into_bytes().into();
            assert_eq!(fast.mac(&message[..len]), want, "length {len}");
        }
    }

    #[test]
    fn mac_many_matches_mac_at_every_length_and_group_size() {
        let key: [u8; 32] = core::array::from_fn(|i| (i as u8).wrapping_mul(11));
        let phone = PrefixedHmac::new(
            &key,
            &Prefix::of(&[b"blindmatch/v1/token/", b"phone", b"\x00"]),
        );
        let email = PrefixedHmac::new(
            &key,
            &Prefix::of(&[b"blindmatch/v1/token/", b"email", b"\x00"]),
        );
        let message: Vec<u8> = (0..200u32).map(|i| (i * 13 + 7) as u8).collect();
        // Every length up to past two blocks, alternating states, in groups that
        // do and do not fill all lanes.
        let jobs: Vec<(&PrefixedHmac, &[u8])> = (0..message.len())
            .map(|len| {
                let hmac = if len % 3 == 0 { &email } else { &phone };
                (hmac, &message[..len])
            })
            .collect();
        for take in [0, 1, LANES - 1, LANES, LANES + 1, jobs.len()] {
            let mut out = vec![[0u8; 32]; take];
            mac_many(&jobs[..take], &mut out);
            for (i, ((hmac, m), got)) in jobs.iter().zip(&out).enumerate() {
                assert_eq!(*got, hmac.mac(m), "length {i}, group of {take}");
            }
        }
    }

    #[test]
    fn a_prefix_is_never_cut_short() {
        let longest = [b'x'; MAX_PREFIX];
        assert_eq!(Prefix::of(&[&longest]).as_bytes(), &longest[..]);
        let per_type = Prefix::per_type(b"blindmatch/v1/token/");
        assert_eq!(per_type[0].as_bytes(), b"blindmatch/v1/token/phone\x00");
        // One byte more is refused, not truncated (a compile error in a const item).
        let over = std::panic::catch_unwind(|| Prefix::of(&[&longest, b"y"]));
        assert!(over.is_err());
    }

    #[test]
    fn empty_prefix_is_plain_hmac() {
        let key = [0x0bu8; 32];
        let fast = PrefixedHmac::new(&key, &Prefix::of(&[]));
        let mut reference = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&key)
            .unwrap_or_else(|_| unreachable!());
        reference.update(b"Hi There");
        let want: [u8; 32] = reference.finalize().into_bytes().into();
        assert_eq!(fast.mac(b"Hi There"), want);
    }
}

//! Keyed tokens: `HMAC-SHA256(K, "blindmatch/v1/token/" ‖ type ‖ 0x00 ‖ value)`,
//! written `bm1.<kid>.<base64url>`; and parsing of token strings for audits.

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::{Choice, ConstantTimeEq};

use crate::prf::{LANES, Prefix, PrefixedHmac, mac_many};
use crate::{Error, IdType, Key, KeyId, TokenProblem};

/// Domain label that starts every token's HMAC input (version 1).
pub const TOKEN_DOMAIN: &[u8] = b"blindmatch/v1/token/";

/// `TOKEN_DOMAIN ‖ type ‖ 0x00` per identifier type, checked against the MAC's prefix
/// limit when this crate compiles.
const TOKEN_PREFIXES: [Prefix; IdType::ALL.len()] = Prefix::per_type(TOKEN_DOMAIN);
/// Version prefix of the text form.
pub const TOKEN_PREFIX: &str = "bm1";
/// Full token length in bytes (the default).
pub const FULL_LEN: usize = 32;
/// Shortest truncation offered: 128 bits keeps collisions negligible for any data set
/// (see `docs/token-format.md`).
pub const MIN_LEN: usize = 16;

/// Computes tokens under one key, fast: the key schedule and the domain/type prefix
/// are absorbed once, and each token clones a prepared HMAC state.
///
/// Holds key-derived state: zeroised on drop, no `Clone`, `Debug` shows only the key ID.
/// It is `Sync`, so one tokeniser can serve many threads.
pub struct Tokenizer {
    kid: KeyId,
    /// `bm1.<kid>.`, the start of every token's text.
    text_prefix: [u8; PREFIX_LEN],
    /// One prepared state per [`IdType`], indexed by [`IdType::index`].
    states: [PrefixedHmac; IdType::ALL.len()],
    len: usize,
}

impl Tokenizer {
    /// A tokeniser producing full 256-bit tokens.
    pub fn new(key: &Key) -> Tokenizer {
        let states = TOKEN_PREFIXES.map(|p| PrefixedHmac::new(key.expose(), &p));
        let kid = key.id();
        Tokenizer {
            kid,
            text_prefix: text_prefix(kid),
            states,
            len: FULL_LEN,
        }
    }

    /// A tokeniser producing tokens truncated to `len` bytes (16 to 32).
    ///
    /// # Errors
    /// [`Error::TokenLength`] outside 16..=32.
    pub fn with_len(key: &Key, len: usize) -> Result<Tokenizer, Error> {
        if !(MIN_LEN..=FULL_LEN).contains(&len) {
            return Err(Error::TokenLength {
                given: len,
                min: MIN_LEN,
                max: FULL_LEN,
            });
        }
        let mut t = Tokenizer::new(key);
        t.len = len;
        Ok(t)
    }

    /// The ID of the key, as written in every token.
    pub fn key_id(&self) -> KeyId {
        self.kid
    }

    /// Token length in bytes.
    pub fn token_len(&self) -> usize {
        self.len
    }

    /// Length of the text form, `bm1.` + 16 + `.` + base64url.
    pub fn encoded_len(&self) -> usize {
        TOKEN_PREFIX.len() + 2 + KeyId::TEXT_LEN + self.len.div_ceil(3) * 4 - (3 - self.len % 3) % 3
    }

    /// The full 32-byte HMAC of a normalised value (before any truncation).
    pub fn mac(&self, id_type: IdType, normalised: &[u8]) -> [u8; 32] {
        // `states` has one entry per IdType, so the lookup always succeeds.
        self.states
            .get(id_type.index())
            .map_or([0; 32], |s| s.mac(normalised))
    }

    /// The token of a normalised value.
    pub fn token(&self, id_type: IdType, normalised: &[u8]) -> Token {
        Token {
            kid: self.kid,
            mac: self.mac(id_type, normalised),
            len: self.len as u8,
        }
    }

    /// Appends the text form of the token to `out`; no allocation if `out` has room.
    pub fn write_token(&self, id_type: IdType, normalised: &[u8], out: &mut String) {
        let mac = self.mac(id_type, normalised);
        write_text(&self.text_prefix, mac.get(..self.len).unwrap_or(&mac), out);
    }

    /// The full 32-byte HMACs of many normalised values, appended to `out` in
    /// order: exactly what [`Tokenizer::mac`] gives one by one, but about 1.4×
    /// faster, because the independent SHA-256 compressions of several values
    /// overlap in the CPU. Write the text forms with [`Tokenizer::write_mac_text`].
    pub fn macs<'a, I>(&self, values: I, out: &mut Vec<[u8; 32]>)
    where
        I: IntoIterator<Item = (IdType, &'a [u8])>,
    {
        let mut values = values.into_iter();
        loop {
            let mut jobs: [(&PrefixedHmac, &[u8]); LANES] = [(&self.states[0], &[]); LANES];
            let mut n = 0;
            for (slot, (id_type, value)) in jobs.iter_mut().zip(&mut values) {
                // `states` has one entry per IdType, so the lookup always succeeds.
                *slot = (
                    self.states.get(id_type.index()).unwrap_or(&self.states[0]),
                    value,
                );
                n += 1;
            }
            if n == 0 {
                return;
            }
            let start = out.len();
            out.resize(start + n, [0; 32]);
            if let (Some(jobs), Some(slots)) = (jobs.get(..n), out.get_mut(start..)) {
                mac_many(jobs, slots);
            }
            if n < LANES {
                return;
            }
        }
    }

    /// Writes the text form of a MAC (as [`Tokenizer::write_mac_text`]) into
    /// `dst`, which must be exactly [`Tokenizer::encoded_len`] bytes: for callers
    /// that fill one preallocated buffer from several threads, a token per slot.
    /// Returns false, writing nothing, when `dst` has another length.
    pub fn mac_text_into(&self, mac: &[u8; 32], dst: &mut [u8]) -> bool {
        if dst.len() != self.encoded_len() {
            return false;
        }
        encode_text(&self.text_prefix, mac.get(..self.len).unwrap_or(mac), dst) == dst.len()
    }

    /// Appends the text form `bm1.<kid>.<base64url>` of a MAC from
    /// [`Tokenizer::macs`] or [`Tokenizer::mac`] to `out` (ASCII, so `out` stays
    /// UTF-8 if it was), cut to this tokeniser's token length.
    pub fn write_mac_text(&self, mac: &[u8; 32], out: &mut Vec<u8>) {
        // Written in place over zeros: copying a stack buffer that was just
        // filled a few bytes at a time would stall the CPU's store forwarding.
        let start = out.len();
        if self.len == FULL_LEN {
            out.extend_from_slice(&[0; PREFIX_LEN + 43]);
        } else {
            out.resize(start + self.encoded_len(), 0);
        }
        if let Some(dst) = out.get_mut(start..) {
            encode_text(&self.text_prefix, mac.get(..self.len).unwrap_or(mac), dst);
        }
    }
}

impl fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tokenizer")
            .field("key_id", &self.kid)
            .field("token_len", &self.len)
            .finish_non_exhaustive()
    }
}

/// Length of `bm1.<kid>.`.
const PREFIX_LEN: usize = TOKEN_PREFIX.len() + 2 + KeyId::TEXT_LEN;

/// `bm1.<kid>.` for a key ID.
fn text_prefix(kid: KeyId) -> [u8; PREFIX_LEN] {
    let mut prefix = [0u8; PREFIX_LEN];
    prefix[..3].copy_from_slice(TOKEN_PREFIX.as_bytes());
    prefix[3] = b'.';
    prefix[4..PREFIX_LEN - 1].copy_from_slice(&kid.to_hex_array());
    prefix[PREFIX_LEN - 1] = b'.';
    prefix
}

/// Writes `bm1.<kid>.<base64url>` with one `push_str`; base64url is encoded by hand
/// into a stack buffer because this runs once per identifier cell.
fn write_text(prefix: &[u8; PREFIX_LEN], mac: &[u8], out: &mut String) {
    let mut buf = [0u8; PREFIX_LEN + 43];
    let n = encode_text(prefix, mac, &mut buf).min(buf.len());
    // The buffer holds ASCII only, so this never falls back.
    out.push_str(std::str::from_utf8(buf.get(..n).unwrap_or(&[])).unwrap_or(""));
}

/// `bm1.<kid>.<base64url>` into the start of `buf`, which holds at least
/// `PREFIX_LEN + 43` bytes (shorter writes nothing); returns the length written.
fn encode_text(prefix: &[u8; PREFIX_LEN], mac: &[u8], buf: &mut [u8]) -> usize {
    let Some((head, rest)) = buf.split_first_chunk_mut::<PREFIX_LEN>() else {
        return 0;
    };
    *head = *prefix;
    PREFIX_LEN + b64url(mac.get(..FULL_LEN).unwrap_or(mac), rest)
}

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The two base64url characters of every 12-bit value: one lookup per two
/// characters instead of one per character (8 KiB, built at compile time).
static PAIRS: [[u8; 2]; 4096] = {
    let mut table = [[0u8; 2]; 4096];
    let mut v = 0;
    while v < 4096 {
        table[v] = [ALPHABET[v >> 6], ALPHABET[v & 63]];
        v += 1;
    }
    table
};

/// Unpadded base64url (RFC 4648 §5) of `src` into `dst`; returns the length written.
/// `dst` must hold `ceil(4 * src.len() / 3)` bytes (43 for 32 bytes); a shorter
/// `dst` gets only the groups that fit.
fn b64url(src: &[u8], dst: &mut [u8]) -> usize {
    let mut n = 0;
    // Fixed-size chunks, so each group is one 4-byte store, not a `memcpy` call.
    let (groups, rest) = src.as_chunks::<3>();
    for (&[x, y, z], out) in groups.iter().zip(dst.as_chunks_mut::<4>().0) {
        let v = (usize::from(x) << 16) | (usize::from(y) << 8) | usize::from(z);
        let [a, b] = PAIRS[v >> 12];
        let [c, d] = PAIRS[v & 0xfff];
        *out = [a, b, c, d];
        n += 4;
    }
    if n < groups.len() * 4 {
        return n;
    }
    let sym = |v: u32| ALPHABET[(v & 63) as usize];
    let v = match rest {
        [a] => u32::from(*a) << 16,
        [a, b] => (u32::from(*a) << 16) | (u32::from(*b) << 8),
        _ => return n,
    };
    let tail = [sym(v >> 18), sym(v >> 12), sym(v >> 6)];
    let k = rest.len() + 1;
    if let Some(d) = dst.get_mut(n..n + k) {
        d.copy_from_slice(&tail[..k]);
        n += k;
    }
    n
}

/// A parsed token: version 1, the key ID and the MAC bytes (16 to 32).
///
/// A token is a pseudonym, not a secret, but equal tokens link records; compare with
/// [`ConstantTimeEq`] where timing could matter.
#[derive(Clone, Copy)]
pub struct Token {
    kid: KeyId,
    mac: [u8; 32],
    len: u8,
}

impl Token {
    /// The format version (1 for `bm1`).
    pub const fn version(&self) -> u32 {
        1
    }

    /// The ID of the key that made the token.
    pub fn key_id(&self) -> KeyId {
        self.kid
    }

    /// The MAC bytes (32 unless truncated).
    pub fn mac(&self) -> &[u8] {
        self.mac.get(..usize::from(self.len)).unwrap_or(&self.mac)
    }

    /// Parses `bm1.<kid>.<base64url>`.
    ///
    /// # Errors
    /// [`Error::InvalidToken`] saying which part is malformed.
    pub fn parse(s: &str) -> Result<Token, Error> {
        let bad = |problem| Error::InvalidToken { problem };
        let mut parts = s.split('.');
        let (Some(version), Some(kid), Some(mac), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(TokenProblem::Shape));
        };
        if version != TOKEN_PREFIX {
            return Err(bad(TokenProblem::UnknownVersion));
        }
        let kid: KeyId = kid.parse().map_err(|_| bad(TokenProblem::KeyId))?;
        // Room for any well-encoded MAC a little over 32 bytes, so that an overlong
        // one is reported as a length problem rather than an encoding problem.
        if mac.len() > 64 {
            return Err(bad(TokenProblem::Length {
                found: mac.len() * 3 / 4,
            }));
        }
        let mut buf = [0u8; 48];
        let n = URL_SAFE_NO_PAD
            .decode_slice(mac, &mut buf)
            .map_err(|_| bad(TokenProblem::Encoding))?;
        if !(MIN_LEN..=FULL_LEN).contains(&n) {
            return Err(bad(TokenProblem::Length { found: n }));
        }
        let mut out = [0u8; 32];
        out[..n].copy_from_slice(&buf[..n]);
        Ok(Token {
            kid,
            mac: out,
            len: n as u8,
        })
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Token) -> bool {
        self.kid == other.kid && self.mac() == other.mac()
    }
}

impl Eq for Token {}

impl std::hash::Hash for Token {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.kid.hash(state);
        self.mac().hash(state);
    }
}

impl ConstantTimeEq for Token {
    fn ct_eq(&self, other: &Token) -> Choice {
        let same_len = Choice::from(u8::from(self.len == other.len));
        self.kid.ct_eq(&other.kid) & same_len & self.mac.ct_eq(&other.mac)
    }
}

impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut s = String::with_capacity(64);
        write_text(&text_prefix(self.kid), self.mac(), &mut s);
        f.write_str(&s)
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Token({self})")
    }
}

impl FromStr for Token {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Token::parse(s)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn same_inputs_same_token_other_inputs_unrelated() {
        let k = Key::from_bytes([1; 32]);
        let t = Tokenizer::new(&k);
        let a = t.token(IdType::Phone, b"+8613812345678");
        assert_eq!(
            a,
            Tokenizer::new(&Key::from_bytes([1; 32])).token(IdType::Phone, b"+8613812345678")
        );
        assert_ne!(a, t.token(IdType::Raw, b"+8613812345678"));
        assert_ne!(a, t.token(IdType::Phone, b"+8613812345679"));
        let other =
            Tokenizer::new(&Key::from_bytes([2; 32])).token(IdType::Phone, b"+8613812345678");
        assert_ne!(a.mac(), other.mac());
        assert_ne!(a.key_id(), other.key_id());
    }

    #[test]
    fn text_form_round_trips() {
        let t = Tokenizer::new(&Key::from_bytes([1; 32]));
        let mut s = String::new();
        t.write_token(IdType::Email, b"a@b.cn", &mut s);
        assert_eq!(s.len(), t.encoded_len());
        assert_eq!(s.len(), 64);
        assert!(s.starts_with(&format!("bm1.{}.", t.key_id())));
        let parsed: Token = s.parse().unwrap();
        assert_eq!(parsed, t.token(IdType::Email, b"a@b.cn"));
        assert_eq!(parsed.to_string(), s);
        assert!(bool::from(parsed.ct_eq(&t.token(IdType::Email, b"a@b.cn"))));
        assert_eq!(parsed.version(), 1);
        // Appends, does not clear.
        t.write_token(IdType::Email, b"a@b.cn", &mut s);
        assert_eq!(s.len(), 128);
    }

    #[test]
    fn batched_macs_and_text_match_one_by_one() {
        let k = Key::from_bytes([3; 32]);
        let values: Vec<(IdType, Vec<u8>)> = (0..40usize)
            .map(|i| {
                let t = IdType::ALL[i % IdType::ALL.len()];
                (t, format!("value-{}", "x".repeat(i * 3)).into_bytes())
            })
            .collect();
        for len in [FULL_LEN, 20, MIN_LEN] {
            let t = Tokenizer::with_len(&k, len).unwrap();
            for take in [0, 1, 7, 8, 9, 40] {
                let mut macs = vec![[9u8; 32]];
                t.macs(
                    values[..take].iter().map(|(t, v)| (*t, v.as_slice())),
                    &mut macs,
                );
                assert_eq!(macs.len(), take + 1, "appends");
                for ((id_type, v), mac) in values.iter().zip(&macs[1..]) {
                    assert_eq!(*mac, t.mac(*id_type, v));
                    let mut want = String::new();
                    t.write_token(*id_type, v, &mut want);
                    let mut got = b"x".to_vec();
                    t.write_mac_text(mac, &mut got);
                    assert_eq!(got[1..], *want.as_bytes());
                }
            }
        }
    }

    #[test]
    fn hand_written_base64url_matches_the_base64_crate() {
        let data: Vec<u8> = (0..=255u8).rev().collect();
        for len in 0..=32 {
            let mut buf = [0u8; 43];
            let n = b64url(&data[..len], &mut buf);
            assert_eq!(
                &buf[..n],
                URL_SAFE_NO_PAD.encode(&data[..len]).as_bytes(),
                "{len}"
            );
        }
    }

    #[test]
    fn truncation() {
        let k = Key::from_bytes([1; 32]);
        let full = Tokenizer::new(&k);
        for len in [16, 20, 24, 31] {
            let t = Tokenizer::with_len(&k, len).unwrap();
            let tok = t.token(IdType::Name, b"x");
            assert_eq!(tok.mac(), &full.mac(IdType::Name, b"x")[..len]);
            let mut s = String::new();
            t.write_token(IdType::Name, b"x", &mut s);
            assert_eq!(s.len(), t.encoded_len(), "{len}");
            assert_eq!(Token::parse(&s).unwrap(), tok);
        }
        assert!(Tokenizer::with_len(&k, 15).is_err());
        assert!(Tokenizer::with_len(&k, 33).is_err());
    }

    #[test]
    fn malformed_tokens() {
        let good = Tokenizer::new(&Key::from_bytes([1; 32]))
            .token(IdType::Raw, b"v")
            .to_string();
        let (_, rest) = good.split_at(4);
        let cases = [
            ("", TokenProblem::Shape),
            ("bm1.abc", TokenProblem::Shape),
            (&format!("{good}.x") as &str, TokenProblem::Shape),
            (&format!("bm2.{rest}"), TokenProblem::UnknownVersion),
            (&good.replacen('.', ".X", 1), TokenProblem::KeyId),
            (
                &format!("{}=", &good[..good.len() - 1]),
                TokenProblem::Encoding,
            ),
            (&format!("{good}!"), TokenProblem::Encoding),
            (&good[..good.len() - 31], TokenProblem::Length { found: 9 }),
            (&format!("{good}AAAA"), TokenProblem::Length { found: 35 }),
        ];
        for (s, want) in cases {
            match Token::parse(s) {
                Err(Error::InvalidToken { problem }) => assert_eq!(problem, want, "{s}"),
                other => panic!("{s}: {other:?}"),
            }
        }
    }
}

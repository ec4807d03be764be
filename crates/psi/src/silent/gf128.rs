//! `GF(2^128)` for the silent VOLE. Elements are `u128` (bit `i` is the coefficient
//! of `x^i`, little-endian on the wire); addition is XOR.
//!
//! Multiplication is POLYVAL's (RFC 8452 §3, the `polyval` crate's constant-time
//! portable arithmetic): `a ⊗ b = a·b·x^-128 mod x^128 + x^127 + x^126 + x^121 + 1`.
//! That is the product of the field in Montgomery form — `a ↦ a·x^-128` maps it
//! onto the plain field — so `(u128, ⊕, ⊗)` is itself a field isomorphic to
//! `GF(2^128)`, with unit `x^128 mod p`. Both parties use it for every product, so every
//! VOLE correlation `c = b ⊕ a ⊗ Δ` holds in it exactly as in the plain field.

use polyval::hazmat::FieldElement;

#[cfg(test)]
/// The unit of `⊗`: `x^128 mod p = x^127 + x^126 + x^121 + 1`.
pub(crate) const ONE: u128 = (1 << 127) | (1 << 126) | (1 << 121) | 1;

/// `a ⊗ b`.
#[inline]
pub(crate) fn mul(a: u128, b: u128) -> u128 {
    u128::from(FieldElement::from(a) * FieldElement::from(b))
}

/// `Σ_k 2^k ⊗ rows[k]` over 128 rows: with correlated OTs `T_k = Q_k ⊕ r_k·Δ`
/// this gives `Σ 2^k ⊗ T_k = Σ 2^k ⊗ Q_k ⊕ β ⊗ Δ` where `β = Σ r_k·2^k` is the
/// choice bits read as one element (Gilboa's product from OT, CRYPTO 1999; the
/// gadget form of Ferret, Yang et al. CCS 2020, §3).
pub(crate) fn gadget(rows: &[u128]) -> u128 {
    rows.iter()
        .take(128)
        .enumerate()
        .fold(0, |acc, (k, &r)| acc ^ mul(1u128 << k, r))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// `a·b mod p` by shift and add, then `· x^-128` by 128 halvings: the definition,
    /// written independently of the crate's Karatsuba and Montgomery reduction.
    fn reference(a: u128, b: u128) -> u128 {
        // p without its x^128 term.
        const LOW: u128 = (1 << 127) | (1 << 126) | (1 << 121) | 1;
        let mut acc = 0u128;
        let mut a = a;
        for i in 0..128 {
            if b >> i & 1 == 1 {
                acc ^= a;
            }
            let carry = a >> 127;
            a <<= 1;
            if carry == 1 {
                a ^= LOW;
            }
        }
        // Divide by x 128 times: x^-1 = (p - 1)/x... add p when odd, then shift.
        for _ in 0..128 {
            let odd = acc & 1;
            acc >>= 1;
            if odd == 1 {
                // (acc + p) / x: p = x^128 + LOW, LOW odd.
                acc ^= (LOW >> 1) | (1 << 127);
            }
        }
        acc
    }

    #[test]
    fn rfc8452_vector_and_unit() {
        // RFC 8452 test vector (as in the polyval crate): A ⊗ B.
        let a = u128::from_le_bytes(
            *b"\x66\xe9\x4b\xd4\xef\x8a\x2c\x3b\x88\x4c\xfa\x59\xca\x34\x2b\x2e",
        );
        let b = u128::from_le_bytes(*b"\xff\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
        let expected = u128::from_le_bytes(
            *b"\xeb\xe5\x63\x40\x1e\x7e\x91\xea\x3a\xd6\x42\x6b\x81\x40\xc3\x94",
        );
        assert_eq!(mul(a, b), expected);
        assert_eq!(reference(a, b), expected);
        assert_eq!(mul(a, ONE), a);
        assert_eq!(mul(ONE, ONE), ONE);
        assert_eq!(mul(a, 0), 0);
    }

    proptest! {
        #[test]
        fn field_laws_hold(a: u128, b: u128, c: u128) {
            prop_assert_eq!(mul(a, b), reference(a, b));
            prop_assert_eq!(mul(a, b), mul(b, a));
            prop_assert_eq!(mul(mul(a, b), c), mul(a, mul(b, c)));
            prop_assert_eq!(mul(a, b ^ c), mul(a, b) ^ mul(a, c));
        }

        #[test]
        fn gadget_turns_bit_correlations_into_one(delta: u128, beta: u128, seed: u64) {
            // T_k = Q_k ⊕ r_k·Δ with r_k the bits of β.
            let q: Vec<u128> = (0..128u64)
                .map(|k| u128::from(k ^ seed).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
                .collect();
            let t: Vec<u128> = q
                .iter()
                .enumerate()
                .map(|(k, &qk)| if beta >> k & 1 == 1 { qk ^ delta } else { qk })
                .collect();
            prop_assert_eq!(gadget(&t), gadget(&q) ^ mul(beta, delta));
        }
    }
}

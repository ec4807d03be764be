//! Silent VOLE over `GF(2^128)` (Boyle–Couteau–Gilboa–Ishai–Kohl–Scholl, CCS 2019 and
//! CRYPTO 2019; the semi-honest construction RR22 runs on), sans-IO: the parties
//! end with
//!
//! `C = B ⊕ A ⊗ Δ` (length `m`),
//!
//! the *receiver* (the OPRF receiver of `vole-rr22-silent`) holding `A` and `C`, the
//! *sender* holding `Δ` and `B`. The pieces, bottom up:
//!
//! 1. `gf128`: the field; `cot`: 128 base OTs on ristretto255 extended to
//!    correlated OTs `T = Q ⊕ r·Δ`; 128 of them make one base-VOLE entry.
//! 2. `ggm`: `t` GGM trees, each a puncturable PRF the receiver learns at every
//!    leaf but one, turned into `t` single-point VOLEs: a sparse VOLE whose `A` has
//!    one non-zero entry per block of `2^d` (regular noise).
//! 3. `code`: the dual-LPN compression (an expand-convolute code) from the sparse
//!    length-`N` VOLE to a pseudorandom length-`m` one; [`params`] sizes `t`, `d`
//!    and `N` for 128-bit security.

pub(crate) mod code;
pub(crate) mod cot;
pub(crate) mod gf128;
pub(crate) mod ggm;
pub mod params;
pub(crate) mod session;

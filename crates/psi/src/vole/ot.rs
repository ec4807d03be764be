//! Base oblivious transfer on ristretto255: the "simplest OT" of Chou and Orlandi
//! (LATINCRYPT 2015), semi-honest, with the keys hashed together with the session
//! context, the OT index and both public points.
//!
//! The OT sender publishes `A = a·G`; for choice `c` the receiver publishes
//! `B = b·G + c·A` and keeps `k_c = H(b·A)`; the sender derives `k_0 = H(a·B)` and
//! `k_1 = H(a·(B − A))`. `B` is uniform whatever `c` is, so the sender learns
//! nothing of the choices; without `a` the receiver cannot compute the other key
//! (computational Diffie–Hellman in the random-oracle model).

use curve25519_dalek::constants::RISTRETTO_BASEPOINT_TABLE;
use curve25519_dalek::ristretto::{CompressedRistretto, RistrettoBasepointTable, RistrettoPoint};
use curve25519_dalek::{Scalar, traits::Identity};
use rand::CryptoRng;
use rayon::prelude::*;
use subtle::{Choice, ConditionallySelectable};
use zeroize::{Zeroize, Zeroizing};

use super::hash::base_ot_key;

/// A 32-byte OT key (seeds the OT extension's PRG).
pub(crate) type OtKey = Zeroizing<[u8; 32]>;

/// A compressed point from the peer that is not a valid, non-identity ristretto255
/// encoding, at this index of its message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPoint(pub(crate) usize);

fn decompress(bytes: &[u8; 32]) -> Option<RistrettoPoint> {
    CompressedRistretto(*bytes)
        .decompress()
        .filter(|p| *p != RistrettoPoint::identity())
}

fn random_scalar<R: CryptoRng + ?Sized>(rng: &mut R) -> Scalar {
    let mut wide = Zeroizing::new([0u8; 64]);
    rng.fill_bytes(&mut wide[..]);
    Scalar::from_bytes_mod_order_wide(&wide)
}

/// The OT sender's secret `a` and public `A`.
pub(crate) struct OtSender {
    a: Scalar,
    public: [u8; 32],
}

impl Drop for OtSender {
    fn drop(&mut self) {
        self.a.zeroize();
    }
}

impl OtSender {
    pub(crate) fn new<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        let a = random_scalar(rng);
        let public = (&a * RISTRETTO_BASEPOINT_TABLE).compress().to_bytes();
        OtSender { a, public }
    }

    /// `A`, for the receiver.
    pub(crate) fn public(&self) -> [u8; 32] {
        self.public
    }

    /// Both keys of every OT, from the receiver's points.
    ///
    /// # Errors
    /// [`BadPoint`] with the index of the first point that does not decode.
    pub(crate) fn keys(
        &self,
        context: &[u8; 32],
        points: &[[u8; 32]],
    ) -> Result<Vec<(OtKey, OtKey)>, BadPoint> {
        let big_a = decompress(&self.public).ok_or(BadPoint(usize::MAX))?;
        // a·(B − A) = a·B − a·A: one multiplication per OT instead of two.
        let mut a_big_a = self.a * big_a;
        let keys = points
            .par_iter()
            .enumerate()
            .map(|(i, bytes)| {
                let b = decompress(bytes).ok_or(BadPoint(i))?;
                // i < BASE_OTS, a small constant.
                let index = i as u32;
                let shared = self.a * b;
                let k0 = shared.compress().to_bytes();
                let k1 = (shared - a_big_a).compress().to_bytes();
                Ok((
                    Zeroizing::new(base_ot_key(context, index, &self.public, bytes, &k0)),
                    Zeroizing::new(base_ot_key(context, index, &self.public, bytes, &k1)),
                ))
            })
            .collect();
        a_big_a.zeroize();
        keys
    }
}

/// The OT receiver's side: for each choice bit, its point `B` and its key.
///
/// # Errors
/// [`BadPoint`] if the sender's `A` does not decode.
pub(crate) fn receive<R: CryptoRng + ?Sized>(
    context: &[u8; 32],
    sender_public: &[u8; 32],
    choices: &[bool],
    rng: &mut R,
) -> Result<(Vec<[u8; 32]>, Vec<OtKey>), BadPoint> {
    let big_a = decompress(sender_public).ok_or(BadPoint(0))?;
    // Every OT multiplies the same point `A`: a table for it once.
    let table = RistrettoBasepointTable::create(&big_a);
    let mut scalars: Vec<Scalar> = choices.iter().map(|_| random_scalar(rng)).collect();
    let out: Vec<([u8; 32], OtKey)> = scalars
        .par_iter()
        .zip(choices.par_iter())
        .enumerate()
        .map(|(i, (b, &c))| {
            // The choice is a bit of Δ in the silent VOLE: select, never branch.
            let base = b * RISTRETTO_BASEPOINT_TABLE;
            let point = RistrettoPoint::conditional_select(
                &base,
                &(base + big_a),
                Choice::from(u8::from(c)),
            );
            let public = point.compress().to_bytes();
            let shared = (b * &table).compress().to_bytes();
            // i < BASE_OTS, a small constant.
            let key = base_ot_key(context, i as u32, sender_public, &public, &shared);
            (public, Zeroizing::new(key))
        })
        .collect();
    scalars.zeroize();
    Ok(out.into_iter().unzip())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;

    #[test]
    fn receiver_gets_exactly_the_chosen_key() {
        let mut rng = StdRng::from_seed([4; 32]);
        let ctx = [8u8; 32];
        let sender = OtSender::new(&mut rng);
        let choices: Vec<bool> = (0..64).map(|i| i % 3 == 0).collect();
        let (points, keys) = receive(&ctx, &sender.public(), &choices, &mut rng).unwrap();
        let pairs = sender.keys(&ctx, &points).unwrap();
        for ((c, k), (k0, k1)) in choices.iter().zip(&keys).zip(&pairs) {
            assert_ne!(k0, k1);
            let (chosen, other) = if *c { (k1, k0) } else { (k0, k1) };
            assert_eq!(k, chosen);
            assert_ne!(k, other);
        }
        // Another session's context gives unrelated keys.
        let again = sender.keys(&[9u8; 32], &points).unwrap();
        assert_ne!(again[0].0, pairs[0].0);
    }

    #[test]
    fn bad_points_are_named() {
        let mut rng = StdRng::from_seed([5; 32]);
        let sender = OtSender::new(&mut rng);
        let mut points = vec![sender.public(); 3];
        points[1] = [0xff; 32];
        assert_eq!(sender.keys(&[0; 32], &points).err(), Some(BadPoint(1)));
        points[1] = [0; 32];
        assert_eq!(sender.keys(&[0; 32], &points).err(), Some(BadPoint(1)));
        assert!(receive(&[0; 32], &[0xff; 32], &[true], &mut rng).is_err());
    }
}

//! `vole-rr22-silent`'s primitive work for benchmarks: everything the two parties
//! compute per session — base OTs, item hashes, the OKVS encoding, the silent VOLE
//! (correlated-OT extension, GGM trees, both sides' code compressions), `A'` and
//! `K`, both sides' decodes and output hashes — with no messages, ordering,
//! comparison or row mapping. `blindmatch bench` times it as the floor the protocol
//! is measured against; the results are discarded.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;

use super::hash::{ItemHasher, OutputHasher};
use super::params::{BASE_OTS, okvs_columns, silent_params};
use crate::PsiError;
use crate::silent::gf128::mul;
use crate::silent::session::{SilentReceiver, SilentSender};
use crate::vole::floor::VoleWork;
use crate::vole::hash::BandHasher;
use crate::vole::okvs::{self, Band};
use crate::vole::ot::{self, OtSender};

/// What a session with `receiver` and `sender` items must do (`extension_rows`
/// counts the silent VOLE's correlated-OT rows).
#[must_use]
pub fn work_for_sizes(receiver: u64, sender: u64) -> VoleWork {
    VoleWork {
        base_ots: BASE_OTS as u64,
        item_hashes: receiver + sender,
        okvs_encoded: receiver,
        extension_rows: silent_params(receiver).cot_rows() as u64,
        okvs_decodes: receiver + sender,
        output_hashes: receiver + sender,
    }
}

/// Runs the primitive work for a receiver holding `receiver` and a sender holding
/// `sender` (type, value) items, on the current rayon pool.
///
/// # Errors
/// [`PsiError::OkvsEncoding`] if the fixed OKVS seed does not encode the receiver's
/// items (as unlikely as in a session), [`PsiError::InvalidPoint`] never (the points
/// are our own).
pub fn run(
    receiver: &[(&str, &[u8])],
    sender: &[(&str, &[u8])],
    batch_size: u32,
) -> Result<VoleWork, PsiError> {
    let context = [0x42u8; 32];
    let mut rng = StdRng::from_seed([7; 32]);
    let point_error = |_| PsiError::InvalidPoint {
        kind: crate::MessageKind::VoleStart,
        batch: 0,
        index: 0,
    };
    let n = receiver.len() as u64;
    let m = okvs_columns(n);
    let params = silent_params(n);
    let mut vole_s = SilentSender::new(params, &context, &mut rng);
    let mut vole_r = SilentReceiver::new(params, &context, &mut rng);
    let ot_sender = OtSender::new(&mut rng);
    let (points, chosen) = ot::receive(&context, &ot_sender.public(), &vole_s.choices(), &mut rng)
        .map_err(point_error)?;
    vole_s.set_base_keys(&chosen);
    vole_r.set_base_keys(&ot_sender.keys(&context, &points).map_err(point_error)?);

    let items = ItemHasher::new(&context);
    let bands = BandHasher::new(&context, &[9; 16], m);
    let ours: Vec<(Band, u128)> = receiver
        .par_iter()
        .map(|(t, v)| {
            let h = items.hash(t, v);
            (bands.band(&h.band_key), h.value)
        })
        .collect();
    let table = okvs::encode(m, &ours).map_err(|_| PsiError::OkvsEncoding { attempts: 1 })?;

    let total = params.cot_rows();
    let chunk = crate::vole::params::chunk_rows(batch_size);
    let mut start = 0;
    while start < total {
        let end = (start + chunk).min(total);
        let u = vole_r.columns(start..end);
        vole_s.absorb_columns(&u, end - start);
        start = end;
    }
    let (message, b) = vole_s.trees(&mut rng);
    let ac = vole_r.open(&message);
    let delta = vole_s.delta();
    let k: Vec<u128> = table
        .par_iter()
        .zip(ac.par_iter())
        .zip(b.par_iter())
        .map(|((p, pair), b)| b ^ mul(p ^ pair[0], delta))
        .collect();
    let c: Vec<u128> = ac.par_iter().map(|pair| pair[1]).collect();
    let out = OutputHasher::new(&context);
    let our_bands: Vec<Band> = ours.iter().map(|(b, _)| *b).collect();
    let mine: Vec<[u8; 32]> = okvs::decode_all(&c, &our_bands, |_, v| out.hash(v));
    let hashed: Vec<_> = sender.par_iter().map(|(t, v)| items.hash(t, v)).collect();
    let their_bands: Vec<Band> = hashed.par_iter().map(|h| bands.band(&h.band_key)).collect();
    let theirs: Vec<[u8; 32]> = okvs::decode_all(&k, &their_bands, |i, v: u128| {
        let h = hashed.get(i).map_or(0, |h| h.value);
        out.hash(v ^ mul(delta, h))
    });
    std::hint::black_box((&mine, &theirs));
    Ok(VoleWork {
        base_ots: BASE_OTS as u64,
        item_hashes: n + sender.len() as u64,
        okvs_encoded: n,
        extension_rows: total as u64,
        okvs_decodes: (mine.len() + theirs.len()) as u64,
        output_hashes: (mine.len() + theirs.len()) as u64,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_floor_does_what_a_session_does() {
        let values: Vec<Vec<u8>> = (0u32..300).map(|i| i.to_be_bytes().to_vec()).collect();
        let r: Vec<(&str, &[u8])> = values[..200].iter().map(|v| ("id", &v[..])).collect();
        let s: Vec<(&str, &[u8])> = values[100..].iter().map(|v| ("id", &v[..])).collect();
        assert_eq!(run(&r, &s, 64).unwrap(), work_for_sizes(200, 200));
    }
}

//! The VOLE protocol's primitive work for benchmarks: everything the two parties
//! compute per session — base OTs, item hashes, the OKVS encoding, the OT extension
//! over every OKVS row, both sides' decodes and output hashes — with no messages,
//! ordering, comparison or row mapping. `blindmatch bench` times it as the floor the
//! protocol is measured against; the results are discarded.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use serde::Serialize;

use super::ext::{ExtReceiver, ExtSender};
use super::hash::{BandHasher, ItemHasher, OutputHasher};
use super::okvs::{self, Band, Row, xor_into};
use super::ot::{self, OtSender};
use super::params::{BASE_OTS, chunk_range, masked_chunks, okvs_columns};
use crate::PsiError;

/// The operations one floor run did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct VoleWork {
    /// Base OTs (each: two fixed-base and two variable-base multiplications).
    pub base_ots: u64,
    /// Items hashed (both sides).
    pub item_hashes: u64,
    /// Items encoded into the receiver's OKVS.
    pub okvs_encoded: u64,
    /// OKVS rows pushed through the OT extension.
    pub extension_rows: u64,
    /// OKVS decodes (both sides).
    pub okvs_decodes: u64,
    /// OPRF output hashes (both sides).
    pub output_hashes: u64,
}

impl VoleWork {
    /// What a session with `receiver` and `sender` items must do.
    #[must_use]
    pub fn for_sizes(receiver: u64, sender: u64) -> VoleWork {
        VoleWork {
            base_ots: BASE_OTS as u64,
            item_hashes: receiver + sender,
            okvs_encoded: receiver,
            extension_rows: okvs_columns(receiver) as u64,
            okvs_decodes: receiver + sender,
            output_hashes: receiver + sender,
        }
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
    let ot_sender = OtSender::new(&mut rng);
    let choices: Vec<bool> = (0..BASE_OTS).map(|i| i % 3 == 0).collect();
    let (points, chosen) =
        ot::receive(&context, &ot_sender.public(), &choices, &mut rng).map_err(point_error)?;
    let pairs = ot_sender.keys(&context, &points).map_err(point_error)?;

    let n = receiver.len() as u64;
    let m = okvs_columns(n);
    let items = ItemHasher::new(&context);
    let bands = BandHasher::new(&context, &[9; 16], m);
    let ours: Vec<(Band, Row)> = receiver
        .par_iter()
        .map(|(t, v)| {
            let h = items.hash(t, v);
            (bands.band(&h.band_key), h.value)
        })
        .collect();
    let table = okvs::encode(m, &ours).map_err(|_| PsiError::OkvsEncoding { attempts: 1 })?;

    let mut ext_r = ExtReceiver::new(&pairs);
    let mut ext_s = ExtSender::new(choices, &chosen);
    let mut t_rows = Vec::with_capacity(m);
    let mut q_rows = Vec::with_capacity(m);
    for chunk in 0..masked_chunks(n, batch_size) {
        let range = chunk_range(n, batch_size, chunk);
        let rows = range.len();
        let (u, t) = ext_r.chunk(table.get(range).unwrap_or_default());
        t_rows.extend_from_slice(&t);
        q_rows.extend_from_slice(&ext_s.chunk(&u, rows));
    }
    let out = OutputHasher::new(&context);
    let our_bands: Vec<Band> = ours.iter().map(|(b, _)| *b).collect();
    let mine: Vec<[u8; 32]> = okvs::decode_all(&t_rows, &our_bands, |_, row| out.hash(&row));
    let s = *ext_s.s_row();
    let hashed: Vec<_> = sender.par_iter().map(|(t, v)| items.hash(t, v)).collect();
    let their_bands: Vec<Band> = hashed.par_iter().map(|h| bands.band(&h.band_key)).collect();
    let theirs: Vec<[u8; 32]> = okvs::decode_all(&q_rows, &their_bands, |i, mut row| {
        if let Some(h) = hashed.get(i) {
            let mut masked = h.value;
            for (x, k) in masked.iter_mut().zip(&s) {
                *x &= k;
            }
            xor_into(&mut row, &masked);
        }
        out.hash(&row)
    });
    std::hint::black_box((&mine, &theirs));
    Ok(VoleWork {
        base_ots: BASE_OTS as u64,
        item_hashes: n + sender.len() as u64,
        okvs_encoded: n,
        extension_rows: t_rows.len() as u64,
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
        assert_eq!(run(&r, &s, 64).unwrap(), VoleWork::for_sizes(200, 200));
    }
}

//! [`LabelledMessage`]: what the two sides of a labelled session exchange, and its
//! byte encoding (`docs/protocol.md`, "Labelled mode", messages).
//!
//! `kind (1) ‖ batch (u32 BE) ‖ payload`: kind 1 = `Blinded` (learner → sender,
//! 32-byte points), 2 = `Evaluated` (sender → learner, 32-byte points), 3 = `Entries`
//! (sender → learner, fixed-size entries whose length follows from the agreed
//! parameters, so the party, not the decoder, checks it).

use crate::PsiError;
use crate::config::POINT_LEN;

/// First byte of an encoded [`LabelledMessage::Blinded`].
pub const LABELLED_KIND_BLINDED: u8 = 1;
/// First byte of an encoded [`LabelledMessage::Evaluated`].
pub const LABELLED_KIND_EVALUATED: u8 = 2;
/// First byte of an encoded [`LabelledMessage::Entries`].
pub const LABELLED_KIND_ENTRIES: u8 = 3;
/// Bytes before the payload.
pub const LABELLED_HEADER_LEN: usize = 5;

/// One labelled-protocol message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelledMessage {
    /// The learner's items `a·H(x)`, compressed, in its secret order; batch `i`
    /// holds items `i·batch_size ..`.
    Blinded {
        /// Batch number, from 0, consecutive.
        batch: u32,
        /// Compressed ristretto255 points.
        points: Vec<[u8; 32]>,
    },
    /// `b·a·H(x)` for the learner's `Blinded` batch of the same number, same order.
    Evaluated {
        /// Batch number, answering the learner's batch.
        batch: u32,
        /// Compressed ristretto255 points (full encodings).
        points: Vec<[u8; 32]>,
    },
    /// The sender's entries `tag ‖ ciphertext ‖ AEAD tag`, one per distinct item of
    /// its set, in its secret order, concatenated.
    Entries {
        /// Batch number, from 0, consecutive.
        batch: u32,
        /// `count × entry_len` bytes.
        entries: Vec<u8>,
    },
}

impl LabelledMessage {
    /// Length of the encoding.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        LABELLED_HEADER_LEN
            + match self {
                LabelledMessage::Blinded { points, .. }
                | LabelledMessage::Evaluated { points, .. } => points.len() * POINT_LEN,
                LabelledMessage::Entries { entries, .. } => entries.len(),
            }
    }

    /// The encoding.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        let (kind, batch) = match self {
            LabelledMessage::Blinded { batch, .. } => (LABELLED_KIND_BLINDED, batch),
            LabelledMessage::Evaluated { batch, .. } => (LABELLED_KIND_EVALUATED, batch),
            LabelledMessage::Entries { batch, .. } => (LABELLED_KIND_ENTRIES, batch),
        };
        out.push(kind);
        out.extend_from_slice(&batch.to_be_bytes());
        match self {
            LabelledMessage::Blinded { points, .. } | LabelledMessage::Evaluated { points, .. } => {
                for p in points {
                    out.extend_from_slice(p);
                }
            }
            LabelledMessage::Entries { entries, .. } => out.extend_from_slice(entries),
        }
        out
    }

    /// Parses one encoded message. Only the layout is checked here; batch numbers,
    /// lengths, points and entries are checked by the receiving party.
    ///
    /// # Errors
    ///
    /// [`PsiError::Malformed`] for a short header, an unknown kind, or points that
    /// are not a whole number of 32-byte encodings.
    pub fn decode(bytes: &[u8]) -> Result<LabelledMessage, PsiError> {
        let (header, payload) =
            bytes
                .split_first_chunk::<LABELLED_HEADER_LEN>()
                .ok_or(PsiError::Malformed {
                    reason: "shorter than the 5-byte header",
                })?;
        let [kind, b0, b1, b2, b3] = *header;
        let batch = u32::from_be_bytes([b0, b1, b2, b3]);
        let points = || {
            let (chunks, rest) = payload.as_chunks::<POINT_LEN>();
            if rest.is_empty() {
                Ok(chunks.to_vec())
            } else {
                Err(PsiError::Malformed {
                    reason: "point payload is not a whole number of 32-byte points",
                })
            }
        };
        match kind {
            LABELLED_KIND_BLINDED => Ok(LabelledMessage::Blinded {
                batch,
                points: points()?,
            }),
            LABELLED_KIND_EVALUATED => Ok(LabelledMessage::Evaluated {
                batch,
                points: points()?,
            }),
            LABELLED_KIND_ENTRIES => Ok(LabelledMessage::Entries {
                batch,
                entries: payload.to_vec(),
            }),
            _ => Err(PsiError::Malformed {
                reason: "unknown labelled message kind",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_bad_layouts() {
        for m in [
            LabelledMessage::Blinded {
                batch: 3,
                points: vec![[1; 32]],
            },
            LabelledMessage::Evaluated {
                batch: 0,
                points: vec![],
            },
            LabelledMessage::Entries {
                batch: u32::MAX,
                entries: vec![7; 41],
            },
        ] {
            let enc = m.encode();
            assert_eq!(enc.len(), m.encoded_len());
            assert_eq!(LabelledMessage::decode(&enc).unwrap(), m);
        }
        for bad in [
            &[][..],
            &[1, 0, 0, 0],
            &[4, 0, 0, 0, 0],
            &[2, 0, 0, 0, 0, 1],
        ] {
            assert!(LabelledMessage::decode(bad).is_err());
        }
    }
}

//! The VOLE protocol's messages and their encoding: a 1-byte kind, a 4-byte
//! big-endian index (chunk or batch number), then the kind's payload. Decoding
//! checks the layout only; indices, counts and lengths against the session are
//! checked by the party that handles the message. Byte-for-byte:
//! `docs/protocol.md`, "VOLE protocol".

use crate::{MessageKind, PsiError};

/// Bytes of the header: kind, then index (big-endian).
pub const VOLE_HEADER_LEN: usize = 5;
/// Kind byte of [`VoleMessage::Start`].
pub const VOLE_KIND_START: u8 = 0x21;
/// Kind byte of [`VoleMessage::Choices`].
pub const VOLE_KIND_CHOICES: u8 = 0x22;
/// Kind byte of [`VoleMessage::Masked`].
pub const VOLE_KIND_MASKED: u8 = 0x23;
/// Kind byte of [`VoleMessage::Outputs`].
pub const VOLE_KIND_OUTPUTS: u8 = 0x24;
/// Kind byte of [`VoleMessage::Matched`].
pub const VOLE_KIND_MATCHED: u8 = 0x25;

/// One VOLE-protocol message.
#[derive(Clone, PartialEq, Eq)]
pub enum VoleMessage {
    /// OPRF receiver → sender, first: the base-OT sender's point `A` and the seed
    /// of the receiver's OKVS (index 0).
    Start {
        /// Compressed ristretto255 point `A = a·G`.
        ot_point: [u8; 32],
        /// Public seed of the OKVS bands and item hashes.
        okvs_seed: [u8; 16],
    },
    /// OPRF sender → receiver: base-OT points `B_i`, 128 per chunk.
    Choices {
        /// Chunk number, from 0.
        chunk: u32,
        /// Compressed ristretto255 points.
        points: Vec<[u8; 32]>,
    },
    /// OPRF receiver → sender: a chunk of rows of the masked OKVS, as 512 columns of
    /// `rows / 8` bytes each, column after column.
    Masked {
        /// Chunk number, from 0.
        chunk: u32,
        /// `512 · rows / 8` bytes.
        columns: Vec<u8>,
    },
    /// OPRF sender → receiver: its items' OPRF outputs, truncated to the session's
    /// comparison length, in the sender's secret order (grouped by identifier type).
    Outputs {
        /// Batch number, from 0.
        batch: u32,
        /// `count × comparison_len` bytes.
        values: Vec<u8>,
    },
    /// Learner → OPRF sender when both learn: positions (in the sender's `Outputs`
    /// order) of the sender's items that matched.
    Matched {
        /// Message number, from 0.
        index: u32,
        /// Matched positions in the whole report (the same in every message).
        total: u32,
        /// Strictly increasing positions.
        positions: Vec<u32>,
    },
}

impl std::fmt::Debug for VoleMessage {
    /// Sizes only: the payloads are key material and masked data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VoleMessage")
            .field("kind", &self.kind())
            .field("index", &self.index())
            .field("payload_len", &self.payload_len())
            .finish()
    }
}

impl VoleMessage {
    /// The message's kind.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self {
            VoleMessage::Start { .. } => MessageKind::VoleStart,
            VoleMessage::Choices { .. } => MessageKind::VoleChoices,
            VoleMessage::Masked { .. } => MessageKind::VoleMasked,
            VoleMessage::Outputs { .. } => MessageKind::VoleOutputs,
            VoleMessage::Matched { .. } => MessageKind::VoleMatched,
        }
    }

    /// The header's index.
    #[must_use]
    pub fn index(&self) -> u32 {
        match self {
            VoleMessage::Start { .. } => 0,
            VoleMessage::Choices { chunk, .. } | VoleMessage::Masked { chunk, .. } => *chunk,
            VoleMessage::Outputs { batch, .. } => *batch,
            VoleMessage::Matched { index, .. } => *index,
        }
    }

    /// Payload bytes after the header.
    #[must_use]
    pub fn payload_len(&self) -> usize {
        match self {
            VoleMessage::Start { .. } => 48,
            VoleMessage::Choices { points, .. } => points.len() * 32,
            VoleMessage::Masked { columns, .. } => columns.len(),
            VoleMessage::Outputs { values, .. } => values.len(),
            VoleMessage::Matched { positions, .. } => 4 + positions.len() * 4,
        }
    }

    /// The encoding.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(VOLE_HEADER_LEN + self.payload_len());
        let tag = match self {
            VoleMessage::Start { .. } => VOLE_KIND_START,
            VoleMessage::Choices { .. } => VOLE_KIND_CHOICES,
            VoleMessage::Masked { .. } => VOLE_KIND_MASKED,
            VoleMessage::Outputs { .. } => VOLE_KIND_OUTPUTS,
            VoleMessage::Matched { .. } => VOLE_KIND_MATCHED,
        };
        out.push(tag);
        out.extend_from_slice(&self.index().to_be_bytes());
        match self {
            VoleMessage::Start {
                ot_point,
                okvs_seed,
            } => {
                out.extend_from_slice(ot_point);
                out.extend_from_slice(okvs_seed);
            }
            VoleMessage::Choices { points, .. } => {
                for p in points {
                    out.extend_from_slice(p);
                }
            }
            VoleMessage::Masked { columns: b, .. } | VoleMessage::Outputs { values: b, .. } => {
                out.extend_from_slice(b);
            }
            VoleMessage::Matched {
                total, positions, ..
            } => {
                out.extend_from_slice(&total.to_be_bytes());
                for p in positions {
                    out.extend_from_slice(&p.to_be_bytes());
                }
            }
        }
        out
    }

    /// Parses one message (a whole frame's payload).
    ///
    /// # Errors
    /// [`PsiError::Malformed`] for a short header, an unknown kind, or a payload
    /// whose length does not fit the kind's layout.
    pub fn decode(bytes: &[u8]) -> Result<VoleMessage, PsiError> {
        let malformed = |reason| PsiError::Malformed { reason };
        let (header, payload) = bytes
            .split_first_chunk::<VOLE_HEADER_LEN>()
            .ok_or(malformed("shorter than the 5-byte header"))?;
        let [tag, b0, b1, b2, b3] = *header;
        let index = u32::from_be_bytes([b0, b1, b2, b3]);
        match tag {
            VOLE_KIND_START => {
                let (ot_point, rest) = payload
                    .split_first_chunk::<32>()
                    .ok_or(malformed("vole start is not 48 bytes"))?;
                let okvs_seed: [u8; 16] = rest
                    .try_into()
                    .map_err(|_| malformed("vole start is not 48 bytes"))?;
                if index != 0 {
                    return Err(malformed("vole start index is not 0"));
                }
                Ok(VoleMessage::Start {
                    ot_point: *ot_point,
                    okvs_seed,
                })
            }
            VOLE_KIND_CHOICES => {
                let (points, rest) = payload.as_chunks::<32>();
                if !rest.is_empty() {
                    return Err(malformed("vole choices are not whole 32-byte points"));
                }
                Ok(VoleMessage::Choices {
                    chunk: index,
                    points: points.to_vec(),
                })
            }
            VOLE_KIND_MASKED => Ok(VoleMessage::Masked {
                chunk: index,
                columns: payload.to_vec(),
            }),
            VOLE_KIND_OUTPUTS => Ok(VoleMessage::Outputs {
                batch: index,
                values: payload.to_vec(),
            }),
            VOLE_KIND_MATCHED => {
                let (total, rest) = payload
                    .split_first_chunk::<4>()
                    .ok_or(malformed("vole matched has no total"))?;
                let (positions, tail) = rest.as_chunks::<4>();
                if !tail.is_empty() {
                    return Err(malformed("vole matched positions are not whole u32s"));
                }
                Ok(VoleMessage::Matched {
                    index,
                    total: u32::from_be_bytes(*total),
                    positions: positions.iter().map(|p| u32::from_be_bytes(*p)).collect(),
                })
            }
            _ => Err(malformed("unknown vole message kind")),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip() {
        let msgs = [
            VoleMessage::Start {
                ot_point: [1; 32],
                okvs_seed: [2; 16],
            },
            VoleMessage::Choices {
                chunk: 3,
                points: vec![[4; 32]; 2],
            },
            VoleMessage::Masked {
                chunk: 1,
                columns: vec![5; 64],
            },
            VoleMessage::Outputs {
                batch: 9,
                values: vec![6; 27],
            },
            VoleMessage::Matched {
                index: 2,
                total: 7,
                positions: vec![1, 5, u32::MAX],
            },
            VoleMessage::Matched {
                index: 0,
                total: 0,
                positions: vec![],
            },
        ];
        for m in msgs {
            let enc = m.encode();
            assert_eq!(enc.len(), VOLE_HEADER_LEN + m.payload_len());
            assert_eq!(VoleMessage::decode(&enc).unwrap(), m);
        }
    }

    #[test]
    fn bad_layouts_are_malformed() {
        for bad in [
            &[][..],
            &[0x21, 0, 0, 0][..],
            &[0x21, 0, 0, 0, 0, 1][..],
            &[0x22, 0, 0, 0, 0, 1][..],
            &[0x25, 0, 0, 0, 0, 1, 2][..],
            &[0x25, 0, 0, 0, 0, 0, 0, 0, 1, 7][..],
            &[0x01, 0, 0, 0, 0][..],
            &[0x26, 0, 0, 0, 0][..],
        ] {
            assert!(matches!(
                VoleMessage::decode(bad),
                Err(PsiError::Malformed { .. })
            ));
        }
        let mut start = VoleMessage::Start {
            ot_point: [1; 32],
            okvs_seed: [2; 16],
        }
        .encode();
        start[4] = 1;
        assert!(VoleMessage::decode(&start).is_err());
    }

    #[test]
    fn debug_shows_no_payload() {
        let m = VoleMessage::Outputs {
            batch: 0,
            values: vec![0xab; 8],
        };
        assert!(!format!("{m:?}").contains("171"));
    }
}

//! The `vole-rr22-silent` messages and their encoding: a 1-byte kind, a 4-byte
//! big-endian index (chunk or batch number), then the kind's payload. Decoding checks
//! the layout only; indices, counts and lengths against the session are checked by
//! the party that handles the message. Byte for byte: `docs/protocol.md`,
//! "Silent VOLE protocol".

use crate::{MessageKind, PsiError};

/// Bytes of the header: kind, then index (big-endian).
pub const RR22_HEADER_LEN: usize = 5;
/// Kind byte of [`Rr22Message::Start`].
pub const RR22_KIND_START: u8 = 0x31;
/// Kind byte of [`Rr22Message::Choices`].
pub const RR22_KIND_CHOICES: u8 = 0x32;
/// Kind byte of [`Rr22Message::Columns`].
pub const RR22_KIND_COLUMNS: u8 = 0x33;
/// Kind byte of [`Rr22Message::Trees`].
pub const RR22_KIND_TREES: u8 = 0x34;
/// Kind byte of [`Rr22Message::Masked`].
pub const RR22_KIND_MASKED: u8 = 0x35;
/// Kind byte of [`Rr22Message::Outputs`].
pub const RR22_KIND_OUTPUTS: u8 = 0x36;
/// Kind byte of [`Rr22Message::Matched`].
pub const RR22_KIND_MATCHED: u8 = 0x37;
/// Kind byte of [`Rr22Message::Table`] (cardinality mode).
pub const RR22_KIND_TABLE: u8 = 0x38;
/// Kind byte of [`Rr22Message::Shuffle`] (cardinality mode).
pub const RR22_KIND_SHUFFLE: u8 = 0x39;
/// Kind byte of [`Rr22Message::Masks`] (cardinality mode).
pub const RR22_KIND_MASKS: u8 = 0x3a;
/// Kind byte of [`Rr22Message::Counts`] (cardinality mode).
pub const RR22_KIND_COUNTS: u8 = 0x3b;

/// One `vole-rr22-silent` message.
#[derive(Clone, PartialEq, Eq)]
pub enum Rr22Message {
    /// OPRF receiver → sender, first (index 0): the base-OT sender's point `A` and
    /// the seed of the receiver's OKVS bands.
    Start {
        /// Compressed ristretto255 point `A = a·G`.
        ot_point: [u8; 32],
        /// Public seed of the OKVS bands.
        okvs_seed: [u8; 16],
    },
    /// OPRF sender → receiver (index 0): the 128 base-OT points `B_i`, chosen with
    /// the bits of the sender's `Δ`.
    Choices {
        /// Compressed ristretto255 points.
        points: Vec<[u8; 32]>,
    },
    /// OPRF receiver → sender: a chunk of correlated-OT rows, as 128 columns of
    /// `rows / 8` bytes each, column after column.
    Columns {
        /// Chunk number, from 0.
        chunk: u32,
        /// `16 · rows` bytes.
        columns: Vec<u8>,
    },
    /// OPRF sender → receiver: the messages of a run of GGM trees, `2d + 1`
    /// little-endian 16-byte blocks per tree.
    Trees {
        /// Chunk number, from 0.
        chunk: u32,
        /// `16 · (2d + 1)` bytes per tree.
        blocks: Vec<u8>,
    },
    /// OPRF receiver → sender: a chunk of `A' = P ⊕ A`, 16 bytes per OKVS column.
    Masked {
        /// Chunk number, from 0.
        chunk: u32,
        /// `16 · rows` bytes.
        rows: Vec<u8>,
    },
    /// OPRF sender → receiver: its items' OPRF outputs, truncated to the session's
    /// comparison length, in the sender's secret order.
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
    /// Cardinality, OPRF sender → learner: a chunk of the programmed OKVS mapping
    /// each sender item's three bin queries to `F(query) ⊕ r_bin`.
    Table {
        /// Chunk number, from 0.
        chunk: u32,
        /// The table's band seed (the same in every chunk).
        seed: [u8; 16],
        /// `16 · columns` bytes.
        rows: Vec<u8>,
    },
    /// Cardinality, either way: one message of the oblivious shuffle
    /// (`docs/protocol.md`, "Oblivious shuffle"; its first byte is the shuffle's own tag).
    Shuffle {
        /// Message number in this direction, from 0.
        index: u32,
        /// The shuffle's payload.
        payload: Vec<u8>,
    },
    /// Cardinality, OPRF sender → learner: a batch of `t_j ⊕ r_{π(j)}`, one
    /// shuffled value per bin.
    Masks {
        /// Batch number, from 0.
        batch: u32,
        /// `count × width` bytes.
        values: Vec<u8>,
    },
    /// Cardinality, learner → OPRF sender when both learn (index 0): matched items
    /// per agreed type group.
    Counts {
        /// One count per group, in the agreed order.
        counts: Vec<u64>,
    },
}

impl std::fmt::Debug for Rr22Message {
    /// Sizes only: the payloads are key material and masked data.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rr22Message")
            .field("kind", &self.kind())
            .field("index", &self.index())
            .field("payload_len", &self.payload_len())
            .finish()
    }
}

impl Rr22Message {
    /// The message's kind.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self {
            Rr22Message::Start { .. } => MessageKind::VoleStart,
            Rr22Message::Choices { .. } => MessageKind::VoleChoices,
            Rr22Message::Columns { .. } => MessageKind::VoleColumns,
            Rr22Message::Trees { .. } => MessageKind::VoleTrees,
            Rr22Message::Masked { .. } => MessageKind::VoleMasked,
            Rr22Message::Outputs { .. } => MessageKind::VoleOutputs,
            Rr22Message::Matched { .. } => MessageKind::VoleMatched,
            Rr22Message::Table { .. } => MessageKind::VoleTable,
            Rr22Message::Shuffle { .. } => MessageKind::VoleShuffle,
            Rr22Message::Masks { .. } => MessageKind::VoleMasks,
            Rr22Message::Counts { .. } => MessageKind::Counts,
        }
    }

    /// The header's index.
    #[must_use]
    pub fn index(&self) -> u32 {
        match self {
            Rr22Message::Start { .. }
            | Rr22Message::Choices { .. }
            | Rr22Message::Counts { .. } => 0,
            Rr22Message::Table { chunk, .. } => *chunk,
            Rr22Message::Shuffle { index, .. } => *index,
            Rr22Message::Masks { batch, .. } => *batch,
            Rr22Message::Columns { chunk, .. }
            | Rr22Message::Trees { chunk, .. }
            | Rr22Message::Masked { chunk, .. } => *chunk,
            Rr22Message::Outputs { batch, .. } => *batch,
            Rr22Message::Matched { index, .. } => *index,
        }
    }

    /// Payload bytes after the header.
    #[must_use]
    pub fn payload_len(&self) -> usize {
        match self {
            Rr22Message::Start { .. } => 48,
            Rr22Message::Choices { points } => points.len() * 32,
            Rr22Message::Columns { columns: b, .. }
            | Rr22Message::Trees { blocks: b, .. }
            | Rr22Message::Masked { rows: b, .. }
            | Rr22Message::Outputs { values: b, .. } => b.len(),
            Rr22Message::Matched { positions, .. } => 4 + positions.len() * 4,
            Rr22Message::Table { rows, .. } => 16 + rows.len(),
            Rr22Message::Shuffle { payload: b, .. } | Rr22Message::Masks { values: b, .. } => {
                b.len()
            }
            Rr22Message::Counts { counts } => counts.len() * 8,
        }
    }

    /// The encoding.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(RR22_HEADER_LEN + self.payload_len());
        out.push(match self {
            Rr22Message::Start { .. } => RR22_KIND_START,
            Rr22Message::Choices { .. } => RR22_KIND_CHOICES,
            Rr22Message::Columns { .. } => RR22_KIND_COLUMNS,
            Rr22Message::Trees { .. } => RR22_KIND_TREES,
            Rr22Message::Masked { .. } => RR22_KIND_MASKED,
            Rr22Message::Outputs { .. } => RR22_KIND_OUTPUTS,
            Rr22Message::Matched { .. } => RR22_KIND_MATCHED,
            Rr22Message::Table { .. } => RR22_KIND_TABLE,
            Rr22Message::Shuffle { .. } => RR22_KIND_SHUFFLE,
            Rr22Message::Masks { .. } => RR22_KIND_MASKS,
            Rr22Message::Counts { .. } => RR22_KIND_COUNTS,
        });
        out.extend_from_slice(&self.index().to_be_bytes());
        match self {
            Rr22Message::Start {
                ot_point,
                okvs_seed,
            } => {
                out.extend_from_slice(ot_point);
                out.extend_from_slice(okvs_seed);
            }
            Rr22Message::Choices { points } => {
                for p in points {
                    out.extend_from_slice(p);
                }
            }
            Rr22Message::Columns { columns: b, .. }
            | Rr22Message::Trees { blocks: b, .. }
            | Rr22Message::Masked { rows: b, .. }
            | Rr22Message::Outputs { values: b, .. } => out.extend_from_slice(b),
            Rr22Message::Matched {
                total, positions, ..
            } => {
                out.extend_from_slice(&total.to_be_bytes());
                for p in positions {
                    out.extend_from_slice(&p.to_be_bytes());
                }
            }
            Rr22Message::Table { seed, rows, .. } => {
                out.extend_from_slice(seed);
                out.extend_from_slice(rows);
            }
            Rr22Message::Shuffle { payload: b, .. } | Rr22Message::Masks { values: b, .. } => {
                out.extend_from_slice(b);
            }
            Rr22Message::Counts { counts } => {
                for c in counts {
                    out.extend_from_slice(&c.to_be_bytes());
                }
            }
        }
        out
    }

    /// Parses one message (a whole frame's payload).
    ///
    /// # Errors
    /// [`PsiError::Malformed`] for a short header, an unknown kind, a non-zero index
    /// where it must be 0, or a payload whose length does not fit the kind's layout.
    pub fn decode(bytes: &[u8]) -> Result<Rr22Message, PsiError> {
        let malformed = |reason| PsiError::Malformed { reason };
        let (header, payload) = bytes
            .split_first_chunk::<RR22_HEADER_LEN>()
            .ok_or(malformed("shorter than the 5-byte header"))?;
        let [tag, b0, b1, b2, b3] = *header;
        let index = u32::from_be_bytes([b0, b1, b2, b3]);
        let sixteen = |reason| {
            if payload.len().is_multiple_of(16) {
                Ok(payload.to_vec())
            } else {
                Err(malformed(reason))
            }
        };
        match tag {
            RR22_KIND_START => {
                let (ot_point, rest) = payload
                    .split_first_chunk::<32>()
                    .ok_or(malformed("vole start is not 48 bytes"))?;
                let okvs_seed: [u8; 16] = rest
                    .try_into()
                    .map_err(|_| malformed("vole start is not 48 bytes"))?;
                if index != 0 {
                    return Err(malformed("vole start index is not 0"));
                }
                Ok(Rr22Message::Start {
                    ot_point: *ot_point,
                    okvs_seed,
                })
            }
            RR22_KIND_CHOICES => {
                let (points, rest) = payload.as_chunks::<32>();
                if !rest.is_empty() {
                    return Err(malformed("vole choices are not whole 32-byte points"));
                }
                if index != 0 {
                    return Err(malformed("vole choices index is not 0"));
                }
                Ok(Rr22Message::Choices {
                    points: points.to_vec(),
                })
            }
            RR22_KIND_COLUMNS => Ok(Rr22Message::Columns {
                chunk: index,
                columns: sixteen("vole columns are not whole 16-byte rows")?,
            }),
            RR22_KIND_TREES => Ok(Rr22Message::Trees {
                chunk: index,
                blocks: sixteen("vole tree sums are not whole 16-byte blocks")?,
            }),
            RR22_KIND_MASKED => Ok(Rr22Message::Masked {
                chunk: index,
                rows: sixteen("vole masked rows are not whole 16-byte values")?,
            }),
            RR22_KIND_OUTPUTS => Ok(Rr22Message::Outputs {
                batch: index,
                values: payload.to_vec(),
            }),
            RR22_KIND_MATCHED => {
                let (total, rest) = payload
                    .split_first_chunk::<4>()
                    .ok_or(malformed("vole matched has no total"))?;
                let (positions, tail) = rest.as_chunks::<4>();
                if !tail.is_empty() {
                    return Err(malformed("vole matched positions are not whole u32s"));
                }
                Ok(Rr22Message::Matched {
                    index,
                    total: u32::from_be_bytes(*total),
                    positions: positions.iter().map(|p| u32::from_be_bytes(*p)).collect(),
                })
            }
            RR22_KIND_TABLE => {
                let (seed, rows) = payload
                    .split_first_chunk::<16>()
                    .ok_or(malformed("vole table has no seed"))?;
                if !rows.len().is_multiple_of(16) {
                    return Err(malformed("vole table rows are not whole 16-byte values"));
                }
                Ok(Rr22Message::Table {
                    chunk: index,
                    seed: *seed,
                    rows: rows.to_vec(),
                })
            }
            RR22_KIND_SHUFFLE => {
                if payload.is_empty() {
                    return Err(malformed("vole shuffle message is empty"));
                }
                Ok(Rr22Message::Shuffle {
                    index,
                    payload: payload.to_vec(),
                })
            }
            RR22_KIND_MASKS => Ok(Rr22Message::Masks {
                batch: index,
                values: payload.to_vec(),
            }),
            RR22_KIND_COUNTS => {
                let (counts, rest) = payload.as_chunks::<8>();
                if !rest.is_empty() {
                    return Err(malformed("vole counts are not whole u64s"));
                }
                if index != 0 {
                    return Err(malformed("vole counts index is not 0"));
                }
                Ok(Rr22Message::Counts {
                    counts: counts.iter().map(|c| u64::from_be_bytes(*c)).collect(),
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
            Rr22Message::Start {
                ot_point: [1; 32],
                okvs_seed: [2; 16],
            },
            Rr22Message::Choices {
                points: vec![[4; 32]; 128],
            },
            Rr22Message::Columns {
                chunk: 1,
                columns: vec![5; 2048],
            },
            Rr22Message::Trees {
                chunk: 2,
                blocks: vec![7; 16 * 27],
            },
            Rr22Message::Masked {
                chunk: 3,
                rows: vec![8; 160],
            },
            Rr22Message::Outputs {
                batch: 9,
                values: vec![6; 27],
            },
            Rr22Message::Matched {
                index: 2,
                total: 7,
                positions: vec![1, 5, u32::MAX],
            },
            Rr22Message::Table {
                chunk: 4,
                seed: [3; 16],
                rows: vec![9; 64],
            },
            Rr22Message::Shuffle {
                index: 5,
                payload: vec![1, 2, 3],
            },
            Rr22Message::Masks {
                batch: 6,
                values: vec![4; 33],
            },
            Rr22Message::Counts {
                counts: vec![0, 7, u64::MAX],
            },
        ];
        for m in msgs {
            let enc = m.encode();
            assert_eq!(enc.len(), RR22_HEADER_LEN + m.payload_len());
            assert_eq!(Rr22Message::decode(&enc).unwrap(), m);
        }
    }

    #[test]
    fn bad_layouts_are_malformed() {
        for bad in [
            &[][..],
            &[0x31, 0, 0, 0][..],
            &[0x31, 0, 0, 0, 0, 1][..],
            &[0x32, 0, 0, 0, 0, 1][..],
            &[0x32, 0, 0, 0, 1][..],
            &[0x33, 0, 0, 0, 0, 1][..],
            &[0x34, 0, 0, 0, 0, 1, 2, 3][..],
            &[0x35, 0, 0, 0, 0, 9][..],
            &[0x37, 0, 0, 0, 0, 1, 2][..],
            &[0x37, 0, 0, 0, 0, 0, 0, 0, 1, 7][..],
            &[0x21, 0, 0, 0, 0][..],
            &[0x38, 0, 0, 0, 0, 1, 2][..],
            &[
                0x38, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9,
            ][..],
            &[0x39, 0, 0, 0, 0][..],
            &[0x3b, 0, 0, 0, 0, 1, 2, 3][..],
            &[0x3b, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1][..],
            &[0x3c, 0, 0, 0, 0][..],
        ] {
            assert!(
                matches!(Rr22Message::decode(bad), Err(PsiError::Malformed { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_shows_no_payload() {
        let m = Rr22Message::Masked {
            chunk: 0,
            rows: vec![0xab; 16],
        };
        assert!(!format!("{m:?}").contains("171"));
    }
}

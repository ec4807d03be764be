//! The oblivious shuffle's payloads: a 1-byte tag, a 4-byte big-endian chunk
//! index, then the tag's body. Decoding checks the layout only (tag, fixed lengths,
//! whole blocks, index 0 where there is one message); chunk order, counts and
//! lengths against the shuffle's size are checked by the party that handles the
//! payload. Byte for byte: `docs/protocol.md`, "Oblivious shuffle".

use crate::silent::cot::COT_WIDTH as BASE_OTS;
use crate::{MessageKind, PsiError};

/// Bytes of the header: tag, then chunk index (big-endian).
pub(crate) const HEADER_LEN: usize = 5;
/// Tag of [`OsnMessage::Start`].
pub(crate) const TAG_START: u8 = 0x51;
/// Tag of [`OsnMessage::Choices`].
pub(crate) const TAG_CHOICES: u8 = 0x52;
/// Tag of [`OsnMessage::Inputs`].
pub(crate) const TAG_INPUTS: u8 = 0x53;
/// Tag of [`OsnMessage::Columns`].
pub(crate) const TAG_COLUMNS: u8 = 0x54;
/// Tag of [`OsnMessage::Corrections`].
pub(crate) const TAG_CORRECTIONS: u8 = 0x55;

/// Bytes of correlated-OT columns per 128 rows (128 columns of 16 bytes).
pub(crate) const COLUMN_BLOCK: usize = 16 * 128;

/// One payload of the shuffle, borrowing its body from the bytes it was decoded
/// from.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum OsnMessage<'a> {
    /// S → R, first: the base-OT sender's point `A`.
    Start {
        /// Compressed ristretto255 point.
        point: &'a [u8; 32],
    },
    /// R → S: the 128 base-OT points `B_i`, chosen with the bits of R's `Δ`
    /// (`32 · 128` bytes).
    Choices {
        /// The points, 32 bytes each.
        points: &'a [u8],
    },
    /// R → S: a chunk of S's input shares `x_i = w_i ⊕ ρ_i`, `ℓ` bytes each.
    Inputs {
        /// Chunk number, from 0.
        chunk: u32,
        /// Whole values (checked by the party).
        values: &'a [u8],
    },
    /// S → R: a chunk of correlated-OT rows as 128 columns of `rows / 8` bytes,
    /// column after column (`16 · rows` bytes, rows a multiple of 128).
    Columns {
        /// Chunk number, from 0.
        chunk: u32,
        /// The columns.
        columns: &'a [u8],
    },
    /// R → S: the corrections `z` of the switches of Columns chunk `chunk`, `2ℓ`
    /// bytes per switch.
    Corrections {
        /// Chunk number (that of the Columns chunk it answers).
        chunk: u32,
        /// The corrections.
        masks: &'a [u8],
    },
}

impl std::fmt::Debug for OsnMessage<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Shape only: the bodies are shares and OT messages.
        let (name, chunk, len) = match self {
            OsnMessage::Start { point } => ("Start", 0, point.len()),
            OsnMessage::Choices { points } => ("Choices", 0, points.len()),
            OsnMessage::Inputs { chunk, values } => ("Inputs", *chunk, values.len()),
            OsnMessage::Columns { chunk, columns } => ("Columns", *chunk, columns.len()),
            OsnMessage::Corrections { chunk, masks } => ("Corrections", *chunk, masks.len()),
        };
        write!(f, "{name} {{ chunk: {chunk}, bytes: {len} }}")
    }
}

/// The header and body of a payload.
pub(crate) fn encode(tag: u8, chunk: u32, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.push(tag);
    out.extend_from_slice(&chunk.to_be_bytes());
    out.extend_from_slice(body);
    out
}

impl<'a> OsnMessage<'a> {
    /// The message kind errors about this payload name.
    pub(crate) fn kind(&self) -> MessageKind {
        match self {
            OsnMessage::Start { .. } => MessageKind::ShuffleStart,
            OsnMessage::Choices { .. } => MessageKind::ShuffleChoices,
            OsnMessage::Inputs { .. } => MessageKind::ShuffleInputs,
            OsnMessage::Columns { .. } => MessageKind::ShuffleColumns,
            OsnMessage::Corrections { .. } => MessageKind::ShuffleCorrections,
        }
    }

    /// The bytes of this payload.
    pub(crate) fn encode(&self) -> Vec<u8> {
        match *self {
            OsnMessage::Start { point } => encode(TAG_START, 0, point),
            OsnMessage::Choices { points } => encode(TAG_CHOICES, 0, points),
            OsnMessage::Inputs { chunk, values } => encode(TAG_INPUTS, chunk, values),
            OsnMessage::Columns { chunk, columns } => encode(TAG_COLUMNS, chunk, columns),
            OsnMessage::Corrections { chunk, masks } => encode(TAG_CORRECTIONS, chunk, masks),
        }
    }

    /// Parses a payload.
    ///
    /// # Errors
    /// [`PsiError::Malformed`] for a payload shorter than the header, an unknown
    /// tag, a non-zero index on `Start` or `Choices`, an empty chunk or columns that
    /// are not whole 128-row blocks; [`PsiError::WrongBatchLength`] for a `Start`
    /// or `Choices` body of the wrong length.
    pub(crate) fn decode(bytes: &'a [u8]) -> Result<Self, PsiError> {
        let (header, body) = bytes
            .split_at_checked(HEADER_LEN)
            .ok_or(PsiError::Malformed {
                reason: "shuffle payload shorter than its 5-byte header",
            })?;
        let tag = header[0];
        let mut index = [0u8; 4];
        index.copy_from_slice(&header[1..]);
        let chunk = u32::from_be_bytes(index);
        let fixed = |kind: MessageKind, expected: usize| {
            if chunk != 0 {
                return Err(PsiError::Malformed {
                    reason: "shuffle start or base-OT choices with a non-zero index",
                });
            }
            if body.len() != expected {
                return Err(PsiError::WrongBatchLength {
                    kind,
                    batch: 0,
                    expected,
                    actual: body.len(),
                });
            }
            Ok(())
        };
        let chunked = || {
            if body.is_empty() {
                return Err(PsiError::Malformed {
                    reason: "empty shuffle chunk",
                });
            }
            Ok(())
        };
        match tag {
            TAG_START => {
                fixed(MessageKind::ShuffleStart, 32)?;
                let point = <&[u8; 32]>::try_from(body).map_err(|_| PsiError::Malformed {
                    reason: "shuffle start of the wrong length",
                })?;
                Ok(OsnMessage::Start { point })
            }
            TAG_CHOICES => {
                fixed(MessageKind::ShuffleChoices, 32 * BASE_OTS)?;
                Ok(OsnMessage::Choices { points: body })
            }
            TAG_INPUTS => {
                chunked()?;
                Ok(OsnMessage::Inputs {
                    chunk,
                    values: body,
                })
            }
            TAG_COLUMNS => {
                chunked()?;
                if !body.len().is_multiple_of(COLUMN_BLOCK) {
                    return Err(PsiError::Malformed {
                        reason: "shuffle correlated-OT columns are not whole 128-row blocks",
                    });
                }
                Ok(OsnMessage::Columns {
                    chunk,
                    columns: body,
                })
            }
            TAG_CORRECTIONS => {
                chunked()?;
                Ok(OsnMessage::Corrections { chunk, masks: body })
            }
            _ => Err(PsiError::Malformed {
                reason: "unknown shuffle payload tag",
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let point = [7u8; 32];
        let points = vec![3u8; 32 * BASE_OTS];
        let columns = vec![1u8; 2 * COLUMN_BLOCK];
        for m in [
            OsnMessage::Start { point: &point },
            OsnMessage::Choices { points: &points },
            OsnMessage::Inputs {
                chunk: 3,
                values: &[1, 2, 3],
            },
            OsnMessage::Columns {
                chunk: 1,
                columns: &columns,
            },
            OsnMessage::Corrections {
                chunk: 0x0102_0304,
                masks: &[9; 10],
            },
        ] {
            let bytes = m.encode();
            assert_eq!(OsnMessage::decode(&bytes).ok(), Some(m));
        }
        let bytes = OsnMessage::Corrections {
            chunk: 0x0102_0304,
            masks: &[9],
        }
        .encode();
        assert_eq!(bytes, [TAG_CORRECTIONS, 1, 2, 3, 4, 9]);
    }

    fn malformed(bytes: &[u8]) -> bool {
        matches!(
            OsnMessage::decode(bytes),
            Err(PsiError::Malformed { .. } | PsiError::WrongBatchLength { .. })
        )
    }

    #[test]
    fn refuses_bad_layouts() {
        assert!(malformed(&[]));
        assert!(malformed(&[TAG_START, 0, 0, 0]));
        // Unknown tags, around the known ones.
        assert!(malformed(&encode(0x50, 0, &[0; 32])));
        assert!(malformed(&encode(0x56, 0, &[0; 32])));
        // Fixed lengths, index 0.
        assert!(malformed(&encode(TAG_START, 0, &[0; 31])));
        assert!(malformed(&encode(TAG_START, 0, &[0; 33])));
        assert!(malformed(&encode(TAG_START, 1, &[0; 32])));
        assert!(malformed(&encode(TAG_CHOICES, 0, &[0; 32 * 127])));
        assert!(malformed(&encode(TAG_CHOICES, 2, &[0; 32 * 128])));
        // Empty chunks, columns not in 128-row blocks.
        assert!(malformed(&encode(TAG_INPUTS, 0, &[])));
        assert!(malformed(&encode(TAG_CORRECTIONS, 0, &[])));
        assert!(malformed(&encode(TAG_COLUMNS, 0, &[])));
        assert!(malformed(&encode(TAG_COLUMNS, 0, &[0; COLUMN_BLOCK - 16])));
        assert!(malformed(&encode(TAG_COLUMNS, 0, &[0; COLUMN_BLOCK + 1])));
        assert!(!malformed(&encode(TAG_COLUMNS, 0, &[0; COLUMN_BLOCK])));
    }
}

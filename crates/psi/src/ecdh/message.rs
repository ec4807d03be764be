//! [`Message`]: what the two ECDH parties exchange, and its byte encoding: exactly the
//! payload of a protocol frame on the wire (`docs/protocol.md`, "ECDH messages").
//!
//! Encoding: `kind (1 byte: 1 = Blinded, 2 = Reblinded, 4 = Matches, 5 = Counts) ‖
//! batch (u32 big-endian) ‖ payload`, where the payload is the points (32 bytes each),
//! the flat values, a first learner's matched-position bitmap, or its per-type
//! counts (u32 big-endian each). The element count is implied by the frame
//! length, which the framing layer carries.

use crate::config::POINT_LEN;
use crate::{MAX_IDENTIFIER_TYPES, MessageKind, PsiError};

/// First byte of an encoded [`Message::Blinded`].
pub const MESSAGE_KIND_BLINDED: u8 = 1;
/// First byte of an encoded [`Message::Reblinded`].
pub const MESSAGE_KIND_REBLINDED: u8 = 2;
/// First byte of an encoded [`Message::Matches`]. Kind 3 is left out: the labelled
/// protocol's entries use it, and a byte counter that cannot tell the two protocols
/// apart (the bench's) can then still tell every kind that starts a new flight.
pub const MESSAGE_KIND_MATCHES: u8 = 4;
/// First byte of an encoded [`Message::Counts`].
pub const MESSAGE_KIND_COUNTS: u8 = 5;
const TAG_BLINDED: u8 = MESSAGE_KIND_BLINDED;
const TAG_REBLINDED: u8 = MESSAGE_KIND_REBLINDED;
const TAG_MATCHES: u8 = MESSAGE_KIND_MATCHES;
const TAG_COUNTS: u8 = MESSAGE_KIND_COUNTS;
/// Bytes of one per-type count in [`Message::Counts`].
pub(crate) const COUNT_LEN: usize = 4;
/// Bytes before the payload in an encoded message.
pub const MESSAGE_HEADER_LEN: usize = 5;

/// One protocol message. `Blinded` and `Reblinded` carry only blinded group elements:
/// nothing in them can be linked to an identifier without the sender's secret scalar.
/// `Matches` and `Counts` carry what the first learner found (when both sides learn),
/// in positions of the two secret sending orders: nothing the receiver does not learn
/// anyway (`docs/protocol.md`, "Both sides learn").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A batch of the sender's own items, `k·H(x)` compressed, in the sender's secret
    /// random order. Batch `i` holds items `i·batch_size ..`, all batches full except the
    /// last.
    Blinded {
        /// Batch number, from 0, consecutive.
        batch: u32,
        /// Compressed ristretto255 points.
        points: Vec<[u8; 32]>,
    },
    /// Doubly blinded values `k_peer·k·H(x)` for a learner, each truncated to the
    /// session's comparison length and concatenated. In intersection mode batch `i`
    /// answers the learner's `Blinded` batch `i` in its order; in cardinality mode the
    /// whole set is shuffled first and cut into batches of the same sizes.
    Reblinded {
        /// Batch number, from 0, consecutive.
        batch: u32,
        /// `count × comparison_len` bytes.
        values: Vec<u8>,
    },
    /// Intersection mode, both learn: the first learner's result for the receiver's
    /// `Blinded` batch of the same number: a bitmap with one bit per item of that
    /// batch (most significant bit first; bits past the batch's end zero), set for
    /// each matched position. Nothing else: both sides derive a match's ID from that
    /// position ([`crate::MatchId::derive_at_position`]).
    Matches {
        /// Batch number (the receiver's own batch), from 0, consecutive.
        batch: u32,
        /// `ceil(count / 8)` bitmap bytes.
        bitmap: Vec<u8>,
    },
    /// Cardinality mode, both learn: the first learner's count of distinct matches
    /// for each agreed type group (one for a session without groups), in order.
    Counts {
        /// Always 0: the counts are one message.
        batch: u32,
        /// One count per type group.
        counts: Vec<u32>,
    },
}

impl Message {
    /// The message's kind.
    #[must_use]
    pub fn kind(&self) -> MessageKind {
        match self {
            Message::Blinded { .. } => MessageKind::Blinded,
            Message::Reblinded { .. } => MessageKind::Reblinded,
            Message::Matches { .. } => MessageKind::Matches,
            Message::Counts { .. } => MessageKind::Counts,
        }
    }

    /// The message's batch number.
    #[must_use]
    pub fn batch(&self) -> u32 {
        match self {
            Message::Blinded { batch, .. }
            | Message::Reblinded { batch, .. }
            | Message::Matches { batch, .. }
            | Message::Counts { batch, .. } => *batch,
        }
    }

    /// Payload size in bytes (without the header).
    #[must_use]
    pub fn payload_len(&self) -> usize {
        match self {
            Message::Blinded { points, .. } => points.len() * POINT_LEN,
            Message::Reblinded { values, .. } => values.len(),
            Message::Matches { bitmap, .. } => bitmap.len(),
            Message::Counts { counts, .. } => counts.len() * COUNT_LEN,
        }
    }

    /// Length of [`Message::encode`]'s output.
    #[must_use]
    pub fn encoded_len(&self) -> usize {
        MESSAGE_HEADER_LEN + self.payload_len()
    }

    /// The largest encoded message a session with this batch size can produce; a frame
    /// limit of at least this much never rejects an honest peer. A full `Blinded`
    /// batch, unless the batch size is so small (below 32) that counts for the most
    /// type groups a session can have are longer; a `Matches` batch (an eighth of a
    /// byte per item) is always shorter.
    #[must_use]
    pub fn max_encoded_len(batch_size: u32) -> usize {
        MESSAGE_HEADER_LEN + (batch_size as usize * POINT_LEN).max(MAX_IDENTIFIER_TYPES * COUNT_LEN)
    }

    /// Appends the encoding to `out`.
    pub fn encode_into(&self, out: &mut Vec<u8>) {
        out.reserve(self.encoded_len());
        match self {
            Message::Blinded { batch, points } => {
                out.push(TAG_BLINDED);
                out.extend_from_slice(&batch.to_be_bytes());
                for p in points {
                    out.extend_from_slice(p);
                }
            }
            Message::Reblinded { batch, values } => {
                out.push(TAG_REBLINDED);
                out.extend_from_slice(&batch.to_be_bytes());
                out.extend_from_slice(values);
            }
            Message::Matches { batch, bitmap } => {
                out.push(TAG_MATCHES);
                out.extend_from_slice(&batch.to_be_bytes());
                out.extend_from_slice(bitmap);
            }
            Message::Counts { batch, counts } => {
                out.push(TAG_COUNTS);
                out.extend_from_slice(&batch.to_be_bytes());
                for c in counts {
                    out.extend_from_slice(&c.to_be_bytes());
                }
            }
        }
    }

    /// The encoding as a new vector.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.encoded_len());
        self.encode_into(&mut out);
        out
    }

    /// Parses one encoded message (a whole frame's payload). Only the layout is checked
    /// here; points, sizes and ordering are checked by [`crate::Party::handle`].
    ///
    /// # Errors
    ///
    /// [`PsiError::Malformed`] for a short header, an unknown kind, a `Blinded`
    /// payload that is not a whole number of points, or a `Counts` payload that is not
    /// a whole number of 4-byte counts.
    pub fn decode(bytes: &[u8]) -> Result<Message, PsiError> {
        let (header, payload) =
            bytes
                .split_first_chunk::<MESSAGE_HEADER_LEN>()
                .ok_or(PsiError::Malformed {
                    reason: "shorter than the 5-byte header",
                })?;
        let [tag, b0, b1, b2, b3] = *header;
        let batch = u32::from_be_bytes([b0, b1, b2, b3]);
        match tag {
            TAG_BLINDED => {
                let (chunks, rest) = payload.as_chunks::<POINT_LEN>();
                if !rest.is_empty() {
                    return Err(PsiError::Malformed {
                        reason: "blinded payload is not a whole number of 32-byte points",
                    });
                }
                Ok(Message::Blinded {
                    batch,
                    points: chunks.to_vec(),
                })
            }
            TAG_REBLINDED => Ok(Message::Reblinded {
                batch,
                values: payload.to_vec(),
            }),
            TAG_MATCHES => Ok(Message::Matches {
                batch,
                bitmap: payload.to_vec(),
            }),
            TAG_COUNTS => {
                let (chunks, rest) = payload.as_chunks::<COUNT_LEN>();
                if !rest.is_empty() {
                    return Err(PsiError::Malformed {
                        reason: "counts payload is not a whole number of 4-byte counts",
                    });
                }
                Ok(Message::Counts {
                    batch,
                    counts: chunks.iter().map(|c| u32::from_be_bytes(*c)).collect(),
                })
            }
            _ => Err(PsiError::Malformed {
                reason: "unknown message kind",
            }),
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
            Message::Blinded {
                batch: 7,
                points: vec![[1u8; 32], [2u8; 32]],
            },
            Message::Blinded {
                batch: 0,
                points: vec![],
            },
            Message::Reblinded {
                batch: u32::MAX,
                values: vec![9u8; 27],
            },
            Message::Matches {
                batch: 3,
                bitmap: vec![0b1010_0000, 7, 1],
            },
            Message::Matches {
                batch: 0,
                bitmap: vec![],
            },
            Message::Counts {
                batch: 0,
                counts: vec![0, 7, u32::MAX],
            },
        ];
        for m in msgs {
            let enc = m.encode();
            assert_eq!(enc.len(), m.encoded_len());
            assert_eq!(Message::decode(&enc).unwrap(), m);
        }
    }

    #[test]
    fn decode_rejects_bad_layouts() {
        for bad in [
            &[][..],
            &[1, 0, 0, 0][..],
            &[3, 0, 0, 0, 0][..],
            &[1, 0, 0, 0, 0, 1][..],
            &[3, 0, 0, 0, 0][..],
            &[5, 0, 0, 0, 0, 1, 2, 3][..],
        ] {
            assert!(matches!(
                Message::decode(bad),
                Err(PsiError::Malformed { .. })
            ));
        }
    }

    #[test]
    fn max_len_covers_a_full_batch() {
        let m = Message::Blinded {
            batch: 0,
            points: vec![[0u8; 32]; 32],
        };
        assert_eq!(m.encoded_len(), Message::max_encoded_len(32));
        let counts = Message::Counts {
            batch: 0,
            counts: vec![u32::MAX; MAX_IDENTIFIER_TYPES],
        };
        assert_eq!(counts.encoded_len(), Message::max_encoded_len(1));
        // A full batch of matches: 4 bitmap bytes.
        let matches = Message::Matches {
            batch: 0,
            bitmap: vec![0xFF; 4],
        };
        assert!(matches.encoded_len() <= Message::max_encoded_len(32));
    }
}

//! The labelled protocol's hello parameters: which side this is, the cap on label
//! sets per identifier and, for the releasing side, the released columns. Unlike
//! ECDH the two sides declare different parameters, so the protocol has its own
//! [`crate::ParamsCheck`] ([`check`]).
//!
//! Layout (`docs/protocol.md`, "Labelled mode"): `version (1) ‖ side (1: 1 = learner,
//! 2 = sender) ‖ max_labels_per_id (u32 BE)`, and for the sender `fits (1: 1 when no
//! identifier has more rows than the cap, else 0) ‖ column count (1) ‖ per column:
//! name length (1) ‖ name ‖ max_bytes (u32 BE)`.

use super::{MAX_LABEL_BYTES, MAX_LABEL_COLUMNS, MAX_LABELS_PER_ID, MAX_PADDED_LABELS_LEN};
use crate::PsiError;
use crate::protocol::MAX_PROTOCOL_PARAMS_LEN;

/// Version of the labelled parameters and of everything they imply (derivations,
/// padding, message layout).
pub(crate) const PARAMS_VERSION: u8 = 1;
const SIDE_LEARNER: u8 = 1;
const SIDE_SENDER: u8 = 2;
/// Longest column name, in bytes.
pub(crate) const MAX_COLUMN_NAME_LEN: usize = 64;
/// Bytes of the per-label-set handle in each slot (see `keys.rs`).
pub(crate) const HANDLE_LEN: usize = 16;

/// A released column: its name (not secret: both users see it in the handshake) and
/// the most bytes one value may hold. Every value is padded to `max_bytes`, so the
/// limit, not the data, sets the ciphertext size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelColumn {
    /// 1 to 64 bytes of `[A-Za-z0-9_.-]`, unique within a session.
    pub name: String,
    /// Longest value, `1..=MAX_LABEL_BYTES`.
    pub max_bytes: u32,
}

/// One side's decoded parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Params {
    pub(crate) max_labels_per_id: u32,
    /// `None` for the learner; the released columns for the sender.
    pub(crate) columns: Option<Vec<LabelColumn>>,
    /// Sender: whether no identifier of its input has more rows (label sets) than
    /// the cap. A sender over the cap still says hello, so that both sides refuse
    /// the session in the handshake with the reason. Always `true` for the learner.
    pub(crate) fits: bool,
}

impl Params {
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64);
        out.push(PARAMS_VERSION);
        out.push(if self.columns.is_some() {
            SIDE_SENDER
        } else {
            SIDE_LEARNER
        });
        out.extend_from_slice(&self.max_labels_per_id.to_be_bytes());
        if let Some(columns) = &self.columns {
            out.push(u8::from(self.fits));
            // Validated before encoding: at most 16 columns, names at most 64 bytes.
            out.push(columns.len() as u8);
            for c in columns {
                out.push(c.name.len() as u8);
                out.extend_from_slice(c.name.as_bytes());
                out.extend_from_slice(&c.max_bytes.to_be_bytes());
            }
        }
        out
    }

    /// Parses and validates one side's parameters (ours or the peer's).
    pub(crate) fn decode(bytes: &[u8]) -> Result<Params, &'static str> {
        let mut r = Reader(bytes);
        if r.u8()? != PARAMS_VERSION {
            return Err("unknown labelled parameters version");
        }
        let side = r.u8()?;
        let max_labels_per_id = r.u32()?;
        check_cap(max_labels_per_id)?;
        let mut fits = true;
        let columns = match side {
            SIDE_LEARNER => None,
            SIDE_SENDER => {
                fits = match r.u8()? {
                    1 => true,
                    0 => false,
                    _ => return Err("the fits flag is neither 0 nor 1"),
                };
                let count = usize::from(r.u8()?);
                let mut columns = Vec::with_capacity(count);
                for _ in 0..count {
                    let len = usize::from(r.u8()?);
                    let name = std::str::from_utf8(r.take(len)?)
                        .map_err(|_| "a column name is not text")?
                        .to_owned();
                    let max_bytes = r.u32()?;
                    columns.push(LabelColumn { name, max_bytes });
                }
                validate_columns(&columns, max_labels_per_id)?;
                Some(columns)
            }
            _ => return Err("unknown side in labelled parameters"),
        };
        if !r.0.is_empty() {
            return Err("trailing bytes after the labelled parameters");
        }
        Ok(Params {
            max_labels_per_id,
            columns,
            fits,
        })
    }
}

fn check_cap(cap: u32) -> Result<(), &'static str> {
    if cap == 0 || cap > MAX_LABELS_PER_ID {
        Err("max labels per identifier outside 1..=256")
    } else {
        Ok(())
    }
}

/// Checks a released column list under a cap: 1 to 16 columns, unique well-formed
/// names, maxima in `1..=MAX_LABEL_BYTES`, a padded label block of at most
/// [`MAX_PADDED_LABELS_LEN`] bytes and parameters that fit a hello.
pub(crate) fn validate_columns(columns: &[LabelColumn], cap: u32) -> Result<(), &'static str> {
    if columns.is_empty() {
        return Err("no released columns");
    }
    if columns.len() > MAX_LABEL_COLUMNS {
        return Err("more than 16 released columns");
    }
    for (i, c) in columns.iter().enumerate() {
        if c.name.is_empty() || c.name.len() > MAX_COLUMN_NAME_LEN {
            return Err("a column name is empty or longer than 64 bytes");
        }
        if !c
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err("a column name uses characters outside [A-Za-z0-9_.-]");
        }
        if columns.iter().skip(i + 1).any(|d| d.name == c.name) {
            return Err("a column name appears twice");
        }
        if c.max_bytes == 0 || c.max_bytes > MAX_LABEL_BYTES {
            return Err("a column's maximum length is outside 1..=1024 bytes");
        }
    }
    check_cap(cap)?;
    if padded_len(columns, cap) > MAX_PADDED_LABELS_LEN {
        return Err(
            "the padded label block (max labels per identifier times the \
             column maxima) exceeds 1 MiB",
        );
    }
    let encoded = 8 + columns.iter().map(|c| 5 + c.name.len()).sum::<usize>();
    if encoded > MAX_PROTOCOL_PARAMS_LEN {
        return Err("the column list does not fit the hello (shorten the names)");
    }
    Ok(())
}

/// Bytes of one label-set slot: the handle, then per column a 2-byte length and the
/// value padded to the column's maximum.
pub(crate) fn slot_len(columns: &[LabelColumn]) -> usize {
    HANDLE_LEN
        + columns
            .iter()
            .map(|c| 2 + c.max_bytes as usize)
            .sum::<usize>()
}

/// Bytes of the padded plaintext: a 2-byte count and `cap` slots.
pub(crate) fn padded_len(columns: &[LabelColumn], cap: u32) -> usize {
    2 + (cap as usize).saturating_mul(slot_len(columns))
}

/// The labelled protocol's [`crate::ParamsCheck`]: one learner and one sender with
/// the same cap and a well-formed column list. Reasons are for both users.
pub(crate) fn check(ours: &[u8], peer: &[u8]) -> Result<(), String> {
    let ours = Params::decode(ours).map_err(|e| format!("our labelled parameters: {e}"))?;
    let peer = Params::decode(peer).map_err(|e| format!("the peer's labelled parameters: {e}"))?;
    match (&ours.columns, &peer.columns) {
        (None, None) => return Err("both sides want to receive labels".to_owned()),
        (Some(_), Some(_)) => return Err("both sides release columns".to_owned()),
        _ => {}
    }
    if ours.max_labels_per_id != peer.max_labels_per_id {
        return Err(format!(
            "max labels per identifier differ: ours {}, the peer's {}",
            ours.max_labels_per_id, peer.max_labels_per_id
        ));
    }
    if !ours.fits {
        return Err(format!(
            "our input holds more rows for one identifier than max labels per identifier ({}) allows",
            ours.max_labels_per_id
        ));
    }
    if !peer.fits {
        return Err(format!(
            "the releasing side holds more rows for one identifier than max labels per identifier ({}) allows",
            peer.max_labels_per_id
        ));
    }
    Ok(())
}

/// A bounds-checked cursor over peer bytes.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], &'static str> {
        if self.0.len() < n {
            return Err("labelled parameters cut short");
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, &'static str> {
        Ok(self.take(1)?.first().copied().unwrap_or_default())
    }

    fn u32(&mut self) -> Result<u32, &'static str> {
        let b = self.take(4)?;
        let mut a = [0u8; 4];
        a.copy_from_slice(b);
        Ok(u32::from_be_bytes(a))
    }
}

/// The error for our own bad columns or cap, as a typed [`PsiError`].
pub(crate) fn columns_error(reason: &'static str) -> PsiError {
    PsiError::InvalidLabelColumns { reason }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn col(name: &str, max_bytes: u32) -> LabelColumn {
        LabelColumn {
            name: name.to_owned(),
            max_bytes,
        }
    }

    #[test]
    fn round_trip_and_layout() {
        let p = Params {
            max_labels_per_id: 3,
            columns: Some(vec![col("tier", 8), col("ltv.eur", 12)]),
            fits: true,
        };
        let enc = p.encode();
        assert_eq!(
            enc,
            [
                &[1u8, 2, 0, 0, 0, 3, 1, 2, 4][..],
                b"tier",
                &[0, 0, 0, 8, 7],
                b"ltv.eur",
                &[0, 0, 0, 12]
            ]
            .concat()
        );
        assert_eq!(Params::decode(&enc).unwrap(), p);
        let l = Params {
            max_labels_per_id: 3,
            columns: None,
            fits: true,
        };
        assert_eq!(l.encode(), [1, 1, 0, 0, 0, 3]);
        assert!(check(&l.encode(), &enc).is_ok());
        assert!(check(&enc, &l.encode()).is_ok());
        // A sender over its cap says so; both sides refuse.
        let over = Params { fits: false, ..p };
        let over_enc = over.encode();
        assert_eq!(over_enc[6], 0);
        assert_eq!(Params::decode(&over_enc).unwrap(), over);
        assert!(check(&l.encode(), &over_enc).is_err());
        assert!(check(&over_enc, &l.encode()).is_err());
        let mut bad_flag = enc.clone();
        bad_flag[6] = 2;
        assert!(Params::decode(&bad_flag).is_err());
    }

    #[test]
    fn bad_columns() {
        for (cols, cap) in [
            (vec![], 1),
            (vec![col("", 1)], 1),
            (vec![col("a b", 1)], 1),
            (vec![col("a", 1), col("a", 2)], 1),
            (vec![col("a", 0)], 1),
            (vec![col("a", MAX_LABEL_BYTES + 1)], 1),
            (vec![col(&"x".repeat(65), 1)], 1),
            (vec![col("a", 1)], 0),
            (vec![col("a", 1)], MAX_LABELS_PER_ID + 1),
            ((0..17).map(|i| col(&format!("c{i}"), 1)).collect(), 1),
            ((0..16).map(|i| col(&format!("c{i}"), 1024)).collect(), 256),
        ] {
            assert!(validate_columns(&cols, cap).is_err(), "{cols:?} {cap}");
        }
        // 16 names of 64 bytes would not fit the 1024-byte hello parameters.
        let long: Vec<_> = (0..16).map(|i| col(&format!("{i:064}"), 1)).collect();
        assert!(validate_columns(&long, 1).is_err());
    }

    #[test]
    fn decode_refuses_malformed_bytes() {
        for bad in [
            &[][..],
            &[2, 1, 0, 0, 0, 1],
            &[1, 3, 0, 0, 0, 1],
            &[1, 1, 0, 0, 0],
            &[1, 1, 0, 0, 0, 1, 0],
            &[1, 2, 0, 0, 0, 1, 1, 5, b'a'],
            &[1, 2, 0, 0, 0, 1, 0],
        ] {
            assert!(Params::decode(bad).is_err(), "{bad:?}");
        }
    }
}

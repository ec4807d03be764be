//! The session receipt `blindmatch match` writes on each side: a JSON file in the
//! layout of `docs/receipt-format.md` (version 2) describing one session by IDs,
//! hashes, fingerprints, sizes, counts, traffic and timings.
//!
//! Nothing in a receipt is built from a cell value, a key or a secret scalar: the
//! types below hold only numbers, hex digests, fingerprints, paths and names, and the
//! end-to-end tests search every receipt for the raw identifiers of both sides.
//!
//! The full receipt is this side's record and stays with it: it holds our input
//! figures and what we learned. What may go to the partner is its shareable form
//! ([`ShareableReceipt`], `shareable.rs`).

mod shareable;

use std::time::Duration;

use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Fingerprint, Mode, Reveal, Role};
use serde::{Deserialize, Serialize};

pub use blindmatch_data::meta::{FileInfo, Tool, TypeProfileInfo};
pub use shareable::{
    SHAREABLE_FORMAT, SHAREABLE_VERSION, SessionTool, ShareableReceipt, SharedLabels, SharedLocal,
    SharedPeer, SharedRule, share,
};

/// The value of the `format` field.
pub const FORMAT: &str = "blindmatch-receipt";
/// The receipt layout version (see `docs/receipt-format.md`). Version 2 added the
/// matching rules (`rules`) and the identifier columns (`local.input.columns`).
pub const VERSION: u32 = 2;

/// One side's receipt of one session.
#[derive(Debug, Clone, Serialize)]
pub struct Receipt {
    /// Always [`FORMAT`].
    pub format: &'static str,
    /// Always [`VERSION`].
    pub version: u32,
    /// The program that wrote it.
    pub tool: Tool,
    /// Wire protocol version of the session.
    pub protocol_version: u16,
    /// The PSI protocol both sides ran, as named in the hello (`ecdh-ristretto255`,
    /// `vole-rr22-silent`, `oprf-labels-ristretto255`).
    pub psi_protocol: String,
    /// Derived from the session context; equal on both sides.
    pub session_id: String,
    /// SHA-256 over both directions' bytes; equal on both sides.
    pub transcript_hash: String,
    /// When this side started the command (RFC 3339, UTC).
    pub started_at: String,
    /// When the session and the output were done (RFC 3339, UTC).
    pub finished_at: String,
    /// Agreed mode.
    pub mode: Mode,
    /// Agreed reveal, in absolute terms (which protocol role learns).
    pub reveal: Reveal,
    /// The identifier type matched on; with several rules, the rule names in
    /// priority order, joined by `,` (e.g. `phone,email,name+company`).
    pub id_type: String,
    /// The matching rules in priority order, each with its sizes and counts.
    pub rules: Vec<RuleInfo>,
    /// The normalisation profile, as agreed in the handshake: the profile string of
    /// the session's identifier types, and each type's per-type string, as a
    /// manifest shows it for a token column of that type.
    pub profile: TypeProfileInfo,
    /// Agreed batch size (items per frame).
    pub batch_size: u32,
    /// Bytes per doubly blinded comparison value (the false-match bound's choice).
    pub comparison_bytes: usize,
    /// This side.
    pub local: LocalInfo,
    /// The other side, as far as this side knows it.
    pub peer: PeerInfo,
    /// What this side learned (`null` fields where it learned nothing).
    pub result: ResultInfo,
    /// The matched-rows file, if this side wrote one.
    pub output: Option<FileInfo>,
    /// Bytes and frames each way.
    pub traffic: TrafficInfo,
    /// Wall-clock time per phase, in milliseconds.
    pub timings_ms: TimingsMs,
    /// Labelled mode: the released columns and limits (absent in other modes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub labels: Option<LabelsInfo>,
    /// A bucketed or sharded session: the shard, the agreed buckets and each
    /// bucket's sub-session (absent for a session in one piece).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partition: Option<crate::matching::PartitionRun>,
}

/// Labelled mode, as one side recorded it.
#[derive(Debug, Clone, Serialize)]
pub struct LabelsInfo {
    /// `releases` (this side gave the columns) or `receives`.
    pub side: &'static str,
    /// The released column names, as agreed in the handshake.
    pub columns: Vec<String>,
    /// The longest released value in bytes, per column (values are padded to it),
    /// as the releasing side declared it in the handshake.
    pub max_bytes: Vec<u32>,
    /// The agreed most rows (label sets) per identifier on the releasing side.
    pub max_labels_per_id: u32,
    /// Rows of the output (one per matched row and label set), on the receiving side.
    pub output_rows: Option<u64>,
}

/// This side of the session.
#[derive(Debug, Clone, Serialize)]
pub struct LocalInfo {
    /// Protocol role.
    pub role: Role,
    /// `connector` or `listener`.
    pub network_role: &'static str,
    /// Our certificate's fingerprint; `null` over the insecure plaintext transport.
    pub fingerprint: Option<Fingerprint>,
    /// Our de-duplicated set size, as declared in the handshake.
    pub declared_size: u64,
    /// The input file and what became of its identifier cells.
    pub input: InputInfo,
    /// Whether this side learned the result.
    pub learns: bool,
}

/// The input of a session.
#[derive(Debug, Clone, Serialize)]
pub struct InputInfo {
    /// The path as given (`-` for standard input).
    pub path: String,
    /// The table format read: `csv`, `parquet` or `arrow`.
    pub format: String,
    /// SHA-256 of every byte read, lowercase hex.
    pub sha256: String,
    /// Data rows (header excluded).
    pub rows: u64,
    /// Bytes read.
    pub bytes: u64,
    /// The identifier column (several: their names joined by `,`).
    pub column: String,
    /// Each identifier column and what became of its cells.
    pub columns: Vec<ColumnInfo>,
    /// Cells normalised and taken into the set (all identifier columns).
    pub values: u64,
    /// Empty cells.
    pub empty: u64,
    /// Cells the normaliser refused (never sent), by reason code below.
    pub rejected: u64,
    /// Rejected cells by reason code.
    pub rejects: std::collections::BTreeMap<&'static str, u64>,
}

/// One identifier column of the input.
#[derive(Debug, Clone, Serialize)]
pub struct ColumnInfo {
    /// Its header name.
    pub column: String,
    /// Its identifier type.
    pub id_type: String,
    /// Cells normalised.
    pub values: u64,
    /// Empty cells.
    pub empty: u64,
    /// Cells the normaliser refused.
    pub rejected: u64,
    /// Rejected cells by reason code.
    pub rejects: std::collections::BTreeMap<&'static str, u64>,
}

/// One matching rule of the session.
#[derive(Debug, Clone, Serialize)]
pub struct RuleInfo {
    /// The rule's canonical name (`phone`, `name+company`).
    pub rule: String,
    /// Our input columns of its fields.
    pub columns: Vec<String>,
    /// Our distinct values under the rule, as declared in the handshake.
    pub local_size: u64,
    /// The peer's declared distinct values under the rule.
    pub peer_size: Option<u64>,
    /// Distinct values matched under the rule, if this side learned.
    pub matched_values: Option<u64>,
    /// Our rows matched under the rule (intersection learners).
    pub matched_rows: Option<u64>,
}

/// The peer, as this side knows it.
#[derive(Debug, Clone, Serialize)]
pub struct PeerInfo {
    /// The peer's protocol role.
    pub role: Role,
    /// The peer's verified certificate fingerprint; `null` over plaintext.
    pub fingerprint: Option<Fingerprint>,
    /// The peer's declared set size.
    pub declared_size: u64,
    /// The smallest peer set this side accepted (its `--min-peer-set`).
    pub min_peer_set: u64,
    /// The peer's network address.
    pub address: Option<String>,
    /// The peer's software, as its hello said.
    pub implementation: String,
}

/// What this side learned.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct ResultInfo {
    /// Our rows whose value matched (duplicates counted per row).
    pub matched_rows: Option<u64>,
    /// Distinct matched values.
    pub matched_values: Option<u64>,
    /// Distinct values both sides hold.
    pub cardinality: Option<u64>,
}

/// Traffic of a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrafficInfo {
    /// Frame bytes written (inside TLS).
    pub bytes_sent: u64,
    /// Frame bytes read (inside TLS).
    pub bytes_received: u64,
    /// Frames written.
    pub frames_sent: u64,
    /// Frames read.
    pub frames_received: u64,
    /// Bytes written to the socket, TLS records included.
    pub wire_bytes_sent: Option<u64>,
    /// Bytes read from the socket, TLS records included.
    pub wire_bytes_received: Option<u64>,
}

/// Milliseconds per phase; see `docs/receipt-format.md` for what each covers.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct TimingsMs {
    /// TCP, TLS and the hello exchange.
    pub handshake: u64,
    /// Compute time spent hashing our items to the group and blinding them.
    pub hashing: u64,
    /// The PSI exchange, from the handshake to our result.
    pub exchange: u64,
    /// Compute time of the final comparison (0 when we do not learn).
    pub compare: u64,
    /// The whole command, reading the input included.
    pub total: u64,
    /// Reading and normalising the input.
    pub prepare: u64,
    /// TCP connect or accept plus TLS (part of `handshake`).
    pub connect: u64,
    /// The closing `Done` exchange.
    pub finish: u64,
}

/// Whole milliseconds of a duration.
pub fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Receipt {
    /// The receipt as pretty JSON with a trailing newline.
    ///
    /// # Errors
    /// Serialisation failed (not expected for these types).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(self)
            .fail_with(|| Error::failed("cannot encode the receipt as JSON"))?;
        out.push(b'\n');
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn millis_saturate() {
        assert_eq!(ms(Duration::from_millis(1500)), 1500);
        assert_eq!(ms(Duration::MAX), u64::MAX);
    }
}

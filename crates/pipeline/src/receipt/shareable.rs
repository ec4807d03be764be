//! The shareable receipt (`docs/receipt-format.md`, "The shareable form"): the part
//! of a session receipt that the partner already knows from the hellos and the
//! transcript, and so may be handed to it. The full receipt stays with the side that
//! wrote it.
//!
//! Per matching rule it keeps what both hellos declared (the rule's name and each
//! side's distinct values under it), and nothing learned from the exchange.
//!
//! Kept out on purpose, because only our side knows them: the input (path, hash,
//! rows, bytes, values, empty and rejected cells, its columns), the result (matched
//! rows and values, the cardinality, also per rule), the output file, our columns
//! of each rule, the peer's address as we saw it (our
//! proxies and NAT, not the partner's own address) and every time and timing (they
//! grow with our row count and our result, not only with the declared sizes).

use std::path::Path;

use blindmatch_data::dataset::InputSource;
use blindmatch_data::output::{WrittenFile, check_outputs, write_atomic};
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Fingerprint, Mode, Reveal, Role};
use blindmatch_token::{IdType, Rule};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{FORMAT, Receipt, TrafficInfo, TypeProfileInfo, VERSION};

/// The `format` of a shareable receipt. A format of its own, not a flag inside the
/// full one: no reader can take one for the other, and a build that predates the
/// shareable form refuses it as "not a receipt" instead of reporting missing fields.
pub const SHAREABLE_FORMAT: &str = "blindmatch-shareable-receipt";
/// The shareable layout version. Version 2 added the matching rules (`rules`, each
/// with both declared sizes).
pub const SHAREABLE_VERSION: u32 = 2;
/// A receipt file larger than this is refused; real ones are a few kilobytes.
const MAX_RECEIPT_BYTES: u64 = 1 << 20;

/// What both sides of one session know of it: the shareable form of a [`Receipt`].
///
/// Its fields have the names and places they have in the full receipt, so a reader
/// of one reads the other, and [`ShareableReceipt::from_full_json`] takes exactly
/// these fields from a full receipt and nothing else.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareableReceipt {
    /// Always [`SHAREABLE_FORMAT`].
    pub format: String,
    /// Always [`SHAREABLE_VERSION`].
    pub version: u32,
    /// The program that ran the session (the full receipt's `tool`).
    pub tool: SessionTool,
    /// Wire protocol version of the session.
    pub protocol_version: u16,
    /// The PSI protocol both sides ran, as named in the hello; absent when shared
    /// from a receipt written before receipts named it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub psi_protocol: Option<String>,
    /// Derived from the session context; equal on both sides.
    pub session_id: String,
    /// SHA-256 over both directions' bytes; equal on both sides.
    pub transcript_hash: String,
    /// Agreed mode.
    pub mode: Mode,
    /// Agreed reveal, in absolute terms.
    pub reveal: Reveal,
    /// The identifier type matched on; with several rules, the rule names in
    /// priority order, joined by `,`.
    pub id_type: String,
    /// The matching rules in priority order, each with both sides' declared sizes.
    pub rules: Vec<SharedRule>,
    /// The normalisation profile, as both hellos named it.
    pub profile: TypeProfileInfo,
    /// Agreed batch size.
    pub batch_size: u32,
    /// Bytes per doubly blinded comparison value.
    pub comparison_bytes: usize,
    /// This side, as the partner saw it in the handshake.
    pub local: SharedLocal,
    /// The partner, as it presented itself in the handshake.
    pub peer: SharedPeer,
    /// Bytes and frames each way: what one side sent, the other received.
    pub traffic: TrafficInfo,
    /// Labelled mode: the released columns and limits, as the hellos carried them
    /// (not how many rows this side received).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<SharedLabels>,
}

/// Labelled mode, as both hellos declared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLabels {
    /// `releases` or `receives`: this side's part (follows from the reveal setting).
    pub side: String,
    /// The released column names.
    pub columns: Vec<String>,
    /// Per column, the longest value in bytes (the padding length).
    pub max_bytes: Vec<u32>,
    /// The agreed most rows per identifier on the releasing side.
    pub max_labels_per_id: u32,
}

/// One matching rule, as both hellos declared it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedRule {
    /// The rule's canonical name (`phone`, `name+company`).
    pub rule: String,
    /// Our distinct values under the rule (sent in our hello).
    pub local_size: u64,
    /// The partner's distinct values under the rule (sent in its hello).
    pub peer_size: Option<u64>,
}

/// The program that ran a session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTool {
    /// `blindmatch`.
    pub name: String,
    /// Its version.
    pub version: String,
}

/// This side, as far as the partner knows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedLocal {
    /// Protocol role.
    pub role: Role,
    /// `connector` or `listener`.
    pub network_role: String,
    /// Our certificate's fingerprint (the partner pinned it); `null` over plaintext.
    #[serde(deserialize_with = "fingerprint")]
    pub fingerprint: Option<Fingerprint>,
    /// Our declared set size (sent in our hello).
    pub declared_size: u64,
    /// Whether this side learned the result (follows from reveal and role).
    pub learns: bool,
}

/// The partner, as it presented itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SharedPeer {
    /// The partner's protocol role.
    pub role: Role,
    /// The partner's verified certificate fingerprint; `null` over plaintext.
    #[serde(deserialize_with = "fingerprint")]
    pub fingerprint: Option<Fingerprint>,
    /// The partner's declared set size.
    pub declared_size: u64,
    /// The smallest partner set this side accepted; our hello carried it.
    pub min_peer_set: u64,
}

/// A fingerprint in its canonical text form, or `null`; the error never quotes it.
fn fingerprint<'de, D: Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<Fingerprint>, D::Error> {
    Option::<String>::deserialize(d)?
        .map(|s| {
            s.parse()
                .map_err(|_| serde::de::Error::custom("not a certificate fingerprint"))
        })
        .transpose()
}

impl From<&Receipt> for ShareableReceipt {
    fn from(r: &Receipt) -> Self {
        ShareableReceipt {
            format: SHAREABLE_FORMAT.to_owned(),
            version: SHAREABLE_VERSION,
            tool: SessionTool {
                name: r.tool.name.to_owned(),
                version: r.tool.version.to_owned(),
            },
            protocol_version: r.protocol_version,
            psi_protocol: Some(r.psi_protocol.clone()),
            session_id: r.session_id.clone(),
            transcript_hash: r.transcript_hash.clone(),
            mode: r.mode,
            reveal: r.reveal,
            id_type: r.id_type.clone(),
            rules: r
                .rules
                .iter()
                .map(|rule| SharedRule {
                    rule: rule.rule.clone(),
                    local_size: rule.local_size,
                    peer_size: rule.peer_size,
                })
                .collect(),
            profile: r.profile.clone(),
            batch_size: r.batch_size,
            comparison_bytes: r.comparison_bytes,
            local: SharedLocal {
                role: r.local.role,
                network_role: r.local.network_role.to_owned(),
                fingerprint: r.local.fingerprint,
                declared_size: r.local.declared_size,
                learns: r.local.learns,
            },
            peer: SharedPeer {
                role: r.peer.role,
                fingerprint: r.peer.fingerprint,
                declared_size: r.peer.declared_size,
                min_peer_set: r.peer.min_peer_set,
            },
            traffic: r.traffic,
            labels: r.labels.as_ref().map(|l| SharedLabels {
                side: l.side.to_owned(),
                columns: l.columns.clone(),
                max_bytes: l.max_bytes.clone(),
                max_labels_per_id: l.max_labels_per_id,
            }),
        }
    }
}

impl ShareableReceipt {
    /// The shareable form of the full receipt `bytes` (read from `name`): its
    /// shareable fields, checked, and nothing else.
    ///
    /// # Errors
    /// Bad input: not JSON, not a full receipt (a shareable one is refused as such),
    /// another version, or a shareable field missing, mistyped or malformed. The
    /// messages name the file and the field, never a value.
    pub fn from_full_json(bytes: &[u8], name: &str) -> Result<Self> {
        let unedited = "give the receipt `blindmatch match` wrote, unedited";
        // serde's messages can quote the offending value: none of them is passed on.
        let value: Value = serde_json::from_slice(bytes).map_err(|_| {
            Error::bad_input(format!("receipt '{name}' is not valid JSON")).hint(unedited)
        })?;
        match value.get("format").and_then(Value::as_str) {
            Some(FORMAT) => {}
            Some(SHAREABLE_FORMAT) => {
                return Err(
                    Error::bad_input(format!("'{name}' is a shareable receipt already"))
                        .hint("send it to the partner as it is"),
                );
            }
            _ => {
                return Err(Error::bad_input(format!(
                    "'{name}' is not a blindmatch receipt: its \"format\" field is not \"{FORMAT}\""
                ))
                .hint(unedited));
            }
        }
        let mut value = value;
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            // A receipt of a one-column session before rules: its one rule is its
            // identifier type, with the set sizes both hellos declared.
            Some(1) => with_one_rule(&mut value),
            Some(v) => {
                return Err(Error::bad_input(format!(
                    "receipt '{name}' has format version {v}; this build reads versions 1 to {VERSION}"
                ))
                .hint("use the blindmatch version that wrote it, or a newer one"));
            }
            None => {
                return Err(Error::bad_input(format!(
                    "receipt '{name}' has no numeric \"version\" field"
                ))
                .hint(unedited));
            }
        }
        let mut shareable: ShareableReceipt = serde_json::from_value(value).map_err(|_| {
            Error::bad_input(format!(
                "receipt '{name}' lacks a field of the shareable form, or one has the wrong type"
            ))
            .hint(unedited)
        })?;
        shareable.format = SHAREABLE_FORMAT.to_owned();
        shareable.version = SHAREABLE_VERSION;
        shareable.check(name)?;
        Ok(shareable)
    }

    /// The fields a reader compares as text, in their written forms.
    fn check(&self, name: &str) -> Result<()> {
        let problem = if !is_hex(&self.session_id, 32) {
            Some("session_id")
        } else if !is_hex(&self.transcript_hash, 64) {
            Some("transcript_hash")
        } else if !is_hex(&self.profile.digest, 64) {
            Some("profile.digest")
        } else if let Err(field) = self.check_rules() {
            Some(field)
        } else if !matches!(self.local.network_role.as_str(), "connector" | "listener") {
            Some("local.network_role")
        } else if self.local.role == self.peer.role {
            Some("peer.role")
        } else if self.local.learns != self.reveal.learns(self.local.role) {
            Some("local.learns")
        } else {
            None
        };
        match problem {
            Some(field) => Err(Error::bad_input(format!(
                "receipt '{name}': field `{field}` is malformed or contradicts the others"
            ))
            .hint("give the receipt `blindmatch match` wrote, unedited")),
            None => Ok(()),
        }
    }

    /// The rules: canonical, distinct, named by `id_type` in order, their sizes
    /// adding up to the declared set sizes, and `profile.types` holding exactly
    /// their fields (for one field, the string `name;sha256=digest`). On a problem,
    /// the field to name.
    fn check_rules(&self) -> std::result::Result<(), &'static str> {
        let mut fields: Vec<IdType> = Vec::new();
        for (i, r) in self.rules.iter().enumerate() {
            let rule: Rule = r.rule.parse().map_err(|_| "rules")?;
            if rule.name() != r.rule || self.rules.iter().skip(i + 1).any(|s| s.rule == r.rule) {
                return Err("rules");
            }
            fields.extend_from_slice(rule.fields());
        }
        let names: Vec<&str> = self.rules.iter().map(|r| r.rule.as_str()).collect();
        if names.is_empty() || names.join(",") != self.id_type {
            return Err("id_type");
        }
        let local: Option<u64> = self
            .rules
            .iter()
            .try_fold(0u64, |sum, r| sum.checked_add(r.local_size));
        if local != Some(self.local.declared_size) {
            return Err("rules");
        }
        let peer: Option<u64> = self
            .rules
            .iter()
            .try_fold(0u64, |sum, r| r.peer_size.and_then(|n| sum.checked_add(n)));
        if peer != Some(self.peer.declared_size) {
            return Err("rules");
        }
        fields.sort_by_key(|t| t.index());
        fields.dedup();
        if let [one] = fields[..] {
            return match self.profile.string_for(one.as_str()) {
                Some(_) => Ok(()),
                None => Err("profile.types"),
            };
        }
        let listed = self.profile.types.len() == fields.len()
            && fields.iter().all(|t| {
                self.profile.types.get(t.as_str()).is_some_and(|s| {
                    s.split_once(";sha256=")
                        .is_some_and(|(name, digest)| !name.is_empty() && is_hex(digest, 64))
                })
            });
        if listed { Ok(()) } else { Err("profile.types") }
    }

    /// The shareable receipt as pretty JSON with a trailing newline.
    ///
    /// # Errors
    /// Serialisation failed (not expected for these types).
    pub fn to_json(&self) -> Result<Vec<u8>> {
        let mut out = serde_json::to_vec_pretty(self)
            .fail_with(|| Error::failed("cannot encode the shareable receipt as JSON"))?;
        out.push(b'\n');
        Ok(out)
    }
}

/// Whether `s` is exactly `len` lowercase hex digits.
fn is_hex(s: &str, len: usize) -> bool {
    s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Gives a version 1 full receipt (one identifier column, no `rules`) its one rule:
/// the identifier type, with both declared set sizes. Fields it lacks stay absent,
/// so the read that follows names them.
fn with_one_rule(value: &mut Value) {
    let rule = serde_json::json!([{
        "rule": value.get("id_type"),
        "local_size": value.pointer("/local/declared_size"),
        "peer_size": value.pointer("/peer/declared_size"),
    }]);
    if let Some(map) = value.as_object_mut() {
        map.insert("rules".to_owned(), rule);
    }
}

/// `blindmatch receipt share`: writes the shareable form of the full receipt `full`
/// to `out` atomically (never over `full`; over an existing file only with `force`).
///
/// # Errors
/// Bad input (exit 2): as [`ShareableReceipt::from_full_json`], an unreadable or
/// oversized file, or an output that exists or is the input; failed (exit 1) when
/// writing fails.
pub fn share(full: &Path, out: &Path, force: bool) -> Result<WrittenFile> {
    check_outputs(
        &InputSource::File(full.to_path_buf()),
        &[("-o", out)],
        force,
    )?;
    let shown = full.display().to_string();
    let meta = std::fs::metadata(full).fail_with(|| {
        Error::bad_input(format!("cannot read receipt '{shown}'")).hint("check the path")
    })?;
    if meta.len() > MAX_RECEIPT_BYTES {
        return Err(Error::bad_input(format!(
            "'{shown}' is larger than {} KiB; not a blindmatch receipt",
            MAX_RECEIPT_BYTES >> 10
        ))
        .hint("give the receipt `blindmatch match` wrote"));
    }
    let bytes = std::fs::read(full).fail_with(|| {
        Error::bad_input(format!("cannot read receipt '{shown}'"))
            .hint("check the file's permissions")
    })?;
    let shareable = ShareableReceipt::from_full_json(&bytes, &shown)?;
    write_atomic(out, &shareable.to_json()?, force, false)
}

#[cfg(test)]
mod tests;

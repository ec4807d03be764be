//! The shareable receipt (`docs/receipt-format.md`, "The shareable form"): the part
//! of a session receipt that the partner already knows from the hellos and the
//! transcript, and so may be handed to it. The full receipt stays with the side that
//! wrote it.
//!
//! Kept out on purpose, because only our side knows them: the input (path, hash,
//! rows, bytes, values, empty and rejected cells), the result (matched rows and
//! values, the cardinality), the output file, the peer's address as we saw it (our
//! proxies and NAT, not the partner's own address) and every time and timing (they
//! grow with our row count and our result, not only with the declared sizes).

use std::path::Path;

use blindmatch_data::dataset::InputSource;
use blindmatch_data::output::{WrittenFile, check_outputs, write_atomic};
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Fingerprint, Mode, Reveal, Role};
use blindmatch_token::IdType;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

use super::{FORMAT, Receipt, TrafficInfo, TypeProfileInfo, VERSION};

/// The `format` of a shareable receipt. A format of its own, not a flag inside the
/// full one: no reader can take one for the other, and a build that predates the
/// shareable form refuses it as "not a receipt" instead of reporting missing fields.
pub const SHAREABLE_FORMAT: &str = "blindmatch-shareable-receipt";
/// The shareable layout version.
pub const SHAREABLE_VERSION: u32 = 1;
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
    /// Derived from the session context; equal on both sides.
    pub session_id: String,
    /// SHA-256 over both directions' bytes; equal on both sides.
    pub transcript_hash: String,
    /// Agreed mode.
    pub mode: Mode,
    /// Agreed reveal, in absolute terms.
    pub reveal: Reveal,
    /// The identifier type matched on.
    pub id_type: String,
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
            session_id: r.session_id.clone(),
            transcript_hash: r.transcript_hash.clone(),
            mode: r.mode,
            reveal: r.reveal,
            id_type: r.id_type.clone(),
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
        match value.get("version").and_then(Value::as_u64) {
            Some(v) if v == u64::from(VERSION) => {}
            Some(v) => {
                return Err(Error::bad_input(format!(
                    "receipt '{name}' has format version {v}; this build reads version {VERSION}"
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
        let is_hex = |s: &str, len: usize| {
            s.len() == len && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        };
        let problem = if !is_hex(&self.session_id, 32) {
            Some("session_id")
        } else if !is_hex(&self.transcript_hash, 64) {
            Some("transcript_hash")
        } else if !is_hex(&self.profile.digest, 64) {
            Some("profile.digest")
        } else if !IdType::ALL.iter().any(|t| t.as_str() == self.id_type) {
            Some("id_type")
        } else if self.profile.string_for(&self.id_type).is_none() {
            Some("profile.types")
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
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;
    use crate::receipt::{FileInfo, InputInfo, LocalInfo, PeerInfo, ResultInfo, TimingsMs, Tool};
    use blindmatch_token::Profile;

    /// A learner's full receipt with every private field set.
    fn full() -> Receipt {
        Receipt {
            format: FORMAT,
            version: VERSION,
            tool: Tool::current(),
            protocol_version: 2,
            session_id: "11".repeat(16),
            transcript_hash: "22".repeat(32),
            started_at: "2026-11-22T10:00:00Z".into(),
            finished_at: "2026-11-22T10:00:05Z".into(),
            mode: Mode::Intersection,
            reveal: Reveal::Initiator,
            id_type: "phone".into(),
            rules: vec![super::super::RuleInfo {
                rule: "phone".into(),
                columns: vec!["phone".into()],
                local_size: 80,
                peer_size: Some(100),
                matched_values: Some(7),
                matched_rows: Some(8),
            }],
            profile: TypeProfileInfo::new(&Profile::standard(), IdType::Phone),
            batch_size: 4096,
            comparison_bytes: 8,
            local: LocalInfo {
                role: Role::Initiator,
                network_role: "connector",
                fingerprint: Some(Fingerprint::of_der(b"ours")),
                declared_size: 80,
                input: InputInfo {
                    path: "customers.csv".into(),
                    sha256: "44".repeat(32),
                    rows: 90,
                    bytes: 900,
                    column: "phone".into(),
                    columns: vec![super::super::ColumnInfo {
                        column: "phone".into(),
                        id_type: "phone".into(),
                        values: 85,
                        empty: 3,
                        rejected: 2,
                        rejects: BTreeMap::from([("too_short", 2)]),
                    }],
                    values: 85,
                    empty: 3,
                    rejected: 2,
                    rejects: BTreeMap::from([("too_short", 2)]),
                },
                learns: true,
            },
            peer: PeerInfo {
                role: Role::Responder,
                fingerprint: Some(Fingerprint::of_der(b"theirs")),
                declared_size: 100,
                min_peer_set: 10,
                address: Some("10.0.3.7:52144".into()),
                implementation: "blindmatch-net/0.1.0".into(),
            },
            result: ResultInfo {
                matched_rows: Some(31),
                matched_values: Some(30),
                cardinality: Some(30),
            },
            output: Some(FileInfo::new(Path::new("matched.csv"), "55".repeat(32), 10)),
            traffic: TrafficInfo {
                bytes_sent: 1000,
                bytes_received: 2000,
                frames_sent: 5,
                frames_received: 6,
                wire_bytes_sent: Some(1100),
                wire_bytes_received: None,
            },
            timings_ms: TimingsMs::default(),
        }
    }

    /// Every key of a JSON document, at any depth.
    fn keys(v: &Value, out: &mut BTreeSet<String>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    out.insert(k.clone());
                    keys(v, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|v| keys(v, out)),
            _ => {}
        }
    }

    #[test]
    fn holds_what_both_sides_know_and_nothing_else() {
        let json = ShareableReceipt::from(&full()).to_json().unwrap();
        let v: Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["format"], SHAREABLE_FORMAT);
        let top: BTreeSet<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
        let expected = "format version tool protocol_version session_id transcript_hash mode \
                        reveal id_type profile batch_size comparison_bytes local peer traffic";
        assert_eq!(top, expected.split_whitespace().collect());
        let mut all = BTreeSet::new();
        keys(&v, &mut all);
        for private in [
            "input",
            "path",
            "sha256",
            "rows",
            "bytes",
            "values",
            "empty",
            "rejected",
            "rejects",
            "result",
            "matched_rows",
            "matched_values",
            "cardinality",
            "output",
            "address",
            "implementation",
            "timings_ms",
            "started_at",
            "finished_at",
        ] {
            assert!(!all.contains(private), "`{private}` in {v:#}");
        }
        let text = String::from_utf8(json).unwrap();
        for value in [
            "customers.csv",
            "10.0.3.7",
            &"44".repeat(32),
            &"55".repeat(32),
        ] {
            assert!(!text.contains(value), "{value}");
        }
    }

    #[test]
    fn derived_later_is_what_the_session_wrote() {
        let receipt = full();
        let later = ShareableReceipt::from_full_json(&receipt.to_json().unwrap(), "r.json");
        let now = ShareableReceipt::from(&receipt);
        assert_eq!(later.unwrap().to_json().unwrap(), now.to_json().unwrap());
    }

    #[test]
    fn only_an_unedited_full_receipt_is_shared() {
        let full: Value = serde_json::from_slice(&full().to_json().unwrap()).unwrap();
        let refused = |v: &Value| {
            let bytes = serde_json::to_vec(v).unwrap();
            ShareableReceipt::from_full_json(&bytes, "r.json")
                .unwrap_err()
                .message()
                .to_owned()
        };
        let shareable = ShareableReceipt::from_full_json(&serde_json::to_vec(&full).unwrap(), "r")
            .unwrap()
            .to_json()
            .unwrap();
        let shareable: Value = serde_json::from_slice(&shareable).unwrap();
        assert!(refused(&shareable).contains("shareable receipt already"));
        let mut v = full.clone();
        v["version"] = 9.into();
        assert!(refused(&v).contains("version 9"));
        // A raw identifier in a mistyped or malformed field is never echoed.
        let mut v = full.clone();
        v["local"]["declared_size"] = "13800138000".into();
        assert!(!refused(&v).contains("13800138000"));
        let mut v = full.clone();
        v["session_id"] = "13800138000".into();
        let message = refused(&v);
        assert!(
            message.contains("`session_id`") && !message.contains("138"),
            "{message}"
        );
        let mut v = full.clone();
        v["peer"]["fingerprint"] = "sha256:13800138000".into();
        assert!(!refused(&v).contains("13800138000"));
        let mut v = full;
        v["peer"]["role"] = "initiator".into();
        assert!(refused(&v).contains("`peer.role`"));
    }

    #[test]
    fn the_profile_string_is_the_hellos_and_is_checked() {
        let receipt = full();
        let v: Value = serde_json::from_slice(&receipt.to_json().unwrap()).unwrap();
        let string = Profile::standard().type_string(IdType::Phone);
        assert_eq!(v["profile"]["types"]["phone"], string.as_str());
        assert_eq!(v["profile"]["unicode"], blindmatch_token::unicode_version());
        assert_eq!(
            v["profile"]["unicode_case"],
            blindmatch_token::unicode_case_version()
        );
        let refused = |v: &Value| {
            ShareableReceipt::from_full_json(&serde_json::to_vec(v).unwrap(), "r.json")
                .unwrap_err()
                .message()
                .to_owned()
        };
        // A string that is not `name;sha256=digest`, or for another type, or a second
        // one, is refused by the field's name.
        let mut edited = v.clone();
        edited["profile"]["types"]["phone"] =
            format!("bm-std-v1;sha256={}", "00".repeat(32)).into();
        assert!(refused(&edited).contains("`profile.types`"));
        let mut edited = v.clone();
        edited["profile"]["types"] = serde_json::json!({"email": string});
        assert!(refused(&edited).contains("`profile.types`"));
        let mut edited = v;
        edited["profile"]["types"]["email"] = string.into();
        assert!(refused(&edited).contains("`profile.types`"));
    }

    #[test]
    fn share_writes_beside_and_never_over() {
        let dir = tempfile::tempdir().unwrap();
        let full_path = dir.path().join("r.json");
        std::fs::write(&full_path, full().to_json().unwrap()).unwrap();
        let out = dir.path().join("s.json");
        let written = share(&full_path, &out, false).unwrap();
        assert_eq!(
            std::fs::read(&written.path).unwrap(),
            ShareableReceipt::from(&full()).to_json().unwrap()
        );
        assert!(share(&full_path, &out, false).is_err());
        share(&full_path, &out, true).unwrap();
        assert!(share(&full_path, &full_path, true).is_err());
        assert!(share(&out, &dir.path().join("t.json"), false).is_err());
    }
}

//! `blindmatch merge`: one side's K shard results (`match --shard I/K`) combined into
//! one output and one merged receipt that lists the shard receipts, each by path
//! and SHA-256, with a digest over them ([`merge`]).
//!
//! The shard receipts must be of one run: every index `0..K` once, the same K,
//! mode, reveal, rules, profile, role, input file and partner. Outputs are merged
//! in row order; a row matched in several shards (on different rules) becomes one
//! row whose per-rule match IDs are combined as one session would have written them.

mod rows;

use std::path::{Path, PathBuf};

use blindmatch_data::meta::{FileInfo, Precision, Tool, now_rfc3339};
use blindmatch_data::output::{commit_all, seal_atomic};
use blindmatch_data::{Error, FailWith, Result};
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::matching::partition::Shard;

/// `format` of a merged receipt.
pub const MERGED_FORMAT: &str = "blindmatch-merged-receipt";
/// Its layout version.
pub const MERGED_VERSION: u32 = 1;
/// Label of the digest over the shard receipts.
pub const MERGE_DIGEST_LABEL: &[u8] = b"blindmatch/v1/merge/receipts";

/// What to merge.
#[derive(Debug, Clone)]
pub struct MergeConfig {
    /// The K shard receipts, in any order.
    pub receipts: Vec<PathBuf>,
    /// Where the merged matched rows go (required when the shards wrote outputs).
    pub output: Option<PathBuf>,
    /// Where the merged receipt goes.
    pub receipt: PathBuf,
    /// Replace existing files.
    pub force: bool,
    /// The outputs' field delimiter.
    pub delimiter: u8,
}

/// One shard, as the merged receipt lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ShardEntry {
    /// `I/K`.
    pub shard: String,
    /// The shard receipt's path, as given.
    pub receipt: String,
    /// Its SHA-256.
    pub sha256: String,
    /// Its session ID.
    pub session_id: String,
    /// Its transcript hash.
    pub transcript_hash: String,
    /// Its matched rows (`null` where this side learns no rows).
    pub matched_rows: Option<u64>,
    /// Its matched distinct values (`null` where this side learns nothing).
    pub matched_values: Option<u64>,
}

/// The merged receipt.
#[derive(Debug, Clone, Serialize)]
pub struct MergedReceipt {
    /// Always [`MERGED_FORMAT`].
    pub format: &'static str,
    /// Always [`MERGED_VERSION`].
    pub version: u32,
    /// The program that wrote it.
    pub tool: Tool,
    /// When.
    pub merged_at: String,
    /// K.
    pub shards: u32,
    /// The shards' mode, reveal, rules, role and input, as they all recorded them.
    pub mode: Value,
    /// Who learns.
    pub reveal: Value,
    /// The matching rules.
    pub id_type: Value,
    /// Our role.
    pub role: Value,
    /// The input file's SHA-256.
    pub input_sha256: Value,
    /// The partner's certificate fingerprint.
    pub peer_fingerprint: Value,
    /// Every shard, by index.
    pub receipts: Vec<ShardEntry>,
    /// SHA-256 over [`MERGE_DIGEST_LABEL`] and each shard receipt's SHA-256 (hex)
    /// in index order.
    pub receipts_digest: String,
    /// Matched rows of the merged output (distinct rows), when this side learns rows.
    pub matched_rows: Option<u64>,
    /// Matched distinct values, summed over the shards (each value is in one shard).
    pub matched_values: Option<u64>,
    /// The merged output.
    pub output: Option<FileInfo>,
}

/// What a merge wrote.
#[derive(Debug)]
pub struct MergeSummary {
    /// K.
    pub shards: u32,
    /// Rows in the merged output, when there is one.
    pub matched_rows: Option<u64>,
    /// The merged output file.
    pub output: Option<PathBuf>,
    /// The merged receipt file.
    pub receipt: PathBuf,
}

/// One shard receipt, read.
pub(crate) struct ShardReceipt {
    pub(crate) path: PathBuf,
    pub(crate) shard: Shard,
    pub(crate) sha256: String,
    pub(crate) doc: Value,
}

/// The digest a merged receipt records over its shard receipts' digests.
#[must_use]
pub fn receipts_digest<'a>(digests: impl IntoIterator<Item = &'a str>) -> String {
    let mut h = Sha256::new().chain_update(MERGE_DIGEST_LABEL);
    for d in digests {
        h.update(d.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Merges one side's shard results.
///
/// # Errors
/// Bad input (exit 2): a file that is not a shard receipt, shards of different
/// runs, a missing or repeated index, an output whose digest is not the one its
/// receipt recorded; existing outputs without `force`. Nothing is written then.
pub fn merge(cfg: &MergeConfig) -> Result<MergeSummary> {
    let mut shards = cfg
        .receipts
        .iter()
        .map(|p| read_shard_receipt(p))
        .collect::<Result<Vec<_>>>()?;
    shards.sort_by_key(|s| s.shard.index);
    let k = check_one_run(&shards)?;
    let first = &shards[0].doc;
    let learns_rows = first["output"].is_object();
    let (output_info, merged_rows) = match (learns_rows, &cfg.output) {
        (true, Some(path)) => {
            let (sealed, rows) = rows::merge_outputs(&shards, path, cfg)?;
            (Some(sealed), Some(rows))
        }
        (true, None) => {
            return Err(
                Error::bad_input("-o FILE is required: the shards wrote matched rows")
                    .hint("name the merged output, e.g. -o matched.csv"),
            );
        }
        (false, Some(path)) => {
            // The same command then serves both sides (e.g. a deployment's merge job).
            tracing::warn!(
                "this side learned no rows: '{}' is not written, only the merged receipt",
                path.display()
            );
            (None, None)
        }
        (false, None) => (None, None),
    };
    let sum = |key: &str| -> Option<u64> {
        shards
            .iter()
            .map(|s| s.doc["result"][key].as_u64())
            .try_fold(0u64, |acc, v| v.map(|v| acc + v))
    };
    let entries: Vec<ShardEntry> = shards
        .iter()
        .map(|s| ShardEntry {
            shard: s.shard.to_string(),
            receipt: relative_to(&s.path, &cfg.receipt),
            sha256: s.sha256.clone(),
            session_id: s.doc["session_id"].as_str().unwrap_or_default().to_owned(),
            transcript_hash: s.doc["transcript_hash"]
                .as_str()
                .unwrap_or_default()
                .to_owned(),
            matched_rows: s.doc["result"]["matched_rows"].as_u64(),
            matched_values: s.doc["result"]["matched_values"].as_u64(),
        })
        .collect();
    let receipt = MergedReceipt {
        format: MERGED_FORMAT,
        version: MERGED_VERSION,
        tool: Tool::current(),
        merged_at: now_rfc3339(Precision::Seconds),
        shards: k,
        mode: first["mode"].clone(),
        reveal: first["reveal"].clone(),
        id_type: first["id_type"].clone(),
        role: first["local"]["role"].clone(),
        input_sha256: first["local"]["input"]["sha256"].clone(),
        peer_fingerprint: first["peer"]["fingerprint"].clone(),
        receipts_digest: receipts_digest(entries.iter().map(|e| e.sha256.as_str())),
        receipts: entries,
        matched_rows: merged_rows,
        matched_values: sum("matched_values"),
        output: output_info
            .as_ref()
            .map(|o| FileInfo::new(&o.info().path, o.info().sha256.clone(), o.info().bytes)),
    };
    let json = serde_json::to_vec_pretty(&receipt)
        .fail_with(|| Error::failed("cannot encode the merged receipt"))?;
    let sealed_receipt = seal_atomic(&cfg.receipt, &json, cfg.force, true)?;
    let files: Vec<_> = output_info.into_iter().chain([sealed_receipt]).collect();
    let written = commit_all(files)?;
    let output = if learns_rows {
        written.first().map(|w| w.path.clone())
    } else {
        None
    };
    Ok(MergeSummary {
        shards: k,
        matched_rows: merged_rows,
        output,
        receipt: written
            .last()
            .map(|w| w.path.clone())
            .unwrap_or_else(|| cfg.receipt.clone()),
    })
}

/// `path` as the merged receipt at `merged` records it: its file name when both
/// are in one folder (so the folder can move), else as given.
fn relative_to(path: &Path, merged: &Path) -> String {
    let dir = |p: &Path| {
        p.parent()
            .map(|d| {
                if d.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    d
                }
            })
            .and_then(|d| d.canonicalize().ok())
    };
    match (dir(path), dir(merged), path.file_name()) {
        (Some(a), Some(b), Some(name)) if a == b => name.to_string_lossy().into_owned(),
        _ => path.display().to_string(),
    }
}

fn not_a_shard(path: &Path, why: &str) -> Error {
    Error::bad_input(format!(
        "'{}' is not a shard receipt: {why}",
        path.display()
    ))
    .hint("give the receipts that `blindmatch match --shard I/K` wrote, one per shard")
}

fn read_shard_receipt(path: &Path) -> Result<ShardReceipt> {
    let bytes = std::fs::read(path).fail_with(|| {
        Error::bad_input(format!("cannot read '{}'", path.display()))
            .hint("check the path of each shard receipt")
    })?;
    let doc: Value = serde_json::from_slice(&bytes).map_err(|_| not_a_shard(path, "not JSON"))?;
    if doc["format"] != crate::receipt::FORMAT {
        return Err(not_a_shard(path, "not a blindmatch receipt"));
    }
    if doc["local"]["input"].is_null() {
        return Err(not_a_shard(
            path,
            "a shareable receipt (merge needs this side's own receipts)",
        ));
    }
    let shard = doc["partition"]["shard"]
        .as_str()
        .ok_or_else(|| not_a_shard(path, "its session ran without --shard"))
        .and_then(|s| Shard::parse(s).map_err(|_| not_a_shard(path, "its shard is malformed")))?;
    Ok(ShardReceipt {
        path: path.to_path_buf(),
        shard,
        sha256: hex::encode(Sha256::digest(&bytes)),
        doc,
    })
}

/// Checks that the (sorted) shards are one run's complete set; returns K.
fn check_one_run(shards: &[ShardReceipt]) -> Result<u32> {
    let Some(first) = shards.first() else {
        return Err(Error::bad_input("no shard receipt given")
            .hint("give the K receipts of one sharded run"));
    };
    let k = first.shard.count;
    for s in shards {
        if s.shard.count != k {
            return Err(Error::bad_input(format!(
                "'{}' is shard {} but '{}' is shard {}: different shard counts",
                first.path.display(),
                first.shard,
                s.path.display(),
                s.shard
            ))
            .hint("merge the receipts of one run, where every shard had the same K"));
        }
        let same = |a: &Value, b: &Value| a == b;
        for (what, key) in [
            ("mode", &["mode"][..]),
            ("reveal", &["reveal"][..]),
            ("rules", &["id_type"][..]),
            ("profile", &["profile"][..]),
            ("role", &["local", "role"][..]),
            ("input", &["local", "input", "sha256"][..]),
            ("partner", &["peer", "fingerprint"][..]),
        ] {
            let at = |d: &Value| key.iter().fold(d.clone(), |v, k| v[*k].clone());
            if !same(&at(&first.doc), &at(&s.doc)) {
                return Err(Error::bad_input(format!(
                    "'{}' and '{}' differ in their {what}: they are not shards of one run",
                    first.path.display(),
                    s.path.display()
                ))
                .hint("merge only the receipts of one sharded run of one side"));
            }
        }
    }
    for i in 0..k {
        let n = shards.iter().filter(|s| s.shard.index == i).count();
        if n != 1 {
            return Err(Error::bad_input(format!(
                "shard {i}/{k} is given {n} times: every shard of 0..{k} must be given once"
            ))
            .hint(if n == 0 {
                "add the missing shard's receipt"
            } else {
                "drop the repeated receipt"
            }));
        }
    }
    if shards.len() != k as usize {
        return Err(Error::bad_input(format!(
            "{} receipts for {k} shards",
            shards.len()
        )));
    }
    Ok(k)
}

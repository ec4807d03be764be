//! The `--resume DIR` folder of a bucketed session: the plan it agreed and, per
//! completed bucket, what that bucket's sub-session established (its transcript
//! hash and our matched rows), so that a restarted run skips the buckets both
//! sides completed. Files are written atomically, 0600, in a folder of our own;
//! they hold row numbers and match IDs (like the output), never an identifier.

use std::path::{Path, PathBuf};

use blindmatch_data::output::write_atomic;
use blindmatch_data::{Error, FailWith, Result};
use blindmatch_net::{Match, MatchId};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::matching::partition::Shard;
use crate::matching::partition::plan::ResumeClaim;

/// `format` of the plan file.
const FORMAT: &str = "blindmatch-resume";
/// Label of a completed bucket's digest.
const DIGEST_LABEL: &[u8] = b"blindmatch/v1/resume/bucket";

/// What the run is, so a folder of another run is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct PlanFile {
    format: String,
    version: u32,
    input_sha256: String,
    rules: Vec<String>,
    shard: String,
    buckets: u32,
}

/// One completed bucket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BucketFile {
    pub(crate) bucket: u32,
    pub(crate) session_id: String,
    pub(crate) transcript_hash: String,
    pub(crate) local_size: u64,
    pub(crate) peer_size: u64,
    /// Matched distinct values per rule (`None` where we do not learn).
    pub(crate) matched: Vec<Option<u64>>,
    pub(crate) bytes_sent: u64,
    pub(crate) bytes_received: u64,
    /// Our matched rows: (row reference, match ID in hex).
    pub(crate) matches: Vec<(u64, String)>,
}

impl BucketFile {
    /// The first 8 bytes of the bucket's digest, as the plan claims it.
    pub(crate) fn digest(&self) -> [u8; 8] {
        let d = Sha256::new()
            .chain_update(DIGEST_LABEL)
            .chain_update(self.bucket.to_be_bytes())
            .chain_update(self.transcript_hash.as_bytes())
            .finalize();
        let mut out = [0u8; 8];
        out.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
        out
    }

    /// The matched rows, decoded.
    pub(crate) fn decoded_matches(&self, path: &Path) -> Result<Vec<Match>> {
        self.matches
            .iter()
            .map(|(row, id)| {
                let mut bytes = [0u8; 32];
                hex::decode_to_slice(id, &mut bytes)
                    .ok()
                    .map(|()| Match {
                        row: *row,
                        match_id: MatchId(bytes),
                    })
                    .ok_or_else(|| damaged(path))
            })
            .collect()
    }
}

fn damaged(path: &Path) -> Error {
    Error::bad_input(format!("'{}' is not a bucket record of blindmatch", path.display()))
        .hint("the --resume folder was changed; start the run again with an empty --resume folder on both sides")
}

/// An open `--resume` folder.
#[derive(Debug)]
pub(crate) struct ResumeDir {
    dir: PathBuf,
    plan: Option<PlanFile>,
    done: Vec<BucketFile>,
}

impl ResumeDir {
    /// Opens (creating it 0700 if missing) the folder of a run over the input with
    /// digest `input_sha256`, rules `rules` and shard `shard`.
    ///
    /// # Errors
    /// The folder cannot be made or read, or it belongs to another run (another
    /// input, rules or shard): exit 2, nothing run.
    pub(crate) fn open(
        dir: &Path,
        input_sha256: &str,
        rules: &[String],
        shard: Shard,
    ) -> Result<ResumeDir> {
        if !dir.exists() {
            let mut builder = std::fs::DirBuilder::new();
            #[cfg(unix)]
            {
                use std::os::unix::fs::DirBuilderExt;
                builder.mode(0o700);
            }
            builder.create(dir).fail_with(|| {
                Error::bad_input(format!("cannot create --resume folder '{}'", dir.display()))
                    .hint("its parent folder must exist and be writable")
            })?;
        }
        let plan_path = dir.join("plan.json");
        let plan: Option<PlanFile> = match std::fs::read(&plan_path) {
            Ok(bytes) => Some(serde_json::from_slice(&bytes).map_err(|_| damaged(&plan_path))?),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(_) => return Err(damaged(&plan_path)),
        };
        if let Some(p) = &plan {
            if p.format != FORMAT || p.version != 1 {
                return Err(damaged(&plan_path));
            }
            if p.input_sha256 != input_sha256 {
                return Err(Error::bad_input(format!(
                    "--resume '{}' is of a run over another input (the input changed since)",
                    dir.display()
                ))
                .hint("resume with the same input file, or start again with an empty --resume folder on both sides"));
            }
            if p.rules != rules || p.shard != shard.to_string() {
                return Err(Error::bad_input(format!(
                    "--resume '{}' is of a run with other rules or another shard ({} / {})",
                    dir.display(),
                    p.rules.join(","),
                    p.shard
                ))
                .hint("give the same --column, --rule and --shard as the interrupted run"));
            }
        }
        let mut done = Vec::new();
        if let Some(p) = &plan {
            for bucket in 0..p.buckets {
                let path = bucket_path(dir, bucket);
                match std::fs::read(&path) {
                    Ok(bytes) => {
                        let file: BucketFile =
                            serde_json::from_slice(&bytes).map_err(|_| damaged(&path))?;
                        if file.bucket != bucket {
                            return Err(damaged(&path));
                        }
                        done.push(file);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(_) => return Err(damaged(&path)),
                }
            }
        }
        Ok(ResumeDir {
            dir: dir.to_path_buf(),
            plan,
            done,
        })
    }

    /// What the hello claims: `None` for a fresh folder.
    pub(crate) fn claim(&self) -> Option<ResumeClaim> {
        self.plan.as_ref().map(|p| ResumeClaim {
            buckets: p.buckets,
            completed: self.done.iter().map(|b| (b.bucket, b.digest())).collect(),
        })
    }

    /// Records the plan of a fresh run.
    pub(crate) fn start(
        &mut self,
        input_sha256: &str,
        rules: &[String],
        shard: Shard,
        buckets: u32,
    ) -> Result<()> {
        if self.plan.is_some() {
            return Ok(());
        }
        let plan = PlanFile {
            format: FORMAT.to_owned(),
            version: 1,
            input_sha256: input_sha256.to_owned(),
            rules: rules.to_vec(),
            shard: shard.to_string(),
            buckets,
        };
        let json = serde_json::to_vec_pretty(&plan)
            .fail_with(|| Error::failed("cannot encode the resume plan"))?;
        write_atomic(&self.dir.join("plan.json"), &json, true, true)?;
        self.plan = Some(plan);
        Ok(())
    }

    /// The record of a completed bucket that both sides hold (`common`), if any.
    pub(crate) fn completed(&self, bucket: u32, common: &[u32]) -> Option<(&BucketFile, PathBuf)> {
        if !common.contains(&bucket) {
            return None;
        }
        self.done
            .iter()
            .find(|b| b.bucket == bucket)
            .map(|b| (b, bucket_path(&self.dir, bucket)))
    }

    /// Records a completed bucket (replacing a record only this side held).
    pub(crate) fn record(&mut self, file: BucketFile) -> Result<()> {
        let json = serde_json::to_vec(&file)
            .fail_with(|| Error::failed("cannot encode a bucket record"))?;
        write_atomic(&bucket_path(&self.dir, file.bucket), &json, true, true)?;
        self.done.retain(|b| b.bucket != file.bucket);
        self.done.push(file);
        Ok(())
    }
}

fn bucket_path(dir: &Path, bucket: u32) -> PathBuf {
    dir.join(format!("bucket-{bucket:03}.json"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(bucket: u32) -> BucketFile {
        BucketFile {
            bucket,
            session_id: "s".into(),
            transcript_hash: format!("{bucket:064x}"),
            local_size: 10,
            peer_size: 12,
            matched: vec![Some(3)],
            bytes_sent: 1,
            bytes_received: 2,
            matches: vec![(256, "ab".repeat(32))],
        }
    }

    #[test]
    fn a_folder_remembers_its_run() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("resume");
        let rules = vec!["phone".to_owned()];
        let mut r = ResumeDir::open(&dir, "aa", &rules, Shard::WHOLE).unwrap();
        assert_eq!(r.claim(), None);
        r.start("aa", &rules, Shard::WHOLE, 4).unwrap();
        r.record(record(2)).unwrap();
        let r = ResumeDir::open(&dir, "aa", &rules, Shard::WHOLE).unwrap();
        let claim = r.claim().unwrap();
        assert_eq!(claim.buckets, 4);
        assert_eq!(claim.completed, vec![(2, record(2).digest())]);
        let (b, path) = r.completed(2, &[2]).unwrap();
        assert_eq!(b.decoded_matches(&path).unwrap()[0].row, 256);
        assert!(r.completed(2, &[]).is_none());
        let err = ResumeDir::open(&dir, "bb", &rules, Shard::WHOLE).unwrap_err();
        assert!(err.to_string().contains("another input"), "{err}");
        let err = ResumeDir::open(&dir, "aa", &rules, Shard { index: 0, count: 2 }).unwrap_err();
        assert!(err.to_string().contains("another shard"), "{err}");
        std::fs::write(dir.join("bucket-001.json"), b"{").unwrap();
        assert!(ResumeDir::open(&dir, "aa", &rules, Shard::WHOLE).is_err());
    }
}

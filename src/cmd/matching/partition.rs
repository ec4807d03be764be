//! The flags of a bucketed or sharded `match` (`--memory-limit`, `--work-dir`,
//! `--shard`, `--resume`) and how its per-bucket progress is shown.

use std::path::PathBuf;

use blindmatch_net::Mode;
use blindmatch_pipeline::matching::BucketProgress;
use blindmatch_pipeline::matching::partition::{DEFAULT_MEMORY_LIMIT, PartitionConfig, Shard};
use clap::Args as ClapArgs;

use crate::error::Failure;

/// Buckets, shards and resume.
#[derive(Debug, Clone, ClapArgs)]
pub(crate) struct PartitionArgs {
    /// Most memory the session may use on this side, e.g. 512MiB, 2GiB. A set that
    /// does not fit is split into buckets (agreed with the partner, padded so that
    /// their sizes reveal nothing) spilled to --work-dir, one sub-session each
    /// [default: 1GiB]
    #[arg(long, value_name = "SIZE", value_parser = crate::args::parse_memory)]
    pub(crate) memory_limit: Option<u64>,

    /// Folder for the spill files of a bucketed session (encrypted under a key that
    /// never leaves memory, removed at the end) [default: the system's temporary
    /// folder]
    #[arg(long, value_name = "DIR")]
    pub(crate) work_dir: Option<PathBuf>,

    /// Run only shard I of K (0-based), e.g. 3/8: an independent session over a
    /// fixed part of both sets, with its own output and receipt; the partner runs
    /// the same shard. `blindmatch merge` combines the K results
    #[arg(long, value_name = "I/K", value_parser = Shard::parse)]
    pub(crate) shard: Option<Shard>,

    /// Keep the state of a bucketed session in DIR, and resume from it: rerun with
    /// the same DIR on both sides after a failure and only the buckets not yet
    /// completed on both sides run again
    #[arg(long, value_name = "DIR")]
    pub(crate) resume: Option<PathBuf>,
}

impl PartitionArgs {
    /// The partition settings for `mode`: none in labelled mode (which runs one
    /// session in memory), where these flags are refused.
    ///
    /// # Errors
    /// A partition flag in labelled mode; --shard or --resume in cardinality mode
    /// (the count per part would be revealed).
    pub(crate) fn validate(&self, mode: Mode) -> anyhow::Result<Option<PartitionConfig>> {
        let given = self.memory_limit.is_some()
            || self.work_dir.is_some()
            || self.shard.is_some()
            || self.resume.is_some();
        if mode == Mode::Labelled {
            if given {
                return Err(Failure::bad_input(
                    "--memory-limit, --work-dir, --shard and --resume do not apply to labelled mode",
                )
                .hint("a labelled session runs in memory, in one piece")
                .into());
            }
            return Ok(None);
        }
        if mode == Mode::Cardinality && (self.shard.is_some() || self.resume.is_some()) {
            return Err(Failure::bad_input(
                "--shard and --resume split a session, and a cardinality session must not be split",
            )
            .hint("each part would reveal its own count; run one cardinality session (raise --memory-limit if needed)")
            .into());
        }
        Ok(Some(PartitionConfig {
            memory_limit: self.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT),
            work_dir: self.work_dir.clone().unwrap_or_else(std::env::temp_dir),
            shard: self.shard.unwrap_or(Shard::WHOLE),
            resume: self.resume.clone(),
        }))
    }
}

/// One line on stderr per bucket (unless quiet), and the JSON event with --events json.
pub(crate) fn show(progress: &BucketProgress, quiet: bool, json: bool) {
    if json && let Ok(line) = serde_json::to_string(progress) {
        use std::io::Write;
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
    if quiet {
        return;
    }
    match progress {
        BucketProgress::Planned { buckets, resumed } if *buckets > 1 => {
            if *resumed > 0 {
                eprintln!("{buckets} buckets, {resumed} already completed (resumed)");
            } else {
                eprintln!("{buckets} buckets, one sub-session each");
            }
        }
        BucketProgress::BucketDone {
            bucket,
            buckets,
            done,
            seconds,
            eta_seconds,
            ..
        } => eprintln!(
            "bucket {bucket} done ({done}/{buckets}) in {seconds:.1} s; about {} left",
            eta(*eta_seconds)
        ),
        _ => {}
    }
}

fn eta(seconds: f64) -> String {
    if seconds < 90.0 {
        format!("{seconds:.0} s")
    } else if seconds < 5400.0 {
        format!("{:.0} min", seconds / 60.0)
    } else {
        format!("{:.1} h", seconds / 3600.0)
    }
}

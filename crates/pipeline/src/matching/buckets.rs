//! Running a match that may be bucketed: the planning connection, then one
//! sub-session per bucket, each over its own connection, with the results folded
//! into one [`SessionReport`] for [`super::finish`] ([`run_partitioned`]).
//!
//! `docs/protocol.md` ("Buckets, shards and resume") specifies the plan and the
//! bucket parameters; `super::partition` says where items go and how buckets are
//! padded.

mod results;
mod resume;

pub(super) use results::BucketResults;

use std::time::{Duration, Instant};

use blindmatch_data::{Error, Observer, Result};
use blindmatch_net::{
    Cancellation, EventSink, Match, MatchResult, PreparedSet, ProtocolSetup, SessionReport,
};
use blindmatch_psi::TypeMatches;
use rand::TryRng;
use rand::rngs::SysRng;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::config::PartyConfig;
use super::endpoint::Endpoint;
use super::failure::session_failure;
use super::partition::plan::{BucketSetup, PlanParams, PlanSetup};
use super::partition::{PartitionConfig, bucket_bound, slices_of};
use super::prepare::{Prepared, add_slice, prepare_spilled};
use super::protocol::{protocol_setup, set_protocol};
use resume::{BucketFile, ResumeDir};

/// The row reference of a dummy item (never a real row: rows are below 2^56).
pub const DUMMY_ROW: u64 = u64::MAX;

/// Length of a dummy value.
const DUMMY_LEN: usize = 32;

/// What a bucketed (or sharded) run did, for the receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartitionRun {
    /// `I/K`.
    pub shard: String,
    /// Buckets agreed.
    pub buckets: u32,
    /// Session ID of the planning connection.
    pub plan_session_id: String,
    /// Whether bucket sizes were padded to the public bound.
    pub padded: bool,
    /// One entry per bucket, in order (empty when one bucket ran on the planning
    /// connection).
    pub sessions: Vec<BucketRun>,
}

/// One bucket's sub-session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BucketRun {
    /// Its index.
    pub bucket: u32,
    /// Its session ID.
    pub session_id: String,
    /// Its transcript hash (equal on both sides).
    pub transcript_hash: String,
    /// Our declared (padded) size.
    pub local_size: u64,
    /// The partner's declared (padded) size.
    pub peer_size: u64,
    /// Distinct matched values, when we learn.
    pub matched: Option<u64>,
    /// Taken from the `--resume` folder instead of run now.
    pub resumed: bool,
}

/// Progress of a bucketed run, for the caller to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum BucketProgress {
    /// The plan: buckets in all, and how many the resume folder already holds.
    Planned {
        /// Buckets agreed.
        buckets: u32,
        /// Buckets both sides completed before.
        resumed: u32,
    },
    /// A bucket's sub-session is about to start.
    BucketStarted {
        /// Its index.
        bucket: u32,
        /// Buckets in all.
        buckets: u32,
    },
    /// A bucket is done.
    BucketDone {
        /// Its index.
        bucket: u32,
        /// Buckets in all.
        buckets: u32,
        /// Buckets done so far (resumed ones included).
        done: u32,
        /// Distinct matched values in it, when we learn.
        matched: Option<u64>,
        /// Seconds this bucket took.
        seconds: f64,
        /// Estimated seconds left, from the buckets run so far.
        eta_seconds: f64,
    },
}

/// Runs the session for a party with a [`PartitionConfig`]: first the planning
/// connection, which runs the whole session when both sets fit one bucket; else the
/// buckets one by one (skipping those a `--resume` folder shows both sides
/// completed). Leaves the [`PartitionRun`] in `prepared.partition` for the receipt.
///
/// # Errors
/// A session failure, mapped as [`session_failure`] does; spill, resume-folder and
/// input errors as the data crate's.
pub async fn run_partitioned(
    cfg: &PartyConfig,
    prepared: &mut Prepared,
    endpoint: &Endpoint,
    events: Option<EventSink>,
    cancel: &Cancellation,
    observer: &dyn Observer,
    progress: &(dyn Fn(&BucketProgress) + Sync),
) -> Result<SessionReport> {
    let Some(part) = cfg.partition.clone() else {
        let setup = protocol_setup(cfg, prepared)?;
        return endpoint
            .run(cfg, setup, events, cancel)
            .await
            .map_err(|e| session_failure(e, cfg));
    };
    let names = prepared.rules.names();
    let mut resume = match &part.resume {
        Some(dir) => Some(ResumeDir::open(
            dir,
            &prepared.summary.sha256,
            &names,
            part.shard,
        )?),
        None => None,
    };
    let claim = resume.as_ref().and_then(ResumeDir::claim);
    let whole = prepared.spill.is_none() && claim.is_none();
    let wanted = if whole {
        1
    } else {
        part.buckets_for(&prepared.rule_sizes, cfg.protocol.bytes_per_item())
    };
    let inner: Box<dyn ProtocolSetup> = if whole {
        protocol_setup(cfg, prepared)?
    } else {
        set_protocol(cfg.protocol, PreparedSet::new())
    };
    let totals: Vec<(String, u64)> = names
        .iter()
        .cloned()
        .zip(prepared.rule_sizes.iter().copied())
        .collect();
    let plan = PlanParams {
        shard: part.shard,
        wanted,
        resume: claim.clone(),
        inner: Vec::new(),
    };
    let (setup, slot) = PlanSetup::new(inner, whole, plan, totals);
    let planned = endpoint
        .run(cfg, Box::new(setup), events.clone(), cancel)
        .await
        .map_err(|e| session_failure(e, cfg))?;
    let agreed = slot
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .take()
        .ok_or_else(|| Error::failed("internal error: the plan was not agreed"))?;
    if agreed.buckets == 1 && whole {
        if part.shard.count > 1 {
            prepared.partition = Some(PartitionRun {
                shard: part.shard.to_string(),
                buckets: 1,
                plan_session_id: planned.session_id.clone(),
                padded: false,
                sessions: Vec::new(),
            });
        }
        return Ok(planned);
    }
    if prepared.spill.is_none() {
        // The partner's set needs buckets and ours was read whole: read it again.
        tracing::info!(
            buckets = agreed.buckets,
            "match: the partner's set needs buckets; reading the input again"
        );
        *prepared = prepare_spilled(cfg, observer)?;
    }
    let common = match (&claim, &resume) {
        (Some(ours), Some(_)) => {
            // The check passed, so the partner's claim is in the plan it agreed.
            ours.completed
                .iter()
                .map(|(b, _)| *b)
                .filter(|b| agreed.peer_completed.contains(b))
                .collect()
        }
        _ => Vec::new(),
    };
    if let Some(r) = resume.as_mut() {
        r.start(&prepared.summary.sha256, &names, part.shard, agreed.buckets)?;
    }
    run_buckets(
        cfg,
        &part,
        prepared,
        endpoint,
        events,
        cancel,
        progress,
        &planned,
        &agreed,
        resume.as_mut(),
        &common,
    )
    .await
}

#[allow(clippy::too_many_arguments)]
async fn run_buckets(
    cfg: &PartyConfig,
    part: &PartitionConfig,
    prepared: &mut Prepared,
    endpoint: &Endpoint,
    events: Option<EventSink>,
    cancel: &Cancellation,
    progress: &(dyn Fn(&BucketProgress) + Sync),
    planned: &SessionReport,
    agreed: &super::partition::plan::AgreedPlan,
    mut resume: Option<&mut ResumeDir>,
    common: &[u32],
) -> Result<SessionReport> {
    let buckets = agreed.buckets;
    let names = prepared.rules.names();
    let plan_id: [u8; 32] = Sha256::digest(planned.session_id.as_bytes()).into();
    let mut stored = BucketResults::create(&part.work_dir)?;
    let mut matched: Vec<Option<u64>> = vec![None; names.len()];
    let mut runs = Vec::with_capacity(buckets as usize);
    let mut traffic = planned.traffic;
    let mut timings = planned.timings;
    let mut transcript = Sha256::new().chain_update(b"blindmatch/v1/partition/transcript");
    transcript.update(planned.transcript_hash.as_bytes());
    let mut last = planned.clone();
    progress(&BucketProgress::Planned {
        buckets,
        resumed: common.len() as u32,
    });
    let started = Instant::now();
    let mut run_now = 0u32;
    for bucket in 0..buckets {
        let done_before = resume
            .as_ref()
            .and_then(|r| r.completed(bucket, common).map(|(f, p)| (f.clone(), p)));
        let (record, resumed, seconds) = match done_before {
            Some((file, path)) => {
                stored.add(bucket, file.decoded_matches(&path)?)?;
                (file, true, 0.0)
            }
            None => {
                progress(&BucketProgress::BucketStarted { bucket, buckets });
                let bucket_started = Instant::now();
                let set = bucket_set(prepared, bucket, buckets, &names)?;
                let setup = BucketSetup::new(
                    set_protocol(cfg.protocol, set),
                    &plan_id,
                    part.shard,
                    bucket,
                    buckets,
                    &agreed.peer_totals,
                );
                let report = endpoint
                    .run_bucket(cfg, Box::new(setup), events.clone(), cancel)
                    .await
                    .map_err(|e| session_failure(e, cfg))?;
                let found: Vec<Match> = report
                    .outcome
                    .matches()
                    .iter()
                    .filter(|m| m.row != DUMMY_ROW)
                    .copied()
                    .collect();
                let per_rule: Vec<Option<u64>> = names
                    .iter()
                    .map(|n| {
                        report
                            .outcome
                            .per_type
                            .iter()
                            .find(|t| t.id_type == *n)
                            .and_then(|t| t.matched)
                            .or_else(|| {
                                (names.len() == 1)
                                    .then(|| report.outcome.matched_count())
                                    .flatten()
                            })
                    })
                    .collect();
                let file = BucketFile {
                    bucket,
                    session_id: report.session_id.clone(),
                    transcript_hash: report.transcript_hash.clone(),
                    local_size: report.local_set_size,
                    peer_size: report.peer_set_size,
                    matched: per_rule,
                    bytes_sent: report.traffic.bytes_sent,
                    bytes_received: report.traffic.bytes_received,
                    matches: found
                        .iter()
                        .map(|m| (m.row, m.match_id.to_string()))
                        .collect(),
                };
                if let Some(r) = resume.as_mut() {
                    r.record(file.clone())?;
                }
                add_timings(&mut timings, &report.timings);
                traffic.frames_sent += report.traffic.frames_sent;
                traffic.frames_received += report.traffic.frames_received;
                let add = |a: &mut Option<u64>, b: Option<u64>| {
                    if let (Some(a), Some(b)) = (a.as_mut(), b) {
                        *a += b;
                    }
                };
                add(&mut traffic.wire_bytes_sent, report.traffic.wire_bytes_sent);
                add(
                    &mut traffic.wire_bytes_received,
                    report.traffic.wire_bytes_received,
                );
                stored.add(bucket, found)?;
                last = report;
                run_now += 1;
                (file, false, bucket_started.elapsed().as_secs_f64())
            }
        };
        traffic.bytes_sent += record.bytes_sent;
        traffic.bytes_received += record.bytes_received;
        for (sum, m) in matched.iter_mut().zip(&record.matched) {
            if let Some(m) = m {
                *sum = Some(sum.unwrap_or(0) + m);
            }
        }
        transcript.update(record.transcript_hash.as_bytes());
        let matched_here = record
            .matched
            .iter()
            .try_fold(0u64, |acc, m| m.map(|m| acc + m));
        runs.push(BucketRun {
            bucket,
            session_id: record.session_id.clone(),
            transcript_hash: record.transcript_hash.clone(),
            local_size: record.local_size,
            peer_size: record.peer_size,
            matched: matched_here,
            resumed,
        });
        let done = bucket + 1;
        let left = buckets - done;
        let per = started.elapsed().as_secs_f64() / f64::from(run_now.max(1));
        progress(&BucketProgress::BucketDone {
            bucket,
            buckets,
            done,
            matched: matched_here,
            seconds,
            eta_seconds: per * f64::from(left),
        });
    }
    let total_matched = matched.iter().try_fold(0u64, |acc, m| m.map(|m| acc + m));
    // With every bucket taken from the resume folder, `last` is the planning
    // connection's report, which ran no protocol: who learns is then the
    // configuration's (resume runs intersection mode only).
    let learns = if run_now > 0 {
        !matches!(last.outcome.result, MatchResult::NotRevealed)
    } else {
        cfg.learns()
    };
    let result = match (learns, total_matched) {
        // The rows are in `stored`, which `finish` reads in row order.
        (true, Some(m)) => MatchResult::Intersection {
            matched: m,
            matches: Vec::new(),
        },
        _ => MatchResult::NotRevealed,
    };
    let per_type: Vec<TypeMatches> = names
        .iter()
        .zip(&prepared.rule_sizes)
        .zip(agreed.peer_totals.iter().zip(&matched))
        .map(|((n, local), (peer, m))| TypeMatches {
            id_type: n.clone(),
            local: *local,
            peer: *peer,
            matched: *m,
        })
        .collect();
    let local_total: u64 = prepared.rule_sizes.iter().sum();
    let peer_total: u64 = agreed.peer_totals.iter().sum();
    prepared.results = Some(stored);
    prepared.partition = Some(PartitionRun {
        shard: part.shard.to_string(),
        buckets,
        plan_session_id: planned.session_id.clone(),
        padded: true,
        sessions: runs,
    });
    let mut outcome = last.outcome.clone();
    outcome.local_count = local_total;
    outcome.peer_count = peer_total;
    outcome.result = result;
    outcome.per_type = if names.len() > 1 {
        per_type
    } else {
        Vec::new()
    };
    outcome.labels = None;
    Ok(SessionReport {
        session_id: planned.session_id.clone(),
        local_set_size: local_total,
        peer_set_size: peer_total,
        matched_count: outcome.matched_count(),
        comparison_len: last.comparison_len,
        outcome,
        timings,
        traffic,
        transcript_hash: hex::encode(transcript.finalize()),
        ..planned.clone()
    })
}

fn add_timings(sum: &mut blindmatch_net::Timings, t: &blindmatch_net::Timings) {
    let add = |a: &mut Duration, b: Duration| *a += b;
    add(&mut sum.connect, t.connect);
    add(&mut sum.handshake, t.handshake);
    add(&mut sum.psi, t.psi);
    add(&mut sum.hashing, t.hashing);
    add(&mut sum.compare, t.compare);
    add(&mut sum.finish, t.finish);
    add(&mut sum.total, t.total);
}

/// Bucket `bucket`'s set: its slices' items, de-duplicated, padded per rule with
/// random dummies to the public bound.
fn bucket_set(
    prepared: &Prepared,
    bucket: u32,
    buckets: u32,
    names: &[String],
) -> Result<PreparedSet> {
    let spill = prepared
        .spill
        .as_ref()
        .ok_or_else(|| Error::failed("internal error: a bucketed session without spill files"))?;
    let mut set = PreparedSet::new();
    for slice in slices_of(bucket, buckets) {
        add_slice(spill, slice, names, &mut set)?;
    }
    let sizes = set.type_sizes();
    for (name, &total) in names.iter().zip(&prepared.rule_sizes) {
        let real = sizes.iter().find(|(t, _)| t == name).map_or(0, |(_, n)| *n);
        let bound = bucket_bound(total, bucket, buckets);
        let missing = bound.checked_sub(real).ok_or_else(|| {
            Error::failed(format!(
                "bucket {bucket} of rule '{name}' is above its padding bound"
            ))
        })?;
        let mut random = zeroize::Zeroizing::new(vec![0u8; DUMMY_LEN * 4096]);
        let mut left = missing;
        while left > 0 {
            let n = left.min(4096) as usize;
            let bytes = random.get_mut(..n * DUMMY_LEN).unwrap_or_default();
            SysRng.try_fill_bytes(bytes).map_err(|_| {
                Error::failed("the operating system random number generator failed")
            })?;
            for dummy in bytes.chunks(DUMMY_LEN) {
                set.push(name, dummy, DUMMY_ROW)
                    .map_err(|_| Error::failed("cannot pad a bucket"))?;
            }
            left -= n as u64;
        }
    }
    Ok(set)
}

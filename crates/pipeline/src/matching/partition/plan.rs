//! The plan of a bucketed session, agreed in the handshake of its first connection,
//! and the protocol wrappers that carry it.
//!
//! The first connection of every session that may be bucketed runs [`PlanSetup`]:
//! its hello declares our real distinct sizes per rule (so the partner's
//! `--min-peer-set` holds against them), and its protocol parameters carry a
//! [`PlanParams`] around the real protocol's: our shard, the buckets our memory
//! limit needs, and our resume state. Both sides then agree on
//! `B = max(wanted, wanted_peer)` (or the resumed run's `B`). With `B = 1` the real
//! protocol runs on this connection as in any session; otherwise this connection
//! ends after the handshake (`PlanOnly`) and one connection per bucket follows,
//! each running a [`BucketSetup`] whose parameters bind it to the plan and the
//! bucket, and whose start checks that the partner declared exactly the padded
//! bounds the plan implies.

use std::sync::{Arc, Mutex, PoisonError};

use blindmatch_net::{Mode, Outcome, Protocol, ProtocolSetup};
use blindmatch_psi::protocol::{Outgoing, StageItems};
use blindmatch_psi::{MatchResult, PsiError, SessionConfig};

use super::{SLICES, Shard, bucket_bound};

/// Version byte of [`PlanParams`].
const PLAN_VERSION: u8 = 1;

/// What a resumed run says it holds: the bucket count agreed when it started, and
/// per completed bucket its index and the first 8 bytes of a digest of that
/// bucket's session transcript (equal on both sides for the same sub-session).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResumeClaim {
    /// Buckets of the interrupted run.
    pub buckets: u32,
    /// Completed buckets, ascending, with their digests.
    pub completed: Vec<(u32, [u8; 8])>,
}

impl ResumeClaim {
    /// Buckets both sides completed with the same digest: those are not run again.
    /// A bucket only one side completed (a kill between the two sides' records) is
    /// run again.
    #[must_use]
    pub fn common(&self, peer: &ResumeClaim) -> Vec<u32> {
        self.completed
            .iter()
            .filter(|c| peer.completed.contains(c))
            .map(|(b, _)| *b)
            .collect()
    }
}

/// What a side says about partitioning in the first hello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanParams {
    /// Our shard (`--shard`); must equal the partner's.
    pub shard: Shard,
    /// Buckets our memory limit needs for our set (at least 1).
    pub wanted: u32,
    /// A resumed run: the bucket count it agreed and the buckets it completed.
    pub resume: Option<ResumeClaim>,
    /// The real protocol's own parameters.
    pub inner: Vec<u8>,
}

impl PlanParams {
    /// The encoding: version ‖ shard index ‖ shard count ‖ wanted (u32 BE each) ‖
    /// resume flag (0 or 1) [‖ buckets (u32 BE) ‖ count (u8) ‖ count × (bucket
    /// (u32 BE) ‖ digest (8))] ‖ the inner parameters.
    #[must_use]
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(50 + self.inner.len());
        out.push(PLAN_VERSION);
        out.extend_from_slice(&self.shard.index.to_be_bytes());
        out.extend_from_slice(&self.shard.count.to_be_bytes());
        out.extend_from_slice(&self.wanted.to_be_bytes());
        match &self.resume {
            None => out.push(0),
            Some(claim) => {
                out.push(1);
                out.extend_from_slice(&claim.buckets.to_be_bytes());
                // At most SLICES (64) buckets.
                out.push(claim.completed.len() as u8);
                for (bucket, digest) in &claim.completed {
                    out.extend_from_slice(&bucket.to_be_bytes());
                    out.extend_from_slice(digest);
                }
            }
        }
        out.extend_from_slice(&self.inner);
        out
    }

    /// Decodes [`PlanParams::encode`]'s output.
    ///
    /// # Errors
    /// A reason in words when the bytes are not a plan.
    pub fn decode(bytes: &[u8]) -> Result<PlanParams, String> {
        let bad = || "the partner's partition plan is malformed".to_owned();
        let u32_at = |at: usize| -> Result<u32, String> {
            let b = bytes.get(at..at + 4).ok_or_else(bad)?;
            Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
        };
        if bytes.first() != Some(&PLAN_VERSION) {
            return Err("the partner's partition plan has an unknown version".to_owned());
        }
        let shard = Shard {
            index: u32_at(1)?,
            count: u32_at(5)?,
        };
        if shard.count == 0 || shard.index >= shard.count {
            return Err(bad());
        }
        let wanted = u32_at(9)?;
        if wanted == 0 {
            return Err(bad());
        }
        let (resume, rest) = match bytes.get(13) {
            Some(0) => (None, 14),
            Some(1) => {
                let buckets = u32_at(14)?;
                let count = usize::from(*bytes.get(18).ok_or_else(bad)?);
                let mut completed = Vec::with_capacity(count);
                for i in 0..count {
                    let at = 19 + 12 * i;
                    let bucket = u32_at(at)?;
                    let digest: [u8; 8] = bytes
                        .get(at + 4..at + 12)
                        .and_then(|d| d.try_into().ok())
                        .ok_or_else(bad)?;
                    if bucket >= buckets || completed.last().is_some_and(|(b, _)| *b >= bucket) {
                        return Err(bad());
                    }
                    completed.push((bucket, digest));
                }
                (Some(ResumeClaim { buckets, completed }), 19 + 12 * count)
            }
            _ => return Err(bad()),
        };
        Ok(PlanParams {
            shard,
            wanted,
            resume,
            inner: bytes.get(rest..).unwrap_or_default().to_vec(),
        })
    }

    /// The buckets both sides run, given the partner's plan.
    #[must_use]
    pub fn agreed_buckets(&self, peer: &PlanParams) -> u32 {
        match &self.resume {
            Some(claim) => claim.buckets,
            None => self.wanted.max(peer.wanted),
        }
    }
}

/// The [`blindmatch_psi::ParamsCheck`] of [`PlanSetup`]: shards and resume states
/// equal, the inner parameters equal (the protocols wrapped here use equal
/// parameters), and no more buckets than slices.
///
/// # Errors
/// Why the two plans do not go together, in words for both users.
pub fn check_plan(ours: &[u8], peer: &[u8]) -> Result<(), String> {
    let ours = PlanParams::decode(ours)?;
    let peer = PlanParams::decode(peer)?;
    if ours.shard != peer.shard {
        return Err(format!(
            "this side runs shard {}, the partner shard {} (--shard must be equal)",
            ours.shard, peer.shard
        ));
    }
    match (&ours.resume, &peer.resume) {
        (None, None) => {}
        (None, Some(_)) => {
            return Err(
                "the partner resumes a run (--resume) and this side starts a new one".to_owned(),
            );
        }
        (Some(_), None) => {
            return Err(
                "this side resumes a run (--resume) and the partner starts a new one".to_owned(),
            );
        }
        (Some(a), Some(b)) => {
            if a.buckets != b.buckets {
                return Err(format!(
                    "the interrupted runs had {} and {} buckets: the --resume folders are not of the same run",
                    a.buckets, b.buckets
                ));
            }
            if let Some((bucket, _)) = a
                .completed
                .iter()
                .find(|(i, d)| b.completed.iter().any(|(j, e)| i == j && d != e))
            {
                return Err(format!(
                    "bucket {bucket} completed differently on the two sides: the --resume folders are not of the same run"
                ));
            }
        }
    }
    if ours.inner != peer.inner {
        return Err("the protocol parameters differ".to_owned());
    }
    let buckets = ours.agreed_buckets(&peer);
    if buckets > SLICES {
        return Err(format!(
            "the sets need {buckets} buckets under --memory-limit, more than {SLICES}: split the run with --shard"
        ));
    }
    Ok(())
}

/// What the first connection agreed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgreedPlan {
    /// Buckets both sides run (1: the session ran on the first connection).
    pub buckets: u32,
    /// The partner's real distinct sizes per rule, in rule order.
    pub peer_totals: Vec<u64>,
    /// Our role.
    pub role: blindmatch_net::Role,
    /// Buckets the partner's resume folder holds (their digests were checked
    /// against ours where we hold the same bucket).
    pub peer_completed: Vec<u32>,
}

/// Where [`PlanSetup`] leaves the agreed plan for the caller.
pub type PlanSlot = Arc<Mutex<Option<AgreedPlan>>>;

/// The first connection's protocol: the plan around the real protocol.
pub struct PlanSetup {
    inner: Box<dyn ProtocolSetup>,
    /// Whether `inner` holds our whole set (it is empty when our set was spilled).
    whole: bool,
    plan: PlanParams,
    totals: Vec<(String, u64)>,
    slot: PlanSlot,
}

impl PlanSetup {
    /// The plan `plan` around `inner`; `totals` are our real distinct sizes per rule.
    /// `whole` says whether `inner` holds our whole set (then, with one bucket, it
    /// runs on this connection).
    #[must_use]
    pub fn new(
        inner: Box<dyn ProtocolSetup>,
        whole: bool,
        mut plan: PlanParams,
        totals: Vec<(String, u64)>,
    ) -> (PlanSetup, PlanSlot) {
        plan.inner = inner.params();
        let slot = PlanSlot::default();
        let setup = PlanSetup {
            inner,
            whole,
            plan,
            totals,
            slot: Arc::clone(&slot),
        };
        (setup, slot)
    }
}

impl ProtocolSetup for PlanSetup {
    fn id(&self) -> &'static str {
        self.inner.id()
    }

    fn params(&self) -> Vec<u8> {
        self.plan.encode()
    }

    fn params_check(&self) -> blindmatch_psi::ParamsCheck {
        check_plan
    }

    fn declared_size(&self) -> u64 {
        self.totals.iter().map(|(_, n)| n).sum()
    }

    fn identifier_types(&self) -> Vec<String> {
        self.totals.iter().map(|(t, _)| t.clone()).collect()
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        self.totals.clone()
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        self.inner.max_message_len(batch_size)
    }

    fn start(self: Box<Self>, mut config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        let peer =
            PlanParams::decode(&config.peer_params).map_err(|_| PsiError::GroupsMismatch {
                reason: "the partner's partition plan is malformed",
            })?;
        let buckets = self.plan.agreed_buckets(&peer);
        let peer_totals = if config.groups.is_empty() {
            vec![config.peer_count]
        } else {
            config.groups.iter().map(|g| g.peer).collect()
        };
        *self.slot.lock().unwrap_or_else(PoisonError::into_inner) = Some(AgreedPlan {
            buckets,
            peer_totals,
            role: config.role,
            peer_completed: peer
                .resume
                .as_ref()
                .map(|c| c.completed.iter().map(|(b, _)| *b).collect())
                .unwrap_or_default(),
        });
        if buckets == 1 && self.whole {
            config.peer_params = peer.inner;
            return self.inner.start(config);
        }
        if config.mode == Mode::Cardinality {
            return Err(PsiError::GroupsMismatch {
                reason: "cardinality across several buckets would reveal the count per bucket; raise --memory-limit on both sides so that one bucket holds each set",
            });
        }
        Ok(Box::new(PlanOnly { config }))
    }
}

/// The first connection of a bucketed session: nothing to exchange after the
/// handshake.
struct PlanOnly {
    config: SessionConfig,
}

impl Protocol for PlanOnly {
    fn poll_transmit(&mut self) -> Option<Outgoing> {
        None
    }

    fn handle(&mut self, _payload: &[u8]) -> Result<Option<StageItems>, PsiError> {
        Err(PsiError::Malformed {
            reason: "a protocol message on the planning connection of a bucketed session",
        })
    }

    fn is_finished(&self) -> bool {
        true
    }

    fn finish(self: Box<Self>) -> Result<Outcome, PsiError> {
        Ok(Outcome {
            role: self.config.role,
            mode: self.config.mode,
            local_count: self.config.local_count,
            peer_count: self.config.peer_count,
            comparison_len: 0,
            result: MatchResult::NotRevealed,
            per_type: Vec::new(),
            labels: None,
        })
    }
}

/// One bucket's sub-session: the real protocol over the bucket's padded set, with
/// parameters that name the plan and the bucket (so both sides run the same one)
/// and a check, at start, that the partner declared the padded bounds.
pub struct BucketSetup {
    inner: Box<dyn ProtocolSetup>,
    tag: Vec<u8>,
    /// The partner's declared size per rule that the plan implies.
    expected_peer: Vec<u64>,
}

/// Length of a [`BucketSetup`] tag.
const TAG_LEN: usize = 32 + 4 * 4;

impl BucketSetup {
    /// Bucket `bucket` of `buckets` of the plan agreed in session `plan_id`, for
    /// `shard`; the partner's rule totals from the plan give the sizes it must
    /// declare.
    #[must_use]
    pub fn new(
        inner: Box<dyn ProtocolSetup>,
        plan_id: &[u8; 32],
        shard: Shard,
        bucket: u32,
        buckets: u32,
        peer_totals: &[u64],
    ) -> BucketSetup {
        let mut tag = Vec::with_capacity(TAG_LEN);
        tag.extend_from_slice(plan_id);
        for n in [shard.index, shard.count, bucket, buckets] {
            tag.extend_from_slice(&n.to_be_bytes());
        }
        BucketSetup {
            inner,
            tag,
            expected_peer: peer_totals
                .iter()
                .map(|&t| bucket_bound(t, bucket, buckets))
                .collect(),
        }
    }
}

impl ProtocolSetup for BucketSetup {
    fn id(&self) -> &'static str {
        self.inner.id()
    }

    fn params(&self) -> Vec<u8> {
        let mut params = self.tag.clone();
        params.extend_from_slice(&self.inner.params());
        params
    }

    fn params_check(&self) -> blindmatch_psi::ParamsCheck {
        check_bucket
    }

    fn declared_size(&self) -> u64 {
        self.inner.declared_size()
    }

    fn identifier_types(&self) -> Vec<String> {
        self.inner.identifier_types()
    }

    fn type_sizes(&self) -> Vec<(String, u64)> {
        self.inner.type_sizes()
    }

    fn max_message_len(&self, batch_size: u32) -> usize {
        self.inner.max_message_len(batch_size)
    }

    fn start(self: Box<Self>, mut config: SessionConfig) -> Result<Box<dyn Protocol>, PsiError> {
        let declared: Vec<u64> = if config.groups.is_empty() {
            vec![config.peer_count]
        } else {
            config.groups.iter().map(|g| g.peer).collect()
        };
        if declared != self.expected_peer {
            return Err(PsiError::GroupsMismatch {
                reason: "the partner's bucket is not padded to the bound its plan implies",
            });
        }
        config.peer_params = config
            .peer_params
            .get(TAG_LEN..)
            .unwrap_or_default()
            .to_vec();
        self.inner.start(config)
    }
}

/// The [`blindmatch_psi::ParamsCheck`] of [`BucketSetup`]: the same plan and
/// bucket, and equal inner parameters.
///
/// # Errors
/// When the two sides run different buckets or plans.
pub fn check_bucket(ours: &[u8], peer: &[u8]) -> Result<(), String> {
    match (ours.get(..TAG_LEN), peer.get(..TAG_LEN)) {
        (Some(a), Some(b)) if a == b => {}
        _ => return Err("the two sides run different buckets of the session".to_owned()),
    }
    if ours.get(TAG_LEN..) != peer.get(TAG_LEN..) {
        return Err("the protocol parameters differ".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claim(buckets: u32, completed: &[(u32, u8)]) -> Option<ResumeClaim> {
        Some(ResumeClaim {
            buckets,
            completed: completed.iter().map(|&(b, d)| (b, [d; 8])).collect(),
        })
    }

    fn plan(wanted: u32, resume: Option<ResumeClaim>) -> PlanParams {
        PlanParams {
            shard: Shard { index: 1, count: 3 },
            wanted,
            resume,
            inner: vec![1],
        }
    }

    #[test]
    fn plans_round_trip() {
        for p in [plan(1, None), plan(7, claim(9, &[(0, 5), (3, 6)]))] {
            assert_eq!(PlanParams::decode(&p.encode()).unwrap(), p);
        }
        let bytes = plan(2, claim(2, &[(1, 1)])).encode();
        for cut in 0..31 {
            assert!(PlanParams::decode(&bytes[..cut]).is_err(), "{cut}");
        }
    }

    #[test]
    fn the_larger_want_wins_unless_resumed() {
        assert_eq!(plan(2, None).agreed_buckets(&plan(5, None)), 5);
        assert_eq!(plan(5, None).agreed_buckets(&plan(2, None)), 5);
        let r = claim(3, &[]);
        assert_eq!(plan(8, r.clone()).agreed_buckets(&plan(9, r)), 3);
        let a = claim(4, &[(0, 1), (1, 2), (2, 3)]).unwrap();
        let b = claim(4, &[(0, 1), (2, 3)]).unwrap();
        assert_eq!(a.common(&b), vec![0, 2]);
    }

    #[test]
    fn plans_that_differ_are_refused_with_the_reason() {
        let ok = check_plan(&plan(1, None).encode(), &plan(4, None).encode());
        assert!(ok.is_ok());
        let mut other = plan(1, None);
        other.shard = Shard { index: 2, count: 3 };
        let err = check_plan(&plan(1, None).encode(), &other.encode()).unwrap_err();
        assert!(err.contains("shard 1/3") && err.contains("2/3"), "{err}");
        let err = check_plan(
            &plan(1, claim(2, &[(1, 1)])).encode(),
            &plan(1, claim(2, &[(1, 2)])).encode(),
        )
        .unwrap_err();
        assert!(err.contains("bucket 1 completed differently"), "{err}");
        let err =
            check_plan(&plan(1, claim(2, &[])).encode(), &plan(1, None).encode()).unwrap_err();
        assert!(err.contains("this side resumes"), "{err}");
        // One side recorded a bucket the other did not: not a refusal.
        assert!(
            check_plan(
                &plan(1, claim(2, &[(0, 1), (1, 1)])).encode(),
                &plan(1, claim(2, &[(0, 1)])).encode()
            )
            .is_ok()
        );
        let err = check_plan(&plan(1, None).encode(), &plan(65, None).encode()).unwrap_err();
        assert!(err.contains("--shard"), "{err}");
    }

    #[test]
    fn buckets_bind_plan_and_index() {
        let a = BucketSetup::new(
            Box::new(blindmatch_psi::EcdhSetup::new(
                blindmatch_net::PreparedSet::new(),
            )),
            &[7; 32],
            Shard::WHOLE,
            1,
            4,
            &[1000],
        );
        let b = BucketSetup::new(
            Box::new(blindmatch_psi::EcdhSetup::new(
                blindmatch_net::PreparedSet::new(),
            )),
            &[7; 32],
            Shard::WHOLE,
            2,
            4,
            &[1000],
        );
        assert!(check_bucket(&a.params(), &a.params()).is_ok());
        assert!(check_bucket(&a.params(), &b.params()).is_err());
        assert_eq!(a.expected_peer, vec![bucket_bound(1000, 1, 4)]);
    }
}

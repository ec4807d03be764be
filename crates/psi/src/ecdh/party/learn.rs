//! What a learning party does at the end: compare alone, compare first and tell the
//! peer (both learn), or take the first learner's result (both learn, second).

use super::{Party, Rows};
use crate::ecdh::compare::{self, Comparison};
use crate::ecdh::result;
use crate::{MatchResult, Message, Mode, PsiError, Reveal, SessionConfig};

/// Which peer points a party keeps, doubly blinded, for what it learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum KeepPeer {
    /// None: we do not learn, or learn second, from the bitmaps or counts the peer
    /// sends.
    No,
    /// Full points in the peer's order: to compare alone.
    Points,
    /// Full points with their positions: the first learner of an intersection in
    /// which both learn, which must name the peer's matched positions (and derives
    /// the match IDs from them).
    WithPositions,
}

/// Both learn: the first learner's result, computed once it has everything.
pub(super) struct FirstResult {
    result: MatchResult,
    per_group: Vec<u64>,
}

impl KeepPeer {
    /// What a party in this session keeps.
    pub(super) fn for_config(config: &SessionConfig) -> KeepPeer {
        if !config.i_learn() {
            KeepPeer::No
        } else if !config.i_compare() {
            // The second learner's result names its own positions only.
            KeepPeer::No
        } else if config.reveal == Reveal::Both && config.mode == Mode::Intersection {
            KeepPeer::WithPositions
        } else {
            KeepPeer::Points
        }
    }
}

impl Party {
    /// Both learn and we learn first: we send the peer our result.
    pub(super) fn sends_result(&self) -> bool {
        self.config.reveal == Reveal::Both && self.config.i_compare()
    }

    /// Both learn and the peer learns first: it sends us its result.
    pub(super) fn gets_result(&self) -> bool {
        self.config.reveal == Reveal::Both && self.config.peer_compares()
    }

    /// Result messages the second learner expects.
    pub(super) fn result_total(&self) -> u32 {
        let count = if self.sends_result() {
            self.config.peer_count
        } else {
            self.config.local_count
        };
        result::expected_messages(self.config.mode, count, self.config.batch_size)
    }

    /// Everything a comparing side needs has been sent and received.
    pub(super) fn compare_ready(&self) -> bool {
        self.own_sent == self.own_total
            && self.peer_received == self.peer_total
            && self.returned_batches == self.own_total
    }

    pub(super) fn rows(&self) -> Rows<'_> {
        Rows {
            own_order: &self.own_order,
            own_bounds: &self.own_bounds,
            row_offsets: &self.row_offsets,
            rows: &self.rows,
        }
    }

    /// Both learn, first learner: compares now and queues the result for the peer.
    pub(super) fn compare_first(&mut self) {
        let returned = std::mem::take(&mut self.returned);
        let compared = match self.keep_peer {
            KeepPeer::WithPositions => compare::compare(Comparison {
                cmp_len: self.cmp_len,
                mode: self.config.mode,
                context: self.config.context,
                peer_double: std::mem::take(&mut self.peer_double_at),
                returned,
                rows: self.rows(),
                peer_bounds: &self.peer_bounds,
            }),
            KeepPeer::Points | KeepPeer::No => compare::compare(Comparison {
                cmp_len: self.cmp_len,
                mode: self.config.mode,
                context: self.config.context,
                peer_double: std::mem::take(&mut self.peer_double),
                returned,
                rows: self.rows(),
                peer_bounds: &self.peer_bounds,
            }),
        };
        self.result_out = match self.config.mode {
            Mode::Cardinality => {
                std::iter::once(result::counts_message(&compared.per_group)).collect()
            }
            Mode::Intersection | Mode::Labelled => result::matches_messages(
                &compared.peer_positions,
                self.config.peer_count,
                self.config.batch_size,
            ),
        };
        self.first_result = Some(FirstResult {
            result: compared.result,
            per_group: compared.per_group,
        });
    }

    /// Both learn, second learner: checks and keeps one of the first learner's
    /// result messages.
    pub(super) fn handle_result(&mut self, message: Message) -> Result<(), PsiError> {
        let kind = message.kind();
        if !self.config.i_learn() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "this party does not learn the result",
            });
        }
        if !self.gets_result() {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "only the side that learns second receives a result",
            });
        }
        let session = result::Session {
            mode: self.config.mode,
            batch_size: self.config.batch_size,
            local_count: self.config.local_count,
            own_bounds: &self.own_bounds,
            peer_bounds: &self.peer_bounds,
            exchanged: self.own_sent == self.own_total && self.peer_received == self.peer_total,
        };
        self.incoming.handle(&session, message)
    }

    /// What a learner learned: compared now (alone), compared earlier (first of
    /// two), or told by the peer (second of two); also the matched values of each
    /// type group.
    pub(super) fn learned(mut self) -> (MatchResult, Vec<u64>) {
        if let Some(first) = self.first_result.take() {
            return (first.result, first.per_group);
        }
        if self.gets_result() {
            let incoming = std::mem::take(&mut self.incoming);
            return incoming.outcome(self.config.mode, &self.config.context, self.rows());
        }
        let compared = compare::compare(Comparison {
            cmp_len: self.cmp_len,
            mode: self.config.mode,
            context: self.config.context,
            peer_double: std::mem::take(&mut self.peer_double),
            returned: std::mem::take(&mut self.returned),
            rows: self.rows(),
            peer_bounds: &self.peer_bounds,
        });
        (compared.result, compared.per_group)
    }
}

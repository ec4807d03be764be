//! The OPRF receiver: the side that learns (the initiator when both learn). It
//! encodes its items into the OKVS, runs the base OTs as OT sender and the
//! extension as its receiver, and compares its own OPRF outputs with the sender's.

use rand::Rng;
use rand::rngs::StdRng;
use rayon::prelude::*;
use zeroize::Zeroizing;

use super::ext::ExtReceiver;
use super::hash::{BandHasher, ItemHasher, OutputHasher};
use super::items::{OwnItems, outcome_base};
use super::message::VoleMessage;
use super::okvs::{self, Band, Row};
use super::ot::OtSender;
use super::params::{
    BASE_OTS, CHOICE_MESSAGES, CHOICES_PER_MESSAGE, MAX_OKVS_ATTEMPTS, chunk_range, masked_chunks,
    okvs_columns,
};
use crate::config::batch_count;
use crate::ecdh::batch::{batch_len, check_batch_index};
use crate::error::Pending;
use crate::protocol::{Outgoing, Stage, StageItems};
use crate::{
    Match, MatchId, MatchResult, MessageKind, Outcome, PreparedSet, PsiError, SessionConfig,
};

/// Bytes of a comparison value used as a sort key (comparison values are at most
/// 13 bytes under the set-size limit).
const KEY_LEN: usize = 16;

pub(crate) struct Receiver {
    config: SessionConfig,
    cmp_len: usize,
    items: OwnItems,
    bands: Vec<Band>,
    okvs: Zeroizing<Vec<Row>>,
    okvs_seed: [u8; 16],
    ot: Option<OtSender>,
    start_sent: bool,
    choices: Vec<[u8; 32]>,
    choices_received: u32,
    ext: Option<ExtReceiver>,
    t_rows: Zeroizing<Vec<Row>>,
    masked_sent: u32,
    masked_total: u32,
    /// Our full OPRF outputs by sending position, once every chunk is sent.
    outputs: Zeroizing<Vec<[u8; 32]>>,
    peer_values: Vec<u8>,
    outputs_received: u32,
    outputs_total: u32,
    /// (our position, the sender's position) of every match, once compared.
    hits: Option<Vec<(u32, u32)>>,
    /// Both learn: matched sender positions still to report, and messages sent.
    report: Vec<u32>,
    report_sent: u32,
    report_total: u32,
    failed: bool,
}

impl Receiver {
    /// Hashes and encodes our items (retrying OKVS seeds) and draws the base-OT key.
    ///
    /// # Errors
    /// As [`OwnItems::new`]; [`PsiError::OkvsEncoding`] when no seed works.
    pub(crate) fn new(
        config: SessionConfig,
        set: PreparedSet,
        rng: &mut StdRng,
    ) -> Result<Self, PsiError> {
        let mut items = OwnItems::new(&config, set, rng)?;
        let hashed = items.hash_all(&ItemHasher::new(&config.context));
        let m = okvs_columns(config.local_count);
        let mut attempts = 0;
        let (okvs, bands, okvs_seed) = loop {
            attempts += 1;
            let mut seed = [0u8; 16];
            rng.fill_bytes(&mut seed);
            let band_hasher = BandHasher::new(&config.context, &seed, m);
            let bands: Vec<Band> = hashed
                .par_iter()
                .map(|h| band_hasher.band(&h.band_key))
                .collect();
            let pairs: Vec<(Band, Row)> = bands
                .iter()
                .zip(&hashed)
                .map(|(b, h)| (*b, h.value))
                .collect();
            match okvs::encode(m, &pairs) {
                Ok(table) => break (table, bands, seed),
                Err(_) if attempts < MAX_OKVS_ATTEMPTS => {}
                Err(_) => return Err(PsiError::OkvsEncoding { attempts }),
            }
        };
        drop(hashed);
        let cmp_len = config.comparison_len();
        let masked_total = masked_chunks(config.local_count, config.batch_size);
        let outputs_total = batch_count(config.peer_count, config.batch_size);
        Ok(Receiver {
            cmp_len,
            items,
            bands,
            okvs: Zeroizing::new(okvs),
            okvs_seed,
            ot: Some(OtSender::new(rng)),
            start_sent: false,
            choices: Vec::with_capacity(BASE_OTS),
            choices_received: 0,
            ext: None,
            t_rows: Zeroizing::new(Vec::new()),
            masked_sent: 0,
            masked_total,
            outputs: Zeroizing::new(Vec::new()),
            peer_values: Vec::new(),
            outputs_received: 0,
            outputs_total,
            hits: None,
            report: Vec::new(),
            report_sent: 0,
            report_total: 0,
            failed: false,
            config,
        })
    }

    pub(crate) fn poll_transmit(&mut self) -> Option<Outgoing> {
        if self.failed {
            return None;
        }
        if !self.start_sent {
            let ot = self.ot.as_ref()?;
            self.start_sent = true;
            let message = VoleMessage::Start {
                ot_point: ot.public(),
                okvs_seed: self.okvs_seed,
            };
            return Some(Outgoing {
                payload: message.encode(),
                prepared: self.config.local_count,
                on_sent: None,
            });
        }
        if self.ext.is_some() && self.masked_sent < self.masked_total {
            return Some(self.next_masked());
        }
        if self.config.peer_learns() {
            if self.hits.is_none() && self.compare_ready() {
                self.compare();
            }
            if self.hits.is_some() && self.report_sent < self.report_total {
                return Some(self.next_report());
            }
        }
        None
    }

    fn next_masked(&mut self) -> Outgoing {
        let chunk = self.masked_sent;
        let n = self.config.local_count;
        let range = chunk_range(n, self.config.batch_size, chunk);
        let p = self.okvs.get(range).unwrap_or_default();
        let (columns, t) = match self.ext.as_mut() {
            Some(ext) => ext.chunk(p),
            None => (Vec::new(), Vec::new()),
        };
        self.t_rows.extend_from_slice(&t);
        self.masked_sent += 1;
        if self.masked_sent == self.masked_total {
            self.finish_outputs();
        }
        let total = u64::from(self.masked_total);
        let share = |c: u64| n * c / total;
        let items = share(u64::from(chunk) + 1) - share(u64::from(chunk));
        Outgoing {
            payload: VoleMessage::Masked { chunk, columns }.encode(),
            prepared: 0,
            on_sent: Some(StageItems {
                stage: Stage::Sent,
                items,
            }),
        }
    }

    /// Every chunk is out: our outputs `H(Decode(T, x))`, and the rest can go.
    fn finish_outputs(&mut self) {
        let hasher = OutputHasher::new(&self.config.context);
        let t = &self.t_rows;
        self.outputs = Zeroizing::new(okvs::decode_all(t, &self.bands, |_, row| hasher.hash(&row)));
        self.t_rows = Zeroizing::new(Vec::new());
        self.okvs = Zeroizing::new(Vec::new());
        self.bands = Vec::new();
        self.ext = None;
    }

    fn compare_ready(&self) -> bool {
        self.masked_sent == self.masked_total && self.outputs_received == self.outputs_total
    }

    /// Matches our outputs against the sender's, by sorted merge.
    fn compare(&mut self) {
        let l = self.cmp_len;
        let mut peer: Vec<([u8; KEY_LEN], u32)> = self
            .peer_values
            .par_chunks(l.max(1))
            .enumerate()
            // pos < peer_count <= MAX_SET_SIZE = u32::MAX
            .map(|(pos, v)| (prefix_key(v, l), pos as u32))
            .collect();
        peer.par_sort_unstable();
        let mut ours: Vec<([u8; KEY_LEN], u32)> = self
            .outputs
            .par_iter()
            .enumerate()
            .map(|(pos, v)| (prefix_key(v, l), pos as u32))
            .collect();
        ours.par_sort_unstable();
        let mut hits = Vec::new();
        let mut it = peer.iter().peekable();
        for &(key, pos) in &ours {
            while it.next_if(|p| p.0 < key).is_some() {}
            if let Some(&&(k, peer_pos)) = it.peek()
                && k == key
            {
                hits.push((pos, peer_pos));
            }
        }
        if self.config.peer_learns() {
            let mut report: Vec<u32> = hits.iter().map(|&(_, p)| p).collect();
            report.sort_unstable();
            report.dedup();
            let batch = self.config.batch_size.max(1) as usize;
            // At most peer_count <= u32::MAX positions.
            self.report_total = report.len().div_ceil(batch).max(1) as u32;
            self.report = report;
        }
        self.peer_values = Vec::new();
        self.hits = Some(hits);
    }

    fn next_report(&mut self) -> Outgoing {
        let index = self.report_sent;
        let batch = self.config.batch_size.max(1) as usize;
        let start = (index as usize)
            .saturating_mul(batch)
            .min(self.report.len());
        let end = start.saturating_add(batch).min(self.report.len());
        self.report_sent += 1;
        let message = VoleMessage::Matched {
            index,
            total: self.report.len() as u32,
            positions: self.report.get(start..end).unwrap_or_default().to_vec(),
        };
        if self.report_sent == self.report_total {
            self.report = Vec::new();
        }
        Outgoing {
            payload: message.encode(),
            prepared: 0,
            on_sent: None,
        }
    }

    pub(crate) fn handle(&mut self, message: VoleMessage) -> Result<Option<StageItems>, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        let result = match message {
            VoleMessage::Choices { chunk, points } => self.handle_choices(chunk, &points),
            VoleMessage::Outputs { batch, values } => self.handle_outputs(batch, values),
            other => Err(PsiError::MessageNotAllowed {
                kind: other.kind(),
                reason: "the OPRF receiver never receives this message",
            }),
        };
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn handle_choices(
        &mut self,
        chunk: u32,
        points: &[[u8; 32]],
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleChoices;
        if !self.start_sent {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "base-OT choices before our start message",
            });
        }
        check_batch_index(
            kind,
            chunk,
            self.choices_received,
            CHOICE_MESSAGES,
            BASE_OTS as u64,
        )?;
        if points.len() != CHOICES_PER_MESSAGE {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch: chunk,
                expected: CHOICES_PER_MESSAGE * 32,
                actual: points.len() * 32,
            });
        }
        self.choices.extend_from_slice(points);
        self.choices_received += 1;
        if self.choices_received == CHOICE_MESSAGES {
            let ot = self.ot.take().ok_or(PsiError::Aborted)?;
            let keys = ot
                .keys(&self.config.context, &self.choices)
                .map_err(|bad| PsiError::InvalidPoint {
                    kind,
                    batch: (bad.0 / CHOICES_PER_MESSAGE) as u32,
                    index: (bad.0 % CHOICES_PER_MESSAGE) as u32,
                })?;
            self.ext = Some(ExtReceiver::new(&keys));
            self.choices = Vec::new();
        }
        Ok(None)
    }

    fn handle_outputs(
        &mut self,
        batch: u32,
        values: Vec<u8>,
    ) -> Result<Option<StageItems>, PsiError> {
        let kind = MessageKind::VoleOutputs;
        if self.masked_sent < self.masked_total {
            return Err(PsiError::MessageNotAllowed {
                kind,
                reason: "outputs before all our masked columns were sent",
            });
        }
        check_batch_index(
            kind,
            batch,
            self.outputs_received,
            self.outputs_total,
            self.config.peer_count,
        )?;
        let count = batch_len(batch, self.config.batch_size, self.config.peer_count);
        let expected = count * self.cmp_len;
        if values.len() != expected {
            return Err(PsiError::WrongBatchLength {
                kind,
                batch,
                expected,
                actual: values.len(),
            });
        }
        if self.peer_values.is_empty() {
            self.peer_values = values;
        } else {
            self.peer_values.extend_from_slice(&values);
        }
        self.outputs_received += 1;
        Ok(Some(StageItems {
            stage: Stage::Received,
            items: count as u64,
        }))
    }

    pub(crate) fn pending(&self) -> Option<Pending> {
        if self.masked_sent < self.masked_total {
            return Some(Pending::OwnBatches {
                sent: self.masked_sent,
                total: self.masked_total,
            });
        }
        if self.outputs_received < self.outputs_total {
            return Some(Pending::PeerBatches {
                received: self.outputs_received,
                total: self.outputs_total,
            });
        }
        if self.config.peer_learns()
            && (self.hits.is_none() || self.report_sent < self.report_total)
        {
            return Some(Pending::Responses {
                queued: (self.report_total - self.report_sent).max(1) as usize,
            });
        }
        None
    }

    /// Marks the session failed (a message that did not even decode).
    pub(crate) fn handle_failed(&mut self) {
        self.failed = true;
    }

    pub(crate) fn is_finished(&self) -> bool {
        !self.failed && self.pending().is_none()
    }

    pub(crate) fn finish(mut self) -> Result<Outcome, PsiError> {
        if self.failed {
            return Err(PsiError::Aborted);
        }
        if let Some(pending) = self.pending() {
            return Err(PsiError::Incomplete { pending });
        }
        if self.hits.is_none() {
            self.compare();
        }
        let hits = self.hits.take().unwrap_or_default();
        let mut outcome = outcome_base(&self.config, self.cmp_len);
        let per_group = self.items.per_group(hits.iter().map(|&(p, _)| p as usize));
        for (t, n) in outcome.per_type.iter_mut().zip(per_group) {
            t.matched = Some(n);
        }
        let context = self.config.context;
        let mut matches = Vec::new();
        for &(pos, _) in &hits {
            let Some(full) = self.outputs.get(pos as usize) else {
                continue;
            };
            let match_id = MatchId::derive(&context, full);
            for &row in self.items.rows_at(pos as usize) {
                matches.push(Match { row, match_id });
            }
        }
        matches.par_sort_unstable();
        outcome.result = MatchResult::Intersection {
            matched: hits.len() as u64,
            matches,
        };
        Ok(outcome)
    }
}

/// The first `l` bytes of `value`, zero-padded.
fn prefix_key(value: &[u8], l: usize) -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    let n = l.min(KEY_LEN).min(value.len());
    if let (Some(dst), Some(src)) = (key.get_mut(..n), value.get(..n)) {
        dst.copy_from_slice(src);
    }
    key
}

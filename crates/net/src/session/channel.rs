//! What the protocol thread and the network tasks share: the messages the writer is
//! handed ([`Outbound`]) and the progress counters each of them advances.

use blindmatch_psi::{Outgoing, Stage, StageItems};

use super::options::SessionOptions;
use super::report::Event;

/// What the PSI thread sends to the writer task.
pub(super) enum Outbound {
    Psi(Outgoing),
    /// Everything is sent and received: write `Done`.
    Finished,
}

/// Where a task reports progress: the event sink and the two sizes that give each
/// stage its total.
#[derive(Clone)]
pub(super) struct Progress {
    pub(super) options: SessionOptions,
    pub(super) local: u64,
    pub(super) peer: u64,
}

impl Progress {
    pub(super) fn emit(&self, stage: Stage, done: u64) {
        let total = stage.total(self.local, self.peer);
        self.options.emit(Event::Progress { stage, done, total });
    }
}

/// Items done per stage, kept by each task for the stages it advances.
#[derive(Default)]
pub(super) struct StageCounts([u64; 5]);

impl StageCounts {
    /// Adds `advanced` and reports the stage's new count.
    pub(super) fn advance(&mut self, progress: &Progress, advanced: StageItems) {
        let slot = match advanced.stage {
            Stage::Hashed => 0,
            Stage::Sent => 1,
            Stage::Received => 2,
            Stage::Answered => 3,
            Stage::Compared => 4,
        };
        if let Some(done) = self.0.get_mut(slot) {
            *done += advanced.items;
            progress.emit(advanced.stage, *done);
        }
    }
}

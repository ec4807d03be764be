//! The threads of a tokenize run and what flows between them: a reader thread
//! fills reused work items with rows (CSV records, or a range of a Parquet or
//! Arrow record batch, never copied cell by cell), workers tokenise them in any order, the
//! collector puts them back in input order (counting, listing rejects, checking
//! short codes) and a writer thread writes and hashes the text.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;

use blindmatch_data::dataset::{
    ChunkRows, ColumnCounts, DatasetReader, OutputColumn, RejectTally, RowChunk, utf8_failure,
    write_reject_line,
};
use blindmatch_data::output::{AtomicFile, SealedFile, TableFile, WrittenFile};
use blindmatch_data::{Error, FailWith, Observer, Result};
use blindmatch_token::{ShortCodeRegistry, ShortCoder};
use sha2::{Digest, Sha256};

use super::chunk::{ChunkOut, Plan, process_chunk};

/// Rows per work item: the reader fills items, any free worker takes the next
/// one (a columnar batch of `BATCH_ROWS` makes several items). Large enough that handing items between threads costs little (a thread
/// woken per item), small enough to keep the cores evenly busy to the end.
const ITEM_ROWS: usize = 2048;
/// Work items in circulation per worker (plus one): enough that no worker waits
/// for the reader, nor for a slower worker's item to be written in order.
const ITEMS_PER_WORKER: usize = 2;

/// A work item travelling from the reader thread to a worker, to the main thread
/// and back to the reader: rows and what became of them.
#[derive(Default)]
struct Item {
    /// Position in the input, counted in items.
    seq: u64,
    rows: RowChunk,
    out: ChunkOut,
}

/// Where the tokens go: an atomic file (CSV, or Parquet for a `.parquet` name),
/// or stdout (hashed as it is written).
pub(super) enum Sink {
    File(TableFile),
    Stdout {
        out: Box<dyn Write + Send>,
        /// `None` when no manifest will name the output's hash.
        hasher: Option<Sha256>,
        bytes: u64,
    },
}

impl Sink {
    pub(super) fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Sink::File(file) => file.write_all(buf),
            Sink::Stdout { out, hasher, bytes } => {
                out.write_all(buf)?;
                if let Some(hasher) = hasher {
                    hasher.update(buf);
                }
                *bytes += buf.len() as u64;
                Ok(())
            }
        }
    }

    /// Finishes the output: a file is sealed, to be committed with the other
    /// outputs; stdout is flushed. Returns what the manifest records of it.
    pub(super) fn seal(self) -> Result<(WrittenFile, Option<SealedFile>)> {
        match self {
            Sink::File(file) => {
                let sealed = file.seal()?;
                Ok((sealed.info().clone(), Some(sealed)))
            }
            Sink::Stdout {
                mut out,
                hasher,
                bytes,
            } => {
                out.flush()
                    .fail_with(|| Error::failed("cannot write to standard output"))?;
                let written = WrittenFile {
                    path: PathBuf::from("-"),
                    sha256: hasher
                        .map(|h| hex::encode(h.finalize()))
                        .unwrap_or_default(),
                    bytes,
                };
                Ok((written, None))
            }
        }
    }
}

/// Counts over the whole run, merged from the chunks.
pub(super) struct Totals {
    pub(super) counts: Vec<ColumnCounts>,
    pub(super) tally: RejectTally,
    pub(super) rows_with_rejects: u64,
    /// One registry per identifier column; or, with a registry file, the one
    /// registry (pre-filled from the file) that every column's codes go to.
    registries: Vec<ShortCodeRegistry>,
    /// Per identifier column, the index of its registry.
    registry_of: Vec<usize>,
}

impl Totals {
    /// Totals for `columns` identifier columns; with `shared`, every column's
    /// codes are checked against and added to it (codes from a registry file
    /// make one namespace under the code key).
    pub(super) fn new(columns: usize, shared: Option<ShortCodeRegistry>) -> Self {
        let (registries, registry_of) = match shared {
            Some(registry) => (vec![registry], vec![0; columns]),
            None => (
                (0..columns).map(|_| ShortCodeRegistry::new()).collect(),
                (0..columns).collect(),
            ),
        };
        Totals {
            counts: vec![ColumnCounts::default(); columns],
            tally: RejectTally::new(columns),
            rows_with_rejects: 0,
            registries,
            registry_of,
        }
    }

    /// The registry shared by every column (with a registry file).
    pub(super) fn shared_registry(&self) -> Option<&ShortCodeRegistry> {
        self.registries
            .first()
            .filter(|_| self.registries.len() == 1)
    }

    pub(super) fn by_reason(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for column in 0..self.counts.len() {
            for (reason, n) in self.tally.by_reason(column) {
                *out.entry(reason.code()).or_default() += n;
            }
        }
        out
    }
}

/// Runs the reader, `workers` workers and the writer over `reader`'s records,
/// collecting on this thread; returns the reader at the end of its input.
///
/// # Errors
/// A malformed record, a cell that is not UTF-8, a short-code collision, or a
/// write error on the output (`output` names it) or the rejects file.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    reader: DatasetReader,
    plan: &Plan<'_>,
    workers: usize,
    sink: &mut Sink,
    rejects: Option<&mut AtomicFile>,
    totals: &mut Totals,
    output: &Path,
    observer: &dyn Observer,
) -> Result<DatasetReader> {
    let (jobs_tx, jobs_rx) = mpsc::channel::<Item>();
    let jobs = std::sync::Mutex::new(jobs_rx);
    std::thread::scope(|scope| -> Result<DatasetReader> {
        let (done_tx, done_rx) = mpsc::channel::<Item>();
        let (free_tx, free_rx) = mpsc::channel::<Item>();
        let items = workers * ITEMS_PER_WORKER + 1;
        // The reader owns the only sender of jobs: when it stops, the workers do.
        let reading = scope.spawn(move || read_items(reader, items, &jobs_tx, &free_rx, observer));
        for _ in 0..workers {
            let (jobs, done) = (&jobs, done_tx.clone());
            scope.spawn(move || work(plan, jobs, &done));
        }
        drop(done_tx);
        // The writer thread hashes and writes finished text while the workers
        // tokenise the next items.
        let (out_tx, out_rx) = mpsc::sync_channel::<Vec<u8>>(items);
        let (spent_tx, spent_rx) = mpsc::channel::<Vec<u8>>();
        let writing = scope.spawn(move || write_buffers(sink, &out_rx, &spent_tx));
        let pipes = Pipes {
            done: done_rx,
            free: free_tx,
            out: out_tx,
            spent: spent_rx,
        };
        let consumed = collect_items(plan, pipes, rejects, totals);
        let written = writing
            .join()
            .map_err(|_| Error::failed("the writer thread panicked"))?;
        let read = reading
            .join()
            .map_err(|_| Error::failed("the reader thread panicked"))?;
        // The collector's error comes first: the others only stop because it did.
        // A write error comes next: the collector then stops quietly.
        consumed?;
        written.fail_with(|| write_failure(output))?;
        read
    })
}

/// The reader thread: fills items (at most `items` of them, reused) until the
/// input ends or the collector stops.
fn read_items(
    mut reader: DatasetReader,
    items: usize,
    jobs: &mpsc::Sender<Item>,
    free: &mpsc::Receiver<Item>,
    observer: &dyn Observer,
) -> Result<DatasetReader> {
    let mut made = 0;
    for seq in 0.. {
        let reused = free.try_recv().ok();
        let mut item = match reused {
            Some(item) => item,
            None if made < items => {
                made += 1;
                Item::default()
            }
            None => match free.recv() {
                Ok(item) => item,
                // The collector stopped (it failed); its error is the one reported.
                Err(_) => break,
            },
        };
        item.seq = seq;
        let read = reader.read_chunk(&mut item.rows, ITEM_ROWS)?;
        observer.progress(reader.bytes_read());
        if read == 0 || jobs.send(item).is_err() {
            break;
        }
    }
    Ok(reader)
}

/// A worker thread: takes the next item, normalises and tokenises it, passes it
/// on; until the reader is done or the collector stops.
fn work(plan: &Plan<'_>, jobs: &std::sync::Mutex<mpsc::Receiver<Item>>, done: &mpsc::Sender<Item>) {
    let ids = plan.columns.ids.len();
    loop {
        // The lock is held only while waiting for the next item, never while working.
        let next = match jobs.lock() {
            Ok(jobs) => jobs.recv(),
            Err(_) => return,
        };
        let Ok(mut item) = next else {
            return;
        };
        item.out.reset(ids);
        // One dispatch per item: the per-cell code is compiled for each form.
        match item.rows.rows() {
            ChunkRows::Records(records) => process_chunk(plan, records, &mut item.out),
            ChunkRows::Batch(batch) => process_chunk(plan, batch, &mut item.out),
        }
        if done.send(item).is_err() {
            return;
        }
    }
}

/// The main thread: puts finished items back in input order, merges their counts,
/// writes their rejects and short-code checks, and hands their text to the writer.
fn collect_items(
    plan: &Plan<'_>,
    pipes: Pipes,
    mut rejects: Option<&mut AtomicFile>,
    totals: &mut Totals,
) -> Result<()> {
    let mut waiting: BTreeMap<u64, Item> = BTreeMap::new();
    let mut next = 0;
    let mut reject_line = Vec::with_capacity(128);
    for item in pipes.done.iter() {
        waiting.insert(item.seq, item);
        while let Some(mut item) = waiting.remove(&next) {
            next += 1;
            let out = &mut item.out;
            if let Some((line, _, column)) = out.utf8_error {
                let (name, index) = match column {
                    OutputColumn::Id(n) => {
                        plan.columns.ids.get(n).map(|c| (c.name.as_str(), c.index))
                    }
                    OutputColumn::Keep(n) => {
                        plan.columns.keep.get(n).map(|c| (c.name.as_str(), c.index))
                    }
                }
                .unwrap_or(("?", 0));
                return Err(utf8_failure(plan.source, line, name, index));
            }
            let spare = pipes.spent.try_recv().unwrap_or_default();
            let text = std::mem::replace(&mut out.text, spare);
            if pipes.out.send(text).is_err() {
                // The writer failed; its error is reported by the caller.
                return Ok(());
            }
            for (total, n) in totals.counts.iter_mut().zip(&out.counts) {
                total.merge(n);
            }
            totals.tally.merge(&out.tally);
            totals.rows_with_rejects += out.rows_with_rejects;
            if let Some(file) = rejects.as_deref_mut() {
                for r in &out.rejects {
                    let Some(column) = plan.columns.ids.get(r.column) else {
                        continue;
                    };
                    reject_line.clear();
                    write_reject_line(
                        &mut reject_line,
                        r.row,
                        r.line,
                        &column.name,
                        column.id_type,
                        r.reason,
                    );
                    file.write_all(&reject_line)
                        .fail_with(|| write_failure(file.path()))?;
                }
            }
            for (row, column, code) in out.codes.drain(..) {
                let index = totals.registry_of.get(column).copied().unwrap_or(column);
                let Some(registry) = totals.registries.get_mut(index) else {
                    continue;
                };
                let inserted = registry.insert(&code, row);
                let earlier = matches!(
                    inserted,
                    Err(blindmatch_token::Error::ShortCodeCollisionEarlierRun { .. })
                );
                inserted.fail_with(|| {
                    let name = plan
                        .columns
                        .ids
                        .get(column)
                        .map(|c| c.name.as_str())
                        .unwrap_or("");
                    let longer = (plan.short_code_len + 2).min(ShortCoder::MAX_LEN);
                    Error::failed(format!("column '{name}': short codes collide")).hint(
                        if earlier {
                            format!(
                                "longer codes (e.g. --short-code-len {longer}) change every code, so they need a new --short-code-registry file; no output was written and the registry is unchanged"
                            )
                        } else {
                            format!(
                                "use longer codes, e.g. --short-code-len {longer}; no output was written"
                            )
                        },
                    )
                })?;
            }
            // The reader may have stopped already; then the item is simply dropped.
            let _ = pipes.free.send(item);
        }
    }
    Ok(())
}

/// The channels between the reader, the workers, the collector and the writer.
struct Pipes {
    /// Items tokenised, in any order.
    done: mpsc::Receiver<Item>,
    /// Items handed back to the reader for reuse.
    free: mpsc::Sender<Item>,
    /// Finished output, in input order, to the writer.
    out: mpsc::SyncSender<Vec<u8>>,
    /// Written buffers handed back for reuse.
    spent: mpsc::Receiver<Vec<u8>>,
}

/// The writer thread: writes (and so hashes) buffers in the order received.
fn write_buffers(
    sink: &mut Sink,
    buffers: &mpsc::Receiver<Vec<u8>>,
    spent: &mpsc::Sender<Vec<u8>>,
) -> io::Result<()> {
    for mut buffer in buffers.iter() {
        sink.write_all(&buffer)?;
        buffer.clear();
        let _ = spent.send(buffer);
    }
    Ok(())
}

/// Standard output without std's line buffering: output goes out in large blocks
/// already, and `LineWriter` would scan every block for its last newline.
pub(super) fn raw_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(io::stdout())
}

/// The error for an output that could not be written.
pub(super) fn write_failure(path: &Path) -> Error {
    Error::failed(format!("cannot write '{}'", path.display()))
        .hint("check the free space and permissions of the output folder")
}

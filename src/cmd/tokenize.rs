//! `blindmatch tokenize`: a CSV of customer records in, a CSV of keyed tokens out,
//! with a JSON manifest beside it and an optional rejects file.
//!
//! The pipeline streams in constant memory: a reader thread parses records into a
//! fixed number of reused work items; worker threads each take the next item,
//! normalise and tokenise it; the main thread puts finished items back in input
//! order, counts them and hands their text to a writer thread (which also hashes
//! it). No worker waits for another. Short-code registries (one entry per
//! distinct code) are the only state that grows with the input, and only when
//! `--short-code` is used.
//!
//! A rejected cell is written as an empty cell and counted (per column and reason,
//! and in the rejects file by row number): its row is kept so row counts and kept
//! columns stay aligned, and the raw value never reaches any output.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Instant;

use blindmatch_token::{
    DerivedCode, IdType, KeyFile, KeyPurpose, Profile, Rejection, ShortCodeRegistry, ShortCoder,
    Tokenizer, token,
};
use clap::Args as ClapArgs;
use sha2::{Digest, Sha256};

use blindmatch_data::meta::{Precision, now_rfc3339};

use crate::args::{InputArgs, ProfileArgs};
use crate::cmd::key;
use crate::error::{ExitStatus, FailWith, Failure};
use crate::manifest::{
    self, ColumnInfo, FileInfo, KeyInfo, RateCheck, RowCounts, TokenizeManifest,
};
use crate::progress;
use blindmatch_data::dataset::{
    Cell, ColumnCounts, Columns, CsvReader, InputSource, OutputColumn, Record, RejectTally,
    normalize_cell_append, parse_rate, shown_header,
};
use blindmatch_data::output::{
    AtomicFile, OutputTarget, SealedFile, WrittenFile, commit_all, ensure_absent,
};

/// Records per work item: the reader fills items, any free worker takes the next
/// one. Large enough that handing items between threads costs little (a thread
/// woken per item), small enough to keep the cores evenly busy to the end.
const ITEM_ROWS: usize = 2048;
/// Work items in circulation per worker (plus one): enough that no worker waits
/// for the reader, nor for a slower worker's item to be written in order.
const ITEMS_PER_WORKER: usize = 2;
/// Rows of a chunk handled together: all their identifier cells are normalised,
/// then all their MACs computed at once (independent SHA-256 compressions overlap
/// in the CPU, see `Tokenizer::macs`), then the rows are written.
const GROUP_ROWS: usize = 64;
/// What the manifest says happens to a rejected cell.
const REJECTED_CELLS: &str = "written empty; counted by reason; listed by row in the rejects file";

/// Replace identifier columns of a CSV with keyed tokens, with a manifest.
///
/// Tokens are written `bm1.<key-id>.<base64url>`. Identifier columns (--column NAME:TYPE) are normalised and replaced by their
/// tokens, --keep columns are copied, all other columns are dropped. Empty cells
/// stay empty. A cell the normaliser rejects is written empty, counted per column
/// and reason, summarised on stderr and, with --rejects, listed by row number and
/// reason (never the value). A JSON manifest (tool, profile, key ID, column
/// mapping, input and output SHA-256, counts) is written beside the output.
///
/// Example:
///
///   blindmatch tokenize --key acme.key --input customers.csv \
///       --column phone:phone --column email:email --keep customer_id -o tokens.csv
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
pub(crate) struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    profile: ProfileArgs,

    /// Key file for the tokens (from `blindmatch keygen` or `blindmatch key derive`).
    /// A master key is not used directly: tokens are made with its derived token
    /// key, the one `blindmatch key derive --purpose token` writes without --partner.
    #[arg(long, value_name = "KEY_FILE", required_unless_present = "passthrough")]
    key: Option<PathBuf>,

    /// An older key: adds a NAME_prev column with each value's token under that
    /// key beside the new token, an old→new mapping for migrating stored tokens.
    #[arg(long, value_name = "KEY_FILE")]
    previous_key: Option<PathBuf>,

    /// Token file to write, `-` for standard output. Written under a temporary
    /// name and renamed only when complete; mode 0600.
    #[arg(short, long, value_name = "FILE")]
    output: PathBuf,

    /// Where to write the JSON manifest [default: OUTPUT.manifest.json; with
    /// `-o -`, no manifest unless this is given].
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,

    /// Also write one line per rejected cell to this CSV file: row, line, column,
    /// type and reason code; never the value.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Exit with code 3 when, in any identifier column, more than this share of
    /// the non-empty cells is rejected: a fraction (0.01) or a percentage (1%).
    /// The files are still written; the manifest records the failed check.
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,

    /// Also write a short customer code (Crockford base32 plus a check
    /// character) for this identifier column, in a NAME_code column
    /// (repeatable). Two different values with one code stop the run.
    #[arg(long = "short-code", value_name = "COLUMN")]
    short_codes: Vec<String>,

    /// Data characters per short code, 8 to 24 (5 bits each).
    #[arg(long, value_name = "N", default_value_t = ShortCoder::DEFAULT_LEN)]
    short_code_len: usize,

    /// Token MAC length in bytes, 16 to 32 (32 is the full HMAC-SHA256; see
    /// docs/token-format.md for the collision bound of shorter tokens).
    #[arg(long, value_name = "BYTES", default_value_t = token::FULL_LEN)]
    token_bytes: usize,

    /// Replace existing output, manifest and rejects files.
    #[arg(long)]
    force: bool,

    /// Worker threads [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,

    /// Diagnostic for benchmarks: copy identifier cells unchanged instead of
    /// tokenising them (no key, no manifest). The output holds raw identifiers.
    #[arg(long, hide = true)]
    passthrough: bool,
}

/// Everything the workers need, shared read-only across threads.
struct Plan<'a> {
    columns: &'a Columns,
    profile: &'a Profile,
    current: Option<&'a Tokenizer>,
    previous: Option<&'a Tokenizer>,
    coder: Option<&'a ShortCoder>,
    /// Per identifier column: whether it gets a short-code column.
    coded: &'a [bool],
    /// The identifier columns in output order: (position in the output, index
    /// into `columns.ids`).
    id_order: Vec<(usize, usize)>,
    delimiter: u8,
    /// The input's name, for messages.
    source: &'a str,
}

/// One rejected cell, for the rejects file.
#[derive(Debug, Clone, Copy)]
struct RejectRow {
    row: u64,
    line: u64,
    column: usize,
    reason: Rejection,
}

/// A worker's output for one chunk of records, reused from batch to batch.
#[derive(Default)]
struct ChunkOut {
    /// CSV text of the chunk's rows (every used cell was checked UTF-8, tokens
    /// are ASCII, so it is UTF-8 too).
    text: Vec<u8>,
    counts: Vec<ColumnCounts>,
    tally: RejectTally,
    rejects: Vec<RejectRow>,
    codes: Vec<(u64, usize, DerivedCode)>,
    rows_with_rejects: u64,
    /// The first used cell that is not UTF-8: its line, output position and column.
    utf8_error: Option<(u64, usize, OutputColumn)>,
    /// The current group's normalised values, back to back.
    values: String,
    /// The current group's identifier cells, row by row in output order.
    slots: Vec<Slot>,
    /// MACs of the group's values under `--key` and `--previous-key`.
    macs: Vec<[u8; 32]>,
    previous_macs: Vec<[u8; 32]>,
}

impl ChunkOut {
    fn reset(&mut self, columns: usize) {
        self.text.clear();
        self.counts.clear();
        self.counts.resize(columns, ColumnCounts::default());
        self.tally = RejectTally::new(columns);
        self.rejects.clear();
        self.codes.clear();
        self.rows_with_rejects = 0;
        self.utf8_error = None;
    }

    /// Keeps the first cell in input order that is not UTF-8.
    fn note_utf8_error(&mut self, line: u64, position: usize, column: OutputColumn) {
        match self.utf8_error {
            Some((l, p, _)) if (l, p) <= (line, position) => {}
            _ => self.utf8_error = Some((line, position, column)),
        }
    }
}

/// What became of one identifier cell of a group.
#[derive(Debug, Clone, Copy)]
enum Slot {
    /// Not UTF-8: reported by the consumer; nothing is written.
    Unreadable,
    /// Empty or rejected: written empty.
    Blank,
    /// Normalised into `ChunkOut::values[start..end]`.
    Value {
        id_type: IdType,
        start: usize,
        end: usize,
    },
}

/// A work item travelling from the reader thread to a worker, to the main thread
/// and back to the reader: records and what became of them.
#[derive(Default)]
struct Item {
    /// Position in the input, counted in items.
    seq: u64,
    records: Vec<Record>,
    len: usize,
    out: ChunkOut,
}

/// Where the tokens go: an atomic file, or stdout (hashed as it is written).
enum Sink {
    File(AtomicFile),
    Stdout {
        out: Box<dyn Write + Send>,
        /// `None` when no manifest will name the output's hash.
        hasher: Option<Sha256>,
        bytes: u64,
    },
}

impl Sink {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
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
    fn seal(self) -> anyhow::Result<(WrittenFile, Option<SealedFile>)> {
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
                    .fail_with(|| Failure::failed("cannot write to standard output"))?;
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

/// Runs `blindmatch tokenize`.
///
/// # Errors
/// Bad input (exit 2) before anything is written; a failed reject-rate check (exit
/// 3) after the files are written; I/O failures and short-code collisions (exit 1)
/// with no output left behind.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let started = Instant::now();
    let started_at = now_rfc3339(Precision::Full);
    let spec = args.input.validate()?;
    let profile = args.profile.profile();
    let target = OutputTarget::parse(&args.output);

    // Every output path is checked before any work, so bad usage writes nothing.
    let manifest_path = match (&args.manifest, &target) {
        _ if args.passthrough => None,
        (Some(path), _) => Some(path.clone()),
        (None, OutputTarget::File(path)) => Some(with_suffix(path, ".manifest.json")),
        (None, OutputTarget::Stdout) => None,
    };
    check_paths(
        &spec.source,
        &target,
        manifest_path.as_deref(),
        args.rejects.as_deref(),
        args.force,
    )?;

    // The key file is read once; its key lives only inside the tokeniser and the
    // short-code coder (both zeroised on drop).
    let key_file = match (&args.key, args.passthrough) {
        (Some(path), false) => Some((key::load(path, "--key")?, path)),
        _ => None,
    };
    let (current, current_info) = match &key_file {
        Some((file, path)) => {
            let (tokenizer, info) = tokenizer_for(file, path, "--key", args.token_bytes)?;
            (Some(tokenizer), Some(info))
        }
        None => (None, None),
    };
    let (previous, previous_info) = match (&args.previous_key, args.passthrough) {
        (Some(path), false) => {
            let file = key::load(path, "--previous-key")?;
            let (tokenizer, info) = tokenizer_for(&file, path, "--previous-key", args.token_bytes)?;
            if current.as_ref().map(|t| t.key_id()) == Some(tokenizer.key_id()) {
                return Err(Failure::bad_input(format!(
                    "--previous-key '{}' is the same key as --key",
                    path.display()
                ))
                .hint("give the key the stored tokens were made with")
                .into());
            }
            (Some(tokenizer), Some(info))
        }
        _ => (None, None),
    };
    let coder = match (&key_file, args.short_codes.is_empty()) {
        (Some((file, _)), false) => Some(short_coder(file, args.short_code_len)?),
        _ => None,
    };
    drop(key_file);
    let workers = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);

    let mut reader = CsvReader::open(&spec.source, spec.delimiter)?;
    // Hashes are for the manifest only: with none (`-o -` without --manifest,
    // and the passthrough baseline) neither file is hashed.
    let hashing = manifest_path.is_some();
    if !hashing {
        reader.skip_hashing();
    }
    let columns = Columns::resolve(reader.header(), &spec.columns, &spec.keep, reader.name())?;
    // The workers check every used cell for UTF-8 (once, as they read it), so the
    // reader checks none.
    let source_name = reader.name().to_owned();
    let mut coded = vec![false; columns.ids.len()];
    for name in &args.short_codes {
        let Some(n) = columns.ids.iter().position(|c| &c.name == name) else {
            return Err(Failure::bad_input(format!(
                "--short-code '{name}' is not an identifier column"
            ))
            .hint("name a column also given as --column NAME:TYPE")
            .into());
        };
        if let Some(flag) = coded.get_mut(n) {
            *flag = true;
        }
    }
    let header = output_header(&columns, previous.is_some(), &coded)?;
    // Dropped columns are named in the manifest only as far as their names do not
    // look like identifiers.
    let dropped: Vec<String> = {
        let used: HashSet<usize> = columns.used_indices().into_iter().collect();
        reader
            .header()
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(i, h)| shown_header(h, i))
            .collect()
    };
    tracing::info!(
        input = %reader.name(),
        profile = %profile.name(),
        key_id = ?current.as_ref().map(|t| t.key_id().to_string()),
        columns = columns.ids.len(),
        kept = columns.keep.len(),
        dropped = dropped.len(),
        "tokenize: starting"
    );
    if args.passthrough {
        tracing::warn!("passthrough mode: identifier cells are copied unchanged, not tokenised");
    }

    let mut sink = match &target {
        OutputTarget::File(path) => Sink::File(AtomicFile::create(path, args.force, true)?),
        OutputTarget::Stdout => Sink::Stdout {
            out: raw_stdout(),
            hasher: hashing.then(Sha256::new),
            bytes: 0,
        },
    };
    // The manifest's temporary file is made now, beside the others, so a folder
    // that does not exist or cannot be written fails before the input is read;
    // its content is written at the end.
    let manifest_file = match (&manifest_path, &current_info) {
        (Some(path), Some(_)) => Some(AtomicFile::create(path, args.force, false)?),
        _ => None,
    };
    let mut rejects_file = match &args.rejects {
        Some(path) => {
            let mut file = AtomicFile::create(path, args.force, false)?;
            file.write_all(b"row,line,column,type,reason\n")
                .fail_with(|| write_failure(path))?;
            Some(file)
        }
        None => None,
    };
    let mut line = Vec::with_capacity(256);
    for (i, name) in header.iter().enumerate() {
        if i > 0 {
            line.push(spec.delimiter);
        }
        write_field(&mut line, name, spec.delimiter);
    }
    line.push(b'\n');
    sink.write_all(&line)
        .fail_with(|| write_failure(&args.output))?;

    let plan = Plan {
        columns: &columns,
        profile: &profile,
        current: current.as_ref(),
        previous: previous.as_ref(),
        coder: coder.as_ref(),
        coded: &coded,
        id_order: columns
            .output_order
            .iter()
            .enumerate()
            .filter_map(|(position, column)| match column {
                OutputColumn::Id(n) => Some((position, *n)),
                OutputColumn::Keep(_) => None,
            })
            .collect(),
        delimiter: spec.delimiter,
        source: &source_name,
    };
    let mut totals = Totals::new(columns.ids.len());
    let bar = progress::bytes(reader.size(), "tokenize");
    let (jobs_tx, jobs_rx) = mpsc::channel::<Item>();
    let jobs = std::sync::Mutex::new(jobs_rx);
    let reader = std::thread::scope(|scope| -> anyhow::Result<CsvReader> {
        let (done_tx, done_rx) = mpsc::channel::<Item>();
        let (free_tx, free_rx) = mpsc::channel::<Item>();
        let bar = &bar;
        let items = workers * ITEMS_PER_WORKER + 1;
        // The reader owns the only sender of jobs: when it stops, the workers do.
        let reading = scope.spawn(move || read_items(reader, items, &jobs_tx, &free_rx, bar));
        for _ in 0..workers {
            let (jobs, done, plan) = (&jobs, done_tx.clone(), &plan);
            scope.spawn(move || work(plan, jobs, &done));
        }
        drop(done_tx);
        // The writer thread hashes and writes finished text while the workers
        // tokenise the next items.
        let (out_tx, out_rx) = mpsc::sync_channel::<Vec<u8>>(items);
        let (spent_tx, spent_rx) = mpsc::channel::<Vec<u8>>();
        let sink = &mut sink;
        let writing = scope.spawn(move || write_buffers(sink, &out_rx, &spent_tx));
        let pipes = Pipes {
            done: done_rx,
            free: free_tx,
            out: out_tx,
            spent: spent_rx,
        };
        let consumed = collect_items(&plan, pipes, rejects_file.as_mut(), &mut totals, &args);
        let written = writing
            .join()
            .map_err(|_| anyhow::Error::new(Failure::failed("the writer thread panicked")))?;
        let read = reading
            .join()
            .map_err(|_| anyhow::Error::new(Failure::failed("the reader thread panicked")))?;
        // The collector's error comes first: the others only stop because it did.
        // A write error comes next: the collector then stops quietly.
        consumed?;
        written.fail_with(|| write_failure(&args.output))?;
        read
    })?;
    bar.finish_and_clear();
    let input = reader.finish()?;
    if input.rows == 0 {
        tracing::warn!(input = %spec.source.name(), "the input has a header but no data rows");
    }

    // Every file is sealed first (the manifest records their hashes) and all are
    // committed together at the end, so a failure on one (a manifest folder that
    // does not exist) never leaves a token file without its manifest.
    let (written, sealed_output) = sink.seal()?;
    let sealed_rejects = rejects_file.map(AtomicFile::seal).transpose()?;
    let rejects_written = sealed_rejects.as_ref().map(|s| s.info().clone());

    // The reject-rate check: the worst column against the limit.
    let (worst_column, worst_rate) = columns
        .ids
        .iter()
        .zip(&totals.counts)
        .map(|(c, n)| (c.name.clone(), n.reject_rate()))
        .fold(
            (None, 0.0f64),
            |(wc, wr), (c, r)| if r > wr { (Some(c), r) } else { (wc, wr) },
        );
    let rate_check = args.max_reject_rate.map(|max_rate| RateCheck {
        max_rate,
        worst_rate,
        worst_column: worst_column.clone(),
        passed: worst_rate <= max_rate,
    });

    let input_path = match &spec.source {
        InputSource::Stdin => PathBuf::from("-"),
        InputSource::File(path) => path.clone(),
    };
    let elapsed = started.elapsed();
    let sealed_manifest = match (manifest_file, current_info) {
        (Some(mut file), Some(key_info)) => {
            let manifest = TokenizeManifest {
                format: manifest::FORMAT,
                version: manifest::VERSION,
                command: "tokenize",
                tool: manifest::Tool::current(),
                profile: manifest::ProfileInfo {
                    name: profile.name(),
                    digest: profile.digest().to_hex(),
                },
                token: manifest::TokenInfo {
                    format: token::TOKEN_PREFIX,
                    mac_bytes: args.token_bytes,
                },
                key: key_info,
                previous_key: previous_info,
                input: FileInfo::new(&input_path, input.sha256.clone(), input.bytes),
                output: FileInfo::new(&written.path, written.sha256.clone(), written.bytes),
                rejects_file: rejects_written
                    .as_ref()
                    .map(|w| FileInfo::new(&w.path, w.sha256.clone(), w.bytes)),
                columns: column_infos(&columns, &totals, previous.is_some(), &coded),
                kept_columns: columns.keep.iter().map(|c| c.name.clone()).collect(),
                dropped_columns: dropped,
                rejected_cells: REJECTED_CELLS,
                rows: RowCounts {
                    read: input.rows,
                    written: input.rows,
                    with_rejects: totals.rows_with_rejects,
                },
                rejects: totals.by_reason(),
                reject_rate_check: rate_check.clone(),
                started_at,
                finished_at: now_rfc3339(Precision::Full),
                elapsed_seconds: elapsed.as_secs_f64(),
            };
            let json = manifest.to_json()?;
            let path = file.path().to_path_buf();
            file.write_all(&json).fail_with(|| write_failure(&path))?;
            Some(file.seal()?)
        }
        _ => None,
    };
    let manifest_written = sealed_manifest.as_ref().map(|s| s.info().clone());
    commit_all(
        sealed_output
            .into_iter()
            .chain(sealed_rejects)
            .chain(sealed_manifest)
            .collect(),
    )?;

    if !crate::logging::quiet() {
        print_summary(
            &columns,
            &totals,
            input.rows,
            &spec.source.name(),
            &written,
            manifest_written.as_ref(),
            rejects_written.as_ref(),
            elapsed,
            args.passthrough,
        );
    }
    tracing::info!(
        rows = input.rows,
        rejected = totals.tally.total(),
        seconds = elapsed.as_secs_f64(),
        "tokenize: done"
    );

    if let Some(check) = rate_check.filter(|c| !c.passed) {
        let column = check.worst_column.unwrap_or_default();
        return Err(Failure::check_failed(format!(
            "column '{column}': {:.2}% of non-empty cells rejected, above --max-reject-rate {:.2}%",
            check.worst_rate * 100.0,
            check.max_rate * 100.0
        ))
        .hint(match &args.rejects {
            Some(path) => format!(
                "the rejected rows are listed in '{}'; the output was written",
                path.display()
            ),
            None => "rerun with --rejects FILE to list the rejected rows; the output was written"
                .to_owned(),
        })
        .into());
    }
    Ok(ExitStatus::Success)
}

/// Counts over the whole run, merged from the chunks.
struct Totals {
    counts: Vec<ColumnCounts>,
    tally: RejectTally,
    rows_with_rejects: u64,
    registries: Vec<ShortCodeRegistry>,
}

impl Totals {
    fn new(columns: usize) -> Self {
        Totals {
            counts: vec![ColumnCounts::default(); columns],
            tally: RejectTally::new(columns),
            rows_with_rejects: 0,
            registries: (0..columns).map(|_| ShortCodeRegistry::new()).collect(),
        }
    }

    fn by_reason(&self) -> BTreeMap<&'static str, u64> {
        let mut out = BTreeMap::new();
        for column in 0..self.counts.len() {
            for (reason, n) in self.tally.by_reason(column) {
                *out.entry(reason.code()).or_default() += n;
            }
        }
        out
    }
}

/// The reader thread: fills items (at most `items` of them, reused) until the
/// input ends or the collector stops.
fn read_items(
    mut reader: CsvReader,
    items: usize,
    jobs: &mpsc::Sender<Item>,
    free: &mpsc::Receiver<Item>,
    bar: &indicatif::ProgressBar,
) -> anyhow::Result<CsvReader> {
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
        item.len = 0;
        let mut more = true;
        while item.len < ITEM_ROWS {
            if item.records.len() == item.len {
                item.records.push(Record::default());
            }
            let Some(record) = item.records.get_mut(item.len) else {
                break;
            };
            if !reader.read(record)? {
                more = false;
                break;
            }
            item.len += 1;
        }
        bar.set_position(reader.bytes_read());
        if item.len > 0 && jobs.send(item).is_err() {
            break;
        }
        if !more {
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
        process_chunk(
            plan,
            item.records.get(..item.len).unwrap_or_default(),
            &mut item.out,
        );
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
    args: &Args,
) -> anyhow::Result<()> {
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
                let failure =
                    blindmatch_data::dataset::utf8_failure(plan.source, line, name, index);
                return Err(failure.into());
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
                    reject_line.clear();
                    let column = plan.columns.ids.get(r.column);
                    let name = column.map(|c| c.name.as_str()).unwrap_or("");
                    let id_type = column.map(|c| c.id_type.as_str()).unwrap_or("");
                    let _ = write!(reject_line, "{},{},", r.row, r.line);
                    write_field(&mut reject_line, name, b',');
                    let _ = writeln!(reject_line, ",{id_type},{}", r.reason.code());
                    file.write_all(&reject_line)
                        .fail_with(|| write_failure(file.path()))?;
                }
            }
            for (row, column, code) in out.codes.drain(..) {
                let registry = totals.registries.get_mut(column);
                if let Some(registry) = registry {
                    registry.insert(&code, row).fail_with(|| {
                        let name = plan
                            .columns
                            .ids
                            .get(column)
                            .map(|c| c.name.as_str())
                            .unwrap_or("");
                        Failure::failed(format!("column '{name}': short codes collide")).hint(
                            format!(
                                "use longer codes, e.g. --short-code-len {}; no output was written",
                                (args.short_code_len + 2).min(ShortCoder::MAX_LEN)
                            ),
                        )
                    })?;
                }
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

/// Normalises and tokenises one chunk of records into `out`, a group of rows at a
/// time.
fn process_chunk(plan: &Plan<'_>, records: &[Record], out: &mut ChunkOut) {
    let Some(current) = plan.current else {
        copy_chunk(plan, records, out);
        return;
    };
    for group in records.chunks(GROUP_ROWS) {
        normalise_group(plan, group, out);
        let ChunkOut {
            values,
            slots,
            macs,
            previous_macs,
            ..
        } = &mut *out;
        let inputs = || {
            slots.iter().filter_map(|slot| match *slot {
                Slot::Value {
                    id_type,
                    start,
                    end,
                } => Some((
                    id_type,
                    values.as_bytes().get(start..end).unwrap_or_default(),
                )),
                Slot::Unreadable | Slot::Blank => None,
            })
        };
        macs.clear();
        current.macs(inputs(), macs);
        if let Some(previous) = plan.previous {
            previous_macs.clear();
            previous.macs(inputs(), previous_macs);
        }
        write_group(plan, current, group, out);
    }
}

/// The first pass over a group: checks, normalises and counts every identifier
/// cell; each becomes a [`Slot`], in the order [`write_group`] visits them.
fn normalise_group(plan: &Plan<'_>, records: &[Record], out: &mut ChunkOut) {
    out.values.clear();
    out.slots.clear();
    for record in records {
        let mut rejected_here = false;
        for &(position, n) in &plan.id_order {
            let Some(id) = plan.columns.ids.get(n) else {
                continue;
            };
            // Each used cell is checked for UTF-8 exactly once: identifier cells
            // here, kept cells in `write_group`.
            let Some(cell) = record.try_text(id.index) else {
                out.note_utf8_error(record.line(), position, OutputColumn::Id(n));
                out.slots.push(Slot::Unreadable);
                continue;
            };
            let start = out.values.len();
            let outcome = normalize_cell_append(plan.profile, id.id_type, cell, &mut out.values);
            if let Some(counts) = out.counts.get_mut(n) {
                counts.add(outcome);
            }
            let slot = match outcome {
                Cell::Value => Slot::Value {
                    id_type: id.id_type,
                    start,
                    end: out.values.len(),
                },
                Cell::Empty => Slot::Blank,
                Cell::Rejected(reason) => {
                    rejected_here = true;
                    out.tally.add(n, reason);
                    out.rejects.push(RejectRow {
                        row: record.row(),
                        line: record.line(),
                        column: n,
                        reason,
                    });
                    Slot::Blank
                }
            };
            out.slots.push(slot);
        }
        out.rows_with_rejects += u64::from(rejected_here);
    }
}

/// The second pass over a group: writes its rows, tokens from the MACs computed
/// for the group's values.
fn write_group(plan: &Plan<'_>, current: &Tokenizer, records: &[Record], out: &mut ChunkOut) {
    let delimiter = plan.delimiter;
    let mut slots = 0;
    let mut values = 0;
    for record in records {
        let line_start = out.text.len();
        for (position, &column) in plan.columns.output_order.iter().enumerate() {
            if position > 0 {
                out.text.push(delimiter);
            }
            let n = match column {
                OutputColumn::Keep(n) => {
                    let index = plan.columns.keep.get(n).map(|c| c.index);
                    match index.and_then(|i| record.try_text(i)) {
                        Some(cell) => write_field(&mut out.text, cell, delimiter),
                        None => out.note_utf8_error(record.line(), position, column),
                    }
                    continue;
                }
                OutputColumn::Id(n) => n,
            };
            let slot = out.slots.get(slots).copied().unwrap_or(Slot::Unreadable);
            slots += 1;
            let coded = plan.coded.get(n).copied().unwrap_or(false);
            match slot {
                Slot::Unreadable => {}
                Slot::Blank => {
                    // The companion columns stay empty too.
                    if plan.previous.is_some() {
                        out.text.push(delimiter);
                    }
                    if coded {
                        out.text.push(delimiter);
                    }
                }
                Slot::Value {
                    id_type,
                    start,
                    end,
                } => {
                    if let Some(mac) = out.macs.get(values) {
                        current.write_mac_text(mac, &mut out.text);
                    }
                    if let Some(previous) = plan.previous {
                        out.text.push(delimiter);
                        if let Some(mac) = out.previous_macs.get(values) {
                            previous.write_mac_text(mac, &mut out.text);
                        }
                    }
                    values += 1;
                    if let (true, Some(coder)) = (coded, plan.coder) {
                        let value = out.values.as_bytes().get(start..end).unwrap_or_default();
                        let code = coder.derive(id_type, value);
                        out.text.push(delimiter);
                        out.text.extend_from_slice(code.code().as_str().as_bytes());
                        out.codes.push((record.row(), n, code));
                    }
                }
            }
        }
        end_line(&mut out.text, line_start);
    }
}

/// The passthrough baseline: the used cells copied unchanged, with the same
/// checks (UTF-8, quoting) and counts as a tokenised run.
fn copy_chunk(plan: &Plan<'_>, records: &[Record], out: &mut ChunkOut) {
    let delimiter = plan.delimiter;
    for record in records {
        let line_start = out.text.len();
        for (position, &column) in plan.columns.output_order.iter().enumerate() {
            if position > 0 {
                out.text.push(delimiter);
            }
            let index = match column {
                OutputColumn::Keep(n) => plan.columns.keep.get(n).map(|c| c.index),
                OutputColumn::Id(n) => plan.columns.ids.get(n).map(|c| c.index),
            };
            let Some(cell) = index.and_then(|i| record.try_text(i)) else {
                out.note_utf8_error(record.line(), position, column);
                continue;
            };
            write_field(&mut out.text, cell, delimiter);
            if let OutputColumn::Id(n) = column
                && let Some(counts) = out.counts.get_mut(n)
            {
                counts.add(if cell.is_empty() {
                    Cell::Empty
                } else {
                    Cell::Value
                });
            }
        }
        end_line(&mut out.text, line_start);
    }
}

/// Ends a row that started at `line_start`.
fn end_line(text: &mut Vec<u8>, line_start: usize) {
    if text.len() == line_start {
        // A one-column row with an empty cell: a blank line would be skipped by
        // CSV readers and shift every later row, so write an explicit "".
        text.extend_from_slice(b"\"\"");
    }
    text.push(b'\n');
}

/// Writes one CSV field, quoted only when it must be.
fn write_field(out: &mut Vec<u8>, field: &str, delimiter: u8) {
    let bytes = field.as_bytes();
    if bytes
        .iter()
        .any(|&b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
    {
        out.push(b'"');
        for (i, part) in bytes.split(|&b| b == b'"').enumerate() {
            if i > 0 {
                out.extend_from_slice(b"\"\"");
            }
            out.extend_from_slice(part);
        }
        out.push(b'"');
    } else {
        out.extend_from_slice(bytes);
    }
}

/// The output header: kept and identifier columns in input order, each identifier
/// column followed by its `_prev` and `_code` companions.
fn output_header(columns: &Columns, previous: bool, coded: &[bool]) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for column in &columns.output_order {
        match *column {
            OutputColumn::Keep(n) => names.extend(columns.keep.get(n).map(|c| c.name.clone())),
            OutputColumn::Id(n) => {
                let Some(id) = columns.ids.get(n) else {
                    continue;
                };
                names.push(id.name.clone());
                if previous {
                    names.push(format!("{}_prev", id.name));
                }
                if coded.get(n).copied().unwrap_or(false) {
                    names.push(format!("{}_code", id.name));
                }
            }
        }
    }
    let mut seen = HashSet::new();
    for name in &names {
        if !seen.insert(name.as_str()) {
            return Err(Failure::bad_input(format!("output column '{name}' would appear twice"))
                .hint("an input column has the name of a generated column (NAME_prev, NAME_code); rename it or leave it out of --keep")
                .into());
        }
    }
    Ok(names)
}

fn column_infos(
    columns: &Columns,
    totals: &Totals,
    previous: bool,
    coded: &[bool],
) -> Vec<ColumnInfo> {
    columns
        .ids
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let counts = totals.counts.get(n).copied().unwrap_or_default();
            ColumnInfo {
                input: c.name.clone(),
                id_type: c.id_type.as_str().to_owned(),
                output: c.name.clone(),
                previous_output: previous.then(|| format!("{}_prev", c.name)),
                short_code_output: coded
                    .get(n)
                    .copied()
                    .unwrap_or(false)
                    .then(|| format!("{}_code", c.name)),
                tokens: counts.values,
                empty: counts.empty,
                rejected: counts.rejected,
                rejects: totals
                    .tally
                    .by_reason(n)
                    .map(|(r, k)| (r.code(), k))
                    .collect(),
            }
        })
        .collect()
}

/// The short-code coder a key file gives, with `len` data characters.
fn short_coder(file: &KeyFile, len: usize) -> anyhow::Result<ShortCoder> {
    // A token key already keys the tokens; deriving the code key from it as well
    // would give one key two jobs. A master key derives both, each with its label.
    if file.purpose() != KeyPurpose::Master {
        return Err(Failure::bad_input(format!(
            "--short-code needs a master key, and --key is a {} key",
            file.purpose()
        ))
        .hint("a key serves one purpose: give the master key (its token and short-code keys are derived from it)")
        .into());
    }
    ShortCoder::new(file.key(), len).fail_with(|| {
        Failure::bad_input(format!("--short-code-len {len}")).hint(format!(
            "use {} to {} characters",
            ShortCoder::MIN_LEN,
            ShortCoder::MAX_LEN
        ))
    })
}

/// Checks that a key file may make tokens and builds its tokeniser from the file's
/// token key: a master key's HKDF-derived token key, never the master bytes, which
/// are the input of every derivation (see `KeyFile::token_key`).
fn tokenizer_for(
    file: &KeyFile,
    path: &Path,
    role: &str,
    token_bytes: usize,
) -> anyhow::Result<(Tokenizer, KeyInfo)> {
    // The only error is a purpose that never makes tokens; the message says so.
    let token_key = file.token_key().map_err(|_| {
        anyhow::Error::new(
            Failure::bad_input(format!(
                "{role}: key file '{}' is a {} key, not a token key",
                path.display(),
                file.purpose()
            ))
            .hint("a key serves one purpose: use a master or token key (`blindmatch key derive --purpose token`)"),
        )
    })?;
    let tokenizer = Tokenizer::with_len(&token_key, token_bytes).fail_with(|| {
        Failure::bad_input(format!("--token-bytes {token_bytes}")).hint(format!(
            "use {} to {} bytes",
            token::MIN_LEN,
            token::FULL_LEN
        ))
    })?;
    let info = KeyInfo {
        id: token_key.id().to_string(),
        purpose: file.purpose().to_string(),
        master_id: (file.purpose() == KeyPurpose::Master).then(|| file.key_id().to_string()),
        file: path.display().to_string(),
    };
    Ok((tokenizer, info))
}

/// Refuses outputs that exist (unless --force), collide with each other, or are
/// the input.
fn check_paths(
    input: &InputSource,
    output: &OutputTarget,
    manifest: Option<&Path>,
    rejects: Option<&Path>,
    force: bool,
) -> anyhow::Result<()> {
    let mut outputs: Vec<(&str, &Path)> = Vec::new();
    if let OutputTarget::File(path) = output {
        outputs.push(("-o", path));
    }
    outputs.extend(manifest.map(|p| ("--manifest", p)));
    outputs.extend(rejects.map(|p| ("--rejects", p)));
    for (i, (option, path)) in outputs.iter().enumerate() {
        if path.as_os_str() == "-" && *option != "-o" {
            return Err(
                Failure::bad_input(format!("{option} cannot be standard output"))
                    .hint(format!("give {option} a file name"))
                    .into(),
            );
        }
        if let Some((other, _)) = outputs.iter().take(i).find(|(_, p)| p == path) {
            return Err(Failure::bad_input(format!(
                "{option} and {other} name the same file '{}'",
                path.display()
            ))
            .hint("give each output its own file name")
            .into());
        }
        if let InputSource::File(input) = input {
            let same = input == *path
                || matches!(
                    (std::fs::canonicalize(input), std::fs::canonicalize(path)),
                    (Ok(a), Ok(b)) if a == b
                );
            if same {
                return Err(Failure::bad_input(format!(
                    "{option} '{}' is the input file",
                    path.display()
                ))
                .hint("write the output to a new file")
                .into());
            }
        }
        ensure_absent(path, force)?;
    }
    Ok(())
}

/// Standard output without std's line buffering: output goes out in large blocks
/// already, and `LineWriter` would scan every block for its last newline.
fn raw_stdout() -> Box<dyn Write + Send> {
    #[cfg(unix)]
    {
        use std::os::fd::AsFd;
        if let Ok(fd) = io::stdout().as_fd().try_clone_to_owned() {
            return Box::new(std::fs::File::from(fd));
        }
    }
    Box::new(io::stdout())
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn write_failure(path: &Path) -> Failure {
    Failure::failed(format!("cannot write '{}'", path.display()))
        .hint("check the free space and permissions of the output folder")
}

#[allow(clippy::too_many_arguments)]
fn print_summary(
    columns: &Columns,
    totals: &Totals,
    rows: u64,
    input: &str,
    written: &WrittenFile,
    manifest: Option<&WrittenFile>,
    rejects: Option<&WrittenFile>,
    elapsed: std::time::Duration,
    passthrough: bool,
) {
    let seconds = elapsed.as_secs_f64();
    let rate = if seconds > 0.0 {
        rows as f64 / seconds
    } else {
        0.0
    };
    let output = if written.path.as_os_str() == "-" {
        "standard output".to_owned()
    } else {
        format!("'{}'", written.path.display())
    };
    let verb = if passthrough {
        "copied (passthrough)"
    } else {
        "tokenized"
    };
    eprintln!(
        "{verb} {} rows from '{input}' into {output} in {seconds:.2} s ({} rows/s)",
        group(rows),
        group(rate as u64)
    );
    for (n, column) in columns.ids.iter().enumerate() {
        let counts = totals.counts.get(n).copied().unwrap_or_default();
        let mut reasons: Vec<String> = totals
            .tally
            .by_reason(n)
            .map(|(r, k)| format!("{} {}", r.code(), group(k)))
            .collect();
        let detail = if reasons.is_empty() {
            String::new()
        } else {
            reasons.sort();
            format!(" ({})", reasons.join(", "))
        };
        eprintln!(
            "  {} ({}): {} tokens, {} empty, {} rejected{detail}",
            column.name,
            column.id_type,
            group(counts.values),
            group(counts.empty),
            group(counts.rejected)
        );
    }
    if totals.tally.total() > 0 {
        eprintln!(
            "  rejected cells are written empty; rows with a rejected cell: {}",
            group(totals.rows_with_rejects)
        );
    }
    if let Some(m) = manifest {
        eprintln!("manifest: '{}'", m.path.display());
    }
    if let Some(r) = rejects {
        eprintln!("rejects: '{}'", r.path.display());
    }
}

/// 1234567 → "1,234,567".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `tokenize` arguments as the command line gives them.
    fn args(list: &[&str]) -> Args {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: Args,
        }
        let line = std::iter::once("tokenize").chain(list.iter().copied());
        <Cli as clap::Parser>::try_parse_from(line).unwrap().args
    }

    fn key_in(dir: &Path) -> String {
        let path = dir.join("test.key");
        KeyFile::generate(KeyPurpose::Master)
            .unwrap()
            .write_new(&path)
            .unwrap();
        path.display().to_string()
    }

    #[test]
    fn passthrough_rewrites_the_used_columns_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let output = dir.path().join("out.csv");
        std::fs::write(
            &input,
            "id,drop,phone\n1,x,138 1234 5678\n\"2,b\",y,\n3,z,\"say \"\"hi\"\"\"\n",
        )
        .unwrap();
        let (i, o) = (input.display().to_string(), output.display().to_string());
        let list = ["--passthrough", "--input", &i, "--column", "phone:phone"];
        let status = run(args(&[&list[..], &["--keep", "id", "-o", &o]].concat())).unwrap();
        assert!(matches!(status, ExitStatus::Success));
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "id,phone\n1,138 1234 5678\n\"2,b\",\n3,\"say \"\"hi\"\"\"\n"
        );
        // No manifest: the baseline writes none.
        assert!(!dir.path().join("out.csv.manifest.json").exists());
    }

    #[test]
    fn a_late_bad_cell_stops_every_thread_and_the_first_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_in(dir.path());
        let input = dir.path().join("in.csv");
        let mut csv = b"id,phone\n".to_vec();
        for row in 1..=20_000u32 {
            match row {
                // Both cells of row 15,000 are bad; the kept column comes first.
                15_000 => csv.extend_from_slice(b"\xff,\xfe\n"),
                15_001 => csv.extend_from_slice(b"15001,\xfe\n"),
                _ => {
                    csv.extend_from_slice(format!("{row},1381234{:04}\n", row % 10_000).as_bytes())
                }
            }
        }
        std::fs::write(&input, csv).unwrap();
        let output = dir.path().join("out.csv");
        let (i, o) = (input.display().to_string(), output.display().to_string());
        for threads in ["1", "4"] {
            let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
            let tail = ["--keep", "id", "--threads", threads, "-o", &o];
            let err = run(args(&[&list[..], &tail].concat())).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("'{i}' line 15001, column 'id': not valid UTF-8"),
                "{threads} threads"
            );
            let mut left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            left.sort();
            assert_eq!(left, ["in.csv", "test.key"], "{threads} threads");
        }
    }

    /// The exit status a failed run maps to.
    fn status_of(err: &anyhow::Error) -> Option<ExitStatus> {
        crate::error::failure_of(err).map(|f| ExitStatus::of(f.category()))
    }

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_manifest_that_cannot_be_written_leaves_no_token_or_rejects_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_in(dir.path());
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "id,phone\n1,13812345678\n2,123\n").unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let (i, o, r) = (path("in.csv"), path("out.csv"), path("rejects.csv"));
        // The manifest's folder does not exist, or is a file (root ignores
        // permissions, so those cannot make it fail): the run stops before any
        // work and the token and rejects files, already begun, are gone.
        for manifest in [path("no/such/dir/m.json"), path("in.csv/m.json")] {
            let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
            let tail = ["-o", &o, "--rejects", &r, "--manifest", &manifest];
            let err = run(args(&[&list[..], &tail].concat())).unwrap_err();
            assert!(
                format!("{err:#}").starts_with("cannot create output file in"),
                "{err:#}"
            );
            assert!(status_of(&err).is_some_and(|s| s != ExitStatus::Success));
            assert_eq!(names_in(dir.path()), ["in.csv", "test.key"], "{manifest}");
        }
        // It is found before the input is read: a ragged row further on is
        // never reached.
        std::fs::write(&input, "id,phone\n1,13812345678\n2,123,extra\n").unwrap();
        let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
        let tail = ["-o", &o, "--manifest", &path("no/such/dir/m.json")];
        let err = run(args(&[&list[..], &tail].concat())).unwrap_err();
        assert!(
            format!("{err:#}").starts_with("cannot create output file in"),
            "{err:#}"
        );
        assert_eq!(status_of(&err), Some(ExitStatus::BadInput));
        std::fs::write(&input, "id,phone\n1,13812345678\n2,123\n").unwrap();
        // With a manifest that can be written, all three appear.
        let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
        let tail = ["-o", &o, "--rejects", &r, "--manifest", &path("m.json")];
        run(args(&[&list[..], &tail].concat())).unwrap();
        assert_eq!(
            names_in(dir.path()),
            ["in.csv", "m.json", "out.csv", "rejects.csv", "test.key"]
        );
    }

    #[test]
    fn a_short_code_collision_stops_the_run_without_naming_a_value() {
        use blindmatch_token::{Derivation, Key};
        let dir = tempfile::tempdir().unwrap();
        // A fixed key, so the search below finds the same pair every time.
        let key = dir.path().join("test.key");
        let created = time::OffsetDateTime::now_utc();
        KeyFile::new(
            Key::from_bytes([7; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            created,
        )
        .write_new(&key)
        .unwrap();
        // Two different values with one 8-character code (40 bits), found by a
        // birthday search over about a million values with the coder the command
        // builds from that key file.
        let coder = short_coder(&KeyFile::read(&key).unwrap(), ShortCoder::MIN_LEN).unwrap();
        let profile = Profile::standard();
        let mut seen: std::collections::HashMap<[u8; 8], u32> = Default::default();
        let mut value = String::new();
        let value_of = |i: u32| format!("c{i:08}");
        let (a, b) = (0u32..)
            .find_map(|i| {
                value.clear();
                let cell = normalize_cell_append(&profile, IdType::Raw, &value_of(i), &mut value);
                assert_eq!(cell, Cell::Value);
                let code = coder.code(IdType::Raw, value.as_bytes());
                let data: [u8; 8] = code.as_str().as_bytes().get(..8)?.try_into().ok()?;
                seen.insert(data, i)
                    .map(|first| (value_of(first), value_of(i)))
            })
            .unwrap();
        assert_ne!(a, b);
        let input = dir.path().join("in.csv");
        std::fs::write(&input, format!("id,note\n{a},x\nc-other,y\n{b},z\n")).unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let (i, o, r) = (path("in.csv"), path("out.csv"), path("rejects.csv"));
        let k = key.display().to_string();
        for threads in ["1", "2"] {
            let list = [
                "--key", &k, "--input", &i, "--column", "id:raw", "--keep", "note",
            ];
            let codes = ["--short-code", "id", "--short-code-len", "8"];
            let tail = ["--threads", threads, "-o", &o, "--rejects", &r];
            let err = run(args(&[&list[..], &codes, &tail].concat())).unwrap_err();
            let message = format!("{err:#}");
            assert!(
                message.starts_with("column 'id': short codes collide"),
                "{message}"
            );
            assert!(!message.contains(&a) && !message.contains(&b), "{message}");
            assert_eq!(status_of(&err), Some(ExitStatus::Failed));
            assert_eq!(names_in(dir.path()), ["in.csv", "test.key"], "{threads}");
        }
    }

    #[test]
    fn fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        write_field(&mut out, "plain", b',');
        out.push(b'|');
        write_field(&mut out, "a,b", b',');
        out.push(b'|');
        write_field(&mut out, "say \"hi\"", b',');
        out.push(b'|');
        write_field(&mut out, "a;b", b';');
        out.push(b'|');
        write_field(&mut out, "two\nlines", b',');
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "plain|\"a,b\"|\"say \"\"hi\"\"\"|\"a;b\"|\"two\nlines\""
        );
    }

    #[test]
    fn numbers_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
    }

    #[test]
    fn manifest_sits_beside_the_output() {
        assert_eq!(
            with_suffix(Path::new("out/tokens.csv"), ".manifest.json"),
            PathBuf::from("out/tokens.csv.manifest.json")
        );
    }
}

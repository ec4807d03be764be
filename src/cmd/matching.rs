//! `blindmatch match` (the module is `matching`: `match` is a keyword): one party of a
//! PSI session with a partner over mutually authenticated TLS.
//!
//! The command runs in three steps, which `blindmatch demo` reuses for two parties in
//! one process:
//! 1. [`prepare`]: read the CSV, normalise the identifier column (rejects are counted
//!    and never sent), build the de-duplicated set;
//! 2. [`Endpoint::run`]: listen or connect, handshake, PSI (`blindmatch-net`);
//! 3. [`finish`]: write the matched rows of *our* input (kept columns + `match_id`)
//!    atomically with mode 0600 when this side learns rows, and the receipt always.
//!
//! Nothing is written before the session succeeded, so a refused, failed or killed
//! session leaves no output behind. Nothing derived from a cell value reaches a log
//! line, an event, the summary or the receipt; the output file holds only our own
//! kept columns, row numbers and match IDs.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindmatch_data::Category;
use blindmatch_data::dataset::{
    Cell, ColumnCounts, Columns, CsvReader, IdColumn, InputSource, InputSpec, InputSummary,
    OutputColumn, REJECTS_HEADER, Record, RejectTally, normalize_cell, parse_rate,
    write_reject_line,
};
use blindmatch_data::meta::{Precision, now_rfc3339};
use blindmatch_data::output::{
    AtomicFile, SealedFile, WrittenFile, check_outputs, commit_all, seal_atomic, with_suffix,
};
use blindmatch_data::text::{group, write_field};
use blindmatch_net::{
    AbortCode, Event, EventSink, Fingerprint, Identity, Learner, Listener, Match, MatchResult,
    Mode, NetError, PeerAuth, Policy, PreparedSet, Reveal, Role, SessionOptions, SessionParams,
    SessionReport, Stage, TlsSettings, Transport,
};
use blindmatch_pipeline::identity::identity_stem;
use blindmatch_pipeline::receipt::{self, Receipt};
use blindmatch_psi::{EcdhSetup, ProtocolSetup};
use blindmatch_token::{IdType, Profile, Rejection};
use clap::{Args as ClapArgs, ValueEnum};
use indicatif::{MultiProgress, ProgressBar};

use crate::args::{InputArgs, ProfileArgs};
use crate::error::{ExitStatus, FailWith, Failure};
use crate::progress;

/// Default `--min-peer-set`: a partner declaring fewer distinct identifiers is
/// refused, against probing for single customers with tiny sets.
pub(crate) const DEFAULT_MIN_PEER_SET: u64 = 100;
/// Output column with the 1-based data row of our input.
const ROW_COLUMN: &str = "row";
/// Output column with the shared match ID.
const MATCH_ID_COLUMN: &str = "match_id";
/// Longest the handshake may take, whatever `--read-timeout` says.
const MAX_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// Find the customers you share with a partner, without either side seeing the
/// other's identifiers (ECDH private set intersection over mutually authenticated
/// TLS 1.3).
///
/// One side listens, the other connects; both name the same identifier type,
/// mode and reveal setting, and pin each other's certificate fingerprint (from
/// `blindmatch identity new/show`). Each side that learns rows gets the rows of
/// its own input that matched (row number, --keep columns, match_id: equal on
/// both sides for the same customer), written atomically with mode 0600. Both
/// sides always get a JSON receipt (docs/receipt-format.md). Identifiers the
/// normaliser rejects are counted and never sent.
///
/// Example (two organisations):
///
///   acme$  blindmatch match --listen 0.0.0.0:7000 --identity acme \
///              --peer-fingerprint sha256:9f2c… --input customers.csv \
///              --column phone:phone --keep customer_id -o matched.csv
///   bank$  blindmatch match --connect acme.example:7000 --identity bank \
///              --peer-fingerprint sha256:41ab… --input clients.csv \
///              --column mobile:phone --keep client_no -o matched.csv
#[derive(Debug, ClapArgs)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("endpoint").required(true).args(["listen", "connect"])))]
pub(crate) struct Args {
    #[command(flatten)]
    input: InputArgs,

    #[command(flatten)]
    profile: ProfileArgs,

    /// Wait for the partner on this address, e.g. 0.0.0.0:7000 (port 0 picks a
    /// free port). Prints `listening on ADDR` on stderr once bound.
    #[arg(long, value_name = "ADDR")]
    listen: Option<String>,

    /// Connect to the partner at HOST:PORT (retried until --wait-timeout while the
    /// partner is not listening yet).
    #[arg(long, value_name = "ADDR")]
    connect: Option<String>,

    /// Our identity: NAME.key and NAME.crt from `blindmatch identity new -o NAME`.
    #[arg(long, value_name = "NAME")]
    identity: Option<PathBuf>,

    /// The partner's certificate fingerprint (`sha256:…`, as printed by its
    /// `blindmatch identity show`): exactly this certificate is accepted.
    #[arg(long, value_name = "FINGERPRINT", conflicts_with = "peer_ca")]
    peer_fingerprint: Option<String>,

    /// Instead of a fingerprint: accept a partner certificate issued by a CA in
    /// this PEM file.
    #[arg(long, value_name = "FILE")]
    peer_ca: Option<PathBuf>,

    /// With --peer-ca: the name the listener's certificate must carry [default:
    /// the host of --connect].
    #[arg(long, value_name = "NAME", requires = "peer_ca")]
    peer_name: Option<String>,

    /// Run without TLS: no encryption, no authentication. For tests and
    /// benchmarks on one machine only; never for real data.
    #[arg(long, conflicts_with_all = ["identity", "peer_fingerprint", "peer_ca"])]
    insecure_plaintext_for_testing: bool,

    /// `intersection`: learners get their matched rows; `cardinality`: learners
    /// get only the number of shared customers. Both sides must agree.
    #[arg(long, value_enum, default_value_t = ModeArg::Intersection)]
    mode: ModeArg,

    /// Who learns the result: `me`, `peer` or `both`. `--reveal me` on one side
    /// goes with `--reveal peer` on the other.
    #[arg(long, value_enum, default_value_t = RevealArg::Both)]
    reveal: RevealArg,

    /// Refuse a partner declaring fewer distinct identifiers than this (against
    /// probing for single customers with a tiny set); 0 accepts any size.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MIN_PEER_SET)]
    min_peer_set: u64,

    /// Matched rows of our input (row, --keep columns, match_id). Required when
    /// this side learns rows; written atomically, mode 0600.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,

    /// Session receipt [default: OUTPUT.receipt.json, or
    /// blindmatch-receipt-SESSION_ID.json without -o].
    #[arg(long, value_name = "FILE")]
    receipt: Option<PathBuf>,

    /// Also write one line per rejected cell: row, line, column, type and reason
    /// code; never the value.
    #[arg(long, value_name = "FILE")]
    rejects: Option<PathBuf>,

    /// Stop before connecting when more than this share of the non-empty cells is
    /// rejected (exit code 3): a fraction (0.01) or a percentage (1%).
    #[arg(long, value_name = "RATE", value_parser = parse_rate)]
    max_reject_rate: Option<f64>,

    /// Print machine-readable progress on stdout: one JSON object per line.
    #[arg(long, value_enum, value_name = "FORMAT")]
    events: Option<EventsFormat>,

    /// Replace existing output, receipt and rejects files.
    #[arg(long)]
    force: bool,

    /// How long to wait for the partner: the listener for a connection that passes
    /// TLS and the handshake, the connector for the listener to come up. E.g. 90s,
    /// 10m.
    #[arg(long, value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    wait_timeout: Duration,

    /// Longest wait for any single read or write once connected (the TLS and
    /// handshake phase uses at most 30 s of it).
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = parse_duration)]
    read_timeout: Duration,

    /// Items per network frame; the session uses the smaller of the two sides'.
    #[arg(long, value_name = "N", default_value_t = blindmatch_psi::DEFAULT_BATCH_SIZE)]
    batch_size: u32,

    /// Worker threads for the cryptography [default: one per core].
    #[arg(long, value_name = "N")]
    threads: Option<usize>,
}

/// `--mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ModeArg {
    /// Learners get their matched rows.
    Intersection,
    /// Learners get only the count.
    Cardinality,
}

/// `--reveal`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum RevealArg {
    /// Only this side learns.
    Me,
    /// Only the partner learns.
    Peer,
    /// Both sides learn.
    Both,
}

/// `--events`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum EventsFormat {
    /// One JSON object per line on stdout.
    Json,
}

impl From<ModeArg> for Mode {
    fn from(m: ModeArg) -> Mode {
        match m {
            ModeArg::Intersection => Mode::Intersection,
            ModeArg::Cardinality => Mode::Cardinality,
        }
    }
}

impl From<RevealArg> for Learner {
    fn from(r: RevealArg) -> Learner {
        match r {
            RevealArg::Me => Learner::Me,
            RevealArg::Peer => Learner::Peer,
            RevealArg::Both => Learner::Both,
        }
    }
}

/// Parses `90`, `90s`, `500ms`, `5m` or `1h`.
///
/// # Errors
/// Anything else, or zero.
pub(crate) fn parse_duration(arg: &str) -> Result<Duration, String> {
    let s = arg.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{arg}' is not a duration; use e.g. 30s, 500ms, 5m or 1h"))?;
    let d = match unit {
        "" | "s" => Duration::from_secs(n),
        "ms" => Duration::from_millis(n),
        "m" | "min" => Duration::from_secs(n.saturating_mul(60)),
        "h" => Duration::from_secs(n.saturating_mul(3600)),
        _ => return Err(format!("'{arg}': unknown unit '{unit}'; use ms, s, m or h")),
    };
    if d.is_zero() {
        return Err(format!("'{arg}' must be longer than zero"));
    }
    Ok(d)
}

/// Where this side meets the partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Address {
    /// `--listen ADDR`.
    Listen(String),
    /// `--connect ADDR`.
    Connect(String),
}

impl Address {
    /// The protocol role: the connecting side initiates.
    pub(crate) fn role(&self) -> Role {
        match self {
            Address::Listen(_) => Role::Responder,
            Address::Connect(_) => Role::Initiator,
        }
    }

    fn network_role(&self) -> &'static str {
        match self {
            Address::Listen(_) => "listener",
            Address::Connect(_) => "connector",
        }
    }
}

/// Everything one party needs, validated.
#[derive(Debug, Clone)]
pub(crate) struct PartyConfig {
    /// Input file, the one identifier column and kept columns.
    pub(crate) input: InputSpec,
    /// Normalisation profile.
    pub(crate) profile: Profile,
    /// Listen or connect.
    pub(crate) address: Address,
    /// TLS settings, or the insecure plaintext transport.
    pub(crate) transport: Transport,
    /// Intersection or cardinality.
    pub(crate) mode: Mode,
    /// Who learns, from this side's point of view.
    pub(crate) learner: Learner,
    /// Smallest peer set accepted.
    pub(crate) min_peer_set: u64,
    /// Preferred batch size.
    pub(crate) batch_size: u32,
    /// Listener's wait for the partner; connector's retry window.
    pub(crate) wait_timeout: Duration,
    /// Longest single read or write.
    pub(crate) read_timeout: Duration,
    /// Matched rows file (written only when this side learns rows).
    pub(crate) output: Option<PathBuf>,
    /// Receipt path; `None` picks the default once the session ID is known.
    pub(crate) receipt: Option<PathBuf>,
    /// Rejects file.
    pub(crate) rejects: Option<PathBuf>,
    /// `--max-reject-rate`.
    pub(crate) max_reject_rate: Option<f64>,
    /// Replace existing files.
    pub(crate) force: bool,
}

impl PartyConfig {
    /// Our protocol role.
    pub(crate) fn role(&self) -> Role {
        self.address.role()
    }

    /// Who learns, in absolute terms.
    pub(crate) fn reveal(&self) -> Reveal {
        self.learner.to_reveal(self.role())
    }

    /// Whether this side learns anything.
    pub(crate) fn learns(&self) -> bool {
        self.reveal().learns(self.role())
    }

    /// Whether this side learns which of its rows matched (and so writes -o).
    pub(crate) fn learns_rows(&self) -> bool {
        self.mode == Mode::Intersection && self.learns()
    }

    /// The one identifier column's type.
    fn id_type(&self) -> IdType {
        self.input
            .columns
            .first()
            .map_or(IdType::Raw, |c| c.id_type)
    }

    /// The receipt path known before the session: `--receipt`, or beside `-o`.
    fn receipt_before_session(&self) -> Option<PathBuf> {
        self.receipt.clone().or_else(|| {
            self.output
                .as_deref()
                .map(|o| with_suffix(o, ".receipt.json"))
        })
    }

    /// The session parameters for the handshake.
    fn session_params(&self) -> SessionParams {
        let (name, digest) = profile_for_type(&self.profile, self.id_type());
        let mut params = SessionParams::new(
            self.mode,
            self.reveal(),
            vec![self.id_type().as_str().to_owned()],
            format!("{name};sha256={digest}"),
        );
        params.batch_size = self.batch_size;
        params.policy = Policy {
            min_peer_set: self.min_peer_set,
            ..Policy::default()
        };
        // A newer partner's identifier type is then refused by name as unsupported.
        params.supported_id_types = IdType::ALL.iter().map(|t| t.as_str().to_owned()).collect();
        params
    }

    /// Session tunables with `events` as the sink.
    fn session_options(&self, events: Option<EventSink>) -> SessionOptions {
        SessionOptions {
            io_timeout: self.read_timeout,
            handshake_timeout: self.read_timeout.min(MAX_HANDSHAKE_TIMEOUT),
            events,
            ..SessionOptions::default()
        }
    }

    /// Refuses outputs that exist (unless --force), collide or are the input; and a
    /// learner without -o. Runs before any work.
    ///
    /// # Errors
    /// Bad input (exit 2).
    pub(crate) fn check_outputs(&self) -> anyhow::Result<()> {
        if self.learns_rows() && self.output.is_none() {
            return Err(Failure::bad_input(
                "-o FILE is required: this side learns which of its rows matched",
            )
            .hint("add e.g. -o matched.csv, or use --reveal peer if only the partner should learn")
            .into());
        }
        let receipt = self.receipt_before_session();
        let mut outputs: Vec<(&str, &Path)> = Vec::new();
        if self.learns_rows() {
            outputs.extend(self.output.as_deref().map(|p| ("-o", p)));
        }
        outputs.extend(receipt.as_deref().map(|p| ("--receipt", p)));
        outputs.extend(self.rejects.as_deref().map(|p| ("--rejects", p)));
        check_outputs(&self.input.source, &outputs, self.force)?;
        for name in &self.input.keep {
            if name == ROW_COLUMN || name == MATCH_ID_COLUMN {
                return Err(Failure::bad_input(format!(
                    "--keep '{name}' clashes with the output column of that name"
                ))
                .hint(format!(
                    "the matched-rows file has its own '{ROW_COLUMN}' and '{MATCH_ID_COLUMN}' columns; rename the input column"
                ))
                .into());
            }
        }
        Ok(())
    }
}

/// The profile as the handshake compares it: the name restricted to options that
/// matter for `id_type`, and the per-type digest. Partners matching phones need not
/// agree on e-mail rules.
pub(crate) fn profile_for_type(profile: &Profile, id_type: IdType) -> (String, String) {
    let projected = match id_type {
        IdType::Phone => {
            Profile::standard().with_phone_default_region(profile.phone_default_region())
        }
        IdType::Email => {
            Profile::standard().with_email_provider_rules(profile.email_provider_rules())
        }
        _ => Profile::standard(),
    };
    (projected.name(), profile.type_digest(id_type).to_hex())
}

impl Args {
    /// The validated configuration.
    ///
    /// # Errors
    /// Bad input (exit 2): column specs, identity files, fingerprints, CA files,
    /// contradictory options.
    fn validate(&self) -> anyhow::Result<PartyConfig> {
        let input = self.input.validate()?;
        if input.columns.len() != 1 {
            return Err(Failure::bad_input(format!(
                "match takes exactly one --column NAME:TYPE, {} given",
                input.columns.len()
            ))
            .hint("one identifier column per session; run one session per identifier type")
            .into());
        }
        let address = match (&self.listen, &self.connect) {
            (Some(a), None) => Address::Listen(a.clone()),
            (None, Some(a)) => Address::Connect(a.clone()),
            _ => {
                return Err(Failure::bad_input("give exactly one of --listen and --connect")
                    .hint("one side listens (--listen 0.0.0.0:7000), the other connects (--connect HOST:7000)")
                    .into());
            }
        };
        if self.batch_size == 0 || self.batch_size > blindmatch_psi::MAX_BATCH_SIZE {
            return Err(Failure::bad_input(format!(
                "--batch-size {} is outside 1 to {}",
                self.batch_size,
                blindmatch_psi::MAX_BATCH_SIZE
            ))
            .into());
        }
        let transport = if self.insecure_plaintext_for_testing {
            Transport::InsecurePlaintextForTesting
        } else {
            load_transport(
                self.identity.as_deref(),
                self.peer_fingerprint.as_deref(),
                self.peer_ca.as_deref(),
                self.peer_name.clone(),
            )?
        };
        Ok(PartyConfig {
            input,
            profile: self.profile.profile(),
            address,
            transport,
            mode: self.mode.into(),
            learner: self.reveal.into(),
            min_peer_set: self.min_peer_set,
            batch_size: self.batch_size,
            wait_timeout: self.wait_timeout,
            read_timeout: self.read_timeout,
            output: self.output.clone(),
            receipt: self.receipt.clone(),
            rejects: self.rejects.clone(),
            max_reject_rate: self.max_reject_rate,
            force: self.force,
        })
    }
}

/// Loads our identity and how we check the partner.
///
/// # Errors
/// Bad input (exit 2) with a hint naming the fix.
pub(crate) fn load_transport(
    identity: Option<&Path>,
    peer_fingerprint: Option<&str>,
    peer_ca: Option<&Path>,
    peer_name: Option<String>,
) -> anyhow::Result<Transport> {
    let Some(identity) = identity else {
        return Err(Failure::bad_input("--identity NAME is required for TLS")
            .hint("create one with `blindmatch identity new -o NAME` and send the partner its fingerprint")
            .into());
    };
    let stem = identity_stem(identity);
    let identity = Identity::load(&stem).fail_with(|| {
        Failure::bad_input(format!("cannot load identity '{}'", stem.display())).hint(format!(
            "expected {0}.key and {0}.crt from `blindmatch identity new -o {0}`",
            stem.display()
        ))
    })?;
    let peer = match (peer_fingerprint, peer_ca) {
        (Some(fp), None) => PeerAuth::Fingerprint(Fingerprint::from_str(fp).fail_with(|| {
            Failure::bad_input(format!("--peer-fingerprint '{fp}' is not a certificate fingerprint"))
                .hint("copy it from the partner's `blindmatch identity show NAME`: sha256: followed by 64 hex digits")
        })?),
        (None, Some(ca)) => PeerAuth::ca_file(ca, peer_name).fail_with(|| {
            Failure::bad_input(format!("cannot use --peer-ca '{}'", ca.display()))
                .hint("give a PEM file with the CA certificate(s) that issued the partner's certificate")
        })?,
        _ => {
            return Err(Failure::bad_input(
                "name the partner: --peer-fingerprint FINGERPRINT or --peer-ca FILE",
            )
            .hint("the partner prints its fingerprint with `blindmatch identity show NAME`")
            .into());
        }
    };
    if let PeerAuth::Fingerprint(fp) = &peer
        && fp.ct_eq(&identity.fingerprint())
    {
        tracing::warn!("--peer-fingerprint is our own certificate's fingerprint");
    }
    Ok(Transport::Tls(TlsSettings {
        identity: Arc::new(identity),
        peer,
    }))
}

// ---------------------------------------------------------------------------
// Step 1: the input.

/// One party's input, read and normalised.
pub(crate) struct Prepared {
    /// The de-duplicated set for the PSI.
    pub(crate) set: PreparedSet,
    /// Hash, size and row count of the input.
    pub(crate) summary: InputSummary,
    /// The identifier column.
    pub(crate) column: IdColumn,
    /// Kept columns in input order: (name, record index).
    pub(crate) keep: Vec<(String, usize)>,
    /// Cell counts of the identifier column.
    pub(crate) counts: ColumnCounts,
    /// Rejected cells by reason.
    pub(crate) tally: RejectTally,
    /// Rejected cells: (row, line, reason), for --rejects.
    rejected: Vec<(u64, u64, Rejection)>,
    /// Kept fields per row, when the input cannot be read twice (stdin).
    kept: Option<KeptRows>,
    /// Time spent reading and normalising.
    pub(crate) elapsed: Duration,
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("set", &self.set)
            .field("rows", &self.summary.rows)
            .field("counts", &self.counts)
            .finish_non_exhaustive()
    }
}

/// Kept columns of every row, CSV-encoded, for inputs read only once.
#[derive(Default)]
struct KeptRows {
    bytes: Vec<u8>,
    /// End offset of row n (1-based) at index n-1.
    ends: Vec<usize>,
}

impl KeptRows {
    fn push(&mut self, record: &Record, keep: &[(String, usize)], delimiter: u8) {
        for (i, (_, index)) in keep.iter().enumerate() {
            if i > 0 {
                self.bytes.push(delimiter);
            }
            write_field(
                &mut self.bytes,
                record.get(*index).unwrap_or_default(),
                delimiter,
            );
        }
        self.ends.push(self.bytes.len());
    }

    fn row(&self, row: u64) -> &[u8] {
        let Some(i) = usize::try_from(row).ok().and_then(|r| r.checked_sub(1)) else {
            return &[];
        };
        let end = self.ends.get(i).copied().unwrap_or(0);
        let start = match i {
            0 => 0,
            _ => self.ends.get(i - 1).copied().unwrap_or(end),
        };
        self.bytes.get(start..end).unwrap_or_default()
    }
}

/// Reads and normalises the input into the set the session will use.
///
/// # Errors
/// Bad input (exit 2): unreadable or malformed CSV, missing columns, no usable
/// identifier, too many distinct values. A failed --max-reject-rate check (exit 3).
pub(crate) fn prepare(cfg: &PartyConfig, show_progress: bool) -> anyhow::Result<Prepared> {
    let started = Instant::now();
    let mut reader = CsvReader::open(&cfg.input.source, cfg.input.delimiter)?;
    let columns = Columns::resolve(
        reader.header(),
        &cfg.input.columns,
        &cfg.input.keep,
        reader.name(),
    )?;
    reader.check_text_columns(columns.used_indices());
    let Some(column) = columns.ids.first().cloned() else {
        return Err(Failure::bad_input("no identifier column given").into());
    };
    let keep: Vec<(String, usize)> = columns
        .output_order
        .iter()
        .filter_map(|c| match c {
            OutputColumn::Keep(n) => columns.keep.get(*n).map(|k| (k.name.clone(), k.index)),
            OutputColumn::Id(_) => None,
        })
        .collect();
    let mut kept =
        (cfg.learns_rows() && cfg.input.source == InputSource::Stdin).then(KeptRows::default);
    let type_name = column.id_type.as_str();
    tracing::info!(
        input = %reader.name(),
        column = %column.name,
        id_type = type_name,
        profile = %cfg.profile.name(),
        "match: reading the input"
    );

    let bar = if show_progress {
        progress::bytes(reader.size(), "reading")
    } else {
        ProgressBar::hidden()
    };
    let mut set = PreparedSet::new();
    let mut counts = ColumnCounts::default();
    let mut tally = RejectTally::new(1);
    let mut rejected = Vec::new();
    let mut record = Record::default();
    let mut normalised = String::new();
    while reader.read(&mut record)? {
        let cell = normalize_cell(
            &cfg.profile,
            column.id_type,
            record.text(column.index),
            &mut normalised,
        );
        counts.add(cell);
        match cell {
            Cell::Value => {
                set.push(type_name, normalised.as_bytes(), record.row())
                    .fail_with(|| {
                        Failure::bad_input(format!(
                            "'{}' line {}: cannot add the identifier to the set",
                            reader.name(),
                            record.line()
                        ))
                        .hint("split the input: a session holds at most 2^32 - 1 distinct identifiers")
                    })?;
            }
            Cell::Rejected(reason) => {
                tally.add(0, reason);
                if cfg.rejects.is_some() {
                    rejected.push((record.row(), record.line(), reason));
                }
            }
            Cell::Empty => {}
        }
        if let Some(kept) = kept.as_mut() {
            kept.push(&record, &keep, cfg.input.delimiter);
        }
        if record.row() % 4096 == 0 {
            bar.set_position(reader.bytes_read());
        }
    }
    bar.finish_and_clear();
    normalised.clear();
    let summary = reader.finish()?;
    let prepared = Prepared {
        set,
        summary,
        column,
        keep,
        counts,
        tally,
        rejected,
        kept,
        elapsed: started.elapsed(),
    };
    tracing::info!(
        rows = prepared.summary.rows,
        values = counts.values,
        empty = counts.empty,
        rejected = counts.rejected,
        distinct = prepared.set.declared_size(),
        "match: input ready"
    );

    if let Some(max) = cfg.max_reject_rate {
        let rate = counts.reject_rate();
        if rate > max {
            let rejects = match write_rejects(cfg, &prepared)? {
                Some(sealed) => Some(sealed.commit()?),
                None => None,
            };
            return Err(Failure::check_failed(format!(
                "column '{}': {:.2}% of non-empty cells rejected, above --max-reject-rate {:.2}%; nothing was sent",
                prepared.column.name,
                rate * 100.0,
                max * 100.0
            ))
            .hint(match rejects {
                Some(w) => format!("the rejected rows are listed in '{}'", w.path.display()),
                None => "rerun with --rejects FILE to list the rejected rows".to_owned(),
            })
            .into());
        }
    }
    if prepared.set.is_empty() {
        return Err(Failure::bad_input(format!(
            "'{}' has no usable value in column '{}' ({} rows, {} empty, {} rejected)",
            cfg.input.source.name(),
            prepared.column.name,
            prepared.summary.rows,
            counts.empty,
            counts.rejected
        ))
        .hint(format!(
            "check the column and its type; `blindmatch normalize --input FILE --column {}:{}` shows what the normaliser makes of it",
            prepared.column.name, prepared.column.id_type
        ))
        .into());
    }
    Ok(prepared)
}

/// Writes the --rejects file, if asked for.
fn write_rejects(cfg: &PartyConfig, prepared: &Prepared) -> anyhow::Result<Option<SealedFile>> {
    let Some(path) = &cfg.rejects else {
        return Ok(None);
    };
    let mut out = Vec::with_capacity(32 + prepared.rejected.len() * 32);
    out.extend_from_slice(REJECTS_HEADER);
    for (row, line, reason) in &prepared.rejected {
        let column = &prepared.column;
        write_reject_line(&mut out, *row, *line, &column.name, column.id_type, *reason);
    }
    Ok(Some(seal_atomic(path, &out, cfg.force, false)?))
}

// ---------------------------------------------------------------------------
// Step 2: the session.

/// A bound listener or the partner's address.
#[derive(Debug)]
pub(crate) enum Endpoint {
    /// Waiting for the partner.
    Listening(Listener),
    /// Connecting to the partner.
    Connecting(String),
}

impl Endpoint {
    /// Binds the listening address, or just remembers where to connect.
    ///
    /// # Errors
    /// The address cannot be bound (exit 2).
    pub(crate) async fn open(cfg: &PartyConfig) -> anyhow::Result<Endpoint> {
        match &cfg.address {
            Address::Listen(addr) => {
                let listener = Listener::bind(addr, cfg.transport.clone())
                    .await
                    .fail_with(|| {
                        Failure::bad_input(format!("cannot listen on '{addr}'"))
                            .hint("use a free local address and port, e.g. 0.0.0.0:7000 (port 0 picks a free one)")
                    })?;
                Ok(Endpoint::Listening(listener))
            }
            Address::Connect(addr) => Ok(Endpoint::Connecting(addr.clone())),
        }
    }

    /// The bound address, when listening.
    pub(crate) fn local_addr(&self) -> Option<SocketAddr> {
        match self {
            Endpoint::Listening(l) => Some(l.local_addr()),
            Endpoint::Connecting(_) => None,
        }
    }

    /// Runs the session: waits for (or connects to) the partner, handshake, PSI.
    ///
    /// # Errors
    /// As [`blindmatch_net::Listener::run_session`] and [`blindmatch_net::connect`].
    pub(crate) async fn run(
        &self,
        cfg: &PartyConfig,
        set: PreparedSet,
        events: Option<EventSink>,
    ) -> Result<SessionReport, NetError> {
        let params = cfg.session_params();
        let options = cfg.session_options(events);
        match self {
            Endpoint::Listening(listener) => {
                listener
                    .run_session(&params, ecdh(set), &options, cfg.wait_timeout)
                    .await
            }
            Endpoint::Connecting(addr) => {
                blindmatch_net::connect(
                    addr,
                    &cfg.transport,
                    &params,
                    ecdh(set),
                    &options,
                    cfg.wait_timeout,
                )
                .await
            }
        }
    }
}

/// Turns a session error into a one-line failure with a hint and the exit code:
/// 3 for refusals (ours or the partner's), 2 for our own bad settings, 1 otherwise.
pub(crate) fn session_failure(error: NetError, cfg: &PartyConfig) -> anyhow::Error {
    let status = if error.is_refusal() {
        Category::CheckFailed
    } else if error.is_bad_input() {
        Category::BadInput
    } else {
        Category::Failed
    };
    let partner = match &cfg.address {
        Address::Connect(a) => format!("the partner at {a}"),
        Address::Listen(_) => "the partner".to_owned(),
    };
    let (message, hint) = match &error {
        NetError::PeerAborted { code, reason } => (
            format!("the partner aborted the session, saying: \"{reason}\" [{code}]"),
            abort_hint(*code),
        ),
        _ if error.is_refusal() => (
            format!("session refused: {error}"),
            refusal_hint(&error, &partner),
        ),
        _ => (
            format!("session failed: {}", full_text(&error)),
            failure_hint(&error, cfg, &partner),
        ),
    };
    let mut failure = Failure::new(status, message);
    if let Some(hint) = hint {
        failure = failure.hint(hint);
    }
    failure.into()
}

/// An error and its causes on one line, `a: b: c`.
pub(crate) fn full_text(error: &(dyn std::error::Error + 'static)) -> String {
    let mut out = error.to_string();
    let mut next = error.source();
    while let Some(e) = next {
        out.push_str(": ");
        out.push_str(&e.to_string());
        next = e.source();
    }
    out
}

fn refusal_hint(error: &NetError, partner: &str) -> Option<String> {
    Some(match error {
        NetError::PeerFingerprintMismatch { .. } => format!(
            "{partner} is not the certificate you pinned: compare --peer-fingerprint with the partner's `blindmatch identity show NAME`"
        ),
        NetError::PeerCertificateUntrusted { .. } => {
            "check --peer-ca (and --peer-name) against the partner's certificate".to_owned()
        }
        NetError::PeerRefusedTls { .. } => {
            "the partner does not accept our certificate: send it our fingerprint (`blindmatch identity show NAME`) for its --peer-fingerprint".to_owned()
        }
        NetError::ModeMismatch { .. } | NetError::ModeNotAllowed { .. } => {
            "agree with the partner on --mode".to_owned()
        }
        NetError::RevealMismatch { .. } => {
            "agree on who learns: --reveal me on one side goes with --reveal peer on the other, or both use --reveal both".to_owned()
        }
        NetError::IdTypeMismatch { .. } => {
            "both sides must match on the same identifier type (--column NAME:TYPE)".to_owned()
        }
        NetError::ProfileMismatch { .. } => {
            "both sides must normalise alike: the same --profile, --phone-region and --email-rules, and compatible blindmatch versions".to_owned()
        }
        NetError::PeerSetTooSmall { .. } => {
            "the partner's input has fewer distinct identifiers than our --min-peer-set; lower it only if such a small partner set is expected".to_owned()
        }
        NetError::VersionMismatch { .. }
        | NetError::SizeLimit { .. }
        | NetError::Unsupported { .. }
        | NetError::ProtocolParamsMismatch { .. } => {
            "both sides need compatible blindmatch versions; upgrade the older side".to_owned()
        }
        NetError::RoleConflict { .. } => {
            "one side must --listen and the other --connect".to_owned()
        }
        _ => return None,
    })
}

fn abort_hint(code: AbortCode) -> Option<String> {
    Some(
        match code {
            AbortCode::ModeMismatch | AbortCode::ModeNotAllowed => {
                "agree with the partner on --mode"
            }
            AbortCode::RevealMismatch => {
                "agree on who learns: --reveal me on one side goes with --reveal peer on the other, or both use --reveal both"
            }
            AbortCode::IdTypeMismatch => {
                "both sides must match on the same identifier type (--column NAME:TYPE)"
            }
            AbortCode::ProfileMismatch => {
                "both sides must normalise alike: the same --profile, --phone-region and --email-rules"
            }
            AbortCode::PeerSetTooSmall => {
                "our input has fewer distinct identifiers than the partner's --min-peer-set; it must lower it, or we must bring more rows"
            }
            AbortCode::VersionMismatch | AbortCode::SizeLimit | AbortCode::Unsupported => {
                "both sides need compatible blindmatch versions; upgrade the older side"
            }
            AbortCode::RoleConflict => "one side must --listen and the other --connect",
            AbortCode::Timeout => {
                "the partner timed out waiting for us; check the network and --read-timeout on both sides"
            }
            _ => "see the partner's output for details",
        }
        .to_owned(),
    )
}

fn failure_hint(error: &NetError, cfg: &PartyConfig, partner: &str) -> Option<String> {
    Some(match error {
        NetError::WaitTimeout { .. } => {
            "start the partner with `blindmatch match --connect ADDR …` (check that it pins our fingerprint), or raise --wait-timeout".to_owned()
        }
        NetError::Io { .. } if matches!(cfg.address, Address::Connect(_)) => format!(
            "check that {partner} is listening (`blindmatch match --listen …`) and reachable, or raise --wait-timeout"
        ),
        NetError::Timeout { .. } => format!(
            "{partner} stopped responding: check that it is running and the network, or raise --read-timeout"
        ),
        NetError::PeerDisconnected { .. } | NetError::Stream { .. } => format!(
            "{partner} closed the connection: see its output; nothing was written here"
        ),
        NetError::Tls { .. } => {
            "is the partner running blindmatch with TLS (not --insecure-plaintext-for-testing)?".to_owned()
        }
        NetError::Frame { .. }
        | NetError::UnexpectedFrame { .. }
        | NetError::Psi { .. }
        | NetError::ContextMismatch
        | NetError::TranscriptMismatch { .. } => {
            "the partner sent data that breaks the protocol: it may run an incompatible or faulty version".to_owned()
        }
        _ => return None,
    })
}

/// The ECDH protocol over our set: the one protocol `match` runs today.
fn ecdh(set: PreparedSet) -> Box<dyn ProtocolSetup> {
    Box::new(EcdhSetup::new(set))
}

// ---------------------------------------------------------------------------
// Progress and events.

/// Receives the session's events: prints JSON lines, drives the progress bars and
/// notes when phases end (for the receipt's timings).
pub(crate) struct Observer {
    json: bool,
    bars: Option<(MultiProgress, Mutex<BTreeMap<&'static str, ProgressBar>>)>,
}

impl Observer {
    /// An observer printing JSON lines (`json`) and/or drawing bars (`bars`).
    pub(crate) fn new(json: bool, bars: bool) -> Arc<Self> {
        Arc::new(Observer {
            json,
            bars: (bars && progress::enabled())
                .then(|| (MultiProgress::new(), Mutex::new(BTreeMap::new()))),
        })
    }

    /// The sink to hand to the session.
    pub(crate) fn sink(self: &Arc<Self>) -> EventSink {
        let me = Arc::clone(self);
        Arc::new(move |event: &Event| me.on_event(event))
    }

    /// Prints one of our own events (not the session's) as a JSON line.
    pub(crate) fn emit(&self, value: &serde_json::Value) {
        if self.json {
            print_json_line(value);
        }
    }

    fn on_event(&self, event: &Event) {
        if self.json
            && let Ok(value) = serde_json::to_value(event)
        {
            print_json_line(&value);
        }
        if let Some((multi, bars)) = &self.bars {
            match event {
                Event::Progress { stage, done, total } => {
                    let name = stage_name(*stage);
                    if let Ok(mut bars) = bars.lock() {
                        let bar = bars.entry(name).or_insert_with(|| {
                            let bar = multi.add(progress::bar(Some(*total), "items"));
                            bar.set_prefix(name);
                            bar
                        });
                        bar.set_length(*total);
                        bar.set_position(*done);
                    }
                }
                Event::Finished { .. } => self.clear_bars(),
                _ => {}
            }
        }
    }

    /// Removes the bars (at the end, or before an error is printed).
    pub(crate) fn clear_bars(&self) {
        if let Some((multi, bars)) = &self.bars {
            if let Ok(mut bars) = bars.lock() {
                for bar in bars.values() {
                    bar.finish_and_clear();
                }
                bars.clear();
            }
            let _ = multi.clear();
        }
    }
}

fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Hashed => "hashed",
        Stage::Sent => "sent",
        Stage::Received => "received",
        Stage::Answered => "answered",
        Stage::Compared => "compared",
    }
}

fn print_json_line(value: &serde_json::Value) {
    let mut line = value.to_string();
    line.push('\n');
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

// ---------------------------------------------------------------------------
// Step 3: outputs.

/// What a finished party wrote and learned.
#[derive(Debug)]
pub(crate) struct Finished {
    /// The session report.
    pub(crate) report: SessionReport,
    /// The matched-rows file, if written.
    pub(crate) output: Option<WrittenFile>,
    /// The receipt.
    pub(crate) receipt: WrittenFile,
    /// The rejects file, if asked for.
    pub(crate) rejects: Option<WrittenFile>,
    /// Our rows that matched (intersection learners).
    pub(crate) matched_rows: Option<u64>,
}

/// Timestamps of the run, for the receipt.
#[derive(Debug, Clone)]
pub(crate) struct RunClock {
    /// When the command started.
    pub(crate) started: Instant,
    /// The same, as RFC 3339.
    pub(crate) started_at: String,
}

impl RunClock {
    /// Now.
    pub(crate) fn start() -> Self {
        RunClock {
            started: Instant::now(),
            started_at: now_rfc3339(Precision::Seconds),
        }
    }
}

/// Writes the matched rows (when this side learned rows), the receipt and the
/// rejects file.
///
/// # Errors
/// Writing failed, or the input changed between the two reads (exit 1); an output
/// appeared meanwhile (exit 2). A failed matched-rows file leaves nothing behind.
pub(crate) fn finish(
    cfg: &PartyConfig,
    prepared: &Prepared,
    report: SessionReport,
    clock: &RunClock,
) -> anyhow::Result<Finished> {
    // Every file is sealed first and committed together at the end, so matches
    // never appear without their receipt (or the other way round).
    let (output, matched_rows) = match (&report.outcome.result, &cfg.output) {
        (MatchResult::Intersection { matches, .. }, Some(path)) => {
            let sealed = write_matches(cfg, prepared, path, matches)?;
            (Some(sealed), Some(matches.len() as u64))
        }
        (MatchResult::Intersection { matches, .. }, None) => {
            // check_outputs refuses this before any work; keep the count regardless.
            (None, Some(matches.len() as u64))
        }
        _ => (None, None),
    };
    let receipt_path = cfg
        .receipt_before_session()
        .unwrap_or_else(|| PathBuf::from(format!("blindmatch-receipt-{}.json", report.session_id)));
    let receipt = build_receipt(
        cfg,
        prepared,
        &report,
        output.as_ref().map(SealedFile::info),
        matched_rows,
        clock,
    );
    let receipt = seal_atomic(&receipt_path, &receipt.to_json()?, cfg.force, false)?;
    let rejects = write_rejects(cfg, prepared)?;

    let has_output = output.is_some();
    let has_rejects = rejects.is_some();
    let mut written =
        commit_all(output.into_iter().chain(rejects).chain([receipt]).collect())?.into_iter();
    let output = if has_output { written.next() } else { None };
    let rejects = if has_rejects { written.next() } else { None };
    let receipt = written
        .next()
        .ok_or_else(|| Failure::failed("the receipt was not written"))?;
    Ok(Finished {
        report,
        output,
        receipt,
        rejects,
        matched_rows,
    })
}

fn write_matches(
    cfg: &PartyConfig,
    prepared: &Prepared,
    path: &Path,
    matches: &[Match],
) -> anyhow::Result<SealedFile> {
    let delimiter = cfg.input.delimiter;
    let mut sorted;
    let matches = if matches.is_sorted() {
        matches
    } else {
        sorted = matches.to_vec();
        sorted.sort_unstable();
        &sorted[..]
    };
    let mut file = AtomicFile::create(path, cfg.force, true)?;
    let write_error = || {
        Failure::failed(format!("cannot write '{}'", path.display()))
            .hint("check the free space and permissions of the output folder")
    };
    let mut line = Vec::with_capacity(256);
    line.extend_from_slice(ROW_COLUMN.as_bytes());
    for (name, _) in &prepared.keep {
        line.push(delimiter);
        write_field(&mut line, name.as_bytes(), delimiter);
    }
    line.push(delimiter);
    line.extend_from_slice(MATCH_ID_COLUMN.as_bytes());
    line.push(b'\n');
    file.write_all(&line).fail_with(write_error)?;

    let mut emit = |file: &mut AtomicFile, m: &Match, kept: &[u8]| -> anyhow::Result<()> {
        line.clear();
        line.extend_from_slice(m.row.to_string().as_bytes());
        if !prepared.keep.is_empty() {
            line.push(delimiter);
            line.extend_from_slice(kept);
        }
        line.push(delimiter);
        line.extend_from_slice(m.match_id.to_string().as_bytes());
        line.push(b'\n');
        file.write_all(&line).fail_with(write_error)
    };

    match &prepared.kept {
        Some(kept) => {
            for m in matches {
                emit(&mut file, m, kept.row(m.row))?;
            }
        }
        None => {
            // Read the file again for the kept columns of matched rows only, so memory
            // does not grow with the kept data; the hash proves it is the same input.
            let mut reader = CsvReader::open(&cfg.input.source, delimiter)?;
            reader.check_text_columns(prepared.keep.iter().map(|(_, i)| *i).collect());
            let mut record = Record::default();
            let mut fields = Vec::with_capacity(128);
            let mut next = matches.iter().peekable();
            while next.peek().is_some() {
                if !reader.read(&mut record)? {
                    break;
                }
                fields.clear();
                for (i, (_, index)) in prepared.keep.iter().enumerate() {
                    if i > 0 {
                        fields.push(delimiter);
                    }
                    write_field(
                        &mut fields,
                        record.get(*index).unwrap_or_default(),
                        delimiter,
                    );
                }
                while let Some(m) = next.next_if(|m| m.row == record.row()) {
                    emit(&mut file, m, &fields)?;
                }
            }
            let again = reader.finish()?;
            if again.sha256 != prepared.summary.sha256 || next.peek().is_some() {
                return Err(Failure::failed(format!(
                    "input '{}' changed during the session; no output was written",
                    cfg.input.source.name()
                ))
                .hint("keep the input file unchanged until the session ends, then run it again")
                .into());
            }
        }
    }
    Ok(file.seal()?)
}

#[allow(clippy::too_many_arguments)]
fn build_receipt(
    cfg: &PartyConfig,
    prepared: &Prepared,
    report: &SessionReport,
    output: Option<&WrittenFile>,
    matched_rows: Option<u64>,
    clock: &RunClock,
) -> Receipt {
    let (profile_name, profile_digest) = profile_for_type(&cfg.profile, prepared.column.id_type);
    let (matched_values, cardinality) = match &report.outcome.result {
        MatchResult::Intersection { matched, .. } => (Some(*matched), Some(*matched)),
        MatchResult::Cardinality { matched } => (None, Some(*matched)),
        _ => (None, None),
    };
    let mut rejects = BTreeMap::new();
    for (reason, n) in prepared.tally.by_reason(0) {
        *rejects.entry(reason.code()).or_default() += n;
    }
    let t = &report.timings;
    Receipt {
        format: receipt::FORMAT,
        version: receipt::VERSION,
        tool: receipt::Tool::current(),
        protocol_version: report.protocol_version,
        session_id: report.session_id.clone(),
        transcript_hash: report.transcript_hash.clone(),
        started_at: clock.started_at.clone(),
        finished_at: now_rfc3339(Precision::Seconds),
        mode: report.mode,
        reveal: report.reveal,
        id_type: prepared.column.id_type.as_str().to_owned(),
        profile: receipt::ProfileInfo {
            name: profile_name,
            digest: profile_digest,
        },
        batch_size: report.batch_size,
        comparison_bytes: report.comparison_len,
        local: receipt::LocalInfo {
            role: report.role,
            network_role: cfg.address.network_role(),
            fingerprint: report.local_fingerprint,
            declared_size: report.local_set_size,
            input: receipt::InputInfo {
                path: name_for_receipt(&cfg.input.source),
                sha256: prepared.summary.sha256.clone(),
                rows: prepared.summary.rows,
                bytes: prepared.summary.bytes,
                column: prepared.column.name.clone(),
                values: prepared.counts.values,
                empty: prepared.counts.empty,
                rejected: prepared.counts.rejected,
                rejects,
            },
            learns: report.reveal.learns(report.role),
        },
        peer: receipt::PeerInfo {
            role: report.role.peer(),
            fingerprint: report.peer_fingerprint,
            declared_size: report.peer_set_size,
            min_peer_set: cfg.min_peer_set,
            address: report.peer_addr.map(|a| a.to_string()),
            implementation: report.peer_implementation.clone(),
        },
        result: receipt::ResultInfo {
            matched_rows,
            matched_values,
            cardinality,
        },
        output: output.map(|w| receipt::FileInfo::new(&w.path, w.sha256.clone(), w.bytes)),
        traffic: receipt::TrafficInfo {
            bytes_sent: report.traffic.bytes_sent,
            bytes_received: report.traffic.bytes_received,
            frames_sent: report.traffic.frames_sent,
            frames_received: report.traffic.frames_received,
            wire_bytes_sent: report.traffic.wire_bytes_sent,
            wire_bytes_received: report.traffic.wire_bytes_received,
        },
        timings_ms: receipt::TimingsMs {
            handshake: receipt::ms(t.connect + t.handshake),
            hashing: receipt::ms(t.hashing),
            exchange: receipt::ms(t.psi),
            compare: receipt::ms(t.compare),
            total: receipt::ms(clock.started.elapsed()),
            prepare: receipt::ms(prepared.elapsed),
            connect: receipt::ms(t.connect),
            finish: receipt::ms(t.finish),
        },
    }
}

/// The input path as the receipt records it: as given, `-` for stdin.
fn name_for_receipt(source: &InputSource) -> String {
    match source {
        InputSource::Stdin => "-".to_owned(),
        InputSource::File(p) => p.display().to_string(),
    }
}

/// A byte count as B, kB, MB or GB (decimal).
pub(crate) fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    match unit {
        0 => format!("{n} B"),
        _ => format!("{value:.1} {}", UNITS.get(unit).copied().unwrap_or("B")),
    }
}

/// The human summary on stderr.
fn print_summary(cfg: &PartyConfig, prepared: &Prepared, done: &Finished) {
    let r = &done.report;
    let c = &prepared.counts;
    let mut reasons: Vec<String> = prepared
        .tally
        .by_reason(0)
        .map(|(reason, n)| format!("{} {}", reason.code(), group(n)))
        .collect();
    reasons.sort();
    let detail = if reasons.is_empty() {
        String::new()
    } else {
        format!(" ({})", reasons.join(", "))
    };
    eprintln!(
        "read {} rows from '{}': {} {} values, {} empty, {} rejected{detail}; {} distinct",
        group(prepared.summary.rows),
        cfg.input.source.name(),
        group(c.values),
        prepared.column.id_type,
        group(c.empty),
        group(c.rejected),
        group(r.local_set_size),
    );
    let partner = match (&r.peer_fingerprint, &r.peer_addr) {
        (Some(fp), Some(addr)) => format!("{fp} at {addr}"),
        (Some(fp), None) => fp.to_string(),
        (None, Some(addr)) => format!("{addr} (insecure plaintext)"),
        (None, None) => "the partner".to_owned(),
    };
    eprintln!(
        "session {} with {partner}: {} mode, {}; the partner declared {} distinct values",
        r.session_id,
        mode_name(r.mode),
        learners(r.reveal, r.role),
        group(r.peer_set_size),
    );
    match (&r.outcome.result, &done.output) {
        (MatchResult::Intersection { matched, .. }, Some(out)) => eprintln!(
            "matched {} distinct values on {} of our rows → '{}'",
            group(*matched),
            group(done.matched_rows.unwrap_or_default()),
            out.path.display()
        ),
        (MatchResult::Intersection { matched, .. }, None) => eprintln!(
            "matched {} distinct values on {} of our rows",
            group(*matched),
            group(done.matched_rows.unwrap_or_default())
        ),
        (MatchResult::Cardinality { matched }, _) => {
            eprintln!("the two sides share {} distinct values", group(*matched));
        }
        _ => eprintln!("this side does not learn the result (the partner does); no output written"),
    }
    eprintln!(
        "sent {}, received {} in {:.1} s",
        human_bytes(r.traffic.wire_bytes_sent.unwrap_or(r.traffic.bytes_sent)),
        human_bytes(
            r.traffic
                .wire_bytes_received
                .unwrap_or(r.traffic.bytes_received)
        ),
        r.timings.total.as_secs_f64()
    );
    eprintln!(
        "receipt: '{}' (transcript hash {})",
        done.receipt.path.display(),
        r.transcript_hash
    );
    if let Some(rejects) = &done.rejects {
        eprintln!("rejects: '{}'", rejects.path.display());
    }
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Intersection => "intersection",
        Mode::Cardinality => "cardinality",
    }
}

/// Who learns, in words, from `role`'s point of view.
pub(crate) fn learners(reveal: Reveal, role: Role) -> &'static str {
    match (reveal.learns(role), reveal.learns(role.peer())) {
        (true, true) => "both sides learn",
        (true, false) => "only we learn",
        (false, true) => "only the partner learns",
        (false, false) => "nobody learns",
    }
}

/// Runs `blindmatch match`.
///
/// # Errors
/// Bad input (exit 2) before any connection; refusals by either side (exit 3);
/// network and peer failures (exit 1). No output file is left on any failure.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let clock = RunClock::start();
    let cfg = args.validate()?;
    cfg.check_outputs()?;
    if let Some(threads) = args.threads {
        // Fails only if a pool exists already, which cannot happen this early.
        let _ = rayon::ThreadPoolBuilder::new()
            .num_threads(threads.max(1))
            .build_global();
    }
    if matches!(cfg.transport, Transport::InsecurePlaintextForTesting) {
        tracing::warn!(
            "--insecure-plaintext-for-testing: no encryption and no authentication; never use this with real data"
        );
    }
    if cfg.output.is_some() && !cfg.learns_rows() {
        tracing::warn!(
            "this side does not learn rows with this --mode/--reveal; -o will not be written"
        );
    }
    let quiet = crate::logging::quiet();
    let json = args.events == Some(EventsFormat::Json);
    let observer = Observer::new(json, true);

    let prepared = prepare(&cfg, !quiet)?;
    observer.emit(&serde_json::json!({
        "event": "input",
        "rows": prepared.summary.rows,
        "values": prepared.counts.values,
        "empty": prepared.counts.empty,
        "rejected": prepared.counts.rejected,
        "distinct": prepared.set.declared_size(),
    }));

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("blindmatch-net")
        .build()
        .fail_with(|| Failure::failed("cannot start the network runtime"))?;
    let mut prepared = prepared;
    let set = std::mem::take(&mut prepared.set);
    let result = runtime.block_on(async {
        let endpoint = Endpoint::open(&cfg).await?;
        if let Some(addr) = endpoint.local_addr() {
            if !quiet {
                eprintln!("listening on {addr}");
            }
        } else if let Address::Connect(addr) = &cfg.address {
            tracing::info!(%addr, "connecting to the partner");
        }
        endpoint
            .run(&cfg, set, Some(observer.sink()))
            .await
            .map_err(|e| session_failure(e, &cfg))
    });
    observer.clear_bars();
    let report = match result {
        Ok(report) => report,
        Err(error) => {
            observer.emit(&serde_json::json!({
                "event": "failed",
                "error": format!("{error:#}"),
            }));
            return Err(error);
        }
    };
    let done = finish(&cfg, &prepared, report, &clock)?;
    observer.emit(&serde_json::json!({
        "event": "done",
        "session_id": done.report.session_id,
        "transcript_hash": done.report.transcript_hash,
        "matched_rows": done.matched_rows,
        "matched_values": done.report.matched_count,
        "output": done.output.as_ref().map(|w| w.path.display().to_string()),
        "receipt": done.receipt.path.display().to_string(),
    }));
    if !quiet {
        print_summary(&cfg, &prepared, &done);
    }
    tracing::info!(
        session_id = %done.report.session_id,
        matched_rows = ?done.matched_rows,
        seconds = clock.started.elapsed().as_secs_f64(),
        "match: done"
    );
    Ok(ExitStatus::Success)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use blindmatch_token::EmailProviderRules;

    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("-1s").is_err());
    }

    #[test]
    fn numbers_and_bytes_for_people() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1_234_567), "1,234,567");
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1500), "1.5 kB");
        assert_eq!(human_bytes(76_000_000), "76.0 MB");
    }

    #[test]
    fn csv_fields_are_quoted_only_when_needed() {
        let mut out = Vec::new();
        write_field(&mut out, b"plain", b',');
        out.push(b'|');
        write_field(&mut out, b"a,b", b',');
        out.push(b'|');
        write_field(&mut out, b"say \"hi\"", b',');
        out.push(b'|');
        write_field(&mut out, b"a;b", b';');
        assert_eq!(out, b"plain|\"a,b\"|\"say \"\"hi\"\"\"|\"a;b\"");
    }

    #[test]
    fn handshake_profile_ignores_other_types_options() {
        let plain = Profile::standard();
        let gmail = Profile::standard().with_email_provider_rules(EmailProviderRules::Gmail);
        let region = Profile::standard().with_phone_default_region(Some("86".parse().unwrap()));
        // Phone matching does not care about e-mail rules …
        assert_eq!(
            profile_for_type(&plain, IdType::Phone),
            profile_for_type(&gmail, IdType::Phone)
        );
        // … but does about the default phone region, and names it.
        let (name, digest) = profile_for_type(&region, IdType::Phone);
        assert_eq!(name, "bm-std-v1,phone-region=86");
        assert_ne!(digest, profile_for_type(&plain, IdType::Phone).1);
        assert_ne!(
            profile_for_type(&plain, IdType::Email),
            profile_for_type(&gmail, IdType::Email)
        );
    }

    #[test]
    fn kept_rows_by_row_number() {
        let mut kept = KeptRows::default();
        let mut record = Record::default();
        let mut reader = CsvReader::from_reader(
            Box::new(std::io::Cursor::new(
                b"id,phone,x\n1,a,\"p,q\"\n2,b,r\n".to_vec(),
            )),
            "t".into(),
            None,
            b',',
        )
        .unwrap();
        let keep = vec![("id".to_owned(), 0), ("x".to_owned(), 2)];
        while reader.read(&mut record).unwrap() {
            kept.push(&record, &keep, b',');
        }
        assert_eq!(kept.row(1), b"1,\"p,q\"");
        assert_eq!(kept.row(2), b"2,r");
        assert_eq!(kept.row(0), b"");
        assert_eq!(kept.row(3), b"");
    }

    #[test]
    fn learners_in_words() {
        assert_eq!(learners(Reveal::Both, Role::Initiator), "both sides learn");
        assert_eq!(
            learners(Reveal::Initiator, Role::Initiator),
            "only we learn"
        );
        assert_eq!(
            learners(Reveal::Initiator, Role::Responder),
            "only the partner learns"
        );
    }
}

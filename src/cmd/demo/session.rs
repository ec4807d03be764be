//! The two parties of a demo session, shared by both scenarios (one phone column, and
//! `--multi`): both configured as `blindmatch match` would configure them, read in
//! parallel, run as two tasks of this process over TLS 1.3 on 127.0.0.1 (a free port,
//! pinned fingerprints), and finished (output and receipt written) through the same
//! pipeline code as `blindmatch match`, so the demo shows what the product does and
//! not a shortcut of it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use blindmatch_data::dataset::{ColumnSpec, InputSource, InputSpec};
use blindmatch_net::{
    Cancellation, Event, EventSink, Fingerprint, Identity, Learner, Mode, PeerAuth, Stage,
    TlsSettings, Transport,
};
use blindmatch_pipeline::matching::{
    self, Address, Endpoint, Finished, PartyConfig, Prepared, PsiProtocol, RunClock,
};
use blindmatch_token::{Profile, RuleSet};
use indicatif::{MultiProgress, ProgressBar};

use crate::error::{FailWith, Failure};
use crate::progress;

/// What one party reads and writes.
pub(crate) struct PartySpec<'a> {
    /// Its CSV file.
    pub(crate) csv: &'a Path,
    /// Its identifier columns.
    pub(crate) columns: Vec<ColumnSpec>,
    /// Its rules, in priority order.
    pub(crate) rules: RuleSet,
    /// The column copied into its output.
    pub(crate) keep: &'a str,
    /// Its identity.
    pub(crate) me: Identity,
    /// The partner's pinned fingerprint.
    pub(crate) peer: Fingerprint,
    /// File stem of its output and receipt (`bank` → `bank.matched.csv`).
    pub(crate) stem: &'a str,
    /// The PSI protocol (`--protocol`).
    pub(crate) protocol: PsiProtocol,
}

/// A party as `blindmatch match --listen 127.0.0.1:0 … -o DIR/STEM.matched.csv`
/// would configure it (the connecting side's address is set once the listener has
/// its port).
pub(crate) fn party_config(dir: &Path, spec: PartySpec<'_>, min_peer_set: u64) -> PartyConfig {
    PartyConfig {
        input: InputSpec {
            source: InputSource::File(spec.csv.to_path_buf()),
            columns: spec.columns,
            keep: vec![spec.keep.to_owned()],
            delimiter: b',',
            format: None,
        },
        rules: spec.rules,
        labels: None,
        partition: None,
        profile: Profile::standard(),
        address: Address::Listen("127.0.0.1:0".to_owned()),
        transport: Transport::Tls(TlsSettings {
            identity: Arc::new(spec.me),
            peer: PeerAuth::Fingerprint(spec.peer),
        }),
        mode: Mode::Intersection,
        learner: Learner::Both,
        min_peer_set,
        max_peer_set: None,
        batch_size: blindmatch_psi::DEFAULT_BATCH_SIZE,
        wait_timeout: Duration::from_secs(60),
        read_timeout: Duration::from_secs(60),
        output: Some(dir.join(format!("{}.matched.csv", spec.stem))),
        receipt: Some(dir.join(format!("{}.receipt.json", spec.stem))),
        shareable_receipt: None,
        rejects: None,
        max_reject_rate: None,
        force: false,
        protocol: spec.protocol,
    }
}

/// Both parties after the session.
pub(crate) struct Pair {
    /// The listener's input and result.
    pub(crate) bank: (Prepared, Finished),
    /// The connector's input and result.
    pub(crate) insurer: (Prepared, Finished),
    /// Where the listener listened.
    pub(crate) addr: SocketAddr,
    /// The session alone (not reading the input).
    pub(crate) session_time: Duration,
}

/// Reads both inputs in parallel, runs the session between the two parties
/// (`bank_cfg` listens, `insurer_cfg` connects to it) and finishes both.
///
/// # Errors
/// As `blindmatch match`: bad input (exit 2), a failed session (exit 1).
pub(crate) fn run_pair(
    bank_cfg: &PartyConfig,
    insurer_cfg: &mut PartyConfig,
    clock: &RunClock,
) -> anyhow::Result<Pair> {
    bank_cfg.check_outputs()?;
    let (bank_prep, insurer_prep) = std::thread::scope(|s| {
        let b = s.spawn(|| matching::prepare(bank_cfg, &blindmatch_data::Silent));
        let i = matching::prepare(insurer_cfg, &blindmatch_data::Silent);
        let b = b
            .join()
            .unwrap_or_else(|_| Err(Failure::failed("the reader thread panicked")));
        (b, i)
    });
    let (mut bank_prep, mut insurer_prep) = (bank_prep?, insurer_prep?);

    let bars = progress::enabled().then(MultiProgress::new);
    let bank_sink = with_bar(bars.as_ref(), "bank");
    let insurer_sink = with_bar(bars.as_ref(), "insurer");
    let bank_set = matching::protocol_setup(bank_cfg, &mut bank_prep)?;
    let insurer_set = matching::protocol_setup(insurer_cfg, &mut insurer_prep)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .thread_name("blindmatch-net")
        .build()
        .fail_with(|| Failure::failed("cannot start the network runtime"))?;
    let session_started = Instant::now();
    // Both parties run here: on Ctrl-C there is no partner to tell, and the
    // process simply ends (removing its temporary files).
    let never = Cancellation::new();
    let (bank_report, insurer_report, addr) = runtime.block_on(async {
        let bank_end = Endpoint::open(bank_cfg).await?;
        let addr = bank_end
            .local_addr()
            .ok_or_else(|| Failure::failed("the listener has no address"))?;
        insurer_cfg.address = Address::Connect(addr.to_string());
        let insurer_end = Endpoint::open(insurer_cfg).await?;
        let (b, i) = tokio::join!(
            bank_end.run(bank_cfg, bank_set, bank_sink, &never),
            insurer_end.run(insurer_cfg, insurer_set, insurer_sink, &never),
        );
        let b = b.map_err(|e| matching::session_failure(e, bank_cfg))?;
        let i = i.map_err(|e| matching::session_failure(e, insurer_cfg))?;
        anyhow::Ok((b, i, addr))
    })?;
    let session_time = session_started.elapsed();
    if let Some(bars) = &bars {
        let _ = bars.clear();
    }
    let bank_done = matching::finish(bank_cfg, &bank_prep, bank_report, clock)?;
    let insurer_done = matching::finish(insurer_cfg, &insurer_prep, insurer_report, clock)?;
    Ok(Pair {
        bank: (bank_prep, bank_done),
        insurer: (insurer_prep, insurer_done),
        addr,
        session_time,
    })
}

/// The path of a party's output file, for messages.
pub(crate) fn output_path(done: &Finished) -> PathBuf {
    done.output
        .as_ref()
        .map(|o| o.path.clone())
        .unwrap_or_default()
}

/// A progress bar for one party, when bars are shown.
fn with_bar(multi: Option<&MultiProgress>, name: &'static str) -> Option<EventSink> {
    let multi = multi?;
    let bar = multi.add(progress::bar(Some(1), "steps"));
    bar.set_prefix(name);
    let done: Mutex<BTreeMap<&'static str, u64>> = Mutex::new(BTreeMap::new());
    Some(Arc::new(move |event: &Event| {
        update_bar(&bar, &done, event)
    }))
}

fn update_bar(bar: &ProgressBar, done: &Mutex<BTreeMap<&'static str, u64>>, event: &Event) {
    match event {
        Event::HandshakeComplete {
            role,
            reveal,
            local_set_size,
            peer_set_size,
            ..
        } => {
            // Hashed + sent (ours), received (theirs), answered if they learn,
            // compared if we learn.
            let mut total = 2 * local_set_size + peer_set_size;
            if reveal.learns(role.peer()) {
                total += peer_set_size;
            }
            if reveal.learns(*role) {
                total += local_set_size;
            }
            bar.set_length(total);
        }
        Event::Progress { stage, done: n, .. } => {
            let key = match stage {
                Stage::Hashed => "hashed",
                Stage::Sent => "sent",
                Stage::Received => "received",
                Stage::Answered => "answered",
                Stage::Compared => "compared",
            };
            if let Ok(mut d) = done.lock() {
                d.insert(key, *n);
                bar.set_position(d.values().sum());
            }
        }
        Event::Finished { .. } => bar.finish_and_clear(),
        _ => {}
    }
}

//! `blindmatch demo`: the whole product on one machine in under a minute. Generates
//! two partner files with a known overlap ([`generate`]), makes an identity for each
//! partner, runs both parties of a real session (TLS 1.3 with pinned fingerprints on
//! 127.0.0.1, a free port) as two tasks of this process through the same code as
//! `blindmatch match`, prints what each side learned and where the receipts are, and
//! checks the result against the ground truth: exit code 3 if anything is off.
//! `--multi` is the second scenario ([`multi`]): three identifier columns and three
//! rules in one session, checked rule by rule. `--labelled` is the third
//! ([`labelled`]): the insurer learns the bank's `segment` and `tier` for shared
//! customers only, checked value by value, and no unshared row's value reaches it.

pub(crate) mod generate;
mod labelled;
mod multi;
mod session;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blindmatch_data::dataset::ColumnSpec;
use blindmatch_data::output::write_atomic;
use blindmatch_data::text::{group, human_bytes};
use blindmatch_net::{Fingerprint, Identity};
use blindmatch_pipeline::identity;
use blindmatch_pipeline::matching::{
    DEFAULT_MIN_PEER_SET, Finished, Prepared, PsiProtocol, RunClock,
};
use blindmatch_token::{IdType, Rule, RuleSet};
use clap::Args as ClapArgs;

use crate::args::ProtocolArg;
use crate::error::{ExitStatus, FailWith, Failure};
use generate::{Layout, Side, Truth};
use session::{Pair, PartySpec};

/// Default folder name; `-2`, `-3`, … are tried when it exists.
const DEFAULT_DIR: &str = "blindmatch-demo";

/// Run a complete two-party match on generated data, on this machine.
///
/// Generates two made-up partner files (a bank with 100,000 and an insurer with
/// 80,000 customers, 30,000 in common, mobile numbers written in many messy
/// ways), makes a TLS identity for each, runs both sides of a real session over
/// TLS 1.3 on 127.0.0.1, prints what each side learned and where the receipts
/// are, and checks the result against the known overlap (exit code 3 if wrong).
/// Everything is written to a new folder; nothing is ever overwritten.
///
/// With --multi: three identifier columns (mobile, e-mail, name and company) and
/// three rules in one session (phone, email, name+company, in that order), each
/// side holding a different subset of each customer's identifiers, written
/// differently; checked rule by rule on both sides.
///
/// With --labelled: labelled mode. The insurer learns the bank's segment and tier
/// for the customers they share (the bank gives --release segment,tier and learns
/// nothing); the bank's unshared rows hold distinctive values, and the check
/// verifies that each matched row got exactly the bank's values and that none of
/// the unshared rows' values appears in any file the insurer wrote.
#[derive(Debug, ClapArgs)]
pub(crate) struct Args {
    /// Folder to write into: must not exist, or be empty [default:
    /// ./blindmatch-demo, or ./blindmatch-demo-2, … if that exists].
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,

    /// The second scenario: several identifier columns and rules in one session.
    #[arg(long, conflicts_with = "labelled")]
    multi: bool,

    /// The third scenario: labelled mode, the insurer receives the bank's segment
    /// and tier for shared customers only.
    #[arg(long)]
    labelled: bool,

    /// Customers in the bank's file (the listening side) [default: 100,000; with
    /// --multi 20,000].
    #[arg(long, value_name = "N")]
    bank_rows: Option<u64>,

    /// Customers in the insurer's file (the connecting side) [default: 80,000; with
    /// --multi 16,000].
    #[arg(long, value_name = "N")]
    insurer_rows: Option<u64>,

    /// Customers both have [default: 30,000; with --multi 6,000].
    #[arg(long, value_name = "N")]
    common: Option<u64>,

    /// Seed of the generated data (same seed, same files).
    #[arg(long, value_name = "N", default_value_t = 2024)]
    seed: u64,

    /// The PSI protocol both parties run: `ecdh` or `vole` (the labelled scenario
    /// always runs its own).
    #[arg(long, value_enum, default_value_t = ProtocolArg::Ecdh, conflicts_with = "labelled")]
    protocol: ProtocolArg,
}

const BANK: Layout = Layout {
    rows: 0,
    id_prefix: 'B',
    header: ["customer_id", "phone", "segment"],
    extras: &["retail", "private", "sme", "student"],
};

const INSURER: Layout = Layout {
    rows: 0,
    id_prefix: 'P',
    header: ["policy_no", "mobile", "product"],
    extras: &["life", "health", "car", "home", "travel"],
};

/// Runs `blindmatch demo`.
///
/// # Errors
/// A folder that exists and is not empty, sizes that do not fit (exit 2); a failed
/// session (exit 1); a result that differs from the ground truth (exit 3).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    if args.multi {
        return multi::run(args);
    }
    if args.labelled {
        return labelled::run(args);
    }
    let args = Sizes::of(&args, [100_000, 80_000, 30_000]);
    let started = Instant::now();
    let clock = RunClock::start();

    // 1. Data.
    let (bank, insurer) = generate::generate(
        Layout {
            rows: args.bank_rows,
            ..BANK
        },
        Layout {
            rows: args.insurer_rows,
            ..INSURER
        },
        args.common,
        args.seed,
    )
    .map_err(data_failure)?;
    let dir = make_dir(args.dir.as_deref())?;
    let show = |s: &str| dir.join(s);
    let bank_csv = show("bank.csv");
    let insurer_csv = show("insurer.csv");
    write_atomic(&bank_csv, bank.csv.as_bytes(), false, false)?;
    write_atomic(&insurer_csv, insurer.csv.as_bytes(), false, false)?;
    let truth_csv = show("expected-matches.csv");
    write_atomic(
        &truth_csv,
        &expected_pairs(&bank, &insurer, args.common),
        false,
        false,
    )?;
    let generated = started.elapsed();

    // 2. Identities.
    let ((bank_id, bank_fp), (insurer_id, insurer_fp)) = identities(&dir)?;

    // 3. The two parties, as `blindmatch match` would configure them.
    let min_peer_set = DEFAULT_MIN_PEER_SET.min(args.bank_rows.min(args.insurer_rows) / 2);
    let phone = |column: &str| {
        vec![ColumnSpec {
            name: column.to_owned(),
            id_type: IdType::Phone,
        }]
    };
    let one_rule = || {
        RuleSet::new(vec![Rule::single(IdType::Phone)])
            .unwrap_or_else(|_| unreachable!("one rule is a valid rule set"))
    };
    let bank_cfg = session::party_config(
        &dir,
        PartySpec {
            csv: &bank_csv,
            columns: phone("phone"),
            rules: one_rule(),
            keep: "customer_id",
            me: bank_id,
            peer: insurer_fp,
            stem: "bank",
            protocol: args.protocol,
        },
        min_peer_set,
    );
    let mut insurer_cfg = session::party_config(
        &dir,
        PartySpec {
            csv: &insurer_csv,
            columns: phone("mobile"),
            rules: one_rule(),
            keep: "policy_no",
            me: insurer_id,
            peer: bank_fp,
            stem: "insurer",
            protocol: args.protocol,
        },
        min_peer_set,
    );
    let Pair {
        bank: (bank_prep, bank_done),
        insurer: (insurer_prep, insurer_done),
        addr,
        session_time,
    } = session::run_pair(&bank_cfg, &mut insurer_cfg, &clock)?;

    // 4. What each side learned, and the check against the ground truth.
    println!("blindmatch demo: two partners on one machine, a real session over TLS 1.3 on {addr}");
    println!();
    println!(
        "generated  '{}'     {} customers (mobile numbers written many messy ways)",
        bank_csv.display(),
        group(args.bank_rows)
    );
    println!(
        "           '{}'  {} customers, {} of them also the bank's ('{}')",
        insurer_csv.display(),
        group(args.insurer_rows),
        group(args.common),
        truth_csv.display()
    );
    println!("identities bank     {bank_fp}");
    println!("           insurer  {insurer_fp}");
    println!(
        "session    {} in {:.1} s (data generated in {:.1} s)",
        bank_done.report.session_id,
        session_time.as_secs_f64(),
        generated.as_secs_f64()
    );
    println!();
    describe("bank (listener)", &bank_prep, &bank_done);
    describe("insurer (connector)", &insurer_prep, &insurer_done);
    println!();

    let problems = check(&bank, &insurer, args.common, &bank_done, &insurer_done);
    if !problems.is_empty() {
        for p in &problems {
            println!("check      FAILED: {p}");
        }
        return Err(Failure::check_failed(format!(
            "the demo's result differs from the ground truth ({} problem(s); first: {})",
            problems.len(),
            problems.first().map(String::as_str).unwrap_or_default()
        ))
        .hint("this is a bug; please report it with the output above")
        .into());
    }
    println!(
        "check      OK: both sides found exactly the {} shared customers (on {} and {} rows), \
         with equal match IDs per customer and equal transcript hashes in both receipts",
        group(args.common),
        group(bank_done.matched_rows.unwrap_or_default()),
        group(insurer_done.matched_rows.unwrap_or_default()),
    );
    println!();
    println!("Run the two sides yourself (two terminals):");
    let protocol = protocol_arg(args.protocol);
    println!(
        "  blindmatch match --listen 127.0.0.1:7000 --identity {} --peer-fingerprint {insurer_fp} \\\n      --input {} --column phone:phone --keep customer_id{protocol} -o {}",
        show("bank").display(),
        bank_csv.display(),
        show("bank.rerun.csv").display()
    );
    println!(
        "  blindmatch match --connect 127.0.0.1:7000 --identity {} --peer-fingerprint {bank_fp} \\\n      --input {} --column mobile:phone --keep policy_no{protocol} -o {}",
        show("insurer").display(),
        insurer_csv.display(),
        show("insurer.rerun.csv").display()
    );
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: done");
    Ok(ExitStatus::Success)
}

/// The sizes and the rest of the arguments, defaults filled in.
struct Sizes {
    dir: Option<PathBuf>,
    bank_rows: u64,
    insurer_rows: u64,
    common: u64,
    seed: u64,
    protocol: PsiProtocol,
}

impl Sizes {
    /// `args` with `[bank_rows, insurer_rows, common]` where not given.
    fn of(args: &Args, defaults: [u64; 3]) -> Sizes {
        let [b, i, c] = defaults;
        Sizes {
            dir: args.dir.clone(),
            bank_rows: args.bank_rows.unwrap_or(b),
            insurer_rows: args.insurer_rows.unwrap_or(i),
            common: args.common.unwrap_or(c),
            seed: args.seed,
            protocol: args.protocol.into(),
        }
    }
}

/// The `--protocol` words of the commands the demo prints (none for the default).
pub(super) fn protocol_arg(protocol: PsiProtocol) -> String {
    match protocol {
        PsiProtocol::Ecdh => String::new(),
        other => format!(" --protocol {}", other.name()),
    }
}

/// The error for sizes the demo data cannot be generated with (every scenario's).
fn data_failure(e: String) -> Failure {
    Failure::bad_input(format!("cannot generate the demo data: {e}"))
        .hint("choose --common below the smaller side's row count")
}

/// The bank's and the insurer's identities in `dir`, with their fingerprints. The
/// folder is new or empty: no killed run left anything in it to report.
fn identities(dir: &Path) -> anyhow::Result<((Identity, Fingerprint), (Identity, Fingerprint))> {
    let mut pair = Vec::with_capacity(2);
    for name in ["bank", "insurer"] {
        let (id, _) = identity::create(&dir.join(name), name, &blindmatch_data::Silent)?;
        let fp = id.fingerprint();
        pair.push((id, fp));
    }
    let insurer = pair
        .pop()
        .ok_or_else(|| Failure::failed("no insurer identity"))?;
    let bank = pair
        .pop()
        .ok_or_else(|| Failure::failed("no bank identity"))?;
    Ok((bank, insurer))
}

/// The folder to write into: `dir` if it does not exist or is empty; by default the
/// first of `blindmatch-demo`, `blindmatch-demo-2`, … that does not exist.
fn make_dir(dir: Option<&Path>) -> anyhow::Result<PathBuf> {
    let create = |path: &Path| {
        fs::create_dir_all(path).fail_with(|| {
            Failure::bad_input(format!("cannot create the folder '{}'", path.display()))
                .hint("choose a writable place with --dir")
        })
    };
    if let Some(dir) = dir {
        if dir.exists() {
            let empty = fs::read_dir(dir)
                .fail_with(|| {
                    Failure::bad_input(format!("cannot read the folder '{}'", dir.display()))
                })?
                .next()
                .is_none();
            if !empty {
                return Err(Failure::bad_input(format!(
                    "'{}' exists and is not empty",
                    dir.display()
                ))
                .hint("the demo never overwrites anything: give --dir a new or empty folder")
                .into());
            }
        }
        create(dir)?;
        return Ok(dir.to_path_buf());
    }
    for n in 1..1000 {
        let path = match n {
            1 => PathBuf::from(DEFAULT_DIR),
            _ => PathBuf::from(format!("{DEFAULT_DIR}-{n}")),
        };
        // create_dir (not _all) fails if the folder exists, even if made just now.
        match fs::create_dir(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(e).fail_with(|| {
                    Failure::bad_input(format!("cannot create the folder '{}'", path.display()))
                        .hint("run the demo in a writable folder, or give --dir")
                });
            }
        }
    }
    Err(Failure::bad_input("no free blindmatch-demo-N folder name")
        .hint("remove old demo folders or give --dir")
        .into())
}

/// `customer_id,policy_no` for every pair of rows holding the same shared customer.
fn expected_pairs(a: &Side, b: &Side, common: u64) -> Vec<u8> {
    fn by_customer(side: &Side, common: u64) -> HashMap<u64, Vec<&str>> {
        let mut map: HashMap<u64, Vec<&str>> = HashMap::new();
        for (id, truth) in &side.rows {
            if let Truth::Phone(i) = truth
                && *i < common
            {
                map.entry(*i).or_default().push(id.as_str());
            }
        }
        map
    }
    let (ma, mb) = (by_customer(a, common), by_customer(b, common));
    let mut out = String::from("customer_id,policy_no\n");
    let mut keys: Vec<&u64> = ma.keys().collect();
    keys.sort();
    for k in keys {
        for x in ma.get(k).into_iter().flatten() {
            for y in mb.get(k).into_iter().flatten() {
                out.push_str(&format!("{x},{y}\n"));
            }
        }
    }
    out.into_bytes()
}

fn describe(who: &str, prepared: &Prepared, done: &Finished) {
    let r = &done.report;
    let c = &prepared.counts;
    println!(
        "{who} learned: {} shared customers, on {} of its {} rows → '{}'",
        group(r.matched_count.unwrap_or_default()),
        group(done.matched_rows.unwrap_or_default()),
        group(prepared.summary.rows),
        done.output
            .as_ref()
            .map(|o| o.path.display().to_string())
            .unwrap_or_default()
    );
    let mut reasons: Vec<String> = prepared
        .tally
        .by_reason(0)
        .map(|(reason, n)| format!("{} {}", reason.code(), group(n)))
        .collect();
    reasons.sort();
    println!(
        "  its {} distinct numbers met the partner's {}; {} empty and {} unusable cells were never sent{}",
        group(r.local_set_size),
        group(r.peer_set_size),
        group(c.empty),
        group(c.rejected),
        if reasons.is_empty() {
            String::new()
        } else {
            format!(" ({})", reasons.join(", "))
        }
    );
    println!(
        "  sent {}, received {}; receipt '{}'",
        human_bytes(r.traffic.wire_bytes_sent.unwrap_or(r.traffic.bytes_sent)),
        human_bytes(
            r.traffic
                .wire_bytes_received
                .unwrap_or(r.traffic.bytes_received)
        ),
        done.receipt.path.display()
    );
}

/// Everything that differs from the ground truth, in words.
fn check(
    bank: &Side,
    insurer: &Side,
    common: u64,
    bank_done: &Finished,
    insurer_done: &Finished,
) -> Vec<String> {
    let mut problems = Vec::new();
    let mut ids_by_customer: [HashMap<u64, BTreeSet<String>>; 2] = Default::default();
    for (n, (name, side, done)) in [
        ("bank", bank, bank_done),
        ("insurer", insurer, insurer_done),
    ]
    .into_iter()
    .enumerate()
    {
        if done.report.matched_count != Some(common) {
            problems.push(format!(
                "{name} learned {:?} shared customers, expected {common}",
                done.report.matched_count
            ));
        }
        let rows = match read_output(done) {
            Ok(rows) => rows,
            Err(e) => {
                problems.push(format!("{name}: cannot read its output: {e}"));
                continue;
            }
        };
        let expected: BTreeSet<u64> = side.expected_rows(common).into_iter().collect();
        let got: BTreeSet<u64> = rows.keys().copied().collect();
        if got != expected {
            problems.push(format!(
                "{name}: {} matched rows, expected {} ({} missing, {} unexpected)",
                got.len(),
                expected.len(),
                expected.difference(&got).count(),
                got.difference(&expected).count()
            ));
        }
        for (row, (customer_id, match_id)) in &rows {
            let truth = usize::try_from(*row)
                .ok()
                .and_then(|r| r.checked_sub(1))
                .and_then(|i| side.rows.get(i));
            match truth {
                Some((id, Truth::Phone(c))) if id == customer_id => {
                    if let Some(map) = ids_by_customer.get_mut(n) {
                        map.entry(*c).or_default().insert(match_id.clone());
                    }
                }
                _ => problems.push(format!("{name}: output row {row} does not fit the input")),
            }
        }
    }
    let [bank_ids, insurer_ids] = &ids_by_customer;
    let mut all = BTreeSet::new();
    for (customer, ids) in bank_ids {
        let theirs = insurer_ids.get(customer);
        if ids.len() != 1 || theirs != Some(ids) {
            problems.push(format!(
                "shared customer #{customer}: the two sides' match IDs differ"
            ));
        }
        all.extend(ids.iter().cloned());
    }
    if all.len() != bank_ids.len() {
        problems.push("two shared customers got the same match ID".to_owned());
    }
    let (b, i) = (&bank_done.report, &insurer_done.report);
    if b.transcript_hash != i.transcript_hash || b.session_id != i.session_id {
        problems.push("the two receipts name different sessions or transcripts".to_owned());
    }
    problems
}

/// The output file as row → (kept customer ID, match ID).
fn read_output(done: &Finished) -> Result<BTreeMap<u64, (String, String)>, String> {
    let output = done.output.as_ref().ok_or("no output was written")?;
    let text = fs::read_to_string(&output.path).map_err(|e| e.to_string())?;
    let mut rows = BTreeMap::new();
    for line in text.lines().skip(1) {
        let mut fields = line.split(',');
        let (Some(row), Some(id), Some(match_id), None) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            return Err(format!("unexpected line {line:?}"));
        };
        let row: u64 = row
            .parse()
            .map_err(|_| format!("bad row number in {line:?}"))?;
        rows.insert(row, (id.to_owned(), match_id.to_owned()));
    }
    Ok(rows)
}

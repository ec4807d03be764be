//! `blindmatch demo --labelled`: labelled mode on one machine. The insurer (the
//! connecting side, the only learner) receives the bank's `segment` and `tier` for the
//! customers they share; the bank (listening, `--release segment,tier`) learns
//! nothing. The bank's file holds distinctive values (`unmatched-…`) in every row the
//! insurer does not share, and the check verifies, on what the insurer wrote, that
//! every matched row carries exactly the truth's values (one output row per bank row
//! of that customer) and that no unmatched-row value appears in any file the insurer
//! wrote. Exit code 3 if anything is off.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::time::Instant;

use blindmatch_data::dataset::ColumnSpec;
use blindmatch_data::output::write_atomic;
use blindmatch_data::text::{group, human_bytes};
use blindmatch_net::{Learner, Mode};
use blindmatch_pipeline::matching::{
    DEFAULT_MIN_PEER_SET, Finished, LabelConfig, PsiProtocol, RunClock,
};
use blindmatch_token::{IdType, Rule, RuleSet};

use super::generate::{self, Layout, Side, Truth};
use super::session::{self, Pair, PartySpec};
use super::{Args, BANK, INSURER, Sizes};
use crate::error::{ExitStatus, FailWith, Failure};

/// The columns the bank releases.
const RELEASE: [&str; 2] = ["segment", "tier"];
/// Values of shared customers' rows.
const SEGMENTS: [&str; 4] = ["retail", "private", "sme", "student"];
const TIERS: [&str; 3] = ["gold", "silver", "bronze"];
/// Prefix of every value in a row the insurer does not share: none may reach it.
const UNMATCHED: &str = "unmatched-";
/// `--release-max-bytes`.
const MAX_BYTES: u32 = 32;

/// The released values of bank row `row` (from 0) holding `truth`.
fn values(row: usize, truth: Truth, common: u64) -> [String; 2] {
    match truth {
        Truth::Phone(i) if i < common => {
            let k = i as usize + row;
            let pick = |list: &[&str], n: usize| {
                list.get(n % list.len())
                    .copied()
                    .unwrap_or_default()
                    .to_owned()
            };
            [pick(&SEGMENTS, k), pick(&TIERS, k / SEGMENTS.len())]
        }
        _ => [
            format!("{UNMATCHED}segment-{row:07}"),
            format!("{UNMATCHED}tier-{row:07}"),
        ],
    }
}

/// The bank's file with `segment` and `tier` columns: shared customers' rows get
/// ordinary values, every other row distinctive ones.
fn bank_csv(bank: &Side, common: u64) -> anyhow::Result<String> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bank.csv.as_bytes());
    let mut writer = csv::Writer::from_writer(Vec::new());
    let bad = || Failure::failed("cannot build the demo's bank file");
    writer
        .write_record(["customer_id", "phone", "segment", "tier"])
        .fail_with(bad)?;
    for (row, record) in reader.records().enumerate() {
        let record = record.fail_with(bad)?;
        let truth = bank.rows.get(row).map_or(Truth::Empty, |r| r.1);
        let [segment, tier] = values(row, truth, common);
        let (id, phone) = (record.get(0).unwrap_or(""), record.get(1).unwrap_or(""));
        writer
            .write_record([id, phone, segment.as_str(), tier.as_str()])
            .fail_with(bad)?;
    }
    let bytes = writer.into_inner().map_err(|_| bad())?;
    String::from_utf8(bytes).fail_with(bad)
}

/// Shared customer → the released values of each of the bank's rows for it, sorted.
fn truth(bank: &Side, common: u64) -> HashMap<u64, Vec<[String; 2]>> {
    let mut map: HashMap<u64, Vec<[String; 2]>> = HashMap::new();
    for (row, (_, t)) in bank.rows.iter().enumerate() {
        if let Truth::Phone(i) = *t
            && i < common
        {
            map.entry(i).or_default().push(values(row, *t, common));
        }
    }
    for v in map.values_mut() {
        v.sort();
    }
    map
}

/// Runs `blindmatch demo --labelled`.
///
/// # Errors
/// As the plain demo: bad sizes or folder (exit 2), a failed session (exit 1), a
/// result that differs from the ground truth (exit 3).
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let args = Sizes::of(&args, [100_000, 80_000, 30_000]);
    let started = Instant::now();
    let clock = RunClock::start();

    // 1. Data: the plain demo's files, the bank's with segment and tier.
    let layout = |l: Layout, rows| Layout { rows, ..l };
    let (bank, insurer) = generate::generate(
        layout(BANK, args.bank_rows),
        layout(INSURER, args.insurer_rows),
        args.common,
        args.seed,
    )
    .map_err(super::data_failure)?;
    let expected = truth(&bank, args.common);
    // Bank rows per shared customer: both sides must allow that many label sets.
    let cap = expected.values().map(Vec::len).max().unwrap_or(1).max(1);
    let cap = u32::try_from(cap).unwrap_or(u32::MAX);
    let dir = super::make_dir(args.dir.as_deref())?;
    let show = |s: &str| dir.join(s);
    let (bank_path, insurer_path) = (show("bank.csv"), show("insurer.csv"));
    write_atomic(
        &bank_path,
        bank_csv(&bank, args.common)?.as_bytes(),
        false,
        false,
    )?;
    write_atomic(&insurer_path, insurer.csv.as_bytes(), false, false)?;
    let generated = started.elapsed();

    // 2. Identities.
    let ((bank_id, bank_fp), (insurer_id, insurer_fp)) = super::identities(&dir)?;

    // 3. The two parties, as `blindmatch match --mode labelled` configures them.
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
    let labels = |release: &[&str]| LabelConfig {
        release: release.iter().map(|s| (*s).to_owned()).collect(),
        max_bytes: MAX_BYTES,
        max_labels_per_id: cap,
    };
    let mut bank_cfg = session::party_config(
        &dir,
        PartySpec {
            csv: &bank_path,
            columns: phone("phone"),
            rules: one_rule(),
            keep: "customer_id",
            me: bank_id,
            peer: insurer_fp,
            stem: "bank",
            protocol: PsiProtocol::Ecdh,
        },
        min_peer_set,
    );
    bank_cfg.mode = Mode::Labelled;
    bank_cfg.learner = Learner::Peer;
    bank_cfg.labels = Some(labels(&RELEASE));
    bank_cfg.output = None;
    let mut insurer_cfg = session::party_config(
        &dir,
        PartySpec {
            csv: &insurer_path,
            columns: phone("mobile"),
            rules: one_rule(),
            keep: "policy_no",
            me: insurer_id,
            peer: bank_fp,
            stem: "insurer",
            protocol: PsiProtocol::Ecdh,
        },
        min_peer_set,
    );
    insurer_cfg.mode = Mode::Labelled;
    insurer_cfg.learner = Learner::Me;
    insurer_cfg.labels = Some(labels(&[]));
    bank_cfg.check_labels()?;
    insurer_cfg.check_labels()?;
    let Pair {
        bank: (_, bank_done),
        insurer: (_, insurer_done),
        addr,
        session_time,
    } = session::run_pair(&bank_cfg, &mut insurer_cfg, &clock)?;

    // 4. What each side learned, and the check.
    println!(
        "blindmatch demo --labelled: the insurer learns the bank's segment and tier for shared customers only, over TLS 1.3 on {addr}"
    );
    println!();
    println!(
        "generated  '{}'     {} customers; segment and tier of unshared rows all start '{UNMATCHED}'",
        bank_path.display(),
        group(args.bank_rows)
    );
    println!(
        "           '{}'  {} customers, {} of them also the bank's",
        insurer_path.display(),
        group(args.insurer_rows),
        group(args.common)
    );
    println!(
        "session    {} in {:.1} s (data generated in {:.1} s); at most {cap} bank rows per number",
        bank_done.report.session_id,
        session_time.as_secs_f64(),
        generated.as_secs_f64()
    );
    let r = &insurer_done.report;
    println!(
        "insurer (connector, learns) {} shared customers on {} rows, their segment and tier → '{}'",
        group(r.matched_count.unwrap_or_default()),
        group(insurer_done.matched_rows.unwrap_or_default()),
        session::output_path(&insurer_done).display()
    );
    let b = &bank_done.report;
    println!(
        "bank (listener, releases)   learns nothing (not even the count); sent {}, received {}; receipt '{}'",
        human_bytes(b.traffic.wire_bytes_sent.unwrap_or(b.traffic.bytes_sent)),
        human_bytes(
            b.traffic
                .wire_bytes_received
                .unwrap_or(b.traffic.bytes_received)
        ),
        bank_done.receipt.path.display()
    );
    println!();

    let problems = check(&insurer, args.common, &expected, &bank_done, &insurer_done);
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
        "check      OK: every one of the insurer's {} matched rows has exactly the bank's segment and tier for that customer, \
         and no value of an unshared bank row appears in any file the insurer wrote",
        group(insurer_done.matched_rows.unwrap_or_default()),
    );
    println!();
    println!("Run the two sides yourself (two terminals):");
    println!(
        "  blindmatch match --listen 127.0.0.1:7000 --identity {} --peer-fingerprint {insurer_fp} \\\n      --input {} --column phone:phone --mode labelled --release segment,tier \\\n      --release-max-bytes {MAX_BYTES} --max-labels-per-id {cap}",
        show("bank").display(),
        bank_path.display(),
    );
    println!(
        "  blindmatch match --connect 127.0.0.1:7000 --identity {} --peer-fingerprint {bank_fp} \\\n      --input {} --column mobile:phone --keep policy_no --mode labelled \\\n      --max-labels-per-id {cap} -o {}",
        show("insurer").display(),
        insurer_path.display(),
        show("insurer.rerun.csv").display()
    );
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        "demo --labelled: done"
    );
    Ok(ExitStatus::Success)
}

/// Everything that differs from the truth, in words.
fn check(
    insurer: &Side,
    common: u64,
    expected: &HashMap<u64, Vec<[String; 2]>>,
    bank_done: &Finished,
    insurer_done: &Finished,
) -> Vec<String> {
    let mut problems = Vec::new();
    if insurer_done.report.matched_count != Some(common) {
        problems.push(format!(
            "the insurer learned {:?} shared customers, expected {common}",
            insurer_done.report.matched_count
        ));
    }
    if bank_done.report.matched_count.is_some() || bank_done.output.is_some() {
        problems.push("the bank learned a result or wrote an output".to_owned());
    }
    // Every file the insurer wrote: no unshared row's value in any of them.
    let mut files = vec![insurer_done.receipt.path.clone()];
    files.extend(insurer_done.output.as_ref().map(|o| o.path.clone()));
    for path in &files {
        match fs::read(path) {
            Ok(bytes)
                if bytes
                    .windows(UNMATCHED.len())
                    .any(|w| w == UNMATCHED.as_bytes()) =>
            {
                problems.push(format!(
                    "'{}' holds a value of a bank row the insurer does not share",
                    path.display()
                ));
            }
            Ok(_) => {}
            Err(e) => problems.push(format!("cannot read '{}': {e}", path.display())),
        }
    }
    let got = match read_output(insurer_done) {
        Ok(got) => got,
        Err(e) => {
            problems.push(format!("the insurer's output: {e}"));
            return problems;
        }
    };
    let mut want: BTreeMap<u64, Vec<[String; 2]>> = BTreeMap::new();
    for row in insurer.expected_rows(common) {
        let customer = usize::try_from(row - 1)
            .ok()
            .and_then(|i| insurer.rows.get(i))
            .and_then(|(_, t)| match t {
                Truth::Phone(c) => Some(*c),
                _ => None,
            });
        if let Some(values) = customer.and_then(|c| expected.get(&c)) {
            want.insert(row, values.clone());
        }
    }
    if got.len() != want.len() {
        problems.push(format!(
            "the insurer has labels on {} rows, expected {}",
            got.len(),
            want.len()
        ));
    }
    let wrong = want
        .iter()
        .filter(|(row, v)| got.get(row) != Some(v))
        .count();
    if wrong > 0 {
        problems.push(format!(
            "{wrong} matched rows do not carry exactly the bank's values for that customer"
        ));
    }
    problems
}

/// The insurer's output as row → its label sets `[segment, tier]`, sorted.
fn read_output(done: &Finished) -> Result<BTreeMap<u64, Vec<[String; 2]>>, String> {
    let output = done.output.as_ref().ok_or("no output was written")?;
    let mut reader = csv::Reader::from_path(&output.path).map_err(|e| e.to_string())?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_owned)
        .collect();
    if header != ["row", "policy_no", "match_id", "peer.segment", "peer.tier"] {
        return Err(format!("unexpected header {header:?}"));
    }
    let mut rows: BTreeMap<u64, Vec<[String; 2]>> = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| e.to_string())?;
        let row: u64 = record
            .get(0)
            .and_then(|r| r.parse().ok())
            .ok_or("a bad row number")?;
        let field = |i| record.get(i).unwrap_or_default().to_owned();
        rows.entry(row).or_default().push([field(3), field(4)]);
    }
    for v in rows.values_mut() {
        v.sort();
    }
    Ok(rows)
}

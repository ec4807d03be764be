//! `blindmatch demo --multi`: the multi-identifier session on one machine. Two
//! partner files with three identifier columns ([`data`]), three rules in one
//! session in priority order (`phone`, `email`, `name+company`), both parties over
//! TLS 1.3 as in the plain demo ([`super::session`]), and a check rule by rule on both
//! sides against the truth: which rows matched on which rule, one match ID per rule
//! and customer shared by both sides, each row's `match_id` that of its first
//! matching rule, the per-rule counts of both receipts. Exit code 3 if anything is
//! off.

mod data;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs;
use std::path::Path;
use std::time::Instant;

use blindmatch_data::dataset::ColumnSpec;
use blindmatch_data::output::write_atomic;
use blindmatch_data::text::{group, human_bytes};
use blindmatch_pipeline::matching::{DEFAULT_MIN_PEER_SET, Finished, Prepared, RunClock};
use blindmatch_token::{IdType, RuleSet};

use super::session::{self, Pair, PartySpec};
use super::{Args, Sizes};
use crate::error::{ExitStatus, Failure};
use data::{Layout, RULES, Side};

const BANK: Layout = Layout {
    rows: 0,
    id_prefix: 'B',
    header: [
        "customer_id",
        "phone",
        "email",
        "name",
        "company",
        "segment",
    ],
    extras: &["retail", "private", "sme", "student"],
    holds: [750, 600, 550],
};

const INSURER: Layout = Layout {
    rows: 0,
    id_prefix: 'P',
    header: [
        "policy_no",
        "mobile",
        "e_mail",
        "holder",
        "employer",
        "product",
    ],
    extras: &["life", "health", "car", "home", "travel"],
    holds: [650, 700, 600],
};

/// Runs `blindmatch demo --multi`.
///
/// # Errors
/// As the plain demo: exit 2 for a folder or sizes that do not fit, 1 for a failed
/// session, 3 for a result that differs from the truth.
pub(crate) fn run(args: Args) -> anyhow::Result<ExitStatus> {
    let args = Sizes::of(&args, [20_000, 16_000, 6_000]);
    let started = Instant::now();
    let clock = RunClock::start();
    let (bank, insurer) = data::generate(
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
    .map_err(super::data_failure)?;
    let dir = super::make_dir(args.dir.as_deref())?;
    let show = |s: &str| dir.join(s);
    let (bank_csv, insurer_csv) = (show("bank.csv"), show("insurer.csv"));
    write_atomic(&bank_csv, bank.csv.as_bytes(), false, false)?;
    write_atomic(&insurer_csv, insurer.csv.as_bytes(), false, false)?;
    let truth_csv = show("expected-matches.csv");
    write_atomic(&truth_csv, &expected_pairs(&bank, &insurer), false, false)?;
    let generated = started.elapsed();

    let ((bank_id, bank_fp), (insurer_id, insurer_fp)) = super::identities(&dir)?;

    let rules = RuleSet::parse(&RULES)
        .map_err(|e| Failure::failed(format!("the demo's rules are invalid: {e}")))?;
    let columns = |header: [&str; 6]| {
        let [_, phone, email, name, company, _] = header;
        [
            (phone, IdType::Phone),
            (email, IdType::Email),
            (name, IdType::Name),
            (company, IdType::Company),
        ]
        .map(|(name, id_type)| ColumnSpec {
            name: name.to_owned(),
            id_type,
        })
        .to_vec()
    };
    // The smallest rule's set must pass the partner's floor, as with `match`.
    let min_peer_set = DEFAULT_MIN_PEER_SET.min(args.common / 4);
    let bank_cfg = session::party_config(
        &dir,
        PartySpec {
            csv: &bank_csv,
            columns: columns(BANK.header),
            rules: rules.clone(),
            keep: BANK.header[0],
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
            columns: columns(INSURER.header),
            rules,
            keep: INSURER.header[0],
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

    println!(
        "blindmatch demo --multi: two partners, three identifier columns and three rules in one session over TLS 1.3 on {addr}"
    );
    println!();
    println!(
        "generated  '{}'     {} customers (mobile, e-mail, name and employer; each side holds only some of them, written its own ways)",
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
    println!(
        "rules      {} (in priority order: a row's match_id is that of its first matching rule)",
        RULES.join(", then ")
    );
    println!();

    let sides = [
        ("bank", &bank, &bank_prep, &bank_done),
        ("insurer", &insurer, &insurer_prep, &insurer_done),
    ];
    let (counts, problems) = check(&sides);
    print_counts(&counts);
    println!();
    for (who, _, prep, done) in &sides {
        describe(who, prep, done);
    }
    println!();
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
        "check      OK: for each rule, both sides matched exactly the rows the truth says, with one match ID per rule and customer, equal on both sides; each row's match_id is its first matching rule's; per-rule counts and transcript hashes agree in both receipts"
    );
    println!();
    println!("Run the two sides yourself (two terminals):");
    let mut rule_args: String = RULES.iter().map(|r| format!(" --rule {r}")).collect();
    rule_args.push_str(&super::protocol_arg(args.protocol));
    for (layout, role, id, fp, stem) in [
        (&BANK, "--listen", "bank", insurer_fp, "bank"),
        (&INSURER, "--connect", "insurer", bank_fp, "insurer"),
    ] {
        let [keep, phone, email, name, company, _] = layout.header;
        let csv = show(&format!("{stem}.csv"));
        println!(
            "  blindmatch match {role} 127.0.0.1:7000 --identity {} --peer-fingerprint {fp} \\\n      --input {} --column {phone}:phone --column {email}:email --column {name}:name \\\n      --column {company}:company{rule_args} --keep {keep} -o {}",
            show(id).display(),
            csv.display(),
            show(&format!("{stem}.rerun.csv")).display()
        );
    }
    tracing::info!(seconds = started.elapsed().as_secs_f64(), "demo: done");
    Ok(ExitStatus::Success)
}

/// `rule,customer_id,policy_no` for every pair of rows that share a customer and
/// both hold that rule's identifiers.
fn expected_pairs(a: &Side, b: &Side) -> Vec<u8> {
    let mut out = String::from("rule,customer_id,policy_no\n");
    for (r, rule) in RULES.iter().enumerate() {
        let mut theirs: HashMap<u64, Vec<&str>> = HashMap::new();
        for row in b.rows.iter().filter(|row| row.has[r]) {
            theirs.entry(row.customer).or_default().push(&row.id);
        }
        for row in a.rows.iter().filter(|row| row.has[r]) {
            for other in theirs.get(&row.customer).into_iter().flatten() {
                out.push_str(&format!("{rule},{},{other}\n", row.id));
            }
        }
    }
    out.into_bytes()
}

/// Per rule: matched rows of each side and shared values, as the check found them.
struct RuleCounts {
    rows: [u64; 2],
    values: u64,
}

/// One line of a matched-rows file: match_id, matched rules, one ID per rule.
struct OutRow {
    kept: String,
    match_id: String,
    rules: Vec<String>,
    ids: Vec<String>,
}

type Sides<'a> = [(&'a str, &'a Side, &'a Prepared, &'a Finished); 2];

/// The counts per rule and everything that differs from the truth, in words.
fn check(sides: &Sides<'_>) -> (Vec<RuleCounts>, Vec<String>) {
    let mut problems = Vec::new();
    let mut counts = Vec::new();
    // Per side and rule, the customers with a usable value on some row.
    let holders: Vec<Vec<HashSet<u64>>> = sides
        .iter()
        .map(|(_, side, _, _)| {
            (0..RULES.len())
                .map(|r| {
                    side.rows
                        .iter()
                        .filter(|row| row.has[r])
                        .map(|row| row.customer)
                        .collect()
                })
                .collect()
        })
        .collect();
    let outputs: Vec<BTreeMap<u64, OutRow>> = sides
        .iter()
        .map(|(name, _, _, done)| {
            read_output(done).unwrap_or_else(|e| {
                problems.push(format!("{name}: cannot read its output: {e}"));
                BTreeMap::new()
            })
        })
        .collect();
    // (rule, customer) → match IDs seen, per side.
    let mut ids: [BTreeMap<(usize, u64), BTreeSet<String>>; 2] = Default::default();
    for (k, (name, side, _, _)) in sides.iter().enumerate() {
        let Some(out) = outputs.get(k) else {
            continue;
        };
        for (row, o) in out {
            let truth = usize::try_from(*row)
                .ok()
                .and_then(|r| r.checked_sub(1))
                .and_then(|i| side.rows.get(i));
            let Some(t) = truth.filter(|t| t.id == o.kept) else {
                problems.push(format!("{name}: output row {row} does not fit the input"));
                continue;
            };
            let first = o
                .rules
                .first()
                .and_then(|f| RULES.iter().position(|r| r == f));
            if first.and_then(|p| o.ids.get(p)) != Some(&o.match_id) {
                problems.push(format!(
                    "{name}: row {row}'s match_id is not its first matching rule's"
                ));
            }
            for (r, rule) in RULES.iter().enumerate() {
                let matched = o.rules.iter().any(|x| x == rule);
                let id = o.ids.get(r).filter(|id| !id.is_empty());
                if matched != id.is_some() {
                    problems.push(format!(
                        "{name}: row {row}: {rule} listed and its match ID disagree"
                    ));
                }
                if let (Some(id), Some(map)) = (id, ids.get_mut(k)) {
                    map.entry((r, t.customer)).or_default().insert(id.clone());
                }
            }
        }
    }
    for (r, rule) in RULES.iter().enumerate() {
        let mut rows = [0; 2];
        for (k, (name, side, _, _)) in sides.iter().enumerate() {
            let (Some(out), Some(theirs)) = (outputs.get(k), holders.get(1 - k)) else {
                continue;
            };
            let expected: BTreeSet<u64> = side
                .rows
                .iter()
                .enumerate()
                .filter(|(_, row)| {
                    row.has[r] && theirs.get(r).is_some_and(|h| h.contains(&row.customer))
                })
                .map(|(i, _)| i as u64 + 1)
                .collect();
            let got: BTreeSet<u64> = out
                .iter()
                .filter(|(_, o)| o.rules.iter().any(|x| x == rule))
                .map(|(row, _)| *row)
                .collect();
            if got != expected {
                problems.push(format!(
                    "{name}, rule {rule}: {} matched rows, expected {} ({} missing, {} unexpected)",
                    got.len(),
                    expected.len(),
                    expected.difference(&got).count(),
                    got.difference(&expected).count()
                ));
            }
            if let Some(n) = rows.get_mut(k) {
                *n = got.len() as u64;
            }
        }
        let shared: HashSet<u64> = match (holders.first(), holders.get(1)) {
            (Some(a), Some(b)) => match (a.get(r), b.get(r)) {
                (Some(a), Some(b)) => a.intersection(b).copied().collect(),
                _ => HashSet::new(),
            },
            _ => HashSet::new(),
        };
        let values = shared.len() as u64;
        for (k, (name, _, _, done)) in sides.iter().enumerate() {
            let reported = done
                .report
                .outcome
                .per_type
                .get(r)
                .filter(|t| t.id_type == *rule)
                .and_then(|t| t.matched);
            if reported != Some(values) {
                problems.push(format!(
                    "{name}, rule {rule}: the session reports {reported:?} shared values, expected {values}"
                ));
            }
            // One ID per (rule, customer), the same on both sides.
            for customer in &shared {
                let mine = ids.get(k).and_then(|m| m.get(&(r, *customer)));
                let theirs = ids.get(1 - k).and_then(|m| m.get(&(r, *customer)));
                if mine.is_none_or(|m| m.len() != 1) || mine != theirs {
                    problems.push(format!(
                        "rule {rule}, shared customer #{customer}: the two sides' match IDs differ"
                    ));
                    break;
                }
            }
        }
        counts.push(RuleCounts { rows, values });
    }
    let all: Vec<&String> = ids[0].values().flatten().collect();
    if all.iter().collect::<HashSet<_>>().len() != all.len() {
        problems.push("two rules or customers got the same match ID".to_owned());
    }
    let (b, i) = (&sides[0].3.report, &sides[1].3.report);
    if b.transcript_hash != i.transcript_hash || b.session_id != i.session_id {
        problems.push("the two receipts name different sessions or transcripts".to_owned());
    }
    (counts, problems)
}

fn print_counts(counts: &[RuleCounts]) {
    println!(
        "{:<14} {:>10} {:>13} {:>14}",
        "rule", "bank rows", "insurer rows", "shared values"
    );
    for (rule, c) in RULES.iter().zip(counts) {
        println!(
            "{:<14} {:>10} {:>13} {:>14}",
            rule,
            group(c.rows[0]),
            group(c.rows[1]),
            group(c.values)
        );
    }
}

fn describe(who: &str, prepared: &Prepared, done: &Finished) {
    let r = &done.report;
    let c = &prepared.counts;
    println!(
        "{who} learned: {} shared values over {} rules, on {} of its {} rows → '{}'",
        group(r.matched_count.unwrap_or_default()),
        RULES.len(),
        group(done.matched_rows.unwrap_or_default()),
        group(prepared.summary.rows),
        session::output_path(done).display()
    );
    let sizes: Vec<String> = RULES
        .iter()
        .zip(&prepared.rule_sizes)
        .map(|(rule, n)| format!("{rule} {}", group(*n)))
        .collect();
    println!(
        "  its distinct values per rule: {}; {} empty and {} unusable cells were never sent",
        sizes.join(", "),
        group(c.empty),
        group(c.rejected)
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

/// The matched-rows file as row → its fields, checking the header.
fn read_output(done: &Finished) -> Result<BTreeMap<u64, OutRow>, String> {
    let path = session::output_path(done);
    let text = fs::read_to_string(Path::new(&path)).map_err(|e| e.to_string())?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split(',').collect();
    let expected: Vec<String> = ["match_id".to_owned(), "matched_rules".to_owned()]
        .into_iter()
        .chain(RULES.iter().map(|r| format!("match_id.{r}")))
        .collect();
    if header.get(2..) != Some(&expected.iter().map(String::as_str).collect::<Vec<_>>()[..]) {
        return Err(format!("unexpected header {header:?}"));
    }
    let mut rows = BTreeMap::new();
    for line in lines {
        let f: Vec<&str> = line.split(',').collect();
        let (Some(row), Some(kept), Some(match_id), Some(rules)) =
            (f.first(), f.get(1), f.get(2), f.get(3))
        else {
            return Err(format!("unexpected line {line:?}"));
        };
        let row: u64 = row
            .parse()
            .map_err(|_| format!("bad row number in {line:?}"))?;
        rows.insert(
            row,
            OutRow {
                kept: (*kept).to_owned(),
                match_id: (*match_id).to_owned(),
                rules: rules.split(';').map(str::to_owned).collect(),
                ids: f
                    .get(4..)
                    .unwrap_or_default()
                    .iter()
                    .map(|s| (*s).to_owned())
                    .collect(),
            },
        );
    }
    Ok(rows)
}

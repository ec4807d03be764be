//! `blindmatch match` with several identifier columns and rules in one session: two
//! real processes over TLS on 127.0.0.1, on generated data where each side holds a
//! different subset of each customer's identifiers, written differently. Checked
//! against the truth per rule on both sides: which rows matched on which rule, the
//! match ID per rule (equal on both sides), the row's match ID from the first
//! matching rule, per-rule counts in the receipts and in cardinality mode; refusals
//! of disagreeing rules and of a rule below --min-peer-set; no raw value of the
//! partner in anything either side writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::matching::{DEADLINE, Party};
use crate::util::{self, Run};

/// Rules in priority order, as both sides give them.
const RULES: [&str; 3] = ["phone", "email", "name+company"];

/// Letters for customer `i`, so names and companies carry no digits.
fn letters(i: u64) -> String {
    let mut s = String::new();
    let mut n = i + 26;
    while n > 0 {
        s.push(char::from(b'a' + (n % 26) as u8));
        n /= 26;
    }
    s
}

fn phone(i: u64) -> String {
    format!("137{:08}", (i * 7907 + 4_321_987) % 100_000_000)
}

fn email(i: u64) -> String {
    format!("{}.{i}@example.com", letters(i))
}

fn name(i: u64) -> String {
    format!("Li {}", letters(i))
}

fn company(i: u64) -> String {
    format!("{}科技", letters(i * 3 + 1))
}

/// Which identifiers side `s` (0 or 1) holds for customer `i`: phone, email, and
/// name with company (the composite rule's two fields together).
fn holds(s: usize, i: u64) -> [bool; 3] {
    match s {
        0 => [!i.is_multiple_of(3), i.is_multiple_of(2), i % 7 < 4],
        _ => [i % 4 != 1, !i.is_multiple_of(5), i % 3 != 2],
    }
}

/// One side's customers and rows: row `n` (1-based) is customer `customers[n-1]`.
struct Side {
    csv: String,
    customers: Vec<u64>,
    /// Raw values only this side holds (never to appear on the other side).
    own_only: Vec<String>,
}

fn side(s: usize, customers: std::ops::Range<u64>, other: std::ops::Range<u64>) -> Side {
    let mut csv = String::from(if s == 0 {
        "cid,tel,mail,full_name,firm\n"
    } else {
        "client,mobile,e_mail,person,employer\n"
    });
    let mut list = Vec::new();
    let mut own_only = Vec::new();
    for i in customers {
        let [p, e, nc] = holds(s, i);
        // Each side writes the same values its own way.
        let tel = match (p, s) {
            (false, _) => String::new(),
            (true, 0) => format!("+86 {}", phone(i)),
            (true, _) => phone(i),
        };
        let mail = match (e, s) {
            (false, _) => String::new(),
            (true, 0) => email(i),
            (true, _) => email(i).to_uppercase(),
        };
        let (person, firm) = match (nc, s) {
            (false, _) => (String::new(), String::new()),
            (true, 0) => (name(i), format!("{}有限公司", company(i))),
            (true, _) => (
                name(i).to_uppercase(),
                format!("{}有限责任公司", company(i)),
            ),
        };
        if !other.contains(&i) {
            own_only.extend([phone(i), email(i), company(i)]);
        }
        csv.push_str(&format!("{s}-{i},{tel},{mail},{person},{firm}\n"));
        list.push(i);
    }
    Side {
        csv,
        customers: list,
        own_only,
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dirs: [PathBuf; 2],
    fps: [String; 2],
    sides: [Side; 2],
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let dirs = [tmp.path().join("a"), tmp.path().join("b")];
    let a = 0..240;
    let b = 120..360;
    let sides = [side(0, a.clone(), b.clone()), side(1, b, a)];
    let mut fps = [String::new(), String::new()];
    for (k, dir) in dirs.iter().enumerate() {
        std::fs::create_dir(dir).unwrap();
        std::fs::write(dir.join("in.csv"), &sides[k].csv).unwrap();
        let run = util::run(dir, &["identity", "new", "-o", "me"]);
        run.ok();
        fps[k] = run.stdout.trim().to_owned();
    }
    Fixture {
        _tmp: tmp,
        dirs,
        fps,
        sides,
    }
}

impl Fixture {
    fn args(&self, k: usize, endpoint: &[&str], extra: &[&str]) -> Vec<String> {
        let columns: [&str; 4] = if k == 0 {
            ["tel:phone", "mail:email", "full_name:name", "firm:company"]
        } else {
            [
                "mobile:phone",
                "e_mail:email",
                "person:name",
                "employer:company",
            ]
        };
        let keep = if k == 0 { "cid" } else { "client" };
        let mut v: Vec<String> = vec!["match".into()];
        v.extend(endpoint.iter().map(|s| (*s).to_owned()));
        v.extend(
            [
                "--identity",
                "me",
                "--peer-fingerprint",
                &self.fps[1 - k],
                "--input",
                "in.csv",
                "--keep",
                keep,
                "-o",
                "matched.csv",
                "--wait-timeout",
                "60s",
                "--read-timeout",
                "30s",
            ]
            .map(String::from),
        );
        for c in columns {
            v.extend(["--column".to_owned(), c.to_owned()]);
        }
        if !extra.contains(&"--min-peer-set") {
            v.extend(["--min-peer-set".to_owned(), "0".to_owned()]);
        }
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    }

    fn session(&self, extra: [&[&str]; 2], env: &[(&str, &str)]) -> [Run; 2] {
        let a = Party::spawn(
            &self.dirs[0],
            &self.args(0, &["--listen", "127.0.0.1:0"], extra[0]),
            env,
            None,
        );
        let addr = a.listening_addr();
        let b = Party::spawn(
            &self.dirs[1],
            &self.args(1, &["--connect", &addr], extra[1]),
            env,
            None,
        );
        [a.finish(DEADLINE), b.finish(DEADLINE)]
    }

    /// The truth for side `k`: per row (1-based), the rules it matches on.
    fn truth(&self, k: usize) -> BTreeMap<u64, Vec<&'static str>> {
        let other: BTreeSet<u64> = self.sides[1 - k].customers.iter().copied().collect();
        let mut out = BTreeMap::new();
        for (n, &i) in self.sides[k].customers.iter().enumerate() {
            if !other.contains(&i) {
                continue;
            }
            let (mine, theirs) = (holds(k, i), holds(1 - k, i));
            let rules: Vec<&str> = RULES
                .iter()
                .zip(mine.iter().zip(theirs))
                .filter(|(_, (m, t))| **m && *t)
                .map(|(r, _)| *r)
                .collect();
            if !rules.is_empty() {
                out.insert(n as u64 + 1, rules);
            }
        }
        out
    }
}

fn rule_args() -> Vec<&'static str> {
    RULES.iter().flat_map(|r| ["--rule", *r]).collect()
}

/// The matched-rows file: row → (customer ID, match_id, matched_rules, IDs per rule).
type Rows = BTreeMap<u64, (String, String, String, Vec<String>)>;

fn read_output(dir: &Path) -> Rows {
    let text = std::fs::read_to_string(dir.join("matched.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    assert_eq!(
        header[2..],
        [
            "match_id",
            "matched_rules",
            "match_id.phone",
            "match_id.email",
            "match_id.name+company"
        ],
        "{header:?}"
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                f[0].parse().unwrap(),
                (
                    f[1].to_owned(),
                    f[2].to_owned(),
                    f[3].to_owned(),
                    f[4..].iter().map(|s| (*s).to_owned()).collect(),
                ),
            )
        })
        .collect()
}

#[test]
fn rows_match_per_rule_with_shared_ids_on_both_sides() {
    let f = fixture();
    let rules = rule_args();
    let [ra, rb] = f.session([&rules, &rules], &[("BLINDMATCH_LOG", "trace")]);
    ra.ok();
    rb.ok();
    let outputs = [read_output(&f.dirs[0]), read_output(&f.dirs[1])];
    // Each side's rows and rules are the truth's.
    for (k, output) in outputs.iter().enumerate() {
        let truth = f.truth(k);
        let got: BTreeMap<u64, Vec<&str>> = output
            .iter()
            .map(|(row, (_, _, rules, _))| (*row, rules.split(';').collect()))
            .collect();
        assert_eq!(got, truth, "side {k}");
        for (row, (_, id, rules, ids)) in output {
            // The row's match ID is that of its first matching rule; the columns of
            // the rules that did not match are empty.
            let first = RULES
                .iter()
                .position(|r| rules.split(';').next() == Some(*r));
            assert_eq!(Some(id), first.map(|p| &ids[p]), "row {row}");
            for (r, rid) in RULES.iter().zip(ids) {
                assert_eq!(
                    rules.split(';').any(|x| x == *r),
                    !rid.is_empty(),
                    "row {row}"
                );
            }
        }
    }
    // The same customer under the same rule has the same match ID on both sides.
    let by_customer = |k: usize| -> BTreeMap<u64, Vec<String>> {
        outputs[k]
            .iter()
            .map(|(row, (_, _, _, ids))| (f.sides[k].customers[*row as usize - 1], ids.clone()))
            .collect()
    };
    let (a, b) = (by_customer(0), by_customer(1));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (customer, ids) in &a {
        assert_eq!(ids, &b[customer], "customer {customer}");
    }
    // Different rules give unrelated IDs.
    let all: Vec<&String> = a.values().flatten().filter(|s| !s.is_empty()).collect();
    let distinct: BTreeSet<&String> = all.iter().copied().collect();
    assert_eq!(all.len(), distinct.len());

    // The receipts count per rule, equal on both sides where both know it.
    for k in 0..2 {
        let receipt: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(f.dirs[k].join("matched.csv.receipt.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(receipt["id_type"], "phone,email,name+company");
        let truth = f.truth(k);
        for (r, rule) in RULES.iter().enumerate() {
            let entry = &receipt["rules"][r];
            assert_eq!(entry["rule"], *rule);
            let rows = truth.values().filter(|rs| rs.contains(rule)).count() as u64;
            assert!(rows >= 20, "the data exercises every rule");
            assert_eq!(entry["matched_rows"], rows, "side {k} rule {rule}");
            assert_eq!(entry["matched_values"], rows, "side {k} rule {rule}");
        }
    }

    // Nothing either side wrote or logged holds a value only the partner has.
    for k in 0..2 {
        let mut text = if k == 0 {
            ra.all_output()
        } else {
            rb.all_output()
        };
        for entry in std::fs::read_dir(&f.dirs[k]).unwrap() {
            let path = entry.unwrap().path();
            if path.file_name().is_some_and(|n| n != "in.csv") && path.is_file() {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
            }
        }
        let lower = text.to_lowercase();
        for v in &f.sides[1 - k].own_only {
            assert!(
                !lower.contains(&v.to_lowercase()),
                "side {k} shows a partner value"
            );
        }
    }
}

#[test]
fn cardinality_counts_each_rule() {
    let f = fixture();
    let mut a = rule_args();
    a.extend(["--mode", "cardinality", "--reveal", "me"]);
    let mut b = rule_args();
    b.extend(["--mode", "cardinality", "--reveal", "peer"]);
    let [ra, rb] = f.session([&a, &b], &[]);
    ra.ok();
    rb.ok();
    let receipt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.dirs[0].join("matched.csv.receipt.json")).unwrap(),
    )
    .unwrap();
    let truth = f.truth(0);
    for (r, rule) in RULES.iter().enumerate() {
        let values = truth.values().filter(|rs| rs.contains(rule)).count() as u64;
        assert_eq!(receipt["rules"][r]["matched_values"], values, "{rule}");
        assert!(receipt["rules"][r]["matched_rows"].is_null());
    }
    assert!(ra.stderr.contains("per rule: phone"), "{}", ra.stderr);
    // The side that does not learn has sizes per rule but no counts.
    let receipt: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.dirs[1].join("matched.csv.receipt.json")).unwrap(),
    )
    .unwrap();
    assert!(receipt["rules"][1]["matched_values"].is_null());
    assert!(receipt["rules"][1]["peer_size"].as_u64().unwrap() > 0);
    assert!(!f.dirs[1].join("matched.csv").exists());
}

#[test]
fn rules_in_another_order_are_refused_by_name() {
    let f = fixture();
    let a = rule_args();
    let b = [
        "--rule",
        "email",
        "--rule",
        "phone",
        "--rule",
        "name+company",
    ];
    let [ra, rb] = f.session([&a, &b], &[]);
    for run in [&ra, &rb] {
        run.code(3).stderr_has("identifier type mismatch");
        assert!(run.stderr.contains("name+company"), "{}", run.stderr);
        assert!(run.stderr.contains("hint: "), "{}", run.stderr);
    }
    for dir in &f.dirs {
        assert!(!dir.join("matched.csv").exists());
    }
}

#[test]
fn each_rule_must_reach_the_minimum_peer_set() {
    let f = fixture();
    // B holds e-mails for most of its 240 customers, names and companies for two
    // thirds of them: a floor of 170 passes the e-mails and refuses the composite.
    let mut a = rule_args();
    a.extend(["--min-peer-set", "170"]);
    let [ra, rb] = f.session([&a, &rule_args()], &[]);
    ra.code(3).stderr_has("for rule name+company");
    rb.code(3);
    assert!(rb.stderr.contains("min-peer-set"), "{}", rb.stderr);
}

#[test]
fn golden_records_from_resolve_match_on_several_rules() {
    let f = fixture();
    let a = &f.dirs[0];
    // Side A's own records in two systems: phones in the CRM for customers 0..50,
    // phones and e-mails in the app for 25..75; resolve links them by phone.
    let crm: String = std::iter::once("id,tel\n".to_owned())
        .chain((0..50).map(|i| format!("c{i},{}\n", phone(i))))
        .collect();
    let app: String = std::iter::once("uid,mobile,mail\n".to_owned())
        .chain((25..75).map(|i| format!("u{i},+86 {},{}\n", phone(i), email(i))))
        .collect();
    std::fs::write(a.join("crm.csv"), crm).unwrap();
    std::fs::write(a.join("app.csv"), app).unwrap();
    util::run(
        a,
        &[
            "resolve",
            "--input",
            "crm.csv",
            "--column",
            "tel:phone",
            "--input",
            "app.csv",
            "--column",
            "mobile:phone",
            "--column",
            "mail:email",
            "--rule",
            "phone",
            "--rule",
            "email",
            "-o",
            "clusters.csv",
            "--golden",
            "golden.csv",
        ],
    )
    .ok();
    // Side B: phones for 60..100, e-mails for 10..40.
    let b: String = std::iter::once("client,mobile,e_mail\n".to_owned())
        .chain((10..100).map(|i| {
            let p = if i >= 60 { phone(i) } else { String::new() };
            let e = if i < 40 {
                email(i).to_uppercase()
            } else {
                String::new()
            };
            format!("b{i},{p},{e}\n")
        }))
        .collect();
    std::fs::write(f.dirs[1].join("partner.csv"), b).unwrap();
    let common = [
        "--min-peer-set",
        "0",
        "--wait-timeout",
        "60s",
        "--read-timeout",
        "30s",
        "-o",
        "matched.csv",
        "--identity",
        "me",
        "--rule",
        "phone",
        "--rule",
        "email",
    ];
    let mut args_a: Vec<String> = [
        "match",
        "--listen",
        "127.0.0.1:0",
        "--input",
        "golden.csv",
        "--column",
        "phone:phone",
        "--column",
        "email:email",
        "--keep",
        "cluster_id",
        "--peer-fingerprint",
        &f.fps[1],
    ]
    .map(String::from)
    .to_vec();
    args_a.extend(common.map(String::from));
    let pa = Party::spawn(a, &args_a, &[], None);
    let addr = pa.listening_addr();
    let mut args_b: Vec<String> = [
        "match",
        "--connect",
        &addr,
        "--input",
        "partner.csv",
        "--column",
        "mobile:phone",
        "--column",
        "e_mail:email",
        "--keep",
        "client",
        "--peer-fingerprint",
        &f.fps[0],
    ]
    .map(String::from)
    .to_vec();
    args_b.extend(common.map(String::from));
    let rb = Party::spawn(&f.dirs[1], &args_b, &[], None).finish(DEADLINE);
    let ra = pa.finish(DEADLINE);
    ra.ok();
    rb.ok();
    // B's matched clients: e-mails of 25..40 (A has e-mails only from the app) and
    // phones of 60..75.
    let text = std::fs::read_to_string(f.dirs[1].join("matched.csv")).unwrap();
    let clients: BTreeSet<String> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().to_owned())
        .collect();
    let expected: BTreeSet<String> = (25..40).chain(60..75).map(|i| format!("b{i}")).collect();
    assert_eq!(clients, expected);
    // A's side: one row per golden record (cluster) matched.
    let golden = std::fs::read_to_string(a.join("matched.csv")).unwrap();
    assert_eq!(golden.lines().count() - 1, expected.len());
}

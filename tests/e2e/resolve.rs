//! `blindmatch resolve`: three generated sources with known truth (formatting
//! noise, empty and invalid cells) resolve to exactly the true customers, in any
//! input order; guards; IDs kept with --previous; file modes; --force; every
//! bad-input case (exit 2, a clear message, nothing written); and no raw value in
//! the report or the printed output.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::Path;

use blindmatch_token::{IdType, Profile};
use serde_json::Value;

use crate::util::{Run, assert_files, run};

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

/// A valid citizen ID (GB 11643-1999 check character) for person `n`.
fn cn_id(n: u64) -> String {
    let first17 = format!("110105{:04}0101{:03}", 1950 + n % 50, n % 1000);
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    let sum: u32 = first17
        .bytes()
        .zip(W)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    let check = b"10X98765432"[(sum % 11) as usize] as char;
    format!("{first17}{check}")
}

struct Generated {
    /// Per (source, row): the customer.
    truth: BTreeMap<(String, u64), u64>,
    /// Every identifier cell written, raw, and its normalised form.
    raw: BTreeSet<String>,
}

/// Writes crm.csv (every customer: phone, e-mail, name), app.csv (some customers,
/// phone or e-mail, the other empty or invalid) and erp.csv (some customers, phone
/// with dashes or upper-case e-mail) into `dir`.
fn generate(dir: &Path, customers: u64) -> Generated {
    let mut rng = Lcg(42);
    let profile = Profile::standard();
    let mut truth = BTreeMap::new();
    let mut raw = BTreeSet::new();
    let mut crm = String::from("id,mobile,mail,full_name\n");
    let mut app = String::from("tel,email\n");
    let mut erp = String::from("contact,phone_no,e_mail\n");
    let (mut app_row, mut erp_row) = (0, 0);
    let keep = |v: &str, t: IdType, raw: &mut BTreeSet<String>| {
        if !v.is_empty() {
            raw.insert(v.to_owned());
            if let Ok(n) = profile.normalize(t, v) {
                raw.insert(n);
            }
        }
    };
    for c in 0..customers {
        let phone = format!("1390000{:04}", 1000 + c);
        let email = format!("person.{c}@example.cn");
        let crm_phone = format!("+86 {} {} {}", &phone[..3], &phone[3..7], &phone[7..]);
        let name = format!("Customer {c}");
        writeln!(crm, "C{c},{crm_phone},{email},{name}").unwrap();
        truth.insert(("crm".to_owned(), c + 1), c);
        keep(&crm_phone, IdType::Phone, &mut raw);
        keep(&email, IdType::Email, &mut raw);
        if rng.next() % 10 < 7 {
            let (p, e) = match rng.next() % 3 {
                0 => (phone.clone(), String::new()),
                1 => ("12345".to_owned(), email.to_uppercase()),
                _ => (format!("0086{phone}"), format!(" {email} ")),
            };
            writeln!(app, "{p},{e}").unwrap();
            app_row += 1;
            truth.insert(("app".to_owned(), app_row), c);
            keep(&p, IdType::Phone, &mut raw);
            keep(e.trim(), IdType::Email, &mut raw);
        }
        if rng.next() % 10 < 5 {
            let (p, e) = match rng.next() % 3 {
                0 => (String::new(), email.to_uppercase()),
                1 => (
                    format!("{}-{}-{}", &phone[..3], &phone[3..7], &phone[7..]),
                    "nobody-at-all".to_owned(),
                ),
                _ => (phone.clone(), email.clone()),
            };
            writeln!(erp, "x,{p},{e}").unwrap();
            erp_row += 1;
            truth.insert(("erp".to_owned(), erp_row), c);
            keep(&p, IdType::Phone, &mut raw);
            keep(&e, IdType::Email, &mut raw);
        }
    }
    fs::write(dir.join("crm.csv"), crm).unwrap();
    fs::write(dir.join("app.csv"), app).unwrap();
    fs::write(dir.join("erp.csv"), erp).unwrap();
    Generated { truth, raw }
}

const CRM: &[&str] = &[
    "--input",
    "crm.csv",
    "--column",
    "mobile:phone",
    "--column",
    "mail:email",
];
const APP: &[&str] = &[
    "--input",
    "app.csv",
    "--source",
    "app",
    "-c",
    "tel:phone",
    "-c",
    "email:email",
];
const ERP: &[&str] = &[
    "--input",
    "erp.csv",
    "--column",
    "phone_no:phone",
    "--column",
    "e_mail:email",
];

fn resolve(dir: &Path, groups: &[&[&str]], extra: &[&str]) -> Run {
    let mut args = vec!["resolve"];
    for g in groups {
        args.extend_from_slice(g);
    }
    args.extend_from_slice(extra);
    run(dir, &args)
}

/// The clusters file as (source, row) → (cluster ID, linked_by, first_seen).
fn read_clusters(path: &Path) -> BTreeMap<(String, u64), (String, String, String)> {
    let text = fs::read_to_string(path).unwrap();
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("source,row,cluster_id,linked_by,first_seen")
    );
    lines
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (
                (f[0].to_owned(), f[1].parse().unwrap()),
                (f[2].to_owned(), f[3].to_owned(), f[4].to_owned()),
            )
        })
        .collect()
}

/// Clusters as sets of records, for comparing partitions.
fn partition<K: Ord + Clone>(
    of: impl Iterator<Item = ((String, u64), K)>,
) -> BTreeSet<BTreeSet<(String, u64)>> {
    let mut groups: BTreeMap<K, BTreeSet<(String, u64)>> = BTreeMap::new();
    for (record, k) in of {
        groups.entry(k).or_default().insert(record);
    }
    groups.into_values().collect()
}

#[test]
fn three_sources_resolve_to_the_known_truth_without_leaking_values() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let data = generate(d, 60);
    let out = resolve(
        d,
        &[CRM, APP, ERP],
        &[
            "--rule",
            "phone",
            "--rule",
            "email",
            "-o",
            "clusters.csv",
            "--golden",
            "golden.csv",
            "--report",
            "report.json",
        ],
    );
    out.ok();
    let clusters = read_clusters(&d.join("clusters.csv"));
    assert_eq!(clusters.len(), data.truth.len(), "one line per record");
    let got = partition(
        clusters
            .iter()
            .map(|(r, (id, _, _))| (r.clone(), id.clone())),
    );
    let want = partition(data.truth.iter().map(|(r, c)| (r.clone(), *c)));
    assert_eq!(got, want);
    for (record, (id, linked_by, first_seen)) in &clusters {
        assert!(id.starts_with("cl-") && id.len() == 19, "{id}");
        assert_eq!(first_seen, "1");
        let alone = clusters.values().filter(|(i, _, _)| i == id).count() == 1;
        assert_eq!(linked_by.is_empty(), alone, "{record:?}");
    }
    let golden = fs::read_to_string(d.join("golden.csv")).unwrap();
    assert_eq!(
        golden.lines().next(),
        Some("cluster_id,records,sources,phone,email")
    );
    assert_eq!(golden.lines().count(), 61);
    assert!(
        golden.contains(",+8613900001000,person.0@example.cn\n"),
        "{golden}"
    );

    let report: Value =
        serde_json::from_str(&fs::read_to_string(d.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["format"], "blindmatch-resolve-report");
    assert_eq!(report["records"], data.truth.len() as u64);
    assert_eq!(report["clusters"], 60);
    assert_eq!(report["rules"][0]["rule"], "phone");
    assert_eq!(report["sources"][0]["name"], "app");
    assert_eq!(
        report["sources"][0]["input"]["sha256"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    let app_tel = &report["sources"][0]["columns"][0];
    assert!(app_tel["rejected"].as_u64().unwrap() > 0);
    assert!(app_tel["rejects"]["too_short"].as_u64().unwrap() > 0);
    assert!(
        report["profile"]["types"]["phone"]
            .as_str()
            .unwrap()
            .starts_with("bm-std-v1")
    );

    // No raw or normalised identifier in the report or anything printed.
    let report_text = fs::read_to_string(d.join("report.json")).unwrap();
    let printed = out.all_output();
    for value in &data.raw {
        assert!(
            !report_text.contains(value.as_str()),
            "report holds {value}"
        );
        assert!(!printed.contains(value.as_str()), "output holds {value}");
    }
    assert!(out.stdout.contains("resolved "), "{}", out.stdout);
    #[cfg(unix)]
    for name in ["clusters.csv", "golden.csv", "report.json"] {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join(name)).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{name}");
    }
}

#[test]
fn input_order_changes_nothing_and_force_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, 40);
    let rules = ["--rule", "email", "--rule", "phone"];
    resolve(
        d,
        &[CRM, APP, ERP],
        &[&rules[..], &["-o", "a.csv", "--golden", "ga.csv"]].concat(),
    )
    .ok();
    resolve(
        d,
        &[ERP, CRM, APP],
        &[&rules[..], &["-o", "b.csv", "--golden", "gb.csv"]].concat(),
    )
    .ok();
    assert_eq!(
        fs::read(d.join("a.csv")).unwrap(),
        fs::read(d.join("b.csv")).unwrap()
    );
    assert_eq!(
        fs::read(d.join("ga.csv")).unwrap(),
        fs::read(d.join("gb.csv")).unwrap()
    );

    let again = resolve(d, &[CRM, APP], &[&rules[..], &["-o", "a.csv"]].concat());
    again
        .code(2)
        .stderr_has("output file 'a.csv' already exists");
    assert_eq!(
        fs::read(d.join("a.csv")).unwrap(),
        fs::read(d.join("b.csv")).unwrap()
    );
    resolve(
        d,
        &[CRM, APP],
        &[&rules[..], &["-o", "a.csv", "--force"]].concat(),
    )
    .ok();
    assert_ne!(
        fs::read(d.join("a.csv")).unwrap(),
        fs::read(d.join("b.csv")).unwrap()
    );
    assert_files(
        d,
        &[
            "a.csv", "app.csv", "b.csv", "crm.csv", "erp.csv", "ga.csv", "gb.csv",
        ],
    );
}

#[test]
fn guards_keep_different_citizen_ids_apart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Two people share a household phone; their citizen IDs differ. Row 3 has
    // the phone and no citizen ID.
    let csv = format!(
        "phone,cid\n13900001111,{}\n13900001111,{}\n13900001111,\n",
        cn_id(1),
        cn_id(2)
    );
    fs::write(d.join("crm.csv"), csv).unwrap();
    let args = [
        "resolve",
        "--input",
        "crm.csv",
        "-c",
        "phone:phone",
        "-c",
        "cid:cn_id",
        "--rule",
        "phone",
    ];
    run(d, &[&args[..], &["-o", "open.csv"]].concat()).ok();
    let open = read_clusters(&d.join("open.csv"));
    assert_eq!(
        open.values().map(|v| &v.0).collect::<BTreeSet<_>>().len(),
        1
    );
    let out = run(
        d,
        &[
            &args[..],
            &[
                "--never-link-on",
                "cn_id",
                "-o",
                "guarded.csv",
                "--report",
                "r.json",
            ],
        ]
        .concat(),
    );
    out.ok();
    // Refused: row 2 joining row 1, and row 3 (already with row 1) joining row 2.
    assert!(
        out.stdout
            .contains("guard cn_id: 2 links refused (phone 2)"),
        "{}",
        out.stdout
    );
    let guarded = read_clusters(&d.join("guarded.csv"));
    let id = |row: u64| guarded[&("crm".to_owned(), row)].0.clone();
    assert_ne!(id(1), id(2));
    assert_eq!(id(1), id(3));
    let report: Value =
        serde_json::from_str(&fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["guards"][0]["field"], "cn_id");
    assert_eq!(report["guards"][0]["refused_by_rule"]["phone"], 2);
    assert!(
        !fs::read_to_string(d.join("r.json"))
            .unwrap()
            .contains(&cn_id(1))
    );
}

#[test]
fn previous_clusters_keep_their_ids() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, 30);
    let rules = ["--rule", "phone", "--rule", "email"];
    resolve(d, &[CRM, APP], &[&rules[..], &["-o", "gen1.csv"]].concat()).ok();
    // New customers appended to the CRM; an ERP source added.
    let mut crm = fs::read_to_string(d.join("crm.csv")).unwrap();
    crm.push_str("C900,13911112222,new@example.cn,New\n");
    fs::write(d.join("crm.csv"), crm).unwrap();
    let out = resolve(
        d,
        &[CRM, APP, ERP],
        &[
            &rules[..],
            &[
                "--previous",
                "gen1.csv",
                "-o",
                "gen2.csv",
                "--report",
                "r.json",
            ],
        ]
        .concat(),
    );
    out.ok();
    let gen1 = read_clusters(&d.join("gen1.csv"));
    let gen2 = read_clusters(&d.join("gen2.csv"));
    for (record, (id, _, seen)) in &gen1 {
        assert_eq!(&gen2[record].0, id, "{record:?} keeps its cluster ID");
        assert_eq!(&gen2[record].2, seen);
    }
    assert_eq!(
        gen2[&("crm".to_owned(), 31)].2,
        "2",
        "the new customer is first seen in generation 2"
    );
    let report: Value =
        serde_json::from_str(&fs::read_to_string(d.join("r.json")).unwrap()).unwrap();
    assert_eq!(report["previous"]["persisted"], 30);
    assert_eq!(report["previous"]["new"], 1);
    assert_eq!(report["generation"], 2);
    assert!(out.stdout.contains("30 IDs kept, 1 new"), "{}", out.stdout);
}

#[test]
fn bad_input_is_refused_with_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    generate(d, 5);
    fs::copy(d.join("crm.csv"), d.join("crm2.csv")).unwrap();
    let files = ["app.csv", "crm.csv", "crm2.csv", "erp.csv"];
    let out = ["-o", "out.csv", "--golden", "g.csv", "--report", "r.json"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
                "--rule",
                "email",
            ],
            "rule 'email' needs field email, which no source maps",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone+mobile",
            ],
            "'mobile', which is not an identifier type",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
                "--rule",
                "phone",
            ],
            "given twice",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone+",
            ],
            "has an empty field",
        ),
        (
            vec!["--input", "crm.csv", "-c", "tel:phone", "--rule", "phone"],
            "column 'tel' (--column) is not in the header of 'crm.csv'",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "-c",
                "mobile:email",
                "--rule",
                "phone",
            ],
            "column 'mobile' is given two fields (phone and email)",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "-c",
                "mail:phone",
                "--rule",
                "phone",
            ],
            "field phone is mapped from two columns, 'mobile' and 'mail'",
        ),
        (
            vec!["--input", "crm.csv", "-c", "mobile:cell", "--rule", "phone"],
            "unknown identifier type 'cell'",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--input",
                "crm2.csv",
                "--source",
                "crm",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
            ],
            "two sources are named 'crm'",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
                "--previous",
                "app.csv",
            ],
            "is not a clusters file",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
                "--never-link-on",
                "cn_id",
            ],
            "no source maps field cn_id",
        ),
        (
            vec![
                "-c",
                "mobile:phone",
                "--input",
                "crm.csv",
                "--rule",
                "phone",
            ],
            "--column comes before the first --input",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
                "--prefer",
                "newest",
            ],
            "not a survivorship policy",
        ),
        (
            vec![
                "--input",
                "crm.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
                "--prefer",
                "recent:updated",
            ],
            "column 'updated' (--prefer recent:updated) is not in the header",
        ),
        (
            vec![
                "--input",
                "nope.csv",
                "-c",
                "mobile:phone",
                "--rule",
                "phone",
            ],
            "cannot read input file 'nope.csv'",
        ),
    ];
    for (args, message) in cases {
        let argv: Vec<&str> = std::iter::once("resolve")
            .chain(args.iter().copied())
            .chain(out)
            .collect();
        let r = run(d, &argv);
        r.code(2).stderr_has(message);
        assert!(r.stderr.contains("hint: "), "{r:#?}");
        assert_files(d, &files);
    }
}

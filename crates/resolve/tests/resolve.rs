//! The library on real files: input-file order never changes clusters or IDs,
//! IDs persist, merge and split across runs with `--previous`, survivorship
//! policies, and bad input refused with nothing written.
#![allow(clippy::unwrap_used, missing_docs)]

use std::fs;
use std::path::Path;

use blindmatch_data::Silent;
use blindmatch_data::dataset::{ColumnSpec, InputSource};
use blindmatch_resolve::{ResolveConfig, SourceSpec, Survivorship, resolve};
use blindmatch_token::{IdType, Profile, RuleSet};

const CRM: &str = "\
id,mobile,mail,full_name,cid,updated
1,+86 138 0000 0001,a@x.cn,Wang Wei,,2024-01-01
2,+86 138 0000 0002,,Li Na,,2024-02-01
3,,c@x.cn,Zhang Min,,2024-03-01
4,+86 138 0000 0009,,Chen Jing,,
";

const APP: &str = "\
tel,email,nick,seen
138-0000-0001,A@X.CN,wang wei,2024-06-01T10:00:00+08:00
,c@x.cn,zhang,2023-01-01
13800000004,d@x.cn,Zhao Lei,2024-01-01
not a phone,,,2024-01-01
";

fn source(dir: &Path, name: &str, columns: &[&str]) -> SourceSpec {
    SourceSpec {
        name: name.to_owned(),
        input: InputSource::File(dir.join(format!("{name}.csv"))),
        columns: columns
            .iter()
            .map(|c| ColumnSpec::parse(c).unwrap())
            .collect(),
        delimiter: b',',
        format: None,
    }
}

fn setup() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("crm.csv"), CRM).unwrap();
    fs::write(dir.path().join("app.csv"), APP).unwrap();
    dir
}

fn config(dir: &Path, out: &str) -> ResolveConfig {
    ResolveConfig {
        sources: vec![
            source(
                dir,
                "crm",
                &["mobile:phone", "mail:email", "full_name:name"],
            ),
            source(dir, "app", &["tel:phone", "email:email", "nick:name"]),
        ],
        rules: RuleSet::parse(&["phone", "email"]).unwrap(),
        guards: Vec::new(),
        profile: Profile::standard(),
        previous: None,
        output: dir.join(out),
        golden: None,
        report: None,
        survivorship: Survivorship::default(),
        overwrite: false,
    }
}

/// The clusters file as (source, row) → cluster ID, and the lines.
fn clusters(path: &Path) -> Vec<Vec<String>> {
    fs::read_to_string(path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

#[test]
fn clusters_ids_and_linked_by() {
    let dir = setup();
    let d = dir.path();
    let summary = resolve(&config(d, "c.csv"), &Silent).unwrap();
    let rows = clusters(&d.join("c.csv"));
    // app rows first (sources by name), then crm.
    let key: Vec<(&str, &str)> = rows
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        key,
        [
            ("app", "1"),
            ("app", "2"),
            ("app", "3"),
            ("app", "4"),
            ("crm", "1"),
            ("crm", "2"),
            ("crm", "3"),
            ("crm", "4")
        ]
    );
    let id = |i: usize| rows[i][2].clone();
    assert_eq!(id(0), id(4), "app 1 and crm 1 share a phone and an e-mail");
    assert_eq!(id(1), id(6), "app 2 and crm 3 share an e-mail");
    let distinct: std::collections::BTreeSet<String> = (0..8).map(id).collect();
    assert_eq!(distinct.len(), 6);
    assert_eq!(rows[0][3], "phone");
    assert_eq!(rows[1][3], "email");
    assert_eq!(rows[3][3], "", "a singleton has no rule");
    assert!(rows.iter().all(|r| r[4] == "1"), "first generation");
    assert_eq!(summary.report.records, 8);
    assert_eq!(summary.report.clusters, 6);
    assert_eq!(summary.report.rules[0].links, 1);
    assert_eq!(
        summary.report.rules[1].links, 1,
        "app 1 / crm 1 already joined by phone"
    );
    // One rejected phone in app (row 4), counted by reason, never shown.
    let app = &summary.report.sources[0];
    assert_eq!(app.columns[0].rejected, 1);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = fs::metadata(d.join("c.csv")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn input_order_never_changes_clusters_or_ids() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("erp.csv"),
        "p,u\n13800000002,\n13800000004,91350100M000100Y43\n",
    )
    .unwrap();
    let mut base = config(d, "a.csv");
    base.sources.push(source(d, "erp", &["p:phone", "u:uscc"]));
    base.golden = Some(d.join("a.golden.csv"));
    resolve(&base, &Silent).unwrap();
    let expected = fs::read_to_string(d.join("a.csv")).unwrap();
    let golden = fs::read_to_string(d.join("a.golden.csv")).unwrap();
    let orders = [[0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
    for (n, order) in orders.iter().enumerate() {
        let mut c = base.clone();
        c.sources = order.iter().map(|&i| base.sources[i].clone()).collect();
        c.output = d.join(format!("o{n}.csv"));
        c.golden = Some(d.join(format!("o{n}.golden.csv")));
        resolve(&c, &Silent).unwrap();
        assert_eq!(
            fs::read_to_string(&c.output).unwrap(),
            expected,
            "order {order:?}"
        );
        assert_eq!(fs::read_to_string(c.golden.unwrap()).unwrap(), golden);
    }
}

/// Writes `csv` as the crm source (phone only) and resolves it with `--previous`.
fn run_phone(
    dir: &Path,
    csv: &str,
    out: &str,
    previous: Option<&str>,
) -> blindmatch_resolve::ResolveSummary {
    fs::write(dir.join("crm.csv"), csv).unwrap();
    let mut c = config(dir, out);
    c.sources = vec![source(dir, "crm", &["mobile:phone", "mail:email"])];
    c.previous = previous.map(|p| dir.join(p));
    resolve(&c, &Silent).unwrap()
}

fn ids(path: &Path) -> Vec<(String, String)> {
    clusters(path)
        .into_iter()
        .map(|r| (r[2].clone(), r[4].clone()))
        .collect()
}

#[test]
fn ids_persist_merge_keeps_oldest_and_splits_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Generation 1: {1,2} by phone, {3}, {4,5} by e-mail.
    let gen1 = "mobile,mail\n13800000001,\n13800000001,\n13800000003,\n,e@x.cn\n,e@x.cn\n";
    run_phone(d, gen1, "g1.csv", None);
    let g1 = ids(&d.join("g1.csv"));
    assert_eq!(g1[0], g1[1]);
    assert_eq!(g1[3], g1[4]);
    // Same data again: every ID persists.
    let same = run_phone(d, gen1, "g1b.csv", Some("g1.csv"));
    let g1b = ids(&d.join("g1b.csv"));
    assert_eq!(
        g1.iter().map(|x| &x.0).collect::<Vec<_>>(),
        g1b.iter().map(|x| &x.0).collect::<Vec<_>>()
    );
    let changes = same.report.previous.as_ref().unwrap();
    assert_eq!((changes.changes.persisted, changes.changes.new), (3, 0));
    assert_eq!(same.report.generation, 2);

    // Generation 2: a new row 6 bridges {1,2} (phone) and {3} (e-mail b@), and a
    // new singleton row 7.
    let gen2 = "mobile,mail\n13800000001,\n13800000001,\n13800000003,b@x.cn\n,e@x.cn\n,e@x.cn\n13800000001,b@x.cn\n13800000007,\n";
    let s2 = run_phone(d, gen2, "g2.csv", Some("g1.csv"));
    let g2 = ids(&d.join("g2.csv"));
    // {1,2,3,6} merged: the oldest of g1's two IDs (both generation 1: the smaller ID).
    let merged_from = [g1[0].0.clone(), g1[2].0.clone()];
    let oldest = merged_from.iter().min().unwrap().clone();
    for r in [0, 1, 2, 5] {
        assert_eq!(g2[r].0, oldest, "row {}", r + 1);
        assert_eq!(g2[r].1, "1", "kept IDs keep their first_seen");
    }
    assert_eq!(g2[3].0, g1[3].0, "the e-mail cluster persists");
    assert_eq!(g2[6].1, "2", "a new cluster is first seen in generation 2");
    let ch = &s2.report.previous.as_ref().unwrap().changes;
    assert_eq!(ch.merges.len(), 1);
    assert_eq!(ch.merges[0].kept, oldest);
    assert_eq!(ch.persisted, 2);
    assert_eq!(ch.new, 1);
    assert_eq!(ch.retired, 1);

    // Generation 3 from g2: row 6 now shares row 3's phone, not row 1's: the
    // merged cluster splits into {1,2} and {3,6}.
    let gen3 = "mobile,mail\n13800000001,\n13800000001,\n13800000003,\n,e@x.cn\n,e@x.cn\n13800000003,b@x.cn\n13800000007,\n";
    let s3 = run_phone(d, gen3, "g3.csv", Some("g2.csv"));
    let g3 = ids(&d.join("g3.csv"));
    let ch = &s3.report.previous.as_ref().unwrap().changes;
    assert_eq!(ch.splits.len(), 1, "{ch:?}");
    let split = &ch.splits[0];
    assert_eq!(split.previous, oldest);
    assert!(split.kept);
    // Both parts have two records: the tie goes to the part with the smaller
    // smallest record ({1,2}).
    assert_eq!(g3[0].0, oldest);
    assert_ne!(g3[2].0, oldest);
    assert_eq!(g3[2].0, g3[5].0);
    assert_eq!(split.parts, [oldest.clone(), g3[2].0.clone()]);
    assert_eq!(g3[2].1, "3");
    // No new ID reuses an ID of an earlier run.
    assert!(!g1.iter().any(|(id, _)| *id == g3[2].0));
}

#[test]
fn survivorship_policies() {
    let dir = setup();
    let d = dir.path();
    let mut c = config(d, "c.csv");
    c.golden = Some(d.join("g.csv"));
    c.survivorship = Survivorship::parse(["source:app", "email=source:crm"]).unwrap();
    resolve(&c, &Silent).unwrap();
    let golden = fs::read_to_string(d.join("g.csv")).unwrap();
    let lines: Vec<&str> = golden.lines().collect();
    assert_eq!(lines[0], "cluster_id,records,sources,phone,email,name");
    // The cluster of app 1 + crm 1: the name from app (lower-cased by the name
    // normaliser or not, it is app's).
    let first: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(&first[1..3], ["2", "app;crm"]);
    assert_eq!(first[3], "+8613800000001");
    assert_eq!(first[4], "a@x.cn");
    let app_name = Profile::standard()
        .normalize(IdType::Name, "wang wei")
        .unwrap();
    assert_eq!(first[5], app_name);

    // recent: every source mapping the field needs the date column.
    let mut c = config(d, "c2.csv");
    c.golden = Some(d.join("g2.csv"));
    c.survivorship = Survivorship::parse(["name=recent:updated"]).unwrap();
    // app has no `updated` column: a clear error naming file and column.
    let err = resolve(&c, &Silent).unwrap_err();
    let msg = format!("{err}");
    assert!(
        msg.contains("column 'updated'") && msg.contains("app.csv"),
        "{msg}"
    );
    assert!(!d.join("c2.csv").exists() && !d.join("g2.csv").exists());

    // recent: the latest date wins across sources; frequent for the rest.
    fs::write(
        d.join("s1.csv"),
        "p,n,updated\n13800000001,Old Name,2024-06-01\n13800000001,Old Name,\n",
    )
    .unwrap();
    fs::write(
        d.join("s2.csv"),
        "p,n,updated\n13800000001,New Name,2024-06-01T00:00:01Z\n",
    )
    .unwrap();
    let mut c = config(d, "c3.csv");
    c.sources = vec![
        source(d, "s1", &["p:phone", "n:name"]),
        source(d, "s2", &["p:phone", "n:name"]),
    ];
    c.rules = RuleSet::parse(&["phone"]).unwrap();
    c.golden = Some(d.join("g3.csv"));
    c.survivorship = Survivorship::parse(["name=recent:updated"]).unwrap();
    resolve(&c, &Silent).unwrap();
    let recent = Profile::standard()
        .normalize(IdType::Name, "New Name")
        .unwrap();
    let golden = fs::read_to_string(d.join("g3.csv")).unwrap();
    assert!(
        golden.ends_with(&format!(",3,s1;s2,+8613800000001,{recent}\n")),
        "{golden}"
    );
    c.output = d.join("c4.csv");
    c.golden = Some(d.join("g4.csv"));
    c.survivorship = Survivorship::default();
    resolve(&c, &Silent).unwrap();
    let frequent = Profile::standard()
        .normalize(IdType::Name, "Old Name")
        .unwrap();
    let golden = fs::read_to_string(d.join("g4.csv")).unwrap();
    assert!(golden.ends_with(&format!(",{frequent}\n")), "{golden}");
}

#[test]
fn bad_dates_and_missing_columns_name_file_line_and_column() {
    let dir = setup();
    let d = dir.path();
    fs::write(
        d.join("crm.csv"),
        "mobile,updated\n13800000001,2024-01-01\n13800000002,last week\n",
    )
    .unwrap();
    let mut c = config(d, "c.csv");
    c.sources = vec![source(d, "crm", &["mobile:phone"])];
    c.rules = RuleSet::parse(&["phone"]).unwrap();
    c.golden = Some(d.join("g.csv"));
    c.survivorship = Survivorship::parse(["recent:updated"]).unwrap();
    let msg = resolve(&c, &Silent).unwrap_err().to_string();
    assert!(msg.contains("crm.csv' line 3, column 'updated'"), "{msg}");
    assert!(!msg.contains("last week"), "{msg}");

    c.sources = vec![source(d, "crm", &["phone:phone"])];
    c.survivorship = Survivorship::default();
    let msg = resolve(&c, &Silent).unwrap_err().to_string();
    assert!(
        msg.contains("column 'phone' (--column) is not in the header"),
        "{msg}"
    );

    // A --previous file that is not a clusters file.
    c.sources = vec![source(d, "crm", &["mobile:phone"])];
    c.previous = Some(d.join("crm.csv"));
    let msg = resolve(&c, &Silent).unwrap_err().to_string();
    assert!(msg.contains("is not a clusters file"), "{msg}");
    assert_eq!(fs::read_dir(d).unwrap().count(), 2, "nothing written");
}

//! Criterion bench of a whole resolve run (read three CSV sources, normalise,
//! link by phone OR e-mail, assign IDs, write clusters and golden records) on
//! synthetic data. `cargo bench -p blindmatch-resolve`; throughput is records per
//! second. The 10^6-record figure of the command is in `docs/benchmarks.md`.

use std::path::Path;

use blindmatch_data::Silent;
use blindmatch_data::dataset::{ColumnSpec, InputSource};
use blindmatch_resolve::{ResolveConfig, SourceSpec, Survivorship, resolve};
use blindmatch_token::{Profile, RuleSet};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "support/synth.rs"]
mod synth;

fn source(dir: &Path, name: &str, columns: &[&str]) -> SourceSpec {
    SourceSpec {
        name: name.to_owned(),
        input: InputSource::File(dir.join(format!("{name}.csv"))),
        columns: columns
            .iter()
            .map(|c| ColumnSpec::parse(c).expect("column spec"))
            .collect(),
        delimiter: b',',
        format: None,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let mut g = c.benchmark_group("resolve");
    g.sample_size(10);
    for customers in [10_000u64, 100_000] {
        let (records, _) = synth::write_sources(d, customers, 7);
        let config = ResolveConfig {
            sources: vec![
                source(d, "crm", &["mobile:phone", "mail:email", "full_name:name"]),
                source(d, "app", &["tel:phone", "email:email", "nick:name"]),
                source(d, "erp", &["contact_phone:phone", "contact_email:email"]),
            ],
            rules: RuleSet::parse(&["phone", "email"]).expect("rules"),
            guards: Vec::new(),
            profile: Profile::standard(),
            previous: None,
            output: d.join("clusters.csv"),
            golden: Some(d.join("golden.csv")),
            report: None,
            survivorship: Survivorship::default(),
            overwrite: true,
        };
        g.throughput(Throughput::Elements(records));
        g.bench_function(format!("records-{records}"), |b| {
            b.iter(|| resolve(&config, &Silent).expect("resolve"))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

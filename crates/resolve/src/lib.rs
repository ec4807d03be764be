//! blindmatch-resolve: identity resolution on one party's own records.
#![doc = include_str!("../README.md")]

mod config;
mod ids;
mod link;
mod load;
mod previous;
mod report;
mod survive;
mod write;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use blindmatch_data::dataset::Format;
use blindmatch_data::meta::{FileInfo, Precision, ProfileInfo, Tool, now_rfc3339};
use blindmatch_data::output::{WrittenFile, check_outputs, clear_stale, commit_all, seal_atomic};
use blindmatch_data::{Error, Observer, Result};

pub use config::{MAX_SOURCE_NAME, Policy, ResolveConfig, SourceSpec, Survivorship};
pub use ids::{Changes, ID_DOMAIN, Merge, Split};
pub use link::MAX_RULES;
pub use load::{ColumnLoad, SourceLoad};
pub use previous::CLUSTERS_HEADER;
pub use report::{
    ColumnReport, FORMAT, GuardReport, PreviousReport, ResolveReport, RuleReport, SourceReport,
    VERSION,
};

/// What a finished run did. Every file it names is written.
#[derive(Debug, Clone)]
pub struct ResolveSummary {
    /// The report's content (also written to `--report` when asked).
    pub report: ResolveReport,
    /// The clusters file.
    pub clusters_file: WrittenFile,
    /// The golden records file, if asked.
    pub golden_file: Option<WrittenFile>,
    /// The report file, if asked.
    pub report_file: Option<WrittenFile>,
    /// Wall-clock time of the run.
    pub elapsed: Duration,
}

/// Links the records of every source into clusters and writes the clusters
/// file, and the golden records and report when asked. All outputs appear
/// together, complete, or none does.
///
/// # Errors
/// Bad input (exit 2) before anything is written: a bad configuration
/// ([`ResolveConfig::check`]), an output that exists without `overwrite`, an
/// unreadable or malformed input, a missing column, an unparsable date, a
/// `--previous` file that is not a clusters file. A failure writing the outputs
/// leaves none behind.
pub fn resolve(config: &ResolveConfig, observer: &dyn Observer) -> Result<ResolveSummary> {
    let started = Instant::now();
    let started_at = now_rfc3339(Precision::Full);
    config.check()?;
    if config.rules.len() > MAX_RULES {
        return Err(Error::bad_input(format!("more than {MAX_RULES} rules"))
            .hint("combine rules or resolve in stages"));
    }
    let mut outputs: Vec<(&str, &Path)> = vec![("-o", config.output.as_path())];
    if let Some(p) = &config.golden {
        outputs.push(("--golden", p));
    }
    if let Some(p) = &config.report {
        outputs.push(("--report", p));
    }
    for source in &config.sources {
        check_outputs(&source.input, &outputs, config.overwrite)?;
    }
    for (_, path) in &outputs {
        clear_stale(path, observer);
    }

    let loaded = load::load(config, observer)?;
    let previous = match &config.previous {
        Some(path) => Some(previous::read_previous(path, &loaded)?),
        None => None,
    };
    let field_pos = |f| loaded.field_index(f).unwrap_or(usize::MAX);
    let rules: Vec<Vec<usize>> = config
        .rules
        .rules()
        .iter()
        .map(|r| r.fields().iter().map(|&f| field_pos(f)).collect())
        .collect();
    let guards: Vec<usize> = config.guards.iter().map(|&g| field_pos(g)).collect();
    let clustering = link::link(&loaded.values, loaded.records, &rules, &guards);
    let assigned = ids::assign(&loaded, &clustering, previous.as_ref());
    let members = survive::Members::new(&clustering);

    let clusters_sealed = write::write_clusters(
        &config.output,
        config.overwrite,
        &loaded,
        &clustering,
        &assigned,
        &config.rules,
    )?;
    let golden_sealed = match &config.golden {
        Some(path) => {
            let survivor = survive::Survivor::new(&config.survivorship, &loaded);
            Some(write::write_golden(
                path,
                config.overwrite,
                &loaded,
                &members,
                &assigned,
                &survivor,
            )?)
        }
        None => None,
    };
    let mut written = vec![file_info(clusters_sealed.info())];
    written.extend(golden_sealed.as_ref().map(|g| file_info(g.info())));

    let mut report = build_report(
        config,
        &loaded,
        &clustering,
        &members,
        &assigned,
        previous.as_ref(),
    );
    report.outputs = written;
    report.started_at = started_at;
    report.finished_at = now_rfc3339(Precision::Full);
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    let report_sealed = match &config.report {
        Some(path) => Some(seal_atomic(
            path,
            &report.to_json(),
            config.overwrite,
            true,
        )?),
        None => None,
    };
    let has_golden = golden_sealed.is_some();
    let mut sealed = vec![clusters_sealed];
    sealed.extend(golden_sealed);
    sealed.extend(report_sealed);
    let mut files = commit_all(sealed)?.into_iter();
    let clusters_file = files
        .next()
        .ok_or_else(|| Error::failed("the clusters file was not written"))?;
    let golden_file = if has_golden { files.next() } else { None };
    let report_file = files.next();
    Ok(ResolveSummary {
        report,
        clusters_file,
        golden_file,
        report_file,
        elapsed: started.elapsed(),
    })
}

/// A table output as the report records it, with its format.
fn file_info(w: &WrittenFile) -> FileInfo {
    FileInfo::new(&w.path, w.sha256.clone(), w.bytes)
        .with_format(Format::of_output(&w.path).as_str())
}

/// The report's content (outputs and times are filled in by the caller).
fn build_report(
    config: &ResolveConfig,
    loaded: &load::Loaded,
    clustering: &link::Clustering,
    members: &survive::Members,
    assigned: &ids::Assigned,
    previous: Option<&previous::Previous>,
) -> ResolveReport {
    let mut sizes: BTreeMap<u64, u64> = BTreeMap::new();
    for c in 0..clustering.clusters() {
        *sizes.entry(members.of(c).len() as u64).or_default() += 1;
    }
    let rule_names = config.rules.names();
    let mut first_links = vec![0u64; rule_names.len()];
    for &l in &clustering.linked_by {
        if let Some(n) = first_links.get_mut(usize::from(l)) {
            *n += 1;
        }
    }
    ResolveReport {
        format: FORMAT,
        version: VERSION,
        tool: Tool::current(),
        profile: ProfileInfo::new(&config.profile, loaded.fields.iter().copied()),
        sources: loaded
            .sources
            .iter()
            .map(|s| SourceReport {
                name: s.name.clone(),
                input: FileInfo::new(&s.path, s.sha256.clone(), s.bytes)
                    .with_format(s.format.as_str()),
                rows: s.rows,
                columns: s
                    .columns
                    .iter()
                    .map(|c| ColumnReport {
                        column: c.column.clone(),
                        field: c.field.as_str().to_owned(),
                        values: c.counts.values,
                        empty: c.counts.empty,
                        rejected: c.counts.rejected,
                        rejects: c.rejects.iter().map(|(r, n)| (r.code(), *n)).collect(),
                    })
                    .collect(),
            })
            .collect(),
        rules: rule_names
            .iter()
            .enumerate()
            .map(|(i, name)| RuleReport {
                rule: name.clone(),
                links: clustering.unions[i],
                records_linked: first_links[i],
            })
            .collect(),
        guards: config
            .guards
            .iter()
            .zip(&clustering.refusals)
            .map(|(g, per_rule)| GuardReport {
                field: g.as_str().to_owned(),
                refused: per_rule.iter().sum(),
                refused_by_rule: rule_names
                    .iter()
                    .cloned()
                    .zip(per_rule.iter().copied())
                    .collect(),
            })
            .collect(),
        survivorship: loaded
            .fields
            .iter()
            .map(|&f| {
                (
                    f.as_str().to_owned(),
                    config.survivorship.policy(f).describe(),
                )
            })
            .collect(),
        records: u64::from(loaded.records),
        clusters: clustering.clusters() as u64,
        singletons: sizes.get(&1).copied().unwrap_or(0),
        largest_cluster: sizes.keys().next_back().copied().unwrap_or(0),
        cluster_sizes: sizes,
        generation: assigned.generation,
        previous: previous.map(|p| PreviousReport {
            file: FileInfo::new(&p.path, p.sha256.clone(), p.bytes),
            rows: p.rows,
            clusters: p.ids.len() as u64,
            changes: assigned.changes.clone().unwrap_or_default(),
        }),
        outputs: Vec::new(),
        started_at: String::new(),
        finished_at: String::new(),
        elapsed_seconds: 0.0,
    }
}

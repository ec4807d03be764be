//! The tokenize pipeline: a CSV of customer records in, a CSV of keyed tokens out,
//! with a JSON manifest beside it and an optional rejects file.
//!
//! The pipeline streams in constant memory: a reader thread parses records into a
//! fixed number of reused work items (from Parquet or Arrow, an item is a range of
//! the current record batch, whose cells the workers read in place: nothing is
//! copied per cell); worker threads each take the next item,
//! normalise and tokenise it; the main thread puts finished items back in input
//! order, counts them and hands their text to a writer thread (which also hashes
//! it). No worker waits for another. Short-code registries (one entry per
//! distinct code) are the only state that grows with the input, and only when
//! short codes are asked for.
//!
//! A rejected cell is written as an empty cell and counted (per column and reason,
//! and in the rejects file by row number): its row is kept so row counts and kept
//! columns stay aligned, and the raw value never reaches any output.
//!
//! Every output is checked before any work and committed together at the end, so
//! bad usage writes nothing and a failure leaves nothing behind.

mod chunk;
mod column;
mod config;
mod registry;
mod setup;
mod threads;

use std::collections::HashSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use blindmatch_data::dataset::{
    Columns, DatasetReader, Format, OutputColumn, REJECTS_HEADER, shown_header,
};
use blindmatch_data::meta::{Precision, now_rfc3339};
use blindmatch_data::output::{
    AtomicFile, ColumnTypes, OutputTarget, TableFile, check_outputs, clear_stale, commit_all,
};
use blindmatch_data::text::write_field;
use blindmatch_data::{Error, FailWith, Observer, Result};
use blindmatch_token::token;
use sha2::{Digest, Sha256};

use crate::manifest::{self, FileInfo, RateCheck, RowCounts, TokenizeManifest};
use chunk::Plan;
pub use column::{ColumnTokenizer, ColumnTokens};
pub use config::{ColumnSummary, RegistrySummary, TokenizeConfig, TokenizeSummary};
use threads::{Sink, Totals, write_failure};

/// What the manifest says happens to a rejected cell.
const REJECTED_CELLS: &str = "written empty; counted by reason; listed by row in the rejects file";

/// Runs the tokenize pipeline.
///
/// # Errors
/// Bad input before anything is written (options, paths, key files, the CSV);
/// I/O failures and short-code collisions with no output left behind. A reject
/// rate above the limit is not an error here: see [`TokenizeSummary::check`].
pub fn tokenize(config: &TokenizeConfig, observer: &dyn Observer) -> Result<TokenizeSummary> {
    let started = Instant::now();
    let started_at = now_rfc3339(Precision::Full);
    let spec = &config.input;
    let profile = &config.profile;
    let output_path = match &config.output {
        OutputTarget::File(path) => path.clone(),
        OutputTarget::Stdout => PathBuf::from("-"),
    };

    // Every output path is checked before any work, so bad usage writes nothing.
    let manifest_path = config.manifest_path();
    let mut outputs: Vec<(&str, &Path)> = Vec::new();
    if let OutputTarget::File(path) = &config.output {
        outputs.push(("-o", path));
    }
    outputs.extend(manifest_path.as_deref().map(|p| ("--manifest", p)));
    outputs.extend(config.rejects.as_deref().map(|p| ("--rejects", p)));
    check_outputs(&spec.source, &outputs, config.overwrite)?;
    for (_, path) in &outputs {
        clear_stale(path, observer);
    }

    let keys = setup::Keys::load(config, observer)?;
    // The registry is read (and its replacement made) before any work, so a
    // registry for another key, or a damaged one, writes nothing.
    let (registry_file, shared_registry) = match (&config.short_code_registry, &keys.coder) {
        (None, _) => (None, None),
        (Some(path), Some(coder)) => {
            let (file, registry) = registry::open(path, coder, &spec.source, &outputs)?;
            (Some(file), Some(registry))
        }
        (Some(_), None) => {
            return Err(Error::bad_input(
                "--short-code-registry records short codes, and no --short-code column was given",
            )
            .hint("add --short-code COLUMN, or leave out --short-code-registry"));
        }
    };
    let workers = config
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
        .max(1);

    let mut reader = DatasetReader::open_spec(spec)?;
    // Hashes are for the manifest only: with none (`-o -` without --manifest,
    // and the passthrough baseline) neither file is hashed.
    let hashing = manifest_path.is_some();
    if !hashing {
        reader.skip_hashing();
    }
    let columns = Columns::resolve(reader.header(), &spec.columns, &spec.keep, reader.name())?;
    reader.use_columns(&columns)?;
    // The workers check every used cell for UTF-8 (once, as they read it), so the
    // reader checks none.
    let source_name = reader.name().to_owned();
    let coded = setup::coded_columns(&columns, &config.short_codes)?;
    let header = setup::output_header(&columns, keys.previous.is_some(), &coded)?;
    // Dropped columns are named in the manifest only as far as their names do not
    // look like identifiers.
    let dropped: Vec<String> = {
        let used: HashSet<usize> = columns.used_indices().into_iter().collect();
        reader
            .header()
            .iter()
            .enumerate()
            .filter(|(i, _)| !used.contains(i))
            .map(|(i, h)| shown_header(h, i))
            .collect()
    };
    tracing::info!(
        input = %reader.name(),
        profile = %profile.name(),
        key_id = ?keys.current.as_ref().map(|t| t.key_id().to_string()),
        columns = columns.ids.len(),
        kept = columns.keep.len(),
        dropped = dropped.len(),
        "tokenize: starting"
    );
    if config.passthrough {
        tracing::warn!("passthrough mode: identifier cells are copied unchanged, not tokenised");
    }

    let output_format = match &config.output {
        OutputTarget::File(path) => Format::of_output(path),
        OutputTarget::Stdout => Format::Csv,
    };
    let mut sink = match &config.output {
        OutputTarget::File(path) => {
            // A Parquet output keeps the kept columns' Arrow types; tokens and
            // codes are text.
            let mut types = ColumnTypes::new();
            for kept in &columns.keep {
                if let Some(data_type) = reader.column_type(kept.index) {
                    types.set(kept.name.clone(), data_type);
                }
            }
            Sink::File(TableFile::create(
                path,
                config.overwrite,
                true,
                spec.delimiter,
                types,
            )?)
        }
        OutputTarget::Stdout => Sink::Stdout {
            out: threads::raw_stdout(),
            hasher: hashing.then(Sha256::new),
            bytes: 0,
        },
    };
    // The manifest's temporary file is made now, beside the others, so a folder
    // that does not exist or cannot be written fails before the input is read;
    // its content is written at the end.
    let manifest_file = match (&manifest_path, &keys.current_info) {
        (Some(path), Some(_)) => Some(AtomicFile::create(path, config.overwrite, false)?),
        _ => None,
    };
    let mut rejects_file = match &config.rejects {
        Some(path) => {
            let mut file = AtomicFile::create(path, config.overwrite, false)?;
            file.write_all(REJECTS_HEADER)
                .fail_with(|| write_failure(path))?;
            Some(file)
        }
        None => None,
    };
    let mut line = Vec::with_capacity(256);
    for (i, name) in header.iter().enumerate() {
        if i > 0 {
            line.push(spec.delimiter);
        }
        write_field(&mut line, name.as_bytes(), spec.delimiter);
    }
    line.push(b'\n');
    sink.write_all(&line)
        .fail_with(|| write_failure(&output_path))?;

    let plan = Plan {
        columns: &columns,
        profile,
        current: keys.current.as_ref(),
        previous: keys.previous.as_ref(),
        coder: keys.coder.as_ref(),
        coded: &coded,
        id_order: columns
            .output_order
            .iter()
            .enumerate()
            .filter_map(|(position, column)| match column {
                OutputColumn::Id(n) => Some((position, *n)),
                OutputColumn::Keep(_) => None,
            })
            .collect(),
        delimiter: spec.delimiter,
        source: &source_name,
        short_code_len: config.short_code_len,
    };
    let mut totals = Totals::new(columns.ids.len(), shared_registry);
    observer.progress_start("tokenize", reader.size());
    let reader = threads::run(
        reader,
        &plan,
        workers,
        &mut sink,
        rejects_file.as_mut(),
        &mut totals,
        &output_path,
        observer,
    )?;
    observer.progress_end();
    let input = reader.finish()?;
    if input.rows == 0 {
        tracing::warn!(input = %spec.source.name(), "the input has a header but no data rows");
    }

    // Every file is sealed first (the manifest records their hashes) and all are
    // committed together at the end, so a failure on one (a manifest folder that
    // does not exist) never leaves a token file without its manifest.
    let (written, sealed_output) = sink.seal()?;
    let sealed_rejects = rejects_file.map(AtomicFile::seal).transpose()?;
    let rejects_written = sealed_rejects.as_ref().map(|s| s.info().clone());
    // The registry file: the earlier codes and this run's, written only now that
    // every code of the run was checked.
    let (sealed_registry, registry_written) =
        match (registry_file, totals.shared_registry(), &keys.coder) {
            (Some(file), Some(registry), Some(coder)) => {
                let codes_before = file.codes_before;
                let sealed = file.seal(registry, coder)?;
                let summary = RegistrySummary {
                    file: sealed.info().clone(),
                    key_id: coder.key_id().to_string(),
                    length: coder.len(),
                    codes_before,
                    codes_after: registry.len() as u64,
                };
                (Some(sealed), Some(summary))
            }
            _ => (None, None),
        };

    // The reject-rate check: the worst column against the limit.
    let (worst_column, worst_rate) = columns
        .ids
        .iter()
        .zip(&totals.counts)
        .map(|(c, n)| (c.name.clone(), n.reject_rate()))
        .fold(
            (None, 0.0f64),
            |(wc, wr), (c, r)| if r > wr { (Some(c), r) } else { (wc, wr) },
        );
    let rate_check = config.max_reject_rate.map(|max_rate| RateCheck {
        max_rate,
        worst_rate,
        worst_column: worst_column.clone(),
        passed: worst_rate <= max_rate,
    });

    let input_path = spec.source.display_path();
    let elapsed = started.elapsed();
    let sealed_manifest = match (manifest_file, keys.current_info) {
        (Some(mut file), Some(key_info)) => {
            let manifest = TokenizeManifest {
                format: manifest::FORMAT,
                version: manifest::VERSION,
                command: "tokenize",
                tool: manifest::Tool::current(),
                profile: manifest::ProfileInfo::new(profile, columns.ids.iter().map(|c| c.id_type)),
                token: manifest::TokenInfo {
                    format: token::TOKEN_PREFIX,
                    mac_bytes: config.token_bytes,
                },
                key: key_info,
                previous_key: keys.previous_info,
                input: FileInfo::new(&input_path, input.sha256.clone(), input.bytes)
                    .with_format(input.format.as_str()),
                output: FileInfo::new(&written.path, written.sha256.clone(), written.bytes)
                    .with_format(output_format.as_str()),
                rejects_file: rejects_written
                    .as_ref()
                    .map(|w| FileInfo::new(&w.path, w.sha256.clone(), w.bytes)),
                short_code_registry: registry_written.as_ref().map(|r| manifest::RegistryInfo {
                    file: FileInfo::new(&r.file.path, r.file.sha256.clone(), r.file.bytes),
                    key_id: r.key_id.clone(),
                    length: r.length,
                    codes_before: r.codes_before,
                    codes_after: r.codes_after,
                }),
                columns: setup::column_infos(&columns, &totals, keys.previous.is_some(), &coded),
                kept_columns: columns.keep.iter().map(|c| c.name.clone()).collect(),
                dropped_columns: dropped,
                rejected_cells: REJECTED_CELLS,
                rows: RowCounts {
                    read: input.rows,
                    written: input.rows,
                    with_rejects: totals.rows_with_rejects,
                },
                rejects: totals.by_reason(),
                reject_rate_check: rate_check.clone(),
                started_at,
                finished_at: now_rfc3339(Precision::Full),
                elapsed_seconds: elapsed.as_secs_f64(),
            };
            let json = manifest.to_json()?;
            let path = file.path().to_path_buf();
            file.write_all(&json).fail_with(|| write_failure(&path))?;
            Some(file.seal()?)
        }
        _ => None,
    };
    let manifest_written = sealed_manifest.as_ref().map(|s| s.info().clone());
    // The registry comes last: it replaces the earlier one, which a failed
    // commit of another file then leaves untouched.
    commit_all(
        sealed_output
            .into_iter()
            .chain(sealed_rejects)
            .chain(sealed_manifest)
            .chain(sealed_registry)
            .collect(),
    )?;
    tracing::info!(
        rows = input.rows,
        rejected = totals.tally.total(),
        seconds = elapsed.as_secs_f64(),
        "tokenize: done"
    );

    Ok(TokenizeSummary {
        input: spec.source.name(),
        rows: input.rows,
        output: written,
        manifest: manifest_written,
        rejects_file: rejects_written,
        short_code_registry: registry_written,
        columns: columns
            .ids
            .iter()
            .enumerate()
            .map(|(n, c)| ColumnSummary {
                name: c.name.clone(),
                id_type: c.id_type,
                counts: totals.counts.get(n).copied().unwrap_or_default(),
                rejects: totals.tally.by_reason(n).collect(),
            })
            .collect(),
        rejected: totals.tally.total(),
        rows_with_rejects: totals.rows_with_rejects,
        elapsed,
        passthrough: config.passthrough,
        reject_rate_check: rate_check,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use blindmatch_data::dataset::InputSpec;
    use blindmatch_data::dataset::{Cell, normalize_cell_append};
    use blindmatch_data::{Category, Error};
    use blindmatch_token::{IdType, KeyFile, KeyPurpose, Profile, ShortCoder};

    /// A config as `blindmatch tokenize` makes it from these arguments (the
    /// options these tests use), with the command's defaults.
    fn args(list: &[&str]) -> TokenizeConfig {
        let (mut input, mut columns, mut keep) = (String::new(), Vec::new(), Vec::new());
        let mut config = TokenizeConfig {
            input: InputSpec::parse(Path::new("-"), &[], &[], ",").unwrap(),
            profile: Profile::default(),
            key: None,
            previous_key: None,
            output: OutputTarget::Stdout,
            manifest: None,
            rejects: None,
            max_reject_rate: None,
            short_codes: Vec::new(),
            short_code_len: ShortCoder::DEFAULT_LEN,
            short_code_registry: None,
            token_bytes: token::FULL_LEN,
            overwrite: false,
            threads: None,
            passthrough: false,
        };
        let mut rest = list.iter().copied();
        while let Some(flag) = rest.next() {
            if flag == "--passthrough" {
                config.passthrough = true;
                continue;
            }
            let value = rest.next().unwrap();
            match flag {
                "--input" => input = value.to_owned(),
                "--column" => columns.push(value.to_owned()),
                "--keep" => keep.push(value.to_owned()),
                "--key" => config.key = Some(value.into()),
                "-o" => config.output = OutputTarget::parse(Path::new(value)),
                "--manifest" => config.manifest = Some(value.into()),
                "--rejects" => config.rejects = Some(value.into()),
                "--short-code" => config.short_codes.push(value.to_owned()),
                "--short-code-len" => config.short_code_len = value.parse().unwrap(),
                "--short-code-registry" => config.short_code_registry = Some(value.into()),
                "--threads" => config.threads = Some(value.parse().unwrap()),
                _ => panic!("no such option in these tests: {flag}"),
            }
        }
        config.input = InputSpec::parse(Path::new(&input), &columns, &keep, ",").unwrap();
        config
    }

    /// A whole run, the reject-rate check included.
    fn run(config: TokenizeConfig) -> Result<TokenizeSummary> {
        let summary = tokenize(&config, &blindmatch_data::Silent)?;
        summary.check()?;
        Ok(summary)
    }

    /// An error and its causes on one line, as the CLI prints it.
    fn full(err: &Error) -> String {
        let mut text = err.to_string();
        let mut cause = std::error::Error::source(err);
        while let Some(c) = cause {
            text.push_str(&format!(": {c}"));
            cause = c.source();
        }
        text
    }

    /// The names in `dir`, sorted.
    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn key_in(dir: &Path) -> String {
        let path = dir.join("test.key");
        KeyFile::generate(KeyPurpose::Master)
            .unwrap()
            .write_new(&path)
            .unwrap();
        path.display().to_string()
    }

    #[cfg(not(feature = "bench-passthrough"))]
    #[test]
    fn passthrough_is_refused_unless_built_for_benchmarks() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "id,phone\n1,13812345678\n").unwrap();
        let (i, o) = (input.display().to_string(), dir.path().join("out.csv"));
        let o = o.display().to_string();
        let config = args(&[
            "--passthrough",
            "--input",
            &i,
            "--column",
            "phone:phone",
            "-o",
            &o,
        ]);
        let err = tokenize(&config, &blindmatch_data::Silent).unwrap_err();
        assert_eq!(err.category(), Category::BadInput);
        assert!(err.to_string().contains("benchmark baseline"), "{err}");
        assert!(!dir.path().join("out.csv").exists());
    }

    #[cfg(feature = "bench-passthrough")]
    #[test]
    fn passthrough_rewrites_the_used_columns_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        let output = dir.path().join("out.csv");
        std::fs::write(
            &input,
            "id,drop,phone\n1,x,138 1234 5678\n\"2,b\",y,\n3,z,\"say \"\"hi\"\"\"\n",
        )
        .unwrap();
        let (i, o) = (input.display().to_string(), output.display().to_string());
        let list = ["--passthrough", "--input", &i, "--column", "phone:phone"];
        run(args(&[&list[..], &["--keep", "id", "-o", &o]].concat())).unwrap();
        assert_eq!(
            std::fs::read_to_string(&output).unwrap(),
            "id,phone\n1,138 1234 5678\n\"2,b\",\n3,\"say \"\"hi\"\"\"\n"
        );
        // No manifest: the baseline writes none.
        assert!(!dir.path().join("out.csv.manifest.json").exists());
    }

    #[test]
    fn a_late_bad_cell_stops_every_thread_and_the_first_one_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_in(dir.path());
        let input = dir.path().join("in.csv");
        let mut csv = b"id,phone\n".to_vec();
        for row in 1..=20_000u32 {
            match row {
                // Both cells of row 15,000 are bad; the kept column comes first.
                15_000 => csv.extend_from_slice(b"\xff,\xfe\n"),
                15_001 => csv.extend_from_slice(b"15001,\xfe\n"),
                _ => {
                    csv.extend_from_slice(format!("{row},1381234{:04}\n", row % 10_000).as_bytes())
                }
            }
        }
        std::fs::write(&input, csv).unwrap();
        let output = dir.path().join("out.csv");
        let (i, o) = (input.display().to_string(), output.display().to_string());
        for threads in ["1", "4"] {
            let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
            let tail = ["--keep", "id", "--threads", threads, "-o", &o];
            let err = run(args(&[&list[..], &tail].concat())).unwrap_err();
            assert_eq!(
                err.to_string(),
                format!("'{i}' line 15001, column 'id': not valid UTF-8"),
                "{threads} threads"
            );
            let mut left: Vec<_> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            left.sort();
            assert_eq!(left, ["in.csv", "test.key"], "{threads} threads");
        }
    }

    /// How a failed run failed.
    fn status_of(err: &Error) -> Option<Category> {
        Some(err.category())
    }

    #[test]
    fn a_manifest_that_cannot_be_written_leaves_no_token_or_rejects_file() {
        let dir = tempfile::tempdir().unwrap();
        let key = key_in(dir.path());
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "id,phone\n1,13812345678\n2,123\n").unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let (i, o, r) = (path("in.csv"), path("out.csv"), path("rejects.csv"));
        // The manifest's folder does not exist, or is a file (root ignores
        // permissions, so those cannot make it fail): the run stops before any
        // work and the token and rejects files, already begun, are gone.
        for manifest in [path("no/such/dir/m.json"), path("in.csv/m.json")] {
            let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
            let tail = ["-o", &o, "--rejects", &r, "--manifest", &manifest];
            let err = run(args(&[&list[..], &tail].concat())).unwrap_err();
            assert!(
                full(&err).starts_with("cannot create output file in"),
                "{err:#}"
            );
            assert!(status_of(&err).is_some());
            assert_eq!(names_in(dir.path()), ["in.csv", "test.key"], "{manifest}");
        }
        // It is found before the input is read: a ragged row further on is
        // never reached.
        std::fs::write(&input, "id,phone\n1,13812345678\n2,123,extra\n").unwrap();
        let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
        let tail = ["-o", &o, "--manifest", &path("no/such/dir/m.json")];
        let err = run(args(&[&list[..], &tail].concat())).unwrap_err();
        assert!(
            full(&err).starts_with("cannot create output file in"),
            "{err:#}"
        );
        assert_eq!(status_of(&err), Some(Category::BadInput));
        std::fs::write(&input, "id,phone\n1,13812345678\n2,123\n").unwrap();
        // With a manifest that can be written, all three appear.
        let list = ["--key", &key, "--input", &i, "--column", "phone:phone"];
        let tail = ["-o", &o, "--rejects", &r, "--manifest", &path("m.json")];
        run(args(&[&list[..], &tail].concat())).unwrap();
        assert_eq!(
            names_in(dir.path()),
            ["in.csv", "m.json", "out.csv", "rejects.csv", "test.key"]
        );
    }

    #[test]
    fn a_short_code_collision_stops_the_run_without_naming_a_value() {
        use blindmatch_token::{Derivation, Key};
        let dir = tempfile::tempdir().unwrap();
        // A fixed key, so the search below finds the same pair every time.
        let key = dir.path().join("test.key");
        let created = time::OffsetDateTime::now_utc();
        KeyFile::new(
            Key::from_bytes([7; 32]),
            KeyPurpose::Master,
            Derivation::Random,
            created,
        )
        .write_new(&key)
        .unwrap();
        // Two different values with one 8-character code (40 bits), found by a
        // birthday search over about a million values with the coder the command
        // builds from that key file.
        let coder = setup::short_coder(&KeyFile::read(&key).unwrap(), ShortCoder::MIN_LEN).unwrap();
        let profile = Profile::standard();
        let mut seen: std::collections::HashMap<[u8; 8], u32> = Default::default();
        let mut value = String::new();
        let value_of = |i: u32| format!("c{i:08}");
        let (a, b) = (0u32..)
            .find_map(|i| {
                value.clear();
                let cell = normalize_cell_append(&profile, IdType::Raw, &value_of(i), &mut value);
                assert_eq!(cell, Cell::Value);
                let code = coder.code(IdType::Raw, value.as_bytes());
                let data: [u8; 8] = code.as_str().as_bytes().get(..8)?.try_into().ok()?;
                seen.insert(data, i)
                    .map(|first| (value_of(first), value_of(i)))
            })
            .unwrap();
        assert_ne!(a, b);
        let input = dir.path().join("in.csv");
        std::fs::write(&input, format!("id,note\n{a},x\nc-other,y\n{b},z\n")).unwrap();
        let path = |name: &str| dir.path().join(name).display().to_string();
        let (i, o, r) = (path("in.csv"), path("out.csv"), path("rejects.csv"));
        let k = key.display().to_string();
        for threads in ["1", "2"] {
            let list = [
                "--key", &k, "--input", &i, "--column", "id:raw", "--keep", "note",
            ];
            let codes = ["--short-code", "id", "--short-code-len", "8"];
            let tail = ["--threads", threads, "-o", &o, "--rejects", &r];
            let err = run(args(&[&list[..], &codes, &tail].concat())).unwrap_err();
            let message = full(&err);
            assert!(
                message.starts_with("column 'id': short codes collide"),
                "{message}"
            );
            assert!(!message.contains(&a) && !message.contains(&b), "{message}");
            assert_eq!(status_of(&err), Some(Category::Failed));
            assert_eq!(names_in(dir.path()), ["in.csv", "test.key"], "{threads}");
        }
    }

    #[test]
    fn without_a_key_nothing_is_copied_raw() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "id,phone\n1,13812345678\n").unwrap();
        let (i, o) = (
            input.display().to_string(),
            dir.path().join("out.csv").display().to_string(),
        );
        let err = run(args(&["--input", &i, "--column", "phone:phone", "-o", &o])).unwrap_err();
        assert_eq!(status_of(&err), Some(Category::BadInput));
        assert_eq!(names_in(dir.path()), ["in.csv"]);
    }
}

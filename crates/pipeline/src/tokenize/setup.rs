//! What a tokenize run decides before reading the input: the tokenisers and the
//! short-code coder its key files give, the output header with its companion
//! columns, and (at the end) the manifest's entry per identifier column.

use std::collections::HashSet;
use std::path::Path;

use blindmatch_data::dataset::{Columns, OutputColumn};
use blindmatch_data::{Error, FailWith, Observer, Result};
use blindmatch_token::{KeyFile, KeyPurpose, ShortCoder, Tokenizer, token};

use super::config::TokenizeConfig;
use super::threads::Totals;
use crate::keys;
use crate::manifest::{ColumnInfo, KeyInfo, TOKEN_KEY_PURPOSE};

/// The keyed parts of a run: tokenisers under the key and the previous key, the
/// short-code coder, and what the manifest records of each key. Keys live only
/// inside the tokenisers and the coder (both zeroised on drop).
pub(super) struct Keys {
    pub(super) current: Option<Tokenizer>,
    pub(super) current_info: Option<KeyInfo>,
    pub(super) previous: Option<Tokenizer>,
    pub(super) previous_info: Option<KeyInfo>,
    pub(super) coder: Option<ShortCoder>,
}

impl Keys {
    /// Reads the key files once (none for the passthrough baseline).
    ///
    /// # Errors
    /// No key was given, a key file is unusable, the previous key is the key, or
    /// a length is out of range (bad input).
    pub(super) fn load(config: &TokenizeConfig, observer: &dyn Observer) -> Result<Keys> {
        // The raw-data baseline exists only in builds made for benchmarks.
        if config.passthrough && !cfg!(feature = "bench-passthrough") {
            return Err(Error::bad_input(
                "passthrough is a benchmark baseline that copies raw identifiers; this build does not include it",
            )
            .hint("build the benchmark binary with `--features bench-passthrough`"));
        }
        // Without a key the workers copy cells unchanged: only the passthrough
        // baseline may ask for that, never a config that merely forgot the key.
        if config.key.is_none() && !config.passthrough {
            return Err(
                Error::bad_input("tokens need a key: --key KEY_FILE is missing")
                    .hint("make one with `blindmatch keygen -o FILE`"),
            );
        }
        let key_file = match (&config.key, config.passthrough) {
            (Some(path), false) => Some((keys::load(path, "--key", observer)?, path)),
            _ => None,
        };
        let (current, current_info) = match &key_file {
            Some((file, path)) => {
                let (tokenizer, info) = tokenizer_for(file, path, "--key", config.token_bytes)?;
                (Some(tokenizer), Some(info))
            }
            None => (None, None),
        };
        let (previous, previous_info) = match (&config.previous_key, config.passthrough) {
            (Some(path), false) => {
                let file = keys::load(path, "--previous-key", observer)?;
                let (tokenizer, info) =
                    tokenizer_for(&file, path, "--previous-key", config.token_bytes)?;
                if current.as_ref().map(|t| t.key_id()) == Some(tokenizer.key_id()) {
                    return Err(Error::bad_input(format!(
                        "--previous-key '{}' is the same key as --key",
                        path.display()
                    ))
                    .hint("give the key the stored tokens were made with"));
                }
                (Some(tokenizer), Some(info))
            }
            _ => (None, None),
        };
        let coder = match (&key_file, config.short_codes.is_empty()) {
            (Some((file, _)), false) => Some(short_coder(file, config.short_code_len)?),
            _ => None,
        };
        Ok(Keys {
            current,
            current_info,
            previous,
            previous_info,
            coder,
        })
    }
}

/// Per identifier column, whether it gets a short-code column.
///
/// # Errors
/// A short-code column is not an identifier column (bad input).
pub(super) fn coded_columns(columns: &Columns, short_codes: &[String]) -> Result<Vec<bool>> {
    let mut coded = vec![false; columns.ids.len()];
    for name in short_codes {
        let Some(n) = columns.ids.iter().position(|c| &c.name == name) else {
            return Err(Error::bad_input(format!(
                "--short-code '{name}' is not an identifier column"
            ))
            .hint("name a column also given as --column NAME:TYPE"));
        };
        if let Some(flag) = coded.get_mut(n) {
            *flag = true;
        }
    }
    Ok(coded)
}

/// The output header: kept and identifier columns in input order, each identifier
/// column followed by its `_prev` and `_code` companions.
pub(super) fn output_header(
    columns: &Columns,
    previous: bool,
    coded: &[bool],
) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for column in &columns.output_order {
        match *column {
            OutputColumn::Keep(n) => names.extend(columns.keep.get(n).map(|c| c.name.clone())),
            OutputColumn::Id(n) => {
                let Some(id) = columns.ids.get(n) else {
                    continue;
                };
                names.push(id.name.clone());
                if previous {
                    names.push(format!("{}_prev", id.name));
                }
                if coded.get(n).copied().unwrap_or(false) {
                    names.push(format!("{}_code", id.name));
                }
            }
        }
    }
    let mut seen = HashSet::new();
    for name in &names {
        if !seen.insert(name.as_str()) {
            return Err(Error::bad_input(format!("output column '{name}' would appear twice"))
                .hint("an input column has the name of a generated column (NAME_prev, NAME_code); rename it or leave it out of --keep"));
        }
    }
    Ok(names)
}

pub(super) fn column_infos(
    columns: &Columns,
    totals: &Totals,
    previous: bool,
    coded: &[bool],
) -> Vec<ColumnInfo> {
    columns
        .ids
        .iter()
        .enumerate()
        .map(|(n, c)| {
            let counts = totals.counts.get(n).copied().unwrap_or_default();
            ColumnInfo {
                input: c.name.clone(),
                id_type: c.id_type.as_str().to_owned(),
                output: c.name.clone(),
                previous_output: previous.then(|| format!("{}_prev", c.name)),
                short_code_output: coded
                    .get(n)
                    .copied()
                    .unwrap_or(false)
                    .then(|| format!("{}_code", c.name)),
                tokens: counts.values,
                empty: counts.empty,
                rejected: counts.rejected,
                rejects: totals
                    .tally
                    .by_reason(n)
                    .map(|(r, k)| (r.code(), k))
                    .collect(),
            }
        })
        .collect()
}

/// The short-code coder a key file gives, with `len` data characters.
pub(super) fn short_coder(file: &KeyFile, len: usize) -> Result<ShortCoder> {
    // A token key already keys the tokens; deriving the code key from it as well
    // would give one key two jobs. A master key derives both, each with its label.
    if file.purpose() != KeyPurpose::Master {
        return Err(Error::bad_input(format!(
            "--short-code needs a master key, and --key is a {} key",
            file.purpose()
        ))
        .hint("a key serves one purpose: give the master key (its token and short-code keys are derived from it)"));
    }
    ShortCoder::new(file.key(), len).fail_with(|| {
        Error::bad_input(format!("--short-code-len {len}")).hint(format!(
            "use {} to {} characters",
            ShortCoder::MIN_LEN,
            ShortCoder::MAX_LEN
        ))
    })
}

/// Checks that a key file may make tokens and builds its tokeniser from the file's
/// token key: a master key's HKDF-derived token key, never the master bytes, which
/// are the input of every derivation (see `KeyFile::token_key`).
pub(super) fn tokenizer_for(
    file: &KeyFile,
    path: &Path,
    role: &str,
    token_bytes: usize,
) -> Result<(Tokenizer, KeyInfo)> {
    // The only error is a purpose that never makes tokens; the message says so.
    let token_key = file.token_key().map_err(|_| {
        Error::bad_input(format!(
            "{role}: key file '{}' is a {} key, not a token key",
            path.display(),
            file.purpose()
        ))
        .hint("a key serves one purpose: use a master or token key (`blindmatch key derive --purpose token`)")
    })?;
    let tokenizer = Tokenizer::with_len(&token_key, token_bytes).fail_with(|| {
        Error::bad_input(format!("--token-bytes {token_bytes}")).hint(format!(
            "use {} to {} bytes",
            token::MIN_LEN,
            token::FULL_LEN
        ))
    })?;
    // `id` and `purpose` describe the key that made the tokens, a token key; what
    // the file holds is said apart, so a master's purpose never sits beside a
    // derived key's ID.
    let info = KeyInfo {
        id: token_key.id().to_string(),
        purpose: TOKEN_KEY_PURPOSE,
        master_id: (file.purpose() == KeyPurpose::Master).then(|| file.key_id().to_string()),
        file: path.display().to_string(),
        file_purpose: file.purpose().to_string(),
    };
    Ok((tokenizer, info))
}

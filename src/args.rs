//! Argument groups several commands share (`--input`/`--column`/`--keep`, the
//! normalisation profile), and their conversion into the libraries' configs.

use std::path::PathBuf;

use blindmatch_data::dataset::{Format, InputSpec};
use blindmatch_pipeline::matching::PsiProtocol;
use blindmatch_token::{CallingCode, EmailProviderRules, Profile};
use clap::{Args, ValueEnum};

/// How `--column`, `--keep` and `--input` are spelled on every command that reads
/// customer records.
#[derive(Debug, Args)]
pub(crate) struct InputArgs {
    /// File to read, `-` for standard input (CSV). A CSV file's first line is the
    /// header and it must be UTF-8 (a byte-order mark is allowed); a name ending
    /// in .parquet or .pq is read as Parquet, .arrow, .ipc or .feather as an
    /// Arrow IPC file (or say so with --format).
    #[arg(short, long, value_name = "FILE")]
    pub(crate) input: PathBuf,

    /// An identifier column and its type, as NAME:TYPE (repeatable), e.g.
    /// `--column mobile:phone`. Types: phone, email, uscc, cn_id, name, text, raw,
    /// company, wechat_id.
    #[arg(short, long = "column", value_name = "NAME:TYPE", required = true)]
    pub(crate) columns: Vec<String>,

    /// A column copied to the output unchanged (repeatable). Columns neither
    /// given to --column nor to --keep are dropped.
    #[arg(short, long, value_name = "NAME")]
    pub(crate) keep: Vec<String>,

    /// Field delimiter: one ASCII character, or `tab`.
    #[arg(long, value_name = "CHAR", default_value = ",")]
    pub(crate) delimiter: String,

    /// The input's format: csv, parquet or arrow [default: by the file's
    /// extension, CSV for any other name]. Identifier columns of a Parquet or
    /// Arrow file must be strings (integers are read as decimal digits); a null
    /// is an empty cell.
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    pub(crate) format: Option<Format>,
}

/// Parses `--format` for clap: `csv`, `parquet` or `arrow`.
pub(crate) fn parse_format(arg: &str) -> Result<Format, String> {
    arg.parse::<Format>()
        .map_err(|_| format!("expected one of {}", Format::VALID_NAMES))
}

impl InputArgs {
    /// The validated form: the input source, parsed column specs, keep list and
    /// delimiter.
    ///
    /// # Errors
    /// A spec is not `NAME:TYPE`, a type is unknown, a column is named twice, or the
    /// delimiter is not one ASCII character.
    pub(crate) fn validate(&self) -> blindmatch_data::Result<InputSpec> {
        Ok(
            InputSpec::parse(&self.input, &self.columns, &self.keep, &self.delimiter)?
                .with_format(self.format),
        )
    }
}

/// Normalisation options shared by every command that normalises identifiers
/// (`tokenize`, `normalize`, `match`): both partners must use the same profile.
#[derive(Debug, Clone, Args)]
pub(crate) struct ProfileArgs {
    /// Normalisation profile by name, as printed in manifests (e.g.
    /// `bm-std-v1,phone-region=86`). --phone-region and --email-rules override
    /// its parts.
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<Profile>,

    /// Calling code assumed for phone numbers written without one, e.g. 86 or 1.
    /// Without it, only numbers with a country code and Chinese mainland mobile
    /// numbers are accepted.
    #[arg(long, value_name = "CODE")]
    pub(crate) phone_region: Option<CallingCode>,

    /// E-mail provider rules: `none` (default) or `gmail` (for gmail.com and
    /// googlemail.com, drop dots and +suffix from the part before @).
    #[arg(long, value_name = "RULES")]
    pub(crate) email_rules: Option<EmailProviderRules>,
}

impl ProfileArgs {
    /// The profile these options select.
    pub(crate) fn profile(&self) -> Profile {
        let mut profile = self.profile.clone().unwrap_or_default();
        if let Some(region) = self.phone_region {
            profile = profile.with_phone_default_region(Some(region));
        }
        if let Some(rules) = self.email_rules {
            profile = profile.with_email_provider_rules(rules);
        }
        profile
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn profile_options_override_the_named_profile() {
        let args = ProfileArgs {
            profile: Some("bm-std-v1,email-rules=gmail".parse().unwrap()),
            phone_region: Some("86".parse().unwrap()),
            email_rules: None,
        };
        assert_eq!(
            args.profile().name(),
            "bm-std-v1,phone-region=86,email-rules=gmail"
        );
        let none = ProfileArgs {
            profile: None,
            phone_region: None,
            email_rules: None,
        };
        assert_eq!(none.profile(), Profile::standard());
    }

    #[test]
    fn memory_sizes() {
        assert_eq!(parse_memory("1GiB"), Ok(1 << 30));
        assert_eq!(parse_memory("512MiB"), Ok(512 << 20));
        assert_eq!(parse_memory("2G"), Ok(2 << 30));
        assert!(parse_memory("512KiB").is_err());
        assert!(parse_memory("lots").is_err());
        assert!(parse_memory("5 parsecs").is_err());
    }
}

/// `--protocol` of `match` and `demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// ECDH over ristretto255.
    Ecdh,
    /// OT extension, VOLE and OKVS (RR22 family).
    Vole,
}

impl From<ProtocolArg> for PsiProtocol {
    fn from(p: ProtocolArg) -> PsiProtocol {
        match p {
            ProtocolArg::Ecdh => PsiProtocol::Ecdh,
            ProtocolArg::Vole => PsiProtocol::Vole,
        }
    }
}

/// Parses a memory size: `512MiB`, `2GiB`, `1G`, `800M`, or bytes.
///
/// # Errors
/// Anything else, or less than
/// [`MIN_MEMORY_LIMIT`](blindmatch_pipeline::matching::partition::MIN_MEMORY_LIMIT) (1 MiB).
pub(crate) fn parse_memory(arg: &str) -> Result<u64, String> {
    let s = arg.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (number, unit) = s.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("'{arg}' is not a memory size; use e.g. 512MiB or 2GiB"))?;
    let scale: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return Err(format!("'{arg}': unknown unit; use MiB or GiB")),
    };
    let bytes = n
        .checked_mul(scale)
        .ok_or_else(|| format!("'{arg}' is too large"))?;
    if bytes < blindmatch_pipeline::matching::partition::MIN_MEMORY_LIMIT {
        return Err(format!("'{arg}' is below the smallest limit, 1MiB"));
    }
    Ok(bytes)
}

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
}

/// `--protocol` of `match` and `demo`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProtocolArg {
    /// ECDH over ristretto255.
    Ecdh,
    /// Silent VOLE over GF(2^128), OKVS and OPRF (RR22, `vole-rr22-silent`).
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

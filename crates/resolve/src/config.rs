//! What a resolve run is asked to do ([`ResolveConfig`]): the sources with their
//! column mappings, the rules and guards, survivorship, the previous clusters file
//! and the outputs; and the checks that refuse a bad configuration before any file
//! is read.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use blindmatch_data::dataset::{ColumnSpec, Format, InputSource};
use blindmatch_data::{Error, Result};
use blindmatch_token::{IdType, Profile, RuleSet};

/// The longest source name, in characters.
pub const MAX_SOURCE_NAME: usize = 64;

/// One input file and how its columns map to fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSpec {
    /// The source's name: in the clusters file, cluster IDs and `--prefer`.
    pub name: String,
    /// The file (or standard input, for at most one source).
    pub input: InputSource,
    /// Identifier columns and the field (identifier type) each one fills.
    pub columns: Vec<ColumnSpec>,
    /// Field delimiter byte (CSV).
    pub delimiter: u8,
    /// The table format (`--format`); `None` chooses by the file's extension.
    pub format: Option<Format>,
}

impl SourceSpec {
    /// The name a source gets without `--source`: the file's stem (`crm.csv` →
    /// `crm`), or `stdin`.
    pub fn default_name(input: &Path) -> String {
        if input.as_os_str() == "-" {
            return "stdin".to_owned();
        }
        input
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default()
    }

    /// The field of each column, checked: a column given once, a field filled from
    /// one column.
    fn check(&self) -> Result<()> {
        check_source_name(&self.name)?;
        if self.columns.is_empty() {
            return Err(Error::bad_input(format!(
                "source '{}' ('{}') maps no column to a field",
                self.name,
                self.input.name()
            ))
            .hint("give each --input at least one --column COLUMN:TYPE after it"));
        }
        for (i, column) in self.columns.iter().enumerate() {
            for earlier in &self.columns[..i] {
                if earlier.name == column.name {
                    return Err(Error::bad_input(format!(
                        "source '{}': column '{}' is given two fields ({} and {})",
                        self.name, column.name, earlier.id_type, column.id_type
                    ))
                    .hint(
                        "map each column to one field; a field is named by its identifier type",
                    ));
                }
                if earlier.id_type == column.id_type {
                    return Err(Error::bad_input(format!(
                        "source '{}': field {} is mapped from two columns, '{}' and '{}'",
                        self.name, column.id_type, earlier.name, column.name
                    ))
                    .hint("map one column per field and source"));
                }
            }
        }
        Ok(())
    }
}

fn check_source_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_SOURCE_NAME
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        return Ok(());
    }
    Err(Error::bad_input(format!(
        "source name '{}' is not usable",
        name.escape_default()
    ))
    .hint(format!(
        "a source name is 1 to {MAX_SOURCE_NAME} characters from A-Z a-z 0-9 . _ -; name it with --source NAME after its --input"
    )))
}

/// How the value of one field is chosen for a cluster's golden record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Policy {
    /// The first non-empty value from the listed sources in list order (then the
    /// other sources by name); within a source, the smallest row.
    Sources(Vec<String>),
    /// The most frequent value in the cluster; ties go to the value met first in
    /// (source name, row) order.
    Frequent,
    /// The value of the record with the latest date in this column (every source
    /// that maps the field must have it); ties and undated records as `Frequent`'s
    /// tie-break: smallest (source name, row).
    Recent(String),
}

impl Policy {
    /// Parses `source:A,B`, `frequent` or `recent:COLUMN`.
    ///
    /// # Errors
    /// Anything else (bad input).
    pub fn parse(text: &str) -> Result<Policy> {
        let bad = || {
            Error::bad_input(format!("--prefer '{text}' is not a survivorship policy"))
                .hint("use source:NAME[,NAME…], frequent or recent:DATE_COLUMN, optionally after FIELD=, e.g. --prefer phone=recent:updated_at")
        };
        if text == "frequent" {
            return Ok(Policy::Frequent);
        }
        if let Some(list) = text.strip_prefix("source:") {
            let names: Vec<String> = list.split(',').map(|s| s.trim().to_owned()).collect();
            if names.iter().any(String::is_empty) {
                return Err(bad());
            }
            return Ok(Policy::Sources(names));
        }
        if let Some(column) = text.strip_prefix("recent:") {
            if column.is_empty() {
                return Err(bad());
            }
            return Ok(Policy::Recent(column.to_owned()));
        }
        Err(bad())
    }

    /// The policy as the report shows it (`source:crm,app`, `frequent`, `recent:COL`).
    pub fn describe(&self) -> String {
        match self {
            Policy::Sources(names) => format!("source:{}", names.join(",")),
            Policy::Frequent => "frequent".to_owned(),
            Policy::Recent(column) => format!("recent:{column}"),
        }
    }
}

/// Survivorship for every field: a default and per-field overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survivorship {
    /// For fields without an override (`frequent` unless `--prefer POLICY`).
    pub default: Policy,
    /// `--prefer FIELD=POLICY` overrides.
    pub fields: BTreeMap<IdType, Policy>,
}

impl Default for Survivorship {
    fn default() -> Self {
        Survivorship {
            default: Policy::Frequent,
            fields: BTreeMap::new(),
        }
    }
}

impl Survivorship {
    /// Parses the `--prefer` arguments: at most one bare `POLICY` (the default) and
    /// at most one `FIELD=POLICY` per field.
    ///
    /// # Errors
    /// A policy is not understood, a field name is unknown, or a default or field
    /// is given twice (bad input).
    pub fn parse<S: AsRef<str>>(args: impl IntoIterator<Item = S>) -> Result<Survivorship> {
        let mut out = Survivorship::default();
        let mut default_given = false;
        for arg in args {
            let arg = arg.as_ref();
            match arg.split_once('=') {
                Some((field, policy)) => {
                    let field = field.trim().parse::<IdType>().map_err(|_| {
                        Error::bad_input(format!(
                            "--prefer '{arg}': unknown field '{}'",
                            field.trim()
                        ))
                        .hint(format!(
                            "a field is an identifier type: {}",
                            IdType::VALID_NAMES
                        ))
                    })?;
                    if out.fields.insert(field, Policy::parse(policy)?).is_some() {
                        return Err(Error::bad_input(format!(
                            "--prefer gives field {field} two policies"
                        ))
                        .hint("give one --prefer FIELD=POLICY per field"));
                    }
                }
                None => {
                    if default_given {
                        return Err(Error::bad_input("--prefer gives two default policies")
                            .hint("give one --prefer POLICY, and FIELD=POLICY for exceptions"));
                    }
                    default_given = true;
                    out.default = Policy::parse(arg)?;
                }
            }
        }
        Ok(out)
    }

    /// The policy for `field`.
    pub fn policy(&self, field: IdType) -> &Policy {
        self.fields.get(&field).unwrap_or(&self.default)
    }
}

/// Everything a resolve run needs. Messages name the options of `blindmatch
/// resolve` (`--rule`, `--never-link-on`, …): the config mirrors them.
#[derive(Debug, Clone)]
pub struct ResolveConfig {
    /// The sources, in any order (their names fix the canonical order).
    pub sources: Vec<SourceSpec>,
    /// The linking rules, in priority order.
    pub rules: RuleSet,
    /// Guard fields (`--never-link-on`): two records with different values of one
    /// never end up in one cluster.
    pub guards: Vec<IdType>,
    /// The normalisation profile (the same as `tokenize` and `match`).
    pub profile: Profile,
    /// The clusters file of an earlier run whose IDs persist.
    pub previous: Option<PathBuf>,
    /// The clusters file to write (`-o`).
    pub output: PathBuf,
    /// The golden records file to write, if asked.
    pub golden: Option<PathBuf>,
    /// The JSON report to write, if asked.
    pub report: Option<PathBuf>,
    /// How golden records choose each field's value.
    pub survivorship: Survivorship,
    /// Replace existing output files.
    pub overwrite: bool,
}

impl ResolveConfig {
    /// Checks everything that can be checked without reading a file.
    ///
    /// # Errors
    /// No source or no rule, two sources with one name, a column with two fields
    /// or a field from two columns in one source, a rule or guard field that no
    /// source maps, a guard given twice, a `--prefer source:` naming an unknown
    /// source, more than one source on standard input (bad input).
    pub fn check(&self) -> Result<()> {
        if self.sources.is_empty() {
            return Err(Error::bad_input("no --input given")
                .hint("give at least one --input FILE with its --column COLUMN:TYPE mappings"));
        }
        if self.rules.is_empty() {
            return Err(Error::bad_input("no --rule given")
                .hint("e.g. --rule phone --rule email --rule name+uscc"));
        }
        let mut names: BTreeMap<&str, &SourceSpec> = BTreeMap::new();
        for source in &self.sources {
            source.check()?;
            if let Some(first) = names.insert(&source.name, source) {
                return Err(Error::bad_input(format!(
                    "two sources are named '{}' ('{}' and '{}')",
                    source.name,
                    first.input.name(),
                    source.input.name()
                ))
                .hint("give each --input its own --source NAME"));
            }
        }
        if self
            .sources
            .iter()
            .filter(|s| s.input == InputSource::Stdin)
            .count()
            > 1
        {
            return Err(
                Error::bad_input("more than one --input reads standard input")
                    .hint("at most one source can be `-`"),
            );
        }
        let mapped = self.fields();
        for rule in self.rules.rules() {
            if let Some(field) = rule.fields().iter().find(|f| !mapped.contains(f)) {
                return Err(Error::bad_input(format!(
                    "rule '{}' needs field {field}, which no source maps",
                    rule.name()
                ))
                .hint(format!(
                    "map a column to it with --column COLUMN:{field} after an --input, or drop the rule"
                )));
            }
        }
        for (i, guard) in self.guards.iter().enumerate() {
            if self.guards[..i].contains(guard) {
                return Err(
                    Error::bad_input(format!("--never-link-on {guard} is given twice"))
                        .hint("give each guard field once"),
                );
            }
            if !mapped.contains(guard) {
                return Err(Error::bad_input(format!(
                    "--never-link-on {guard}: no source maps field {guard}"
                ))
                .hint(format!("map a column to it with --column COLUMN:{guard}")));
            }
        }
        for policy in
            std::iter::once(&self.survivorship.default).chain(self.survivorship.fields.values())
        {
            if let Policy::Sources(list) = policy
                && let Some(unknown) = list.iter().find(|n| !names.contains_key(n.as_str()))
            {
                return Err(Error::bad_input(format!(
                    "--prefer {}: no source is named '{}'",
                    policy.describe(),
                    unknown.escape_default()
                ))
                .hint(format!(
                    "sources: {}",
                    names.keys().copied().collect::<Vec<_>>().join(", ")
                )));
            }
        }
        Ok(())
    }

    /// Every field some source maps, distinct, in [`IdType::ALL`] order: the
    /// golden record's columns.
    pub fn fields(&self) -> Vec<IdType> {
        let mut fields: Vec<IdType> = self
            .sources
            .iter()
            .flat_map(|s| s.columns.iter().map(|c| c.id_type))
            .collect();
        fields.sort_by_key(|f| f.index());
        fields.dedup();
        fields
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn source(name: &str, columns: &[&str]) -> SourceSpec {
        SourceSpec {
            name: name.to_owned(),
            input: InputSource::File(PathBuf::from(format!("{name}.csv"))),
            columns: columns
                .iter()
                .map(|c| ColumnSpec::parse(c).unwrap())
                .collect(),
            delimiter: b',',
            format: None,
        }
    }

    fn config(sources: Vec<SourceSpec>, rules: &[&str]) -> ResolveConfig {
        ResolveConfig {
            sources,
            rules: RuleSet::parse(rules).unwrap(),
            guards: Vec::new(),
            profile: Profile::standard(),
            previous: None,
            output: PathBuf::from("clusters.csv"),
            golden: None,
            report: None,
            survivorship: Survivorship::default(),
            overwrite: false,
        }
    }

    fn message(config: &ResolveConfig) -> String {
        config.check().unwrap_err().to_string()
    }

    #[test]
    fn bad_configurations_are_named() {
        let ok = config(
            vec![
                source("crm", &["mobile:phone"]),
                source("app", &["tel:phone", "nm:name"]),
            ],
            &["phone"],
        );
        ok.check().unwrap();
        assert_eq!(ok.fields(), [IdType::Phone, IdType::Name]);

        let dup = config(
            vec![source("crm", &["a:phone"]), source("crm", &["b:phone"])],
            &["phone"],
        );
        assert!(message(&dup).contains("two sources are named 'crm'"));

        let two_types = config(vec![source("crm", &["a:phone", "a:email"])], &["phone"]);
        let m = message(&two_types);
        assert!(
            m.contains("column 'a' is given two fields (phone and email)"),
            "{m}"
        );

        let two_columns = config(vec![source("crm", &["a:phone", "b:phone"])], &["phone"]);
        let m = message(&two_columns);
        assert!(
            m.contains("field phone is mapped from two columns, 'a' and 'b'"),
            "{m}"
        );

        let unmapped = config(vec![source("crm", &["a:phone"])], &["phone", "name+uscc"]);
        let m = message(&unmapped);
        assert!(
            m.contains("rule 'uscc+name' needs field uscc, which no source maps"),
            "{m}"
        );

        let mut guard = config(vec![source("crm", &["a:phone"])], &["phone"]);
        guard.guards = vec![IdType::CnId];
        assert!(message(&guard).contains("no source maps field cn_id"));

        let mut prefer = config(vec![source("crm", &["a:phone"])], &["phone"]);
        prefer.survivorship = Survivorship::parse(["source:crm,erp"]).unwrap();
        assert!(message(&prefer).contains("no source is named 'erp'"));

        let bad_name = config(vec![source("my crm", &["a:phone"])], &["phone"]);
        assert!(message(&bad_name).contains("source name 'my crm' is not usable"));
    }

    #[test]
    fn prefer_arguments() {
        let s = Survivorship::parse(["source:crm,app", "phone=recent:updated", "email=frequent"])
            .unwrap();
        assert_eq!(s.default, Policy::Sources(vec!["crm".into(), "app".into()]));
        assert_eq!(s.policy(IdType::Phone), &Policy::Recent("updated".into()));
        assert_eq!(s.policy(IdType::Email), &Policy::Frequent);
        assert_eq!(s.policy(IdType::Name).describe(), "source:crm,app");
        assert!(Survivorship::parse(["frequent", "frequent"]).is_err());
        assert!(Survivorship::parse(["phone=frequent", "phone=frequent"]).is_err());
        assert!(Survivorship::parse(["mobile=frequent"]).is_err());
        assert!(Survivorship::parse(["newest"]).is_err());
        assert!(Survivorship::parse(["source:"]).is_err());
        assert_eq!(SourceSpec::default_name(Path::new("data/crm.csv")), "crm");
    }
}

//! Column specs (`NAME:TYPE`) and their resolution against a header: which input
//! columns are identifiers, which are kept, and in what order they are written.

use blindmatch_token::IdType;

use crate::error::{Error, FailWith, Result};
use crate::scan;

/// One `--column NAME:TYPE` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnSpec {
    /// The header name of the column.
    pub name: String,
    /// How its values are normalised and tokenised.
    pub id_type: IdType,
}

impl ColumnSpec {
    /// Parses `NAME:TYPE`. The type follows the last `:`, so header names may
    /// contain colons.
    ///
    /// # Errors
    /// No `:`, an empty name, or an unknown type.
    pub fn parse(arg: &str) -> Result<Self> {
        let Some((name, ty)) = arg.rsplit_once(':') else {
            return Err(Error::bad_input(format!(
                "--column '{arg}' has no type; expected NAME:TYPE"
            ))
            .hint(format!(
                "e.g. --column {arg}:phone; types: {}",
                IdType::VALID_NAMES
            )));
        };
        if name.is_empty() {
            return Err(
                Error::bad_input(format!("--column '{arg}' has no column name"))
                    .hint("expected NAME:TYPE, e.g. --column mobile:phone"),
            );
        }
        let id_type = ty.trim().parse::<IdType>().fail_with(|| {
            Error::bad_input(format!("--column '{arg}': unknown identifier type '{ty}'"))
                .hint(format!("types: {}", IdType::VALID_NAMES))
        })?;
        Ok(ColumnSpec {
            name: name.to_owned(),
            id_type,
        })
    }
}

/// An identifier column found in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdColumn {
    /// Header name.
    pub name: String,
    /// Position in each record (0-based).
    pub index: usize,
    /// Identifier type.
    pub id_type: IdType,
}

/// A `--keep` column found in the header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeepColumn {
    /// Header name.
    pub name: String,
    /// Position in each record (0-based).
    pub index: usize,
}

/// One output column, in input-file order: identifier columns are replaced in
/// place, kept columns copied, all others dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputColumn {
    /// The n-th entry of [`Columns::ids`].
    Id(usize),
    /// The n-th entry of [`Columns::keep`].
    Keep(usize),
}

/// The column specs resolved against a header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Columns {
    /// Identifier columns, in `--column` order.
    pub ids: Vec<IdColumn>,
    /// Kept columns, in `--keep` order.
    pub keep: Vec<KeepColumn>,
    /// Identifier and kept columns in the order they appear in the input.
    pub output_order: Vec<OutputColumn>,
}

impl Columns {
    /// Finds every named column in `header`.
    ///
    /// # Errors
    /// A column is missing, or its name appears more than once in the header.
    pub fn resolve(
        header: &[String],
        specs: &[ColumnSpec],
        keep: &[String],
        source: &str,
    ) -> Result<Self> {
        let find = |name: &str, option: &str| -> Result<usize> {
            let mut hits = header
                .iter()
                .enumerate()
                .filter(|(_, h)| h.as_str() == name);
            match (hits.next(), hits.next()) {
                (Some((i, _)), None) => Ok(i),
                (None, _) => Err(Error::bad_input(format!(
                    "column '{name}' ({option}) is not in the header of '{source}'"
                ))
                .hint(format!("columns in the file: {}", list_names(header)))),
                (Some(_), Some(_)) => Err(Error::bad_input(format!(
                    "column '{name}' ({option}) appears more than once in the header of '{source}'"
                ))
                .hint("rename the duplicate columns so each name is unique")),
            }
        };
        let mut ids = Vec::with_capacity(specs.len());
        for spec in specs {
            ids.push(IdColumn {
                name: spec.name.clone(),
                index: find(&spec.name, "--column")?,
                id_type: spec.id_type,
            });
        }
        let mut kept = Vec::with_capacity(keep.len());
        for name in keep {
            kept.push(KeepColumn {
                name: name.clone(),
                index: find(name, "--keep")?,
            });
        }
        let mut output_order: Vec<(usize, OutputColumn)> = ids
            .iter()
            .enumerate()
            .map(|(n, c)| (c.index, OutputColumn::Id(n)))
            .chain(
                kept.iter()
                    .enumerate()
                    .map(|(n, c)| (c.index, OutputColumn::Keep(n))),
            )
            .collect();
        output_order.sort_by_key(|(index, _)| *index);
        Ok(Columns {
            ids,
            keep: kept,
            output_order: output_order.into_iter().map(|(_, c)| c).collect(),
        })
    }

    /// Record positions that must be valid UTF-8 (every column that is used).
    pub fn used_indices(&self) -> Vec<usize> {
        self.ids
            .iter()
            .map(|c| c.index)
            .chain(self.keep.iter().map(|c| c.index))
            .collect()
    }
}

/// Header names for a hint, shortened when the header is very wide. Names that
/// look like raw identifiers are shown by position, with a word on why.
pub(super) fn list_names(header: &[String]) -> String {
    const SHOWN: usize = 20;
    let shown: Vec<String> = header
        .iter()
        .enumerate()
        .map(|(i, name)| shown_header(name, i))
        .collect();
    let withheld = shown.iter().zip(header).any(|(shown, name)| shown != name);
    let mut out = shown
        .iter()
        .take(SHOWN)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if header.len() > SHOWN {
        out.push_str(&format!(", … ({} columns)", header.len()));
    }
    if withheld {
        out.push_str(
            " (names that look like identifiers are withheld: does the first line name the columns?)",
        );
    }
    out
}

/// A header name as a message, hint or manifest shows it: the name, or `column N`
/// (1-based `index + 1`) when the name looks like a raw identifier, as the first
/// line of a file without a header row does.
pub fn shown_header(name: &str, index: usize) -> String {
    if scan::is_safe_name(name) {
        name.to_owned()
    } else {
        format!("column {}", index + 1)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn column_specs() {
        let spec = ColumnSpec::parse("mobile:phone").unwrap();
        assert_eq!(
            (spec.name.as_str(), spec.id_type),
            ("mobile", IdType::Phone)
        );
        let spec = ColumnSpec::parse("a:b:email").unwrap();
        assert_eq!((spec.name.as_str(), spec.id_type), ("a:b", IdType::Email));
        let e = format!("{:#}", ColumnSpec::parse("mobile").unwrap_err());
        assert!(e.contains("--column 'mobile' has no type"), "{e}");
        let e = format!("{:#}", ColumnSpec::parse("mobile:cell").unwrap_err());
        assert!(e.contains("unknown identifier type 'cell'"), "{e}");
        assert!(ColumnSpec::parse(":phone").is_err());
    }

    #[test]
    fn columns_resolve_in_file_order() {
        let header: Vec<String> = ["id", "email", "notes", "phone"].map(String::from).to_vec();
        let specs = [
            ColumnSpec::parse("phone:phone").unwrap(),
            ColumnSpec::parse("email:email").unwrap(),
        ];
        let cols = Columns::resolve(&header, &specs, &["id".into()], "t.csv").unwrap();
        assert_eq!(cols.ids[0].index, 3);
        assert_eq!(cols.ids[1].index, 1);
        assert_eq!(
            cols.output_order,
            vec![
                OutputColumn::Keep(0),
                OutputColumn::Id(1),
                OutputColumn::Id(0)
            ]
        );
        let e = format!(
            "{:#}",
            Columns::resolve(
                &header,
                &[ColumnSpec::parse("phnoe:phone").unwrap()],
                &[],
                "t.csv"
            )
            .unwrap_err()
        );
        assert!(
            e.contains("column 'phnoe' (--column) is not in the header of 't.csv'"),
            "{e}"
        );
        let dup: Vec<String> = ["id", "id"].map(String::from).to_vec();
        let e = format!(
            "{:#}",
            Columns::resolve(&dup, &[], &["id".into()], "t.csv").unwrap_err()
        );
        assert!(e.contains("appears more than once"), "{e}");
    }
}

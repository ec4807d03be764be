//! Defensive reading of JSON documents written by other commands (manifests,
//! receipts): fields are looked up one by one, and a missing or mistyped field is
//! recorded by its path (`output.sha256`) instead of failing the whole read, so an
//! altered document becomes a finding that names the field.
//!
//! Nothing here ever copies a field's *value* into a problem, and a name read from
//! the document (the keys of a count map) only as `safe_name` shows it: a tampered
//! document could hold anything, including a raw identifier.

use std::path::Path;

use blindmatch_data::dataset::Format;
use blindmatch_data::{Error, FailWith, Result};
use serde_json::Value;

use crate::report::safe_name;

/// JSON documents larger than this are refused; real manifests and receipts are a
/// few kilobytes.
const MAX_DOCUMENT_BYTES: u64 = 16 << 20;

/// A field that is missing or has the wrong type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    /// Dotted path of the field, e.g. `columns[1].tokens`.
    pub(crate) field: String,
    /// What was expected there, e.g. `a string`.
    pub(crate) expected: &'static str,
    /// Whether the field is absent (rather than of the wrong type).
    pub(crate) missing: bool,
}

/// Looks up fields and collects [`Problem`]s.
#[derive(Debug, Default)]
pub(crate) struct Walker {
    /// Every problem met so far, in reading order.
    pub(crate) problems: Vec<Problem>,
}

/// `base.key`, or `key` at the top level.
pub(crate) fn join(base: &str, key: &str) -> String {
    if base.is_empty() {
        key.to_owned()
    } else {
        format!("{base}.{key}")
    }
}

impl Walker {
    fn problem(&mut self, field: String, expected: &'static str, missing: bool) {
        self.problems.push(Problem {
            field,
            expected,
            missing,
        });
    }

    /// A required field of any type.
    fn required<'v>(
        &mut self,
        obj: &'v Value,
        base: &str,
        key: &str,
        expected: &'static str,
    ) -> Option<&'v Value> {
        match obj.get(key) {
            Some(v) => Some(v),
            None => {
                self.problem(join(base, key), expected, true);
                None
            }
        }
    }

    /// A required string.
    pub(crate) fn string(&mut self, obj: &Value, base: &str, key: &str) -> Option<String> {
        let v = self.required(obj, base, key, "a string")?;
        match v.as_str() {
            Some(s) => Some(s.to_owned()),
            None => {
                self.problem(join(base, key), "a string", false);
                None
            }
        }
    }

    /// A string that may be `null` or absent.
    pub(crate) fn opt_string(&mut self, obj: &Value, base: &str, key: &str) -> Option<String> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => {
                self.problem(join(base, key), "a string or null", false);
                None
            }
        }
    }

    /// An optional table format (`csv`, `parquet`, `arrow`): absent in documents
    /// written before Parquet was read, which were all CSV; any other value is a
    /// problem.
    pub(crate) fn opt_format(&mut self, obj: &Value, base: &str, key: &str) -> Option<Format> {
        let text = self.opt_string(obj, base, key)?;
        match text.parse::<Format>() {
            Ok(format) => Some(format),
            Err(_) => {
                self.problem(join(base, key), "csv, parquet or arrow", false);
                None
            }
        }
    }

    /// A required field that is a string or `null`: `Some(None)` for `null`.
    pub(crate) fn nullable_string(
        &mut self,
        obj: &Value,
        base: &str,
        key: &str,
    ) -> Option<Option<String>> {
        match self.required(obj, base, key, "a string or null")? {
            Value::Null => Some(None),
            Value::String(s) => Some(Some(s.clone())),
            _ => {
                self.problem(join(base, key), "a string or null", false);
                None
            }
        }
    }

    /// A required non-negative integer.
    pub(crate) fn uint(&mut self, obj: &Value, base: &str, key: &str) -> Option<u64> {
        let v = self.required(obj, base, key, "a non-negative integer")?;
        match v.as_u64() {
            Some(n) => Some(n),
            None => {
                self.problem(join(base, key), "a non-negative integer", false);
                None
            }
        }
    }

    /// A required field that is a non-negative integer or `null`.
    pub(crate) fn nullable_uint(
        &mut self,
        obj: &Value,
        base: &str,
        key: &str,
    ) -> Option<Option<u64>> {
        match self.required(obj, base, key, "a non-negative integer or null")? {
            Value::Null => Some(None),
            v => match v.as_u64() {
                Some(n) => Some(Some(n)),
                None => {
                    self.problem(join(base, key), "a non-negative integer or null", false);
                    None
                }
            },
        }
    }

    /// A required number.
    pub(crate) fn number(&mut self, obj: &Value, base: &str, key: &str) -> Option<f64> {
        let v = self.required(obj, base, key, "a number")?;
        match v.as_f64() {
            Some(n) => Some(n),
            None => {
                self.problem(join(base, key), "a number", false);
                None
            }
        }
    }

    /// A required boolean.
    pub(crate) fn boolean(&mut self, obj: &Value, base: &str, key: &str) -> Option<bool> {
        let v = self.required(obj, base, key, "true or false")?;
        match v.as_bool() {
            Some(b) => Some(b),
            None => {
                self.problem(join(base, key), "true or false", false);
                None
            }
        }
    }

    /// A required object.
    pub(crate) fn object<'v>(
        &mut self,
        obj: &'v Value,
        base: &str,
        key: &str,
    ) -> Option<&'v Value> {
        let v = self.required(obj, base, key, "an object")?;
        if v.is_object() {
            Some(v)
        } else {
            self.problem(join(base, key), "an object", false);
            None
        }
    }

    /// An object that may be `null` or absent.
    pub(crate) fn opt_object<'v>(
        &mut self,
        obj: &'v Value,
        base: &str,
        key: &str,
    ) -> Option<&'v Value> {
        match obj.get(key) {
            None | Some(Value::Null) => None,
            Some(v) if v.is_object() => Some(v),
            Some(_) => {
                self.problem(join(base, key), "an object or null", false);
                None
            }
        }
    }

    /// A required field that is an object or `null`: `Some(None)` for `null`.
    pub(crate) fn nullable_object<'v>(
        &mut self,
        obj: &'v Value,
        base: &str,
        key: &str,
    ) -> Option<Option<&'v Value>> {
        match self.required(obj, base, key, "an object or null")? {
            Value::Null => Some(None),
            v if v.is_object() => Some(Some(v)),
            _ => {
                self.problem(join(base, key), "an object or null", false);
                None
            }
        }
    }

    /// A required array.
    pub(crate) fn array<'v>(
        &mut self,
        obj: &'v Value,
        base: &str,
        key: &str,
    ) -> Option<&'v [Value]> {
        let v = self.required(obj, base, key, "an array")?;
        match v.as_array() {
            Some(a) => Some(a.as_slice()),
            None => {
                self.problem(join(base, key), "an array", false);
                None
            }
        }
    }

    /// A required array of strings (wrong elements are problems and skipped).
    pub(crate) fn strings(&mut self, obj: &Value, base: &str, key: &str) -> Vec<String> {
        let Some(items) = self.array(obj, base, key) else {
            return Vec::new();
        };
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            match item.as_str() {
                Some(s) => out.push(s.to_owned()),
                None => self.problem(format!("{}[{i}]", join(base, key)), "a string", false),
            }
        }
        out
    }

    /// A required array of objects: each element with its path (`rules[2]`);
    /// an element that is not an object is a problem and skipped.
    pub(crate) fn objects<'v>(
        &mut self,
        obj: &'v Value,
        base: &str,
        key: &str,
    ) -> Option<Vec<(String, &'v Value)>> {
        let items = self.array(obj, base, key)?;
        let mut out = Vec::with_capacity(items.len());
        for (i, item) in items.iter().enumerate() {
            let path = format!("{}[{i}]", join(base, key));
            if item.is_object() {
                out.push((path, item));
            } else {
                self.problem(path, "an object", false);
            }
        }
        Some(out)
    }

    /// A required object mapping names to non-negative integers. A name is
    /// document content too: a problem's path shows it only as [`safe_name`] does.
    pub(crate) fn counts(
        &mut self,
        obj: &Value,
        base: &str,
        key: &str,
    ) -> Option<Vec<(String, u64)>> {
        let map = self.object(obj, base, key)?.as_object()?;
        let mut out = Vec::with_capacity(map.len());
        for (name, v) in map {
            match v.as_u64() {
                Some(n) => out.push((name.clone(), n)),
                None => self.problem(
                    format!("{}.{}", join(base, key), safe_name(name)),
                    "a non-negative integer",
                    false,
                ),
            }
        }
        Some(out)
    }

    /// A required object mapping names to strings (wrong values are problems and
    /// skipped).
    pub(crate) fn string_map(
        &mut self,
        obj: &Value,
        base: &str,
        key: &str,
    ) -> Option<Vec<(String, String)>> {
        let map = self.object(obj, base, key)?.as_object()?;
        let mut out = Vec::with_capacity(map.len());
        for (name, v) in map {
            match v.as_str() {
                Some(s) => out.push((name.clone(), s.to_owned())),
                None => self.problem(format!("{}.{name}", join(base, key)), "a string", false),
            }
        }
        Some(out)
    }
}

/// Reads the bytes of a JSON document of the given kind (`what`, for messages),
/// refusing one too large to be a blindmatch document before reading it.
///
/// # Errors
/// Bad input: unreadable or too large.
pub(crate) fn read(path: &Path, what: &str) -> Result<Vec<u8>> {
    let shown = path.display();
    let meta = std::fs::metadata(path).fail_with(|| {
        Error::bad_input(format!("cannot read {what} '{shown}'")).hint("check the path")
    })?;
    if meta.len() > MAX_DOCUMENT_BYTES {
        return Err(too_large(path, what));
    }
    std::fs::read(path).fail_with(|| {
        Error::bad_input(format!("cannot read {what} '{shown}'"))
            .hint("check the file's permissions")
    })
}

/// Parses the bytes of a JSON document of any of `formats`, each with the versions
/// this build reads (oldest first); `path` names it in messages.
///
/// # Errors
/// Bad input: too large, not JSON, another format, or an unsupported version.
/// Messages name the file and the problem, never content.
pub(crate) fn parse(
    bytes: &[u8],
    path: &Path,
    what: &str,
    formats: &[(&str, &[u64])],
) -> Result<Value> {
    let shown = path.display();
    if bytes.len() as u64 > MAX_DOCUMENT_BYTES {
        return Err(too_large(path, what));
    }
    let value: Value = serde_json::from_slice(bytes).fail_with(|| {
        Error::bad_input(format!("{what} '{shown}' is not valid JSON")).hint(format!(
            "give the {what} file written by blindmatch, unedited"
        ))
    })?;
    let found_format = value.get("format").and_then(Value::as_str);
    let Some(&(_, versions)) = formats.iter().find(|(f, _)| Some(*f) == found_format) else {
        let names: Vec<String> = formats.iter().map(|(f, _)| format!("\"{f}\"")).collect();
        return Err(Error::bad_input(format!(
            "'{shown}' is not a blindmatch {what}: its \"format\" field is not {}",
            names.join(" or ")
        ))
        .hint(format!("give the {what} file written by blindmatch")));
    };
    match value.get("version").and_then(Value::as_u64) {
        Some(v) if versions.contains(&v) => Ok(value),
        Some(v) => Err(Error::bad_input(format!(
            "{what} '{shown}' has format version {v}; this build reads {}",
            describe_versions(versions)
        ))
        .hint("use the blindmatch version that wrote it, or a newer one")),
        None => Err(
            Error::bad_input(format!("{what} '{shown}' has no numeric \"version\" field")).hint(
                format!("give the {what} file written by blindmatch, unedited"),
            ),
        ),
    }
}

/// `version 1` or `versions 1 and 2`.
fn describe_versions(versions: &[u64]) -> String {
    match versions {
        [one] => format!("version {one}"),
        [rest @ .., last] => {
            let rest: Vec<String> = rest.iter().map(u64::to_string).collect();
            format!("versions {} and {last}", rest.join(", "))
        }
        [] => "no version".to_owned(),
    }
}

fn too_large(path: &Path, what: &str) -> Error {
    Error::bad_input(format!(
        "{what} '{}' is larger than {} MiB; not a blindmatch {what}",
        path.display(),
        MAX_DOCUMENT_BYTES >> 20
    ))
    .hint(format!("give the {what} file written by blindmatch"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn problems_name_fields_never_values() {
        let doc: Value = serde_json::from_str(
            r#"{"a": "13800138000", "n": "13800138000", "o": {"x": 1}, "l": [1, "s"]}"#,
        )
        .unwrap();
        let mut w = Walker::default();
        assert_eq!(w.string(&doc, "", "a").as_deref(), Some("13800138000"));
        assert_eq!(w.uint(&doc, "", "n"), None);
        assert_eq!(w.uint(&doc, "o", "missing"), None);
        let o = w.object(&doc, "", "o").unwrap();
        assert_eq!(w.uint(o, "o", "x"), Some(1));
        assert_eq!(w.strings(&doc, "", "l"), vec!["s".to_owned()]);
        assert_eq!(w.opt_string(&doc, "", "absent"), None);
        assert_eq!(w.nullable_uint(&doc, "", "absent"), None);
        let fields: Vec<&str> = w.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["n", "o.missing", "l[0]", "absent"]);
        assert!(w.problems.iter().all(|p| !p.field.contains("138")));
        assert!(w.problems.get(1).unwrap().missing);
        assert!(!w.problems.first().unwrap().missing);
    }

    #[test]
    fn string_maps_skip_and_name_what_is_not_a_string() {
        let doc: Value =
            serde_json::from_str(r#"{"m": {"phone": "p;sha256=00", "email": 13800138000}}"#)
                .unwrap();
        let mut w = Walker::default();
        assert_eq!(
            w.string_map(&doc, "profile", "m"),
            Some(vec![("phone".to_owned(), "p;sha256=00".to_owned())])
        );
        assert_eq!(w.string_map(&doc, "", "absent"), None);
        let fields: Vec<&str> = w.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, vec!["profile.m.email", "absent"]);
    }

    /// Found by the `manifest` fuzz target: the name of a mistyped count was
    /// copied into the problem's path, and so into the finding's field and message.
    #[test]
    fn count_names_that_hold_identifiers_are_not_copied() {
        let doc: Value = serde_json::from_str(
            r#"{"rejects": {"too_short": 1, "13812345678": "x", "a@b.cn": -1, "typo": null}}"#,
        )
        .unwrap();
        let mut w = Walker::default();
        let counts = w.counts(&doc, "columns[0]", "rejects").unwrap();
        assert_eq!(counts, vec![("too_short".to_owned(), 1)]);
        let fields: Vec<&str> = w.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields.len(), 3);
        assert!(fields.contains(&"columns[0].rejects.typo"), "{fields:?}");
        assert!(
            fields
                .iter()
                .all(|f| !f.contains("138") && !f.contains('@')),
            "{fields:?}"
        );
    }
}

//! A pipeline's output paths checked together before any work: none is standard
//! output where a file is needed, none names the same file as another or as the
//! input, and none exists unless replacing was allowed; and companion names.

use std::fs;
use std::path::{Path, PathBuf};

use crate::dataset::InputSource;
use crate::error::{Error, Result};

/// Fails with a bad-input error if `path` exists and `overwrite` is false.
/// Pipelines call this for every output before doing any work.
///
/// # Errors
/// The file exists and may not be replaced.
pub fn ensure_absent(path: &Path, overwrite: bool) -> Result<()> {
    if !overwrite && fs::symlink_metadata(path).is_ok() {
        return Err(
            Error::bad_input(format!("output file '{}' already exists", path.display()))
                .hint("choose another name, remove the file, or pass --force to replace it"),
        );
    }
    Ok(())
}

/// Checks output files, each named with the option that gave it (`-o`,
/// `--manifest`, …), against each other and the input. Standard output must not
/// be among them: callers leave out an output that may stream there.
///
/// # Errors
/// An output is `-`, two outputs are one file, an output is the input file, or
/// an output exists and `overwrite` is false (bad input).
pub fn check_outputs(
    input: &InputSource,
    outputs: &[(&str, &Path)],
    overwrite: bool,
) -> Result<()> {
    for (i, (option, path)) in outputs.iter().enumerate() {
        if path.as_os_str() == "-" {
            return Err(
                Error::bad_input(format!("{option} cannot be standard output"))
                    .hint(format!("give {option} a file name")),
            );
        }
        if let Some((other, _)) = outputs.iter().take(i).find(|(_, p)| p == path) {
            return Err(Error::bad_input(format!(
                "{option} and {other} name the same file '{}'",
                path.display()
            ))
            .hint("give each output its own file name"));
        }
        if let InputSource::File(input) = input {
            let same = input == *path
                || matches!(
                    (std::fs::canonicalize(input), std::fs::canonicalize(path)),
                    (Ok(a), Ok(b)) if a == b
                );
            if same {
                return Err(Error::bad_input(format!(
                    "{option} '{}' is the input file",
                    path.display()
                ))
                .hint("write the output to a new file"));
            }
        }
        ensure_absent(path, overwrite)?;
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name (`out.csv` →
/// `out.csv.manifest.json`): a companion file stays beside its main output.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn manifest_sits_beside_the_output() {
        assert_eq!(
            with_suffix(Path::new("out/tokens.csv"), ".manifest.json"),
            PathBuf::from("out/tokens.csv.manifest.json")
        );
    }

    #[test]
    fn clashing_outputs_are_refused_before_any_work() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("in.csv");
        std::fs::write(&input, "id\n1\n").unwrap();
        let out = dir.path().join("out.csv");
        let source = InputSource::File(input.clone());
        let err = |outputs: &[(&str, &Path)]| {
            check_outputs(&source, outputs, false)
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&[("-o", &out), ("--rejects", &out)]),
            format!("--rejects and -o name the same file '{}'", out.display())
        );
        assert_eq!(
            err(&[("--manifest", Path::new("-"))]),
            "--manifest cannot be standard output"
        );
        assert_eq!(
            err(&[("-o", &input)]),
            format!("-o '{}' is the input file", input.display())
        );
        check_outputs(&source, &[("-o", &out)], false).unwrap();
    }
}

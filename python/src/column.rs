//! Columns in and out: pyarrow string arrays read without copying (the Arrow C
//! data interface), normalised or tokenised by the library with the GIL
//! released, and handed back as pyarrow arrays. pandas, polars and lists are
//! turned into pyarrow arrays and back by the Python layer (`blindmatch/_frames.py`).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use arrow_array::cast::AsArray;
use arrow_array::{Array, ArrayRef, LargeStringArray, StringArray, make_array};
use arrow_buffer::{Buffer, NullBuffer, OffsetBuffer, ScalarBuffer};
use arrow_data::ArrayData;
use arrow_pyarrow::PyArrowType;
use arrow_schema::DataType;
use blindmatch_data::dataset::{Cell, ColumnCounts, normalize_cell};
use blindmatch_data::{Observer, Warning};
use blindmatch_pipeline::tokenize::{ColumnTokenizer, ColumnTokens};
use blindmatch_token::{IdType, Profile, Rejection};
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::errors::{IntoPy, bad_input, to_py};

/// What a column call returns to Python: the new array, the rejected rows
/// (0-based) with their reason codes, and the counts.
type ColumnResult<'py> = (
    PyArrowType<ArrayData>,
    Vec<usize>,
    Vec<&'static str>,
    Bound<'py, PyDict>,
);

/// One chunk of a string column, in any Arrow string layout.
enum Chunk {
    Small(StringArray),
    Large(LargeStringArray),
    View(arrow_array::StringViewArray),
}

impl Chunk {
    fn new(data: ArrayData, what: &str) -> PyResult<Chunk> {
        let array: ArrayRef = make_array(data);
        Ok(match array.data_type() {
            DataType::Utf8 => Chunk::Small(array.as_string::<i32>().clone()),
            DataType::LargeUtf8 => Chunk::Large(array.as_string::<i64>().clone()),
            DataType::Utf8View => Chunk::View(array.as_string_view().clone()),
            other => {
                return Err(bad_input(
                    format!("{what} must be a column of strings, not {other}"),
                    Some("cast it to strings first (pyarrow: pc.cast(column, pa.string()))"),
                ));
            }
        })
    }

    fn len(&self) -> usize {
        match self {
            Chunk::Small(a) => a.len(),
            Chunk::Large(a) => a.len(),
            Chunk::View(a) => a.len(),
        }
    }

    fn get(&self, i: usize) -> Option<&str> {
        match self {
            Chunk::Small(a) => (!a.is_null(i)).then(|| a.value(i)),
            Chunk::Large(a) => (!a.is_null(i)).then(|| a.value(i)),
            Chunk::View(a) => (!a.is_null(i)).then(|| a.value(i)),
        }
    }
}

/// A string column: the chunks of a pyarrow array or chunked array, read in
/// place (chunks are not combined, which would copy them).
pub(crate) struct Strings {
    chunks: Vec<Chunk>,
    /// The first row of each chunk.
    starts: Vec<usize>,
    len: usize,
}

impl Strings {
    /// The column made of `chunks`, which must hold strings.
    pub(crate) fn new(chunks: Vec<PyArrowType<ArrayData>>, what: &str) -> PyResult<Strings> {
        let mut out = Strings {
            chunks: Vec::with_capacity(chunks.len()),
            starts: Vec::with_capacity(chunks.len()),
            len: 0,
        };
        for data in chunks {
            let chunk = Chunk::new(data.0, what)?;
            out.starts.push(out.len);
            out.len += chunk.len();
            out.chunks.push(chunk);
        }
        Ok(out)
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Row `i`, `None` when null (or past the end).
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let c = match self.chunks.len() {
            1 => 0,
            _ => self.starts.partition_point(|&s| s <= i).checked_sub(1)?,
        };
        let chunk = self.chunks.get(c)?;
        let row = i - self.starts.get(c)?;
        (row < chunk.len()).then(|| chunk.get(row)).flatten()
    }
}

/// An identifier type by its CLI name.
pub(crate) fn id_type(name: &str) -> PyResult<IdType> {
    name.parse::<IdType>().map_err(|_| {
        let names: Vec<&str> = IdType::ALL.iter().map(|t| t.as_str()).collect();
        bad_input(
            format!("unknown identifier type '{name}'"),
            Some(&format!("use one of {}", names.join(", "))),
        )
    })
}

/// A normalisation profile by the name manifests print (`None`: the standard one).
pub(crate) fn profile(name: Option<&str>) -> PyResult<Profile> {
    match name {
        None => Ok(Profile::standard()),
        Some(name) => name.parse::<Profile>().map_err(|e| {
            bad_input(
                format!("profile '{name}': {e}"),
                Some("give a profile name as a manifest prints it, e.g. bm-std-v1,phone-region=86"),
            )
        }),
    }
}

/// Builds a string array over `text` without copying it: row `i` is
/// `text[offsets[i]..offsets[i + 1]]`, null where `present[i]` is false.
fn string_array<I>(text: Vec<u8>, offsets: I, present: Vec<bool>) -> PyResult<ArrayData>
where
    I: Iterator<Item = usize> + Clone,
{
    let nulls = NullBuffer::from(present);
    let values = Buffer::from_vec(text);
    let small: Result<Vec<i32>, _> = offsets.clone().map(i32::try_from).collect();
    let built: Result<ArrayRef, arrow_schema::ArrowError> = match small {
        Ok(small) => StringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(small)),
            values,
            Some(nulls),
        )
        .map(|a| Arc::new(a) as ArrayRef),
        // Over 2 GiB of text: 64-bit offsets.
        Err(_) => LargeStringArray::try_new(
            OffsetBuffer::new(ScalarBuffer::from(
                offsets.map(|o| o as i64).collect::<Vec<i64>>(),
            )),
            values,
            Some(nulls),
        )
        .map(|a| Arc::new(a) as ArrayRef),
    };
    built.map(|a| a.to_data()).map_err(|e| {
        to_py(blindmatch_data::Error::failed(format!(
            "cannot build the result column: {e}"
        )))
    })
}

/// Counts as a dict (`values`, `empty`, `rejected`).
fn counts_dict<'py>(py: Python<'py>, counts: &ColumnCounts) -> PyResult<Bound<'py, PyDict>> {
    let dict = PyDict::new(py);
    dict.set_item("values", counts.values)?;
    dict.set_item("empty", counts.empty)?;
    dict.set_item("rejected", counts.rejected)?;
    Ok(dict)
}

fn rejects_lists(rejects: &[(usize, Rejection)]) -> (Vec<usize>, Vec<&'static str>) {
    rejects.iter().map(|&(row, r)| (row, r.code())).unzip()
}

/// `normalize_array(chunks, id_type, profile=None)`: the normalised column (null
/// where missing, empty or rejected), the rejected rows, their reason codes and
/// the counts.
#[pyfunction]
#[pyo3(signature = (array, id_type, profile=None))]
pub(crate) fn normalize_array<'py>(
    py: Python<'py>,
    array: Vec<PyArrowType<ArrayData>>,
    id_type: &str,
    profile: Option<&str>,
) -> PyResult<ColumnResult<'py>> {
    let id_type = self::id_type(id_type)?;
    let profile = self::profile(profile)?;
    let strings = Strings::new(array, "the column")?;
    let (text, ends, present, counts, rejects) = py.detach(|| {
        let rows = strings.len();
        let mut text = Vec::new();
        let mut ends = Vec::with_capacity(rows);
        let mut present = Vec::with_capacity(rows);
        let mut counts = ColumnCounts::default();
        let mut rejects = Vec::new();
        let mut value = String::new();
        for row in 0..rows {
            let outcome = match strings.get(row) {
                Some(cell) => normalize_cell(&profile, id_type, cell, &mut value),
                None => Cell::Empty,
            };
            counts.add(outcome);
            match outcome {
                Cell::Value => text.extend_from_slice(value.as_bytes()),
                Cell::Empty => {}
                Cell::Rejected(reason) => rejects.push((row, reason)),
            }
            ends.push(text.len());
            present.push(matches!(outcome, Cell::Value));
        }
        (text, ends, present, counts, rejects)
    });
    let offsets = std::iter::once(0).chain(ends.iter().copied());
    let data = string_array(text, offsets, present)?;
    let (rows, reasons) = rejects_lists(&rejects);
    Ok((PyArrowType(data), rows, reasons, counts_dict(py, &counts)?))
}

/// Collects a library call's warnings, to raise them as Python warnings after it.
#[derive(Default)]
pub(crate) struct Warnings(Mutex<Vec<String>>);

impl Observer for Warnings {
    fn warning(&self, warning: &Warning) {
        let mut text = warning.to_string();
        if let Some(hint) = warning.hint() {
            text.push_str(&format!(" (hint: {hint})"));
        }
        if let Ok(mut list) = self.0.lock() {
            list.push(text);
        }
    }
}

impl Warnings {
    /// Issues every collected warning with Python's `warnings.warn`.
    pub(crate) fn emit(&self, py: Python<'_>) -> PyResult<()> {
        let list = match self.0.lock() {
            Ok(mut list) => std::mem::take(&mut *list),
            Err(_) => return Ok(()),
        };
        if list.is_empty() {
            return Ok(());
        }
        let warnings = py.import("warnings")?;
        for text in list {
            warnings.call_method1("warn", (text,))?;
        }
        Ok(())
    }
}

/// Keyed tokens under one key file, for columns in memory.
///
/// The key lives only inside the native tokeniser (zeroised when this object is
/// collected); nothing here exposes it, and `repr` shows the key ID alone.
#[pyclass(module = "blindmatch._native", frozen)]
pub(crate) struct NativeTokenizer {
    inner: ColumnTokenizer,
}

#[pymethods]
impl NativeTokenizer {
    /// Loads `key_file` (a master or token key file) for tokens of `token_bytes`.
    #[new]
    #[pyo3(signature = (key_file, token_bytes=32))]
    fn new(py: Python<'_>, key_file: PathBuf, token_bytes: usize) -> PyResult<Self> {
        let warnings = Warnings::default();
        let inner = py
            .detach(|| ColumnTokenizer::open(&key_file, token_bytes, &warnings))
            .py_err()?;
        warnings.emit(py)?;
        Ok(NativeTokenizer { inner })
    }

    /// The ID of the key the tokens are made with.
    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id().to_string()
    }

    fn __repr__(&self) -> String {
        format!("Tokenizer(key_id='{}')", self.inner.key_id())
    }

    /// The token column (null where missing, empty or rejected), the rejected
    /// rows, their reason codes and the counts.
    #[pyo3(signature = (array, id_type, profile=None, threads=None))]
    fn tokenize_array<'py>(
        &self,
        py: Python<'py>,
        array: Vec<PyArrowType<ArrayData>>,
        id_type: &str,
        profile: Option<&str>,
        threads: Option<usize>,
    ) -> PyResult<ColumnResult<'py>> {
        let id_type = self::id_type(id_type)?;
        let profile = self::profile(profile)?;
        let strings = Strings::new(array, "the column")?;
        let tokens: ColumnTokens = py.detach(|| {
            self.inner.tokenize(
                &profile,
                id_type,
                strings.len(),
                |i| strings.get(i),
                threads,
            )
        });
        let ColumnTokens {
            text,
            width,
            present,
            counts,
            rejects,
        } = tokens;
        let rows = present.len();
        let data = string_array(text, (0..=rows).map(|i| i * width), present)?;
        let (rows, reasons) = rejects_lists(&rejects);
        Ok((PyArrowType(data), rows, reasons, counts_dict(py, &counts)?))
    }
}

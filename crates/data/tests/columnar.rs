//! Parquet and Arrow IPC datasets: read through `DatasetReader` as CSV is, with
//! types, nulls and row order kept, and every bad file a bad-input error; and
//! the Parquet writer the pipelines' outputs go through.

#![allow(clippy::unwrap_used)]

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Date32Type, Float64Type, Int64Type};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, Float64Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use blindmatch_data::Category;
use blindmatch_data::dataset::{
    BATCH_ROWS, ChunkRows, ColumnSpec, Columns, DatasetReader, Format, InputSource, Record,
    RowChunk, Rows,
};
use blindmatch_data::output::{AtomicFile, ColumnTypes, ParquetWriter};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

/// A small customer table: a phone column with a null, an integer customer
/// number, a float score with a null, a date and a flag.
fn customers() -> RecordBatch {
    let schema = Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("phone", DataType::Utf8, true),
        Field::new("score", DataType::Float64, true),
        Field::new("since", DataType::Date32, true),
        Field::new("vip", DataType::Boolean, true),
    ]);
    let columns: Vec<ArrayRef> = vec![
        Arc::new(Int64Array::from(vec![7, 8, 9])),
        Arc::new(StringArray::from(vec![
            Some("138 1234 5678"),
            None,
            Some(""),
        ])),
        Arc::new(Float64Array::from(vec![Some(0.1), None, Some(-2.5e10)])),
        Arc::new(Date32Array::from(vec![Some(19_000), Some(0), None])),
        Arc::new(BooleanArray::from(vec![Some(true), Some(false), None])),
    ];
    RecordBatch::try_new(Arc::new(schema), columns).unwrap()
}

fn write_parquet(path: &Path, batches: &[RecordBatch]) {
    let file = File::create(path).unwrap();
    let mut writer = ArrowWriter::try_new(file, batches[0].schema(), None).unwrap();
    for batch in batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
}

fn write_arrow(path: &Path, batch: &RecordBatch) {
    let file = File::create(path).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &batch.schema()).unwrap();
    writer.write(batch).unwrap();
    writer.finish().unwrap();
}

fn open(path: &Path) -> blindmatch_data::Result<DatasetReader> {
    let source = InputSource::File(path.to_path_buf());
    DatasetReader::open(&source, Format::of_input(&source, None), b',')
}

fn columns(
    reader: &DatasetReader,
    specs: &[&str],
    keep: &[&str],
) -> blindmatch_data::Result<Columns> {
    let specs: Vec<ColumnSpec> = specs
        .iter()
        .map(|s| ColumnSpec::parse(s).unwrap())
        .collect();
    let keep: Vec<String> = keep.iter().map(|s| (*s).to_owned()).collect();
    Columns::resolve(reader.header(), &specs, &keep, reader.name())
}

fn rows(reader: &mut DatasetReader) -> Vec<Vec<String>> {
    let mut record = Record::default();
    let mut out = Vec::new();
    while reader.read(&mut record).unwrap() {
        out.push(
            (0..record.len())
                .map(|i| record.text(i).to_owned())
                .collect(),
        );
    }
    out
}

#[test]
fn parquet_and_arrow_read_as_records_in_order_with_nulls_empty() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["t.parquet", "t.arrow", "t.feather"] {
        let path = dir.path().join(name);
        if name.ends_with("parquet") {
            write_parquet(&path, &[customers()]);
        } else {
            write_arrow(&path, &customers());
        }
        let mut reader = open(&path).unwrap();
        assert_eq!(reader.header(), ["id", "phone", "score", "since", "vip"]);
        assert_eq!(reader.column_type(2), Some(&DataType::Float64));
        let all = rows(&mut reader);
        assert_eq!(
            all,
            vec![
                vec!["7", "138 1234 5678", "0.1", "2022-01-08", "true"],
                vec!["8", "", "", "1970-01-01", "false"],
                vec!["9", "", "-25000000000.0", "", ""],
            ],
            "{name}"
        );
        let summary = reader.finish().unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(summary.rows, 3);
        assert_eq!(summary.bytes, bytes.len() as u64);
        assert_eq!(summary.sha256, hex::encode(Sha256::digest(&bytes)));
        assert_eq!(summary.format, Format::of_path(&path));
    }
}

#[test]
fn records_give_their_row_number_as_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let mut reader = open(&path).unwrap();
    let mut record = Record::default();
    for row in 1..=3 {
        assert!(reader.read(&mut record).unwrap());
        assert_eq!((record.row(), record.line()), (row, row));
    }
    assert!(!reader.read(&mut record).unwrap());
}

#[test]
fn only_used_columns_are_decoded_and_integers_are_identifiers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let mut reader = open(&path).unwrap();
    let cols = columns(&reader, &["id:raw"], &["vip"]).unwrap();
    reader.use_columns(&cols).unwrap();
    let all = rows(&mut reader);
    assert_eq!(all[0], vec!["7", "", "", "", "true"]);
    assert_eq!(all[2], vec!["9", "", "", "", ""]);
}

#[test]
fn a_float_identifier_column_is_refused_by_name_and_type() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let mut reader = open(&path).unwrap();
    let cols = columns(&reader, &["score:phone"], &[]).unwrap();
    let err = reader.use_columns(&cols).unwrap_err();
    assert_eq!(err.category(), Category::BadInput);
    assert!(err.message().contains("column 'score'"), "{err}");
    assert!(err.message().contains("Float64"), "{err}");
    assert!(
        err.hint_text().unwrap().contains("string column"),
        "{err:?}"
    );
    // Dates and booleans are not identifiers either; text and integers are.
    for spec in ["since:raw", "vip:raw"] {
        let cols = columns(&reader, &[spec], &[]).unwrap();
        assert!(reader.use_columns(&cols).is_err(), "{spec}");
    }
    let cols = columns(&reader, &["phone:phone", "id:raw"], &["score"]).unwrap();
    reader.use_columns(&cols).unwrap();
}

#[test]
fn a_missing_column_fails_as_in_csv() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let reader = open(&path).unwrap();
    let err = columns(&reader, &["mobile:phone"], &[]).unwrap_err();
    assert!(
        err.message()
            .contains("column 'mobile' (--column) is not in the header"),
        "{err}"
    );
    assert_eq!(
        err.hint_text(),
        Some("columns in the file: id, phone, score, since, vip")
    );
}

#[test]
fn a_file_that_is_not_parquet_or_arrow_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["t.parquet", "t.arrow"] {
        let path = dir.path().join(name);
        std::fs::write(&path, b"id,phone\n1,13812345678\n").unwrap();
        let err = open(&path).unwrap_err();
        assert_eq!(err.category(), Category::BadInput);
        assert!(err.message().contains("is not a"), "{err}");
        assert!(err.hint_text().unwrap().contains("--format csv"), "{err:?}");
        // An empty file too.
        std::fs::write(&path, b"").unwrap();
        assert_eq!(open(&path).unwrap_err().category(), Category::BadInput);
    }
    // --format csv reads the same file as CSV.
    let path = dir.path().join("t.parquet");
    std::fs::write(&path, b"id,phone\n1,13812345678\n").unwrap();
    let source = InputSource::File(path);
    let mut reader = DatasetReader::open(&source, Format::Csv, b',').unwrap();
    assert_eq!(rows(&mut reader), vec![vec!["1", "13812345678"]]);
}

#[test]
fn a_truncated_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = open(&path).unwrap_err();
    assert_eq!(err.category(), Category::BadInput);
    assert!(err.message().contains("or it is truncated"), "{err}");

    let path = dir.path().join("t.arrow");
    write_arrow(&path, &customers());
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 9]).unwrap();
    assert_eq!(open(&path).unwrap_err().category(), Category::BadInput);
}

#[test]
fn a_corrupt_page_is_refused_with_the_rows_read_so_far() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let mut bytes = std::fs::read(&path).unwrap();
    // The first page header starts right after the `PAR1` magic.
    for b in bytes.iter_mut().skip(4).take(12) {
        *b = 0xff;
    }
    std::fs::write(&path, &bytes).unwrap();
    let mut reader = open(&path).unwrap();
    let mut record = Record::default();
    let err = reader.read(&mut record).unwrap_err();
    assert_eq!(err.category(), Category::BadInput);
    assert!(err.message().contains("after row 0"), "{err}");
    assert!(err.message().contains("damaged"), "{err}");
}

/// Files found by the `columnar_input` fuzz target on which the parquet crate
/// panics: a footer with a column chunk at a negative offset, and a page whose
/// definition levels run past their bitmap. Both are bad input naming the file.
#[test]
fn damaged_files_the_parquet_crate_panics_on_are_refused_not_a_panic() {
    for name in ["negative-chunk-offset.parquet", "damaged-levels.parquet"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(name);
        let err = match open(&path) {
            Err(e) => e,
            Ok(mut reader) => {
                let mut record = Record::default();
                loop {
                    match reader.read(&mut record) {
                        Ok(true) => {}
                        Ok(false) => panic!("{name}: read to the end"),
                        Err(e) => break e,
                    }
                }
            }
        };
        assert_eq!(err.category(), Category::BadInput, "{name}");
        assert!(err.message().contains(name), "{err}");
    }
}

#[test]
fn standard_input_cannot_be_parquet() {
    let err = DatasetReader::open(&InputSource::Stdin, Format::Parquet, b',').unwrap_err();
    assert_eq!(err.category(), Category::BadInput);
    assert!(err.message().contains("standard input"), "{err}");
}

#[test]
fn many_batches_and_row_groups_keep_row_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.parquet");
    let n = BATCH_ROWS * 2 + 123;
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("phone", DataType::Utf8, true),
    ]));
    let batches: Vec<RecordBatch> = (0..3)
        .map(|part| {
            let range = (part * n / 3)..((part + 1) * n / 3);
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(
                        range.clone().map(|i| i as i64),
                    )),
                    Arc::new(StringArray::from_iter(
                        range.map(|i| (i % 7 != 0).then(|| format!("1381234{i:04}"))),
                    )),
                ],
            )
            .unwrap()
        })
        .collect();
    write_parquet(&path, &batches);
    let mut reader = open(&path).unwrap();
    let all = rows(&mut reader);
    assert_eq!(all.len(), n);
    for (i, row) in all.iter().enumerate() {
        assert_eq!(row[0], i.to_string());
        let phone = if i % 7 == 0 {
            String::new()
        } else {
            format!("1381234{i:04}")
        };
        assert_eq!(row[1], phone);
    }
}

/// Writes `csv` through a ParquetWriter into an atomic file and reads it back.
fn through_writer(dir: &Path, csv: &str, types: ColumnTypes) -> (PathBuf, RecordBatch) {
    let path = dir.join("out.parquet");
    let file = AtomicFile::create(&path, true, true).unwrap();
    let mut writer = ParquetWriter::new(file, b',', types);
    // Split anywhere: the writer parses across writes.
    for piece in csv.as_bytes().chunks(5) {
        writer.write_all(piece).unwrap();
    }
    writer.finish().unwrap().commit().unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batches: Vec<RecordBatch> = reader.map(|b| b.unwrap()).collect();
    let batch = arrow_select_concat(&batches);
    (path, batch)
}

fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
    assert_eq!(batches.len(), 1, "one small batch expected");
    batches[0].clone()
}

#[test]
fn the_parquet_writer_keeps_types_and_nulls_of_kept_columns() {
    let dir = tempfile::tempdir().unwrap();
    let mut types = ColumnTypes::new();
    types.set("id", &DataType::Int64);
    types.set("score", &DataType::Float64);
    types.set("since", &DataType::Date32);
    types.set("blob", &DataType::Binary);
    let csv = "id,phone_token,score,since,blob,note\n\
               7,bm1.k.AAA,0.1,2022-01-08,00ff,\"a, b\"\n\
               8,,,1970-01-01,,\n\
               9,bm1.k.BBB,-25000000000,,01,x\n";
    let (path, batch) = through_writer(dir.path(), csv, types);
    let schema = batch.schema();
    let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
    assert_eq!(
        types,
        [
            &DataType::Int64,
            &DataType::Utf8,
            &DataType::Float64,
            &DataType::Date32,
            // Binary does not convert back from its text: it stays text.
            &DataType::Utf8,
            &DataType::Utf8,
        ]
    );
    assert_eq!(
        batch.column(0).as_primitive::<Int64Type>().values(),
        &[7, 8, 9]
    );
    let tokens = batch.column(1).as_string::<i32>();
    assert_eq!(
        tokens.iter().collect::<Vec<_>>(),
        [Some("bm1.k.AAA"), None, Some("bm1.k.BBB")]
    );
    let scores = batch.column(2).as_primitive::<Float64Type>();
    assert_eq!(
        scores.iter().collect::<Vec<_>>(),
        [Some(0.1), None, Some(-2.5e10)]
    );
    let dates = batch.column(3).as_primitive::<Date32Type>();
    assert_eq!(
        dates.iter().collect::<Vec<_>>(),
        [Some(19_000), Some(0), None]
    );
    let notes = batch.column(5).as_string::<i32>();
    assert_eq!(notes.value(0), "a, b");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn a_value_that_does_not_convert_back_fails_without_showing_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.parquet");
    let mut types = ColumnTypes::new();
    types.set("id", &DataType::Int64);
    let file = AtomicFile::create(&path, false, true).unwrap();
    let mut writer = ParquetWriter::new(file, b',', types);
    writer.write_all(b"id\n13812345678x\n").unwrap();
    let err = writer.finish().unwrap_err().to_string();
    assert!(err.contains("column 'id'"), "{err}");
    assert!(!err.contains("13812345678"), "{err}");
    // Nothing appears under the output's name.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn values_round_trip_from_the_reader_through_the_writer() {
    // What the reader makes text of, the writer turns back into the same values.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.parquet");
    write_parquet(&input, &[customers()]);
    let mut reader = open(&input).unwrap();
    let mut types = ColumnTypes::new();
    for (i, name) in reader.header().to_vec().iter().enumerate() {
        types.set(name.clone(), reader.column_type(i).unwrap());
    }
    let mut csv = String::from("id,phone,score,since,vip\n");
    for row in rows(&mut reader) {
        csv.push_str(&row.join(","));
        csv.push('\n');
    }
    let (_, batch) = through_writer(dir.path(), &csv, types);
    let original = customers();
    for i in [0, 2, 3, 4] {
        assert_eq!(
            batch.column(i).as_ref(),
            original.column(i).as_ref(),
            "column {i}"
        );
    }
}

/// Every row as (row number, line, cells) through `Rows`, reading blocks of at
/// most `max` rows with `read_chunk` and, every third block, one record with
/// `read` in between: the two may be mixed.
fn rows_by_chunks(reader: &mut DatasetReader, max: usize) -> Vec<(u64, u64, Vec<String>)> {
    let width = reader.header().len();
    let mut chunk = RowChunk::default();
    let mut record = Record::default();
    let mut out = Vec::new();
    for block in 0.. {
        if block % 3 == 2 {
            if !reader.read(&mut record).unwrap() {
                break;
            }
            let cells = (0..width).map(|c| record.text(c).to_owned()).collect();
            out.push((record.row(), record.line(), cells));
            continue;
        }
        let n = reader.read_chunk(&mut chunk, max).unwrap();
        assert_eq!(n, chunk.len());
        assert!(n <= max, "{n} rows in a block of at most {max}");
        if n == 0 {
            break;
        }
        fn take<R: Rows + ?Sized>(rows: &R, width: usize, out: &mut Vec<(u64, u64, Vec<String>)>) {
            for i in 0..rows.len() {
                let cells = (0..width)
                    .map(|c| rows.text(i, c).unwrap().to_owned())
                    .collect();
                out.push((rows.row(i), rows.line(i), cells));
            }
        }
        match chunk.rows() {
            ChunkRows::Records(records) => take(records, width, &mut out),
            ChunkRows::Batch(batch) => take(batch, width, &mut out),
        }
    }
    out
}

#[test]
fn blocks_of_rows_read_in_place_give_what_records_give() {
    let dir = tempfile::tempdir().unwrap();
    // Batches and row groups that end at other rows than the reader's batches.
    let n = BATCH_ROWS * 2 + 1234;
    let schema = Arc::new(Schema::new(vec![
        Field::new("n", DataType::Int64, false),
        Field::new("phone", DataType::Utf8, true),
        Field::new("note", DataType::Utf8, true),
    ]));
    let batches: Vec<RecordBatch> = [0, 5000, 5001, n]
        .windows(2)
        .map(|w| {
            let range = w[0]..w[1];
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values(
                        range.clone().map(|i| i as i64),
                    )),
                    Arc::new(StringArray::from_iter(range.clone().map(|i| match i % 5 {
                        0 => None,
                        1 => Some(String::new()),
                        _ => Some(format!("1381234{i:04}")),
                    }))),
                    Arc::new(StringArray::from_iter(
                        range.map(|i| (i % 3 == 0).then(|| format!("n,\"{i}\""))),
                    )),
                ],
            )
            .unwrap()
        })
        .collect();
    let parquet = dir.path().join("t.parquet");
    let file = File::create(&parquet).unwrap();
    let props = parquet::file::properties::WriterProperties::builder()
        .set_max_row_group_row_count(Some(3000))
        .build();
    let mut writer = ArrowWriter::try_new(file, schema.clone(), Some(props)).unwrap();
    for batch in &batches {
        writer.write(batch).unwrap();
    }
    writer.close().unwrap();
    let arrow = dir.path().join("t.arrow");
    let file = File::create(&arrow).unwrap();
    let mut writer = arrow_ipc::writer::FileWriter::try_new(file, &schema).unwrap();
    for batch in &batches {
        writer.write(batch).unwrap();
    }
    writer.finish().unwrap();
    // The same table as CSV: a null is an empty cell.
    let csv = dir.path().join("t.csv");
    let mut text = String::from("n,phone,note\n");
    for i in 0..n {
        let phone = match i % 5 {
            0 | 1 => String::new(),
            _ => format!("1381234{i:04}"),
        };
        let note = if i % 3 == 0 {
            format!("\"n,\"\"{i}\"\"\"")
        } else {
            String::new()
        };
        text.push_str(&format!("{i},{phone},{note}\n"));
    }
    std::fs::write(&csv, text).unwrap();

    let all_records = |path: &Path, used: bool| {
        let mut reader = open(path).unwrap();
        if used {
            let cols = columns(&reader, &["phone:phone"], &["n"]).unwrap();
            reader.use_columns(&cols).unwrap();
        }
        let mut record = Record::default();
        let mut out = Vec::new();
        while reader.read(&mut record).unwrap() {
            let cells: Vec<String> = (0..3).map(|c| record.text(c).to_owned()).collect();
            out.push((record.row(), record.line(), cells));
        }
        out
    };
    let want = all_records(&parquet, false);
    assert_eq!(want.len(), n);
    assert_eq!(want[5002].2, ["5002", "13812345002", ""]);
    for path in [&parquet, &arrow, &csv] {
        for (used, max) in [(false, 1000), (true, 2048), (false, BATCH_ROWS * 3)] {
            let mut reader = open(path).unwrap();
            if used {
                let cols = columns(&reader, &["phone:phone"], &["n"]).unwrap();
                reader.use_columns(&cols).unwrap();
            }
            let got = rows_by_chunks(&mut reader, max);
            let csv_lines = path.extension().is_some_and(|e| e == "csv");
            if csv_lines {
                // CSV lines count the header; cells are the same.
                let cells: Vec<_> = got.iter().map(|(r, _, c)| (*r, c.clone())).collect();
                let want: Vec<_> = want.iter().map(|(r, _, c)| (*r, c.clone())).collect();
                assert_eq!(cells, want, "{path:?} {max}");
                assert!(got.iter().all(|(r, l, _)| *l == r + 1));
            } else {
                assert_eq!(got, all_records(path, used), "{path:?} {used} {max}");
            }
            assert_eq!(reader.finish().unwrap().rows, n as u64, "{path:?}");
        }
    }
}

#[test]
fn blocks_of_rows_show_no_value_in_debug() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.parquet");
    write_parquet(&path, &[customers()]);
    let csv = dir.path().join("t.csv");
    std::fs::write(&csv, "id,phone\n7,138 1234 5678\n").unwrap();
    for path in [&path, &csv] {
        let mut reader = open(path).unwrap();
        let mut chunk = RowChunk::default();
        assert!(
            reader.read_chunk(&mut chunk, 0).unwrap() == 1,
            "at least one row"
        );
        let shown = format!("{chunk:?} {:?}", chunk.rows());
        assert!(!shown.contains("1234"), "{shown}");
        assert!(shown.contains("rows: 1"), "{shown}");
    }
}

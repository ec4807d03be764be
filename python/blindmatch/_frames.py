"""Conversions between the column and table kinds users hand in (pyarrow, pandas,
polars, plain lists) and pyarrow, which is how data crosses into Rust.

Every public function returns the kind it was given: ``_Column.back`` and
``_Table.back`` undo ``column`` and ``table``.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import pyarrow as pa
import pyarrow.compute as pc

from . import _native


def bad_input(message: str, hint: Optional[str] = None) -> Exception:
    """A BadInputError made on the Python side, with the attributes the native
    ones carry. ``message`` must name columns and types only, never a value."""
    err = _native.BadInputError(message)
    err.category, err.exit_code, err.hint = "bad_input", 2, hint
    return err


def _chunks(array: Any) -> list:
    return list(array.chunks) if isinstance(array, pa.ChunkedArray) else [array]


def _decoded(array: pa.Array) -> pa.Array:
    return array.dictionary_decode() if isinstance(array.type, pa.DictionaryType) else array


def _module_of(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _to_strings(array: pa.Array, what: str) -> pa.Array:
    """Casts a non-string array to strings (numbers written as text); a type that
    cannot be cast is a BadInputError naming the type, never a value."""
    if pa.types.is_string(array.type) or pa.types.is_large_string(array.type):
        return array
    if hasattr(pa.types, "is_string_view") and pa.types.is_string_view(array.type):
        return array
    try:
        return pc.cast(array, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        raise bad_input(
            f"{what} of type {array.type} cannot be read as text",
            "give a column of strings (or numbers)",
        ) from None


class _Column:
    """A column as pyarrow arrays (the chunks of a chunked array are passed as
    they are, never combined), with a way back to the caller's kind."""

    def __init__(self, values: Any, what: str = "the column") -> None:
        self.kind = "list"
        self.name: Optional[str] = None
        self.index: Any = None
        module = _module_of(values)
        if isinstance(values, pa.ChunkedArray):
            self.kind = "chunked"
            arrays = list(values.chunks)
        elif isinstance(values, pa.Array):
            self.kind = "arrow"
            arrays = [values]
        elif module == "pandas" and hasattr(values, "index"):
            self.kind = "pandas"
            self.name = values.name
            self.index = values.index
            arrays = _chunks(pa.Array.from_pandas(values))
        elif module == "polars" and hasattr(values, "to_arrow"):
            self.kind = "polars"
            self.name = values.name
            arrays = _chunks(values.to_arrow())
        else:
            try:
                arrays = [pa.array(list(values), type=pa.string(), from_pandas=True)]
            except (pa.ArrowInvalid, pa.ArrowTypeError):
                # Mixed or non-string items: each taken as its text (None stays None).
                arrays = [pa.array([None if v is None else str(v) for v in values], type=pa.string())]
        self.chunks = [_to_strings(_decoded(a), what) for a in arrays]

    def back(self, result: pa.Array) -> Any:
        """``result`` (a pyarrow array as long as the input) in the input's kind."""
        if self.kind == "arrow":
            return result
        if self.kind == "chunked":
            return pa.chunked_array([result])
        if self.kind == "pandas":
            import pandas as pd

            series = result.to_pandas()
            return pd.Series(series.values, index=self.index, name=self.name, dtype=object)
        if self.kind == "polars":
            import polars as pl

            return pl.Series(self.name or "", result)
        return result.to_pylist()


class _Table:
    """A table as a pyarrow Table, with a way back to the caller's kind."""

    def __init__(self, data: Any) -> None:
        module = _module_of(data)
        self.back: Callable[[pa.Table], Any]
        if isinstance(data, pa.Table):
            self.table = data
            self.back = lambda t: t
        elif isinstance(data, pa.RecordBatch):
            self.table = pa.Table.from_batches([data])
            self.back = lambda t: t
        elif module == "pandas" and hasattr(data, "columns"):
            self.table = pa.Table.from_pandas(data, preserve_index=False)
            self.back = lambda t: t.to_pandas()
        elif module == "polars" and hasattr(data, "to_arrow"):
            self.table = data.to_arrow()
            import polars as pl

            self.back = lambda t: pl.from_arrow(t)
        else:
            raise bad_input(
                f"expected a pyarrow Table, pandas DataFrame or polars DataFrame, not {type(data).__name__}"
            )


def table_to_csv(table: pa.Table, columns: list) -> bytes:
    """The named columns of ``table`` as CSV text (header first, nulls empty), the
    form the library's readers take. Held in memory only; never written to disk."""
    import io

    import pyarrow.csv as pcsv

    missing = [c for c in columns if c not in table.column_names]
    if missing:
        raise bad_input(
            f"column '{missing[0]}' is not in the table (columns: {', '.join(table.column_names)})",
            "check the column name",
        )
    selected = table.select(columns)
    cast = []
    for name, col in zip(selected.column_names, selected.columns):
        if not (pa.types.is_string(col.type) or pa.types.is_large_string(col.type)):
            col = pa.chunked_array([_to_strings(c, f"column '{name}'") for c in col.chunks], pa.string())
        cast.append(col)
    selected = pa.Table.from_arrays(cast, names=selected.column_names)
    buf = io.BytesIO()
    pcsv.write_csv(selected, buf, pcsv.WriteOptions(quoting_style="all_valid"))
    return buf.getvalue()


def csv_to_table(text: bytes) -> pa.Table:
    """CSV text the library wrote (matched rows, clusters) as a table of strings,
    ``row`` as integers."""
    import io

    import pyarrow.csv as pcsv

    if not text:
        return pa.table({})
    import csv

    first = text.split(b"\n", 1)[0].decode("utf-8")
    header = next(csv.reader([first]))
    types = {name: (pa.int64() if name == "row" else pa.string()) for name in header}
    return pcsv.read_csv(
        io.BytesIO(text),
        convert_options=pcsv.ConvertOptions(
            column_types=types, strings_can_be_null=True, quoted_strings_can_be_null=True
        ),
    )

"""Tokenising a CSV table from Python, for comparison with `blindmatch tokenize`
on the same file (docs/benchmarks.md, "Python package"). Prints the median of
--repeat runs of three spans: tokenising the two identifier columns of a table
already in memory; reading the CSV with pyarrow and tokenising; and reading,
tokenising and writing the token table as CSV (what the CLI run does).

    python bench/tokenize_bench.py customers.csv acme.key --repeat 7 [--threads 1]
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import pyarrow as pa
import pyarrow.csv as pcsv

import blindmatch as bm


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("key")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--out", default="/dev/null")
    args = ap.parse_args()
    warnings.simplefilter("ignore", bm.RejectsWarning)
    names = ["customer_id", "phone", "email"]
    read = lambda: pcsv.read_csv(
        args.csv,
        convert_options=pcsv.ConvertOptions(
            include_columns=names, column_types={n: pa.string() for n in names}
        ),
    )
    if args.threads:
        pa.set_cpu_count(args.threads)
        pa.set_io_thread_count(args.threads)
    tok = bm.Tokenizer(args.key)
    spans = {"tokenize only": [], "read + tokenize": [], "read + tokenize + write": []}
    rows = 0
    for _ in range(args.repeat):
        t0 = time.perf_counter()
        table = read()
        t1 = time.perf_counter()
        phone = tok.tokenize(table["phone"], "phone", threads=args.threads)
        email = tok.tokenize(table["email"], "email", threads=args.threads)
        t2 = time.perf_counter()
        out = pa.table({"customer_id": table["customer_id"], "phone": phone, "email": email})
        pcsv.write_csv(out, args.out)
        t3 = time.perf_counter()
        rows = table.num_rows
        spans["tokenize only"].append(t2 - t1)
        spans["read + tokenize"].append(t2 - t0)
        spans["read + tokenize + write"].append(t3 - t0)
    for name, times in spans.items():
        m = statistics.median(times)
        print(f"{name:26s} median {m * 1000:7.0f} ms  min {min(times) * 1000:7.0f} ms  "
              f"{rows / m / 1e6:5.2f} M rows/s  ({rows} rows, {args.repeat} runs)")


if __name__ == "__main__":
    main()

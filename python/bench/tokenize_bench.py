"""Tokenising a CSV table from Python, for comparison with `blindmatch tokenize`
on the same file (docs/benchmarks.md, "Python package"). Prints the median of
--repeat runs of three spans: tokenising the two identifier columns of a table
already in memory; reading the CSV with pyarrow and tokenising; and reading,
tokenising and writing the token table as CSV (what the CLI run does).

    python bench/tokenize_bench.py customers.csv acme.key --repeat 7 [--threads 1] \
        [--cli target/release/blindmatch]

With --cli, each repetition also runs `blindmatch tokenize -q --key KEY --input
CSV --column phone:phone --column email:email --keep customer_id -o -` (output
discarded, as the Python run's CSV goes to --out, /dev/null by default),
interleaved with the Python runs so that load from other processes affects both
alike; `--threads` is passed to it too. Pin both to one core with `taskset -c 0`.
"""

from __future__ import annotations

import argparse
import resource
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
    ap.add_argument("--cli", default=None, help="a blindmatch binary to run alternately")
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
    # CPU seconds (user + system, all threads) of the whole Python run and of the
    # CLI run: unlike wall time, hardly changed by other processes' load.
    cpu = {"tokenize only": [], "read + tokenize + write": [], "CLI tokenize (whole command)": []}

    def cpu_of(who: int) -> float:
        r = resource.getrusage(who)
        return r.ru_utime + r.ru_stime

    if args.cli:
        spans["CLI tokenize (whole command)"] = []
        cli = [args.cli, "tokenize", "-q", "--key", args.key, "--input", args.csv,
               "--column", "phone:phone", "--column", "email:email", "--keep", "customer_id", "-o", "-"]
        if args.threads:
            cli += ["--threads", str(args.threads)]
        import subprocess

        subprocess.run(cli, stdout=subprocess.DEVNULL, check=True)  # warm-up
    rows = 0
    for _ in range(args.repeat):
        c0 = cpu_of(resource.RUSAGE_SELF)
        t0 = time.perf_counter()
        table = read()
        t1 = time.perf_counter()
        c1 = cpu_of(resource.RUSAGE_SELF)
        phone = tok.tokenize(table["phone"], "phone", threads=args.threads)
        email = tok.tokenize(table["email"], "email", threads=args.threads)
        t2 = time.perf_counter()
        cpu["tokenize only"].append(cpu_of(resource.RUSAGE_SELF) - c1)
        out = pa.table({"customer_id": table["customer_id"], "phone": phone, "email": email})
        pcsv.write_csv(out, args.out)
        t3 = time.perf_counter()
        cpu["read + tokenize + write"].append(cpu_of(resource.RUSAGE_SELF) - c0)
        rows = table.num_rows
        spans["tokenize only"].append(t2 - t1)
        spans["read + tokenize"].append(t2 - t0)
        spans["read + tokenize + write"].append(t3 - t0)
        if args.cli:
            c4 = cpu_of(resource.RUSAGE_CHILDREN)
            t4 = time.perf_counter()
            subprocess.run(cli, stdout=subprocess.DEVNULL, check=True)
            spans["CLI tokenize (whole command)"].append(time.perf_counter() - t4)
            cpu["CLI tokenize (whole command)"].append(cpu_of(resource.RUSAGE_CHILDREN) - c4)
    for name, times in spans.items():
        m = statistics.median(times)
        print(f"{name:30s} median {m * 1000:7.0f} ms  min {min(times) * 1000:7.0f} ms  "
              f"{rows / m / 1e6:5.2f} M rows/s  ({rows} rows, {args.repeat} runs)")
    for name, times in cpu.items():
        if times:
            m = statistics.median(times)
            print(f"{name:30s} CPU time median {m * 1000:7.0f} ms  {rows / m / 1e6:5.2f} M rows per CPU-second")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Peak memory and CPU per party of `blindmatch match` as sets grow, with buckets.

Two `blindmatch match` processes on one machine over loopback (the plaintext test
transport, so the figures are the matching's, not TLS's), on generated files of
2^E rows per side (or N rows: a size above 64, such as 10000000 or 1e7, is a row
count) with half of them shared. For each size it prints one JSON line:
rows per side, buckets agreed, wall seconds, and per party the peak RSS
(getrusage ru_maxrss, exact) and CPU seconds, and core-microseconds per element
(both parties' CPU over both sides' rows). docs/benchmarks.md ("Buckets and bounded
memory") has the figures and the command.

usage: scripts/bench-buckets.py BIN [--memory-limit 256MiB] [--threads N] E|N [E|N ...]
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time


def generate(path, start, n):
    with open(path, "w", buffering=1 << 20) as f:
        f.write("id,phone\n")
        step = 1 << 16
        for lo in range(start, start + n, step):
            hi = min(lo + step, start + n)
            f.write("".join(f"{i},+86139{i:08d}\n" for i in range(lo, hi)))


def rows_of(text):
    """A size argument: 2^E for E up to 64, else a row count (10000000, 1e7)."""
    value = float(text)
    if value != int(value) or value < 1 or value > 6e7:
        raise argparse.ArgumentTypeError(f"{text}: give an exponent E (2^E rows) or a row count up to 6e7")
    value = int(value)
    return (value, 1 << value) if value <= 64 else (None, value)


def wait_rusage(proc):
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("bin")
    ap.add_argument("sizes", nargs="+", type=rows_of)
    ap.add_argument("--memory-limit", default="256MiB")
    ap.add_argument("--threads", type=int, default=max(1, (os.cpu_count() or 2) // 2))
    args = ap.parse_args()
    for e, n in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            a, b = os.path.join(tmp, "a.csv"), os.path.join(tmp, "b.csv")
            generate(a, 0, n)
            generate(b, n // 2, n)
            common = [
                "--insecure-plaintext-for-testing", "-q", "--column", "phone:phone",
                "--keep", "id", "--memory-limit", args.memory_limit, "--work-dir", tmp,
                "--threads", str(args.threads), "--min-peer-set", "0",
                "--wait-timeout", "10m", "--read-timeout", "10m", "--force",
            ]
            port = 17000 + (e if e is not None else 100 + n % 800)
            started = time.monotonic()
            pa = subprocess.Popen(
                [args.bin, "match", "--listen", f"127.0.0.1:{port}", "--input", a,
                 "-o", os.path.join(tmp, "a.out.csv"), "--receipt", os.path.join(tmp, "a.json")]
                + common)
            time.sleep(0.5)
            pb = subprocess.Popen(
                [args.bin, "match", "--connect", f"127.0.0.1:{port}", "--input", b,
                 "-o", os.path.join(tmp, "b.out.csv"), "--receipt", os.path.join(tmp, "b.json")]
                + common)
            ub = wait_rusage(pb)
            ua = wait_rusage(pa)
            wall = time.monotonic() - started
            if pa.returncode or pb.returncode:
                print(json.dumps({"rows_per_side": n, "error": [pa.returncode, pb.returncode]}))
                sys.exit(1)
            receipt = json.load(open(os.path.join(tmp, "a.json")))
            buckets = (receipt.get("partition") or {}).get("buckets", 1)
            matched = receipt["result"]["matched_rows"]
            cpu = [u.ru_utime + u.ru_stime for u in (ua, ub)]
            print(json.dumps({
                "rows_per_side": n,
                "exponent": e,
                "memory_limit": args.memory_limit,
                "threads_per_party": args.threads,
                "buckets": buckets,
                "matched_rows": matched,
                "wall_s": round(wall, 2),
                "peak_rss_mib": [round(u.ru_maxrss / 1024, 1) for u in (ua, ub)],
                "cpu_s": [round(c, 2) for c in cpu],
                "core_us_per_element": round(sum(cpu) / (2 * n) * 1e6, 2),
            }), flush=True)


if __name__ == "__main__":
    main()

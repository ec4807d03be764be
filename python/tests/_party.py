"""One party of a session in its own process, for test_match.py: builds its
made-up table, runs blindmatch.match with the JSON options in argv[1], reports
the listening address in argv[2] (when listening) and writes what it learned to
argv[3] as JSON. Not a test module (no test_ prefix)."""

from __future__ import annotations

import json
import os
import sys

import pandas as pd

sys.path.insert(0, os.path.dirname(__file__))
import blindmatch as bm  # noqa: E402
from conftest import messy  # noqa: E402


def main() -> None:
    spec = json.loads(sys.argv[1])
    addr_file, out_file = sys.argv[2], sys.argv[3]
    ids = spec.pop("customers")
    df = pd.DataFrame(
        {
            "customer_id": [f"C{i}" for i in ids],
            "mobile": [messy(i) for i in ids],
            "segment": [f"seg-{i % 3}" for i in ids],
        }
    )

    events = []

    def progress(event):
        events.append(event["event"])
        if event["event"] == "listening":
            with open(addr_file + ".tmp", "w") as f:
                f.write(event["addr"])
            os.replace(addr_file + ".tmp", addr_file)

    result = bm.match(df, {"mobile": "phone"}, progress=progress, **spec)
    table = result.table
    with open(out_file, "w") as f:
        json.dump(
            {
                "customers": None if table is None else table["customer_id"].tolist(),
                "match_ids": None if table is None else table["match_id"].tolist(),
                "peer_segment": None
                if table is None or "peer.segment" not in table
                else table["peer.segment"].tolist(),
                "matched_values": result.matched_values,
                "transcript": result.receipt["transcript_hash"],
                "kind": type(table).__name__,
                "psi_protocol": result.receipt.get("psi_protocol"),
                "buckets": (result.receipt.get("partition") or {}).get("buckets"),
                "events": sorted(set(events)),
            },
            f,
        )


if __name__ == "__main__":
    main()

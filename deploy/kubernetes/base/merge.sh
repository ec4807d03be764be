#!/bin/sh
# Merges this party's K shard outputs and receipts into one output and one
# receipt, then audits the merged receipt; run by the Job `blindmatch-merge`
# once every shard of `blindmatch-shards` has completed. The only place where
# the `merge` and `audit` flags are written.
set -eu
umask 077

die() {
    echo "error: $*" >&2
    exit 2
}

OUT_DIR="${OUT_DIR:-/data/out}"
K="${SHARDS:?SHARDS is not set (party.env)}"
case "$K" in '' | *[!0-9]* | 0) die "SHARDS must be a positive number, not '$K'" ;; esac
bin="${BLINDMATCH:-blindmatch}"
merged="$OUT_DIR/merged.receipt.json"

if [ ! -e "$merged" ]; then
    # The receipts of shards 0..K-1 by name, never a glob: a receipt left by an
    # earlier run with another K must not slip in.
    set --
    missing=""
    i=0
    while [ "$i" -lt "$K" ]; do
        receipt="$OUT_DIR/shard-$i.receipt.json"
        [ -e "$receipt" ] || missing="$missing $i"
        set -- "$@" "$receipt"
        i=$((i + 1))
    done
    [ -z "$missing" ] || die "no receipt for shard(s)$missing of $K: wait for job/blindmatch-shards to complete, or re-run it"
    "$bin" merge -o "$OUT_DIR/matched.csv" --receipt "$merged" "$@"
fi
exec "$bin" audit receipt "$merged"

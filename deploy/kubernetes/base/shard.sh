#!/bin/sh
# One shard of a sharded blindmatch session, run by the Indexed Job
# `blindmatch-shards`: shard I of K talks to shard I of the partner's Job.
# This file is the only place where the `blindmatch match` flags are written;
# the values come from the party's ConfigMap (overlays/PARTY/party.env) and
# from the pod (JOB_COMPLETION_INDEX, the container's resource limits).
set -eu
# Outputs, receipts and resume state are readable by this user only.
umask 077

die() {
    echo "error: $*" >&2
    exit 2
}

# Where things are in the pod (see base/shards-job.yaml); overridable for tests.
OUT_DIR="${OUT_DIR:-/data/out}"
STATE_DIR="${STATE_DIR:-/data/state}"
WORK_DIR="${WORK_DIR:-/scratch}"
IDENTITY="${IDENTITY:-/secrets/identity/party}"
LISTEN_PORT="${LISTEN_PORT:-7000}"

K="${SHARDS:?SHARDS is not set (party.env)}"
# SHARD_INDEX overrides the Job's index, to run one shard by hand.
I="${SHARD_INDEX:-${JOB_COMPLETION_INDEX:-}}"
case "$I" in '' | *[!0-9]*) die "no shard index: run as an Indexed Job or set SHARD_INDEX" ;; esac
case "$K" in '' | *[!0-9]* | 0) die "SHARDS must be a positive number, not '$K'" ;; esac
[ "$I" -lt "$K" ] || die "shard index $I is not below SHARDS=$K"

receipt="$OUT_DIR/shard-$I.receipt.json"
if [ -e "$receipt" ]; then
    # Outputs and receipts appear only when complete, so a receipt means this
    # shard finished in an earlier run of the Job: re-running the Job redoes
    # only the shards that have none.
    echo "shard $I/$K: $receipt exists, nothing to do" >&2
    exit 0
fi
mkdir -p "$OUT_DIR" "$STATE_DIR/shard-$I"

# --memory-limit follows the container's memory limit (MEMORY_LIMIT_MIB, from
# the pod's resourceFieldRef), leaving MEMORY_HEADROOM_PERCENT for the rest of
# the process (TLS, buffers, the allocator), so the two cannot drift apart.
: "${MEMORY_LIMIT_MIB:?MEMORY_LIMIT_MIB is not set (the container needs a memory limit)}"
headroom="${MEMORY_HEADROOM_PERCENT:-25}"
case "$headroom" in [1-9] | [1-9][0-9]) ;; *) die "MEMORY_HEADROOM_PERCENT must be 1 to 99, not '$headroom'" ;; esac
memory_mib=$((MEMORY_LIMIT_MIB * (100 - headroom) / 100))

case "${ROLE:-}" in
listen)
    where="--listen ${LISTEN_HOST:-0.0.0.0}:$LISTEN_PORT"
    ;;
connect)
    # PEER_HOST: one host for every shard, a pattern with {I}, or K hosts
    # separated by spaces; shard I of the partner listens on PEER_BASE_PORT + I.
    : "${PEER_HOST:?PEER_HOST is not set (party.env)}"
    # shellcheck disable=SC2086 # split the list of hosts on purpose
    set -- $PEER_HOST
    if [ "$#" -gt 1 ]; then
        [ "$#" -eq "$K" ] || die "PEER_HOST lists $# hosts for SHARDS=$K"
        shift "$I"
        host="$1"
    else
        host=$(printf '%s\n' "$1" | sed "s/{I}/$I/g")
    fi
    where="--connect $host:$((${PEER_BASE_PORT:?PEER_BASE_PORT is not set (party.env)} + I))"
    ;;
*) die "ROLE must be 'listen' or 'connect', not '${ROLE:-}'" ;;
esac

fingerprint="${PEER_FINGERPRINT:?PEER_FINGERPRINT is not set (party.env)}"
case "$fingerprint" in *:0000000000000000000000000000000000000000000000000000000000000000)
    die "PEER_FINGERPRINT is still the placeholder: set the partner's in party.env" ;;
esac

# Built as the positional parameters so that every value stays one argument.
# shellcheck disable=SC2086 # $where is two words on purpose
set -- $where
set -- "$@" --identity "$IDENTITY"
set -- "$@" --peer-fingerprint "$fingerprint"
set -- "$@" --input "${INPUT:?INPUT is not set (party.env)}"
# shellcheck disable=SC2086 # lists separated by spaces
for column in ${COLUMNS:?COLUMNS is not set (party.env)}; do set -- "$@" --column "$column"; done
# shellcheck disable=SC2086
for keep in ${KEEP:-}; do set -- "$@" --keep "$keep"; done
set -- "$@" --shard "$I/$K"
set -- "$@" --work-dir "$WORK_DIR"
set -- "$@" --memory-limit "${memory_mib}MiB"
set -- "$@" --resume "$STATE_DIR/shard-$I"
set -- "$@" --threads "${CPU_LIMIT:-1}"
set -- "$@" --wait-timeout "${WAIT_TIMEOUT:-30m}"
set -- "$@" --events json
set -- "$@" -o "$OUT_DIR/shard-$I.csv"
set -- "$@" --receipt "$receipt"
set -- "$@" --shareable-receipt "$OUT_DIR/shard-$I.shareable.json"
# EXTRA_ARGS: further `match` flags both parties agree on (e.g. --mode, --reveal,
# --rule, --min-peer-set); split on spaces.
# shellcheck disable=SC2086
set -- "$@" ${EXTRA_ARGS:-}

echo "shard $I/$K: blindmatch match $where (memory limit ${memory_mib}MiB)" >&2
exec "${BLINDMATCH:-blindmatch}" match "$@"

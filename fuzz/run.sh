#!/usr/bin/env bash
# Builds every fuzz target and runs each for FUZZ_SECONDS (default 5) on a copy of its
# committed corpus, so a run never adds files to fuzz/corpus/. A crash fails the
# script; libFuzzer leaves the input in fuzz/artifacts/TARGET/ (gitignored).
#
#   fuzz/run.sh                        # CI: build, 5 s per target
#   FUZZ_SECONDS=60 fuzz/run.sh        # a longer look
#   fuzz/run.sh normalize net_frame    # only these targets
#
# FUZZ_SANITIZER (default none): the targets and the crates they call forbid unsafe
# code, so AddressSanitizer finds little here, yet it costs a minute more to build
# on two cores and runs the targets 2-4 times slower. Use `address` for a deep run.
# FUZZ_TOOLCHAIN (default nightly): cargo-fuzz needs a nightly compiler.
set -euo pipefail
cd "$(dirname "$0")"

seconds="${FUZZ_SECONDS:-5}"
sanitizer="${FUZZ_SANITIZER:-none}"
toolchain="+${FUZZ_TOOLCHAIN:-nightly}"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

# The fuzz crate has its own Cargo.lock: refuse to run with one that is out of date
# rather than let CI resolve versions of its own.
if ! cargo "$toolchain" fetch --locked --quiet; then
    echo "fuzz/Cargo.lock is out of date (a dependency of crates/ changed)" >&2
    echo "hint: run \`(cd fuzz && cargo update -w)\` and commit fuzz/Cargo.lock" >&2
    exit 1
fi

echo "== cargo fuzz build (sanitizer: $sanitizer)"
cargo "$toolchain" fuzz build --sanitizer "$sanitizer"

if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo "$toolchain" fuzz list)
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failed=()
for target in "${targets[@]}"; do
    mkdir -p "$work/$target"
    if [ -d "corpus/$target" ]; then
        cp -R "corpus/$target/." "$work/$target/"
    fi
    log="$work/$target.log"
    # -timeout: an input that takes over 10 s is a hang, reported like a crash.
    if cargo "$toolchain" fuzz run --sanitizer "$sanitizer" "$target" "$work/$target" -- \
        -max_total_time="$seconds" -timeout=10 -print_final_stats=1 >"$log" 2>&1; then
        runs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
        cov="$(grep -o 'DONE *cov: [0-9]*' "$log" | grep -o '[0-9]*$' || true)"
        echo "$target: ok, ${runs:-?} runs in ${seconds} s, coverage ${cov:-?}"
    else
        echo "$target: FAILED"
        # The panic message, then libFuzzer's report: the input and how to rerun it.
        grep -m1 -A4 "panicked at" "$log" || true
        sed -n '/ERROR: libFuzzer/,$p' "$log" | head -n 40
        failed+=("$target")
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "fuzz targets failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi

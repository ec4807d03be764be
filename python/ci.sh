#!/usr/bin/env bash
# Builds the Python package in a virtual environment and runs its tests: the
# Python half of CI (`.ci/run` calls it when CI=true). Needs python3 >= 3.9 with
# venv, and PyPI for maturin, pytest, pyarrow, pandas and polars.
#
# The PyO3 crate is outside the cargo workspace (see Cargo.toml), so its
# formatting and lints are checked here. It builds into the workspace's target/
# (CARGO_TARGET_DIR), reusing what `cargo test --workspace` compiled, in the
# debug profile (`maturin develop`): a release build with fat LTO would take most
# of CI's budget on two cores.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd .. && pwd)/target}"
VENV="${BLINDMATCH_VENV:-.venv}"

echo "== python: cargo fmt / clippy (blindmatch-py)"
cargo fmt -- --check
cargo clippy --locked --all-targets -- -D warnings

echo "== python: virtual environment ($VENV)"
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check \
    "maturin>=1.7,<2" "pytest>=7" "pyarrow>=14" "pandas>=1.5" "polars>=0.20"

echo "== python: maturin develop (debug build of blindmatch._native)"
VIRTUAL_ENV="$(cd "$VENV" && pwd)" PATH="$(cd "$VENV" && pwd)/bin:$PATH" \
    "$VENV/bin/maturin" develop --locked --quiet

echo "== python: pytest"
"$VENV/bin/python" -m pytest -q tests

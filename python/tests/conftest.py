"""Shared fixtures: key files, TLS identities and made-up customer data with a
known overlap (every value is generated; none is real)."""

from __future__ import annotations

import os
import pathlib
import sys
from typing import List, Tuple

import pytest

import blindmatch as bm

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent.parent


def phone(i: int) -> str:
    """The i-th made-up mainland mobile number, normalised."""
    return f"+86138{i:08d}"


def messy(i: int) -> str:
    """The same number as an export might write it."""
    digits = f"138{i:08d}"
    forms = [
        f"+86 {digits[:3]}-{digits[3:7]}-{digits[7:]}",
        f"0086{digits}",
        f"{digits[:3]} {digits[3:7]} {digits[7:]}",
        digits,
    ]
    return forms[i % len(forms)]


def two_sides(n_a: int, n_b: int, common: int) -> Tuple[List[int], List[int]]:
    """Customer numbers of two parties sharing exactly ``common`` of them."""
    a = list(range(0, n_a))
    b = list(range(n_a - common, n_a - common + n_b))
    return a, b


@pytest.fixture()
def key(tmp_path: pathlib.Path) -> pathlib.Path:
    path = tmp_path / "acme.key"
    bm.keygen(str(path))
    return path


@pytest.fixture()
def identities(tmp_path: pathlib.Path):
    """Two TLS identities: (stem, fingerprint) each."""
    a = tmp_path / "bank"
    b = tmp_path / "insurer"
    return (str(a), bm.new_identity(str(a))), (str(b), bm.new_identity(str(b)))


def cli_binary() -> pathlib.Path | None:
    """The CLI built by `cargo build` in this checkout, when there is one."""
    for profile in ("debug", "release"):
        for root in (os.environ.get("CARGO_TARGET_DIR"), str(REPO / "target")):
            if root:
                path = pathlib.Path(root) / profile / "blindmatch"
                if path.exists():
                    return path
    return None


PYTHON = sys.executable

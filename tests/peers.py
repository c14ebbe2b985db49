"""Real peers (PostgreSQL, snmpd, sshd, ...) for integration tests.

A missing peer skips the test on a developer's machine, but fails it under CI
(``CI=true``): there, a skip would quietly turn a broken setup into a green build.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import pytest


def require_peer(binary_or_path: str, why: str) -> str:
    """Return the path of a peer program, or skip (fail under CI=true) saying why.

    ``binary_or_path`` is a program name looked up on PATH, or a path that may contain
    glob patterns (``/usr/lib/postgresql/*/bin/initdb``; the highest match wins).
    """
    found = _find(binary_or_path)
    if found is not None:
        return found
    message = f"{binary_or_path} not found: {why}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (CI=true: a missing peer is a failure, install it)")
    pytest.skip(message)


def _find(binary_or_path: str) -> str | None:
    if "/" not in binary_or_path:
        return shutil.which(binary_or_path)
    matches = sorted(glob.glob(binary_or_path), key=_version_key)
    executable = [m for m in matches if os.access(m, os.X_OK) and Path(m).is_file()]
    return executable[-1] if executable else None


def _version_key(path: str) -> tuple[tuple[int, ...], str]:
    # "15" < "9" as text; compare the numeric parts so PostgreSQL 15 beats 9.6.
    numbers = tuple(int(part) for part in Path(path).parts if part.isdigit())
    return numbers, path

"""Fixtures for every test."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands under test call ``setup_logging``, which points the root logger at the
    stderr of that one CliRunner invocation; put it back, so a later test's background
    thread never writes to a closed stream (and into another test's captured output)."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)

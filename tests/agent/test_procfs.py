"""The /proc readers psutil has no equivalent for, against the fixture machine."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.procfs import ProcReader
from tests.agent.conftest import HOST

PROC = ProcReader(HOST / "proc")


def test_boot_id_and_hostname() -> None:
    assert PROC.boot_id() == "6f1c2a3e-1b2c-4d5e-8f90-0a1b2c3d4e5f"
    assert PROC.hostname() == "hq-db-01"


def test_mdstat_text_and_a_missing_one_means_no_md_driver(tmp_path: Path) -> None:
    assert "md0" in (PROC.mdstat() or "")
    empty = ProcReader(tmp_path)
    assert empty.mdstat() is None
    with pytest.raises(OSError):
        empty.boot_id()

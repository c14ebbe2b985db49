"""The agent's health inspection speaks the shared vocabulary."""

from __future__ import annotations

from datetime import UTC, datetime

from agent.inspect import PSEUDO_FS, inspect_host
from weibao.vocabulary import BY_NAME


def test_health_inspection_uses_only_vocabulary_names_with_sane_values() -> None:
    now = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    observation = inspect_host("hq-db-01", now, boot_time=now.timestamp() - 3600)
    names = {s.name for s in observation.samples}
    assert {"up", "uptime_seconds", "cpu_usage_ratio", "memory_usage_ratio"} <= names
    assert names <= set(BY_NAME)
    assert observation.value("uptime_seconds") == 3600
    for sample in observation.samples:
        assert tuple(sorted(sample.labels)) == tuple(sorted(BY_NAME[sample.name].labels))
        if BY_NAME[sample.name].unit == "ratio":
            assert 0 <= sample.value <= 1, sample
    assert observation.device == "hq-db-01" and observation.source == "agent"


def test_pseudo_filesystems_are_left_out() -> None:
    observation = inspect_host("d", datetime.now(UTC))
    mounts = {s.labels["mountpoint"] for s in observation.values("filesystem_usage_ratio")}
    assert "/proc" not in mounts and "/sys" not in mounts
    assert {"proc", "tmpfs", "squashfs", "overlay"} <= PSEUDO_FS

"""/metrics from the fixture machine: Prometheus names, base units, the agent's counters."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from agent.listen import parse_listen
from agent.metrics import make_registry, serve_metrics
from agent.stats import AgentStats
from tests.agent.conftest import healthy_commands, make_host
from weibao.delivery.spool import Spool
from weibao.errors import WeibaoError
from weibao.observation import Observation, Sample


def exposition(tmp_path: Path, stats: AgentStats | None = None) -> str:
    host = make_host(tmp_path, commands=healthy_commands())
    return generate_latest(make_registry(host.snapshot, stats)).decode()


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_families_follow_prometheus_naming(tmp_path: Path) -> None:
    families = list(text_string_to_metric_families(exposition(tmp_path)))
    names = [f.name for f in families]
    assert len(names) == len(set(names))
    for family in families:
        assert family.name.startswith(("weibao_node_", "weibao_agent_")), family.name
        assert family.documentation, family.name
        assert not family.name.endswith(("_percent", "_kb", "_mb", "_milliseconds"))
        if family.type == "counter":
            assert all(s.name.endswith("_total") for s in family.samples), family.name


def test_values_are_base_units(tmp_path: Path) -> None:
    values = samples(exposition(tmp_path))
    assert values[("weibao_node_memory_total_bytes", ())] == 8_000_000 * 1024
    assert values[("weibao_node_cpu_seconds_total", (("mode", "idle"),))] == 800.0
    assert values[("weibao_node_disk_io_time_seconds_total", (("disk", "sda"),))] == 1.5
    assert values[("weibao_node_network_speed_bytes", (("interface", "eth0"),))] == 125_000_000
    fs = (("device", "/dev/sda1"), ("fstype", "ext4"), ("mountpoint", "/"))
    assert values[("weibao_node_filesystem_avail_bytes", fs)] == 25 * 1024**3
    assert values[("weibao_node_systemd_failed_units", ())] == 2
    assert values[("weibao_node_raid_degraded", (("array", "md0"),))] == 1
    assert values[("weibao_agent_info", (("version", "0.1.0"),))] == 1


def test_unknown_readings_are_absent_not_zero(tmp_path: Path) -> None:
    host = make_host(tmp_path, systemd=False)
    values = samples(generate_latest(make_registry(host.snapshot, None)).decode())
    assert ("weibao_node_systemd_failed_units", ()) not in values
    assert ("weibao_node_clock_offset_seconds", ()) not in values
    assert values[("weibao_agent_unknown_readings", ())] == 2


def test_spool_and_push_counters_are_exported(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool", max_batches=1)
    obs = Observation(
        device="d",
        source="agent",
        time=datetime(2026, 11, 21, tzinfo=UTC),
        samples=[Sample(name="up", value=1)],
    )
    spool.put([obs])
    spool.put([obs])  # full: the first is dropped
    path = spool.put([obs])
    assert path is not None
    spool.set_aside(path, "HTTP 422")
    stats = AgentStats(spool=spool, inspections=3, pushed_observations=2, push_failures=1)
    values = samples(exposition(tmp_path, stats))
    assert values[("weibao_agent_spool_dropped_batches_total", ())] == 2
    assert values[("weibao_agent_rejected_batches_total", ())] == 1
    assert values[("weibao_agent_spool_batches", ())] == 0
    assert values[("weibao_agent_inspections_total", ())] == 3
    assert values[("weibao_agent_push_failures_total", ())] == 1


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("127.0.0.1:9108", ("127.0.0.1", 9108)),
        ("0.0.0.0:9100", ("0.0.0.0", 9100)),
        ("[::1]:9108", ("::1", 9108)),
        ("9108", ("127.0.0.1", 9108)),
        ("localhost:9108", ("127.0.0.1", 9108)),
        ("off", None),
    ],
)
def test_parse_listen(text: str, address: tuple[str, int] | None) -> None:
    assert parse_listen(text) == address


@pytest.mark.parametrize("text", ["example.com:80", "127.0.0.1:x", "127.0.0.1:70000"])
def test_parse_listen_refuses_with_a_sentence(text: str) -> None:
    with pytest.raises(WeibaoError, match="is not an address and port"):
        parse_listen(text)


def test_served_over_http_on_a_port_the_system_chose(tmp_path: Path) -> None:
    host = make_host(tmp_path, commands=healthy_commands())
    server = serve_metrics(make_registry(host.snapshot, None), "127.0.0.1", 0)
    try:
        port = server.server_address[1]
        answer = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5)
        assert answer.status_code == 200
        assert "weibao_node_load1 1.5" in answer.text
    finally:
        server.shutdown()
        server.server_close()


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    host = make_host(tmp_path)
    first = serve_metrics(make_registry(host.snapshot, None), "127.0.0.1", 0)
    try:
        with pytest.raises(WeibaoError, match=r"cannot listen on 127\.0\.0\.1"):
            serve_metrics(make_registry(host.snapshot, None), "127.0.0.1", first.server_address[1])
    finally:
        first.shutdown()
        first.server_close()

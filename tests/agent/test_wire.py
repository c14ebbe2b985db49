"""The agent writes observations as plain dicts, without pydantic, in exactly the form
``weibao.observation.Observation`` dumps (``test_inspect.run`` checks every inspection
the same way); and the running agent never loads pydantic (15 MiB on every server)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from weibao.delivery.wire import observation, rfc3339, sample, to_wire
from weibao.observation import Observation, Sample

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "when",
    [
        datetime(2026, 11, 21, 8, 0, tzinfo=UTC),
        datetime(2026, 11, 21, 8, 0, 0, 120_000, tzinfo=UTC),
        datetime(2026, 11, 21, 8, 0, 0, 1, tzinfo=timezone(timedelta(hours=8))),
        datetime(2026, 11, 21, 8, 0, tzinfo=timezone(timedelta(0))),
    ],
)
def test_times_are_written_as_pydantic_writes_them(when: datetime) -> None:
    made = Observation(device="d", source="agent", time=when)
    assert rfc3339(when) == made.model_dump(mode="json")["time"]


def test_a_time_without_its_offset_is_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        rfc3339(datetime(2026, 11, 21, 8, 0))


def test_an_observation_validates_and_dumps_back_to_itself() -> None:
    samples = [
        sample("up", 1),
        sample("load1", 1.234567891, 2),
        sample("disk_busy_ratio", 0.5, disk="sda"),
    ]
    wire = observation("hq-db-01", datetime(2026, 11, 21, 8, 0, tzinfo=UTC), samples, {"a": "b"})
    model = Observation.model_validate_json(json.dumps(wire))
    assert model.model_dump(mode="json") == wire
    assert model.value("load1") == 1.23 and model.value("disk_busy_ratio", disk="sda") == 0.5


def test_a_value_json_cannot_carry_is_left_out() -> None:
    samples = [sample("up", 1), sample("load1", float("nan")), sample("load1", float("inf"))]
    wire = observation("d", datetime(2026, 11, 21, tzinfo=UTC), samples, {})
    assert [s["name"] for s in wire["samples"]] == ["up"]
    json.dumps(wire, allow_nan=False)  # what httpx sends: strict JSON


def test_pydantic_observations_and_the_agents_dicts_go_out_alike() -> None:
    made = Observation(
        device="sw1",
        source="snmp",
        time=datetime(2026, 11, 21, tzinfo=UTC),
        samples=[Sample(name="up", value=1)],
    )
    assert to_wire(made) == made.model_dump(mode="json")
    wire = made.model_dump(mode="json")
    assert to_wire(wire) is wire


def test_the_agent_never_loads_pydantic_and_its_command_loads_only_what_it_needs() -> None:
    probe = (
        "import sys, agent.cli; light = sorted(sys.modules); "
        "import agent.service, agent.inspect, weibao.delivery.spool, agent.runner, "
        "weibao.delivery.push, agent.metrics; "
        "print(' '.join(m for m in ('httpx', 'prometheus_client') if m in light)); "
        " print(' '.join(m for m in ('pydantic', 'typer') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    command_line, everything = done.stdout.splitlines()
    assert command_line == ""  # --once --json needs neither the HTTP client nor /metrics
    assert everything == ""

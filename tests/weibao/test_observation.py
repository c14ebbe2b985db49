from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from weibao.observation import Observation, Sample, Source

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)


def test_round_trip_through_json_keeps_everything() -> None:
    obs = Observation(
        device="hq-db-01",
        source=Source.agent,
        time=NOW,
        samples=[Sample(name="filesystem_usage_ratio", labels={"mountpoint": "/"}, value=0.5)],
    )
    again = Observation.model_validate_json(obs.model_dump_json())
    assert again == obs
    assert again.value("filesystem_usage_ratio", mountpoint="/") == 0.5
    assert again.value("filesystem_usage_ratio", mountpoint="/var") is None


def test_ids_are_unique_by_default() -> None:
    a = Observation(device="d", source="snmp", time=NOW)
    b = Observation(device="d", source="snmp", time=NOW)
    assert a.id != b.id


def test_naive_time_is_refused() -> None:
    with pytest.raises(ValidationError, match="UTC offset"):
        Observation(device="d", source="agent", time=datetime(2026, 1, 1))


@pytest.mark.parametrize("name", ["cpu usage", "1up", "fs-usage", ""])
def test_sample_names_are_prometheus_style(name: str) -> None:
    with pytest.raises(ValidationError):
        Sample(name=name, value=1)


def test_unknown_source_and_field_are_refused() -> None:
    with pytest.raises(ValidationError):
        Observation(device="d", source="carrier-pigeon", time=NOW)
    with pytest.raises(ValidationError, match="Extra inputs"):
        Observation.model_validate(
            {"device": "d", "source": "agent", "time": NOW.isoformat(), "colour": "red"}
        )


def test_raw_outputs_are_cut_to_size_with_a_mark_never_refused() -> None:
    from weibao.observation import RAW_OUTPUTS_LIMIT, RAW_TEXT_LIMIT

    huge = "\n".join(f"line {i} " + "x" * 60 for i in range(2000))
    many = {f"cmd{i:02d}": "ok" for i in range(RAW_OUTPUTS_LIMIT + 5)}
    obs = Observation(
        device="d",
        source=Source.ssh,
        time=datetime(2026, 11, 22, tzinfo=UTC),
        raw={"journal": huge, **many},
    )
    kept = obs.raw["journal"]
    assert len(kept) <= RAW_TEXT_LIMIT + 60 and kept.startswith("line 0 ")
    assert kept.endswith("more characters not kept)")
    assert len(obs.raw) == RAW_OUTPUTS_LIMIT

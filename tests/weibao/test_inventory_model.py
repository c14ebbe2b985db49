"""The inventory model on its own: SLA merging, on-site time, schedules, secrets, guards."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from weibao.errors import SecretMissing
from weibao.inventory.model import (
    WHOLE_FILE_CHECKED,
    Device,
    InvalidValue,
    Inventory,
    MaintenanceWindow,
    SlaPolicy,
)
from weibao.levels import DEFAULT_SLA, Level


def _inventory(**contract: Any) -> dict[str, Any]:
    """A two-site inventory as Python data; keyword arguments go into the contract."""
    return {
        "defaults": {"schedule": {"health_interval": "30s", "full_cron": "0 3 * * *"}},
        "customers": [
            {
                "name": "Acme",
                "contracts": [
                    {
                        "id": "C-1",
                        "name": "Acme 2026",
                        "start": "2026-01-01",
                        "end": "2026-12-31",
                        "service_manager": {"name": "Wang Lei"},
                        "sites": [
                            {
                                "name": "HQ",
                                "hq": True,
                                "schedule": {"full_cron": "0 4 * * *"},
                                "devices": [
                                    {"name": "sw1", "kind": "switch"},
                                    {
                                        "name": "app1",
                                        "kind": "server",
                                        "depends_on": "sw1",
                                        "schedule": {"health_interval": "5m"},
                                    },
                                ],
                            },
                            {"name": "Branch", "devices": [{"name": "rt1", "kind": "router"}]},
                        ],
                        **contract,
                    }
                ],
            }
        ],
    }


def test_sla_override_keeps_the_defaults_it_does_not_name() -> None:
    inv = Inventory.model_validate(
        _inventory(sla={"I": {"response": "1h", "resolve": "24h"}, "IV": {"resolve": "48h"}})
    )
    ctx = inv.find("sw1")
    assert ctx is not None
    level_one = ctx.sla(Level.I)
    assert level_one.response == timedelta(hours=1)
    assert level_one.resolve == timedelta(hours=24)
    assert level_one.onsite_hq == DEFAULT_SLA[Level.I].onsite_hq
    assert level_one.onsite_remote == DEFAULT_SLA[Level.I].onsite_remote
    assert ctx.sla(Level.IV).resolve == timedelta(hours=48)
    assert ctx.sla(Level.IV).response == DEFAULT_SLA[Level.IV].response
    assert ctx.sla(Level.II) == DEFAULT_SLA[Level.II]


def test_a_zero_override_is_a_term_not_a_missing_one() -> None:
    policy = SlaPolicy.model_validate({"III": {"response": "0s"}})
    assert policy.terms(Level.III).response == timedelta(0)


def test_levels_may_be_written_as_numbers_or_lower_case() -> None:
    policy = SlaPolicy.model_validate({1: {"resolve": "8h"}, "ii": {"resolve": "12h"}})
    assert policy.terms(Level.I).resolve == timedelta(hours=8)
    assert policy.terms(Level.II).resolve == timedelta(hours=12)


def test_an_unknown_level_says_which_levels_exist() -> None:
    with pytest.raises(ValidationError) as err:
        SlaPolicy.model_validate({"V": {"resolve": "8h"}})
    error = err.value.errors()[0]["ctx"]["error"]
    assert isinstance(error, InvalidValue)
    assert "'V'" in str(error)
    assert "I, II, III and IV" in error.hint


def test_hq_sites_are_served_faster_than_remote_ones() -> None:
    inv = Inventory.model_validate(_inventory())
    hq, branch = inv.find("sw1"), inv.find("rt1")
    assert hq is not None and branch is not None
    assert hq.onsite(Level.I) == timedelta(minutes=30)
    assert branch.onsite(Level.I) == timedelta(hours=2)
    # Level IV has no visit: the plan is due in 4 h wherever the site is.
    assert hq.onsite(Level.IV) == branch.onsite(Level.IV) == timedelta(hours=4)


def test_schedule_merges_defaults_site_and_device_key_by_key() -> None:
    inv = Inventory.model_validate(_inventory())
    index = inv.device_index()
    assert index["rt1"].schedule.health_interval == timedelta(seconds=30)  # defaults
    assert index["rt1"].schedule.full_cron == "0 3 * * *"  # defaults
    assert index["sw1"].schedule.full_cron == "0 4 * * *"  # site
    assert index["sw1"].schedule.health_interval == timedelta(seconds=30)  # defaults
    assert index["app1"].schedule.health_interval == timedelta(minutes=5)  # device
    assert index["app1"].schedule.full_cron == "0 4 * * *"  # site


def test_schedule_without_any_setting_is_the_built_in_default() -> None:
    data = _inventory()
    del data["defaults"]
    ctx = Inventory.model_validate(data).find("rt1")
    assert ctx is not None
    assert ctx.schedule.health_interval == timedelta(seconds=60)
    assert ctx.schedule.full_cron == "30 2 * * *"


def test_a_literal_secret_is_refused_without_repeating_it() -> None:
    with pytest.raises(ValidationError) as err:
        Device.model_validate(
            {
                "name": "sw1",
                "kind": "switch",
                "address": "127.0.0.1",
                "inspect": {"snmp": {"community": "s3cretCommunity"}},
            }
        )
    details = err.value.errors(include_input=False)
    assert details[0]["loc"] == ("inspect", "snmp", "community")
    assert "s3cretCommunity" not in str(details)
    assert "literal secret" in details[0]["msg"]


def test_secret_reference_resolves_at_inspection_time_or_says_what_is_missing() -> None:
    data = {"name": "sw1", "kind": "switch", "address": "127.0.0.1"}
    data["inspect"] = {"snmp": {"community": "env:TEST_WEIBAO_COMMUNITY"}}
    snmp = Device.model_validate(data).inspect.snmp
    assert snmp is not None and snmp.community is not None
    assert snmp.community.resolve({"TEST_WEIBAO_COMMUNITY": "c0mm"}) == "c0mm"
    with pytest.raises(SecretMissing) as err:
        snmp.community.resolve({"OTHER": "c0mm"})
    assert "TEST_WEIBAO_COMMUNITY" in str(err.value)
    assert "c0mm" not in str(err.value)


def test_contract_ending_before_it_starts_is_refused() -> None:
    with pytest.raises(ValidationError, match=r"ends \(2025-12-31\) before it starts"):
        Inventory.model_validate(_inventory(end="2025-12-31"))


def test_maintenance_window_needs_one_shape() -> None:
    with pytest.raises(ValidationError, match="either start/end or cron/duration"):
        MaintenanceWindow.model_validate(
            {"start": "2026-06-01T22:00:00+08:00", "cron": "0 1 * * 0", "reason": "x"}
        )
    window = MaintenanceWindow.model_validate(
        {"cron": "0 1 * * 0", "duration": "3h", "reason": "patches"}
    )
    assert window.duration == timedelta(hours=3)


def test_inventory_from_python_data_refuses_what_the_loader_refuses() -> None:
    data = _inventory()
    devices = data["customers"][0]["contracts"][0]["sites"][1]["devices"]
    devices.append({"name": "sw1", "kind": "switch", "depends_on": "nope"})
    with pytest.raises(ValidationError) as err:
        Inventory.model_validate(data)
    text = str(err.value)
    assert "device name 'sw1' is used twice" in text
    assert "unknown device 'nope'" in text
    # The loader has already reported these with lines, so it can skip the repeat.
    Inventory.model_validate(data, context={WHOLE_FILE_CHECKED: True})


def test_dependency_cycle_is_refused_in_python_data_too() -> None:
    data = _inventory()
    devices = data["customers"][0]["contracts"][0]["sites"][0]["devices"]
    devices[0]["depends_on"] = ["app1"]
    with pytest.raises(ValidationError, match="sw1 -> app1 -> sw1"):
        Inventory.model_validate(data)


def test_model_round_trips_through_json() -> None:
    inv = Inventory.model_validate(_inventory(sla={"II": {"resolve": "4h"}}))
    assert Inventory.model_validate(inv.model_dump(mode="json")) == inv

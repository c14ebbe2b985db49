"""Due times of the three clocks for every level, at an HQ and a remote site, under the
default SLA and under a contract's own terms; and when a clock counts as breached."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from desk.clocks import clock_state, compute_due, due_for
from weibao.inventory.model import Inventory
from weibao.levels import DEFAULT_SLA, Level

from .conftest import START

M = timedelta(minutes=1)
H = timedelta(hours=1)

# SPEC.md's table, written out again so a wrong default in levels.py fails here.
DEFAULT = {
    # level: (response, onsite at HQ, onsite remote, resolve)
    Level.I: (20 * M, 30 * M, 2 * H, 4 * H),
    Level.II: (20 * M, 30 * M, 2 * H, 24 * H),
    Level.III: (20 * M, 30 * M, 2 * H, 24 * H),
    Level.IV: (20 * M, 4 * H, 4 * H, 72 * H),
}

# Beta's contract: I {response 1h, onsite_hq 2h, resolve 24h}, II {resolve 48h}.
BETA_HQ = {
    Level.I: (1 * H, 2 * H, 24 * H),
    Level.II: (20 * M, 30 * M, 48 * H),
    Level.III: (20 * M, 30 * M, 24 * H),
    Level.IV: (20 * M, 4 * H, 72 * H),
}


@pytest.mark.parametrize("level", list(Level))
@pytest.mark.parametrize(("device", "hq"), [("acme-core", True), ("acme-branch-fw", False)])
def test_default_sla_for_every_level_at_hq_and_remote(
    inventory: Inventory, level: Level, device: str, hq: bool
) -> None:
    ctx = inventory.find(device)
    assert ctx is not None and ctx.site.hq is hq
    response, onsite_hq, onsite_remote, resolve = DEFAULT[level]
    due = due_for(ctx, level, START)
    assert due.response == START + response
    assert due.onsite == START + (onsite_hq if hq else onsite_remote)
    assert due.resolve == START + resolve


@pytest.mark.parametrize("level", list(Level))
def test_contract_override_replaces_only_what_it_names(inventory: Inventory, level: Level) -> None:
    ctx = inventory.find("beta-his")
    assert ctx is not None
    response, onsite, resolve = BETA_HQ[level]
    due = due_for(ctx, level, START)
    assert (due.response, due.onsite, due.resolve) == (
        START + response,
        START + onsite,
        START + resolve,
    )


def test_due_times_are_utc_whatever_the_detection_offset() -> None:
    beijing = timezone(timedelta(hours=8))
    detected = datetime(2026, 3, 2, 16, 0, tzinfo=beijing)  # 08:00 UTC
    due = compute_due(DEFAULT_SLA[Level.I], True, detected)
    assert due.response == datetime(2026, 3, 2, 8, 20, tzinfo=UTC)
    assert due.response.utcoffset() == timedelta(0)


def test_a_naive_detection_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        compute_due(DEFAULT_SLA[Level.I], True, datetime(2026, 3, 2, 8, 0))


def test_a_running_clock_breaches_only_after_its_due_time() -> None:
    due = START + 20 * M
    assert not clock_state(due, None, START).breached
    assert not clock_state(due, None, due).breached
    assert clock_state(due, None, due + timedelta(seconds=1)).breached


def test_a_met_clock_is_judged_by_when_it_was_met_not_by_now() -> None:
    due = START + 20 * M
    far_later = START + 30 * 24 * H
    on_time = clock_state(due, START + 19 * M, far_later)
    late = clock_state(due, START + 21 * M, START + 21 * M)
    assert (on_time.breached, on_time.met_at) == (False, START + 19 * M)
    assert late.breached

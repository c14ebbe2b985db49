"""The desk's /metrics clock families name level IV's second clock ``plan``, as the API,
the CLI and the pages do (issue 15, item 12)."""

from __future__ import annotations

from datetime import timedelta

from desk.ingest import Ingestor
from desk.metrics import DeskCollector
from desk.storage import Store
from rules.api import Engine
from weibao.levels import Level

from .workflow_fixtures import alarm, desk_parts


def test_breached_clocks_are_labelled_onsite_or_plan_by_level(store: Store, engine: Engine) -> None:
    desk = desk_parts(store, engine)
    desk.fire(alarm("acme-db", Level.II), alarm("acme-core", Level.IV, rule="cpu_high"))
    desk.at(timedelta(hours=5))  # past the on-site (30 min) and plan (4 h) due times
    ingestor = Ingestor(store, engine, desk.inventory, desk.clock)
    families = {f.name: f for f in DeskCollector(store, ingestor, desk.clock).collect()}
    breached = {s.labels["clock"]: s.value for s in families["weibao_clocks_breached"].samples}
    assert breached["onsite"] == 1 and breached["plan"] == 1
    assert breached["response"] == 2

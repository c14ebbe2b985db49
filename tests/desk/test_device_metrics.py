"""GET /api/v1/metrics/devices in process: the exact exposition of a small fleet, escaping
and names Prometheus could not take, the freshness window, the newest observation per
source, who may scrape what, gzip, and that a scrape reads through the (device, time)
index only."""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event
from sqlalchemy.engine import Engine as SqlEngine

from desk.api import create_app
from desk.device_metrics import PATH, fresh_for, label_name
from desk.model import Role
from desk.storage import Store
from desk.storage.tables import ObservationRow
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory
from weibao.observation import Observation

from .asgi import AsgiClient
from .conftest import START

S = timedelta(seconds=1)
M = timedelta(minutes=1)
MS = int(START.timestamp() * 1000)  # 1772438400000: observation times in the text


def _site(name: str, devices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"name": name, "devices": devices, **extra}


def _customer(name: str, cid: str, sites: list[dict[str, Any]]) -> dict[str, Any]:
    contract = {
        "id": cid,
        "name": f"contract {cid}",
        "start": "2026-01-01",
        "end": "2026-12-31",
        "service_manager": {"name": "Wang Li"},
        "sites": sites,
    }
    return {"name": name, "contracts": [contract]}


FLEET: dict[str, Any] = {
    "customers": [
        _customer(
            "恒通物流",
            "HT-2026",
            [
                _site(
                    "上海总部",
                    [
                        {"name": "ht-core", "kind": "switch"},
                        {"name": "ht-db", "kind": "server", "schedule": {"health_interval": "10m"}},
                    ],
                    hq=True,
                ),
                _site('Branch "B" \\ 2', [{"name": "ht-fw", "kind": "firewall"}]),
            ],
        ),
        _customer(
            "Beta Hospital",
            "BETA-2026",
            [_site("Beta Main", [{"name": "beta-his", "kind": "server"}])],
        ),
    ]
}


def desk_app(store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock) -> FastAPI:
    """The desk's app, which serves the device series."""
    app = create_app(store, inventory, engine, clock)
    return app


class Desk:
    def __init__(self, client: AsgiClient, store: Store) -> None:
        self.client = client
        self.store = store

    def token(self, role: Role, customer: str | None = None) -> dict[str, str]:
        issued = issue_token(self.store, role, customer, None, START)
        return {"Authorization": f"Bearer {issued.token}"}

    def scrape(self, role: Role = Role.engineer, of: str | None = None, **params: Any) -> str:
        """The scrape with a token of ``role`` (a customer token: of customer ``of``)."""
        answer = self.client.get(PATH, headers=self.token(role, of), params=params)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
        return answer.text

    def store_observation(self, device: str, source: str, at: datetime, **fields: Any) -> None:
        obs = Observation.model_validate(
            {"device": device, "source": source, "time": at.isoformat(), **fields}
        )
        with self.store.transaction() as tx:
            tx.insert_observation(obs, True, START)

    def store_raw(self, device: str, source: str, at: datetime, samples: list[Any]) -> None:
        """A row as old data or another writer may have left it: not validated."""
        row = ObservationRow(
            id=f"raw-{device}-{source}-{at.timestamp()}",
            device=device,
            source=source,
            time=at,
            received_at=START,
            ok=True,
            error=None,
            samples=samples,
            meta={},
            known_device=True,
        )
        with self.store.write_session() as session:
            session.add(row)


@pytest.fixture
def fleet() -> Inventory:
    return Inventory.model_validate(FLEET)


@pytest.fixture
def desk(store: Store, fleet: Inventory, engine: Engine, clock: FrozenClock) -> Iterator[Desk]:
    with AsgiClient(desk_app(store, fleet, engine, clock)) as client:
        yield Desk(client, store)


def up(value: float) -> dict[str, Any]:
    return {"name": "up", "value": value}


def test_a_small_fleet_exactly(desk: Desk) -> None:
    desk.store_observation(
        "ht-core",
        "snmp",
        START - M,
        samples=[up(1), {"name": "interface_up", "labels": {"interface": "Gi0/1"}, "value": 1}],
    )
    desk.store_observation(
        "ht-db",
        "agent",
        START - 30 * S,
        samples=[
            up(1),
            {"name": "filesystem_usage_ratio", "labels": {"mountpoint": "/var"}, "value": 0.93},
        ],
    )
    desk.store_observation(
        "ht-db", "ssh", START - 2 * M, samples=[up(1), {"name": "load1", "value": 2.5}]
    )
    desk.store_observation("ht-fw", "snmp", START - 2 * 60 * M, samples=[up(1)])  # stale
    core = 'customer="恒通物流",device="ht-core",site="上海总部"'
    db = 'customer="恒通物流",device="ht-db",site="上海总部"'
    fw = 'customer="恒通物流",device="ht-fw",site="Branch \\"B\\" \\\\ 2"'
    his = 'customer="Beta Hospital",device="beta-his",site="Beta Main"'
    newest = "the newest value the desk holds, at its observation's time."
    assert desk.scrape() == (
        "# HELP weibao_device_last_observation_timestamp_seconds Time of the device's newest "
        "observation, any source, in Unix seconds.\n"
        "# TYPE weibao_device_last_observation_timestamp_seconds gauge\n"
        f"weibao_device_last_observation_timestamp_seconds{{{core}}} 1772438340.0\n"
        f"weibao_device_last_observation_timestamp_seconds{{{db}}} 1772438370.0\n"
        f"weibao_device_last_observation_timestamp_seconds{{{fw}}} 1772431200.0\n"
        "# HELP weibao_device_up 1 when the newest inspection by the agent, SNMP or SSH inside "
        "the freshness window reached the device (its up sample, else its ok), 0 when none "
        "did or none is fresh.\n"
        "# TYPE weibao_device_up gauge\n"
        f"weibao_device_up{{{core}}} 1.0\n"
        f"weibao_device_up{{{db}}} 1.0\n"
        f"weibao_device_up{{{fw}}} 0.0\n"
        f"weibao_device_up{{{his}}} 0.0\n"
        f"# HELP weibao_filesystem_usage_ratio used share of a filesystem (ratio); {newest}\n"
        "# TYPE weibao_filesystem_usage_ratio gauge\n"
        f'weibao_filesystem_usage_ratio{{{db},source="agent",mountpoint="/var"}} 0.93 '
        f"{MS - 30_000}\n"
        f"# HELP weibao_interface_up operational status is up (bool); {newest}\n"
        "# TYPE weibao_interface_up gauge\n"
        f'weibao_interface_up{{{core},source="snmp",interface="Gi0/1"}} 1.0 {MS - 60_000}\n'
        f"# HELP weibao_load1 1-minute load average (count); {newest}\n"
        "# TYPE weibao_load1 gauge\n"
        f'weibao_load1{{{db},source="ssh"}} 2.5 {MS - 120_000}\n'
        "# HELP weibao_up 1 when the source reached the device, 0 when it did not (bool); "
        f"{newest}\n"
        "# TYPE weibao_up gauge\n"
        f'weibao_up{{{core},source="snmp"}} 1.0 {MS - 60_000}\n'
        f'weibao_up{{{db},source="agent"}} 1.0 {MS - 30_000}\n'
        f'weibao_up{{{db},source="ssh"}} 1.0 {MS - 120_000}\n'
    )


def test_label_values_are_escaped_and_parse_back(desk: Desk) -> None:
    awkward = 'say "hi" \\ then\nnewline, 中文'
    desk.store_observation(
        "ht-core",
        "agent",
        START - M,
        samples=[
            {
                "name": "log_error_lines",
                "labels": {"source": "kernel", "text": awkward},
                "value": 3,
            },
            {"name": "clock_offset_seconds", "value": 1e-05},
        ],
    )
    # Ingest now refuses values that are not finite; rows stored before may hold them.
    desk.store_raw(
        "ht-core",
        "ssh",
        START - M,
        [
            {"name": "temperature_celsius", "labels": {"sensor": "inlet"}, "value": float("nan")},
            {"name": "interface_speed_bits", "labels": {"interface": "a"}, "value": float("inf")},
            {"name": "interface_speed_bits", "labels": {"interface": "b"}, "value": float("-inf")},
        ],
    )
    text = desk.scrape(device="ht-core")
    assert (
        'weibao_log_error_lines{customer="恒通物流",device="ht-core",site="上海总部",'
        'source="agent",exported_source="kernel",text="say \\"hi\\" \\\\ then\\nnewline, 中文"}'
        f" 3.0 {MS - 60_000}\n"
    ) in text
    families = {f.name: f for f in text_string_to_metric_families(text)}
    line = families["weibao_log_error_lines"].samples[0]
    assert line.labels["text"] == awkward and line.labels["source"] == "agent"
    assert line.labels["exported_source"] == "kernel" and line.timestamp == START.timestamp() - 60
    speeds = {
        s.labels["interface"]: s.value for s in families["weibao_interface_speed_bits"].samples
    }
    assert speeds == {"a": float("inf"), "b": float("-inf")}
    assert families["weibao_clock_offset_seconds"].samples[0].value == 1e-05
    assert " NaN 1772438340000\n" in text and " +Inf " in text and " -Inf " in text


def test_names_prometheus_could_not_take_are_rewritten_or_left_out(desk: Desk) -> None:
    desk.store_raw(
        "ht-core",
        "snmp",
        START - M,
        [
            up(1),
            {"name": "bad-name", "value": 1},  # not a metric name: left out
            {"name": "device_up", "value": 5},  # would be one of the per-device families
            {"name": "no_value", "labels": {}},
            {"name": "text_value", "value": "12"},
            "not a sample",
            {"name": "ifx", "labels": {"if-alias": "up\ud800link", "1st": "a", "__name__": "x"},
             "value": 1},
            {"name": "ifx", "labels": {"接口": "一", "口口": "二"}, "value": 2},  # alike, rewritten
            {"name": "dup", "labels": {"k": "v"}, "value": 1},
            {"name": "dup", "labels": {"k": "v"}, "value": 2},  # the same series twice
            {"name": "dup", "labels": {"k": ""}, "value": 3},  # empty is absent: a third "dup"
            {"name": "dup", "labels": {}, "value": 4},
        ],
    )  # fmt: skip
    text = desk.scrape(device="ht-core")
    names = [line.split("{")[0] for line in text.splitlines() if not line.startswith("#")]
    assert set(names) == {
        "weibao_device_up",
        "weibao_device_last_observation_timestamp_seconds",
        "weibao_up",
        "weibao_ifx",
        "weibao_dup",
    }
    assert 'weibao_device_up{customer="恒通物流",device="ht-core",site="上海总部"} 1.0\n' in text
    prefix = 'customer="恒通物流",device="ht-core",site="上海总部",source="snmp"'
    assert f'weibao_ifx{{{prefix},_1st="a",exported__name__="x",if_alias="up?link"}} 1.0' in text
    assert f'weibao_ifx{{{prefix},exported__="二"}} 2.0' in text  # first by code point
    assert f'weibao_dup{{{prefix},k="v"}} 1.0 ' in text and f"weibao_dup{{{prefix}}} 3.0 " in text
    assert text.count("weibao_dup{") == 2
    list(text_string_to_metric_families(text))  # parses


@pytest.mark.parametrize(
    ("raw", "name"),
    [
        ("mountpoint", "mountpoint"),
        ("if-alias", "if_alias"),
        ("9lives", "_9lives"),
        ("", "_"),
        ("__name__", "exported__name__"),
        ("device", "exported_device"),
        ("source", "exported_source"),
        ("接口", "exported__"),
    ],
)
def test_label_names(raw: str, name: str) -> None:
    assert label_name(raw) == name


def test_freshness_follows_the_health_interval() -> None:
    assert fresh_for(timedelta(seconds=60)) == timedelta(minutes=5)
    assert fresh_for(timedelta(seconds=10)) == timedelta(minutes=5)
    assert fresh_for(timedelta(minutes=10)) == timedelta(minutes=30)


@pytest.mark.parametrize(
    ("device", "age", "shown"),
    [
        ("ht-core", 4 * M + 59 * S, True),  # 60 s interval: five minutes
        ("ht-core", 5 * M + 1 * S, False),
        ("ht-db", 29 * M, True),  # 10 min interval: three of them
        ("ht-db", 31 * M, False),
        ("ht-core", -4 * M, True),  # a clock a little ahead
        ("ht-core", -6 * M, False),  # too far ahead: ignored, even as last observation
    ],
)
def test_old_values_are_left_out(desk: Desk, device: str, age: timedelta, shown: bool) -> None:
    desk.store_observation(
        device, "agent", START - age, samples=[up(1), {"name": "load1", "value": 1}]
    )
    text = desk.scrape(device=device)
    assert ("weibao_load1{" in text) is shown
    assert (f'device="{device}",site="上海总部"}} 1.0\n' in text) is shown  # weibao_device_up
    assert ("weibao_device_last_observation_timestamp_seconds{" in text) is (
        age > timedelta(0) or shown
    )


def test_the_newest_observation_of_each_source_wins(desk: Desk) -> None:
    for age, value in ((3 * M, 0.1), (1 * M, 0.3), (2 * M, 0.2)):  # stored out of order
        desk.store_observation(
            "ht-core", "snmp", START - age, samples=[{"name": "cpu_usage_ratio", "value": value}]
        )
    desk.store_observation(
        "ht-core", "ssh", START - 4 * M, samples=[{"name": "cpu_usage_ratio", "value": 0.9}]
    )
    text = desk.scrape(device="ht-core")
    cpu = [line for line in text.splitlines() if line.startswith("weibao_cpu_usage_ratio{")]
    core = 'customer="恒通物流",device="ht-core",site="上海总部"'
    assert cpu == [
        f'weibao_cpu_usage_ratio{{{core},source="snmp"}} 0.3 {MS - 60_000}',
        f'weibao_cpu_usage_ratio{{{core},source="ssh"}} 0.9 {MS - 240_000}',
    ]


@pytest.mark.parametrize(
    ("observations", "device_up"),
    [
        ([("snmp", True, [up(1)])], 1),
        ([("snmp", False, [up(0)])], 0),
        ([("snmp", False, [])], 0),  # failed, and no up sample: its ok decides
        ([("snmp", True, [])], 1),
        ([("snmp", True, [up(0)]), ("agent", True, [up(1)])], 1),  # any source reached it
        ([("trap", True, [{"name": "trap_link_up", "labels": {"interface": "1"}, "value": 0}])], 0),
    ],
)
def test_device_up(
    desk: Desk, observations: list[tuple[str, bool, list[Any]]], device_up: int
) -> None:
    for source, ok, samples in observations:
        error = None if ok else "timeout"
        desk.store_observation("ht-core", source, START - M, ok=ok, error=error, samples=samples)
    text = desk.scrape(device="ht-core")
    core = 'customer="恒通物流",device="ht-core",site="上海总部"'
    assert f"weibao_device_up{{{core}}} {device_up:.1f}\n" in text


def test_who_may_scrape(desk: Desk) -> None:
    desk.store_observation("ht-core", "snmp", START - M, samples=[up(1)])
    desk.store_observation("beta-his", "agent", START - M, samples=[up(1)])
    assert desk.client.get(PATH).status_code == 401
    assert desk.client.get(PATH, headers=desk.token(Role.agent)).status_code == 403
    for role in (Role.engineer, Role.manager):
        text = desk.scrape(role)
        assert 'device="ht-core"' in text and 'device="beta-his"' in text
    own = desk.scrape(Role.customer, "Beta Hospital")
    assert 'device="beta-his"' in own and "恒通物流" not in own and "ht-core" not in own
    assert own.count("weibao_device_up{") == 1
    stranger = desk.token(Role.customer, "Beta Hospital")
    for params in ({"device": "ht-core"}, {"customer": "恒通物流"}, {"site": "上海总部"}):
        answer = desk.client.get(PATH, headers=stranger, params=params)
        assert answer.status_code == 404, params  # as if it did not exist
        assert "恒通物流" not in answer.text and "ht-core" not in answer.text


def test_filters(desk: Desk) -> None:
    one = desk.scrape(device="ht-db")
    assert one.count("weibao_device_up{") == 1 and 'device="ht-db"' in one
    two = desk.scrape(device=["ht-db", "beta-his"])
    assert two.count("weibao_device_up{") == 2
    assert desk.scrape(customer="恒通物流").count("weibao_device_up{") == 3
    assert desk.scrape(customer="恒通物流", site="上海总部").count("weibao_device_up{") == 2
    headers = desk.token(Role.engineer)
    wrong: list[dict[str, Any]] = [
        {"device": "nope"},
        {"device": ["ht-db", "nope"]},
        {"customer": "Nope"},
        {"customer": "Beta Hospital", "site": "上海总部"},
        {"device": "x" * 300},
    ]
    for params in wrong:
        answer = desk.client.get(PATH, headers=headers, params=params)
        assert answer.status_code in (404, 422), params
        assert answer.json()["error"] in ("not_found", "invalid_request")


def test_gzip_when_asked(desk: Desk) -> None:
    desk.store_observation("ht-core", "snmp", START - M, samples=[up(1)])
    headers = {**desk.token(Role.engineer), "Accept-Encoding": "gzip"}
    answer = desk.client.get(PATH, headers=headers)
    assert answer.headers["content-encoding"] == "gzip"
    assert answer.headers["vary"] == "Accept-Encoding"
    assert "weibao_up{" in answer.text  # httpx undid it
    plain = desk.client.get(PATH, headers={**headers, "Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == answer.text
    assert len(gzip.compress(plain.content)) < len(plain.content)


def test_a_scrape_reads_through_the_device_time_index(desk: Desk, store: Store) -> None:
    for minutes in range(30):
        desk.store_observation("ht-core", "snmp", START - minutes * M, samples=[up(1)])
    statements: list[tuple[str, Any]] = []

    def capture(conn: Any, cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if "observations" in statement:
            statements.append((statement, parameters))

    event.listen(SqlEngine, "before_cursor_execute", capture)
    try:
        desk.scrape()
    finally:
        event.remove(SqlEngine, "before_cursor_execute", capture)
    assert len(statements) >= 3  # newest per source, their samples, last seen further back
    with store.read_session() as session:
        connection = session.connection()
        for statement, parameters in statements:
            plan = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            steps = [row[-1] for row in plan]
            on_observations = [s for s in steps if " observations " in f"{s} "]
            assert on_observations, steps
            for step in on_observations:
                assert step.startswith("SEARCH observations USING"), steps
                assert "ix_observations_device_time" in step or "(id=?)" in step, steps

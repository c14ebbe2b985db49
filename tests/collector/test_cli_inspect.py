"""``weibao inspect``, ``probe snmp`` arguments, ``collector`` wiring: fake drivers, no network."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
import typer
import yaml
from typer.testing import CliRunner

from collector.driver import Driver
from tests.collector.test_runner import START, FakeDriver, VirtualTime, device, make_inventory
from weibao.cli import collector_cmd, inspect_cmd, probe_cmd
from weibao.clock import FrozenClock
from weibao.delivery.push import PushClient
from weibao.delivery.spool import Spool
from weibao.observation import Observation, Source

app = typer.Typer()
for module in (inspect_cmd, probe_cmd, collector_cmd):
    module.register(app)
runner = CliRunner()


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    inv = make_inventory(
        {
            "name": "HQ",
            "devices": [
                device("core-sw1"),
                device("access-sw1"),
                device("bad-sw"),
                {"name": "srv1", "kind": "server", "inspect": {"agent": {}}},
            ],
        }
    )
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(inv.model_dump(mode="json", exclude_defaults=True)))
    return path


@pytest.fixture(autouse=True)
def fake_drivers(monkeypatch: pytest.MonkeyPatch) -> FakeDriver:
    driver = FakeDriver(VirtualTime(FrozenClock(START)), failing={"bad-sw"})

    def make() -> dict[str, Driver]:
        return {"snmp": driver}

    monkeypatch.setattr(inspect_cmd, "make_drivers", make)
    monkeypatch.setattr(collector_cmd, "make_drivers", make)
    return driver


def test_json_lists_one_observation_per_device(inventory: Path) -> None:
    result = runner.invoke(app, ["inspect", "-i", str(inventory), "core-sw1", "--json"])
    assert result.exit_code == 0, result.output
    [obs] = json.loads(result.stdout)
    assert obs["device"] == "core-sw1" and obs["ok"] is True


def test_a_failed_inspection_exits_1_and_shows_why(inventory: Path) -> None:
    result = runner.invoke(app, ["inspect", "-i", str(inventory)])
    assert result.exit_code == 1
    assert "core-sw1 (snmp): up" in result.stdout
    assert "bad-sw (snmp): FAILED" in result.stdout
    assert "3 inspected, 1 failed" in result.stdout  # srv1 pushes its own (agent)


def test_full_depth_reaches_the_driver(inventory: Path, fake_drivers: FakeDriver) -> None:
    runner.invoke(app, ["inspect", "-i", str(inventory), "core-sw1", "--full"])
    assert [depth.value for _, depth, _ in fake_drivers.calls] == ["full"]


def test_an_unknown_device_is_an_error_with_did_you_mean(inventory: Path) -> None:
    result = runner.invoke(app, ["inspect", "-i", str(inventory), "core-sw"])
    assert result.exit_code == 2
    assert "no device named 'core-sw' in the inventory (did you mean core-sw1" in result.output


def test_a_device_only_the_agent_inspects_is_refused(inventory: Path) -> None:
    result = runner.invoke(app, ["inspect", "-i", str(inventory), "srv1"])
    assert result.exit_code == 2
    assert "srv1 has no inspection the collector can run (methods: agent" in result.output


def test_an_invalid_inventory_prints_its_problems(tmp_path: Path) -> None:
    bad = tmp_path / "inventory.yaml"
    bad.write_text("version: 1\ncustomers: [{name: Acme, contracts: 3}]\n")
    result = runner.invoke(app, ["inspect", "-i", str(bad)])
    assert result.exit_code == 2
    assert f"{bad}:2" in result.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--community", "s3cret-c", "--v3-user", "u"], "either --community"),
        ([], "either --community"),
        (["--v3-user", "u", "--auth-proto", "sha1", "--auth-key", "s3cret-k"], "'sha1' is not"),
        (["--v3-user", "u", "--auth-proto", "sha"], "go together"),
        (["--community", "s3cret-c", "--auth-key", "s3cret-k"], "belong to --v3-user"),
    ],
)
def test_probe_refuses_bad_arguments_without_echoing_secrets(args: list[str], message: str) -> None:
    result = runner.invoke(app, ["probe", "snmp", "127.0.0.1:1161", *args])
    assert result.exit_code == 2
    assert message in result.output
    assert "s3cret" not in result.output


@pytest.mark.parametrize(
    ("target", "expected"),
    [("10.0.0.1", ("10.0.0.1", 161)), ("sw1.example.cn:1161", ("sw1.example.cn", 1161))],
)
def test_probe_targets(target: str, expected: tuple[str, int]) -> None:
    assert probe_cmd.split_target(target) == expected
    assert probe_cmd.split_target("[2001:db8::1]:162") == ("2001:db8::1", 162)
    assert probe_cmd.split_target("2001:db8::1") == ("2001:db8::1", 161)


def test_collector_refuses_an_unknown_site(inventory: Path, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("wb_" + "x" * 30)
    args = ["collector", "--desk", "http://127.0.0.1:9", "--token-file", str(token)]
    result = runner.invoke(app, [*args, "-i", str(inventory), "--site", "hq"])
    assert result.exit_code == 2
    assert "no site named 'hq'" in result.output and "HQ" in result.output


def test_the_spool_sink_pushes_and_keeps_what_the_desk_did_not_take(tmp_path: Path) -> None:
    answers = iter([503, 200, 200])
    seen: list[int] = []

    def desk(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        seen.append(len(json.loads(request.content)))
        return httpx.Response(status, json={"accepted": seen[-1]})

    spool = Spool(tmp_path / "spool")
    client = PushClient("http://desk", "wb_token", transport=httpx.MockTransport(desk))
    sink = collector_cmd.SpoolSink(client, spool)
    obs = [Observation(device=f"sw{i}", source=Source.snmp, time=START) for i in range(2)]
    asyncio.run(sink.deliver(obs[:1]))
    assert spool.batches == 1 and sink.desk_away is not None  # desk away: kept on disk
    asyncio.run(sink.deliver(obs[1:]))
    assert spool.batches == 0 and sink.desk_away is None  # both replayed, in order
    assert seen == [1, 1, 1]
    client.close()

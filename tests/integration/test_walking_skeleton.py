"""End to end over real HTTP: `weibao serve` as a process, the agent's push code, tickets.

An observation saying a critical core switch is down goes in through the agent's
PushClient; a level-I ticket with its three SLA due times comes out of
GET /api/v1/tickets. Tokens come from `weibao token create`, as an ops engineer makes them.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.integration.desk_process import WEIBAO, free_port, serve_desk
from weibao.delivery.push import PushClient
from weibao.observation import Observation, Sample

INVENTORY = """\
version: 1
customers:
  - name: Acme
    contracts:
      - id: ACME-2026
        name: Acme network maintenance
        start: 2026-01-01
        end: 2027-12-31
        service_manager: {name: Wang Li, email: wang.li@example.com}
        sla:
          I: {resolve: 6h}
        sites:
          - name: Acme HQ
            hq: true
            devices:
              - name: acme-core-sw
                kind: switch
                criticality: critical
                address: 127.0.0.2
              - name: acme-access-sw
                kind: switch
                address: 127.0.0.3
                depends_on: acme-core-sw
  - name: Beta
    contracts:
      - id: BETA-2026
        name: Beta servers
        start: 2026-01-01
        end: 2027-12-31
        service_manager: {name: Zhao Min}
        sites:
          - name: Beta plant
            hq: false
            devices:
              - name: beta-db
                kind: server
                inspect: {agent: {}}
"""

# The fault starts a few minutes ago: the default pack's unreachable rule fires once the
# device has been down for 2 minutes (observation times count, not arrival times).
DETECTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


@pytest.fixture(autouse=True)
def _detected_minutes_before_the_test() -> None:
    """Taken when each test starts, not when the module is imported: in the whole suite a
    module-level time ages by the minutes the tests before it take, past the 15 minutes in
    which the desk's rules still judge an observation (RULES_MAX_AGE), and no ticket opens."""
    global DETECTED
    DETECTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)


def weibao(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*WEIBAO, *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def make_token(cwd: Path, db: str, role: str, *extra: str) -> str:
    done = weibao("token", "create", "--role", role, "--db", db, *extra, cwd=cwd)
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip()
    assert token and "\n" not in token
    return token


@dataclass
class Desk:
    url: str
    db: str
    cwd: Path
    log: Path


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    (tmp_path / "inventory.yaml").write_text(INVENTORY)
    db = f"sqlite:///{tmp_path / 'desk.db'}"
    log = tmp_path / "desk.log"
    with serve_desk(tmp_path, db, log) as url:
        yield Desk(url, db, tmp_path, log)


def down(device: str, minute: int = 0) -> Observation:
    return Observation(
        device=device,
        source="agent",
        time=DETECTED + timedelta(minutes=minute),
        ok=False,
        error="no answer",
        samples=[Sample(name="up", value=0)],
    )


def test_an_outage_pushed_by_the_agent_becomes_one_ticket_with_its_clocks(desk: Desk) -> None:
    agent_token = make_token(desk.cwd, desk.db, "agent", "--any-device")
    manager_token = make_token(desk.cwd, desk.db, "manager")
    series = [down("acme-core-sw", minute) for minute in (0, 1, 2, 2)]

    with PushClient(desk.url, agent_token) as client:
        assert client.push(series[:1]).accepted == 1
        replay = client.push(series)  # the spool replaying: the first is stored once
    assert (replay.accepted, replay.duplicates) == (3, 1)

    manager = {"Authorization": f"Bearer {manager_token}"}
    answer = httpx.get(f"{desk.url}/api/v1/tickets", headers=manager, timeout=10)
    assert answer.status_code == 200, answer.text
    tickets = answer.json()
    tickets = tickets["items"] if isinstance(tickets, dict) else tickets
    assert len(tickets) == 1, tickets  # one ticket per fault, not per sample
    ticket = tickets[0]
    assert ticket["device"] == "acme-core-sw"
    assert (ticket["customer"], ticket["contract"], ticket["site"]) == (
        "Acme",
        "ACME-2026",
        "Acme HQ",
    )
    assert ticket["level"] == "I" and ticket["status"] == "open"
    assert ticket["number"].startswith("WB-")
    # Detection is when the rule fired: down for its 2 minutes, by the observations' times.
    detected = datetime.fromisoformat(ticket["detected_at"])
    assert detected == DETECTED + timedelta(minutes=2)
    due = {name: datetime.fromisoformat(c["due"]) for name, c in ticket["clocks"].items()}
    assert due == {
        "response": detected + timedelta(minutes=20),
        "onsite": detected + timedelta(minutes=30),  # headquarters site
        "resolve": detected + timedelta(hours=6),  # the contract's own level-I term
    }


def test_tokens_are_required_and_scoped(desk: Desk) -> None:
    assert httpx.get(f"{desk.url}/healthz", timeout=5).status_code == 200
    assert httpx.get(f"{desk.url}/api/v1/tickets", timeout=5).status_code == 401
    bad = {"Authorization": "Bearer wb_not_a_real_token_at_all"}
    assert httpx.get(f"{desk.url}/api/v1/tickets", headers=bad, timeout=5).status_code == 401

    agent_token = make_token(desk.cwd, desk.db, "agent", "--any-device")
    with PushClient(desk.url, agent_token) as client:
        client.push(
            [down(device, minute) for minute in (0, 1, 2) for device in ("acme-core-sw", "beta-db")]
        )
    agent = {"Authorization": f"Bearer {agent_token}"}
    assert httpx.get(f"{desk.url}/api/v1/tickets", headers=agent, timeout=5).status_code == 403

    beta = {
        "Authorization": f"Bearer {make_token(desk.cwd, desk.db, 'customer', '--customer', 'Beta')}"
    }
    seen = httpx.get(f"{desk.url}/api/v1/tickets", headers=beta, timeout=5).json()
    seen = seen["items"] if isinstance(seen, dict) else seen
    assert [t["device"] for t in seen] == ["beta-db"]
    assert seen[0]["level"] == "II" and seen[0]["customer"] == "Beta"
    onsite = datetime.fromisoformat(seen[0]["clocks"]["onsite"]["due"])
    assert onsite - datetime.fromisoformat(seen[0]["detected_at"]) == timedelta(hours=2)

    log = desk.log.read_text()
    assert agent_token not in log and "wb_not_a_real_token_at_all" not in log


def test_a_broken_inventory_never_starts_the_desk(tmp_path: Path) -> None:
    (tmp_path / "inventory.yaml").write_text(INVENTORY.replace("kind: server", "kind: sever"))
    done = weibao(
        "serve",
        "-i",
        "inventory.yaml",
        "--db",
        f"sqlite:///{tmp_path / 'x.db'}",
        "--listen",
        f"127.0.0.1:{free_port()}",
        cwd=tmp_path,
    )
    assert done.returncode == 2
    assert "inventory.yaml:" in done.stderr + done.stdout
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "x.db").exists()

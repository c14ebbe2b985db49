"""End to end over real HTTP and SMTP: `weibao serve` as a process; a fault pushed by the
agent's PushClient becomes a ticket; a WeCom-format webhook reaches a real HTTP server and
an e-mail reaches a real SMTP server (aiosmtpd); the overdue clock escalates to the
service manager by e-mail; another customer's token cannot read the ticket."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from weibao.delivery.push import PushClient
from weibao.observation import Observation, Sample

from ..desk.notify.hookserver import HookServer
from ..desk.notify.smtpserver import BoundController, Inbox
from .desk_process import serve_desk
from .test_walking_skeleton import make_token

HOOK_ENV = "WEIBAO_TEST_WECOM_HOOK"
T = TypeVar("T")

INVENTORY = """\
version: 1
notifications:
  base_url: http://desk.example.cn
  smtp: {{host: 127.0.0.1, port: {smtp_port}, security: none, sender: weibao@example.cn}}
  retry: {{first: 1s, max_delay: 2s, max_attempts: 3}}
  channels:
    - name: duty-group
      type: wecom
      url: env:{hook_env}
      events: [ticket.opened]
    - name: mail
      type: email
customers:
  - name: Acme
    contracts:
      - id: ACME-2026
        name: Acme network maintenance
        start: 2026-01-01
        end: 2027-12-31
        service_manager: {{name: 王磊, email: wang.lei@example.cn}}
        sla:  # a short response term, so the clock is overdue soon after detection
          I: {{response: 5m}}
          II: {{response: 5m}}
          III: {{response: 5m}}
          IV: {{response: 5m}}
        sites:
          - name: Acme HQ
            hq: true
            engineers:
              - {{name: 李强, email: li.qiang@example.cn, wecom: liqiang}}
            devices:
              - name: acme-core-sw
                kind: switch
                criticality: critical
                address: 127.0.0.2
  - name: Beta
    contracts:
      - id: BETA-2026
        name: Beta servers
        start: 2026-01-01
        end: 2027-12-31
        service_manager: {{name: Zhao Min}}
        sites:
          - name: Beta plant
            devices:
              - {{name: beta-db, kind: server, inspect: {{agent: {{}}}}}}
"""

# Down for ten minutes already (recent enough for the rules, which leave observations
# older than 15 minutes alone): the 5-minute response clock is overdue at once.
DETECTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


@pytest.fixture(autouse=True)
def _detected_minutes_before_the_test() -> None:
    """Taken when each test starts, not when the module is imported: in the whole suite a
    module-level time ages by the minutes the tests before it take, past the 15 minutes in
    which the desk's rules still judge an observation (RULES_MAX_AGE), and no ticket opens."""
    global DETECTED
    DETECTED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)


@dataclass
class Desk:
    url: str
    db: str
    cwd: Path
    log: Path
    hook: HookServer
    inbox: Inbox


def wait_for(what: str, probe: Callable[[], T | None], log: Path, timeout: float = 45) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = probe()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError(f"{what} did not happen in {timeout} s; desk log:\n{log.read_text()}")


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    inbox = Inbox()
    smtp = BoundController(inbox)
    smtp.start()
    try:
        with HookServer() as hook:
            inventory = INVENTORY.format(smtp_port=smtp.port, hook_env=HOOK_ENV)
            (tmp_path / "inventory.yaml").write_text(inventory)
            db = f"sqlite:///{tmp_path / 'desk.db'}"
            log = tmp_path / "desk.log"
            key_url = hook.url("/cgi-bin/webhook/send?key=SECRET-ROBOT-KEY")
            with serve_desk(tmp_path, db, log, env={HOOK_ENV: key_url}) as url:
                yield Desk(url, db, tmp_path, log, hook, inbox)
    finally:
        smtp.stop()


def down(device: str, minute: int) -> Observation:
    return Observation(
        device=device,
        source="agent",
        time=DETECTED + timedelta(minutes=minute),
        ok=False,
        error="no answer",
        samples=[Sample(name="up", value=0)],
    )


def test_a_fault_reaches_the_engineer_by_webhook_and_mail_and_escalates(desk: Desk) -> None:
    agent = make_token(desk.cwd, desk.db, "agent", "--any-device")
    with PushClient(desk.url, agent) as client:
        client.push([down("acme-core-sw", minute) for minute in (0, 1, 2, 3)])
    manager = {"Authorization": f"Bearer {make_token(desk.cwd, desk.db, 'manager')}"}
    [ticket] = httpx.get(f"{desk.url}/api/v1/tickets", headers=manager, timeout=10).json()["items"]
    number = ticket["number"]

    [call] = wait_for("the WeCom webhook", lambda: desk.hook.requests, desk.log)
    body = call.json()
    assert body["msgtype"] in ("text", "markdown")
    text = body[body["msgtype"]]["content"]
    assert number in text and "acme-core-sw" in text
    if body["msgtype"] == "text":
        assert body["text"]["mentioned_list"] == ["liqiang"]

    def mails_about(kind: str) -> list[str]:
        return [
            ",".join(m.rcpt_tos)
            for m in desk.inbox.messages
            if number in str(m.message["Subject"]) and kind in m.message.get_content()
        ]

    opened = wait_for("the e-mail to the engineer", lambda: mails_about("new ticket"), desk.log)
    assert opened == ["li.qiang@example.cn"]
    escalated = wait_for("the escalation e-mail", lambda: mails_about("escalation"), desk.log)
    assert "wang.lei@example.cn" in escalated[0]
    events = httpx.get(f"{desk.url}/api/v1/tickets/{number}", headers=manager, timeout=10).json()
    steps = [
        (e["data"]["clock"], e["data"]["step"])
        for e in events["events"]
        if e["kind"] == "escalated"
    ]
    assert ("response", "breached") in steps

    sent = httpx.get(f"{desk.url}/api/v1/notifications", headers=manager, timeout=10).json()
    assert {n["status"] for n in sent} == {"sent"}
    log = desk.log.read_text()
    assert "SECRET-ROBOT-KEY" not in log and agent not in log

    beta = make_token(desk.cwd, desk.db, "customer", "--customer", "Beta")
    other = httpx.get(
        f"{desk.url}/api/v1/tickets/{number}",
        headers={"Authorization": f"Bearer {beta}"},
        timeout=10,
    )
    assert other.status_code == 404
    acme = make_token(desk.cwd, desk.db, "customer", "--customer", "Acme")
    own = httpx.get(
        f"{desk.url}/api/v1/tickets/{number}",
        headers={"Authorization": f"Bearer {acme}"},
        timeout=10,
    )
    assert own.status_code == 200 and own.json()["number"] == number

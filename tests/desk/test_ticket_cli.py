"""`weibao ticket` and `weibao parts` against a real desk over loopback HTTP.

The desk runs in a thread (DeskServer on port 0) with a frozen clock set to the real
time at the start of the test, so "due in 20m" reads as it would on a workstation; the
command runs in process through typer's CliRunner, exactly as an engineer types it.
"""

from __future__ import annotations

import copy
import json
import re
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import Result
from typer.testing import CliRunner

from desk.model import Role
from desk.server import DeskServer, build_desk
from desk.storage import Store
from desk.tokens import issue_token
from rules.api import Engine
from weibao.cli.main import app
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .conftest import INVENTORY

PAUSE_REASON = "waiting for the customer's access window"
# Keep the environment of whoever runs the tests out of the command's defaults.
CLEAN_ENV: dict[str, str | None] = {
    "WEIBAO_DESK": None,
    "WEIBAO_TOKEN_FILE": None,
    "COLUMNS": None,
}


@dataclass
class Desk:
    url: str
    store: Store
    clock: FrozenClock
    tokens: dict[str, Path]
    secrets: list[str]
    runner: CliRunner

    def run(self, *args: str, token: str | None = "engineer", **env: str | None) -> Result:
        """``weibao ARGS --desk URL --token-file <the role's file>``."""
        extra = ["--desk", self.url]
        if token is not None:
            extra += ["--token-file", str(self.tokens[token])]
        result = self.runner.invoke(app, [*args, *extra], env={**CLEAN_ENV, **env})
        for secret in self.secrets:
            assert secret not in result.output, "a token was printed"
        return result

    def ok(self, *args: str, token: str = "engineer") -> str:
        result = self.run(*args, token=token)
        assert result.exit_code == 0, result.output
        return result.stdout

    def json(self, *args: str, token: str = "engineer") -> Any:
        return json.loads(self.ok(*args, "--json", token=token))

    def fault(self, device: str = "acme-db") -> str:
        """A device stops answering: the desk opens a ticket; its number."""
        agent = issue_token(self.store, Role.agent, None, None, self.clock.now())
        answer = httpx.post(
            f"{self.url}/api/v1/observations",
            json={
                "device": device,
                "source": "agent",
                "time": self.clock.now().isoformat(),
                "samples": [{"name": "up", "value": 0}],
            },
            headers={"Authorization": f"Bearer {agent.token}"},
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        opened: list[str] = answer.json()["tickets_opened"]
        assert len(opened) == 1
        return opened[0]


@pytest.fixture
def desk_inventory() -> Inventory:
    """The desk tests' inventory, with an assigned engineer and a pause reason at Acme."""
    data = copy.deepcopy(INVENTORY)
    contract = data["customers"][0]["contracts"][0]
    contract["pause_reasons"] = [PAUSE_REASON]
    contract["sites"][0]["engineers"] = [{"name": "李强"}, {"name": "赵六"}]
    return Inventory.model_validate(data)


@pytest.fixture
def desk(tmp_path: Path, db_url: str, desk_inventory: Inventory, engine: Engine) -> Iterator[Desk]:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    built = build_desk(db_url, desk_inventory, engine, clock, senders={})
    holders = {
        "engineer": (Role.engineer, None, "李强"),
        "manager": (Role.manager, None, "王丽"),
        "customer": (Role.customer, "Acme Bank", None),
        "other_customer": (Role.customer, "Beta Hospital", None),
    }
    tokens: dict[str, Path] = {}
    secrets: list[str] = []
    for key, (role, customer, name) in holders.items():
        issued = issue_token(built.store, role, customer, None, clock.now(), name=name)
        path = tmp_path / f"{key}.token"
        path.write_text(issued.token + "\n")
        tokens[key] = path
        secrets.append(issued.token)
    try:
        with DeskServer(built.app, "127.0.0.1", 0) as server:
            yield Desk(server.url, built.store, clock, tokens, secrets, CliRunner())
    finally:
        built.store.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_whole_workflow_from_the_command_line(desk: Desk) -> None:
    added = desk.ok("parts", "add", "FAN-01", "--name", "Fan module", "--quantity", "3",
                    "--location", "Shanghai shelf A")  # fmt: skip
    assert "FAN-01 (Fan module): 3 in stock at Shanghai shelf A" in added
    number = desk.fault()

    listed = desk.ok("ticket", "list", "--open")
    row = next(line for line in listed.splitlines() if number in line)
    assert "acme-db is unreachable" in row and "open" in row
    assert re.search(r"response due \d\d-\d\d \d\d:\d\d \(in (19|20)m\)", row), row

    said = desk.ok("ticket", "ack", number, "--note", "on my way")
    assert said.startswith(f"{number}: acknowledged · level II · acme-db · assignee 李强")
    assert "response met" in said and "onsite due" not in said and "on site due" in said

    desk.clock.advance(timedelta(minutes=25))
    assert "on site met" in desk.ok("ticket", "arrive", number)
    said = desk.ok("ticket", "part", number, "--part-number", "FAN-01", "--serial-out", "SN-OLD",
                   "--serial-in", "SN-NEW", "--rma", "RMA-9")  # fmt: skip
    assert said.startswith(f"{number}: on site")
    stock = desk.json("parts", "list")
    assert [(p["part_number"], p["quantity"]) for p in stock] == [("FAN-01", 2)]

    said = desk.ok("ticket", "resolve", number, "--diagnosis", "fan failed",
                   "--cause", "wear", "--actions", "replaced the fan")  # fmt: skip
    assert f"{number}: resolved" in said and "resolve met" in said
    desk.ok("ticket", "signoff", number, "--name", "张三", "--satisfaction", "5", "--opinion", "好")
    said = desk.ok("ticket", "close", number)
    assert said.startswith(f"{number}: closed")

    assert desk.json("ticket", "followups") == []  # due only a few days after closing
    desk.clock.advance(timedelta(days=4))
    assert number in desk.ok("ticket", "followups")
    desk.ok("ticket", "followup", number, "--outcome", "running fine", "--satisfaction", "5")
    assert desk.json("ticket", "followups") == []

    ticket = desk.json("ticket", "show", number)
    assert [e["kind"] for e in ticket["events"]] == [
        "opened", "acknowledged", "arrived", "part", "resolved", "signed_off", "closed",
        "followup_done",
    ]  # fmt: skip
    assert ticket["status"] == "closed" and ticket["followup_done_at"] is not None
    assert ticket["parts"][0]["serial_in"] == "SN-NEW"

    shown = desk.ok("ticket", "show", number)
    detected_local = datetime.fromisoformat(ticket["detected_at_local"]).strftime("%Y-%m-%d %H:%M")
    assert f"detected {detected_local}" in shown  # the site's time, not UTC
    for text in ("Snapshot", "fired by agent observation", "up=0", "Parts", "SN-OLD",
                 "RMA-9 (open)", "Timeline", "on my way", "张三, satisfaction 5/5",
                 "diagnosis: fan failed", "running fine", "met "):  # fmt: skip
        assert text in shown, text
    assert "up=0.0" not in shown  # values as people write them

    rmas = desk.ok("parts", "rmas")
    assert "RMA-9" in rmas and "SN-OLD" in rmas
    use_id = desk.json("parts", "rmas")[0]["id"]
    assert desk.ok("parts", "rma", str(use_id), "--status", "shipped").strip() == (
        "RMA RMA-9 (FAN-01): shipped"
    )


def test_a_refused_step_exits_1_with_the_desks_reason(desk: Desk) -> None:
    number = desk.fault()
    result = desk.run("ticket", "close", number)
    assert result.exit_code == 1
    assert result.stderr.startswith(f"weibao: ticket {number} is open: close is not possible now")
    assert "possible: ack" in result.stderr

    missing = desk.run("ticket", "show", "WB-2000-999999")
    assert missing.exit_code == 1 and "no ticket 'WB-2000-999999'" in missing.stderr

    desk.ok("ticket", "ack", number)
    no_stock = desk.run("ticket", "part", number, "--part-number", "NOPE")
    assert no_stock.exit_code == 1 and "weibao parts add" in no_stock.stderr


def test_pause_and_resume_the_resolution_clock(desk: Desk) -> None:
    number = desk.fault()
    desk.ok("ticket", "ack", number)
    refused = desk.run("ticket", "pause", number, "--reason", "lunch")
    assert refused.exit_code == 1 and PAUSE_REASON in refused.stderr
    said = desk.ok("ticket", "pause", number, "--reason", PAUSE_REASON)
    assert "resolve paused" in said
    assert "paused" in desk.ok("ticket", "show", number)
    assert "resolve due" in desk.ok("ticket", "resume", number, "--note", "access granted")


def test_assign_assist_refer_and_note(desk: Desk) -> None:
    number = desk.fault()
    refused = desk.run("ticket", "assign", number, "赵五")
    assert refused.exit_code == 1
    assert "'赵五' is not an engineer in the inventory: did you mean '赵六'?" in refused.stderr
    assert "assignee 赵六" in desk.ok("ticket", "assign", number, "赵六", "--reason", "nearer")
    desk.ok("ticket", "assist", number, "--reason", "two people to lift", "--engineer", "孙七")
    desk.ok("ticket", "refer", number, "--vendor", "--to", "H3C case 123", "--reason", "firmware")
    desk.ok("ticket", "note", number, "customer asks for a call")
    events = desk.json("ticket", "show", number)["events"]
    assert [e["kind"] for e in events][1:] == ["assigned", "assist_requested", "referred", "note"]
    assert events[3]["data"] == {
        "referred_to": "vendor",
        "to": "H3C case 123",
        "reason": "firmware",
    }
    assert all(e["actor"] == "李强" for e in events[1:])


def test_list_filters_and_mine(desk: Desk) -> None:
    acme = desk.fault("acme-db")
    beta = desk.fault("beta-his")
    numbers = lambda answer: [t["number"] for t in answer["items"]]  # noqa: E731
    assert set(numbers(desk.json("ticket", "list"))) == {acme, beta}
    assert numbers(desk.json("ticket", "list", "--customer", "Beta Hospital")) == [beta]
    assert numbers(desk.json("ticket", "list", "--level", "ii", "--device", "acme-db")) == [acme]
    assert numbers(desk.json("ticket", "list", "--assignee", "李强")) == [acme]
    mine = desk.run("ticket", "list", "--mine", "--json")  # the engineer token is 李强's
    assert mine.exit_code == 0 and numbers(json.loads(mine.stdout)) == [acme]
    desk.ok("ticket", "ack", beta)
    assert numbers(desk.json("ticket", "list", "--status", "acknowledged")) == [beta]
    # A customer's token lists its own tickets only.
    assert numbers(desk.json("ticket", "list", token="customer")) == [acme]

    unnamed = desk.run("ticket", "list", "--mine", token="customer")  # issued without a name
    assert unnamed.exit_code == 2 and "--name" in unnamed.stderr
    empty = desk.run("ticket", "list", "--status", "closed")
    assert empty.exit_code == 0 and "no tickets match" in empty.stderr
    # The level as the inventory writes it, 1 to 4, and a customer's name half typed.
    assert numbers(desk.json("ticket", "list", "--level", "2", "--device", "acme-db")) == [acme]
    bad_level = desk.run("ticket", "list", "--level", "5")
    assert bad_level.exit_code == 2 and "I, II, III or IV (or 1 to 4)" in bad_level.stderr
    typo = desk.run("ticket", "list", "--customer", "Beta")
    assert typo.exit_code == 1
    assert "no customer 'Beta' in the inventory" in typo.stderr
    assert "did you mean 'Beta Hospital'?" in typo.stderr


def test_a_manager_moves_a_due_time_an_engineer_may_not(desk: Desk) -> None:
    number = desk.fault()
    new_due = (desk.clock.now() + timedelta(hours=30)).astimezone().isoformat(timespec="minutes")
    args = ("ticket", "due", number, "--clock", "resolve", "--at", new_due,
            "--reason", "parts arrive Monday", "--agreed-by", "张三")  # fmt: skip
    refused = desk.run(*args)
    assert refused.exit_code == 3 and "only a manager" in refused.stderr
    ticket = desk.json(*args, token="manager")
    moves = ticket["clocks"]["resolve"]["moves"]
    assert [(m["agreed_by"], m["by"]) for m in moves] == [("张三", "王丽")]
    assert "moved by 王丽, agreed by 张三: parts arrive Monday" in desk.ok("ticket", "show", number)


def test_customer_tokens_are_limited_to_their_own_tickets_and_steps(desk: Desk) -> None:
    number = desk.fault()
    refused = desk.run("ticket", "ack", number, token="customer")
    assert refused.exit_code == 3
    assert refused.stderr == "weibao: a customer token may only sign off or add notes, not ack\n"
    assert desk.run("ticket", "note", number, "please call first", token="customer").exit_code == 0
    other = desk.run("ticket", "show", number, token="other_customer")
    assert other.exit_code == 1 and f"no ticket '{number}'" in other.stderr
    parts = desk.run("parts", "list", token="customer")
    assert parts.exit_code == 3 and "may not manage spare parts" in parts.stderr


def test_token_problems_exit_3_without_showing_the_token(
    desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # no var/manager.token here
    none = desk.run("ticket", "list", token=None)
    assert none.exit_code == 3
    assert none.stderr.startswith(
        "weibao: no token: give --token-file FILE or set WEIBAO_TOKEN_FILE"
    )

    missing = desk.run("ticket", "list", token=None, WEIBAO_TOKEN_FILE=str(tmp_path / "nope"))
    assert missing.exit_code == 3 and "does not exist" in missing.stderr

    bogus = tmp_path / "bogus.token"
    bogus.write_text("wb_not-a-real-token-0123456789\n")
    unknown = desk.run("ticket", "list", token=None, WEIBAO_TOKEN_FILE=str(bogus))
    assert unknown.exit_code == 3 and "unknown or revoked" in unknown.stderr
    assert "wb_not-a-real-token" not in unknown.output

    garbled = tmp_path / "garbled.token"
    garbled.write_text("wb_abc def\n")
    assert desk.run("ticket", "list", token=None, WEIBAO_TOKEN_FILE=str(garbled)).exit_code == 3

    # The default file, as `make run` writes it, is used when nothing else is given.
    (tmp_path / "var").mkdir()
    (tmp_path / "var" / "manager.token").write_text(desk.tokens["manager"].read_text())
    assert desk.run("ticket", "list", token=None).exit_code == 0


def test_a_desk_that_is_down_exits_4_naming_the_url(tmp_path: Path) -> None:
    token = tmp_path / "t.token"
    token.write_text("wb_whatever\n")
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app, ["ticket", "list", "--desk", url, "--token-file", str(token)], env=CLEAN_ENV
    )
    assert result.exit_code == 4
    assert result.stderr.startswith(f"weibao: cannot reach the desk at {url} (")
    assert "wb_whatever" not in result.output
    env = {**CLEAN_ENV, "WEIBAO_DESK": url, "WEIBAO_TOKEN_FILE": str(token)}
    by_env = CliRunner().invoke(app, ["parts", "list"], env=env)
    assert by_env.exit_code == 4 and url in by_env.stderr


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("signoff", "WB-1", "--name", "张三", "--satisfaction", "7"), "--satisfaction: "),
        (
            (
                "due",
                "WB-1",
                "--clock",
                "resolve",
                "--at",
                "2026-03-02T18:00",
                "--reason",
                "r",
                "--agreed-by",
                "x",
            ),
            "--at: ",
        ),
        (
            (
                "due",
                "WB-1",
                "--clock",
                "later",
                "--at",
                "2026-03-02T18:00+08:00",
                "--reason",
                "r",
                "--agreed-by",
                "x",
            ),
            "--clock: ",
        ),
        (("refer", "WB-1", "--to", "x", "--reason", "r"), "exactly one of --senior or --vendor"),
        (("part", "WB-1", "--part-number", "P", "--quantity", "0"), "--quantity: "),
        (("note", "WB-1", ""), "TEXT: "),
        (("list", "--status", "pending"), "--status 'pending' is not a ticket status"),
        (("list", "--level", "V"), "--level 'V' is not a fault level: I, II, III or IV"),
    ],
)
def test_bad_usage_exits_2_before_anything_is_sent(
    tmp_path: Path, args: tuple[str, ...], expected: str
) -> None:
    token = tmp_path / "t.token"
    token.write_text("wb_whatever\n")
    # Nothing listens here: exit 4 would mean the command tried to send.
    url = f"http://127.0.0.1:{free_port()}"
    result = CliRunner().invoke(
        app, ["ticket", *args, "--desk", url, "--token-file", str(token)], env=CLEAN_ENV
    )
    assert result.exit_code == 2, result.output
    assert expected in result.stderr


def test_parts_add_checks_its_input_and_rma_statuses(tmp_path: Path) -> None:
    token = tmp_path / "t.token"
    token.write_text("wb_whatever\n")
    url = f"http://127.0.0.1:{free_port()}"
    common = ["--desk", url, "--token-file", str(token)]
    runner = CliRunner()
    bad = runner.invoke(app, ["parts", "add", "P", "--name", "x", "--quantity", "0", *common])
    assert bad.exit_code == 2 and "--quantity: " in bad.stderr
    rma = runner.invoke(app, ["parts", "rma", "1", "--status", "lost", *common])
    assert rma.exit_code == 2 and "not an RMA status" in rma.stderr


def test_json_output_parses_and_holds_the_ticket(desk: Desk) -> None:
    number = desk.fault()
    acked = desk.json("ticket", "ack", number)
    assert acked["number"] == number and acked["status"] == "acknowledged"
    assert acked["clocks"]["response"]["met_at"] is not None
    assert "arrive" in acked["allowed_steps"]
    listed = desk.json("ticket", "list")
    assert listed["total"] == 1 and listed["items"][0]["status"] == "acknowledged"


def test_a_part_not_in_stock_points_at_the_option_not_the_api_field(desk: Desk) -> None:
    number = desk.fault()
    desk.ok("ticket", "ack", number)
    refused = desk.run("ticket", "part", number, "--part-number", "PSU-9")
    assert refused.exit_code == 1
    assert "--not-from-stock" in refused.stderr and "from_stock" not in refused.stderr
    assert "PSU-9" in desk.ok(
        "ticket", "part", number, "--part-number", "PSU-9", "--not-from-stock", "--json"
    )


def test_show_offers_what_this_token_may_do_now(desk: Desk) -> None:
    number = desk.fault()
    desk.ok("ticket", "ack", number)
    possible = lambda text: text.rsplit("possible now: ", 1)[1].split()  # noqa: E731
    engineer = " ".join(possible(desk.ok("ticket", "show", number)))
    assert "due" not in engineer and "resume" not in engineer and "pause," in engineer
    assert "due" in desk.ok("ticket", "show", number, token="manager")
    customer = desk.ok("ticket", "show", number, token="customer")
    assert "possible now: note" in customer
    assert desk.json("ticket", "show", number, token="customer")["allowed_steps"] == ["note"]

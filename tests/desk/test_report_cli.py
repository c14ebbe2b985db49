"""`weibao report` against a real desk over loopback HTTP (DeskServer on port 0, in a
thread, with a frozen clock), run in process through typer's CliRunner."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import Result
from typer.testing import CliRunner

from desk.model import Role
from desk.server import DeskServer, build_desk
from desk.tokens import issue_token
from rules.api import Engine
from weibao.cli.main import app
from weibao.cli.report_cmd import served_name
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .test_ticket_cli import CLEAN_ENV, free_port

MAR_2 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class Desk:
    url: str
    tokens: dict[str, Path]
    secrets: list[str]
    runner: CliRunner

    def run(self, *args: str, token: str | None = "manager", desk: str | None = None) -> Result:
        extra = ["--desk", desk or self.url]
        if token is not None:
            extra += ["--token-file", str(self.tokens[token])]
        result = self.runner.invoke(app, ["report", *args, *extra], env=CLEAN_ENV)
        for secret in self.secrets:
            assert secret not in result.output, "a token was printed"
        return result


@pytest.fixture
def desk(tmp_path: Path, db_url: str, inventory: Inventory, engine: Engine) -> Iterator[Desk]:
    clock = FrozenClock(MAR_2)
    built = build_desk(db_url, inventory, engine, clock, senders={})
    holders = {
        "manager": (Role.manager, None),
        "acme": (Role.customer, "Acme Bank"),
        "agent": (Role.agent, None),
    }
    tokens: dict[str, Path] = {}
    secrets = []
    for key, (role, customer) in holders.items():
        issued = issue_token(built.store, role, customer, None, clock.now())
        tokens[key] = tmp_path / f"{key}.token"
        tokens[key].write_text(issued.token + "\n")
        secrets.append(issued.token)
    tokens["revoked"] = tmp_path / "revoked.token"
    tokens["revoked"].write_text("wb_not-a-token-this-desk-knows\n")
    try:
        with DeskServer(built.app, "127.0.0.1", 0) as server:
            yield Desk(server.url, tokens, secrets, CliRunner())
    finally:
        built.store.close()


def test_the_inspection_report_is_written_where_asked(desk: Desk, tmp_path: Path) -> None:
    target = tmp_path / "out" / "acme.pdf"
    target.parent.mkdir()
    result = desk.run("inspection", "--customer", "Acme Bank", "--period", "2026-02",
                      "--lang", "en", "-o", str(target))  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.stdout.strip().startswith(f"wrote {target} (")
    assert target.read_bytes().startswith(b"%PDF-")
    assert target.stat().st_mode & 0o077 == 0  # a customer's report: the owner's only
    assert [p.name for p in target.parent.iterdir()] == ["acme.pdf"]  # no temporary left


def test_a_directory_gets_the_desks_file_name(desk: Desk, tmp_path: Path) -> None:
    result = desk.run("quarterly", "--period", "2026-Q1", "--format", "json", "--lang", "en",
                      "-o", str(tmp_path))  # fmt: skip
    assert result.exit_code == 0, result.output
    [written] = tmp_path.glob("TJ-*.json")
    report = json.loads(written.read_text())
    assert (report["kind"], report["language"], report["period"]["label"]) == (
        "quarterly",
        "en",
        "2026-Q1",
    )


def test_a_customer_token_fetches_its_own_report(desk: Desk, tmp_path: Path) -> None:
    own = desk.run("inspection", "--format", "json", "-o", str(tmp_path / "own.json"),
                   token="acme")  # fmt: skip
    assert own.exit_code == 0, own.output
    assert json.loads((tmp_path / "own.json").read_text())["customer"] == "Acme Bank"
    other = desk.run("inspection", "--customer", "Beta Hospital", "-o", str(tmp_path / "x"),
                     token="acme")  # fmt: skip
    assert other.exit_code == 1
    assert "reads its own customer's reports only" in other.stderr
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize(
    ("args", "token", "code", "says"),
    [
        (["inspection", "--customer", "Acme Bnak"], "manager", 1, "did you mean 'Acme Bank'?"),
        (["inspection"], "manager", 1, "an inspection report is of one customer"),
        (["inspection", "--customer", "Acme Bank"], "revoked", 3, "unknown or revoked"),
        (["quarterly"], "agent", 3, "agent token may not"),
        (["inspection", "--period", "Nov"], "manager", 2, "--period 'Nov' is not a period"),
        (["quarterly", "--format", "docx"], "manager", 2, "--format 'docx': use one of"),
        (["quarterly", "--lang", "fr"], "manager", 2, "--lang 'fr': use zh or en"),
        (["inspection", "--from", "2026-02-01"], "manager", 2, "--from and --to go together"),
    ],
)
def test_refusals_exit_with_the_reason(
    desk: Desk, tmp_path: Path, args: list[str], token: str, code: int, says: str
) -> None:
    result = desk.run(*args, "-o", str(tmp_path / "r.pdf"), token=token)
    assert result.exit_code == code, result.output
    assert says in result.stderr
    assert not (tmp_path / "r.pdf").exists()


def test_an_unreachable_desk_is_exit_4_naming_it(desk: Desk, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = desk.run("quarterly", "-o", str(tmp_path / "q.pdf"), desk=url)
    assert result.exit_code == 4
    assert f"cannot reach the desk at {url}" in result.stderr


def test_served_names_never_leave_the_directory() -> None:
    assert served_name('attachment; filename="XJ-A-202611.pdf"', "x") == "XJ-A-202611.pdf"
    utf8 = "attachment; filename=\"a.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"
    assert served_name(utf8, "x") == "报告.pdf"
    assert served_name('attachment; filename="../../etc/passwd"', "x") == "passwd"
    assert served_name('attachment; filename=".."', "fallback.pdf") == "fallback.pdf"
    assert served_name(None, "inspection.pdf") == "inspection.pdf"

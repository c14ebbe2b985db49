"""`weibao user`: passwords never from argv and never shown, accounts checked against
the inventory with a suggestion, disable logs out, list shows no hash."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from desk.model import Role
from desk.storage import Store
from desk.storage.accounts import AccountStore, SessionRecord
from desk.web.accounts import Accounts, Outcome
from weibao.cli import user_cmd
from weibao.cli.main import app
from weibao.clock import SystemClock

from .conftest import FAST_HASHER, PASSWORD, STAFFED_INVENTORY

runner = CliRunner()


def weibao(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def desk_database(db_url: str) -> None:
    """The desk's database, as `weibao serve` (or `make run`, with --create-db) made it."""
    store = Store(db_url)
    store.migrate()
    store.close()


@pytest.fixture
def inventory_file(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(STAFFED_INVENTORY, allow_unicode=True), encoding="utf-8")
    return path


def test_add_reads_the_password_from_stdin_and_stores_a_hash(
    db_url: str, inventory_file: Path
) -> None:
    code, out, err = weibao(
        "user", "add", "zhang", "--role", "engineer", "--name", "张伟",
        "--engineer", "Zhang Wei", "-i", str(inventory_file), "--db", db_url,
        stdin=PASSWORD + "\n",
    )  # fmt: skip
    assert code == 0, err
    assert "added engineer zhang (张伟)" in err and PASSWORD not in out + err
    store = Store(db_url)
    try:
        user = AccountStore(store).user_by_name("zhang")
        assert user is not None and user.engineer == "Zhang Wei" and user.role is Role.engineer
        assert user.password_hash.startswith("$argon2id$")
        assert PASSWORD.encode() not in Path(db_url.removeprefix("sqlite:///")).read_bytes()
        assert Accounts(store, SystemClock()).authenticate("zhang", PASSWORD).outcome is (
            Outcome.ok
        )
    finally:
        store.close()


def test_add_reads_a_password_file(db_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("from a file, long enough\n", encoding="utf-8")
    code, _, err = weibao(
        "user", "add", "wang", "--role", "manager", "--password-file", str(secret),
        "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    store = Store(db_url)
    try:
        result = Accounts(store, SystemClock()).authenticate("wang", "from a file, long enough")
        assert result.outcome is Outcome.ok
    finally:
        store.close()


def test_at_a_terminal_the_password_is_typed_twice(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(user_cmd, "_stdin_is_terminal", lambda: True)
    code, _, err = weibao(
        "user", "add", "wang", "--role", "manager", "--db", db_url,
        stdin=f"{PASSWORD}\nsomething else\n{PASSWORD}\n{PASSWORD}\n",
    )  # fmt: skip
    assert code == 0, err
    assert "do not match" in err.lower() and PASSWORD not in err


def test_there_is_no_password_option() -> None:
    code, _, err = weibao("user", "add", "li", "--role", "manager", "--password", PASSWORD)
    assert code == 2 and "No such option" in err


def test_customer_accounts_are_checked_against_the_inventory(
    db_url: str, inventory_file: Path
) -> None:
    code, _, err = weibao(
        "user", "add", "acme", "--role", "customer", "--customer", "Acme Bnak",
        "-i", str(inventory_file), "--db", db_url, stdin=PASSWORD,
    )  # fmt: skip
    assert code == 2 and "did you mean 'Acme Bank'" in err
    code, _, err = weibao(
        "user", "add", "acme", "--role", "customer", "-i", str(inventory_file), "--db", db_url,
        stdin=PASSWORD,
    )  # fmt: skip
    assert code == 2 and "--customer NAME" in err
    code, _, err = weibao(
        "user", "add", "acme", "--role", "customer", "--customer", "Acme Bank",
        "-i", str(inventory_file), "--db", db_url, stdin=PASSWORD,
    )  # fmt: skip
    assert code == 0, err
    assert "for customer Acme Bank" in err


def test_engineer_accounts_name_an_engineer_of_the_inventory(
    db_url: str, inventory_file: Path
) -> None:
    code, _, err = weibao(
        "user", "add", "zhang", "--role", "engineer", "--name", "Zhang Wie",
        "-i", str(inventory_file), "--db", db_url, stdin=PASSWORD,
    )  # fmt: skip
    assert code == 2 and "did you mean 'Zhang Wei'" in err
    code, _, err = weibao(
        "user", "add", "zhang", "--role", "engineer", "-i", str(inventory_file),
        "--db", db_url, stdin=PASSWORD,
    )  # fmt: skip
    assert code == 2 and "--engineer NAME" in err
    code, _, err = weibao("user", "add", "li", "--role", "agent", "--db", db_url, stdin=PASSWORD)
    assert code == 2 and "weibao token create --role agent" in err


def test_short_passwords_and_taken_names_are_refused(db_url: str) -> None:
    code, _, err = weibao("user", "add", "wang", "--role", "manager", "--db", db_url, stdin="short")
    assert code == 2 and "at least 10 characters" in err
    assert (
        weibao("user", "add", "wang", "--role", "manager", "--db", db_url, stdin=PASSWORD)[0] == 0
    )
    code, _, err = weibao(
        "user", "add", "wang", "--role", "manager", "--db", db_url, stdin=PASSWORD
    )
    assert code == 1 and "already a user 'wang'" in err


def test_passwd_disable_enable_and_list(db_url: str) -> None:
    assert (
        weibao("user", "add", "wang", "--role", "manager", "--db", db_url, stdin=PASSWORD)[0] == 0
    )
    store = Store(db_url)
    try:
        accounts = Accounts(store, SystemClock(), hasher=FAST_HASHER)
        records = AccountStore(store)
        wang = accounts.find("wang")

        code, _, err = weibao("user", "passwd", "wang", "--db", db_url, stdin="a new password 2\n")
        assert code == 0, err
        assert accounts.authenticate("wang", PASSWORD).outcome is Outcome.wrong
        assert accounts.authenticate("wang", "a new password 2").outcome is Outcome.ok

        now = datetime.now(UTC)
        records.add_session(SessionRecord("h" * 64, wang.id, "c", now, now, now.replace(year=2099)))
        code, _, err = weibao("user", "disable", "wang", "--db", db_url)
        assert code == 0 and "disabled and logged out" in err
        assert records.session_count(wang.id) == 0
        assert accounts.authenticate("wang", "a new password 2").outcome is Outcome.wrong

        code, out, err = weibao("user", "list", "--db", db_url)
        assert code == 0, err
        assert "wang" in out and "manager" in out and "disabled" in out
        hashed = records.user_by_name("wang")
        assert hashed is not None and hashed.password_hash not in out and "$argon2" not in out

        assert weibao("user", "enable", "wang", "--db", db_url)[0] == 0
        assert accounts.authenticate("wang", "a new password 2").outcome is Outcome.ok
    finally:
        store.close()


def test_unknown_users_say_where_to_look(db_url: str) -> None:
    code, _, err = weibao("user", "disable", "ghost", "--db", db_url)
    assert code == 1 and "no user 'ghost'" in err and "weibao user list" in err
    code, _, err = weibao("user", "list", "--db", db_url)
    assert code == 0 and "no users yet" in err

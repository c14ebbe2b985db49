"""`weibao token`: the printed token is the only stdout, it authenticates, scopes are
checked, list never shows a token, and a revoked token stops working."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from desk.api import create_app
from desk.storage import Store
from rules.api import Engine
from weibao.cli.main import app
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .asgi import AsgiClient

runner = CliRunner()


def weibao(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


@pytest.fixture(autouse=True)
def desk_database(store: Store) -> Store:
    """The desk's database, made by the desk (the ``store`` fixture migrates it): the
    token commands use a database, they do not make one."""
    return store


def test_a_created_token_is_printed_alone_and_authenticates(
    db_url: str, inventory: Inventory, engine: Engine, clock: FrozenClock
) -> None:
    code, out, err = weibao("token", "create", "--role", "engineer", "--db", db_url)
    assert code == 0, err
    token = out.strip()
    assert out == token + "\n" and token.startswith("wb_") and len(token) > 40
    assert token not in err and "shown only this once" in err

    store = Store(db_url)
    try:
        with AsgiClient(create_app(store, inventory, engine, clock)) as client:
            ok = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
            assert ok.status_code == 200
    finally:
        store.close()


def test_the_database_keeps_only_a_hash(db_url: str) -> None:
    _, out, _ = weibao("token", "create", "--role", "agent", "--any-device", "--db", db_url)
    database = Path(db_url.removeprefix("sqlite:///"))
    assert out.strip().encode() not in database.read_bytes()


def test_customer_tokens_need_a_customer_and_others_refuse_one(db_url: str) -> None:
    code, out, err = weibao("token", "create", "--role", "customer", "--db", db_url)
    assert code == 2 and out == "" and "--customer NAME" in err
    code, out, err = weibao(
        "token",
        "create",
        "--role",
        "agent",
        "--any-device",
        "--customer",
        "Acme Bank",
        "--db",
        db_url,
    )
    assert code == 2 and out == "" and "only applies to role customer" in err
    code, out, err = weibao("token", "create", "--role", "root", "--db", db_url)
    assert code == 2 and "agent, engineer, manager, customer" in err


@pytest.fixture
def inventory_file(tmp_path: Path) -> str:
    from .conftest import INVENTORY

    path = tmp_path / "inventory.yaml"
    path.write_text(yaml.safe_dump(INVENTORY, allow_unicode=True), encoding="utf-8")
    return str(path)


def test_a_customer_token_names_a_customer_of_the_inventory(
    db_url: str, inventory_file: str
) -> None:
    code, out, err = weibao(
        "token", "create", "--role", "customer", "--customer", "Beta Hospitl",
        "-i", inventory_file, "--db", db_url,
    )  # fmt: skip
    assert code == 2 and out == ""
    assert "'Beta Hospitl' is not a customer" in err and "did you mean 'Beta Hospital'?" in err
    code, out, err = weibao(
        "token", "create", "--role", "customer", "--customer", "Beta Hospital",
        "-i", str(Path(inventory_file).with_name("missing.yaml")), "--db", db_url,
    )  # fmt: skip
    assert code == 2 and out == "" and "no inventory at" in err and "-i FILE" in err


def test_list_shows_ids_and_roles_but_never_tokens(db_url: str, inventory_file: str) -> None:
    _, token, _ = weibao(
        "token", "create", "--role", "customer", "--customer", "Beta Hospital",
        "-i", inventory_file, "--db", db_url,
    )  # fmt: skip
    code, out, _ = weibao("token", "list", "--db", db_url)
    assert code == 0
    assert "customer" in out and "Beta Hospital" in out
    assert token.strip() not in out and "wb_" not in out


def test_revoke_stops_a_token(
    db_url: str, inventory: Inventory, engine: Engine, clock: FrozenClock
) -> None:
    _, out, _ = weibao("token", "create", "--role", "manager", "--db", db_url)
    headers = {"Authorization": f"Bearer {out.strip()}"}
    assert weibao("token", "revoke", "1", "--db", db_url)[0] == 0
    store = Store(db_url)
    try:
        with AsgiClient(create_app(store, inventory, engine, clock)) as client:
            assert client.get("/api/v1/tickets", headers=headers).status_code == 401
    finally:
        store.close()
    code, _, err = weibao("token", "revoke", "42", "--db", db_url)
    assert code == 1 and "no token 42" in err


def test_the_db_comes_from_weibao_db_when_not_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEIBAO_DB", f"sqlite:///{tmp_path / 'from-env.db'}")
    assert weibao("token", "create", "--role", "agent", "--any-device", "--create-db")[0] == 0
    assert (tmp_path / "from-env.db").exists()
    assert weibao("token", "create", "--role", "agent", "--any-device")[0] == 0


def test_a_missing_database_is_refused_not_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from another folder, the default relative database would be a new, empty
    ./var/weibao.db whose tokens the desk never sees."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("WEIBAO_DB", raising=False)
    for args in (
        ("token", "create", "--role", "agent", "--any-device"),
        ("token", "list"),
        ("user", "list"),
    ):
        code, out, err = weibao(*args)
        assert code == 1 and out == "", err
        assert f"there is no database at {tmp_path / 'var' / 'weibao.db'}" in err
        assert "--db or WEIBAO_DB" in err and "--create-db" in err
    assert not (tmp_path / "var").exists()


def test_a_database_that_holds_no_desk_is_refused(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    code, out, err = weibao(
        "token", "create", "--role", "agent", "--any-device", "--db", f"sqlite:///{empty}"
    )
    assert code == 1 and out == ""
    assert "holds no weibao desk" in err
    with sqlite3.connect(empty) as tables:
        assert tables.execute("SELECT count(*) FROM sqlite_master").fetchone() == (0,)


def test_create_says_which_database_it_wrote_to(db_url: str) -> None:
    code, _, err = weibao("token", "create", "--role", "agent", "--any-device", "--db", db_url)
    assert code == 0 and f"in {db_url}" in err


def test_list_keeps_its_columns_with_chinese_names(db_url: str, inventory_file: str) -> None:
    weibao(
        "token", "create", "--role", "engineer", "--name", "李强", "--note", "值班", "--db", db_url
    )
    weibao("token", "create", "--role", "engineer", "--name", "Li Qiang", "--db", db_url)
    weibao(
        "token", "create", "--role", "customer", "--customer", "Beta Hospital",
        "--name", "贝塔医院信息科", "-i", inventory_file, "--db", db_url,
    )  # fmt: skip
    code, out, _ = weibao("token", "list", "--db", db_url)
    assert code == 0
    from rich.cells import cell_len

    header, *rows = out.splitlines()
    note_at = cell_len(header[: header.index("NOTE")])
    for row in rows:
        created = row.index("20")  # the CREATED column starts with the year
        assert cell_len(row[:created]) == cell_len(header[: header.index("CREATED")]), row
    first = rows[0]
    assert cell_len(first[: first.index("值班")]) == note_at


def test_an_agent_token_says_what_it_may_push_for(db_url: str, inventory_file: str) -> None:
    code, out, err = weibao("token", "create", "--role", "agent", "--db", db_url)
    assert code == 2 and out == ""
    assert "--device NAME" in err and "--site NAME" in err and "--any-device" in err

    code, out, err = weibao(
        "token", "create", "--role", "agent", "--device", "acme-db", "-i", inventory_file,
        "--db", db_url,
    )  # fmt: skip
    assert code == 0, err
    assert "for device acme-db" in err
    code, _, err = weibao(
        "token", "create", "--role", "agent", "--site", "Acme H", "-i", inventory_file,
        "--db", db_url,
    )  # fmt: skip
    assert code == 2 and "is not a site" in err and "did you mean 'Acme HQ'?" in err
    code, _, err = weibao(
        "token", "create", "--role", "engineer", "--site", "Acme HQ", "-i", inventory_file,
        "--db", db_url,
    )  # fmt: skip
    assert code == 2 and "scope an agent token" in err
    code, _, _ = weibao(
        "token", "create", "--role", "agent", "--site", "Acme HQ", "-i", inventory_file,
        "--db", db_url,
    )  # fmt: skip
    assert code == 0

    code, out, _ = weibao("token", "list", "--db", db_url)
    assert code == 0
    scopes = [line.split()[2:4] for line in out.splitlines()[1:]]
    assert scopes == [["device", "acme-db"], ["site", "Acme"]]  # "Acme HQ": split on blanks

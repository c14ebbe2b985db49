"""`weibao token`: the printed token is the only stdout, it authenticates, scopes are
checked, list never shows a token, and a revoked token stops working."""

from __future__ import annotations

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
    _, out, _ = weibao("token", "create", "--role", "agent", "--db", db_url)
    database = Path(db_url.removeprefix("sqlite:///"))
    assert out.strip().encode() not in database.read_bytes()


def test_customer_tokens_need_a_customer_and_others_refuse_one(db_url: str) -> None:
    code, out, err = weibao("token", "create", "--role", "customer", "--db", db_url)
    assert code == 2 and out == "" and "--customer NAME" in err
    code, out, err = weibao(
        "token", "create", "--role", "agent", "--customer", "Acme Bank", "--db", db_url
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
    assert weibao("token", "create", "--role", "agent")[0] == 0
    assert (tmp_path / "from-env.db").exists()

"""Console fixtures: the desk app over the shared test store, one account per role,
and a client that logs in through the real form (CSRF cookie and all).

Accounts are hashed with deliberately cheap argon2 parameters so tests stay fast; the
app's own hasher (the library's defaults) still verifies them, and rehashes them at
the first login, which is what ``test_a_weak_hash_is_replaced_at_login`` checks.

Use in a page test::

    def test_queue(client: AsgiClient, users: Users) -> None:
        login(client, users.engineer)
        page = client.get("/queue")
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI

from desk.api import create_app
from desk.model import Role
from desk.storage import Store
from desk.storage.accounts import AccountStore, UserRecord
from desk.web.accounts import Accounts
from desk.web.session import SESSION_COOKIE, hash_session
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from ..asgi import AsgiClient
from ..conftest import INVENTORY

PASSWORD = "correct horse battery staple"
# argon2's smallest parameters: a test hashes in microseconds, not 50 ms.
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
# The shared inventory with engineers on its sites, for engineer accounts ("my tickets").
STAFFED_INVENTORY: dict[str, Any] = copy.deepcopy(INVENTORY)
STAFFED_INVENTORY["customers"][0]["contracts"][0]["sites"][0]["engineers"] = [
    {"name": "Zhang Wei", "phone": "13800000001"}
]
STAFFED_INVENTORY["customers"][0]["contracts"][0]["sites"][1]["engineers"] = [{"name": "Li Na"}]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Users:
    engineer: UserRecord
    manager: UserRecord
    customer: UserRecord
    """Bound to Acme Bank."""
    other_customer: UserRecord
    """Bound to Beta Hospital."""


@pytest.fixture
def accounts(store: Store, clock: FrozenClock) -> Accounts:
    return Accounts(store, clock, hasher=FAST_HASHER)


@pytest.fixture
def users(accounts: Accounts) -> Users:
    return Users(
        engineer=accounts.add("zhang", PASSWORD, Role.engineer, "张伟", engineer="Zhang Wei"),
        manager=accounts.add("wang", PASSWORD, Role.manager, "王丽"),
        customer=accounts.add("acme", PASSWORD, Role.customer, "Acme IT", customer="Acme Bank"),
        other_customer=accounts.add(
            "beta", PASSWORD, Role.customer, "Beta IT", customer="Beta Hospital"
        ),
    )


@pytest.fixture
def app(store: Store, inventory: Inventory, engine: Engine, clock: FrozenClock) -> FastAPI:
    return create_app(store, inventory, engine, clock)


@pytest.fixture
def client(app: FastAPI) -> Iterator[AsgiClient]:
    with AsgiClient(app) as client:
        yield client


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a page's forms post back."""
    found = _CSRF.search(page.text)
    assert found is not None, f"no csrf_token field in the page:\n{page.text[:2000]}"
    return found.group(1)


def login(
    client: AsgiClient,
    user: UserRecord | str,
    password: str = PASSWORD,
    next_path: str = "/",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Log in through the form: GET /login (CSRF cookie and field), then POST it.
    Returns the POST's answer (303 to the start page on success)."""
    username = user if isinstance(user, str) else user.username
    form = client.get("/login", params={"next": next_path}, headers=headers)
    assert form.status_code == 200, form.text
    return client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": csrf_of(form),
            "next": next_path,
        },
        headers=headers,
    )


def session_cookie(client: AsgiClient) -> str | None:
    """The browser's ``weibao_session`` cookie, if it has one."""
    return client._client.cookies.get(SESSION_COOKIE)


def session_csrf(client: AsgiClient, store: Store, clock: FrozenClock) -> str:
    """The logged-in session's CSRF token, as its pages put it in their forms."""
    token = session_cookie(client)
    assert token, "not logged in: no weibao_session cookie"
    found = AccountStore(store).session_with_user(hash_session(token), clock.now())
    assert found is not None, "the session cookie names no live session"
    return found[0].csrf_token

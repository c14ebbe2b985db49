"""The desk both browser tests work on: one account per role, an agent token, a frozen
clock; and the few things a person does on it (push a fault, open or submit a step)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from fastapi import FastAPI

import rules
from desk.api import create_app
from desk.model import Role
from desk.storage import Store
from desk.tokens import issue_token
from desk.web.accounts import Accounts
from tests.desk.conftest import IMMEDIATE_RULES, START
from tests.desk.web.conftest import FAST_HASHER, PASSWORD
from tests.desk.web.page_fixtures import PAGE_INVENTORY
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture
def world(tmp_path: Path) -> Iterator[tuple[FastAPI, str, FrozenClock]]:
    """A desk with one account per role and an agent token; yields app, token, clock."""
    store = Store(f"sqlite:///{tmp_path / 'desk.db'}")
    store.migrate()
    clock = FrozenClock(START)
    inventory = Inventory.model_validate(PAGE_INVENTORY)
    accounts = Accounts(store, clock, hasher=FAST_HASHER)
    accounts.add("zhang", PASSWORD, Role.engineer, "张伟", engineer="Zhang Wei")
    accounts.add("wang", PASSWORD, Role.manager, "王丽")
    accounts.add("acme", PASSWORD, Role.customer, "Acme IT", customer="Acme Bank")
    accounts.add("beta", PASSWORD, Role.customer, "Beta IT", customer="Beta Hospital")
    token = issue_token(store, Role.agent, None, "browser test", clock.now()).token
    app = create_app(store, inventory, rules.load_engine(IMMEDIATE_RULES), clock)
    yield app, token, clock
    store.close()


def push_fault(url: str, token: str, device: str, clock: FrozenClock) -> list[str]:
    """An ``up=0`` observation for ``device``; returns the ticket numbers it opened."""
    answer = httpx.post(
        f"{url}/api/v1/observations",
        headers={"Authorization": f"Bearer {token}"},
        json={
            "device": device,
            "source": "agent",
            "time": clock.now().isoformat(),
            "samples": [{"name": "up", "value": 0}],
        },
        timeout=10,
    )
    assert answer.status_code == 200, answer.text
    return list(answer.json()["tickets_opened"])


def open_step(page: Page, name: str) -> None:
    """Unfold a step's form (the first one is unfolded already)."""
    page.locator(f"details.step-{name}").evaluate("details => { details.open = true; }")


def submit_step(page: Page, name: str) -> None:
    open_step(page, name)
    with page.expect_navigation():
        page.click(f".step-{name} button[type=submit]")

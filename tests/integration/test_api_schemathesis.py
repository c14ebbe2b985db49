"""schemathesis against the desk's own OpenAPI document, on SQLite and on PostgreSQL.

Every operation the document declares gets generated requests, valid and invalid, with a
manager's token (who may do the most), through a real desk on 127.0.0.1. What must hold
for every one: no 5xx, a status the document declares for that operation, the declared
content type, and a body of the declared schema. Issue 13, item 10.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import rules
from desk.api import create_app
from desk.model import Role
from desk.server import DeskServer
from desk.storage import Store
from desk.tokens import issue_token
from tests.desk.conftest import IMMEDIATE_RULES
from tests.desk.test_alertmanager import am_inventory
from tests.integration.test_postgres_store import postgres_url  # noqa: F401 - the cluster
from weibao.clock import SystemClock
from weibao.inventory.model import Inventory

pytestmark = pytest.mark.integration
CHECKS = (
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
)
EXAMPLES = 25
"""Per operation: about 1,500 requests per database in all, within a minute or two."""


@pytest.fixture(params=["sqlite", "postgresql"])
def desk(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A desk on 127.0.0.1 over a fresh database; its URL and a manager's token."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'desk.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    store = Store(url)
    store.migrate()
    inventory = Inventory.model_validate(am_inventory())
    app = create_app(store, inventory, rules.load_engine(IMMEDIATE_RULES), SystemClock())
    token = issue_token(store, Role.manager, None, "值班经理", datetime.now(UTC)).token
    with DeskServer(app, port=0) as server:
        yield server.url, token
    store.close()


def exercise(operation: Any, url: str, token: str) -> str | None:
    """Up to EXAMPLES generated cases of one operation; the first failure, shrunk, or None."""
    headers = {"Authorization": f"Bearer {token}"}

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        case.call_and_validate(base_url=url, headers=headers, checks=CHECKS, timeout=30)

    try:
        run()
    except (Exception, BaseExceptionGroup) as failure:  # one must not hide the others
        found = getattr(failure, "exceptions", [failure])
        titles = sorted({getattr(f, "title", type(f).__name__) for f in found})
        return f"{operation.label}: {'; '.join(titles)}\n{str(failure)[:600]}"
    return None


def test_every_operation_answers_as_its_document_says(desk: tuple[str, str]) -> None:
    url, token = desk
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20  # the whole API, not an empty document
    failures = [found for op in operations if (found := exercise(op, url, token))]
    assert failures == [], "\n\n".join(failures)

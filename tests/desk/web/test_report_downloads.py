"""The console's report links work with the session cookie: a logged-in person downloads
the reports their role allows, a customer only its own, and nobody without a login."""

from __future__ import annotations

from ..asgi import AsgiClient
from .conftest import Users, login

INSPECTION = "/api/v1/reports/inspection"


def test_a_logged_in_manager_downloads_any_customers_report(
    client: AsgiClient, users: Users
) -> None:
    login(client, users.manager)
    answer = client.get(
        INSPECTION, params={"customer": "Beta Hospital", "period": "2026-02", "format": "json"}
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["customer"] == "Beta Hospital"


def test_a_customer_gets_its_own_report_and_not_another_customers(
    client: AsgiClient, users: Users
) -> None:
    login(client, users.customer)
    own = client.get(
        INSPECTION, params={"customer": "Acme Bank", "period": "2026-02", "format": "json"}
    )
    assert own.status_code == 200, own.text
    assert own.json()["customer"] == "Acme Bank"
    other = client.get(
        INSPECTION, params={"customer": "Beta Hospital", "period": "2026-02", "format": "json"}
    )
    assert other.status_code == 404
    missing = client.get(
        INSPECTION, params={"customer": "No Such Co", "period": "2026-02", "format": "json"}
    )
    # Another customer's report looks exactly like one that does not exist.
    assert missing.status_code == 404
    assert other.json()["message"].replace("Beta Hospital", "X") == missing.json()[
        "message"
    ].replace("No Such Co", "X")


def test_without_a_login_or_a_token_the_report_is_refused(client: AsgiClient) -> None:
    answer = client.get(INSPECTION, params={"customer": "Acme Bank", "format": "json"})
    assert answer.status_code == 401

"""The report endpoints through the whole app (create_app, real builders and renderers):
who may fetch which report, the error answers, the file headers, and that the heavy
work runs off the event loop."""

from __future__ import annotations

import asyncio
import inspect
import json
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from desk.api import create_app
from desk.api_reports import content_disposition, report_router
from desk.model import Role
from desk.reports.maker import ReportKit
from desk.storage import Store
from desk.tokens import issue_token
from rules.api import Engine
from weibao.clock import FrozenClock
from weibao.inventory.model import Inventory

from .asgi import AsgiClient

FEB_10 = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
MAR_2 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)


@dataclass
class Api:
    client: AsgiClient
    clock: FrozenClock
    tokens: dict[str, str]

    def get(self, path: str, token: str | None = "manager", **params: str) -> httpx.Response:
        headers = {} if token is None else {"Authorization": f"Bearer {self.tokens[token]}"}
        answer = self.client.get(path, params=params, headers=headers)
        for secret in self.tokens.values():
            assert secret.encode() not in answer.content, "a token came back"
        return answer

    def push_down(self, device: str) -> None:
        body = {
            "device": device,
            "source": "agent",
            "time": self.clock.now().isoformat(),
            "samples": [{"name": "up", "value": 0}],
        }
        answer = self.get_post("/api/v1/observations", body)
        assert answer.json()["tickets_opened"], answer.text

    def get_post(self, path: str, body: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.tokens['agent']}"}
        answer = self.client.post(path, json=body, headers=headers)
        assert answer.status_code == 200, answer.text
        return answer


@pytest.fixture
def api(store: Store, inventory: Inventory, engine: Engine) -> Iterator[Api]:
    clock = FrozenClock(FEB_10)
    holders = {
        "agent": (Role.agent, None),
        "engineer": (Role.engineer, None),
        "manager": (Role.manager, None),
        "acme": (Role.customer, "Acme Bank"),
        "beta": (Role.customer, "Beta Hospital"),
    }
    tokens = {
        key: issue_token(store, role, customer, None, clock.now()).token
        for key, (role, customer) in holders.items()
    }
    with AsgiClient(create_app(store, inventory, engine, clock)) as client:
        api = Api(client, clock, tokens)
        api.push_down("acme-db")
        api.push_down("beta-his")  # Beta's data, which no Acme report may show
        clock.set(MAR_2)
        yield api


def test_staff_get_any_customers_inspection_report_of_the_last_month(api: Api) -> None:
    answer = api.get("/api/v1/reports/inspection", customer="Acme Bank", format="json")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "application/json"
    assert answer.headers["cache-control"] == "private, no-store"
    report = answer.json()
    assert (report["kind"], report["customer"], report["period"]["label"]) == (
        "inspection",
        "Acme Bank",
        "2026-02",
    )
    assert [f["device"] for f in report["findings"]] == ["acme-db"]
    engineer = api.get(
        "/api/v1/reports/inspection", "engineer", customer="Beta Hospital", format="json"
    )
    assert engineer.json()["customer"] == "Beta Hospital"


def test_each_format_comes_with_its_type_and_file_name(api: Api) -> None:
    expected = {
        "html": ("text/html; charset=utf-8", "inline", b"<!DOCTYPE html"),
        "pdf": ("application/pdf", "attachment", b"%PDF-"),
        "xlsx": (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "attachment",
            b"PK",
        ),
    }
    for fmt, (media, disposition, magic) in expected.items():
        answer = api.get(
            "/api/v1/reports/inspection", customer="Acme Bank", period="2026-02", format=fmt
        )
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"] == media
        name = answer.headers["content-disposition"]
        assert name.startswith(f'{disposition}; filename="XJ-') and name.endswith(f'.{fmt}"')
        assert answer.content[:20].lstrip().upper().startswith(magic.upper()), fmt


def test_a_customer_token_gets_its_own_reports_only(api: Api) -> None:
    own = api.get("/api/v1/reports/inspection", "acme", format="json")
    assert own.status_code == 200 and own.json()["customer"] == "Acme Bank"
    assert api.get("/api/v1/reports/inspection", "acme", customer="Acme Bank").status_code == 200

    other = api.get("/api/v1/reports/inspection", "acme", customer="Beta Hospital")
    missing = api.get("/api/v1/reports/inspection", "acme", customer="Gamma Steel")
    assert other.status_code == missing.status_code == 404
    # Word for word the same answer: whether Beta is a customer is not revealed.
    assert other.json()["message"].replace("Beta Hospital", "X") == missing.json()[
        "message"
    ].replace("Gamma Steel", "X")
    assert "Beta" not in missing.text and "did you mean" not in other.text

    contract = api.get("/api/v1/reports/inspection", "acme", contract="BETA-2026")
    assert contract.status_code == 404 and "Beta Hospital" not in contract.text


def test_a_customers_quarterly_statistics_hold_no_other_customers_data(api: Api) -> None:
    answer = api.get("/api/v1/reports/quarterly", "acme", period="2026-Q1", format="json")
    assert answer.status_code == 200, answer.text
    report = answer.json()
    assert report["customer"] == "Acme Bank" and report["totals"]["tickets"] == 1
    for word in ("Beta", "beta-his", "BETA-2026"):
        assert word not in answer.text
    company = api.get("/api/v1/reports/quarterly", period="2026-Q1", format="json").json()
    assert company["totals"]["tickets"] == 2  # the same period, staff: both customers
    refused = api.get("/api/v1/reports/quarterly", "acme", customer="Beta Hospital")
    assert refused.status_code == 404


def test_unknown_names_are_404_with_the_closest_name_for_staff(api: Api) -> None:
    answer = api.get("/api/v1/reports/inspection", customer="Acme Bnak")
    assert answer.status_code == 404
    assert answer.json() == {
        "error": "not_found",
        "message": "no customer 'Acme Bnak' in the inventory: did you mean 'Acme Bank'?",
    }
    contract = api.get("/api/v1/reports/inspection", customer="Acme Bank", contract="ACME-2025")
    assert contract.status_code == 404 and "did you mean 'ACME-2026'" in contract.text


@pytest.mark.parametrize(
    ("params", "where", "says"),
    [
        ({"period": "November"}, "query.period", "YYYY-MM (a month), YYYY-Qn (a quarter)"),
        ({"period": "2026-13"}, "query.period", "month 13 does not exist"),
        ({"format": "docx"}, "query.format", "format 'docx' is not one of html, pdf, xlsx, json"),
        ({"lang": "fr"}, "query.lang", "lang 'fr' is not one of zh, en"),
        ({"from": "2026-02-01"}, "query.to", "from and to go together"),
        ({"from": "2026-02-01", "to": "soon"}, "query.to", "to is not a date: write YYYY-MM-DD"),
        (
            {"from": "2026-02-01", "to": "2026-02-09", "period": "2026-02"},
            "query.period",
            "not both",
        ),
        ({"customer": ""}, "query.customer", "an inspection report is of one customer"),
    ],
)
def test_input_it_cannot_use_is_422_with_what_it_accepts(
    api: Api, params: dict[str, str], where: str, says: str
) -> None:
    query = {"customer": "Acme Bank", **params}
    if query["customer"] == "":
        del query["customer"]
    answer = api.get("/api/v1/reports/inspection", **query)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert body["error"] == "invalid_request"
    assert body["problems"][0]["where"] == where and says in body["problems"][0]["message"]


def test_a_range_of_days_is_a_period(api: Api) -> None:
    answer = api.get(
        "/api/v1/reports/inspection",
        customer="Acme Bank",
        format="json",
        **{"from": "2026-02-01", "to": "2026-02-15"},
    )
    assert answer.status_code == 200, answer.text
    period = answer.json()["period"]
    assert (period["start"], period["end"]) == ("2026-02-01", "2026-02-15")


def test_tokens_and_roles_are_checked(api: Api) -> None:
    assert api.get("/api/v1/reports/inspection", None, customer="Acme Bank").status_code == 401
    agent = api.get("/api/v1/reports/quarterly", "agent")
    assert agent.status_code == 403 and "may not" in agent.json()["message"]


def test_the_report_is_built_in_a_worker_thread_not_on_the_event_loop(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = ReportKit.standard()
    loops: list[bool] = []

    def render(report: Any, fmt: Any) -> Any:
        try:
            asyncio.get_running_loop()
            loops.append(True)
        except RuntimeError:
            loops.append(False)
        return real.render(report, fmt)

    # The app's report maker loads its kit at the first report: this one is the first.
    monkeypatch.setattr(
        ReportKit, "standard", classmethod(lambda cls: replace(real, render=render))
    )
    answer = api.get("/api/v1/reports/quarterly", period="2026-Q1", format="json")
    assert answer.status_code == 200 and loops == [False]
    router = report_router(Store.__new__(Store), Inventory(), api.clock, None)
    for route in router.routes:
        assert not inspect.iscoroutinefunction(route.endpoint)  # type: ignore[attr-defined]


def test_the_openapi_document_describes_the_report_endpoints(api: Api) -> None:
    schema = api.client.get("/openapi.json").json()
    inspection = schema["paths"]["/api/v1/reports/inspection"]["get"]
    assert "巡检报告" in inspection["summary"]
    assert set(inspection["responses"]["200"]["content"]) >= {
        "application/pdf",
        "text/html",
        "application/json",
    }
    params = {p["name"]: p for p in inspection["parameters"]}
    assert {"customer", "contract", "period", "from", "to", "format", "lang"} <= set(params)
    assert "YYYY-Qn" in params["period"]["description"]
    assert "/api/v1/reports/quarterly" in schema["paths"]


def test_content_disposition_keeps_a_chinese_name_and_an_ascii_fallback() -> None:
    assert content_disposition("XJ-ACME-202611.pdf") == 'attachment; filename="XJ-ACME-202611.pdf"'
    header = content_disposition('巡检报告 "恒通"/2026-11.pdf', "inline")
    assert header.startswith("inline; filename=\"2026-11.pdf\"; filename*=UTF-8''")
    assert "%E5%B7%A1%E6%A3%80" in header and "/" not in header.split("''")[1]
    assert content_disposition("报告.pdf") == (
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''%E6%8A%A5%E5%91%8A.pdf"
    )


def test_a_report_shows_what_was_pushed_a_moment_ago(api: Api) -> None:
    api.clock.set(FEB_10 + timedelta(days=1))
    body = {
        "device": "acme-core",
        "source": "agent",
        "time": api.clock.now().isoformat(),
        "samples": [{"name": "up", "value": 1}, {"name": "cpu_usage_ratio", "value": 0.5}],
    }
    api.get_post("/api/v1/observations", body)
    api.clock.advance(timedelta(minutes=1))
    report = api.get(
        "/api/v1/reports/inspection", customer="Acme Bank", period="2026-02", format="json"
    ).json()
    core = next(d for d in report["devices"] if d["name"] == "acme-core")
    assert core["verdict"] != "unknown" and core["figures"]["inspections"] >= 1
    assert json.dumps(report).count("acme-branch-fw") >= 1

"""The ``reports:`` section: the delivery channel and the cover's logo are checked at
load with the line that names them, and a relative logo is found wherever the desk runs."""

from __future__ import annotations

from pathlib import Path

from weibao.inventory.loader import check_inventory

from .test_inventory_loader import DEVICE, HEAD, _write

CHANNELS = """\
notifications:
  smtp: {host: 127.0.0.1, port: 2525, sender: weibao@example.com}
  channels:
    - {name: duty-mail, type: email}
    - {name: duty-hook, type: webhook, url: env:WEIBAO_TEST_HOOK}
"""


def _inventory(tmp_path: Path, reports: str) -> Path:
    return _write(tmp_path, HEAD + DEVICE + CHANNELS + reports)


def _errors(path: Path) -> list[tuple[int | None, str, str]]:
    _, problems = check_inventory(path, environ={"WEIBAO_TEST_HOOK": "http://127.0.0.1:9/x"})
    return [(p.line, p.path, p.message) for p in problems if p.severity == "error"]


def test_a_delivery_channel_that_does_not_exist_is_an_error_at_its_line(tmp_path: Path) -> None:
    path = _inventory(tmp_path, "reports:\n  delivery: {channel: duty-mial}\n")
    [(line, where, message)] = _errors(path)
    assert line == 19
    assert where == "reports.delivery.channel"
    assert "duty-mial" in message


def test_reports_are_delivered_only_through_an_email_channel(tmp_path: Path) -> None:
    path = _inventory(tmp_path, "reports:\n  delivery:\n    channel: duty-hook\n")
    [(line, _, message)] = _errors(path)
    assert line == 20
    assert "webhook" in message


def test_a_missing_logo_is_an_error_and_a_relative_one_becomes_absolute(tmp_path: Path) -> None:
    missing = _inventory(tmp_path, "reports:\n  company: {name: 维保服务, logo: logo.svg}\n")
    assert [where for _, where, _ in _errors(missing)] == ["reports.company.logo"]

    (tmp_path / "logo.svg").write_text("<svg xmlns='http://www.w3.org/2000/svg'/>")
    inventory, _ = check_inventory(missing, environ={"WEIBAO_TEST_HOOK": "http://127.0.0.1:9/x"})
    assert inventory is not None
    assert inventory.reports.company.logo == str(tmp_path.resolve() / "logo.svg")


def test_a_good_reports_section_loads(tmp_path: Path) -> None:
    path = _inventory(tmp_path, "reports:\n  delivery: {channel: duty-mail}\n")
    assert _errors(path) == []

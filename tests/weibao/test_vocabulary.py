"""docs/observations.md and weibao/vocabulary.py describe the same names."""

import re
from pathlib import Path

from weibao.vocabulary import VOCABULARY

DOC = Path(__file__).resolve().parents[2] / "docs" / "observations.md"


def documented_names() -> dict[str, str]:
    """Rows of the vocabulary table: name -> labels cell."""
    text = DOC.read_text(encoding="utf-8").split("## The vocabulary", 1)[1]
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and re.fullmatch(r"`[a-z0-9_]+`", cells[0]):
            rows[cells[0].strip("`")] = cells[1]
    return rows


def test_every_name_is_documented_with_its_labels() -> None:
    rows = documented_names()
    for spec in VOCABULARY:
        assert spec.name in rows, f"{spec.name} missing from docs/observations.md"
        labels = re.findall(r"`([a-z_]+)`", rows[spec.name])
        assert tuple(labels) == spec.labels, spec.name


def test_docs_list_no_name_the_code_does_not_know() -> None:
    known = {spec.name for spec in VOCABULARY}
    assert set(documented_names()) - known == set()


def test_the_specification_asks_for_these_names() -> None:
    names = {spec.name for spec in VOCABULARY}
    required = {"up", "uptime_seconds", "cpu_usage_ratio", "memory_usage_ratio"}
    assert required | {"filesystem_usage_ratio", "interface_up"} <= names
    by_name = {spec.name: spec for spec in VOCABULARY}
    assert by_name["filesystem_usage_ratio"].labels == ("mountpoint",)
    assert by_name["interface_up"].labels == ("interface",)

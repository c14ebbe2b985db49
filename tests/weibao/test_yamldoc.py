"""The shared YAML reader: lines for every key and item, and problems YAML hides."""

from __future__ import annotations

from weibao.yamldoc import parse_yaml

TEXT = """\
customers:
  - name: Acme
    contracts:
      - id: C-1
        end: 2026-12-31
  - name: Beta
    on: true
"""


def test_lines_and_human_paths_name_items() -> None:
    doc, problems = parse_yaml(TEXT, "inv.yaml", docs_hint="see docs")
    assert doc is not None
    loc = ("customers", 0, "contracts", 0, "end")
    assert doc.line(loc) == 5
    assert doc.human(loc) == "customers[Acme].contracts[C-1].end"
    assert doc.line(("customers", 0, "contracts", 0, "missing")) == 4  # nearest ancestor
    [problem] = problems
    assert (problem.line, problem.path) == (7, "customers[Beta]")
    assert "reads the key 'on' as true" in problem.message
    assert doc.data["customers"][1]["on"] is True


def test_duplicate_keys_and_syntax_errors_are_located() -> None:
    _, problems = parse_yaml("a: 1\nb: 2\na: 3\n", "x.yaml")
    assert [(p.line, p.path) for p in problems] == [(3, "a")]
    assert "also at line 1" in problems[0].message
    doc, problems = parse_yaml("a: [1, 2\nb: 3\n", "x.yaml")
    assert doc is None and problems[0].line == 2  # where YAML noticed the missing "]"
    assert problems[0].message.startswith("YAML syntax error")


def test_a_documents_own_hint_fills_in_where_none_is_given() -> None:
    doc, _ = parse_yaml("a: 1\n", "x.yaml", docs_hint="see docs/rules.md")
    assert doc is not None
    assert doc.problem(("a",), "bad").hint == "see docs/rules.md"
    assert doc.problem(("a",), "bad", "do this").hint == "do this"

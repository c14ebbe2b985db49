"""docs/rules.md stays true: its examples work and its table lists every pack rule."""

from __future__ import annotations

import re
from pathlib import Path

from rules import load_engine
from rules.testrun import RuleTester
from tests.rules.conftest import write_rules

DOC = Path(__file__).resolve().parents[2] / "docs" / "rules.md"


def yaml_blocks() -> list[str]:
    return re.findall(r"```yaml\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)


def test_the_rule_example_loads(tmp_path: Path) -> None:
    [example] = [b for b in yaml_blocks() if b.startswith("rules:\n  - id:")]
    engine = load_engine(write_rules(tmp_path / "r", {"a.yaml": example}))
    assert [r.id for r in engine.rules] == ["filesystem_full"]


def test_the_test_file_example_passes(tmp_path: Path) -> None:
    [example] = [b for b in yaml_blocks() if b.startswith("rules: ..")]
    path = tmp_path / "t.yaml"
    path.write_text(example.split("\n", 1)[1], encoding="utf-8")  # test the default pack
    result = RuleTester().run_file(path)
    assert result.problems == [] and result.ok, [c.failures for c in result.cases]


def test_the_pack_table_lists_every_rule() -> None:
    text = DOC.read_text(encoding="utf-8").split("## The default pack", 1)[1]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.M))
    assert documented == {rule.id for rule in load_engine().rules}

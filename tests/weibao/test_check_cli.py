"""``weibao check``: the report, the summary line, the exit status, and no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import rules
from weibao.cli.main import app
from weibao.errors import ConfigError, Problem
from weibao.inventory.model import Inventory

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
REPO = Path(__file__).parents[2]


def _check(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["check", *args])
    return result.exit_code, result.output


def test_broken_inventory_reports_every_problem_and_exits_2() -> None:
    path = FIXTURES / "many_problems.yaml"
    code, out = _check("-i", str(path))
    assert code == 2
    assert "Traceback" not in out
    lines = out.splitlines()
    located = [line.split(": ", 1)[0] for line in lines if not line.startswith(" ")]
    assert located == [f"{path}:{n}" for n in (7, 10, 16, 17, 19, 20, 27)] + [str(path)]
    assert f"{path}:16: customers[Acme].contracts[C-2026-001].sites[HQ]" in out
    assert "    hint: did you mean 'address'?" in out
    assert lines[-1] == f"{path}: 7 errors"
    assert "hunter2" not in out


def test_yaml_syntax_error_exits_2_with_the_line() -> None:
    path = FIXTURES / "syntax_error.yaml"
    code, out = _check("-i", str(path))
    assert code == 2
    assert out.startswith(f"{path}:5: YAML syntax error:")
    assert "Traceback" not in out


def test_valid_inventory_prints_a_summary_and_exits_0() -> None:
    path = FIXTURES / "valid.yaml"
    code, out = _check("-i", str(path))
    assert code == 0
    assert out.splitlines()[-1].startswith(f"{path}: 4 devices, 1 customer, 1 contract: OK")


def test_warnings_alone_do_not_fail(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TEST_WEIBAO_AUTH", raising=False)
    path = FIXTURES / "valid.yaml"
    code, out = _check("-i", str(path))
    assert code == 0
    assert f"{path}:32: " in out
    assert "warning: secret env:TEST_WEIBAO_AUTH cannot be read" in out
    assert out.splitlines()[-1].endswith("warnings")


def test_repo_inventory_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(REPO)
    code, out = _check()  # -i defaults to inventory.yaml
    assert code == 0, out
    summary = out.splitlines()[-1]
    assert summary.startswith("inventory.yaml: 14 devices, 2 customers, 2 contracts: OK")


def test_missing_file_exits_2(tmp_path: Path) -> None:
    code, out = _check("-i", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert out.splitlines()[0] == f"{tmp_path}/nope.yaml: file not found"


def test_rules_problems_are_printed_the_same_way(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(path: Path) -> None:
        problem = Problem(str(path / "cpu.yaml"), 3, "rules[cpu].level", "unknown level 'V'", "x")
        raise ConfigError([problem])

    monkeypatch.setattr(rules, "load_engine", broken)
    code, out = _check("-i", str(FIXTURES / "valid.yaml"), "-r", str(FIXTURES))
    assert code == 2
    assert f"{FIXTURES}/cpu.yaml:3: rules[cpu].level: unknown level 'V'\n    hint: x" in out
    assert out.splitlines()[-1] == f"{FIXTURES}: 1 error"


def test_rules_get_the_inventory_when_the_engine_accepts_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    seen: dict[str, Any] = {}

    def engine(path: Path, inventory: Inventory | None = None) -> None:
        seen["path"], seen["inventory"] = path, inventory

    monkeypatch.setattr(rules, "load_engine", engine)
    code, out = _check("-i", str(FIXTURES / "valid.yaml"), "-r", str(FIXTURES))
    assert code == 0, out
    assert seen["path"] == FIXTURES
    assert isinstance(seen["inventory"], Inventory)
    assert out.splitlines()[-1] == f"{FIXTURES}: OK"


def test_a_crashing_rule_loader_is_reported_not_a_traceback(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def crash(path: Path) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(rules, "load_engine", crash)
    code, out = _check("-i", str(FIXTURES / "valid.yaml"), "-r", str(FIXTURES))
    assert code == 2
    assert "the rules could not be loaded: RuntimeError: boom" in out
    assert "Traceback" not in out


def test_missing_rules_directory(tmp_path: Path) -> None:
    code, out = _check("-i", str(FIXTURES / "valid.yaml"), "-r", str(tmp_path / "none"))
    assert code == 2
    assert f"{tmp_path}/none: rules directory not found" in out


def test_real_process_exits_2_without_traceback(tmp_path: Path) -> None:
    broken = tmp_path / "inventory.yaml"
    broken.write_text("customers:\n  - name: Acme\n    contracts: [\n", encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("WEIBAO_")}
    proc = subprocess.run(
        [sys.executable, "-m", "weibao.cli.main", "check"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stdout + proc.stderr
    assert proc.stdout.startswith("inventory.yaml:3: YAML syntax error")


@pytest.mark.parametrize("rules_dir", ["rules", "rules/", "rules/pack"])
def test_repo_inventory_and_rules_pass_as_the_readme_says(
    monkeypatch: pytest.MonkeyPatch, rules_dir: str
) -> None:
    monkeypatch.chdir(REPO)
    code, out = _check("-i", "inventory.yaml", "-r", rules_dir)
    assert code == 0, out
    assert "error" not in out.lower()
    assert out.splitlines()[-1].endswith("OK")

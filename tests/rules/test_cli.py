"""``weibao rules test`` and ``weibao rules list``: output and exit codes."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from rules import DEFAULT_PACK
from weibao.cli.main import app

RUNNER = CliRunner()

PASSING = """\
devices:
  - {name: srv1, kind: server}
tests:
  - name: full disk
    series:
      - {device: srv1, sample: 'filesystem_usage_ratio{mountpoint="/"}', values: "0.99x6"}
    expect:
      - at: 5m
        firing: [{rule: filesystem_full, device: srv1, level: II, labels: {mountpoint: /}}]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_passing_tests_exit_0(tmp_path: Path) -> None:
    result = RUNNER.invoke(app, ["rules", "test", "-v", str(write(tmp_path, PASSING))])
    assert result.exit_code == 0, result.output
    assert "ok" in result.stdout and "1 passed, 0 failed" in result.stderr


def test_a_failing_test_exits_1_and_says_what_differs(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("level: II", "level: III"))
    result = RUNNER.invoke(app, ["rules", "test", str(path)])
    assert result.exit_code == 1
    assert "FAIL" in result.stdout
    assert "at 5m (2026-01-05T00:05:00+00:00): missing firing:" in result.stdout
    assert "filesystem_full on srv1 level III {mountpoint=/}" in result.stdout
    assert "unexpected firing: filesystem_full on srv1 level II" in result.stdout


def test_an_invalid_file_exits_2_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("firing:", "fireing:"))
    result = RUNNER.invoke(app, ["rules", "test", str(path)])
    assert result.exit_code == 2
    assert "INVALID" in result.stderr
    assert f"{path}:9:" in result.stderr and "did you mean 'firing'" in result.stderr


def test_an_unknown_rule_in_an_expectation_is_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace("rule: filesystem_full", "rule: disk_full"))
    result = RUNNER.invoke(app, ["rules", "test", str(path)])
    assert result.exit_code == 2
    assert "no rule 'disk_full'" in result.stderr


def test_bad_values_are_invalid(tmp_path: Path) -> None:
    path = write(tmp_path, PASSING.replace('"0.99x6"', '"0.99 lots"'))
    result = RUNNER.invoke(app, ["rules", "test", str(path)])
    assert result.exit_code == 2
    assert "'lots' is not a value" in result.stderr


def test_a_directory_runs_every_file_in_it() -> None:
    result = RUNNER.invoke(app, ["rules", "test", str(DEFAULT_PACK / "tests")])
    assert result.exit_code == 0, result.output
    assert " 0 failed" in result.stderr


def test_list_shows_every_rule_with_its_levels() -> None:
    result = RUNNER.invoke(app, ["rules", "list"])
    assert result.exit_code == 0
    assert "filesystem_full" in result.stdout
    line = next(ln for ln in result.stdout.splitlines() if ln.startswith("device_unreachable"))
    assert "I/II/III" in line


def test_list_of_a_broken_directory_exits_2(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text("rules:\n  - id: x\n", encoding="utf-8")
    result = RUNNER.invoke(app, ["rules", "list", "-r", str(tmp_path)])
    assert result.exit_code == 2
    assert "bad.yaml:2" in result.stderr

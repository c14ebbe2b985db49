"""The agent's command line, both entry points: options refused with a sentence and a
status, and one real ``--once --json`` (the only test here that reads this machine: it
checks the wiring of the command, not values)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import main
from weibao.cli.main import app


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--desk", "http://desk.test"], "--desk and --token-file go together"),
        (["--listen", "off"], "nothing to do"),
        (["--listen", "desk.example:80"], "is not an address and port"),
        (["--once"], "nothing to do"),
    ],
)
def test_bad_options_exit_2_with_a_sentence(
    args: list[str], words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(args) == 2
    assert words in capsys.readouterr().err


def test_values_out_of_range_are_refused_by_the_parser(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--interval", "1"])
    assert exit_.value.code == 2
    assert "--interval: must be at least 5" in capsys.readouterr().err


def test_an_unreadable_token_file_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "--desk",
            "http://127.0.0.1:9",
            "--token-file",
            str(tmp_path / "missing"),
            "--state-dir",
            str(tmp_path),
            "--listen",
            "off",
            "--once",
        ]
    )
    assert code == 2
    assert "cannot read the token file" in capsys.readouterr().err


def test_weibao_agent_hands_its_options_to_the_same_parser() -> None:
    result = CliRunner().invoke(app, ["agent", "--help"])
    assert result.exit_code == 0
    assert "usage: weibao agent" in result.output and "--token-file FILE" in result.output
    result = CliRunner().invoke(app, ["agent", "--listen", "off"])
    assert result.exit_code == 2 and "nothing to do" in result.output


def test_once_json_prints_one_full_inspection_with_identity() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-m", "agent", "--once", "--json", "--device", "hq-db-01"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    observation = json.loads(done.stdout)
    assert observation["device"] == "hq-db-01" and observation["source"] == "agent"
    assert observation["meta"]["inspection"] == "full"
    assert observation["meta"]["hostname"]
    assert {"up", "uptime_seconds"} <= {s["name"] for s in observation["samples"]}

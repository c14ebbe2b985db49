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
        (["--listen", "off", "--desk", "http://desk.test"], "go together"),
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
    # The full inspection carries the asset facts, as text.
    assert observation["meta"]["kernel"].startswith("Linux ")
    assert int(observation["meta"]["cpu_count"]) >= 1
    assert int(observation["meta"]["memory_bytes"]) > 0
    assert {"up", "uptime_seconds"} <= {s["name"] for s in observation["samples"]}


def test_once_without_a_desk_prints_a_readable_summary() -> None:
    done = subprocess.run(
        [sys.executable, "-I", "-m", "agent", "--once", "--device", "hq-db-01"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("hq-db-01: full inspection at ")
    assert any(line.split()[:1] == ["system"] and "CPUs" in line for line in lines)
    assert lines[-1].endswith("samples; --json prints them all")
    assert not done.stdout.lstrip().startswith("{")


def test_summary_of_an_inspection() -> None:
    from agent.summary import format_summary

    def s(name: str, value: float, **labels: str) -> dict[str, object]:
        return {"name": name, "labels": labels, "value": value}

    text = format_summary(
        {
            "device": "hq-db-01",
            "time": "2026-11-21T08:00:00Z",
            "samples": [
                s("uptime_seconds", 3 * 86400 + 7200),
                s("cpu_usage_ratio", 0.25),
                s("load1", 1.5),
                s("memory_usage_ratio", 0.5),
                s("filesystem_usage_ratio", 0.93, mountpoint="/var"),
                s("filesystem_readonly", 1, mountpoint="/var"),
                s("interface_up", 1, interface="eth0"),
                s("interface_up", 0, interface="eth1"),
                s("interface_admin_up", 1, interface="eth1"),
                s("interface_up", 0, interface="eth2"),
                s("interface_admin_up", 0, interface="eth2"),
                s("raid_degraded", 1, array="md1"),
            ],
            "meta": {
                "inspection": "full",
                "hostname": "hq-db-01",
                "os_name": "Debian GNU/Linux 12 (bookworm)",
                "kernel": "Linux 6.1.0-18-amd64",
                "arch": "x86_64",
                "cpu_count": "16",
                "memory_bytes": str(64 * 1024**3),
                "unknown.disk_smart_ok[sda]": "Permission denied",
            },
        }
    )
    assert text.splitlines() == [
        "hq-db-01: full inspection at 2026-11-21T08:00:00Z",
        "  system       Debian GNU/Linux 12 (bookworm), Linux 6.1.0-18-amd64, x86_64, 16 CPUs, "
        "64.0 GiB memory",
        "  identity     hostname hq-db-01",
        "  up           3 d 2 h",
        "  cpu          25% busy, load 1.5",
        "  memory       50% used",
        "  filesystems  /var 93% read-only",
        "  interfaces   1 up, down: eth1",
        "  raid         degraded: md1",
        "  not read     1:",
        "    disk_smart_ok[sda]: Permission denied",
        "  12 samples; --json prints them all",
    ]


def test_asset_facts_from_a_fixture_root(tmp_path: Path) -> None:
    import os

    from agent.facts import read_facts

    etc = tmp_path / "etc"
    etc.mkdir()
    (etc / "os-release").write_text('NAME="CentOS Linux"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n')
    uname = os.uname_result(("Linux", "db", "3.10.0-1160.el7.x86_64", "#1 SMP", "x86_64"))
    facts = read_facts(lambda: 8, lambda: 256 * 1024**3, etc, lambda: uname)
    assert facts == {
        "os_name": "CentOS Linux 7 (Core)",
        "kernel": "Linux 3.10.0-1160.el7.x86_64",
        "arch": "x86_64",
        "cpu_count": "8",
        "memory_bytes": str(256 * 1024**3),
    }
    (etc / "os-release").unlink()
    assert "os_name" not in read_facts(lambda: 8, lambda: 1, etc, lambda: uname)

"""`make agent`'s artefact: one file that runs the agent with only the agent's own code.

Built with ``--offline`` (the wheels of this virtual environment, no network) and run by a
Python started in isolated mode from an empty folder, so nothing of this checkout or its
virtual environment can stand in for what the file lacks.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import build_agent  # noqa: E402

pytestmark = pytest.mark.integration

DESK_ONLY = ("fastapi", "sqlalchemy", "alembic", "pysnmp", "paramiko", "uvicorn", "psycopg",
             "weasyprint", "matplotlib", "openpyxl", "typer", "jinja2")  # fmt: skip


@pytest.fixture(scope="module")
def artefact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    output = tmp_path_factory.mktemp("dist") / "weibao-agent.pex"
    return build_agent.build(output, offline=True)


def run(artefact: Path, tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    empty = tmp_path / "cwd"
    empty.mkdir(exist_ok=True)
    env = {"PATH": os.environ["PATH"], "PEX_ROOT": str(tmp_path / "pex-root")}
    return subprocess.run(
        [sys.executable, "-I", str(artefact), *args],
        cwd=empty,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_it_holds_the_agent_its_core_modules_and_its_dependencies_only(artefact: Path) -> None:
    names = zipfile.ZipFile(artefact).namelist()
    top = {name.split("/")[0] for name in names}
    assert top == {"agent", "weibao", "__pex__", "__main__.py", "PEX-INFO", ".bootstrap", ".deps"}
    core = {name for name in names if name.startswith("weibao/") and name.endswith(".py")}
    assert "weibao/logs.py" in core
    # Observation (pydantic) is named for mypy only: the agent writes plain dicts.
    assert "weibao/observation.py" not in core
    assert not any(name.startswith(("weibao/cli/", "weibao/inventory/")) for name in core)
    wheels = {
        name.split("/")[1].split("-")[0].lower() for name in names if name.startswith(".deps/")
    }
    assert {"psutil", "httpx", "prometheus_client"} <= wheels
    assert wheels.isdisjoint((*DESK_ONLY, "pydantic", "pydantic_core"))
    info = json.loads(zipfile.ZipFile(artefact).read("PEX-INFO"))
    assert info["entry_point"] == "agent" and info["venv"] is True


def test_it_inspects_this_server_from_an_empty_folder(artefact: Path, tmp_path: Path) -> None:
    done = run(artefact, tmp_path, "--once", "--json")
    assert done.returncode == 0, done.stderr
    observation = json.loads(done.stdout)
    assert observation["source"] == "agent" and observation["ok"] is True
    samples = {sample["name"]: sample["value"] for sample in observation["samples"]}
    assert samples["up"] == 1.0
    assert 0.0 <= samples["memory_usage_ratio"] <= 1.0


def test_it_says_when_the_desk_cannot_be_reached(artefact: Path, tmp_path: Path) -> None:
    with socket.socket() as closed:  # a loopback port that nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    token = tmp_path / "token"
    token.write_text("wb_test_token\n")
    done = run(
        artefact, tmp_path, "--once", "--desk", f"http://127.0.0.1:{port}",
        "--token-file", str(token), "--state-dir", str(tmp_path / "state"), "--listen", "off",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "wb_test_token" not in done.stdout + done.stderr


def test_the_weibao_modules_it_packs_are_what_the_agent_imports() -> None:
    names = {
        ".".join(p.relative_to(ROOT).with_suffix("").parts) for p in build_agent.core_modules()
    }
    assert {"weibao.__init__", "weibao.errors", "weibao.clock", "weibao.logs"} <= names
    assert "weibao.observation" not in names  # imported for type checking only
    assert not any(name.startswith(("weibao.cli", "weibao.inventory")) for name in names)

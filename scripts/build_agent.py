"""Build the agent as one file ops copy to a customer's server: ``dist/weibao-agent-V.pex``.

    .venv/bin/python scripts/build_agent.py [--offline] [--output PATH]

The file holds the ``agent`` package, the few ``weibao`` core modules it imports (found
by reading the imports, so a new import is picked up) and its own dependencies (the
``agent`` extra of pyproject.toml): no desk, collector, rules or lab code, no FastAPI,
SQLAlchemy, pysnmp or paramiko. Nothing is installed in the server's site-packages, so
the repository's generic package names (``agent``, ``weibao``) meet no other
distribution's. It is a PEX (pantsbuild's well-kept tool) in venv mode: on its first
start it unpacks itself into a private virtual environment under ``PEX_ROOT`` and from
then on starts like any venv, with the memory of one (``bench/agent``).

By default the file carries the wheels for CPython 3.11 to 3.13 on x86_64 and aarch64
Linux (glibc), downloaded from PyPI; ``--offline`` takes them from this virtual
environment instead (this machine's platform and Python only, no network: the tests).
"""

from __future__ import annotations

import argparse
import ast
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from imports import imported_names  # noqa: E402 - scripts/ is not a package

PLATFORMS = [
    f"manylinux2014_{machine}-cp-{version}-cp{version}"
    for machine in ("x86_64", "aarch64")
    for version in ("311", "312", "313")
]
SHEBANG = "/usr/bin/env python3"


def agent_requirements() -> list[str]:
    """The ``agent`` extra: the agent's dependencies, declared once, in pyproject.toml."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    requirements: list[str] = project["optional-dependencies"]["agent"]
    return requirements


def core_modules() -> list[Path]:
    """The files of ``weibao`` that the agent imports, directly or through each other."""
    todo = [path for path in sorted((ROOT / "agent").glob("*.py"))]
    seen: set[Path] = set()
    core: set[Path] = {ROOT / "weibao" / "__init__.py"}
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        # What it imports when it runs: the agent names pydantic's Observation only for
        # mypy (under TYPE_CHECKING), and must not carry pydantic.
        for name in imported_names(path, runtime_only=True):
            if not name.startswith("weibao."):
                continue
            parts = name.split(".")
            module = ROOT.joinpath(*parts).with_suffix(".py")
            package = ROOT.joinpath(*parts, "__init__.py")
            for found in (module, package):
                if found.exists() and found not in core:
                    core.add(found)
                    todo.append(found)
    return sorted(core)


def stage(into: Path) -> list[str]:
    """Copy the agent and its core modules into ``into``; return their module names."""
    shutil.copytree(ROOT / "agent", into / "agent", ignore=shutil.ignore_patterns("__pycache__"))
    names = []
    for path in core_modules():
        relative = path.relative_to(ROOT)
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, into / relative)
        names.append(".".join(relative.with_suffix("").parts))
    return names


def version() -> str:
    text = (ROOT / "weibao" / "__init__.py").read_text()
    for node in ast.parse(text).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
            return str(ast.literal_eval(node.value))
    raise SystemExit("weibao/__init__.py defines no __version__")


def build(output: Path, offline: bool) -> Path:
    pex = Path(sys.executable).with_name("pex")
    if not pex.exists():
        raise SystemExit(f"{pex} is missing: run scripts/bootstrap.sh (it installs pex)")
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="weibao-agent-") as tmp:
        sources = Path(tmp) / "src"
        stage(sources)
        argv = [
            str(pex),
            "--sources-directory", str(sources),
            *agent_requirements(),
            "--entry-point", "agent",
            "--venv",
            "--python-shebang", SHEBANG,
            "--output-file", str(output),
        ]  # fmt: skip
        if offline:
            argv += ["--venv-repository", sys.prefix]
        else:
            for platform in PLATFORMS:
                argv += ["--platform", platform]
        done = subprocess.run(argv, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise SystemExit(f"pex failed ({done.returncode}):\n{done.stderr.strip()}")
    return output


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--offline", action="store_true", help="wheels from this venv only")
    parser.add_argument("--output", type=Path, help="default: dist/weibao-agent-VERSION.pex")
    args = parser.parse_args(argv)
    output = args.output or ROOT / "dist" / f"weibao-agent-{version()}.pex"
    build(output, args.offline)
    size = output.stat().st_size / (1024 * 1024)
    where = "this machine's platform" if args.offline else ", ".join(PLATFORMS)
    print(f"built {output} ({size:.1f} MiB; for {where})")


if __name__ == "__main__":
    main()

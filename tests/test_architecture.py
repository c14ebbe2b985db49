"""Dependencies point one way: agent, collector and rules depend on weibao only; desk on
all; the weibao domain imports no I/O library (only its command wires everything)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = {"weibao", "agent", "collector", "rules", "desk", "lab"}
IO_LIBS = {"psutil", "pysnmp", "paramiko", "httpx", "sqlalchemy", "alembic", "fastapi", "uvicorn"}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


ALLOWED = {
    "agent": {"weibao", "agent"},
    "collector": {"weibao", "collector"},
    "rules": {"weibao", "rules"},
    "lab": {"weibao", "lab"},
}


def test_no_product_package_imports_the_demo_lab() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("weibao", "agent", "collector", "rules", "desk")
        for path in modules(package)
        if "lab" in imported_roots(path)
        and path.relative_to(ROOT).as_posix() != "weibao/cli/lab_cmd.py"
    ]
    assert offenders == []


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_leaf_packages_depend_on_weibao_only(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted((imported_roots(path) & OURS) - ALLOWED[package])
        for path in modules(package)
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_weibao_domain_imports_no_io_and_no_other_package() -> None:
    offenders = {}
    for path in modules("weibao"):
        if "cli" in path.relative_to(ROOT / "weibao").parts:
            continue  # the command is the one place that wires the parts together
        bad = imported_roots(path) & ((OURS - {"weibao"}) | IO_LIBS)
        if bad:
            offenders[str(path.relative_to(ROOT))] = sorted(bad)
    assert offenders == {}


def test_the_check_itself_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text("import desk.api\nfrom rules.api import Engine\nimport os\n")
    assert imported_roots(sample) == {"desk", "rules", "os"}

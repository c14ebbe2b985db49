"""Dependencies point one way, and each package says what it may import.

- ``agent``, ``collector``, ``rules`` and ``lab`` import only ``weibao`` (its domain and
  :mod:`weibao.delivery`), never its command (``weibao.cli``), never each other.
- ``desk`` imports ``weibao``, ``rules`` and ``collector`` (it runs the rules and may run
  the collector in-process), never the agent, the demo lab or the command.
- ``weibao``'s domain (everything but ``weibao.cli`` and ``weibao.delivery``) imports no
  I/O library and no other package of ours: pydantic, PyYAML and croniter only.
- ``weibao.delivery`` (the push client and the disk spool the agent and the collector
  share) adds httpx, nothing else.
- ``weibao.cli``, the ``weibao`` command, is the one place that wires everything; nothing
  imports it but itself.

Imports are read from every module's source, dotted names in full, whether at the top of
the module or inside a function; ``if TYPE_CHECKING:`` imports count too (they are still
a dependency a reader must know of).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
from imports import import_statements, imported_names  # noqa: E402 - scripts/ is no package

OURS = {"weibao", "agent", "collector", "rules", "desk", "lab"}
IO_LIBS = {
    "psutil", "pysnmp", "paramiko", "httpx", "sqlalchemy", "alembic", "fastapi", "uvicorn",
    "psycopg", "weasyprint", "matplotlib", "openpyxl", "jinja2", "argon2", "prometheus_client",
    "socket", "subprocess", "ssl", "asyncio", "urllib.request", "http.client", "http.server",
}  # fmt: skip
"""Libraries and modules that reach the network, a device, a database or the disk."""
DOMAIN_LIBS = {"pydantic", "pydantic_core", "yaml", "croniter", "annotated_types"}


def imports(path: Path) -> set[str]:
    """Every module name the file imports, dotted in full (``from a.b import c`` gives
    ``a.b`` and ``a.b.c``)."""
    return imported_names(path)


def roots(names: set[str]) -> set[str]:
    return {name.split(".")[0] for name in names}


def io_of(names: set[str]) -> set[str]:
    """The I/O libraries among the names (``urllib.parse`` is none, ``urllib.request`` is)."""
    return {lib for lib in IO_LIBS for name in names if name == lib or name.startswith(lib + ".")}


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def where(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def is_command(path: Path) -> bool:
    return where(path).startswith("weibao/cli/")


def is_delivery(path: Path) -> bool:
    return where(path).startswith("weibao/delivery/")


def uses_command(names: set[str]) -> bool:
    return any(name == "weibao.cli" or name.startswith("weibao.cli.") for name in names)


OTHERS = {
    "agent": {"weibao"},
    "collector": {"weibao"},
    "rules": {"weibao"},
    "lab": {"weibao"},
    "desk": {"weibao", "rules", "collector"},
}
"""The packages of ours each package may import besides itself."""


@pytest.mark.parametrize("package", sorted(OTHERS))
def test_each_package_imports_only_what_it_may(package: str) -> None:
    allowed = OTHERS[package] | {package}
    offenders = {}
    for path in modules(package):
        names = imports(path)
        bad = sorted((roots(names) & OURS) - allowed)
        if uses_command(names):
            bad.append("weibao.cli")
        if bad:
            offenders[where(path)] = bad
    assert offenders == {}


def test_weibao_domain_imports_no_io_and_no_other_package() -> None:
    offenders = {}
    for path in modules("weibao"):
        if is_command(path) or is_delivery(path):
            continue
        names = imports(path)
        bad = (roots(names) & (OURS - {"weibao"})) | io_of(names)
        if uses_command(names) or any(n.startswith("weibao.delivery") for n in names):
            bad.add("weibao.cli / weibao.delivery")
        outside = roots(names) - OURS - DOMAIN_LIBS - set(sys.stdlib_module_names)
        if bad or outside:
            offenders[where(path)] = sorted(bad | outside)
    assert offenders == {}


def test_delivery_adds_httpx_and_nothing_else() -> None:
    offenders = {}
    for path in (p for p in modules("weibao") if is_delivery(p)):
        names = imports(path)
        bad = ((roots(names) & (OURS - {"weibao"})) | io_of(names)) - {"httpx", "ssl"}
        if uses_command(names):
            bad.add("weibao.cli")
        if bad:
            offenders[where(path)] = sorted(bad)
    assert modules("weibao/delivery")  # the check looks at something
    assert offenders == {}


def test_nothing_but_the_command_imports_the_command() -> None:
    offenders = [
        where(path)
        for package in sorted(OURS)
        for path in modules(package)
        if not is_command(path) and uses_command(imports(path))
    ]
    assert offenders == []


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` the file imports when it runs (``if TYPE_CHECKING:`` left
    out); ``from pkg import sub`` names the submodule, not the package."""
    found: set[str] = set()
    for module, names in import_statements(path, runtime_only=True):
        subs = {f"{module}.{name}" for name in names} & known
        found.update(subs or {module})
    return found & known


@pytest.mark.parametrize("package", sorted(OURS))
def test_no_module_imports_itself_round_a_cycle(package: str) -> None:
    """A cycle is only ever broken by an import moved into a function: the two modules are
    one, or the shared part belongs in a third."""
    from weibao.inventory.graph import find_cycles

    paths = {module_name(p): p for p in modules(package)}
    graph = {
        name: sorted(runtime_imports(path, set(paths)) - {name}) for name, path in paths.items()
    }
    assert find_cycles(graph) == []


def test_every_package_is_gated_by_mypy_strict() -> None:
    import tomllib

    mypy = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["mypy"]
    assert mypy["strict"] is True
    assert set(mypy["packages"]) == OURS


def test_the_check_itself_sees_imports(tmp_path: Path) -> None:
    sample = tmp_path / "m.py"
    sample.write_text(
        "import desk.api\nfrom rules.api import Engine\nimport os\n"
        "def f():\n    from weibao.cli.main import main\n"
    )
    names = imports(sample)
    assert roots(names) == {"desk", "rules", "os", "weibao"}
    assert uses_command(names)
    assert not uses_command({"weibao.clock", "weibao.client"})


def test_the_http_only_ticket_command_loads_no_database_library() -> None:
    """``weibao ticket`` talks to the desk over HTTP: the clock replay and the steps it
    uses must not pull SQLAlchemy in through ``desk.storage`` (issue 15, item 19)."""
    import subprocess

    probe = (
        "import sys, weibao.cli.main, weibao.cli.ticket_cmd, weibao.cli.ticket_view; "
        "from desk import clocks, steps; "
        "print(sorted(m for m in ('sqlalchemy', 'alembic', 'psycopg') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"

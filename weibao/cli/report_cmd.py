"""The ``weibao report`` commands: fetch the monthly inspection report or the quarterly
statistics from a running desk (``/api/v1/reports/...``) and write it to a file.

The desk builds the report (its numbers include what was pushed a moment ago); this
command only asks and saves. Options, token and exit codes are those of ``weibao ticket``
(:mod:`weibao.cli.deskclient`): 1 the desk refused (no such customer, a bad period), 2 bad
usage caught before sending, 3 no usable token or not allowed, 4 the desk unreachable.
"""

from __future__ import annotations

import os
import re
import tempfile
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote

import typer

from weibao.cli.deskclient import (
    DESK_OPTION,
    TOKEN_FILE_OPTION,
    DeskCallError,
    DeskClient,
    ExitCode,
    handled,
    path_for,
    read_token,
)

if TYPE_CHECKING:
    pass

report_app = typer.Typer(
    name="report",
    help="Fetch inspection reports and quarterly statistics from a running desk.",
    no_args_is_help=True,
)

FORMATS = ("pdf", "html", "xlsx", "json")
LANGUAGES = ("zh", "en")
# Building a quarter's statistics and printing a PDF take a while on a big desk.
REPORT_TIMEOUT = 180.0

CUSTOMER = typer.Option(
    None, "--customer", help="The customer's name (or code) as in the inventory."
)
CONTRACT = typer.Option(None, "--contract", metavar="ID", help="Only this contract.")
FORMAT = typer.Option("pdf", "--format", help=" | ".join(FORMATS))
LANG = typer.Option("zh", "--lang", help="zh (中文) or en.")
OUTPUT = typer.Option(
    None,
    "-o",
    "--output",
    metavar="FILE",
    help="Where to write it (a file or a directory); default: the desk's file name here.",
)


@report_app.command("inspection")
def inspection(
    customer: str | None = CUSTOMER,
    contract: str | None = CONTRACT,
    period: str | None = typer.Option(
        None, "--period", help="2026-11, or a range 2026-11-01..2026-11-15; default: last month."
    ),
    first: str | None = typer.Option(None, "--from", metavar="YYYY-MM-DD", help="First day."),
    last: str | None = typer.Option(None, "--to", metavar="YYYY-MM-DD", help="Last day included."),
    fmt: str = FORMAT,
    lang: str = LANG,
    output: Path | None = OUTPUT,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
) -> None:
    """The monthly inspection report (巡检报告) of one customer."""
    with handled():
        if (first is None) != (last is None):
            raise DeskCallError("--from and --to go together: give both", ExitCode.usage)
        if first is not None and last is not None:
            if period is not None:
                raise DeskCallError("give --period or --from/--to, not both", ExitCode.usage)
            period = f"{first}..{last}"
        params = {"customer": customer, "contract": contract}
        fetch("inspection", "month", params, period, fmt, lang, output, desk, token_file)


@report_app.command("quarterly")
def quarterly(
    customer: str | None = typer.Option(
        None, "--customer", help="Only this customer (a customer's token always gets its own)."
    ),
    contract: str | None = CONTRACT,
    period: str | None = typer.Option(
        None, "--period", help="2026-Q4 (or 2026-Q4's months as a range); default: last quarter."
    ),
    fmt: str = FORMAT,
    lang: str = LANG,
    output: Path | None = OUTPUT,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
) -> None:
    """The quarterly service statistics: SLA compliance, misses and their causes, ..."""
    with handled():
        params = {"customer": customer, "contract": contract}
        fetch("quarterly", "quarter", params, period, fmt, lang, output, desk, token_file)


def fetch(
    kind: str,
    period_kind: str,
    params: dict[str, str | None],
    period: str | None,
    fmt: str,
    lang: str,
    output: Path | None,
    desk: str,
    token_file: Path | None,
) -> None:
    """Check the options, ask the desk, write the file and say where it went."""
    if fmt not in FORMATS:
        raise DeskCallError(f"--format {fmt!r}: use one of {', '.join(FORMATS)}", ExitCode.usage)
    if lang not in LANGUAGES:
        raise DeskCallError(f"--lang {lang!r}: use zh or en", ExitCode.usage)
    if period is not None:
        from desk.reports.periods import parse_period

        try:
            parse_period(period, "month" if period_kind == "month" else "quarter", date.today())
        except ValueError as exc:
            raise DeskCallError(f"--period {exc}", ExitCode.usage) from None
    query = {**params, "period": period, "format": fmt, "lang": lang}
    client = DeskClient(desk, read_token(token_file), timeout=REPORT_TIMEOUT)
    with client:
        answer = client.download(path_for("reports", kind), query)
    name = served_name(answer.headers.get("content-disposition"), f"{kind}.{fmt}")
    target = output if output is not None else Path(name)
    if target.is_dir():
        target = target / name
    write_file(target, answer.content)
    typer.echo(f"wrote {target} ({_size(len(answer.content))})")


def served_name(header: str | None, default: str) -> str:
    """The file name the desk gave (``filename*`` first), reduced to a bare name."""
    if not header:
        return default
    encoded = re.search(r"filename\*\s*=\s*([^']*)'[^']*'([^;]+)", header)
    if encoded:
        name = unquote(encoded.group(2).strip(), encoding=encoded.group(1) or "utf-8")
    else:
        plain = re.search(r'filename\s*=\s*"?([^";]+)"?', header)
        name = plain.group(1) if plain else default
    # Never a path: the desk names a file, it does not choose where it goes.
    name = os.path.basename(name.replace("\\", "/")).strip()
    return name if name not in ("", ".", "..") else default


def write_file(target: Path, content: bytes) -> None:
    """Write to a temporary name beside ``target`` and rename: never a half-written report.
    The file is readable by its owner only (a report holds customer data)."""
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=directory)
    except OSError as exc:
        raise DeskCallError(
            f"cannot write into {directory}: {exc.strerror}; choose another -o",
            ExitCode.refused,
        ) from None
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        os.replace(temporary, target)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise DeskCallError(
            f"cannot write {target}: {exc.strerror}; choose another -o", ExitCode.refused
        ) from None


def _size(count: int) -> str:
    return f"{count} bytes" if count < 10_000 else f"{count // 1024} KiB"


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(report_app, name="report")

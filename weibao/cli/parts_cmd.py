"""The ``weibao parts`` commands: the spare-part stock (备件库) and vendor RMAs on a
running desk (``/api/v1/parts``, ``/api/v1/rmas``). Parts used on a ticket are
recorded with ``weibao ticket part``, which takes them from this stock."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from weibao.cli.deskclient import (
    DESK_OPTION,
    JSON_OPTION,
    TOKEN_FILE_OPTION,
    DeskCallError,
    DeskClient,
    ExitCode,
    handled,
    path_for,
)
from weibao.cli.ticket_cmd import print_json

if TYPE_CHECKING:
    from rich.table import Table

parts_app = typer.Typer(
    name="parts",
    help="The spare-part stock and vendor RMAs on a running desk (--desk, --token-file).",
    no_args_is_help=True,
)

RMA_STATUSES = ("open", "shipped", "received", "closed")
UTC_LONG = "%Y-%m-%d %H:%M UTC"


def _utc(value: Any) -> str:
    from datetime import UTC

    from weibao.cli.ticket_view import local

    return local(value, UTC, UTC_LONG)


def _table(columns: tuple[str, ...], rows: list[list[str]]) -> Table:
    from rich.table import Table
    from rich.text import Text

    table = Table(box=None, header_style="bold", pad_edge=False)
    for name in columns:
        table.add_column(name, overflow="fold")
    for row in rows:
        table.add_row(*(Text(cell) for cell in row))
    return table


@parts_app.command("list")
def list_parts(
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """The stock: part numbers, names, quantities on the shelf and where."""
    with handled(), DeskClient.connect(desk, token_file) as client:
        parts = client.get(path_for("parts"))
    if as_json:
        print_json(parts)
    elif not parts:
        typer.echo("the stock is empty: add parts with `weibao parts add`", err=True)
    else:
        rows = [
            [
                str(p.get("part_number")),
                str(p.get("name")),
                str(p.get("quantity")),
                str(p.get("location") or "-"),
                _utc(p.get("updated_at")),
            ]
            for p in parts
        ]
        from weibao.cli.ticket_view import print_renderable

        print_renderable(_table(("PART NUMBER", "NAME", "QTY", "LOCATION", "UPDATED"), rows))


@parts_app.command("add")
def add_part(
    part_number: str = typer.Argument(..., metavar="PART_NUMBER", help="The part number."),
    name: str = typer.Option(..., "--name", help="What the part is."),
    quantity: int = typer.Option(..., "--quantity", help="How many to add to the shelf."),
    location: str | None = typer.Option(None, "--location", help="Where they are kept."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add parts to the stock; a new part number is created."""
    fields = {"part_number": part_number, "name": name, "quantity": quantity, "location": location}
    with handled():
        body = _part_in(fields)
        with DeskClient.connect(desk, token_file) as client:
            stocked = client.post(path_for("parts"), body)
    if as_json:
        print_json(stocked)
    else:
        where = f" at {stocked['location']}" if stocked.get("location") else ""
        typer.echo(
            f"{stocked.get('part_number')} ({stocked.get('name')}): "
            f"{stocked.get('quantity')} in stock{where}"
        )


@parts_app.command("rmas")
def list_rmas(
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Parts sent back to the vendor whose RMA is not closed."""
    with handled(), DeskClient.connect(desk, token_file) as client:
        uses = client.get(path_for("rmas"))
    if as_json:
        print_json(uses)
    elif not uses:
        typer.echo("no open RMAs", err=True)
    else:
        rows = [
            [
                str(u.get("id")),
                str(u.get("rma_number")),
                str(u.get("rma_status")),
                f"{u.get('part_number')} {u.get('name')}",
                str(u.get("serial_out") or "-"),
                _utc(u.get("at")),
                str(u.get("actor")),
            ]
            for u in uses
        ]
        from weibao.cli.ticket_view import print_renderable

        columns = ("ID", "RMA", "STATUS", "PART", "SERIAL OUT", "SINCE", "BY")
        print_renderable(_table(columns, rows))


@parts_app.command("rma")
def update_rma(
    use_id: int = typer.Argument(..., metavar="ID", help="The RMA's id, from `weibao parts rmas`."),
    status: str = typer.Option(..., "--status", help=" | ".join(RMA_STATUSES)),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Move a vendor RMA on: open, shipped, received, closed."""
    with handled():
        if status not in RMA_STATUSES:
            raise DeskCallError(
                f"--status {status!r} is not an RMA status: use one of {', '.join(RMA_STATUSES)}",
                ExitCode.usage,
            )
        with DeskClient.connect(desk, token_file) as client:
            use = client.post(path_for("rmas", use_id), {"status": status})
    if as_json:
        print_json(use)
    else:
        typer.echo(
            f"RMA {use.get('rma_number')} ({use.get('part_number')}): {use.get('rma_status')}"
        )


def _part_in(fields: dict[str, Any]) -> dict[str, Any]:
    """The body for POST /parts, checked by the desk's model; exit 2 if invalid."""
    from pydantic import ValidationError

    from desk.schemas import PartIn

    try:
        parsed = PartIn.model_validate(fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            option = "PART_NUMBER" if field == "part_number" else "--" + field
            problems.append(f"{option}: {err['msg']}")
        raise DeskCallError("; ".join(problems), ExitCode.usage) from None
    body: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    return body


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(parts_app, name="parts")

"""The ``weibao ticket`` commands: list and show tickets, and take the workflow's steps
on a running desk over its HTTP API (``/api/v1/tickets``).

Each step's input is checked against the desk's own request model (:mod:`desk.steps`,
imported when a step runs) before anything is sent, so a typo is exit 2 with the option
named, and the desk's refusals (a step not possible in this state) are exit 1 with the
desk's sentence. See :mod:`weibao.cli.deskclient` for the exit codes and options shared
with ``weibao parts``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

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
from weibao.clock import SystemClock
from weibao.levels import Level

ticket_app = typer.Typer(
    name="ticket",
    help="List, show and work tickets on a running desk (--desk, --token-file).",
    no_args_is_help=True,
)

STATUSES = ("open", "acknowledged", "on_site", "resolved", "closed")
# The desk.steps model of each step, and option names for fields not spelled --field-name.
MODELS = {
    "ack": "Ack",
    "arrive": "Arrive",
    "plan": "Plan",
    "note": "Note",
    "part": "Part",
    "resolve": "Resolve",
    "signoff": "Signoff",
    "close": "Close",
    "reopen": "Reopen",
    "assign": "Assign",
    "assist": "Assist",
    "refer": "Refer",
    "pause": "Pause",
    "resume": "Resume",
    "due": "MoveDue",
    "followup": "Followup",
}
OPTION_NAMES = {
    "text": "TEXT",
    "rma_number": "--rma",
    "from_stock": "--not-from-stock",
    "due": "--at",
    "kind": "--senior/--vendor",
}
# The desk's refusals name the API's fields; on the command line they are options.
CLI_WORDS = {
    "with from_stock false": "with --not-from-stock",
    "use a manager token": "use a manager's --token-file",
}


def in_cli_words(message: str) -> str:
    for api, cli in CLI_WORDS.items():
        message = message.replace(api, cli)
    return message


KEY = typer.Argument(..., metavar="KEY", help="The ticket's number (WB-2026-000123) or id.")
NOTE = typer.Option(None, "--note", help="A note for the timeline.")


def print_json(body: Any) -> None:
    typer.echo(json.dumps(body, ensure_ascii=False, indent=2))


def step_body(step: str, fields: dict[str, Any]) -> dict[str, Any]:
    """The request body for ``step``, validated by the desk's model; exit 2 if invalid."""
    from pydantic import ValidationError

    from desk import steps

    model = getattr(steps, MODELS[step])
    try:
        parsed = model.model_validate(fields)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else ""
            option = OPTION_NAMES.get(field, "--" + field.replace("_", "-"))
            problems.append(f"{option}: {err['msg']}")
        raise DeskCallError("; ".join(problems), ExitCode.usage) from None
    body: dict[str, Any] = parsed.model_dump(mode="json", exclude_none=True)
    return body


def take_step(
    key: str,
    step: str,
    fields: dict[str, Any],
    desk: str,
    token_file: Path | None,
    as_json: bool,
) -> None:
    """Post one step and print the ticket's new status and clocks (or its JSON)."""
    with handled():
        body = step_body(step, fields)
        with DeskClient.connect(desk, token_file) as client:
            try:
                ticket = client.post(path_for("tickets", key, step), body)
            except DeskCallError as exc:
                raise DeskCallError(in_cli_words(exc.message), exc.code) from None
    if as_json:
        print_json(ticket)
        return
    from weibao.cli.ticket_view import step_lines

    for line in step_lines(ticket, SystemClock().now()):
        typer.echo(line)


@ticket_app.command("list")
def list_tickets(
    status: str | None = typer.Option(None, "--status", help=" | ".join(STATUSES)),
    level: str | None = typer.Option(None, "--level", help="I, II, III or IV (or 1 to 4)."),
    customer: str | None = typer.Option(None, "--customer", help="The customer's name."),
    device: str | None = typer.Option(None, "--device", help="The device's inventory name."),
    assignee: str | None = typer.Option(None, "--assignee", metavar="NAME", help="Assigned to."),
    mine: bool = typer.Option(
        False, "--mine", help="Assigned to you: the name your token was issued to (--name)."
    ),
    open_only: bool = typer.Option(False, "--open", help="Only tickets not closed."),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="At most this many."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Tickets, newest first, with the next running clock in the site's time."""
    with handled():
        if status is not None and status not in STATUSES:
            raise DeskCallError(
                f"--status {status!r} is not a ticket status: use one of {', '.join(STATUSES)}",
                ExitCode.usage,
            )
        parsed_level = None
        if level is not None:
            try:
                parsed_level = Level.parse(level)  # II or 2, as the inventory writes it
            except ValueError:
                raise DeskCallError(
                    f"--level {level!r} is not a fault level: I, II, III or IV (or 1 to 4)",
                    ExitCode.usage,
                ) from None
        if mine and assignee is not None:
            raise DeskCallError("give --mine or --assignee, not both", ExitCode.usage)
        params = {
            "status": status,
            "level": parsed_level.value if parsed_level else None,
            "customer": customer,
            "device": device,
            "assignee": assignee,
            "active": "true" if open_only else None,
            "limit": limit,
        }
        with DeskClient.connect(desk, token_file) as client:
            if mine:
                params["assignee"] = _my_name(client)
            answer = client.get(path_for("tickets"), params)
    if as_json:
        print_json(answer)
        return
    items = answer.get("items", [])
    if not items:
        typer.echo("no tickets match", err=True)
        return
    from weibao.cli.ticket_view import print_renderable, ticket_table

    print_renderable(ticket_table(items, SystemClock().now()))
    total = answer.get("total", len(items))
    if total > len(items):
        typer.echo(f"{len(items)} of {total} shown: narrow the filters or raise --limit", err=True)


@ticket_app.command("show")
def show(
    key: str = KEY,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
    raw: bool = typer.Option(
        False, "--raw", help="Print the device's verbatim answer (SSH output, SNMP values) in full."
    ),
) -> None:
    """One ticket: clocks, diagnostic snapshot, parts and timeline, in the site's time."""
    with handled(), DeskClient.connect(desk, token_file) as client:
        ticket = client.get(path_for("tickets", key))
    if as_json:
        print_json(ticket)
        return
    from weibao.cli.ticket_view import print_renderable, render_ticket

    print_renderable(render_ticket(ticket, SystemClock().now(), raw_lines=None if raw else 12))


@ticket_app.command("followups")
def followups(
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Closed tickets whose follow-up call (回访) is due; record it with `followup`."""
    with handled(), DeskClient.connect(desk, token_file) as client:
        items = client.get(path_for("followups"))
    if as_json:
        print_json(items)
    elif not items:
        typer.echo("no follow-up calls due", err=True)
    else:
        from weibao.cli.ticket_view import followup_table, print_renderable

        print_renderable(followup_table(items))


@ticket_app.command("ack")
def ack(
    key: str = KEY,
    note: str | None = NOTE,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Acknowledge: stops the response clock (and takes the ticket if unassigned)."""
    take_step(key, "ack", {"note": note}, desk, token_file, as_json)


@ticket_app.command("arrive")
def arrive(
    key: str = KEY,
    note: str | None = NOTE,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Arrived on site: stops the on-site clock."""
    take_step(key, "arrive", {"note": note}, desk, token_file, as_json)


@ticket_app.command("plan")
def plan(
    key: str = KEY,
    plan_text: str = typer.Option(..., "--plan", help="The remediation plan."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Submit a remediation plan (remote fix, level IV): stops the on-site clock."""
    take_step(key, "plan", {"plan": plan_text}, desk, token_file, as_json)


@ticket_app.command("note")
def note(
    key: str = KEY,
    text: str = typer.Argument(..., metavar="TEXT", help="The note."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Add a note to the timeline."""
    take_step(key, "note", {"text": text}, desk, token_file, as_json)


@ticket_app.command("part")
def part(
    key: str = KEY,
    part_number: str = typer.Option(..., "--part-number", help="The part number (备件号)."),
    name: str | None = typer.Option(None, "--name", help="Defaults to the stock's name."),
    quantity: int = typer.Option(1, "--quantity", help="How many."),
    serial_out: str | None = typer.Option(None, "--serial-out", help="Serial of the removed part."),
    serial_in: str | None = typer.Option(None, "--serial-in", help="Serial of the installed part."),
    not_from_stock: bool = typer.Option(
        False, "--not-from-stock", help="The customer's own spare or a vendor's: stock unchanged."
    ),
    rma: str | None = typer.Option(None, "--rma", metavar="NUMBER", help="Vendor RMA case."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record a part used or replaced; taken from the spare-part stock unless told not."""
    fields = {
        "part_number": part_number,
        "name": name,
        "quantity": quantity,
        "from_stock": not not_from_stock,
        "serial_out": serial_out,
        "serial_in": serial_in,
        "rma_number": rma,
    }
    take_step(key, "part", fields, desk, token_file, as_json)


@ticket_app.command("resolve")
def resolve(
    key: str = KEY,
    diagnosis: str = typer.Option(..., "--diagnosis", help="What was found."),
    cause: str = typer.Option(..., "--cause", help="Why it happened."),
    actions: str = typer.Option(..., "--actions", help="What was done."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Resolve: stops the resolution clock."""
    fields = {"diagnosis": diagnosis, "cause": cause, "actions": actions}
    take_step(key, "resolve", fields, desk, token_file, as_json)


@ticket_app.command("signoff")
def signoff(
    key: str = KEY,
    name: str = typer.Option(..., "--name", help="The customer's signatory."),
    satisfaction: int = typer.Option(..., "--satisfaction", help="1 (poor) to 5 (excellent)."),
    opinion: str | None = typer.Option(None, "--opinion", help="The customer's opinion."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record the customer's sign-off of a resolved ticket."""
    fields = {"name": name, "satisfaction": satisfaction, "opinion": opinion}
    take_step(key, "signoff", fields, desk, token_file, as_json)


@ticket_app.command("close")
def close(
    key: str = KEY,
    reason: str | None = typer.Option(
        None, "--reason", help="Needed without a sign-off (e.g. customer not reachable)."
    ),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Close a resolved ticket; its follow-up call falls due a few days later."""
    take_step(key, "close", {"reason": reason}, desk, token_file, as_json)


@ticket_app.command("reopen")
def reopen(
    key: str = KEY,
    reason: str = typer.Option(..., "--reason", help="Why it is not fixed."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Reopen a resolved or closed ticket."""
    take_step(key, "reopen", {"reason": reason}, desk, token_file, as_json)


@ticket_app.command("assign")
def assign(
    key: str = KEY,
    engineer: str = typer.Argument(..., metavar="ENGINEER", help="Who takes it over."),
    reason: str | None = typer.Option(None, "--reason", help="Why."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Reassign the ticket to another engineer (they are notified)."""
    take_step(key, "assign", {"engineer": engineer, "reason": reason}, desk, token_file, as_json)


@ticket_app.command("assist")
def assist(
    key: str = KEY,
    reason: str = typer.Option(..., "--reason", help="What help is needed."),
    engineer: str | None = typer.Option(None, "--engineer", help="Who, if known."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Ask for a second engineer."""
    take_step(key, "assist", {"reason": reason, "engineer": engineer}, desk, token_file, as_json)


@ticket_app.command("refer")
def refer(
    key: str = KEY,
    senior: bool = typer.Option(False, "--senior", help="To a senior engineer."),
    vendor: bool = typer.Option(False, "--vendor", help="To the vendor (厂商二线)."),
    to: str = typer.Option(..., "--to", metavar="WHO", help="The person, or the vendor case."),
    reason: str = typer.Option(..., "--reason", help="Why."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Escalate technically to a senior engineer (--senior) or the vendor (--vendor)."""
    if senior == vendor:
        with handled():
            raise DeskCallError("give exactly one of --senior or --vendor", ExitCode.usage)
    kind = "senior" if senior else "vendor"
    take_step(key, "refer", {"kind": kind, "to": to, "reason": reason}, desk, token_file, as_json)


@ticket_app.command("pause")
def pause(
    key: str = KEY,
    reason: str = typer.Option(..., "--reason", help="One of the contract's pause reasons."),
    note: str | None = NOTE,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Pause the resolution clock, for a reason the contract allows."""
    take_step(key, "pause", {"reason": reason, "note": note}, desk, token_file, as_json)


@ticket_app.command("resume")
def resume(
    key: str = KEY,
    note: str | None = NOTE,
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Resume the paused resolution clock."""
    take_step(key, "resume", {"note": note}, desk, token_file, as_json)


@ticket_app.command("due")
def move_due(
    key: str = KEY,
    clock: str = typer.Option(
        ..., "--clock", help="response, onsite (plan at level IV) or resolve."
    ),
    at: str = typer.Option(
        ...,
        "--at",
        metavar="TIME",
        help="The new due time with its offset: 2026-03-02T18:00+08:00.",
    ),
    reason: str = typer.Option(..., "--reason", help="Why it moves."),
    agreed_by: str = typer.Option(
        ..., "--agreed-by", metavar="NAME", help="The customer's person."
    ),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Move a due time by agreement with the customer (manager token); the old one is kept."""
    fields = {"clock": clock, "due": at, "reason": reason, "agreed_by": agreed_by}
    take_step(key, "due", fields, desk, token_file, as_json)


@ticket_app.command("followup")
def followup(
    key: str = KEY,
    outcome: str = typer.Option(..., "--outcome", help="What the customer said."),
    satisfaction: int | None = typer.Option(None, "--satisfaction", help="1 to 5."),
    desk: str = DESK_OPTION,
    token_file: Path | None = TOKEN_FILE_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Record the follow-up call (回访) of a closed ticket."""
    fields = {"outcome": outcome, "satisfaction": satisfaction}
    take_step(key, "followup", fields, desk, token_file, as_json)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(ticket_app, name="ticket")


def _my_name(client: DeskClient) -> str:
    """The name the desk records for this token (``weibao token create --name``)."""
    me = client.get("/api/v1/whoami")
    name = me.get("name") if isinstance(me, dict) else None
    if not name:
        raise DeskCallError(
            "--mine needs a token issued with a name (weibao token create --name 李强); "
            "or give --assignee NAME",
            ExitCode.usage,
        )
    return str(name)

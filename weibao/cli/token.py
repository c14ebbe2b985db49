"""The ``weibao token`` commands: create, list and revoke the desk's API tokens.

``create`` prints the new token on stdout and nothing else, so scripts can capture it
(``weibao token create --role agent > /etc/weibao/token``); everything meant for
people goes to stderr. The token is shown once and only its hash is stored.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weibao.cli.serve import DB_HELP, DEFAULT_DB, fail
from weibao.errors import WeibaoError

if TYPE_CHECKING:
    from desk.storage import Store

token_app = typer.Typer(
    name="token", help="Create, list and revoke API tokens.", no_args_is_help=True
)

DB_OPTION = typer.Option(DEFAULT_DB, "--db", envvar="WEIBAO_DB", help=DB_HELP)


@contextmanager
def open_store(db: str) -> Iterator[Store]:
    """The migrated store, closed afterwards; database errors become a message."""
    from desk.storage import Store

    try:
        store = Store(db)
        store.migrate()
    except WeibaoError as exc:
        raise fail(str(exc)) from None
    try:
        yield store
    finally:
        store.close()


def check_customer(customer: str, inventory: Path) -> None:
    """A customer token for a name the inventory lacks would read nothing, silently: a
    typo (or 恒通 for 恒通物流) must fail here, not in front of the customer."""
    import difflib

    from weibao.inventory.loader import load_inventory

    if not inventory.is_file():
        raise WeibaoError(
            f"cannot check --customer {customer!r}: no inventory at {inventory} "
            "(pass the desk's inventory with -i FILE)"
        )
    names = [c.name for c in load_inventory(inventory).customers]
    if customer in names:
        return
    close = difflib.get_close_matches(customer, names, n=1, cutoff=0.3)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise WeibaoError(
        f"--customer {customer!r} is not a customer in {inventory}: {hint}"
        f"its customers are {', '.join(repr(n) for n in names) or 'none'}"
    )


@token_app.command("create")
def create(
    role: str = typer.Option(..., "--role", help="agent, engineer, manager or customer."),
    customer: str | None = typer.Option(
        None, "--customer", help="For role customer: the customer's name in the inventory."
    ),
    db: str = DB_OPTION,
    note: str | None = typer.Option(None, "--note", help="What the token is for."),
    name: str | None = typer.Option(
        None, "--name", help="Who holds it (e.g. 李强): recorded on the ticket steps they take."
    ),
    inventory: Path = typer.Option(
        Path("inventory.yaml"),
        "-i",
        "--inventory",
        help="The inventory --customer is checked against (role customer).",
    ),
) -> None:
    """Create a token and print it once."""
    from desk.tokens import check_scope, issue_token, parse_role
    from weibao.clock import SystemClock

    try:
        parsed = parse_role(role)
        check_scope(parsed, customer)
        if customer:
            check_customer(customer, inventory)
    except WeibaoError as exc:
        raise fail(str(exc), 2) from None
    with open_store(db) as store:
        issued = issue_token(store, parsed, customer, note, SystemClock().now(), name)
    typer.echo(issued.token)
    scope = f" for customer {issued.record.customer}" if issued.record.customer else ""
    typer.echo(
        f"created token {issued.record.id} ({parsed.value}{scope}); it is shown only "
        "this once, keep it safe",
        err=True,
    )


@token_app.command("list")
def list_tokens(db: str = DB_OPTION) -> None:
    """List tokens: ids, roles, customers and dates, never the tokens."""
    with open_store(db) as store:
        records = store.list_tokens()
    if not records:
        typer.echo("no tokens yet: create one with `weibao token create --role ROLE`", err=True)
        return
    typer.echo(
        f"{'ID':>4}  {'ROLE':<9} {'CUSTOMER':<24} {'CREATED':<20} {'REVOKED':<20} {'NAME':<12} NOTE"
    )
    for r in records:
        revoked = r.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ") if r.revoked_at else "-"
        typer.echo(
            f"{r.id:>4}  {r.role.value:<9} {r.customer or '-':<24} "
            f"{r.created_at.strftime('%Y-%m-%dT%H:%M:%SZ'):<20} {revoked:<20} "
            f"{r.name or '-':<12} {r.note or ''}"
        )


@token_app.command("revoke")
def revoke(
    token_id: int = typer.Argument(..., help="The token's id, from `weibao token list`."),
    db: str = DB_OPTION,
) -> None:
    """Revoke a token: it stops working at once."""
    from weibao.clock import SystemClock

    with open_store(db) as store:
        record = store.revoke_token(token_id, SystemClock().now())
    if record is None:
        raise fail(f"there is no token {token_id}: see `weibao token list`")
    typer.echo(f"token {token_id} revoked", err=True)


def register(app: typer.Typer) -> None:
    """Add this module's commands to the app."""
    app.add_typer(token_app, name="token")

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
    from desk.storage.records import TokenRecord

token_app = typer.Typer(
    name="token", help="Create, list and revoke API tokens.", no_args_is_help=True
)

DB_OPTION = typer.Option(DEFAULT_DB, "--db", envvar="WEIBAO_DB", help=DB_HELP)


CREATE_DB_OPTION = typer.Option(
    False,
    "--create-db",
    help="Create the database if it does not exist yet (`make run` does, before the desk's "
    "first start). Without it a missing database is an error, not a new empty one.",
)


@contextmanager
def open_store(db: str, create: bool = False) -> Iterator[Store]:
    """The desk's migrated store, closed afterwards; database errors become a message.

    Unless ``create``, the database must already be a desk's: run from another folder,
    the default ``sqlite:///var/weibao.db`` would otherwise be a new empty file there,
    and a token made in it would be unknown to the desk."""
    from sqlalchemy.exc import SQLAlchemyError

    from desk.storage import Store
    from desk.storage.database import display_url, parse_db_url

    try:
        url = parse_db_url(db)
        if not create and url.get_backend_name() == "sqlite":
            path = Path(url.database or "").expanduser()
            if not path.is_file():
                raise WeibaoError(
                    f"there is no database at {path.resolve()} (--db {display_url(url)}): "
                    "give the desk's own with --db or WEIBAO_DB (relative paths start in "
                    "the current folder), or run this where `weibao serve` runs; "
                    "--create-db makes a new one"
                )
        store = Store(db)
    except WeibaoError as exc:
        raise fail(str(exc)) from None
    try:
        if not create and store.schema_revision() is None:
            raise WeibaoError(
                f"the database {store.display_url} holds no weibao desk (never started "
                "there): give the desk's own with --db or WEIBAO_DB; --create-db sets it up"
            )
        store.migrate()
    except WeibaoError as exc:
        store.close()
        raise fail(str(exc)) from None
    except SQLAlchemyError as exc:
        store.close()
        raise fail(f"cannot open the database {store.display_url}: {type(exc).__name__}") from None
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


def check_push_scope_names(site: str | None, device: str | None, inventory: Path) -> None:
    """A scope naming no site or device of the inventory would refuse every push: say so
    now, with the near names, not at the customer's site."""
    import difflib

    from weibao.inventory.loader import load_inventory

    wanted = ("--site", site) if site else ("--device", device)
    if not inventory.is_file():
        raise WeibaoError(
            f"cannot check {wanted[0]} {wanted[1]!r}: no inventory at {inventory} "
            "(pass the desk's inventory with -i FILE)"
        )
    contexts = load_inventory(inventory).contexts()
    names = sorted({c.site.name for c in contexts} if site else {c.device.name for c in contexts})
    if wanted[1] in names:
        return
    close = difflib.get_close_matches(str(wanted[1]), names, n=1, cutoff=0.3)
    hint = f"did you mean {close[0]!r}? " if close else ""
    kind = "site" if site else "device"
    raise WeibaoError(f"{wanted[0]} {wanted[1]!r} is not a {kind} in {inventory}: {hint}".rstrip())


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
        help="The inventory --customer, --site and --device are checked against.",
    ),
    site: str | None = typer.Option(
        None, "--site", help="For role agent: push only for this site's devices (a collector)."
    ),
    device: str | None = typer.Option(
        None, "--device", help="For role agent: push only for this device (a server's agent)."
    ),
    any_device: bool = typer.Option(
        False,
        "--any-device",
        help="For role agent: push for every device (an Alertmanager, a central collector).",
    ),
    create_db: bool = CREATE_DB_OPTION,
) -> None:
    """Create a token and print it once."""
    from desk.model import Role
    from desk.tokens import check_push_scope, check_scope, issue_token, parse_role
    from weibao.clock import SystemClock

    try:
        parsed = parse_role(role)
        check_scope(parsed, customer)
        check_push_scope(parsed, site, device)
        if parsed is Role.agent and not (site or device or any_device):
            raise WeibaoError(
                "say what an agent token may push for: --device NAME (a server's agent), "
                "--site NAME (a site's collector) or --any-device (an Alertmanager, a "
                "central collector); a token scoped to one place cannot speak for the others"
            )
        if any_device and (site or device or parsed is not Role.agent):
            raise WeibaoError("--any-device is for an agent token without --site or --device")
        if customer:
            check_customer(customer, inventory)
        if site or device:
            check_push_scope_names(site, device, inventory)
    except WeibaoError as exc:
        raise fail(str(exc), 2) from None
    with open_store(db, create=create_db) as store:
        issued = issue_token(
            store, parsed, customer, note, SystemClock().now(), name, site=site, device=device
        )
        db_shown = store.display_url
    typer.echo(issued.token)
    record = issued.record
    scope = (
        f" for {record.customer}"
        if record.customer
        else f" for the devices of site {record.site}"
        if record.site
        else f" for device {record.device}"
        if record.device
        else ""
    )
    typer.echo(
        f"created token {issued.record.id} ({parsed.value}{scope}) in {db_shown}; it is "
        "shown only this once, keep it safe",
        err=True,
    )


@token_app.command("list")
def list_tokens(db: str = DB_OPTION) -> None:
    """List tokens: ids, roles, scopes (customer, site, device or * for all) and dates,
    never the tokens."""
    with open_store(db) as store:
        records = store.list_tokens()
    if not records:
        typer.echo("no tokens yet: create one with `weibao token create --role ROLE`", err=True)
        return
    rows = [["ID", "ROLE", "SCOPE", "CREATED", "REVOKED", "NAME", "NOTE"]]
    for r in records:
        rows.append(
            [
                str(r.id),
                r.role.value,
                scope_of(r),
                r.created_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
                r.revoked_at.strftime("%Y-%m-%dT%H:%M:%SZ") if r.revoked_at else "-",
                r.name or "-",
                r.note or "",
            ]
        )
    for line in aligned(rows):
        typer.echo(line)


def scope_of(record: TokenRecord) -> str:
    """What a token may reach: its customer, its site or device, or everything (``*``)."""
    if record.customer:
        return f"customer {record.customer}"
    if record.site:
        return f"site {record.site}"
    if record.device:
        return f"device {record.device}"
    return "*"


def aligned(rows: list[list[str]]) -> list[str]:
    """Columns padded by their width on a terminal, not their length: 李强 takes four
    cells, not two (Rich's ``cell_len``); the first column is right-aligned (ids)."""
    from rich.cells import cell_len

    widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for row in rows:
        cells = [" " * (widths[0] - cell_len(row[0])) + row[0]]
        cells += [c + " " * (w - cell_len(c)) for c, w in zip(row[1:-1], widths[1:-1], strict=True)]
        cells.append(row[-1])
        lines.append("  ".join(cells).rstrip())
    return lines


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

"""The ``weibao user`` commands: the web console's accounts.

Passwords never come from the command line (it shows in ``ps`` and the shell's history):
they are typed at a prompt, twice, or read from ``--password-file``, or from stdin
when stdin is not a terminal (``pass show desk/li | weibao user add li ...``). Only an
argon2 hash is stored, and ``list`` never shows it.
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from weibao.cli.serve import fail
from weibao.cli.token import CREATE_DB_OPTION, DB_OPTION, open_store
from weibao.errors import WeibaoError

if TYPE_CHECKING:
    from desk.storage import Store
    from desk.web.accounts import Accounts

user_app = typer.Typer(
    name="user",
    help="Console accounts: add people, set passwords, disable, list.",
    no_args_is_help=True,
)

PASSWORD_FILE = typer.Option(
    None,
    "--password-file",
    help="Read the password from this file (its first line). Without it: a prompt, or "
    "stdin when it is not a terminal. Never on the command line.",
)


def _stdin_is_terminal() -> bool:
    return sys.stdin.isatty()


def read_password(password_file: Path | None) -> str:
    """The new password from the file, the prompt (typed twice) or stdin."""
    if password_file is not None:
        try:
            text = password_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise fail(f"cannot read --password-file {password_file}: {exc.strerror}") from None
        password = text.splitlines()[0] if text else ""
    elif _stdin_is_terminal():
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    if not password:
        raise fail(
            "no password given: type it at the prompt, or pass --password-file FILE, "
            "or pipe it on stdin"
        )
    return password


def _accounts(store: Store) -> Accounts:
    from desk.web.accounts import Accounts
    from weibao.clock import SystemClock

    return Accounts(store, SystemClock())


@user_app.command("add")
def add(
    username: str = typer.Argument(..., help="What the person types to log in, e.g. liqiang."),
    role: str = typer.Option(..., "--role", help="engineer, manager or customer."),
    name: str | None = typer.Option(
        None, "--name", help="The name shown on pages and ticket steps (e.g. 李强)."
    ),
    customer: str | None = typer.Option(
        None, "--customer", help="For role customer: the customer's name in the inventory."
    ),
    engineer: str | None = typer.Option(
        None,
        "--engineer",
        help="The engineer's name on the inventory's sites, for 'my tickets' (role "
        "engineer; defaults to --name).",
    ),
    language: str | None = typer.Option(
        None, "--language", help="zh or en (default: the browser's language)."
    ),
    inventory: Path = typer.Option(
        Path("inventory.yaml"),
        "-i",
        "--inventory",
        help="The inventory --customer and --engineer are checked against.",
    ),
    password_file: Path | None = PASSWORD_FILE,
    db: str = DB_OPTION,
    create_db: bool = CREATE_DB_OPTION,
) -> None:
    """Add a console account."""
    from desk.i18n import LANGUAGES
    from desk.model import Role
    from desk.web.accounts import check_names, check_password, check_scope, parse_user_role
    from weibao.inventory.loader import load_inventory

    try:
        parsed = parse_user_role(role)
        if parsed is Role.engineer and engineer is None:
            engineer = name
        if parsed is Role.engineer and not engineer:
            raise WeibaoError(
                "an engineer account needs the engineer's name as written on the "
                "inventory's sites: add --engineer NAME (or --name NAME)"
            )
        if language is not None and language not in LANGUAGES:
            raise WeibaoError(f"--language {language!r}: use zh or en")
        check_scope(parsed, customer, engineer)
        if customer or engineer:
            if not inventory.is_file():
                raise WeibaoError(
                    f"cannot check the account's customer or engineer: no inventory at "
                    f"{inventory} (pass the desk's inventory with -i FILE)"
                )
            check_names(customer, engineer, load_inventory(inventory))
    except WeibaoError as exc:
        raise fail(str(exc), 2) from None
    password = read_password(password_file)
    try:
        check_password(password)
    except WeibaoError as exc:
        raise fail(str(exc), 2) from None
    with open_store(db, create=create_db) as store:
        try:
            user = _accounts(store).add(
                username, password, parsed, name, customer, engineer, language
            )
        except WeibaoError as exc:
            raise fail(str(exc)) from None
    scope = f" for customer {user.customer}" if user.customer else ""
    typer.echo(f"added {user.role.value} {user.username} ({user.display_name}){scope}", err=True)


@user_app.command("passwd")
def passwd(
    username: str = typer.Argument(..., help="The account, from `weibao user list`."),
    password_file: Path | None = PASSWORD_FILE,
    db: str = DB_OPTION,
) -> None:
    """Set a new password: it also unlocks the account and logs it out everywhere."""
    password = read_password(password_file)
    with open_store(db) as store:
        try:
            _accounts(store).set_password(username, password)
        except WeibaoError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"new password set for {username}; its sessions have ended", err=True)


@user_app.command("disable")
def disable(
    username: str = typer.Argument(..., help="The account, from `weibao user list`."),
    db: str = DB_OPTION,
) -> None:
    """Disable an account: it is logged out at once and cannot log in."""
    with open_store(db) as store:
        try:
            _accounts(store).disable(username)
        except WeibaoError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"user {username} disabled and logged out", err=True)


@user_app.command("enable")
def enable(
    username: str = typer.Argument(..., help="The account, from `weibao user list`."),
    db: str = DB_OPTION,
) -> None:
    """Enable a disabled account again (with its old password)."""
    with open_store(db) as store:
        try:
            _accounts(store).enable(username)
        except WeibaoError as exc:
            raise fail(str(exc)) from None
    typer.echo(f"user {username} enabled", err=True)


@user_app.command("list")
def list_users(db: str = DB_OPTION) -> None:
    """List accounts: roles, bindings, last login and state, never a password hash."""
    from weibao.clock import SystemClock

    with open_store(db) as store:
        users = _accounts(store).records.list_users()
    if not users:
        typer.echo("no users yet: add one with `weibao user add NAME --role ROLE`", err=True)
        return
    now = SystemClock().now()
    typer.echo(
        f"{'USERNAME':<16} {'ROLE':<9} {'NAME':<14} {'CUSTOMER / ENGINEER':<24} "
        f"{'LANG':<4} {'LAST LOGIN':<20} STATE"
    )
    for u in users:
        if u.disabled_at is not None:
            state = f"disabled {_utc(u.disabled_at)}"
        elif u.locked_at(now):
            state = f"locked until {_utc(u.locked_until)}"
        else:
            state = "active"
        bound = u.customer or u.engineer or "-"
        last = _utc(u.last_login_at) if u.last_login_at else "never"
        typer.echo(
            f"{u.username:<16} {u.role.value:<9} {u.display_name:<14} {bound:<24} "
            f"{u.language or '-':<4} {last:<20} {state}"
        )


def _utc(when: datetime | None) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ") if when else "-"


def register(app: typer.Typer) -> None:
    """Add the command to ``app``."""
    app.add_typer(user_app, name="user")

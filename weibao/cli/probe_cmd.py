"""``weibao probe snmp``: try a device that is not in the inventory yet (onboarding).

The community and keys are typed by the operator on the command line. They reach the
driver through a private environment mapping behind ``env:`` references, exactly as
inventory secrets do, so no model or message ever holds them; every line printed is
also scrubbed of them, in case a library echoes what it was given.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, get_args

import typer

from weibao.cli.inspect_cmd import fail, render_observation, stdout_console

if TYPE_CHECKING:
    from collector.driver import InspectionResult
    from weibao.inventory.model import SnmpInspection

EXIT_FAILED = 1
EXIT_USAGE = 2
REDACTED = "***"

probe_app = typer.Typer(help="Try a device that is not in the inventory yet.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``weibao probe`` (``snmp``; ``ssh`` joins it when its driver lands)."""
    app.add_typer(probe_app, name="probe")


@probe_app.command("snmp")
def probe_snmp(
    target: str = typer.Argument(..., metavar="HOST[:PORT]", help="Address, port 161 if none."),
    community: str | None = typer.Option(None, help="SNMP v2c community.", show_default=False),
    v1: bool = typer.Option(False, "--v1", help="Use SNMPv1 with --community."),
    v3_user: str | None = typer.Option(None, "--v3-user", help="SNMPv3 user."),
    auth_proto: str | None = typer.Option(None, "--auth-proto", help="md5, sha, sha256, ..."),
    auth_key: str | None = typer.Option(None, "--auth-key", show_default=False),
    priv_proto: str | None = typer.Option(None, "--priv-proto", help="des, aes128, aes256, ..."),
    priv_key: str | None = typer.Option(None, "--priv-key", show_default=False),
    kind: str | None = typer.Option(None, help="The kind you expect (switch, ups, ...)."),
    timeout: float = typer.Option(10.0, min=1.0, max=600.0, help="Seconds for the whole probe."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Inspect one SNMP device now: what the profile detected and what it observed."""
    from collector.driver import Depth

    host, port = split_target(target)
    secrets = {
        "WEIBAO_PROBE_COMMUNITY": community,
        "WEIBAO_PROBE_AUTH_KEY": auth_key,
        "WEIBAO_PROBE_PRIV_KEY": priv_key,
    }
    environ = {k: v for k, v in secrets.items() if v}
    settings = snmp_settings(
        port, community, v1, v3_user, auth_proto, auth_key, priv_proto, priv_key
    )
    result = asyncio.run(_probe(host, settings, environ, kind, Depth.full, timeout))
    obs = result.observation
    scrub = _scrubber(list(environ.values()))
    if as_json:
        detected = {k: obs.meta[k] for k in ("vendor", "model", "kind", "profile") if k in obs.meta}
        body = {"ok": obs.ok, "detected": detected, "observation": obs.model_dump(mode="json")}
        typer.echo(scrub(json.dumps(body, indent=2)))
    elif result.failed:
        reason = obs.meta.get("error_kind", "error")
        typer.echo(scrub(f"cannot inspect {target}: {obs.error} ({reason})"), err=True)
    else:
        console = stdout_console()
        with console.capture() as captured:
            render_observation(console, obs, "snmp")
        typer.echo(scrub(captured.get()), nl=False)
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


async def _probe(
    host: str,
    settings: SnmpInspection,
    environ: dict[str, str],
    kind: str | None,
    depth: Any,
    timeout: float,
) -> InspectionResult:
    from collector.snmp.driver import SnmpDriver
    from weibao.clock import SystemClock

    driver = SnmpDriver(environ=environ)
    try:
        now = SystemClock().now()
        return await driver.inspect_target("probe", host, settings, kind, depth, now, timeout)
    finally:
        driver.close()


def split_target(target: str) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    from weibao.inventory.model import InvalidValue, check_address

    host, port = target, 161
    if target.startswith("["):
        host, _, rest = target[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), target)
    elif target.count(":") == 1:
        host, _, text = target.partition(":")
        port = _port(text, target)
    try:
        return check_address(host), port
    except InvalidValue as exc:
        fail(f"{exc} (from {target!r}); {exc.hint}", EXIT_USAGE)


def _port(text: str, target: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        fail(f"{target!r}: the port must be a number from 1 to 65535", EXIT_USAGE)
    return int(text)


def snmp_settings(
    port: int,
    community: str | None,
    v1: bool,
    user: str | None,
    auth_proto: str | None,
    auth_key: str | None,
    priv_proto: str | None,
    priv_key: str | None,
) -> SnmpInspection:
    """The probe's settings, with ``env:`` references in place of the typed secrets."""
    from weibao.inventory.model import AuthProtocol, PrivProtocol, SnmpInspection

    if (community is None) == (user is None):
        fail("give either --community (v1/v2c) or --v3-user with its keys, not both", EXIT_USAGE)
    if community is not None:
        if any(x is not None for x in (auth_proto, auth_key, priv_proto, priv_key)):
            fail("--auth-*/--priv-* options belong to --v3-user, not --community", EXIT_USAGE)
        return SnmpInspection(
            version="1" if v1 else "2c",
            community="env:WEIBAO_PROBE_COMMUNITY",
            port=port,
        )
    _choice("--auth-proto", auth_proto, get_args(AuthProtocol))
    _choice("--priv-proto", priv_proto, get_args(PrivProtocol))
    if (auth_proto is None) != (auth_key is None):
        fail("--auth-proto and --auth-key go together", EXIT_USAGE)
    if (priv_proto is None) != (priv_key is None):
        fail("--priv-proto and --priv-key go together", EXIT_USAGE)
    if priv_proto is not None and auth_proto is None:
        fail("privacy (--priv-proto) also needs --auth-proto and --auth-key", EXIT_USAGE)
    fields: dict[str, Any] = {"version": "3", "user": user, "port": port}
    if auth_proto is not None:
        fields.update(auth_protocol=auth_proto, auth_key="env:WEIBAO_PROBE_AUTH_KEY")
    if priv_proto is not None:
        fields.update(priv_protocol=priv_proto, priv_key="env:WEIBAO_PROBE_PRIV_KEY")
    return SnmpInspection.model_validate(fields)


def _choice(option: str, value: str | None, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        fail(f"{option} {value!r} is not one of {', '.join(allowed)}", EXIT_USAGE)


def _scrubber(secrets: list[str]) -> Callable[[str], str]:
    """Replace every secret the operator typed, longest first, in text about to be shown."""
    ordered = sorted((s for s in secrets if s), key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, REDACTED)
        return text

    return scrub

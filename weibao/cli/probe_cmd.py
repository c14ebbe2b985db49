"""``weibao probe snmp`` and ``probe ssh``: try a device not in the inventory yet (onboarding).

The community and keys are typed by the operator on the command line. They reach the
driver through a private environment mapping behind ``env:`` references, exactly as
inventory secrets do, so no model or message ever holds them; every line printed is
also scrubbed of them, in case a library echoes what it was given. ``probe ssh`` takes
no secret on the command line at all: a key file and the name of a variable holding
the password, which become the ``file:``/``env:`` references of the snippet it prints.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, get_args

import typer

from weibao.cli.inspect_cmd import fail, render_observation, stdout_console
from weibao.numbers import format_value

if TYPE_CHECKING:
    from rich.console import Console

    from collector.driver import InspectionResult
    from weibao.inventory.model import SnmpInspection, SshInspection
    from weibao.observation import Observation

EXIT_FAILED = 1
EXIT_USAGE = 2
REDACTED = "***"
# What the identification was concluded from (collector/snmp/identify.py).
PROBE_EVIDENCE = ("vendor_evidence", "kind_evidence", "kind_unsure", "profile_reason")

probe_app = typer.Typer(help="Try a device that is not in the inventory yet.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``weibao probe`` (``snmp`` and ``ssh``)."""
    app.add_typer(probe_app, name="probe")


@probe_app.command("snmp")
def probe_snmp(
    target: str = typer.Argument(..., metavar="HOST[:PORT]", help="Address, port 161 if none."),
    community: str | None = typer.Option(None, help="SNMP v2c community.", show_default=False),
    v1: bool = typer.Option(False, "--v1", help="Use SNMPv1 with --community."),
    v3_user: str | None = typer.Option(None, "--v3-user", help="SNMPv3 user."),
    auth_proto: str | None = typer.Option(
        None, "--auth-proto", help="md5, sha, sha256, ... (any case; SHA-256 too)"
    ),
    auth_key: str | None = typer.Option(None, "--auth-key", show_default=False),
    priv_proto: str | None = typer.Option(
        None, "--priv-proto", help="des, aes, aes128, aes256, ... (any case; AES-128 too)"
    ),
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
        keys = ("vendor", "model", "kind", "profile", *PROBE_EVIDENCE)
        detected = {k: obs.meta[k] for k in keys if k in obs.meta}
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


def split_target(target: str, default_port: int = 161) -> tuple[str, int]:
    """``host``, ``host:port``, ``[v6]:port`` or a bare IPv6 address."""
    from weibao.inventory.model import check_address
    from weibao.inventory.values import InvalidValue

    host, port = target, default_port
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
    auth_proto = _choice("--auth-proto", auth_proto, get_args(AuthProtocol))
    priv_proto = _choice("--priv-proto", priv_proto, get_args(PrivProtocol))
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


def _choice(option: str, value: str | None, allowed: tuple[str, ...]) -> str | None:
    """The protocol in our spelling; net-snmp's (``SHA``, ``AES-128``) is accepted too."""
    from weibao.inventory.model import normalize_protocol

    if value is None or value in allowed:
        return value
    name = normalize_protocol(value)
    if name not in allowed:
        fail(f"{option} {value!r} is not one of {', '.join(allowed)} (any case)", EXIT_USAGE)
    return str(name)


def _scrubber(secrets: list[str]) -> Callable[[str], str]:
    """Replace every secret the operator typed, longest first, in text about to be shown."""
    ordered = sorted((s for s in secrets if s), key=len, reverse=True)

    def scrub(text: str) -> str:
        for secret in ordered:
            text = text.replace(secret, REDACTED)
        return text

    return scrub


# -- probe ssh ---------------------------------------------------------------------------

FINGERPRINT = re.compile(r"SHA256:[A-Za-z0-9+/]{43}")
SSH_DETECTED = ("profile", "hostname", "os_name", "kernel", "arch", "model")
SSH_KINDS = {
    "linux": "server",
    "huawei-vrp": "switch",
    "h3c-comware": "switch",
    "cisco-ios": "switch",
}
SSH_VENDORS = {"huawei-vrp": "Huawei", "h3c-comware": "H3C", "cisco-ios": "Cisco"}
SSH_HINTS = {
    "auth": "check that the public half of the key is in the account's authorized_keys on "
    "the device (or that the password is right), and that the account may log in over SSH",
    "connect": "check the address and port, and that sshd runs and the firewall lets the "
    "collector in",
    "timeout": "check the address, routing and firewall; a device that answers slowly "
    "needs a larger --timeout",
}


@probe_app.command("ssh")
def probe_ssh(
    target: str = typer.Argument(..., metavar="USER@HOST[:PORT]", help="Port 22 if none."),
    key: Path | None = typer.Option(None, "--key", help="Private key file (unencrypted)."),
    password_env: str | None = typer.Option(
        None, "--password-env", metavar="NAME", help="Environment variable holding the password."
    ),
    host_key: str | None = typer.Option(
        None, "--host-key", metavar="FINGERPRINT", help="The device's SHA256:... host key."
    ),
    known_hosts: Path | None = typer.Option(None, "--known-hosts", help="A known_hosts file."),
    trust_on_first_use: bool = typer.Option(
        False, "--trust-on-first-use", help="Accept the host key the device shows (then pin it)."
    ),
    os_profile: str = typer.Option(
        "linux", "--os", help="Command profile: linux, huawei-vrp, h3c-comware, cisco-ios."
    ),
    timeout: float = typer.Option(20.0, min=1.0, max=600.0, help="Seconds for the whole probe."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Inspect one device over SSH now: what the profile detected and what it observed."""
    from collector.driver import Depth

    user, at, rest = target.rpartition("@")
    if not at or not user:
        fail(f"{target!r}: write the account and the device as USER@HOST[:PORT]", EXIT_USAGE)
    host, port = split_target(rest, default_port=22)
    settings = ssh_settings(
        user, port, key, password_env, host_key, known_hosts, trust_on_first_use, os_profile
    )
    settings = settings.model_copy(update={"timeout": timedelta(seconds=timeout)})
    result = asyncio.run(_probe_ssh(host, settings, Depth.full, timeout))
    obs = result.observation
    password = os.environ.get(password_env, "") if password_env else ""
    scrub = _scrubber([password])
    offered = _offered_key(obs.error) if obs.meta.get("error_kind") == "host_key" else None
    snippet = None if result.failed else ssh_snippet(host, settings, obs.meta)
    if as_json:
        detected = {k: obs.meta[k] for k in (*SSH_DETECTED, "host_key") if k in obs.meta}
        body: dict[str, Any] = {
            "ok": obs.ok,
            "detected": detected,
            "observation": obs.model_dump(mode="json"),
            "inventory": snippet,
        }
        if offered:
            body["offered_host_key"] = offered
        typer.echo(scrub(json.dumps(body, indent=2, ensure_ascii=False)))
    elif result.failed:
        kind = obs.meta.get("error_kind", "error")
        lines = [f"cannot inspect {target}: {obs.error} ({kind})"]
        if offered:
            lines.append(_host_key_hint(offered))
        elif kind in SSH_HINTS:
            lines.append(f"hint: {SSH_HINTS[kind]}")
        typer.echo(scrub("\n".join(lines)), err=True)
    else:
        assert snippet is not None
        console = stdout_console()
        with console.capture() as captured:
            _render_ssh(console, target, obs, result.raw)
        typer.echo(scrub(captured.get()), nl=False)
        heading = "# Paste into the inventory, under a site's `devices:` (rename it as you like)"
        typer.echo(scrub(f"\n{heading}\n{snippet.rstrip()}"))
    if result.failed:
        raise typer.Exit(EXIT_FAILED)


async def _probe_ssh(
    host: str, settings: SshInspection, depth: Any, timeout: float
) -> InspectionResult:
    from collector.ssh.driver import SshDriver
    from weibao.clock import SystemClock

    driver = SshDriver(max_threads=2)
    try:
        now = SystemClock().now()
        return await driver.inspect_target("probe", host, settings, depth, now, timeout)
    finally:
        driver.close()


def ssh_settings(
    user: str,
    port: int,
    key: Path | None,
    password_env: str | None,
    host_key: str | None,
    known_hosts: Path | None,
    trust_on_first_use: bool,
    os_profile: str,
) -> SshInspection:
    """The probe's settings as an inventory entry would hold them (references, no secrets).

    With no way to check the host key given, the probe still connects, to show the key
    the device offers, and then refuses it like the driver refuses any unknown key.
    """
    from pydantic import ValidationError

    from collector.ssh.profiles import PROFILES
    from weibao.inventory.model import SshInspection

    ways = [x for x in (host_key, known_hosts, trust_on_first_use or None) if x is not None]
    if len(ways) > 1:
        fail("give one of --host-key, --known-hosts and --trust-on-first-use", EXIT_USAGE)
    if key is None and password_env is None:
        fail("give --key FILE (a private key) or --password-env NAME", EXIT_USAGE)
    _choice("--os", os_profile, tuple(sorted(PROFILES)))
    fields: dict[str, Any] = {"user": user, "port": port, "os": os_profile}
    if key is not None:
        fields["key"] = f"file:{key.expanduser().resolve()}"
    if password_env is not None:
        fields["password"] = f"env:{password_env}"
    if host_key is not None:
        fields["host_key"] = host_key
    if known_hosts is not None:
        fields["known_hosts"] = str(known_hosts.expanduser().resolve())
    fields["trust_on_first_use"] = trust_on_first_use or not ways
    try:
        settings = SshInspection.model_validate(fields)
    except ValidationError as exc:
        problems = "; ".join(_validation_message(e) for e in exc.errors())
        fail(problems, EXIT_USAGE)
    if not ways:  # validated with trust on first use, now refuse unknown keys again
        settings = settings.model_copy(update={"trust_on_first_use": False})
    return settings


def _validation_message(error: Any) -> str:
    field = ".".join(str(part) for part in error.get("loc", ()))
    ctx = error.get("ctx") or {}
    cause = ctx.get("error")
    text = f"{cause}; {getattr(cause, 'hint', '')}".rstrip("; ") if cause else error["msg"]
    option = {"host_key": "--host-key", "password": "--password-env", "key": "--key"}
    return f"{option.get(field, field or 'settings')}: {text}"


def ssh_snippet(host: str, settings: SshInspection, meta: dict[str, str]) -> str:
    """An inventory device entry for what was just probed: references and the key it showed."""
    import yaml

    name = re.sub(r"[^A-Za-z0-9._-]+", "-", meta.get("hostname", "")).strip("-._")[:100]
    ssh: dict[str, Any] = {"user": settings.user}
    if settings.port != 22:
        ssh["port"] = settings.port
    if settings.key is not None:
        ssh["key"] = str(settings.key)
    if settings.password is not None:
        ssh["password"] = str(settings.password)
    ssh["host_key"] = meta["host_key"]
    if settings.os != "linux":
        ssh["os"] = settings.os
    device: dict[str, Any] = {"name": name or "NEW-DEVICE", "kind": SSH_KINDS.get(settings.os)}
    if settings.os in SSH_VENDORS:
        device["vendor"] = SSH_VENDORS[settings.os]
    if meta.get("model"):
        device["model"] = meta["model"]
    device.update(address=host, inspect={"ssh": ssh})
    device = {k: v for k, v in device.items() if v is not None}
    return yaml.safe_dump([device], sort_keys=False, allow_unicode=True)


def _offered_key(error: str | None) -> str | None:
    """The fingerprint the device showed: the first one every host-key message names."""
    found = FINGERPRINT.search(error or "")
    return found.group(0) if found else None


def _host_key_hint(offered: str) -> str:
    return (
        f"the device offers host key {offered}\n"
        "hint: compare it with the device's own (ask the customer to run `ssh-keygen -lf "
        "/etc/ssh/ssh_host_ed25519_key.pub` there); if it matches, run again with "
        f"--host-key {offered}"
    )


def _render_ssh(console: Console, target: str, obs: Observation, raw: dict[str, str]) -> None:
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(target)}[/] (ssh): [green]up[/]")
    table = Table(title="detected")
    table.add_column("what")
    table.add_column("value", overflow="fold")
    for key in SSH_DETECTED:
        if obs.meta.get(key):
            table.add_row(key, escape(obs.meta[key]))
    trust = obs.meta.get("host_key_trust", "")
    table.add_row("host_key", f"{obs.meta.get('host_key', '')} ({trust})")
    if obs.meta.get("unavailable"):
        table.add_row("not available", escape(obs.meta["unavailable"]))
    console.print(table)
    samples = Table(title=f"observations (full inspection, {len(raw)} commands)")
    for column in ("sample", "labels", "value"):
        samples.add_column(column, overflow="fold")
    for sample in obs.samples:
        labels = ", ".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
        samples.add_row(sample.name, escape(labels), format_value(sample.value))
    console.print(samples)

"""Which inventory device a trap comes from: its UDP source address, then its credentials.

A trap names no device; its source address does. Devices are indexed by ``address``
(IP literals at once, DNS names once resolved). Several devices may share an address
(behind NAT): the one whose community or SNMPv3 user the trap carries is the sender.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from collector.snmp.credentials import Credentials, resolve_credentials
from weibao.inventory.model import DeviceContext


@dataclass(frozen=True)
class Match:
    """The device a trap's credentials match, with the credentials read just now."""

    ctx: DeviceContext
    creds: Credentials


def canonical_ip(text: str) -> str | None:
    with contextlib.suppress(ValueError):
        return str(ipaddress.ip_address(text))
    return None


class SourceIndex:
    def __init__(self, contexts: Sequence[DeviceContext]) -> None:
        self._by_ip: dict[str, list[DeviceContext]] = {}
        self._names: dict[str, list[DeviceContext]] = {}
        for ctx in contexts:
            address = ctx.device.address
            if not address:
                continue
            ip = canonical_ip(address)
            if ip is not None:
                self._by_ip.setdefault(ip, []).append(ctx)
            else:
                self._names.setdefault(address.lower(), []).append(ctx)

    async def resolve(self, timeout: float = 5.0) -> list[str]:
        """Resolve the DNS names once; returns the names that did not resolve."""
        loop = asyncio.get_running_loop()

        async def one(name: str) -> tuple[str, list[str]]:
            try:
                infos = await asyncio.wait_for(
                    loop.getaddrinfo(name, None, type=socket.SOCK_DGRAM), timeout
                )
            except (OSError, TimeoutError):
                return name, []
            return name, sorted({str(info[4][0]) for info in infos})

        failed = []
        for name, ips in await asyncio.gather(*(one(n) for n in self._names)):
            if not ips:
                failed.append(name)
            for ip in ips:
                canonical = canonical_ip(ip)
                if canonical is not None:
                    self._by_ip.setdefault(canonical, []).extend(self._names[name])
        return failed

    def devices_at(self, ip: str) -> list[DeviceContext]:
        return self._by_ip.get(ip, [])

    def devices(self) -> set[str]:
        every = [*self._by_ip.values(), *self._names.values()]
        return {ctx.device.name for group in every for ctx in group}


def match_community(
    candidates: Sequence[DeviceContext], community: bytes, environ: Mapping[str, str] | None
) -> Match | None:
    """The v1/v2c device at this address whose community the trap carries.

    Compared in constant time. Raises SecretMissing when a reference cannot be read.
    """
    for ctx in candidates:
        snmp = ctx.device.inspect.snmp
        if snmp is None or snmp.version not in ("1", "2c"):
            continue
        creds = resolve_credentials(snmp, environ)
        if creds.community is not None and hmac.compare_digest(
            creds.community.encode("utf-8"), community
        ):
            return Match(ctx, creds)
    return None


def match_user(
    candidates: Sequence[DeviceContext], user: str, environ: Mapping[str, str] | None
) -> Match | None:
    """The SNMPv3 device at this address with this user (its keys are checked by pysnmp)."""
    for ctx in candidates:
        snmp = ctx.device.inspect.snmp
        if snmp is not None and snmp.version == "3" and snmp.user == user:
            return Match(ctx, resolve_credentials(snmp, environ))
    return None


def speaks_v3(candidates: Sequence[DeviceContext]) -> bool:
    return any(c.device.inspect.snmp and c.device.inspect.snmp.version == "3" for c in candidates)

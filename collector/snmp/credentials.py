"""SNMP credentials resolved from the inventory's secret references, at inspection time.

Secrets are read for every inspection (never cached), so a rotated community or v3 key
in the referenced variable or file takes effect on the next inspection without a
restart. SNMPv3 keys are derived and cached by the password read now
(:class:`collector.snmp.usm_crypto.KeyCache`), so a changed key is simply another cache
entry. :meth:`Credentials.fingerprint` keys the trap listener's per-credential state.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field

from weibao.inventory.model import SnmpInspection


@dataclass(frozen=True)
class Credentials:
    version: str  # "1", "2c" or "3"
    community: str | None = field(default=None, repr=False)
    user: str | None = None
    auth_protocol: str | None = None
    auth_key: str | None = field(default=None, repr=False)
    priv_protocol: str | None = None
    priv_key: str | None = field(default=None, repr=False)
    context: str = ""

    @property
    def security_level(self) -> str:
        if self.version != "3":
            return "community"
        if self.priv_protocol:
            return "authPriv"
        return "authNoPriv" if self.auth_protocol else "noAuthNoPriv"

    def fingerprint(self) -> str:
        """A digest of everything that shapes USM state; safe to keep, never to show."""
        parts = (
            self.version,
            self.community,
            self.user,
            self.auth_protocol,
            self.auth_key,
            self.priv_protocol,
            self.priv_key,
            self.context,
        )
        digest = hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()
        return digest[:32]

    def describe(self) -> str:
        """For messages: version, user and protocols, never a key or community."""
        if self.version != "3":
            return f"SNMPv{self.version} community"
        protocols = "/".join(p for p in (self.auth_protocol, self.priv_protocol) if p)
        level = f"{self.security_level}, {protocols}" if protocols else self.security_level
        return f"SNMPv3 user {self.user!r} ({level})"


def resolve_credentials(
    snmp: SnmpInspection, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Read the referenced secrets now; SecretMissing names the reference, not the value."""
    if snmp.version in ("1", "2c"):
        assert snmp.community is not None  # the model refuses v1/v2c without one
        return Credentials(snmp.version, community=snmp.community.resolve(environ))
    return Credentials(
        "3",
        user=snmp.user,
        auth_protocol=snmp.auth_protocol,
        auth_key=snmp.auth_key.resolve(environ) if snmp.auth_key else None,
        priv_protocol=snmp.priv_protocol,
        priv_key=snmp.priv_key.resolve(environ) if snmp.priv_key else None,
        context=snmp.context or "",
    )

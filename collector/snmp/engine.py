"""The pool that opens every SNMP session (v1, v2c and v3), all on weibao's own code.

:class:`EnginePool` is the driver's :class:`collector.snmp.walker.SessionPool`. Every
version goes through one :class:`collector.snmp.udp.UdpDispatcher` (one socket per
address family, a request table, a large receive buffer):

- **v1/v2c**: :class:`collector.snmp.udp.UdpSession` and the BER codec
  (:mod:`collector.snmp.ber`); pyasn1's decoder was ~70 % of an inspection's CPU.
- **v3**: :class:`collector.snmp.usm.UsmSession`, our User-based Security Model on the
  ``cryptography`` library (:mod:`collector.snmp.usm_crypto`, ``usm_message``). pysnmp
  cost ~9x the CPU of v2c for the same inspection; this path costs about what v2c does
  plus the HMAC and cipher of each message (``bench/snmp/README.md``). The pool's
  :class:`collector.snmp.usm.UsmState` holds what v3 learns (agents' engine IDs and
  clocks, localized keys) for every session of its event loop. A rotated key is simply
  another entry of the key cache, so it takes effect on the next inspection.

pysnmp is no longer used to poll. It is still imported here for the trap listener
(:mod:`collector.traps.listener` takes :data:`AUTH_PROTOCOLS`, :data:`PRIV_PROTOCOLS`
and :func:`to_var` from this module); nothing else in this module touches it.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import AsyncIterator
from typing import Any

from collector.snmp.credentials import Credentials
from collector.snmp.snapshot import Kind, Var
from collector.snmp.udp import UdpDispatcher
from collector.snmp.usm import UsmSession, UsmState
from collector.snmp.walker import Session

with warnings.catch_warnings():
    # pysnmp 7.1 imports pysmi's camelCase names, which pysmi 2 deprecates; this happens
    # once, at import, and only when pysmi is installed (snmpsim brings it).
    warnings.filterwarnings(
        "ignore", r"\w+ is deprecated\. Please use \w+ instead", DeprecationWarning
    )
    from pyasn1.type import univ  # type: ignore[import-untyped]
    from pysnmp.entity import config  # type: ignore[import-untyped]
    from pysnmp.proto import rfc1902, rfc1905  # type: ignore[import-untyped]

# -- for the trap listener (pysnmp objects) ----------------------------------------------

AUTH_PROTOCOLS = {
    "md5": config.USM_AUTH_HMAC96_MD5,
    "sha": config.USM_AUTH_HMAC96_SHA,
    "sha224": config.USM_AUTH_HMAC128_SHA224,
    "sha256": config.USM_AUTH_HMAC192_SHA256,
    "sha384": config.USM_AUTH_HMAC256_SHA384,
    "sha512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV_PROTOCOLS = {
    "des": config.USM_PRIV_CBC56_DES,
    "aes": config.USM_PRIV_CFB128_AES,
    "aes128": config.USM_PRIV_CFB128_AES,
    # net-snmp's AES-192/256 extend the key as draft-blumenthal says; pysnmp's plain
    # CFB192/256 constants are Cisco's (draft-reeder), net-snmp's AES-192-C/AES-256-C.
    "aes192": config.USM_PRIV_CFB192_AES_BLUMENTHAL,
    "aes256": config.USM_PRIV_CFB256_AES_BLUMENTHAL,
    "aes192c": config.USM_PRIV_CFB192_AES,
    "aes256c": config.USM_PRIV_CFB256_AES,
}

_KINDS = {
    rfc1902.Integer32.tagSet: Kind.integer,
    rfc1902.OctetString.tagSet: Kind.octets,
    rfc1902.ObjectName.tagSet: Kind.oid,
    rfc1902.IpAddress.tagSet: Kind.ip,
    rfc1902.Counter32.tagSet: Kind.counter32,
    rfc1902.Gauge32.tagSet: Kind.gauge32,
    rfc1902.TimeTicks.tagSet: Kind.ticks,
    rfc1902.Opaque.tagSet: Kind.opaque,
    rfc1902.Counter64.tagSet: Kind.counter64,
    rfc1905.NoSuchObject.tagSet: Kind.missing,
    rfc1905.NoSuchInstance.tagSet: Kind.missing,
    rfc1905.EndOfMibView.tagSet: Kind.end,
    univ.Null.tagSet: Kind.null,
}
_BYTES = frozenset({Kind.octets, Kind.ip, Kind.opaque})
_NONE = frozenset({Kind.missing, Kind.end, Kind.null})


def to_var(value: Any) -> Var:
    """A pysnmp value (from a trap) as the same plain :class:`Var` the codec makes."""
    kind = _KINDS.get(value.tagSet, Kind.opaque)
    if kind in _NONE:
        return Var(kind, None)
    if kind in _BYTES:
        return Var(kind, value.asOctets())
    if kind is Kind.oid:
        return Var(kind, value.asTuple())
    return Var(kind, int(value))


# -- the session pool --------------------------------------------------------------------


class EnginePool:
    """Sessions for one event loop, every SNMP version on the shared UDP transport.

    Call :meth:`close` when done with it (the driver does, on shutdown).
    """

    def __init__(self, receive_buffer: int = 4 * 1024 * 1024) -> None:
        self.receive_buffer = receive_buffer
        self.udp = UdpDispatcher(receive_buffer)
        self.usm = UsmState()

    @contextlib.asynccontextmanager
    async def session(
        self, creds: Credentials, host: str, port: int, timeout: float, retries: int
    ) -> AsyncIterator[Session]:
        """A session to ``host:port`` (a name is resolved now, once per session)."""
        if creds.version != "3":
            yield await self.udp.session(creds, host, port, timeout, retries)
            return
        address = await self.udp.endpoint(host, port)
        target = f"{host}:{port}"
        yield UsmSession(self.udp, self.usm, creds, address, port, target, timeout, retries + 1)

    def close(self) -> None:
        self.udp.close()

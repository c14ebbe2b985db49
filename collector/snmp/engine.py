"""The pysnmp edge for SNMPv3, and the pool that opens every SNMP session.

:class:`EnginePool` is the driver's :class:`collector.snmp.walker.SessionPool`. It sends
**SNMP v1/v2c** through weibao's own codec and UDP transport
(:mod:`collector.snmp.ber`, :mod:`collector.snmp.udp`): pyasn1's BER decoder was ~70 %
of an inspection's CPU, and one shared socket with a request table keeps 1,000
requests in flight without losses. **SNMPv3** (USM, engine discovery, keys) stays on
pysnmp, here, and this module is the only one of the SNMP driver that imports pysnmp
(the trap listener has its own). On the pysnmp path MIB names are never resolved: the
command generators are driven directly with numeric OIDs (the high-level API's
``make_varbinds`` resolves every request OID through a MIB view even with
``lookupMib=False``, which doubles the cost).

pysnmp state is isolated here:

- **Engines** (``SnmpEngine``) are costly (~90 ms CPU, ~1 MB each) and hold USM state
  (discovered engine IDs, time windows, localized keys). Each distinct SNMPv3
  credential set gets its own engine, keyed by the credentials' fingerprint. Two
  devices with the same user name but different keys therefore never share USM rows,
  and a rotated key is a new fingerprint: it takes effect on the next inspection, with
  no stale localized key. Idle engines beyond ``max_engines`` are closed, least
  recently used first.
- **Discovered engine IDs**: pysnmp keeps a peer's engine ID for 5 minutes and keeps
  using it after the device was replaced or reset with a new one (the agent then drops
  every request). A v3 request that times out while an engine ID is cached for its
  target is sent once more after forgetting it (tested against snmpd).
- **Sockets**: each engine's IPv4 socket gets a large receive buffer, because at high
  concurrency the kernel's default one overflows and drops answers (seen as timeouts).
- **Errors** become :mod:`weibao.errors` here and only here (error-status values are
  translated by :func:`collector.snmp.udp.status_error` for both paths).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import warnings
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Kind, Var
from collector.snmp.udp import UdpDispatcher, status_error
from collector.snmp.walker import Session, Varbinds
from collector.sockets import size_receive_buffer
from weibao.errors import AuthError, ConnectError, InspectionError, ProtocolError, Timeout

with warnings.catch_warnings():
    # pysnmp 7.1 imports pysmi's camelCase names, which pysmi 2 deprecates; this happens
    # once, at import, and only when pysmi is installed (snmpsim brings it).
    warnings.filterwarnings(
        "ignore", r"\w+ is deprecated\. Please use \w+ instead", DeprecationWarning
    )
    from pyasn1.type import univ  # type: ignore[import-untyped]
    from pysnmp.carrier.asyncio.dgram import udp  # type: ignore[import-untyped]
    from pysnmp.entity import config  # type: ignore[import-untyped]
    from pysnmp.entity.rfc3413 import cmdgen  # type: ignore[import-untyped]
    from pysnmp.error import PySnmpError  # type: ignore[import-untyped]
    from pysnmp.hlapi.v3arch.asyncio import (  # type: ignore[import-untyped]
        SnmpEngine,
        Udp6TransportTarget,
        UdpTransportTarget,
        UsmUserData,
    )
    from pysnmp.hlapi.v3arch.asyncio.lcd import CommandGeneratorLcdConfigurator  # type: ignore[import-untyped]
    from pysnmp.proto import errind, rfc1902, rfc1905  # type: ignore[import-untyped]

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
    "aes192": config.USM_PRIV_CFB192_AES,
    "aes256": config.USM_PRIV_CFB256_AES,
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
_NULL = univ.Null("")


def to_var(value: Any) -> Var:
    kind = _KINDS.get(value.tagSet, Kind.opaque)
    if kind in _NONE:
        return Var(kind, None)
    if kind in _BYTES:
        return Var(kind, value.asOctets())
    if kind is Kind.oid:
        return Var(kind, value.asTuple())
    return Var(kind, int(value))


@dataclass
class _Engine:
    engine: Any  # pysnmp SnmpEngine
    lcd: Any = field(default_factory=CommandGeneratorLcdConfigurator)
    in_use: int = 0


class PysnmpSession:
    """A Session (see :mod:`collector.snmp.walker`) backed by a pysnmp engine."""

    _get = cmdgen.GetCommandGenerator()
    _next = cmdgen.NextCommandGeneratorSingleRun()
    _bulk = cmdgen.BulkCommandGeneratorSingleRun()

    def __init__(
        self,
        engine: Any,
        addr_name: str,
        creds: Credentials,
        target: str,
        peer: tuple[Any, Any] | None = None,
    ) -> None:
        self._engine = engine
        self._addr = addr_name
        self._peer = peer  # (transport domain, address) as pysnmp keys its engine-ID cache
        self._creds = creds
        self._context = creds.context.encode()
        self.version = creds.version
        self.target = target
        self.timeout = 0.0
        self.attempts = 1

    async def get(self, oids: Sequence[Oid]) -> Varbinds:
        return await self._send(self._get, oids)

    async def get_next(self, oids: Sequence[Oid]) -> Varbinds:
        return await self._send(self._next, oids)

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Varbinds:
        return await self._send(self._bulk, oids, 0, max_repetitions)

    async def _send(self, generator: Any, oids: Sequence[Oid], *bulk: int) -> Varbinds:
        indication, status, index, answer = await self._exchange(generator, oids, *bulk)
        if isinstance(indication, errind.RequestTimedOut) and self._forget_peer_engine():
            # pysnmp keeps a peer's engine ID for 5 minutes and goes on using it when the
            # device was replaced or reset (new engine ID): the agent then drops every
            # request. Forget it and discover again, once.
            indication, status, index, answer = await self._exchange(generator, oids, *bulk)
        if indication:
            raise self._indication_error(indication)
        if status:
            raise self._status_error(int(status), int(index), oids)
        return [(oid.asTuple(), to_var(value)) for oid, value in answer]

    def _forget_peer_engine(self) -> bool:
        if self.version != "3" or self._peer is None:
            return False
        model = self._engine.message_processing_subsystems.get(3)
        cache = getattr(model, "_SnmpV3MessageProcessingModel__engineIdCache", None)
        if not isinstance(cache, dict):
            return False  # pysnmp changed its internals: tests/integration will say so
        return cache.pop(self._peer, None) is not None

    async def _exchange(
        self, generator: Any, oids: Sequence[Oid], *bulk: int
    ) -> tuple[Any, int, int, Any]:
        future: asyncio.Future[tuple[Any, int, int, Any]] = (
            asyncio.get_running_loop().create_future()
        )
        varbinds = [(rfc1902.ObjectName(oid), _NULL) for oid in oids]
        try:
            generator.send_varbinds(
                self._engine, self._addr, None, self._context, *bulk, varbinds, _done, future
            )
        except PySnmpError as exc:
            raise ProtocolError(f"{self.target}: cannot send the request: {exc}") from None
        return await future

    def _indication_error(self, indication: Any) -> InspectionError:
        who = self._creds.describe()
        user = self._creds.user
        if isinstance(indication, errind.RequestTimedOut):
            if self._creds.version != "3":
                why = "the community is wrong (agents stay silent to a wrong community)"
            elif self._creds.priv_protocol:
                why = "priv_key or priv_protocol is wrong (agents drop what they cannot decrypt)"
            else:
                why = f"device ignores {who}"
            return Timeout(
                f"no answer from {self.target} within {self.timeout:g} s "
                f"({self.attempts} attempt(s)): the device is down, the port is closed or "
                f"filtered, or the {why}"
            )
        if isinstance(indication, errind.UnknownUserName | errind.UnknownSecurityName):
            return AuthError(f"{self.target} does not know SNMPv3 user {user!r}")
        if isinstance(
            indication,
            errind.WrongDigest | errind.AuthenticationFailure | errind.AuthenticationError,
        ):
            return AuthError(
                f"{self.target} rejected the authentication of {who}: wrong auth_key or "
                "auth_protocol"
            )
        if isinstance(indication, errind.DecryptionError):
            return AuthError(
                f"{self.target} could not decrypt our request ({who}): wrong priv_key or "
                "priv_protocol"
            )
        if isinstance(indication, errind.UnsupportedSecurityLevel):
            return AuthError(f"{self.target} does not accept {who} at this security level")
        if isinstance(indication, errind.UnknownEngineID | errind.NotInTimeWindow):
            return ProtocolError(
                f"SNMPv3 engine discovery with {self.target} failed ({indication})"
            )
        return ProtocolError(f"{self.target}: {indication}")

    def _status_error(self, status: int, index: int, oids: Sequence[Oid]) -> InspectionError:
        return status_error(self.target, self._creds, status, index, oids)


def _done(
    engine: Any, handle: Any, indication: Any, status: Any, index: Any, varbinds: Any, future: Any
) -> None:
    if not future.done():  # a request the walker gave up on (budget) may still answer
        future.set_result((indication, status, index, varbinds))


def _auth_data(creds: Credentials) -> Any:
    kwargs: dict[str, Any] = {}
    if creds.auth_protocol:
        kwargs["authKey"] = creds.auth_key
        kwargs["authProtocol"] = AUTH_PROTOCOLS[creds.auth_protocol]
    if creds.priv_protocol:
        kwargs["privKey"] = creds.priv_key
        kwargs["privProtocol"] = PRIV_PROTOCOLS[creds.priv_protocol]
    return UsmUserData(creds.user, **kwargs)


class EnginePool:
    """Sessions for one event loop: v1/v2c on the shared UDP transport, v3 on pysnmp.

    Call :meth:`close` when done with it (the driver does, on shutdown).
    """

    def __init__(self, max_engines: int = 64, receive_buffer: int = 4 * 1024 * 1024) -> None:
        self.max_engines = max_engines
        self.receive_buffer = receive_buffer
        self.udp = UdpDispatcher(receive_buffer)
        self._engines: OrderedDict[str, _Engine] = OrderedDict()
        self._lock = asyncio.Lock()

    def __len__(self) -> int:
        """pysnmp engines open (SNMPv3 credential sets); v1/v2c needs none."""
        return len(self._engines)

    @contextlib.asynccontextmanager
    async def session(
        self, creds: Credentials, host: str, port: int, timeout: float, retries: int
    ) -> AsyncIterator[Session]:
        """A session to ``host:port``; a v3 engine stays in use (not evicted) inside."""
        if creds.version != "3":
            yield await self.udp.session(creds, host, port, timeout, retries)
            return
        slot = await self._slot(creds)
        slot.in_use += 1
        try:
            target = await self._target(host, port, timeout, retries)
            auth = _auth_data(creds)
            try:
                addr_name, _ = slot.lcd.configure(slot.engine, auth, target, creds.context.encode())
            except PySnmpError as exc:
                raise ConnectError(f"cannot set up SNMP to {host}:{port}: {exc}") from None
            peer = (target.TRANSPORT_DOMAIN, target.transport_address)
            session = PysnmpSession(slot.engine, addr_name, creds, f"{host}:{port}", peer)
            session.timeout, session.attempts = timeout, retries + 1
            yield session
        finally:
            slot.in_use -= 1

    async def _target(self, host: str, port: int, timeout: float, retries: int) -> Any:
        try:
            is_v6 = ipaddress.ip_address(host).version == 6
        except ValueError:
            is_v6 = False
        kind = Udp6TransportTarget if is_v6 else UdpTransportTarget
        try:
            return await kind.create((host, port), timeout=timeout, retries=retries)
        except PySnmpError as exc:
            raise ConnectError(f"cannot resolve {host}: {exc}") from None

    async def _slot(self, creds: Credentials) -> _Engine:
        key = creds.fingerprint()
        async with self._lock:  # one engine per key even when many devices start at once
            slot = self._engines.get(key)
            if slot is None:
                # Building an engine loads pysnmp's internal MIBs (~90 ms CPU): off the loop.
                engine = await asyncio.to_thread(SnmpEngine)
                self._add_transport(engine)
                slot = self._engines[key] = _Engine(engine)
                self._evict()
            self._engines.move_to_end(key)
            return slot

    def _add_transport(self, engine: Any) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            size_receive_buffer(sock, self.receive_buffer)
            sock.bind(("0.0.0.0", 0))
            sock.setblocking(False)
            transport = udp.UdpAsyncioTransport().open_server_mode(sock=sock)
        except OSError:
            sock.close()
            raise
        config.add_transport(engine, udp.DOMAIN_NAME, transport)

    def _evict(self) -> None:
        for key in list(self._engines):
            if len(self._engines) <= self.max_engines:
                return
            slot = self._engines[key]
            if slot.in_use == 0:
                del self._engines[key]
                slot.engine.close_dispatcher()

    def close(self) -> None:
        self.udp.close()
        for slot in self._engines.values():
            slot.engine.close_dispatcher()
        self._engines.clear()

"""The pysnmp edge of the trap receiver: sockets, one engine, and a gate before it.

Nothing else in :mod:`collector.traps` imports pysnmp or pyasn1. Every datagram is
first read just far enough to know who claims to send it (:func:`read_header`: the
version and community, or the SNMPv3 engine ID and user) and handed to the *gate*,
which identifies the device and says yes or no. Only then does pysnmp process it,
synchronously in the same call, so we know whether it became a notification: an SNMPv3
message that pysnmp refuses (wrong key, stale time window) is counted, not lost silently.

pysnmp needs to know the sender's credentials before the message arrives. The gate
registers them on demand (:meth:`Listener.ensure_community`, :meth:`ensure_v3_user`):
a v2c community under an opaque index (a digest, never the community itself), an
SNMPv3 user under the engine ID the message carries. A trap sender is the
authoritative engine (RFC 3414), so its keys are localised to its own engine ID; learning
that ID from the message needs no engine ID in the inventory, and the HMAC still proves
the sender knows the key. Registrations are bounded and least recently used go first.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import ipaddress
import socket
import warnings
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Var
from collector.sockets import size_receive_buffer
from weibao.errors import WeibaoError

with warnings.catch_warnings():
    warnings.filterwarnings(
        "ignore", r"\w+ is deprecated\. Please use \w+ instead", DeprecationWarning
    )
    from pyasn1.codec.ber import decoder  # type: ignore[import-untyped]
    from pyasn1.error import PyAsn1Error  # type: ignore[import-untyped]
    from pysnmp.carrier.asyncio.dgram import udp, udp6  # type: ignore[import-untyped]
    from pysnmp.entity import config, engine  # type: ignore[import-untyped]
    from pysnmp.entity.rfc3413 import ntfrcv  # type: ignore[import-untyped]
    from pysnmp.error import PySnmpError  # type: ignore[import-untyped]
    from pysnmp.proto.api import PROTOCOL_MODULES, v1, v2c  # type: ignore[import-untyped]
    from pysnmp.proto.api.verdec import decode_message_version  # type: ignore[import-untyped]
    from pysnmp.proto.mpmod.rfc3412 import SNMPv3Message  # type: ignore[import-untyped]
    from pysnmp.proto.secmod.rfc3414.service import (  # type: ignore[import-untyped]
        UsmSecurityParameters,
    )

    from collector.snmp.engine import AUTH_PROTOCOLS, PRIV_PROTOCOLS, to_var

MAX_REGISTRATIONS = 4096
RECEIVE_BUFFER = 4 * 1024 * 1024  # a trap storm must not overflow the kernel's queue
_VERSIONS = {0: "1", 1: "2c", 3: "3"}
_NOTIFICATIONS = frozenset(
    {v1.TrapPDU.tagSet, v2c.SNMPv2TrapPDU.tagSet, v2c.InformRequestPDU.tagSet}
)
_RECEIVED = "rfc3412.receiveMessage:request"  # pysnmp's execution point holding the PDU


class ListenError(WeibaoError):
    """The receiver cannot listen where it was told to."""


@dataclass(frozen=True)
class Header:
    """Who a datagram says it comes from, read before any security processing."""

    version: str  # "1", "2c" or "3"
    community: bytes | None = None  # v1/v2c only: compared, never logged or kept
    notification: bool = True  # v1/v2c: a trap or inform PDU (v3 PDUs are encrypted)
    engine_id: bytes = b""  # v3: msgAuthoritativeEngineID
    user: str = ""  # v3: msgUserName


def read_header(datagram: bytes) -> Header | None:
    """The header of an SNMP message, or None when it is not one we can read."""
    try:
        number = int(decode_message_version(datagram))
        if number in (0, 1):
            module = PROTOCOL_MODULES[number]
            message, _ = decoder.decode(datagram, asn1Spec=module.Message())
            pdu = module.apiMessage.get_pdu(message)
            return Header(
                _VERSIONS[number],
                community=bytes(module.apiMessage.get_community(message)),
                notification=pdu.tagSet in _NOTIFICATIONS,
            )
        if number == 3:
            message, _ = decoder.decode(datagram, asn1Spec=SNMPv3Message())
            if int(message.getComponentByPosition(1).getComponentByPosition(3)) != 3:
                return None  # a security model other than USM
            params, _ = decoder.decode(
                bytes(message.getComponentByPosition(2)), asn1Spec=UsmSecurityParameters()
            )
            user = bytes(params.getComponentByPosition(3)).decode("utf-8", "replace")
            return Header("3", engine_id=bytes(params.getComponentByPosition(0)), user=user)
    except (PyAsn1Error, PySnmpError, ValueError, KeyError, IndexError, TypeError):
        return None
    return None


def host_of(address: Any) -> str:
    """The sender's IP as text; an IPv4-mapped IPv6 address becomes plain IPv4."""
    host = str(address[0]).split("%", 1)[0]
    with contextlib.suppress(ValueError):
        ip = ipaddress.ip_address(host)
        if ip.version == 6 and ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ip)
    return host


Gate = Callable[[Header | None, str], object | None]
Deliver = Callable[[object, list[tuple[Oid, Var]], bool], None]
Refused = Callable[[object], None]


class Listener:
    """UDP sockets and a pysnmp notification receiver behind a gate.

    ``gate(header, host)`` returns a ticket (any object) to let the datagram through,
    or None to drop it (``header`` is None for what is not SNMP at all).
    ``deliver(ticket, varbinds, inform)`` gets each notification that came through;
    ``refused(ticket)`` each admitted datagram pysnmp did not accept.
    """

    def __init__(self, gate: Gate, deliver: Deliver, refused: Refused) -> None:
        self._gate = gate
        self._deliver = deliver
        self._refused = refused
        self._engine: Any = None
        self._receiver: Any = None
        self._ticket: object | None = None
        self._delivered = False
        self._communities: OrderedDict[str, None] = OrderedDict()
        self._users: OrderedDict[tuple[bytes, str], str] = OrderedDict()
        self._masters: OrderedDict[str, dict[str, Any]] = OrderedDict()

    async def open(self, addresses: list[tuple[str, int]]) -> list[tuple[str, int]]:
        """Listen on every ``(host, port)``; returns them with the ports really bound."""
        # Building an engine loads pysnmp's internal MIBs (~90 ms of CPU): off the loop.
        self._engine = await asyncio.to_thread(engine.SnmpEngine)
        self._receiver = ntfrcv.NotificationReceiver(self._engine, self._on_notification)
        bound = []
        try:
            for position, (host, port) in enumerate(addresses):
                bound.append(self._add_socket(position, host, port))
        except BaseException:
            self.close()
            raise
        return bound

    def close(self) -> None:
        if self._engine is None:
            return
        if self._receiver is not None:
            self._receiver.close(self._engine)
        self._engine.close_dispatcher()
        self._engine = self._receiver = None

    def _add_socket(self, position: int, host: str, port: int) -> tuple[str, int]:
        v6 = ":" in host
        family = socket.AF_INET6 if v6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            size_receive_buffer(sock, RECEIVE_BUFFER)
            sock.bind((host, port))
            sock.setblocking(False)
        except OSError as exc:
            sock.close()
            hint = ""
            if port < 1024:
                hint = (
                    f"; ports below 1024 need root or CAP_NET_BIND_SERVICE: grant it "
                    f"(AmbientCapabilities=CAP_NET_BIND_SERVICE) or listen on a high port "
                    f"such as {host}:1162 and forward {port} to it"
                )
            message = f"cannot listen for traps on {host}:{port}: {exc.strerror}{hint}"
            raise ListenError(message) from None
        transport = (_GatedUdp6 if v6 else _GatedUdp)().open_server_mode(sock=sock)
        transport.listener = self
        domain = (udp6.DOMAIN_NAME if v6 else udp.DOMAIN_NAME) + (position + 1,)
        config.add_transport(self._engine, domain, transport)
        return host, int(sock.getsockname()[1])

    # -- credentials, registered on demand ----------------------------------------------

    def ensure_community(self, community: str) -> None:
        index = "c" + hashlib.sha256(community.encode()).hexdigest()[:24]
        if index in self._communities:
            self._communities.move_to_end(index)
            return
        config.add_v1_system(self._engine, index, community, securityName=index)
        self._communities[index] = None
        if len(self._communities) > MAX_REGISTRATIONS:
            old, _ = self._communities.popitem(last=False)
            config.delete_v1_system(self._engine, old)

    def ensure_v3_user(self, engine_id: bytes, creds: Credentials) -> bool:
        """Register ``creds`` for ``engine_id``; a changed key replaces the old row.

        False when pysnmp refuses the engine ID (malformed). The costly part of key
        localisation (hashing the passphrase, ~8 ms) is done once per key, so learning
        another engine ID costs ~4 ms.
        """
        assert creds.user is not None
        key = (engine_id, creds.user)
        fingerprint = creds.fingerprint()
        if self._users.get(key) == fingerprint:
            self._users.move_to_end(key)
            return True
        try:
            config.add_v3_user(
                self._engine, creds.user, securityEngineId=engine_id, **self._master(creds)
            )
        except (PySnmpError, PyAsn1Error, ValueError):
            return False
        self._users[key] = fingerprint
        self._users.move_to_end(key)
        if len(self._users) > MAX_REGISTRATIONS:
            (old_engine, old_user), _ = self._users.popitem(last=False)
            config.delete_v3_user(self._engine, old_user, securityEngineId=old_engine)
        return True

    def _master(self, creds: Credentials) -> dict[str, Any]:
        """``add_v3_user`` keyword arguments with master keys, cached per credential set."""
        fingerprint = creds.fingerprint()
        found = self._masters.get(fingerprint)
        if found is None:
            found = {}
            auth = AUTH_PROTOCOLS.get(creds.auth_protocol or "")
            if auth is not None:
                found["authProtocol"] = auth
                found["authKeyType"] = config.USM_KEY_TYPE_MASTER
                found["authKey"] = config.AUTH_SERVICES[auth].hash_passphrase(
                    (creds.auth_key or "").encode()
                )
                priv = PRIV_PROTOCOLS.get(creds.priv_protocol or "")
                if priv is not None:
                    found["privProtocol"] = priv
                    found["privKeyType"] = config.USM_KEY_TYPE_MASTER
                    found["privKey"] = config.PRIV_SERVICES[priv].hash_passphrase(
                        auth, (creds.priv_key or "").encode()
                    )
            self._masters[fingerprint] = found
            if len(self._masters) > MAX_REGISTRATIONS:
                self._masters.popitem(last=False)
        self._masters.move_to_end(fingerprint)
        return found

    # -- the datagram path ---------------------------------------------------------------

    def datagram(self, transport: Any, datagram: bytes, address: Any) -> None:
        ticket = self._gate(read_header(datagram), host_of(address))
        if ticket is None:
            return
        self._ticket, self._delivered = ticket, False
        try:
            transport._callback_function(transport, address, datagram)
        except PySnmpError:
            pass  # pysnmp could not process it: counted as refused below
        finally:
            delivered, self._ticket = self._delivered, None
        if not delivered:
            self._refused(ticket)

    def _on_notification(
        self, snmp_engine: Any, state: Any, engine_id: Any, context: Any, varbinds: Any, _: Any
    ) -> None:
        if self._ticket is None:
            return  # cannot happen: pysnmp calls back inside datagram()
        self._delivered = True
        received = snmp_engine.observer.get_execution_context(_RECEIVED) or {}
        pdu = received.get("pdu")
        inform = pdu is not None and pdu.tagSet == v2c.InformRequestPDU.tagSet
        items = [(oid.asTuple(), to_var(value)) for oid, value in varbinds]
        self._deliver(self._ticket, items, inform)


class _Gated:
    """Hands each datagram to the listener at once, instead of pysnmp's ``call_soon``."""

    listener: Listener

    def datagram_received(self, datagram: bytes, address: Any) -> None:
        self.listener.datagram(self, datagram, address)


class _GatedUdp(_Gated, udp.UdpAsyncioTransport):  # type: ignore[misc]
    pass


class _GatedUdp6(_Gated, udp6.Udp6AsyncioTransport):  # type: ignore[misc]
    pass

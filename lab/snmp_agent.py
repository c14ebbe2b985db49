"""One simulated SNMP agent per lab device, on pysnmp's command responder.

Each device gets its own ``SnmpEngine`` (its own engine ID, as a real agent has), its
own UDP socket on its loopback address, the community or SNMPv3 user of its fleet entry,
and a MIB "instrumentation" that answers GET, GETNEXT and GETBULK from the device's
:class:`~lab.live.LiveTable`. A wrong community or key gets no answer, as from a real
agent; a device marked ``silent`` drops every datagram, like one that is switched off.

Why not snmpsim: it selects data files per endpoint through transport-ID and hashed
context names, re-reads a changed data file only when its mtime (in whole seconds)
changes, logs the SNMPv3 keys it serves, and refuses to run as root; this module is
~150 lines over the same pysnmp, with the values in memory (see docs/lab.md).
"""

from __future__ import annotations

import hashlib
import socket
import time
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from lab.live import LiveTable
from lab.mibs import Kind, Oid, Value
from weibao.inventory.model import SnmpInspection

with warnings.catch_warnings():
    # As in collector/snmp/engine.py: pysnmp 7.1 imports pysmi's deprecated camelCase names.
    warnings.filterwarnings(
        "ignore", r"\w+ is deprecated\. Please use \w+ instead", DeprecationWarning
    )
    from pysnmp.carrier.asyncio.dgram import udp  # type: ignore[import-untyped]
    from pysnmp.entity import config, engine  # type: ignore[import-untyped]
    from pysnmp.entity.rfc3413 import cmdrsp, context  # type: ignore[import-untyped]
    from pysnmp.proto import rfc1902  # type: ignore[import-untyped]
    from pysnmp.smi import exval  # type: ignore[import-untyped]

AUTH = {
    "md5": config.USM_AUTH_HMAC96_MD5,
    "sha": config.USM_AUTH_HMAC96_SHA,
    "sha224": config.USM_AUTH_HMAC128_SHA224,
    "sha256": config.USM_AUTH_HMAC192_SHA256,
    "sha384": config.USM_AUTH_HMAC256_SHA384,
    "sha512": config.USM_AUTH_HMAC384_SHA512,
}
PRIV = {
    "des": config.USM_PRIV_CBC56_DES,
    "aes": config.USM_PRIV_CFB128_AES,
    "aes128": config.USM_PRIV_CFB128_AES,
    "aes192": config.USM_PRIV_CFB192_AES,
    "aes256": config.USM_PRIV_CFB256_AES,
}
_TYPES: dict[Kind, Callable[[Any], Any]] = {
    Kind.integer: rfc1902.Integer32,
    Kind.octets: lambda v: rfc1902.OctetString(v.encode("utf-8") if isinstance(v, str) else v),
    Kind.oid: rfc1902.ObjectIdentifier,
    Kind.ip: rfc1902.IpAddress,
    Kind.counter32: rfc1902.Counter32,
    Kind.gauge32: rfc1902.Gauge32,
    Kind.ticks: rfc1902.TimeTicks,
    Kind.counter64: rfc1902.Counter64,
}


def to_pysnmp(value: Value) -> Any:
    return _TYPES[value.kind](value.value)


def engine_id(name: str) -> bytes:
    """A stable engine ID per device: net-snmp's enterprise, text format, a name digest."""
    return (
        b"\x80\x00\x1f\x88\x04" + b"lab-" + hashlib.sha256(name.encode()).hexdigest()[:16].encode()
    )


class _Instrumentation:
    """What pysnmp's command responders call to read values (SET is refused)."""

    def __init__(self, agent: SnmpAgent) -> None:
        self._agent = agent

    def read_variables(self, *var_binds: Any, **_: Any) -> list[tuple[Any, Any]]:
        table, now = self._agent.table, self._agent.clock()
        out = []
        for name, _value in var_binds:
            found = table.get(tuple(name), now)
            out.append((name, exval.noSuchInstance if found is None else to_pysnmp(found)))
        return out

    def read_next_variables(self, *var_binds: Any, **_: Any) -> list[tuple[Any, Any]]:
        table, now = self._agent.table, self._agent.clock()
        out = []
        for name, _value in var_binds:
            found = table.next(tuple(name), now)
            if found is None:
                out.append((name, exval.endOfMib))
            else:
                out.append((rfc1902.ObjectName(found[0]), to_pysnmp(found[1])))
        return out

    def write_variables(self, *var_binds: Any, **_: Any) -> list[tuple[Any, Any]]:
        return [(name, exval.noSuchInstance) for name, _value in var_binds]


class _Transport(udp.UdpAsyncioTransport):  # type: ignore[misc]
    """pysnmp's UDP server transport; drops everything while the device is silent."""

    def __init__(self, agent: SnmpAgent) -> None:
        super().__init__()
        self._agent = agent

    def datagram_received(self, datagram: bytes, transport_address: Any) -> None:
        if not self._agent.silent:
            super().datagram_received(datagram, transport_address)


class SnmpAgent:
    """A device's SNMP agent; ``start`` binds and configures, ``close`` stops it.

    Runs in the event loop that calls ``start``; ``update`` swaps what it answers.
    """

    def __init__(
        self,
        name: str,
        snmp: SnmpInspection,
        host: str,
        port: int,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        boots: int = 1,
    ) -> None:
        self.name = name
        self.boots = boots
        self.snmp = snmp
        self.host, self.port = host, port
        self.environ = environ
        self.clock = clock
        self.table = LiveTable({}, clock())
        self.silent = False
        self._engine: Any = None
        self._sock: socket.socket | None = None

    def start(self) -> tuple[str, int]:
        """Bind the socket (port 0: a free one) and answer; returns the bound address.

        Raises SecretMissing when a credential reference cannot be read, OSError when the
        address cannot be bound.
        """
        credentials = self._credentials()
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the lab is IPv4 only
        try:
            sock.bind((self.host, self.port))
        except OSError:
            sock.close()
            raise
        self.port = sock.getsockname()[1]
        self._sock = sock
        eng = self._engine_with_identity()
        config.add_transport(eng, udp.DOMAIN_NAME, _Transport(self).open_server_mode(sock=sock))
        credentials(eng)
        snmp_context = context.SnmpContext(eng)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", _Instrumentation(self))
        for responder in (
            cmdrsp.GetCommandResponder,
            cmdrsp.NextCommandResponder,
            cmdrsp.BulkCommandResponder,
        ):
            responder(eng, snmp_context)
        self._engine = eng
        return self.host, self.port

    def _engine_with_identity(self) -> Any:
        """An engine with this device's engine ID and the lab's boot count.

        Set after construction: given to ``SnmpEngine()``, a custom engine ID makes pysnmp
        keep a boots file under /tmp (and leak its handle). Boots count up per lab start,
        so a v3 manager that remembers the engine sees a restart, as RFC 3414 wants.
        """
        eng = engine.SnmpEngine()
        builder = eng.get_mib_builder()
        (engine_id_symbol,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineID")
        engine_id_symbol.syntax = engine_id_symbol.syntax.clone(engine_id(self.name))
        eng.snmpEngineID = engine_id_symbol.syntax
        (boots,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
        boots.syntax = boots.syntax.clone(self.boots)
        return eng

    def _credentials(self) -> Callable[[Any], None]:
        """Resolve the secrets now (so a missing one fails before binding)."""
        snmp, env = self.snmp, self.environ
        if snmp.version in ("1", "2c"):
            assert snmp.community is not None  # the model requires it
            community = snmp.community.resolve(env)
            return lambda eng: config.add_v1_system(eng, "lab", community)
        auth_key = snmp.auth_key.resolve(env) if snmp.auth_key is not None else None
        priv_key = snmp.priv_key.resolve(env) if snmp.priv_key is not None else None
        auth = AUTH[snmp.auth_protocol] if snmp.auth_protocol else config.USM_AUTH_NONE
        priv = PRIV[snmp.priv_protocol] if snmp.priv_protocol else config.USM_PRIV_NONE

        def add_user(eng: Any) -> None:
            config.add_v3_user(eng, snmp.user, auth, auth_key, priv, priv_key)

        return add_user

    def update(self, entries: Mapping[Oid, Any], silent: bool) -> None:
        self.table = LiveTable(entries, self.clock(), self.table)
        self.silent = silent

    def close(self) -> None:
        if self._engine is not None:
            self._engine.close_dispatcher()
            self._engine = None
        if self._sock is not None:
            # pysnmp adopts the socket only once the event loop has run; a lab that fails
            # to start closes its agents before that.
            self._sock.close()
            self._sock = None

"""SNMP over asyncio UDP: one socket per address family for every session, any version.

Why not pysnmp here: its BER decoding and dispatch cost ~15 ms CPU per device, and at
high concurrency answers were lost in the kernel's receive buffer (see
``bench/snmp/README.md``). This transport is :mod:`collector.snmp.ber` plus a request
table:

- **one socket per address family**, opened on first use with a large ``SO_RCVBUF``
  (what the kernel granted is checked and logged when it is less, because an
  overflowing buffer turns into "timeouts" the devices did not cause);
- **request-id -> pending request** in a dict: random 31-bit ids never reused while in
  flight; an answer counts only when its request-id, source address and port, version
  and community all match, anything else is a stray (counted, ignored);
- **SNMPv3** answers are matched by msgID and handed to the session's ``accept``
  (:mod:`collector.snmp.usm`: authentication, decryption, reports);
- **timeout and retries per request** as in the inventory: the same message (same
  request-id) is sent again after ``timeout``, up to ``retries`` more times, so a late
  answer to an earlier attempt is still taken. Timers are loop callbacks, not tasks.

:class:`UdpSession` implements :class:`collector.snmp.walker.Session` for v1/v2c (and
:class:`collector.snmp.usm.UsmSession` for v3), raising :mod:`weibao.errors` without
secrets in messages.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import random
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from collector.snmp import ber, usm_message
from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid, format_oid
from collector.snmp.walker import NoSuchName, ResponseTooBig, Varbinds
from collector.sockets import size_receive_buffer
from weibao.errors import AuthError, ConnectError, InspectionError, ProtocolError, Timeout
from weibao.logs import log_event

log = logging.getLogger(__name__)

ERROR_STATUS = {
    1: "tooBig",
    2: "noSuchName",
    3: "badValue",
    4: "readOnly",
    5: "genErr",
    6: "noAccess",
    16: "authorizationError",
}

Outcome = ber.Response | InspectionError | None  # None: no answer after every attempt


@dataclass
class UdpStats:
    """Counters for the whole transport (a benchmark or a debug log reads them)."""

    sent: int = 0
    resent: int = 0
    answered: int = 0
    timed_out: int = 0
    strays: int = 0  # well-formed, but no request in flight matches it
    malformed: int = 0  # not decodable and not traceable to a request


Accept = Callable[[bytes], Outcome]
"""For SNMPv3: turns an answer whose msgID matches into an outcome (None: not ours)."""


class _Pending:
    __slots__ = (
        "accept",
        "attempts",
        "community",
        "future",
        "host",
        "message",
        "port",
        "timer",
        "version",
    )

    def __init__(
        self, host: str, port: int, version: int, community: bytes, accept: Accept | None
    ) -> None:
        self.host, self.port = host, port
        self.version, self.community = version, community
        self.accept = accept
        self.future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self.message = b""
        self.attempts = 0
        self.timer: asyncio.TimerHandle | None = None


class _Endpoint(asyncio.DatagramProtocol):
    """One socket; answers go to the dispatcher's request table."""

    def __init__(self, dispatcher: UdpDispatcher) -> None:
        self.dispatcher = dispatcher

    def datagram_received(self, data: bytes, addr: tuple[str | int, ...]) -> None:
        self.dispatcher.received(data, str(addr[0]), int(addr[1]))

    def error_received(self, exc: Exception) -> None:
        # Unconnected UDP sockets on Linux do not report ICMP errors per peer, and send
        # errors are raised at sendto: nothing here can be tied to a request.
        log_event(log, "snmp.udp.socket_error", logging.DEBUG, error=str(exc))


class UdpDispatcher:
    """Sends requests and matches answers for every SNMP session of one event loop.

    v1/v2c answers are matched here (request-id, version, community); SNMPv3 answers by
    msgID, then handed to the request's ``accept`` (:mod:`collector.snmp.usm`), which
    authenticates and decrypts them.
    """

    def __init__(self, receive_buffer: int = 4 * 1024 * 1024) -> None:
        self.receive_buffer = receive_buffer
        self.stats = UdpStats()
        self._pending: dict[int, _Pending] = {}
        self._sockets: dict[int, tuple[socket.socket, asyncio.DatagramTransport]] = {}
        self._lock = asyncio.Lock()
        self._ids = random.Random()  # seeded from os.urandom

    @property
    def in_flight(self) -> int:
        return len(self._pending)

    async def session(
        self, creds: Credentials, host: str, port: int, timeout: float, retries: int
    ) -> UdpSession:
        """A v1/v2c session to ``host:port`` (a name is resolved now, once per session)."""
        address = await self.endpoint(host, port)
        return UdpSession(self, creds, address, port, f"{host}:{port}", timeout, retries + 1)

    async def endpoint(self, host: str, port: int) -> str:
        """The numeric address of ``host``, with the socket for its family open."""
        family, address = await _resolve(host, port)
        if family not in self._sockets:
            async with self._lock:
                if family not in self._sockets:
                    self._sockets[family] = await self._open(family)
        return address

    async def _open(self, family: int) -> tuple[socket.socket, asyncio.DatagramTransport]:
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            granted = size_receive_buffer(sock, self.receive_buffer)
            sock.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", 0))
            sock.setblocking(False)
            transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
                lambda: _Endpoint(self), sock=sock
            )
        except OSError:
            sock.close()
            raise
        if granted < self.receive_buffer:  # Linux reports twice what it allows for data
            log_event(
                log,
                "snmp.udp.receive_buffer_small",
                logging.WARNING,
                requested=self.receive_buffer,
                granted=granted,
                hint="raise the sysctl net.core.rmem_max (or grant CAP_NET_ADMIN), or "
                "answers may be dropped at high concurrency",
            )
        return sock, transport

    async def request(
        self,
        host: str,
        port: int,
        version: int,
        community: bytes,
        encode: Callable[[int], bytes],
        timeout: float,
        attempts: int,
        accept: Accept | None = None,
    ) -> Outcome:
        """Send ``encode(request_id)`` up to ``attempts`` times; the answer, or None.

        With ``accept`` (SNMPv3), ``request_id`` is also the msgID and answers go to it.
        """
        pending = _Pending(host, port, version, community, accept)
        request_id = self._ids.getrandbits(31)
        while request_id in self._pending:
            request_id = self._ids.getrandbits(31)
        pending.message = encode(request_id)
        pending.attempts = attempts
        self._pending[request_id] = pending
        try:
            self._send(pending, timeout)
            return await pending.future
        finally:
            del self._pending[request_id]
            if pending.timer is not None:
                pending.timer.cancel()

    def _send(self, pending: _Pending, timeout: float) -> None:
        pending.attempts -= 1
        family = socket.AF_INET6 if ":" in pending.host else socket.AF_INET
        if family not in self._sockets:  # a session kept past close()
            pending.future.set_result(ConnectError("the SNMP transport was closed"))
            return
        sock, transport = self._sockets[family]
        try:
            sock.sendto(pending.message, (pending.host, pending.port))
        except BlockingIOError:  # send buffer full: the transport queues it
            transport.sendto(pending.message, (pending.host, pending.port))
        except OSError as exc:
            error = ConnectError(f"cannot send to {pending.host}:{pending.port}: {exc.strerror}")
            pending.future.set_result(error)
            return
        self.stats.sent += 1
        pending.timer = asyncio.get_running_loop().call_later(
            timeout, self._expire, pending, timeout
        )

    def _expire(self, pending: _Pending, timeout: float) -> None:
        if pending.future.done():
            return
        if pending.attempts > 0:
            self.stats.resent += 1
            self._send(pending, timeout)
        else:
            self.stats.timed_out += 1
            pending.future.set_result(None)

    def received(self, data: bytes, host: str, port: int) -> None:
        msg_id = usm_message.peek_msg_id(data)
        if msg_id is not None:
            self._received_v3(msg_id, data, host, port)
            return
        try:
            response = ber.decode_response(data)
        except ProtocolError as exc:
            request_id = ber.peek_request_id(data)
            pending = None if request_id is None else self._pending.get(request_id)
            if pending is None or (pending.host, pending.port) != (host, port):
                self.stats.malformed += 1
                return
            target = f"{host}:{port}"
            self._settle(pending, ProtocolError(f"{target} sent an unreadable answer: {exc}"))
            return
        pending = self._pending.get(response.request_id)
        if (
            pending is None
            or pending.future.done()  # a second answer, to a resent request
            or pending.port != port
            or pending.host != host
            or pending.version != response.version
            or pending.community != response.community
        ):
            self.stats.strays += 1
            return
        self.stats.answered += 1
        pending.future.set_result(response)

    def _received_v3(self, msg_id: int, data: bytes, host: str, port: int) -> None:
        pending = self._pending.get(msg_id)
        if (
            pending is None
            or pending.accept is None
            or pending.future.done()
            or pending.port != port
            or pending.host != host
        ):
            self.stats.strays += 1
            return
        outcome = pending.accept(data)
        if outcome is None:  # failed authentication, or outside the time window
            self.stats.strays += 1
            return
        self.stats.answered += 1
        pending.future.set_result(outcome)

    @staticmethod
    def _settle(pending: _Pending, outcome: Outcome) -> None:
        if not pending.future.done():
            pending.future.set_result(outcome)

    def close(self) -> None:
        for pending in self._pending.values():
            self._settle(pending, ConnectError("the SNMP transport was closed"))
        for _, transport in self._sockets.values():
            transport.close()
        self._sockets.clear()


class UdpSession:
    """A :class:`collector.snmp.walker.Session` for SNMP v1/v2c over the dispatcher."""

    def __init__(
        self,
        dispatcher: UdpDispatcher,
        creds: Credentials,
        address: str,
        port: int,
        target: str,
        timeout: float,
        attempts: int,
    ) -> None:
        if creds.version not in ber.VERSIONS or creds.community is None:
            raise ValueError("UdpSession serves SNMP v1/v2c with a community only")
        self._dispatcher = dispatcher
        self._creds = creds
        self._address, self._port = address, port
        self._version = ber.VERSIONS[creds.version]
        self._community = creds.community.encode()
        self.version = creds.version
        self.target = target
        self.timeout = timeout
        self.attempts = attempts

    async def get(self, oids: Sequence[Oid]) -> Varbinds:
        return await self._send(ber.GET, oids)

    async def get_next(self, oids: Sequence[Oid]) -> Varbinds:
        return await self._send(ber.GET_NEXT, oids)

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Varbinds:
        if self._version == 0:
            raise ProtocolError(f"{self.target}: SNMPv1 has no GETBULK")
        return await self._send(ber.GET_BULK, oids, max_repetitions)

    async def _send(self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0) -> Varbinds:
        version, community = self._version, self._community

        def encode(request_id: int) -> bytes:
            return ber.encode_request(version, community, pdu, request_id, oids, 0, max_repetitions)

        try:  # encode() runs before anything is sent; only it raises ValueError
            outcome = await self._dispatcher.request(
                self._address, self._port, version, community, encode, self.timeout, self.attempts
            )
        except ValueError as exc:
            raise ProtocolError(f"{self.target}: cannot send the request: {exc}") from None
        if outcome is None:
            raise Timeout(
                f"no answer from {self.target} within {self.timeout:g} s ({self.attempts} "
                "attempt(s)): the device is down, the port is closed or filtered, an ACL "
                "on the device does not admit this collector, or the community is wrong "
                "(agents stay silent to a wrong community)"
            )
        if isinstance(outcome, InspectionError):
            raise outcome
        if outcome.error_status:
            raise status_error(
                self.target, self._creds, outcome.error_status, outcome.error_index, oids
            )
        return outcome.varbinds


def status_error(
    target: str, creds: Credentials, status: int, index: int, oids: Sequence[Oid]
) -> InspectionError:
    """Our error for an answer's non-zero error-status (``index`` is 1-based, as sent)."""
    name = ERROR_STATUS.get(status, f"error {status}")
    where = f" at {format_oid(oids[index - 1])}" if 0 < index <= len(oids) else ""
    if status == 1:
        return ResponseTooBig(f"{target} answered tooBig for {len(oids)} OIDs")
    if status == 2:
        return NoSuchName(f"{target} answered noSuchName{where}", index - 1)
    if status in (6, 16):
        hint = ""
        if creds.version == "3" and not creds.priv_protocol:
            hint = ": the device's access rule may require a higher security level (priv_protocol)"
        return AuthError(f"{target} refused access ({name}{where}) to {creds.describe()}{hint}")
    return ProtocolError(f"{target} answered {name}{where}")


async def _resolve(host: str, port: int) -> tuple[int, str]:
    """(address family, numeric address) of ``host``; ConnectError when it has none."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return (socket.AF_INET6 if ip.version == 6 else socket.AF_INET), str(ip)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise ConnectError(f"cannot resolve {host}: {exc.strerror or exc}") from None
    for family, _, _, _, sockaddr in infos:
        if family in (socket.AF_INET, socket.AF_INET6):
            return family, str(sockaddr[0])
    raise ConnectError(f"cannot resolve {host}: no IPv4 or IPv6 address")

"""SNMPv3 sessions with our own User-based Security Model (RFC 3414), over the shared UDP
transport of v1/v2c (:mod:`collector.snmp.udp`).

What a manager (the non-authoritative side) must do, and where it happens here:

- **Engine ID discovery** (RFC 3414 4): a request with no user, no engine ID and the
  reportable flag; the agent answers with a Report (usmStatsUnknownEngineIDs) carrying
  its engine ID, boots and time. Once per device address, shared by every user and
  every concurrent inspection (:meth:`UsmState.peer`).
- **Time window** (RFC 3414 2.3, 3.2.7): the agent's boots and time are tracked per
  device and advanced by the local clock. An authenticated answer updates them only
  forwards; one older than the window (150 s) is discarded. A notInTimeWindow Report
  that authenticates (after a reboot: boots changed) resets them, and the request is
  sent again once.
- **A device replaced or reset** (new engine ID): its usmStatsUnknownEngineIDs Report,
  or silence from an address whose engine ID we hold, makes us rediscover once and
  send again with keys localized to the new engine ID.
- **Keys**: :class:`collector.snmp.usm_crypto.KeyCache` (the 1 MiB password hash once
  per password, localization once per engine ID).
- **Answers** are matched by msgID (the dispatcher), then here: the HMAC is checked
  over the message (an answer that fails it is dropped, as the RFC says, and counted
  as a stray), the scoped PDU decrypted, the request-id and security level compared.
- **Reports** become :mod:`weibao.errors` naming the setting to fix (``user``,
  ``auth_key``/``auth_protocol``, ``priv_key``/``priv_protocol``, the security level,
  ``context``); never a key or a password.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from collector.snmp import ber
from collector.snmp.credentials import Credentials
from collector.snmp.oid import Oid, format_oid
from collector.snmp.udp import Outcome, UdpDispatcher, status_error
from collector.snmp.usm_crypto import KeyCache, LocalizedKeys
from collector.snmp.usm_message import (
    AUTH_FLAG,
    DECRYPTION_ERRORS,
    NOT_IN_TIME_WINDOWS,
    PRIV_FLAG,
    REPORTABLE_FLAG,
    UNKNOWN_ENGINE_IDS,
    UNKNOWN_USER_NAMES,
    UNSUPPORTED_SEC_LEVELS,
    WRONG_DIGESTS,
    decode_message,
    decode_scoped_pdu,
    encode_message,
    encode_scoped_pdu,
)
from collector.snmp.walker import Varbinds
from weibao.errors import AuthError, InspectionError, ProtocolError, Timeout

TIME_WINDOW = 150  # seconds (RFC 3414 2.2.3)
MAX_BOOTS = 2**31 - 1  # a latched engine (RFC 3414 2.2.2)
_UNKNOWN_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 5, 0)  # snmpUnknownContexts
_UNAVAILABLE_CONTEXTS = (1, 3, 6, 1, 6, 3, 12, 1, 4, 0)
_LEVEL_FLAGS = AUTH_FLAG | PRIV_FLAG


@dataclass
class PeerEngine:
    """What we know of one agent's engine (the authoritative one)."""

    engine_id: bytes
    boots: int
    time: int  # engine time when ``at`` was our clock
    at: float
    latest: int  # latestReceivedEngineTime (RFC 3414 2.3)

    def now(self, clock: float) -> int:
        return min(self.time + int(clock - self.at), MAX_BOOTS)


class UsmReport(ProtocolError):
    """An agent's Report PDU (usmStats...): the session turns it into a clear error or
    acts on it (rediscovery, time synchronization)."""

    def __init__(
        self, target: str, oid: Oid, engine_id: bytes, boots: int, time: int, authentic: bool
    ) -> None:
        super().__init__(f"{target} reported {format_oid(oid)}")
        self.oid, self.engine_id = oid, engine_id
        self.boots, self.time, self.authentic = boots, time, authentic


class UsmState:
    """An SNMPv3 manager's memory for one event loop: engines of the agents, keys, salt."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.keys = KeyCache()
        self.peers: dict[tuple[str, int], PeerEngine] = {}
        self._discovering: dict[tuple[str, int], asyncio.Future[PeerEngine]] = {}
        self._salt = random.SystemRandom().getrandbits(64)
        self.discoveries = 0

    def next_salt(self) -> int:
        self._salt = (self._salt + 1) % 2**64
        return self._salt

    async def peer(
        self, dispatcher: UdpDispatcher, address: str, port: int, target: str, timeout: float,
        attempts: int,
    ) -> PeerEngine:  # fmt: skip
        """The agent's engine, discovered once; concurrent callers share one discovery."""
        key = (address, port)
        known = self.peers.get(key)
        if known is not None:
            return known
        running = self._discovering.get(key)
        if running is not None:
            return await asyncio.shield(running)
        future: asyncio.Future[PeerEngine] = asyncio.get_running_loop().create_future()
        self._discovering[key] = future
        try:
            found = await self.discover(dispatcher, address, port, target, timeout, attempts)
            if found is None:
                raise Timeout(
                    f"no answer from {target} to SNMPv3 engine discovery within {timeout:g} s "
                    f"({attempts} attempt(s)): the device is down, the port is closed or "
                    "filtered, or an ACL on the device does not admit this collector"
                )
            self.peers[key] = found
            future.set_result(found)
            return found
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody waits
            raise
        finally:
            del self._discovering[key]

    async def discover(
        self, dispatcher: UdpDispatcher, address: str, port: int, target: str, timeout: float,
        attempts: int,
    ) -> PeerEngine | None:  # fmt: skip
        """Ask the agent for its engine ID, boots and time; None when it stays silent."""

        def encode(msg_id: int) -> bytes:
            scoped = encode_scoped_pdu(b"", b"", ber.encode_pdu(ber.GET, msg_id, ()))
            return encode_message(msg_id, REPORTABLE_FLAG, b"", 0, 0, b"", 0, b"", scoped).data

        def accept(data: bytes) -> Outcome:
            try:
                msg = decode_message(data)
                if msg.flags & PRIV_FLAG:
                    return None  # a discovery answer is never encrypted
                pdu = decode_scoped_pdu(msg.data)[2]
            except ProtocolError as exc:
                return ProtocolError(f"{target} sent an unreadable answer to discovery: {exc}")
            oid = pdu.varbinds[0][0] if pdu.varbinds else UNKNOWN_ENGINE_IDS
            return UsmReport(target, oid, msg.engine_id, msg.boots, msg.time, False)

        self.discoveries += 1
        outcome = await dispatcher.request(address, port, 3, b"", encode, timeout, attempts, accept)
        if outcome is None:
            return None
        if not isinstance(outcome, UsmReport):
            assert isinstance(outcome, InspectionError)
            raise outcome
        if not 5 <= len(outcome.engine_id) <= 32:
            raise ProtocolError(
                f"SNMPv3 engine discovery with {target} failed: it reported an engine ID of "
                f"{len(outcome.engine_id)} bytes (5 to 32 expected)"
            )
        now = self.clock()
        return PeerEngine(outcome.engine_id, outcome.boots, outcome.time, now, outcome.time)

    def timely(self, peer: PeerEngine, boots: int, engine_time: int) -> bool:
        """RFC 3414 3.2.7 b: learn from an authenticated answer; False when it is outside
        the time window (to be discarded)."""
        if boots > peer.boots or (boots == peer.boots and engine_time > peer.latest):
            peer.boots, peer.time, peer.at, peer.latest = (
                boots,
                engine_time,
                self.clock(),
                engine_time,
            )
        if boots == MAX_BOOTS or boots < peer.boots:
            return False
        return not (boots == peer.boots and engine_time < peer.now(self.clock()) - TIME_WINDOW)

    def synchronize(self, peer: PeerEngine, boots: int, engine_time: int) -> None:
        """Take the agent's clock from its authenticated notInTimeWindow Report, even when
        it went back (the agent lost its boots counter), as net-snmp does."""
        peer.boots, peer.time, peer.at, peer.latest = boots, engine_time, self.clock(), engine_time


class UsmSession:
    """A :class:`collector.snmp.walker.Session` for SNMPv3 over the shared dispatcher."""

    def __init__(
        self,
        dispatcher: UdpDispatcher,
        state: UsmState,
        creds: Credentials,
        address: str,
        port: int,
        target: str,
        timeout: float,
        attempts: int,
    ) -> None:
        if creds.version != "3" or not creds.user:
            raise AuthError("an SNMPv3 session needs `user` in inspect.snmp")
        self._dispatcher, self._state, self._creds = dispatcher, state, creds
        self._address, self._port = address, port
        self._user = creds.user.encode("utf-8")
        self._context = creds.context.encode("utf-8")
        self._flags = (AUTH_FLAG if creds.auth_protocol else 0) | (
            PRIV_FLAG if creds.priv_protocol else 0
        )
        self.version = "3"
        self.target = target
        self.timeout = timeout
        self.attempts = attempts

    async def get(self, oids: Sequence[Oid]) -> Varbinds:
        return await self._send(ber.GET, oids)

    async def get_next(self, oids: Sequence[Oid]) -> Varbinds:
        return await self._send(ber.GET_NEXT, oids)

    async def get_bulk(self, oids: Sequence[Oid], max_repetitions: int) -> Varbinds:
        return await self._send(ber.GET_BULK, oids, max_repetitions)

    def _keys(self, engine_id: bytes) -> LocalizedKeys:
        c = self._creds
        try:
            return self._state.keys.localized(
                engine_id, c.auth_protocol, c.auth_key, c.priv_protocol, c.priv_key
            )
        except ValueError as exc:
            raise AuthError(f"{c.describe()}: {exc}") from None

    async def _send(self, pdu: int, oids: Sequence[Oid], max_repetitions: int = 0) -> Varbinds:
        key = (self._address, self._port)
        rediscovered = synchronized = False
        for _ in range(4):  # discovery, one rediscovery, one time synchronization, the answer
            peer = await self._state.peer(
                self._dispatcher, self._address, self._port, self.target, self.timeout,
                self.attempts,
            )  # fmt: skip
            keys = self._keys(peer.engine_id)
            outcome = await self._exchange(peer, keys, pdu, oids, max_repetitions)
            if outcome is None:
                if not rediscovered and await self._engine_changed(peer):
                    rediscovered = True
                    continue
                raise self._timeout()
            if isinstance(outcome, UsmReport):
                if outcome.oid == UNKNOWN_ENGINE_IDS and not rediscovered:
                    if self._state.peers.get(key) is peer:
                        del self._state.peers[key]
                    rediscovered = True
                    continue
                if outcome.oid == NOT_IN_TIME_WINDOWS and outcome.authentic and not synchronized:
                    synchronized = True  # accept() has taken the agent's boots and time
                    continue
                raise self._report_error(outcome)
            if isinstance(outcome, InspectionError):
                raise outcome
            if outcome.error_status:
                raise status_error(
                    self.target, self._creds, outcome.error_status, outcome.error_index, oids
                )
            return outcome.varbinds
        raise ProtocolError(
            f"{self.target} kept rejecting {self._creds.describe()} after engine rediscovery "
            "and time synchronization"
        )

    async def _engine_changed(self, peer: PeerEngine) -> bool:
        """After silence: does the address now answer with another engine (a replaced or
        reset device, which drops requests for its old engine ID)? One quick discovery."""
        try:
            fresh = await self._state.discover(
                self._dispatcher, self._address, self._port, self.target, self.timeout, 1
            )
        except InspectionError:
            return False
        if fresh is None or fresh.engine_id == peer.engine_id:
            return False
        self._state.peers[(self._address, self._port)] = fresh
        return True

    async def _exchange(
        self,
        peer: PeerEngine,
        keys: LocalizedKeys,
        pdu: int,
        oids: Sequence[Oid],
        max_repetitions: int,
    ) -> Outcome:
        state, flags, user, target = self._state, self._flags, self._user, self.target

        def encode(msg_id: int) -> bytes:
            scoped = encode_scoped_pdu(
                peer.engine_id, self._context, ber.encode_pdu(pdu, msg_id, oids, 0, max_repetitions)
            )
            boots, now = peer.boots, peer.now(state.clock())
            params = b""
            if keys.priv is not None:
                scoped, params = keys.encrypt(scoped, boots, now, state.next_salt())
            size = keys.auth.truncate if keys.auth is not None else 0
            out = encode_message(
                msg_id, flags | REPORTABLE_FLAG, peer.engine_id, boots, now, user, size, params,
                scoped,
            )  # fmt: skip
            return out.signed(keys.sign(out.data)) if keys.auth is not None else out.data

        def accept(data: bytes) -> Outcome:
            try:
                msg = decode_message(data)
            except ProtocolError as exc:
                return ProtocolError(f"{target} sent an unreadable answer: {exc}")
            authentic = False
            if msg.flags & AUTH_FLAG:
                if (
                    keys.auth is None
                    or msg.engine_id != peer.engine_id
                    or msg.user != user
                    or not keys.verify(msg.zeroed(data), msg.auth_params)
                ):
                    return None  # RFC 3414 3.2.6: not from the agent with our key
                authentic = True
            scoped = msg.data
            if msg.flags & PRIV_FLAG:
                if keys.priv is None:
                    return None
                try:
                    scoped = keys.decrypt(msg.data, msg.priv_params, msg.boots, msg.time)
                except ValueError as exc:
                    return ProtocolError(f"{target} sent an answer we cannot decrypt: {exc}")
            try:
                pdu = decode_scoped_pdu(scoped)[2]
            except ProtocolError as exc:
                return ProtocolError(f"{target} sent an unreadable answer: {exc}")
            if pdu.tag == ber.REPORT:
                oid = pdu.varbinds[0][0] if pdu.varbinds else ()
                if authentic and oid == NOT_IN_TIME_WINDOWS:
                    state.synchronize(peer, msg.boots, msg.time)
                return UsmReport(target, oid, msg.engine_id, msg.boots, msg.time, authentic)
            if msg.flags & _LEVEL_FLAGS != flags or pdu.request_id != msg.msg_id:
                return None  # not at our security level, or not our request
            if authentic and not state.timely(peer, msg.boots, msg.time):
                return None  # outside the time window: a replay, or a stale clock
            return ber.Response(
                3, b"", pdu.request_id, pdu.error_status, pdu.error_index, pdu.varbinds
            )

        try:  # encode() runs before anything is sent; only it raises ValueError
            return await self._dispatcher.request(
                self._address, self._port, 3, b"", encode, self.timeout, self.attempts, accept
            )
        except ValueError as exc:
            raise ProtocolError(f"{self.target}: cannot send the request: {exc}") from None

    def _timeout(self) -> Timeout:
        if self._creds.priv_protocol:
            why = "priv_key or priv_protocol is wrong (agents drop what they cannot decrypt)"
        else:
            why = f"device ignores {self._creds.describe()}"
        return Timeout(
            f"no answer from {self.target} within {self.timeout:g} s ({self.attempts} "
            f"attempt(s)): the device is down, the port is closed or filtered, or the {why}"
        )

    def _report_error(self, report: UsmReport) -> InspectionError:
        who, target = self._creds.describe(), self.target
        if report.oid == UNKNOWN_USER_NAMES:
            return AuthError(
                f"{target} does not know SNMPv3 user {self._creds.user!r}: check `user` in "
                "inspect.snmp, or create the user on the device"
            )
        if report.oid == WRONG_DIGESTS:
            return AuthError(
                f"{target} rejected the authentication of {who}: wrong auth_key or auth_protocol"
            )
        if report.oid == DECRYPTION_ERRORS:
            return AuthError(
                f"{target} could not decrypt our request ({who}): wrong priv_key or priv_protocol"
            )
        if report.oid == UNSUPPORTED_SEC_LEVELS:
            return AuthError(
                f"{target} does not accept {who} at this security level: the device's user "
                "has no key for it; set auth_protocol and priv_protocol to what the user on "
                "the device has (remove priv_protocol for authNoPriv)"
            )
        if report.oid in (_UNKNOWN_CONTEXTS, _UNAVAILABLE_CONTEXTS):
            return AuthError(
                f"{target} does not serve SNMPv3 context {self._creds.context!r}: check "
                "`context` in inspect.snmp"
            )
        if report.oid == UNKNOWN_ENGINE_IDS:
            return ProtocolError(
                f"SNMPv3 engine discovery with {target} failed: it rejects the engine ID it "
                "reported"
            )
        if report.oid == NOT_IN_TIME_WINDOWS:
            return ProtocolError(
                f"SNMPv3 time synchronization with {target} failed: it reports our requests "
                "outside its time window"
            )
        return ProtocolError(f"{target} answered {who} with a Report ({report})")

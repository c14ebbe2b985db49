"""SNMPv3 messages with USM security parameters (RFC 3412 6, RFC 3414 2.4): bytes only.

The PDU inside is :mod:`collector.snmp.ber`'s; this module adds the v3 wrapper::

    SEQUENCE { msgVersion 3,
               SEQUENCE { msgID, msgMaxSize, msgFlags (1 byte), msgSecurityModel 3 },
               OCTET STRING { SEQUENCE { engineID, boots, time, userName,
                                         authParams, privParams } },
               ScopedPDU: SEQUENCE { contextEngineID, contextName, PDU }
                          or OCTET STRING (that SEQUENCE encrypted) }

Decoding is as strict as the v1/v2c codec's (every malformation is a ProtocolError
saying where), and keeps where the authentication parameters sit, so the HMAC can be
checked over the message with them zeroed. Nothing here holds a key.
"""

from __future__ import annotations

from dataclasses import dataclass

from collector.snmp import ber
from weibao.errors import ProtocolError

AUTH_FLAG, PRIV_FLAG, REPORTABLE_FLAG = 0x01, 0x02, 0x04
USM = 3  # msgSecurityModel
MAX_SIZE = 65507  # what we accept: the largest UDP payload over IPv4

_USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
UNSUPPORTED_SEC_LEVELS = (*_USM_STATS, 1, 0)
NOT_IN_TIME_WINDOWS = (*_USM_STATS, 2, 0)
UNKNOWN_USER_NAMES = (*_USM_STATS, 3, 0)
UNKNOWN_ENGINE_IDS = (*_USM_STATS, 4, 0)
WRONG_DIGESTS = (*_USM_STATS, 5, 0)
DECRYPTION_ERRORS = (*_USM_STATS, 6, 0)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An encoded request; ``auth_at`` is where its zeroed auth parameters start."""

    data: bytes
    auth_at: int
    auth_size: int

    def signed(self, mac: bytes) -> bytes:
        assert len(mac) == self.auth_size
        return self.data[: self.auth_at] + mac + self.data[self.auth_at + self.auth_size :]


def encode_message(
    msg_id: int,
    flags: int,
    engine_id: bytes,
    boots: int,
    time: int,
    user: bytes,
    auth_size: int,
    priv_params: bytes,
    scoped_pdu: bytes,
) -> Outgoing:
    """A v3 message; ``scoped_pdu`` is the plaintext ScopedPDU element, or the encrypted
    bytes when ``flags`` has privacy. The auth parameters are ``auth_size`` zero bytes."""
    tlv, integer = ber.encode_tlv, ber.encode_integer
    header = tlv(
        ber.SEQUENCE,
        integer(msg_id) + integer(MAX_SIZE) + tlv(ber.OCTET_STRING, bytes((flags,))) + integer(USM),
    )
    before_auth = (
        tlv(ber.OCTET_STRING, engine_id)
        + integer(boots)
        + integer(time)
        + tlv(ber.OCTET_STRING, user)
    )
    auth = tlv(ber.OCTET_STRING, bytes(auth_size))
    usm_contents = before_auth + auth + tlv(ber.OCTET_STRING, priv_params)
    usm = tlv(ber.SEQUENCE, usm_contents)
    params = tlv(ber.OCTET_STRING, usm)
    data = tlv(ber.OCTET_STRING, scoped_pdu) if flags & PRIV_FLAG else scoped_pdu
    head = integer(3) + header
    message = tlv(ber.SEQUENCE, head + params + data)
    auth_at = (  # the headers before it (message, params, usm, auth) and what precedes
        (len(message) - len(head) - len(params) - len(data))
        + len(head)
        + (len(params) - len(usm))
        + (len(usm) - len(usm_contents))
        + len(before_auth)
        + (len(auth) - auth_size)
    )
    return Outgoing(message, auth_at, auth_size)


def encode_scoped_pdu(context_engine_id: bytes, context_name: bytes, pdu: bytes) -> bytes:
    tlv = ber.encode_tlv
    return tlv(
        ber.SEQUENCE,
        tlv(ber.OCTET_STRING, context_engine_id) + tlv(ber.OCTET_STRING, context_name) + pdu,
    )


@dataclass(frozen=True, slots=True)
class Incoming:
    """A decoded v3 message before authentication and decryption."""

    msg_id: int
    flags: int
    engine_id: bytes
    boots: int
    time: int
    user: bytes
    auth_params: bytes
    auth_at: int  # where auth_params start in the message
    priv_params: bytes
    data: bytes  # the ScopedPDU element (plaintext), or the ciphertext (privacy)

    def zeroed(self, message: bytes) -> bytes:
        """``message`` with its auth parameters zeroed, as the HMAC was computed."""
        end = self.auth_at + len(self.auth_params)
        return message[: self.auth_at] + bytes(len(self.auth_params)) + message[end:]


def peek_msg_id(data: bytes) -> int | None:
    """The msgID when ``data`` is an SNMPv3 message, else None (v1/v2c, or unreadable)."""
    try:
        pos, end = ber.read_element(data, 0, len(data), ber.SEQUENCE, "the message")
        version, pos = ber.read_integer(data, pos, end, "the version")
        if version != 3:
            return None
        pos, header_end = ber.read_element(data, pos, end, ber.SEQUENCE, "the header")
        return ber.read_integer(data, pos, header_end, "the msgID")[0]
    except ProtocolError:
        return None


def decode_message(data: bytes) -> Incoming:
    """The v3 wrapper of ``data``; ProtocolError when it is not a well-formed USM message."""
    end = len(data)
    pos, message_end = ber.read_element(data, 0, end, ber.SEQUENCE, "the message")
    if message_end != end:
        raise ProtocolError(f"{end - message_end} bytes trail the SNMP message")
    version, pos = ber.read_integer(data, pos, end, "the version")
    if version != 3:
        raise ProtocolError(f"the message is version {version}, not SNMPv3")
    pos, header_end = ber.read_element(data, pos, end, ber.SEQUENCE, "the header")
    msg_id, at = ber.read_integer(data, pos, header_end, "the msgID")
    _, at = ber.read_integer(data, at, header_end, "the msgMaxSize")
    start, stop = ber.read_element(data, at, header_end, ber.OCTET_STRING, "the msgFlags")
    if stop - start != 1:
        raise ProtocolError(f"msgFlags at byte {at} has {stop - start} bytes, not 1")
    flags = data[start]
    model, at = ber.read_integer(data, stop, header_end, "the msgSecurityModel")
    if at != header_end:
        raise ProtocolError(f"{header_end - at} bytes trail the header")
    if model != USM:
        raise ProtocolError(f"security model {model} is not USM (3)")
    if flags & PRIV_FLAG and not flags & AUTH_FLAG:
        raise ProtocolError("msgFlags ask for privacy without authentication")
    start, params_end = ber.read_element(
        data, header_end, end, ber.OCTET_STRING, "the USM parameters"
    )
    at, usm_end = ber.read_element(data, start, params_end, ber.SEQUENCE, "the USM parameters")
    if usm_end != params_end:
        raise ProtocolError(f"{params_end - usm_end} bytes trail the USM parameters")
    fields: list[bytes | int] = []
    auth_at = 0
    for what, tag in (
        ("the engine ID", ber.OCTET_STRING),
        ("the engine boots", ber.INTEGER),
        ("the engine time", ber.INTEGER),
        ("the user name", ber.OCTET_STRING),
        ("the auth parameters", ber.OCTET_STRING),
        ("the privacy parameters", ber.OCTET_STRING),
    ):
        if tag == ber.INTEGER:
            value, at = ber.read_integer(data, at, usm_end, what)
            if not 0 <= value < 2**31:
                raise ProtocolError(f"{what} {value} is outside 0..2^31-1")
            fields.append(value)
        else:
            start, at = ber.read_element(data, at, usm_end, tag, what)
            if what == "the auth parameters":
                auth_at = start
            fields.append(data[start:at])
    if at != usm_end:
        raise ProtocolError(f"{usm_end - at} bytes trail the USM parameters")
    engine_id, boots, time, user, auth_params, priv_params = fields
    assert isinstance(engine_id, bytes) and isinstance(user, bytes)
    assert isinstance(auth_params, bytes) and isinstance(priv_params, bytes)
    assert isinstance(boots, int) and isinstance(time, int)
    tag, start, stop = ber.read_header(data, params_end, end)
    if stop != end:
        raise ProtocolError(f"{end - stop} bytes trail the scoped PDU")
    if flags & PRIV_FLAG:
        if tag != ber.OCTET_STRING:
            raise ProtocolError("an encrypted message whose scoped PDU is not an OCTET STRING")
        scoped = data[start:stop]
    else:
        if tag != ber.SEQUENCE:
            raise ProtocolError("a plaintext message whose scoped PDU is not a SEQUENCE")
        scoped = data[params_end:stop]
    return Incoming(
        msg_id, flags, engine_id, boots, time, user, auth_params, auth_at, priv_params, scoped
    )


def decode_scoped_pdu(scoped: bytes) -> tuple[bytes, bytes, ber.Pdu]:
    """(contextEngineID, contextName, PDU); bytes after the SEQUENCE (DES padding) are
    ignored, as RFC 3414 8.3.2 says."""
    pos, end = ber.read_element(scoped, 0, len(scoped), ber.SEQUENCE, "the scoped PDU")
    start, at = ber.read_element(scoped, pos, end, ber.OCTET_STRING, "the contextEngineID")
    engine_id = scoped[start:at]
    start, at = ber.read_element(scoped, at, end, ber.OCTET_STRING, "the contextName")
    return engine_id, scoped[start:at], ber.decode_pdu(scoped, at, end)

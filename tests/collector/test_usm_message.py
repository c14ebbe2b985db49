"""SNMPv3 message framing: what we send decodes back, and broken bytes fail clearly."""

from __future__ import annotations

import pytest

from collector.snmp import ber
from collector.snmp.snapshot import Kind, Var
from collector.snmp.usm_crypto import KeyCache
from collector.snmp.usm_message import (
    AUTH_FLAG,
    PRIV_FLAG,
    REPORTABLE_FLAG,
    UNKNOWN_ENGINE_IDS,
    decode_message,
    decode_scoped_pdu,
    encode_message,
    encode_scoped_pdu,
    peek_msg_id,
)
from weibao.errors import ProtocolError

ENGINE = bytes.fromhex("80001f8880aabbccdd0001")
SYS_UPTIME = (1, 3, 6, 1, 2, 1, 1, 3, 0)


def response_pdu(request_id: int, tag: int = ber.RESPONSE) -> bytes:
    """A Response (or Report) PDU with one Counter32, built from the codec's pieces."""
    tlv, integer = ber.encode_tlv, ber.encode_integer
    bind = tlv(
        ber.SEQUENCE, tlv(ber.OBJECT_IDENTIFIER, ber.encode_oid(SYS_UPTIME)) + b"\x41\x01\x07"
    )
    return tlv(tag, integer(request_id) + integer(0) + integer(0) + tlv(ber.SEQUENCE, bind))


@pytest.mark.parametrize("auth_size", [0, 12, 48])
def test_encoded_message_decodes_and_auth_params_are_where_we_say(auth_size: int) -> None:
    scoped = encode_scoped_pdu(ENGINE, b"ctx", response_pdu(77))
    flags = REPORTABLE_FLAG | (AUTH_FLAG if auth_size else 0)
    out = encode_message(2**31 - 1, flags, ENGINE, 3, 2**20, b"weibao", auth_size, b"", scoped)
    mac = bytes(range(1, auth_size + 1))
    data = out.signed(mac)
    assert peek_msg_id(data) == 2**31 - 1
    msg = decode_message(data)
    assert (msg.engine_id, msg.boots, msg.time, msg.user) == (ENGINE, 3, 2**20, b"weibao")
    assert msg.auth_params == mac and msg.zeroed(data) == out.data
    context_engine, context, pdu = decode_scoped_pdu(msg.data)
    assert (context_engine, context, pdu.tag, pdu.request_id) == (ENGINE, b"ctx", ber.RESPONSE, 77)
    assert pdu.varbinds == [(SYS_UPTIME, Var(Kind.counter32, 7))]


def test_encrypted_scoped_pdu_round_trip_ignores_des_padding() -> None:
    keys = KeyCache().localized(ENGINE, "md5", "authpass-1234", "des", "privpass-5678")
    assert keys.auth is not None
    scoped = encode_scoped_pdu(ENGINE, b"", response_pdu(5, ber.REPORT))
    sealed, params = keys.encrypt(scoped, 1, 10, 42)
    flags = AUTH_FLAG | PRIV_FLAG
    out = encode_message(9, flags, ENGINE, 1, 10, b"u", keys.auth.truncate, params, sealed)
    data = out.signed(keys.sign(out.data))
    msg = decode_message(data)
    assert keys.verify(msg.zeroed(data), msg.auth_params)
    plain = keys.decrypt(msg.data, msg.priv_params, msg.boots, msg.time)
    assert len(plain) % 8 == 0 and decode_scoped_pdu(plain)[2].tag == ber.REPORT


def test_peek_tells_v3_from_v2c() -> None:
    v2c = ber.encode_request(1, b"public", ber.GET, 5, [SYS_UPTIME])
    assert peek_msg_id(v2c) is None and peek_msg_id(b"\x30\x03\x02\x01") is None


def good_message() -> bytes:
    scoped = encode_scoped_pdu(b"", b"", response_pdu(1, ber.REPORT))
    return encode_message(1, 0, ENGINE, 0, 0, b"", 0, b"", scoped).data


@pytest.mark.parametrize(
    ("mutate", "words"),
    [
        (lambda d: d + b"\x00", "trail the SNMP message"),
        (lambda d: d[:-3], "truncated"),
        (lambda d: d.replace(b"\x02\x01\x03", b"\x02\x01\x01", 1), "not SNMPv3"),
        (lambda d: d.replace(b"\x04\x01\x00\x02\x01\x03", b"\x04\x01\x02\x02\x01\x03"),
         "privacy without authentication"),
        (lambda d: d.replace(b"\x04\x01\x00\x02\x01\x03", b"\x04\x01\x00\x02\x01\x02"),
         "security model 2"),
    ],
)  # fmt: skip
def test_broken_messages_are_protocol_errors(mutate: object, words: str) -> None:
    data = mutate(good_message())  # type: ignore[operator]
    with pytest.raises(ProtocolError, match=words):
        decode_message(data)


def test_report_oid_constants() -> None:
    assert UNKNOWN_ENGINE_IDS == (1, 3, 6, 1, 6, 3, 15, 1, 1, 4, 0)

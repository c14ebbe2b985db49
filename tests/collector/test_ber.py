"""weibao's SNMP v1/v2c BER codec, with pysnmp/pyasn1 as the oracle in both directions.

Responses built and encoded by pysnmp's protocol API (``pysnmp.proto.api``) must decode
with ours to what :func:`collector.snmp.engine.to_var` makes of pysnmp's own decoding;
requests we encode must decode with pysnmp to the request we meant. Broken bytes may
only ever raise ProtocolError.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from pyasn1.codec.ber import decoder, encoder  # type: ignore[import-untyped]
from pysnmp.proto import api  # type: ignore[import-untyped]

from collector.snmp import ber
from collector.snmp.engine import to_var
from collector.snmp.oid import Oid
from collector.snmp.snapshot import Kind, Var
from weibao.errors import ProtocolError

ROOT = Path(__file__).resolve().parents[2]
V1, V2C = api.PROTOCOL_MODULES[0], api.PROTOCOL_MODULES[1]
U32, U64 = 2**32 - 1, 2**64 - 1
SETTINGS = settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[p for p in Phase if p is not Phase.explain],  # tracing is slow
)

arcs = st.one_of(
    st.integers(0, 127), st.integers(0, U32), st.sampled_from([128, 16383, 16384, U32])
)


@st.composite
def oids(draw: st.DrawFn) -> Oid:
    first = draw(st.integers(0, 2))
    second = draw(st.integers(0, 39) if first < 2 else st.integers(0, U32 - 80))
    rest = draw(st.lists(arcs, max_size=draw(st.sampled_from([4, 4, 4, 12, 130]))))
    return (first, second, *rest)


def values(version: int) -> st.SearchStrategy[Any]:
    """pysnmp values of every type the version can carry."""
    m = V1 if version == 0 else V2C
    common = [
        st.integers(-(2**31), 2**31 - 1).map(m.Integer),
        st.binary(max_size=300).map(m.OctetString),  # one- and two-byte long lengths
        st.just(m.Null("")),
        oids().map(m.ObjectIdentifier),
        st.binary(min_size=4, max_size=4).map(m.IpAddress),
        st.binary(max_size=40).map(m.Opaque),
    ]
    if version == 0:
        unsigned = [m.Counter, m.Gauge, m.TimeTicks]
        return st.one_of(*common, *(st.integers(0, U32).map(t) for t in unsigned))
    unsigned = [m.Counter32, m.Gauge32, m.TimeTicks, m.Unsigned32]
    return st.one_of(
        *common,
        *(st.integers(0, U32).map(t) for t in unsigned),
        st.integers(0, U64).map(m.Counter64),
        st.sampled_from(  # the edges, every time
            [
                *(m.Integer32(n) for n in (-(2**31), -1, 0, 2**31 - 1)),
                *(t(U32) for t in (m.Counter32, m.Gauge32, m.TimeTicks)),
                m.Counter64(U64),
            ]
        ),
        st.sampled_from([m.NoSuchObject(""), m.NoSuchInstance(""), m.EndOfMibView("")]),
    )


@st.composite
def responses(draw: st.DrawFn) -> tuple[bytes, dict[str, Any]]:
    """A Response encoded by pysnmp, and what it holds."""
    version = draw(st.sampled_from([0, 1]))
    m = V1 if version == 0 else V2C
    binds = draw(st.lists(st.tuples(oids(), values(version)), max_size=8))
    fields = {
        "version": version,
        "community": draw(st.binary(max_size=40)),
        "request_id": draw(st.integers(0, 2**31 - 1)),
        "error_status": draw(st.integers(0, 18)),
        "error_index": draw(st.integers(0, len(binds))),
    }
    pdu = m.GetResponsePDU()
    m.apiPDU.set_defaults(pdu)
    m.apiPDU.set_request_id(pdu, fields["request_id"])
    m.apiPDU.set_error_status(pdu, fields["error_status"])
    m.apiPDU.set_error_index(pdu, fields["error_index"])
    m.apiPDU.set_varbinds(pdu, binds)
    message = m.Message()
    m.apiMessage.set_defaults(message)
    m.apiMessage.set_community(message, fields["community"])
    m.apiMessage.set_pdu(message, pdu)
    return encoder.encode(message), fields


def pysnmp_decode(data: bytes, version: int) -> tuple[Any, Any]:
    m = V1 if version == 0 else V2C
    message, rest = decoder.decode(data, asn1Spec=m.Message())
    assert rest == b""
    return m, message


@SETTINGS
@given(responses())
def test_responses_encoded_by_pysnmp_decode_to_the_same_values(
    case: tuple[bytes, dict[str, Any]],
) -> None:
    data, fields = case
    ours = ber.decode_response(data)
    m, message = pysnmp_decode(data, fields["version"])
    pdu = m.apiMessage.get_pdu(message)
    expected = [(tuple(oid), to_var(value)) for oid, value in m.apiPDU.get_varbinds(pdu)]
    assert ours.varbinds == expected
    assert (ours.version, ours.community, ours.request_id) == (
        fields["version"],
        fields["community"],
        fields["request_id"],
    )
    assert (ours.error_status, ours.error_index) == (fields["error_status"], fields["error_index"])


requests = st.tuples(
    st.sampled_from([(0, ber.GET), (0, ber.GET_NEXT), (1, ber.GET), (1, ber.GET_NEXT)])
    | st.just((1, ber.GET_BULK)),
    st.binary(max_size=40),
    st.integers(0, 2**31 - 1),
    st.lists(oids(), min_size=1, max_size=40),
    st.integers(0, 10),
    st.integers(0, 2**31 - 1),
)


@SETTINGS
@given(requests)
def test_our_requests_decode_with_pysnmp_to_the_same_request(
    case: tuple[tuple[int, int], bytes, int, list[Oid], int, int],
) -> None:
    (version, tag), community, request_id, names, non_repeaters, repetitions = case
    data = ber.encode_request(
        version, community, tag, request_id, names, non_repeaters, repetitions
    )
    m, message = pysnmp_decode(data, version)
    assert int(message["version"]) == version
    assert bytes(m.apiMessage.get_community(message)) == community
    pdu = m.apiMessage.get_pdu(message)
    kind = {ber.GET: "GetRequestPDU", ber.GET_NEXT: "GetNextRequestPDU"}
    assert type(pdu).__name__ == kind.get(tag, "GetBulkRequestPDU")
    assert int(m.apiPDU.get_request_id(pdu)) == request_id
    if tag == ber.GET_BULK:
        assert int(m.apiBulkPDU.get_non_repeaters(pdu)) == non_repeaters
        assert int(m.apiBulkPDU.get_max_repetitions(pdu)) == repetitions
    else:
        assert int(m.apiPDU.get_error_status(pdu)) == int(m.apiPDU.get_error_index(pdu)) == 0
    binds = m.apiPDU.get_varbinds(pdu)
    assert [tuple(oid) for oid, _ in binds] == names
    assert all(to_var(value) == Var(Kind.null, None) for _, value in binds)


def long_form(data: bytes, width: int = 2) -> bytes:
    """``data`` re-encoded with every length in the long form (as some agents write it)."""
    out, pos = bytearray(), 0
    while pos < len(data):
        tag, start, end = ber._header(data, pos, len(data))
        contents = data[start:end]
        if tag & 0x20:  # constructed: its elements too
            contents = long_form(contents, width)
        size = max(width, (len(contents).bit_length() + 7) // 8)
        out += bytes((tag, 0x80 | size)) + len(contents).to_bytes(size, "big") + contents
        pos = end
    return bytes(out)


@SETTINGS
@given(responses(), st.sampled_from([1, 2, 4]))
def test_long_form_and_non_minimal_lengths_are_read(
    case: tuple[bytes, dict[str, Any]], width: int
) -> None:
    data, _ = case
    assert ber.decode_response(long_form(data, width)) == ber.decode_response(data)


@SETTINGS
@given(responses(), st.data())
def test_truncated_messages_raise_protocol_error(
    case: tuple[bytes, dict[str, Any]], data: st.DataObject
) -> None:
    message, _ = case
    cut = data.draw(st.integers(0, len(message) - 1))
    with pytest.raises(ProtocolError):
        ber.decode_response(message[:cut])


def decode_or_refuse(data: bytes) -> str:
    """Decoding either works, agreeing with peek_request_id, or raises ProtocolError;
    says which ("decoded" or "refused"). Any other exception fails the test."""
    try:
        decoded = ber.decode_response(data)
    except ProtocolError:
        ber.peek_request_id(data)  # must not raise either
        return "refused"
    assert ber.peek_request_id(data) == decoded.request_id
    return "decoded"


@settings(max_examples=500, deadline=None)
@given(responses(), st.lists(st.tuples(st.integers(0), st.integers(0, 255)), min_size=1))
def test_garbled_bytes_only_ever_raise_protocol_error(
    case: tuple[bytes, dict[str, Any]], changes: list[tuple[int, int]]
) -> None:
    assert decode_or_refuse(case[0]) == "decoded"  # the message itself is fine ...
    garbled = bytearray(case[0])
    for where, byte in changes:
        garbled[where % len(garbled)] = byte
    decode_or_refuse(bytes(garbled))  # ... and garbled, only ever ProtocolError


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_only_ever_raise_protocol_error(data: bytes) -> None:
    outcome = decode_or_refuse(data)
    if not data.startswith(b"\x30"):
        assert outcome == "refused"  # a message is a SEQUENCE: nothing else decodes
    decode_or_refuse(b"\x30" + bytes([len(data)]) + data if len(data) < 128 else data)


NET_SNMP_GET = bytes.fromhex(  # snmpd 5.9.3: sysUpTime, sysObjectID, and a noSuchObject
    "3057020101041077622d636f6d6d756e6974792d396633a24002014d0201000201003035300d06082b"
    "06010201010300430115301606082b06010201010200060a2b06010401bf0803020a300c06082b0601"
    "02010109098000"
)


def test_a_net_snmp_answer() -> None:
    r = ber.decode_response(NET_SNMP_GET)
    assert (r.version, r.community, r.request_id, r.error_status) == (1, b"wb-community-9f3", 77, 0)
    assert r.varbinds == [
        ((1, 3, 6, 1, 2, 1, 1, 3, 0), Var(Kind.ticks, 21)),
        ((1, 3, 6, 1, 2, 1, 1, 2, 0), Var(Kind.oid, (1, 3, 6, 1, 4, 1, 8072, 3, 2, 10))),
        ((1, 3, 6, 1, 2, 1, 1, 9, 9), Var(Kind.missing, None)),
    ]
    assert ber.peek_request_id(NET_SNMP_GET) == 77


def message(*binds: bytes, pdu: int = ber.RESPONSE, version: bytes = b"\x02\x01\x01") -> bytes:
    """A Response holding raw varbind bytes, to test what pysnmp would never encode."""
    body = b"\x02\x01\x07\x02\x01\x00\x02\x01\x00" + ber._tlv(0x30, b"".join(binds))
    return ber._tlv(0x30, version + b"\x04\x01c" + ber._tlv(pdu, body))


def bind(value: bytes, oid: bytes = b"\x06\x02\x2b\x06") -> bytes:
    return ber._tlv(0x30, oid + value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (b"\x41\x01\xff", Var(Kind.counter32, 255)),  # leading zero left out: still unsigned
        (b"\x42\x05\x00\xff\xff\xff\xff", Var(Kind.gauge32, U32)),
        (b"\x46\x09\x00" + b"\xff" * 8, Var(Kind.counter64, U64)),
        (b"\x02\x03\x00\x00\x05", Var(Kind.integer, 5)),  # non-minimal, as BER allows
        (b"\x02\x04\x80\x00\x00\x00", Var(Kind.integer, -(2**31))),
        (b"\x06\x07\x88\x37\x8f\xff\xff\xff\x7f", Var(Kind.oid, (2, 999, U32))),
    ],
)
def test_values_pysnmp_would_not_write(value: bytes, expected: Var) -> None:
    assert ber.decode_response(message(bind(value))).varbinds == [((1, 3, 6), expected)]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (message(bind(b"\x02\x05\x00\x80\x00\x00\x00")), "outside Integer32"),
        (message(bind(b"\x41\x05\x01\x00\x00\x00\x00")), "4294967296 at byte"),
        (message(bind(b"\x46\x09\x01" + bytes(8))), "Counter64"),
        (message(bind(b"\x40\x05\x0a\x00\x00\x01\x01")), "IpAddress at byte 27 has 5 bytes"),
        (message(bind(b"\x02\x00")), "empty INTEGER"),
        (message(bind(b"\x05\x01\x00")), "NULL (0x05) at byte 27 is not empty"),
        (message(bind(b"\x82\x01\x00")), "endOfMibView"),
        (message(bind(b"\x24\x03\x04\x01x")), "unexpected value type tag 0x24"),
        (message(bind(b"\x5f\x21\x01\x00")), "application tag number 33"),
        (message(bind(b"\x5f\xa1")), "inside a multi-byte tag"),
        (message(bind(b"\x05\x00", oid=b"\x06\x00")), "empty OBJECT IDENTIFIER"),
        (message(bind(b"\x05\x00", oid=b"\x06\x02\x2b\x86")), "ends inside an arc"),
        (message(bind(b"\x05\x00", oid=b"\x06\x03\x2b\x80\x01")), "padded arc"),
        (message(bind(b"\x05\x00", oid=b"\x06\x06\x2b\x90\x80\x80\x80\x00")), "above 2^32-1"),
        (message(bind(b"\x04\x00") + b"\x30\x80"), "indefinite length"),
        (message(bind(b"\x04\x00") + b"\x30\xff"), "reserved length"),
        (message(bind(b"\x04\x00"), pdu=ber.GET), "expected a Response PDU, got GetRequest"),
        (message(version=b"\x02\x01\x03"), "SNMPv3"),
        (message(version=b"\x04\x01\x01"), "the version at byte 2 is OCTET STRING"),
        (message() + b"\x00", "1 bytes trail the SNMP message"),
        (message(ber._tlv(0x30, b"\x06\x01\x2b\x05\x00\x05\x00")), "varbind 1: 2 bytes trail"),
        (b"\x30\x84\xff\xff\xff\xff", "truncated at byte 6"),
        (b"", "truncated at byte 0"),
    ],
)
def test_malformed_answers_say_what_and_where(data: bytes, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        ber.decode_response(data)
    assert words in str(caught.value)


@pytest.mark.parametrize(
    ("args", "words"),
    [
        ((0, ber.GET_BULK, [(1, 3)]), "SNMPv1 has no GetBulkRequest"),
        ((1, ber.GET, [(1,)]), "fewer than two arcs"),
        ((1, ber.GET, [(1, 40)]), "cannot be encoded"),
        ((1, ber.GET, [(3, 1)]), "cannot be encoded"),
        ((1, ber.GET, [(1, 3, 2**32)]), "outside 0..2^32-1"),
        ((1, ber.RESPONSE, [(1, 3)]), "not a request"),
        ((3, ber.GET, [(1, 3)]), "not v1 (0) or v2c (1)"),
        ((1, ber.GET_BULK, [(1, 3)], -1), "max-repetitions -1 not in 0..2^31-1"),
    ],
)
def test_requests_that_cannot_be_encoded(args: tuple[Any, ...], words: str) -> None:
    version, tag, names, *repetitions = args
    with pytest.raises(ValueError, match=re.escape(words)):
        ber.encode_request(version, b"c", tag, 1, names, 0, *repetitions)


def test_the_v1_v2c_path_loads_neither_pysnmp_nor_pyasn1() -> None:
    code = (
        "import sys, collector.snmp.udp, collector.snmp.ber\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'pysnmp', 'pyasn1'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

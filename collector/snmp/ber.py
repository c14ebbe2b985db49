"""A small, strict BER codec for SNMP v1/v2c messages (RFC 1157, RFC 3416, RFC 3417).

Why not pysnmp: pyasn1's generic decoder spends 0.15-0.2 ms per varbind, about 70 % of
an inspection's CPU (see ``bench/snmp/README.md``). SNMP v1/v2c messages use a handful
of types in one fixed shape, so a direct decoder over the bytes does the same work at a
fraction of the cost. pysnmp remains the codec for SNMPv3 and for traps.

What is encoded: GetRequest, GetNextRequest and GetBulkRequest with numeric OIDs and
NULL values. What is decoded: a Response, into the same :class:`Var` values
:func:`collector.snmp.engine.to_var` makes from pysnmp objects.

Strict, because a device's bytes are untrusted: every length is checked against what
encloses it, nothing may trail a message or a varbind, SNMP's simple types must use the
primitive form and definite lengths (RFC 3417 section 8), and values must be in range
(Integer32, 32-bit unsigned, Counter64, 4-byte IpAddress). What BER allows is read:
long-form and non-minimal lengths (net-snmp always writes 3-byte sequence lengths), and
multi-byte tags (which are then reported as unexpected). Every malformation raises
:class:`weibao.errors.ProtocolError` saying what and at which byte; never IndexError.

One tolerance, as in gosnmp and net-snmp: unsigned values are read as unsigned even when
an agent left out the leading zero byte (``41 01 ff`` is Counter32 255, not -1).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from collector.snmp.oid import Oid, format_oid
from collector.snmp.snapshot import Kind, Var
from weibao.errors import ProtocolError

SEQUENCE = 0x30
INTEGER, OCTET_STRING, NULL, OBJECT_IDENTIFIER = 0x02, 0x04, 0x05, 0x06
GET, GET_NEXT, RESPONSE, GET_BULK = 0xA0, 0xA1, 0xA2, 0xA5
VERSIONS = {"1": 0, "2c": 1}  # the message's version field

_UNSIGNED32 = {0x41: Kind.counter32, 0x42: Kind.gauge32, 0x43: Kind.ticks}
_EMPTY = {NULL: Kind.null, 0x80: Kind.missing, 0x81: Kind.missing, 0x82: Kind.end}
_TAG_NAMES = {
    SEQUENCE: "SEQUENCE",
    INTEGER: "INTEGER",
    OCTET_STRING: "OCTET STRING",
    NULL: "NULL",
    OBJECT_IDENTIFIER: "OBJECT IDENTIFIER",
    0x40: "IpAddress",
    0x41: "Counter32",
    0x42: "Gauge32",
    0x43: "TimeTicks",
    0x44: "Opaque",
    0x46: "Counter64",
    0x80: "noSuchObject",
    0x81: "noSuchInstance",
    0x82: "endOfMibView",
    GET: "GetRequest",
    GET_NEXT: "GetNextRequest",
    RESPONSE: "Response",
    0xA3: "SetRequest",
    0xA4: "Trap-PDU",
    GET_BULK: "GetBulkRequest",
    0xA6: "InformRequest",
    0xA7: "SNMPv2-Trap",
    0xA8: "Report",
}
_MAX_SUBID = 2**32 - 1
_NULL_VALUE = b"\x05\x00"


@dataclass(frozen=True, slots=True)
class Response:
    """A decoded Response message; ``varbinds`` in the order the agent sent them."""

    version: int  # 0 for SNMPv1, 1 for SNMPv2c
    community: bytes
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Var]]


# -- encoding ---------------------------------------------------------------------------


def encode_request(
    version: int,
    community: bytes,
    pdu: int,
    request_id: int,
    oids: Sequence[Oid],
    non_repeaters: int = 0,
    max_repetitions: int = 0,
) -> bytes:
    """A GetRequest, GetNextRequest or (v2c) GetBulkRequest; ValueError for bad input."""
    if version not in (0, 1):
        raise ValueError(f"SNMP message version {version} is not v1 (0) or v2c (1)")
    if pdu == GET_BULK and version == 0:
        raise ValueError("SNMPv1 has no GetBulkRequest")
    body = encode_pdu(pdu, request_id, oids, non_repeaters, max_repetitions)
    return _tlv(SEQUENCE, _integer(version) + _tlv(OCTET_STRING, community) + body)


def encode_oid(oid: Oid) -> bytes:
    """The contents octets of an OBJECT IDENTIFIER (X.690 8.19)."""
    if len(oid) < 2:
        raise ValueError(f"OID {format_oid(oid)!r} has fewer than two arcs")
    first, second = oid[0], oid[1]
    if not 0 <= first <= 2 or second < 0 or (first < 2 and second >= 40):
        raise ValueError(
            f"OID {format_oid(oid)} cannot be encoded (first arcs 0.0-39, 1.0-39, 2.*)"
        )
    arcs = [first * 40 + second, *oid[2:]]
    if any(not 0 <= arc <= _MAX_SUBID for arc in oid):
        raise ValueError(f"OID {format_oid(oid)} has an arc outside 0..2^32-1")
    if max(arcs) < 0x80:
        return bytes(arcs)
    out = bytearray()
    for arc in arcs:
        group = [arc & 0x7F]
        arc >>= 7
        while arc:
            group.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(group))
    return bytes(out)


def _integer(value: int) -> bytes:
    size = (value + (value < 0)).bit_length() // 8 + 1  # minimal two's complement
    return _tlv(INTEGER, value.to_bytes(size, "big", signed=True))


def _tlv(tag: int, contents: bytes) -> bytes:
    size = len(contents)
    if size < 0x80:
        return bytes((tag, size)) + contents
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + contents


# -- decoding ---------------------------------------------------------------------------


def decode_response(data: bytes) -> Response:
    """Decode one SNMP v1/v2c Response message; ProtocolError if anything is off."""
    end = len(data)
    pos, message_end = _expect(data, 0, end, SEQUENCE, "the message")
    if message_end != end:
        raise ProtocolError(f"{end - message_end} bytes trail the SNMP message")
    version, pos = _read_int(data, pos, message_end, "the version")
    if version not in (0, 1):
        what = "SNMPv3" if version == 3 else f"version {version}"
        raise ProtocolError(f"the message is {what}, not SNMPv1 or v2c")
    pos, community_end = _expect(data, pos, message_end, OCTET_STRING, "the community")
    community = data[pos:community_end]
    tag, _, _ = _header(data, community_end, message_end)
    if tag != RESPONSE:
        raise ProtocolError(f"expected a Response PDU, got {_tag_name(tag)}")
    pdu = decode_pdu(data, community_end, message_end)
    return Response(
        version, community, pdu.request_id, pdu.error_status, pdu.error_index, pdu.varbinds
    )


def peek_request_id(data: bytes) -> int | None:
    """The request-id of a message too broken to decode, to tell its sender; else None."""
    try:
        pos, end = _expect(data, 0, len(data), SEQUENCE, "the message")
        _, pos = _read_int(data, pos, end, "the version")
        _, pos = _expect(data, pos, end, OCTET_STRING, "the community")
        _, pos, end = _header(data, pos, end)
        return _read_int(data, pos, end, "the request-id")[0]
    except ProtocolError:
        return None


def _header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start, end) of the contents of the element at ``pos``, within ``end``."""
    if end - pos < 2:
        raise ProtocolError(f"truncated at byte {pos}: no room for a tag and a length")
    tag = data[pos]
    pos += 1
    if tag & 0x1F == 0x1F:  # high tag number form: base-128 digits follow
        number = 0
        while True:
            if pos >= end:
                raise ProtocolError(f"truncated at byte {pos}: inside a multi-byte tag")
            digit = data[pos]
            pos += 1
            number = (number << 7) | (digit & 0x7F)
            if not digit & 0x80:
                break
        tag = (tag & 0xE0) | (number << 8)  # never equal to a one-byte tag
        if pos >= end:
            raise ProtocolError(f"truncated at byte {pos}: no length after the tag")
    length = data[pos]
    pos += 1
    if length & 0x80:
        width = length & 0x7F
        if width == 0:
            raise ProtocolError(f"indefinite length at byte {pos - 1} (SNMP allows definite only)")
        if width == 0x7F:
            raise ProtocolError(f"reserved length octet 0xff at byte {pos - 1}")
        if end - pos < width:
            raise ProtocolError(f"truncated at byte {pos}: a {width}-byte length")
        length = int.from_bytes(data[pos : pos + width], "big")
        pos += width
    if end - pos < length:
        raise ProtocolError(
            f"truncated at byte {pos}: {_tag_name(tag)} of {length} bytes, "
            f"{end - pos} left in what encloses it"
        )
    return tag, pos, pos + length


def _expect(data: bytes, pos: int, end: int, want: int, what: str) -> tuple[int, int]:
    tag, start, stop = _header(data, pos, end)
    if tag != want:
        raise ProtocolError(f"{what} at byte {pos} is {_tag_name(tag)}, not {_TAG_NAMES[want]}")
    return start, stop


def _read_int(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    start, stop = _expect(data, pos, end, INTEGER, what)
    if start == stop:
        raise ProtocolError(f"{what} at byte {pos} is an empty INTEGER")
    return int.from_bytes(data[start:stop], "big", signed=True), stop


def _read_oid(data: bytes, start: int, end: int, at: int) -> Oid:
    """The OID in ``data[start:end]``; ``at`` is where its element begins, for messages."""
    contents = data[start:end]
    if not contents:
        raise ProtocolError(f"empty OBJECT IDENTIFIER at byte {at}")
    if contents.isascii():  # no byte has the continuation bit: one byte per arc
        first = contents[0]
        if first < 80:
            return (first // 40, first % 40, *contents[1:])
        return (2, first - 80, *contents[1:])
    if contents[-1] & 0x80:
        raise ProtocolError(f"OBJECT IDENTIFIER at byte {at} ends inside an arc")
    arcs: list[int] = []
    arc, fresh = 0, True
    for byte in contents:
        if fresh and byte == 0x80:
            raise ProtocolError(f"OBJECT IDENTIFIER at byte {at} has a padded arc")
        arc = (arc << 7) | (byte & 0x7F)
        fresh = not byte & 0x80
        if fresh:
            arcs.append(arc)
            arc = 0
    first, rest = arcs[0], arcs[1:]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    if head[1] > _MAX_SUBID or (rest and max(rest) > _MAX_SUBID):
        raise ProtocolError(f"OBJECT IDENTIFIER at byte {at} has an arc above 2^32-1")
    return (*head, *rest)


def _read_value(tag: int, data: bytes, start: int, end: int, at: int) -> Var:
    if tag == OCTET_STRING:
        return Var(Kind.octets, data[start:end])
    if tag == INTEGER:
        if start == end:
            raise ProtocolError(f"empty INTEGER at byte {at}")
        value = int.from_bytes(data[start:end], "big", signed=True)
        if not -(2**31) <= value < 2**31:
            raise ProtocolError(f"INTEGER {value} at byte {at} is outside Integer32")
        return Var(Kind.integer, value)
    kind = _UNSIGNED32.get(tag)
    if kind is not None or tag == 0x46:
        if start == end:
            raise ProtocolError(f"empty {_tag_name(tag)} at byte {at}")
        value = int.from_bytes(data[start:end], "big")
        limit = 2**64 if kind is None else 2**32
        if value >= limit:
            raise ProtocolError(f"{_tag_name(tag)} {value} at byte {at} is out of range")
        return Var(Kind.counter64 if kind is None else kind, value)
    if tag == OBJECT_IDENTIFIER:
        return Var(Kind.oid, _read_oid(data, start, end, at))
    if tag == 0x40:
        if end - start != 4:
            raise ProtocolError(f"IpAddress at byte {at} has {end - start} bytes, not 4")
        return Var(Kind.ip, data[start:end])
    if tag == 0x44:
        return Var(Kind.opaque, data[start:end])
    kind = _EMPTY.get(tag)
    if kind is not None:
        if start != end:
            raise ProtocolError(f"{_tag_name(tag)} at byte {at} is not empty")
        return Var(kind, None)
    raise ProtocolError(f"unexpected value type {_tag_name(tag)} at byte {at}")


def _tag_name(tag: int) -> str:
    if tag > 0xFF:
        classes = ("universal", "application", "context", "private")
        return f"a {classes[(tag & 0xC0) >> 6]} tag number {tag >> 8}"
    name = _TAG_NAMES.get(tag)
    return f"{name} (0x{tag:02x})" if name else f"tag 0x{tag:02x}"


# -- pieces for SNMPv3 (collector/snmp/usm_message.py wraps these in its own header) ------

REPORT = 0xA8


@dataclass(frozen=True, slots=True)
class Pdu:
    """A decoded PDU (a Response or, in SNMPv3, a Report) without its message wrapper."""

    tag: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list[tuple[Oid, Var]]


def encode_pdu(
    pdu: int, request_id: int, oids: Sequence[Oid], non_repeaters: int = 0, max_repetitions: int = 0
) -> bytes:
    """A GetRequest, GetNextRequest or GetBulkRequest PDU alone; ValueError for bad input."""
    if pdu not in (GET, GET_NEXT, GET_BULK):
        raise ValueError(f"PDU type 0x{pdu:02x} is not a request this codec sends")
    if not 0 <= request_id < 2**31:
        raise ValueError(f"request-id {request_id} is not in 0..2^31-1")
    second, third = (non_repeaters, max_repetitions) if pdu == GET_BULK else (0, 0)
    if not (0 <= second < 2**31 and 0 <= third < 2**31):
        raise ValueError(f"non-repeaters {second} or max-repetitions {third} not in 0..2^31-1")
    varbinds = b"".join(
        _tlv(SEQUENCE, _tlv(OBJECT_IDENTIFIER, encode_oid(o)) + _NULL_VALUE) for o in oids
    )
    return _tlv(
        pdu, _integer(request_id) + _integer(second) + _integer(third) + _tlv(SEQUENCE, varbinds)
    )


def encode_tlv(tag: int, contents: bytes) -> bytes:
    """One element: tag, definite length, contents."""
    return _tlv(tag, contents)


def encode_integer(value: int) -> bytes:
    """An INTEGER element, minimal two's complement."""
    return _integer(value)


def read_element(data: bytes, pos: int, end: int, want: int, what: str) -> tuple[int, int]:
    """(start, end) of the contents of the ``want``-tagged element at ``pos``."""
    return _expect(data, pos, end, want, what)


def read_header(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """(tag, start, end) of the element at ``pos``, whatever its tag."""
    return _header(data, pos, end)


def read_integer(data: bytes, pos: int, end: int, what: str) -> tuple[int, int]:
    """(value, end) of the INTEGER at ``pos``."""
    return _read_int(data, pos, end, what)


def decode_pdu(data: bytes, pos: int, end: int) -> Pdu:
    """The Response or Report PDU at ``pos``, which must end exactly at ``end``."""
    tag, pos, pdu_end = _header(data, pos, end)
    if tag not in (RESPONSE, REPORT):
        raise ProtocolError(f"expected a Response or Report PDU, got {_tag_name(tag)}")
    if pdu_end != end:
        raise ProtocolError(f"{end - pdu_end} bytes trail the PDU")
    request_id, pos = _read_int(data, pos, pdu_end, "the request-id")
    error_status, pos = _read_int(data, pos, pdu_end, "the error-status")
    error_index, pos = _read_int(data, pos, pdu_end, "the error-index")
    pos, list_end = _expect(data, pos, pdu_end, SEQUENCE, "the varbind list")
    if list_end != pdu_end:
        raise ProtocolError(f"{pdu_end - list_end} bytes trail the varbind list")
    varbinds: list[tuple[Oid, Var]] = []
    while pos < list_end:
        try:
            start, bind_end = _expect(data, pos, list_end, SEQUENCE, "the varbind")
            start, oid_end = _expect(data, start, bind_end, OBJECT_IDENTIFIER, "the name")
            oid = _read_oid(data, start, oid_end, start)
            vtag, start, value_end = _header(data, oid_end, bind_end)
            if value_end != bind_end:
                raise ProtocolError(f"{bind_end - value_end} bytes trail the value")
            varbinds.append((oid, _read_value(vtag, data, start, value_end, oid_end)))
        except ProtocolError as exc:
            raise ProtocolError(f"varbind {len(varbinds) + 1}: {exc}") from None
        pos = bind_end
    return Pdu(tag, request_id, error_status, error_index, varbinds)

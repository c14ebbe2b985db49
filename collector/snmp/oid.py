"""Numeric object identifiers as tuples of ints.

MIB names are never resolved on the hot path (pysnmp's ``lookupMib`` doubles its cost,
and Debian ships no IETF MIB files), so every OID in weibao is numeric: profiles, readers
and tests all write ``1.3.6.1.2.1.2.2.1.8`` and compare tuples.
"""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

Oid = tuple[int, ...]

_OID = re.compile(r"^\.?\d+(\.\d+)+$")


def parse_oid(text: str) -> Oid:
    """``"1.3.6.1.2.1.1.3.0"`` (a leading dot is allowed) as a tuple; ValueError otherwise."""
    text = text.strip()
    if not _OID.match(text):
        raise ValueError(
            f"{text!r} is not a numeric OID: write dotted numbers such as 1.3.6.1.2.1.1.3.0 "
            "(MIB names are not resolved)"
        )
    oid = tuple(int(part) for part in text.lstrip(".").split("."))
    if oid[0] > 2 or any(part >= 2**32 for part in oid):
        raise ValueError(f"{text!r} is not a valid OID (first arc 0-2, arcs below 2^32)")
    return oid


def format_oid(oid: Oid) -> str:
    return ".".join(str(part) for part in oid)


def is_under(oid: Oid, root: Oid) -> bool:
    """True when ``oid`` lies strictly inside the subtree ``root``."""
    return len(oid) > len(root) and oid[: len(root)] == root


def format_index(index: Oid) -> str:
    return ".".join(str(part) for part in index)


def _oid_field(value: Any) -> Any:
    return parse_oid(value) if isinstance(value, str) else value


OidText = Annotated[Oid, BeforeValidator(_oid_field), PlainSerializer(format_oid, return_type=str)]
"""An OID field in a profile: written as dotted text, held as a tuple."""

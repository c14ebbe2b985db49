"""What one inspection read from a device, as plain Python values.

The pysnmp edge converts every varbind into a :class:`Var` (a kind tag and an int,
bytes or OID); readers then pick scalars, columns and tables out of a :class:`Snapshot`
without knowing whether it came from a device, a test fake or a ``.snmprec`` recording.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from enum import StrEnum
from typing import NamedTuple

from collector.snmp.oid import Oid, is_under


class Kind(StrEnum):
    integer = "integer"
    octets = "octets"
    oid = "oid"
    ip = "ip"
    counter32 = "counter32"
    gauge32 = "gauge32"
    ticks = "ticks"
    counter64 = "counter64"
    opaque = "opaque"
    null = "null"
    missing = "missing"  # noSuchObject / noSuchInstance
    end = "end"  # endOfMibView


NUMERIC = frozenset({Kind.integer, Kind.counter32, Kind.gauge32, Kind.ticks, Kind.counter64})
COUNTER_WIDTH = {Kind.counter32: 32, Kind.counter64: 64}


class Var(NamedTuple):
    kind: Kind
    value: int | bytes | Oid | None

    @property
    def present(self) -> bool:
        return self.kind not in (Kind.missing, Kind.end, Kind.null)

    def number(self) -> int | None:
        """The value as an int for numeric kinds, else None (never a guess from text)."""
        if self.kind in NUMERIC and isinstance(self.value, int):
            return self.value
        return None

    def text(self) -> str:
        """Octets as text; devices in China often send GBK, so try UTF-8, then GB18030."""
        value = self.value
        if isinstance(value, bytes):
            for encoding in ("utf-8", "gb18030"):
                try:
                    return _clean(value.decode(encoding))
                except UnicodeDecodeError:
                    continue
            return _clean(value.decode("latin-1"))
        if isinstance(value, tuple):
            return ".".join(str(part) for part in value)
        return "" if value is None else str(value)

    def oid(self) -> Oid | None:
        return self.value if self.kind is Kind.oid and isinstance(self.value, tuple) else None


def _clean(text: str) -> str:
    return text.replace("\x00", "").strip()


class Snapshot:
    """Varbinds by OID, with subtree, column and table views (sorted on demand)."""

    def __init__(self, items: Iterable[tuple[Oid, Var]] = ()) -> None:
        self._values: dict[Oid, Var] = {}
        self._sorted: list[Oid] | None = None
        self.update(items)

    def __len__(self) -> int:
        return len(self._values)

    def __contains__(self, oid: object) -> bool:
        return oid in self._values

    def update(self, items: Iterable[tuple[Oid, Var]]) -> None:
        for oid, var in items:
            if var.present:
                self._values[oid] = var
        self._sorted = None

    def get(self, oid: Oid) -> Var | None:
        return self._values.get(oid)

    def subtree(self, root: Oid) -> Iterator[tuple[Oid, Var]]:
        """``(suffix, var)`` for every OID under ``root``, in OID order."""
        if self._sorted is None:
            self._sorted = sorted(self._values)
        keys = self._sorted
        start = bisect.bisect_right(keys, root)
        width = len(root)
        for position in range(start, len(keys)):
            oid = keys[position]
            if not is_under(oid, root):
                break
            yield oid[width:], self._values[oid]

    def column(self, column: Oid) -> dict[Oid, Var]:
        """One table column: row index → value."""
        return dict(self.subtree(column))

    def first_text(self, root: Oid) -> str:
        """The first non-empty text under ``root`` (a scalar or a column)."""
        exact = self._values.get(root)
        if exact is not None and exact.text():
            return exact.text()
        for _, var in self.subtree(root):
            if var.text():
                return var.text()
        return ""

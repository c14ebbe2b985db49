"""The trap catalog: which notification means what, as data.

Each entry names a notification OID and what it says about the device, in three kinds
of samples (see docs/collector.md, "Traps"):

- ``samples``: measurements the trap carries, under their vocabulary names
  (``uptime_seconds`` from a coldStart, ``ups_on_battery``). Sent once, in the trap's
  own observation; the same rules as for polled values judge them, so a fault seen by
  both a poll and a trap is one alarm.
- ``state``: ``trap_*`` samples the receiver remembers per device until a later trap
  changes them (``trap_link_up``, ``trap_alarm``): a linkDown holds until the linkUp.
- ``events``: ``trap_*`` counts of a trap over the last window (``trap_auth_failures``).

Values and labels come from the trap's varbinds by name: ``{ifName}`` is the first
varbind under the OID the catalog calls ``ifName``; ``{upsAlarmDescr:ups_alarm}`` passes
the value through the ``ups_alarm`` enumeration. A label given as a list takes the first
alternative whose fields are all present. Built-in files live in ``builtin/``; users may
add their own (:mod:`collector.traps.catalog_files`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from collector.snmp.oid import Oid, OidText, is_under
from collector.snmp.snapshot import Var

BUILTIN_DIR = Path(__file__).resolve().parent / "builtin"

# Varbinds every notification may carry (RFC 3416, RFC 3584), known without a file.
SYS_UPTIME: Oid = (1, 3, 6, 1, 2, 1, 1, 3)
SNMP_TRAP_OID: Oid = (1, 3, 6, 1, 6, 3, 1, 1, 4, 1)
SNMP_TRAP_COMMUNITY: Oid = (1, 3, 6, 1, 6, 3, 18, 1, 4)  # added by v1 conversion: never kept
BUILTIN_VARBINDS: dict[str, Oid] = {
    "sysUpTime": SYS_UPTIME,
    "snmpTrapOID": SNMP_TRAP_OID,
    "snmpTrapEnterprise": (1, 3, 6, 1, 6, 3, 1, 1, 4, 3),
    "snmpTrapAddress": (1, 3, 6, 1, 6, 3, 18, 1, 3),
}

# trap_* state samples and the value that means "nothing wrong": an entry back at its
# normal value is reported once more (so the alarm clears) and then forgotten.
STATE_NORMAL: dict[str, float] = {"trap_link_up": 1.0, "trap_alarm": 0.0}
EVENT_FAMILIES: frozenset[str] = frozenset({"trap_auth_failures"})

FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([A-Za-z_][A-Za-z0-9_]*))?\}")


def _texts(value: Any) -> Any:
    """YAML reads ``1`` and ``2.5`` as numbers; enumeration keys and ``when`` values are text."""
    if isinstance(value, dict):
        return {str(k): _texts(v) for k, v in value.items()}
    if isinstance(value, list):
        return [str(v) for v in value]
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


Texts = Annotated[dict[str, list[str]], BeforeValidator(_texts)]
EnumTable = Annotated[dict[str, str], BeforeValidator(_texts)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class ValueFrom(Strict):
    """A value read from a varbind: mapped (enumerations), else scaled."""

    from_: str = Field(alias="from", description="varbind name")
    map: Annotated[dict[str, float], BeforeValidator(_texts)] | None = None
    scale: float = 1.0


LabelTemplate = str | list[str]


class Emit(Strict):
    """One sample a trap produces; ``when``/``unless`` test varbind values first."""

    name: str
    value: float | ValueFrom
    labels: dict[str, LabelTemplate] = Field(default_factory=dict)
    when: Texts = Field(default_factory=dict)
    unless: Texts = Field(default_factory=dict)


class EventEmit(Strict):
    name: str
    labels: dict[str, LabelTemplate] = Field(default_factory=dict)
    when: Texts = Field(default_factory=dict)
    unless: Texts = Field(default_factory=dict)


class TrapSpec(Strict):
    name: str = Field(pattern=r"^[A-Za-z][A-Za-z0-9_.-]{0,80}$")
    oid: OidText
    description: str = ""
    samples: list[Emit] = Field(default_factory=list)
    state: list[Emit] = Field(default_factory=list)
    events: list[EventEmit] = Field(default_factory=list)


class TrapFile(Strict):
    """One catalog file: names for varbind OIDs, enumerations, and the traps."""

    varbinds: dict[str, OidText] = Field(default_factory=dict)
    enums: dict[str, EnumTable] = Field(default_factory=dict)
    traps: list[TrapSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Catalog:
    """Every known notification by OID, with the varbind names and enumerations."""

    traps: dict[Oid, TrapSpec]
    varbinds: dict[str, Oid]
    enums: dict[str, dict[str, str]]

    def find(self, oid: Oid) -> TrapSpec | None:
        """The entry for ``oid``; a v1 trap converted to ``ENTERPRISE.0.N`` also finds
        the SMIv2 notification ``ENTERPRISE.N`` (RFC 3584 section 3)."""
        spec = self.traps.get(oid)
        if spec is None and len(oid) > 2 and oid[-2] == 0:
            spec = self.traps.get(oid[:-2] + oid[-1:])
        return spec


class Varbinds:
    """A trap's varbinds, looked up by catalog name."""

    def __init__(self, items: list[tuple[Oid, Var]], catalog: Catalog) -> None:
        self.items = items
        self.catalog = catalog

    def get(self, name: str) -> Var | None:
        base = self.catalog.varbinds.get(name)
        if base is None:
            return None
        for oid, var in self.items:
            if (oid == base or is_under(oid, base)) and var.present:
                return var
        return None

    def key(self, name: str) -> str | None:
        """The value as text for enumerations and ``when``: numbers, dotted OIDs, text."""
        var = self.get(name)
        if var is None:
            return None
        number = var.number()
        return str(number) if number is not None else var.text()

    def render(self, template: LabelTemplate) -> str | None:
        """The first alternative whose fields are all present and not empty, else None."""
        for text in [template] if isinstance(template, str) else template:
            missing = False

            def field(match: re.Match[str]) -> str:
                nonlocal missing
                key = self.key(match.group(1))
                if key is not None and match.group(2):  # a value not in the enum: missing
                    key = self.catalog.enums[match.group(2)].get(key)
                if not key:
                    missing = True
                    return ""
                return key

            out = FIELD.sub(field, text)
            if not missing:
                return out
        return None

    def passes(self, when: dict[str, list[str]], unless: dict[str, list[str]]) -> bool:
        for name, values in when.items():
            if self.key(name) not in values:
                return False
        return all(self.key(name) not in values for name, values in unless.items())

    def value(self, spec: float | ValueFrom) -> float | None:
        if not isinstance(spec, ValueFrom):
            return float(spec)
        key = self.key(spec.from_)
        if key is None:
            return None
        if spec.map is not None:
            return spec.map.get(key)
        var = self.get(spec.from_)
        number = var.number() if var is not None else None
        return None if number is None else number * spec.scale


def template_fields(template: LabelTemplate) -> list[tuple[str, str | None]]:
    """``(varbind, enum)`` for every field a label template uses."""
    texts = [template] if isinstance(template, str) else template
    return [(m.group(1), m.group(2)) for text in texts for m in FIELD.finditer(text)]

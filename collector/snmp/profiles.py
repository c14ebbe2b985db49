"""Device profiles: what to read from a device, chosen by its sysObjectID and kind.

Profiles are YAML data files (built-in ones in ``collector/profiles/``; users add their
own directory without writing code). A profile names the vendor and how to find the
model, which standard readers run, and ``metrics``: vendor table columns turned into
samples. ``extends`` inherits another profile (its ``match`` excepted); metrics add up,
readers merge key by key. See docs/collector.md for the format, and
:mod:`collector.snmp.profile_files` for loading them with located errors.

Choosing a profile for a device, in order:

1. the profile whose ``match.sys_object_id`` prefix is the longest match of the
   device's sysObjectID (prefixes under net-snmp's own arc rank last: they name the
   agent, not the vendor) (a ``match.sys_descr`` regex, when given, must match too and wins
   a tie, then the profile with more ``match.answers``);
2. else a profile that matches by ``match.answers`` or ``match.sys_descr`` alone (no
   sysObjectID given; for agents whose sysObjectID names no vendor);
3. else a profile listing the inventory kind in ``match.fallback_for``;
4. else the one with ``fallback_for: ["*"]`` (``generic``).

``match.answers`` lists tables (OID roots) the device must answer for the profile to
apply: a family profile names a vendor's enterprise and the tables that mark the family
(every Huawei device that answers hwEntityStateTable), not each model. The driver asks
for them in one GETNEXT before matching (:mod:`collector.snmp.identify`).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from collector.snmp.oid import Oid, OidText, format_oid
from collector.snmp.readers import (
    READERS,
    EntityOptions,
    EntitySensorsOptions,
    EntityStateOptions,
    HostDevicesOptions,
    HostResourcesOptions,
    InterfacesOptions,
    MetricSpec,
    NeighborsOptions,
    Options,
    Reader,
    TableMetricReader,
    UcdOptions,
    UpsOptions,
)
from collector.snmp.snapshot import Snapshot
from weibao.inventory.model import DeviceKind

BUILTIN_DIR = Path(__file__).resolve().parent.parent / "profiles"


class Source(Options):
    """Where an identity field comes from; exactly one of text, sys_descr or oid."""

    text: str | None = None
    sys_descr: re.Pattern[str] | None = Field(
        default=None, description="regex on sysDescr; its first group (or the match) is used"
    )
    oid: OidText | None = Field(
        default=None, description="first non-empty value: GET if it ends in .0, else walked"
    )
    regex: re.Pattern[str] | None = Field(default=None, description="applied to the oid's text")

    @model_validator(mode="after")
    def _one(self) -> Source:
        given = [f for f in ("text", "sys_descr", "oid") if getattr(self, f) is not None]
        if len(given) != 1:
            raise ValueError("an identity source is one of `text`, `sys_descr` or `oid`")
        if self.regex is not None and self.oid is None:
            raise ValueError("`regex` applies to an `oid` source")
        return self

    def resolve(self, sys_descr: str, snap: Snapshot) -> str:
        if self.text is not None:
            return self.text
        if self.sys_descr is not None:
            return _search(self.sys_descr, sys_descr)
        assert self.oid is not None
        text = snap.first_text(self.oid)
        return _search(self.regex, text) if self.regex is not None and text else text


def _search(pattern: re.Pattern[str], text: str) -> str:
    found = pattern.search(text)
    if not found:
        return ""
    return (found.group(1) if pattern.groups else found.group(0)).strip()


def _sources(value: Any) -> Any:
    """``vendor: Huawei`` and list items that are plain text are fixed values."""
    if isinstance(value, str | dict):
        value = [value]
    if isinstance(value, list):
        return [{"text": item} if isinstance(item, str) else item for item in value]
    return value


Sources = Annotated[list[Source], BeforeValidator(_sources)]


def _enabled(value: Any) -> Any:
    """``interfaces:`` or ``true`` enables a reader with defaults; ``false`` disables it."""
    if value is None or value is True:
        return {}
    return None if value is False else value


def _reader_list(value: Any) -> Any:
    return dict.fromkeys(value) if isinstance(value, list) else value


class Readers(Options):
    interfaces: Annotated[InterfacesOptions | None, BeforeValidator(_enabled)] = None
    ucd: Annotated[UcdOptions | None, BeforeValidator(_enabled)] = None
    host_resources: Annotated[HostResourcesOptions | None, BeforeValidator(_enabled)] = None
    entity: Annotated[EntityOptions | None, BeforeValidator(_enabled)] = None
    ups: Annotated[UpsOptions | None, BeforeValidator(_enabled)] = None
    neighbors: Annotated[NeighborsOptions | None, BeforeValidator(_enabled)] = None
    entity_sensors: Annotated[EntitySensorsOptions | None, BeforeValidator(_enabled)] = None
    entity_state: Annotated[EntityStateOptions | None, BeforeValidator(_enabled)] = None
    host_devices: Annotated[HostDevicesOptions | None, BeforeValidator(_enabled)] = None


class Match(Options):
    sys_object_id: list[OidText] = Field(default_factory=list, description="prefixes")
    sys_descr: re.Pattern[str] | None = None
    answers: list[OidText] = Field(
        default_factory=list, description="tables (OID roots) the device must answer, all of them"
    )
    fallback_for: list[DeviceKind | Literal["*"]] = Field(default_factory=list)

    def answered(self, answered: Collection[Oid] | None) -> bool:
        """Whether every table in ``answers`` answered (unknown counts as no)."""
        if not self.answers:
            return True
        return answered is not None and all(root in answered for root in self.answers)


class Profile(Options):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]*$")
    description: str = ""
    extends: str | None = None
    match: Match = Field(default_factory=Match)
    kind: DeviceKind | None = None
    vendor: Sources = Field(default_factory=list)
    model: Sources = Field(default_factory=list)
    version: Sources = Field(default_factory=list)
    serial: Sources = Field(default_factory=list)
    readers: Annotated[Readers, BeforeValidator(_reader_list)] = Field(default_factory=Readers)
    metrics: list[MetricSpec] = Field(default_factory=list)

    def build_readers(self) -> list[Reader]:
        """Vendor metrics first: where they and a standard MIB measure the same thing, the
        vendor's table is the more precise one, and the first sample of a name wins."""
        readers: list[Reader] = [TableMetricReader(spec) for spec in self.metrics]
        return readers + [
            factory(getattr(self.readers, name))
            for name, factory in READERS.items()
            if getattr(self.readers, name) is not None
        ]

    def identity_oids(self) -> list[Oid]:
        fields = (self.vendor, self.model, self.version, self.serial)
        return [s.oid for sources in fields for s in sources if s.oid is not None]

    def identify(self, sys_descr: str, snap: Snapshot) -> dict[str, str]:
        """vendor/model/version/serial: the first source giving a value wins."""
        found: dict[str, str] = {}
        for field in ("vendor", "model", "version", "serial"):
            for source in getattr(self, field):
                value = source.resolve(sys_descr, snap)
                if value and value != "<private>":
                    found[field] = value
                    break
        return found


def inherit(parent: Profile, child: Profile) -> Profile:
    update: dict[str, Any] = {}
    for field in Profile.model_fields:
        if field in ("name", "description", "extends", "match"):
            continue
        if field not in child.model_fields_set:
            update[field] = getattr(parent, field)
        elif field == "metrics":
            update[field] = [*parent.metrics, *child.metrics]
        elif field == "readers":
            overrides = {f: getattr(child.readers, f) for f in child.readers.model_fields_set}
            update[field] = parent.readers.model_copy(update=overrides)
    return child.model_copy(update=update)


@dataclass(frozen=True)
class Detection:
    profile: Profile
    reason: str
    # Roots probed before matching, and those of them the device did not answer: the
    # driver skips reading under an absent root (nothing is there to read).
    probed: frozenset[Oid] = frozenset()
    absent: frozenset[Oid] = frozenset()


GENERIC = Profile(
    name="generic",
    description="any SNMP agent: system group and interfaces",
    match=Match(fallback_for=["*"]),
    readers=Readers(interfaces=InterfacesOptions(), neighbors=NeighborsOptions()),
)


class ProfileSet:
    def __init__(self, profiles: dict[str, Profile]) -> None:
        self.profiles = profiles

    def __getitem__(self, name: str) -> Profile:
        return self.profiles[name]

    def probe_roots(self, sys_object_id: Oid | None, sys_descr: str) -> list[Oid]:
        """The ``answers`` roots of every profile this device could still match."""
        roots: dict[Oid, None] = {}
        for profile in self.profiles.values():
            rule = profile.match
            if not rule.answers or not self._descr_ok(rule, sys_descr):
                continue
            if rule.sys_object_id and not any(
                sys_object_id is not None and sys_object_id[: len(p)] == p
                for p in rule.sys_object_id
            ):
                continue
            roots.update(dict.fromkeys(rule.answers))
        return list(roots)

    @staticmethod
    def _descr_ok(rule: Match, sys_descr: str) -> bool:
        return rule.sys_descr is None or bool(rule.sys_descr.search(sys_descr))

    def match(
        self,
        sys_object_id: Oid | None,
        sys_descr: str,
        kind: str | None,
        answered: Collection[Oid] | None = None,
    ) -> Detection:
        """The profile for a device; ``answered`` holds the probed roots that answered."""
        best: tuple[tuple[int, int, int, str], Profile, str] | None = None
        for profile in self.profiles.values():
            rule = profile.match
            if not self._descr_ok(rule, sys_descr) or not rule.answered(answered):
                continue
            tables = f" and answers {', '.join(format_oid(a) for a in rule.answers)}"
            tables = tables if rule.answers else ""
            candidates = [
                (
                    _weight(p),
                    f"sysObjectID {format_oid(sys_object_id or ())} is under {format_oid(p)}",
                )
                for p in rule.sys_object_id
                if sys_object_id is not None and sys_object_id[: len(p)] == p
            ]
            if not rule.sys_object_id and (rule.answers or rule.sys_descr is not None):
                said = f"sysDescr matches {rule.sys_descr.pattern!r}" if rule.sys_descr else ""
                candidates = [(0, said)]
            for length, why in candidates:
                # Longest prefix first, then a sys_descr condition, then more tables
                # answered; the name breaks ties.
                score = (
                    length,
                    int(rule.sys_descr is not None),
                    len(rule.answers),
                    _reverse(profile.name),
                )
                if best is None or score > best[0]:
                    best = (score, profile, (why + tables).removeprefix(" and "))
        if best is not None:
            return Detection(best[1], best[2])
        for wanted, why in ((kind, f"fallback for kind {kind}"), ("*", "fallback for any kind")):
            candidates_ = sorted(
                (p for p in self.profiles.values() if wanted in p.match.fallback_for),
                key=lambda p: p.name,
            )
            if wanted and candidates_:
                return Detection(candidates_[0], why)
        return Detection(GENERIC, "no profile matched: built-in generic")


# sysObjectIDs that name the agent software, not the vendor: many appliances (UPS cards,
# BMCs, NAS) run net-snmp and answer with its sysObjectID. A match there ranks below a
# profile matched by the tables the device answers or by its sysDescr.
AGENT_ARCS: tuple[Oid, ...] = ((1, 3, 6, 1, 4, 1, 8072), (1, 3, 6, 1, 4, 1, 2021))


def _weight(prefix: Oid) -> int:
    if any(prefix[: len(arc)] == arc for arc in AGENT_ARCS):
        return len(prefix) - 100
    return len(prefix)


def _reverse(name: str) -> str:
    # max() must prefer the alphabetically first name on a tie.
    return "".join(chr(0x10FFFF - ord(c)) for c in name)

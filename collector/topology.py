"""From LLDP/CDP neighbours to ``depends_on`` suggestions: pure, no I/O, no clock.

``weibao topology suggest`` inspects the SNMP devices and hands their observations'
meta here (``neighbors``, ``sys_name``, ``lldp_chassis``; see the ``neighbors`` reader).
Three steps, each testable on constructed facts:

1. **Match** every neighbour to a device of the same customer (private addresses repeat
   from one customer to the next), strongest evidence first: the chassis ID another
   inspected device reported as its own, then the name (device name, an inspected
   device's sysName, or a DNS address; case-insensitive, domain ignored when only one
   side has one), then the management address against device addresses. Evidence that
   points at two devices is ambiguous and reported, never guessed.
2. **Orient** each link: network kinds (switch, router, firewall, load balancer) are
   upstream of everything else; between network devices the role decides (core above
   distribution above access, in English or Chinese). Links that cannot be oriented are
   reported with what would decide them.
3. **Compare** each device's upstream neighbours with its declared ``depends_on``: two
   or more upstream neighbours are one redundant group.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from weibao.inventory.graph import find_cycles
from weibao.inventory.model import Device, DeviceContext, DeviceKind

NETWORK_KINDS = frozenset(
    {DeviceKind.switch, DeviceKind.router, DeviceKind.firewall, DeviceKind.load_balancer}
)
# Role words by tier, top first; matched as parts of the free-text role ("core-l3", "接入层").
ROLE_TIERS: tuple[tuple[str, ...], ...] = (
    ("core", "backbone", "核心"),
    ("distribution", "aggregation", "agg", "dist", "汇聚"),
    ("access", "edge", "接入"),
)
ROLE_HINT = "set role: core, distribution or access on these devices to order them"


@dataclass(frozen=True)
class Neighbor:
    """One row of the ``neighbors`` reader (``meta.neighbors``)."""

    protocol: str
    local_port: str = ""
    remote_name: str = ""
    remote_port: str = ""
    remote_chassis: str = ""
    remote_address: str = ""


def parse_neighbors(text: str) -> list[Neighbor]:
    """``meta.neighbors`` JSON into neighbours; rows without any identity are dropped."""
    rows = json.loads(text) if text else []
    fields = Neighbor.__dataclass_fields__
    out = []
    for row in rows if isinstance(rows, list) else []:
        if not isinstance(row, dict):
            continue
        values = {k: str(v) for k, v in row.items() if k in fields and v is not None}
        neighbor = Neighbor(**{"protocol": "", **values})
        if neighbor.remote_name or neighbor.remote_chassis or neighbor.remote_address:
            out.append(neighbor)
    return out


@dataclass(frozen=True)
class Observed:
    """What one device's inspection told about itself and its neighbours."""

    device: str
    sys_name: str = ""
    chassis: str = ""
    neighbors: tuple[Neighbor, ...] = ()

    @classmethod
    def from_meta(cls, device: str, meta: Mapping[str, str]) -> Observed:
        return cls(
            device,
            meta.get("sys_name", ""),
            meta.get("lldp_chassis", ""),
            tuple(parse_neighbors(meta.get("neighbors", ""))),
        )


@dataclass(frozen=True)
class Link:
    """``device`` (which reported it) on ``local_port`` sees ``neighbor`` on ``remote_port``."""

    device: str
    local_port: str
    neighbor: str
    remote_port: str
    protocol: str
    matched_by: str  # chassis, name, sys_name, address

    def describe(self) -> str:
        here = f"{self.device} {self.local_port or '?'}"
        there = f"{self.neighbor} {self.remote_port or '?'}"
        return f"{here} - {there} ({self.protocol}, matched by {self.matched_by})"


@dataclass(frozen=True)
class Unmatched:
    """A neighbour that names no device of the inventory, or more than one."""

    device: str
    neighbor: Neighbor
    candidates: tuple[str, ...] = ()  # two or more: ambiguous

    def describe(self) -> str:
        n = self.neighbor
        who = n.remote_name or n.remote_chassis or n.remote_address
        extra = ", ".join(x for x in (n.remote_chassis, n.remote_address) if x and x != who)
        text = f"{self.device} {n.local_port or '?'} -> {who!r}" + (f" ({extra})" if extra else "")
        if self.candidates:
            return f"{text}: matches {', '.join(self.candidates)}; tell them apart"
        return text


@dataclass(frozen=True)
class Undirected:
    a: str
    b: str
    reason: str


class Status(StrEnum):
    new = "new"  # nothing declared: add it
    declared = "declared"  # the inventory already says so
    differs = "differs"  # declared, but not what the neighbours show
    contradicts = "contradicts"  # declares a device the neighbours show is downstream
    unconfirmed = "unconfirmed"  # declared, no upstream neighbour seen


@dataclass(frozen=True)
class Suggestion:
    device: str
    status: Status
    upstream: tuple[str, ...]  # the upstream neighbours seen (two or more: a redundant group)
    declared: tuple[str, ...]
    evidence: tuple[Link, ...] = ()
    note: str = ""
    below: tuple[str, ...] = ()  # declared upstream, but seen downstream of it

    @property
    def proposed(self) -> tuple[str, ...]:
        """The ``depends_on`` to write: what was seen, else the declared minus the wrong ones."""
        if self.upstream:
            return self.upstream
        return tuple(d for d in self.declared if d not in self.below)

    @property
    def to_change(self) -> bool:
        return self.status in (Status.new, Status.differs, Status.contradicts)


@dataclass(frozen=True)
class Topology:
    links: tuple[Link, ...]
    suggestions: tuple[Suggestion, ...]
    undirected: tuple[Undirected, ...] = ()
    unmatched: tuple[Unmatched, ...] = ()
    cycles: tuple[tuple[str, ...], ...] = field(default=())  # if every suggestion were applied


def role_tier(role: str | None) -> int | None:
    """0 core, 1 distribution, 2 access, None when the role names no tier."""
    text = (role or "").lower()
    for tier, words in enumerate(ROLE_TIERS):
        if any(word in text for word in words):
            return tier
    return None


def upstream_of(a: Device, b: Device) -> tuple[str | None, str]:
    """Which of two linked devices is upstream (its name) and why; None and why not."""
    a_net, b_net = a.kind in NETWORK_KINDS, b.kind in NETWORK_KINDS
    if a_net != b_net:
        up, down = (a, b) if a_net else (b, a)
        return up.name, f"{up.name} ({up.kind.value}) above {down.name} ({down.kind.value})"
    if not a_net:
        return None, f"neither is a network device ({a.kind.value}, {b.kind.value})"
    ta, tb = role_tier(a.role), role_tier(b.role)
    if ta is not None and tb is not None and ta != tb:
        up, down = (a, b) if ta < tb else (b, a)
        return up.name, f"{up.name} ({up.role}) above {down.name} ({down.role})"
    roles = f"roles {a.role or 'unset'} and {b.role or 'unset'}"
    return None, f"two network devices with {roles}: {ROLE_HINT}"


Index = dict[tuple[str, str], dict[str, str]]  # (customer, key) -> {device: matched_by}


class Matcher:
    """Indexes of one inventory (and what inspections said) by the evidence we compare."""

    def __init__(self, contexts: Sequence[DeviceContext], observed: Sequence[Observed]) -> None:
        self.customer = {c.device.name: c.customer.name for c in contexts}
        self.by_chassis: Index = {}
        self.by_name: Index = {}
        self.by_host: Index = {}  # names without their domain
        self.by_address: Index = {}
        names: list[tuple[str, str, str, str]] = []  # customer, name, device, matched_by
        for ctx in contexts:
            device, customer = ctx.device, ctx.customer.name
            names.append((customer, device.name, device.name, "name"))
            if device.address and _is_ip(device.address):
                _add(
                    self.by_address, customer, _address_key(device.address), device.name, "address"
                )
            elif device.address:
                names.append((customer, device.address, device.name, "address"))
        for seen in observed:
            customer = self.customer.get(seen.device, "")
            if seen.chassis:
                _add(self.by_chassis, customer, _chassis_key(seen.chassis), seen.device, "chassis")
            if seen.sys_name and seen.sys_name != "<private>":
                names.append((customer, seen.sys_name, seen.device, "sys_name"))
        for customer, name, owner, how in names:
            _add(self.by_name, customer, _name_key(name), owner, how)
            _add(self.by_host, customer, _host(_name_key(name)), owner, how)

    def match(self, device: str, n: Neighbor) -> tuple[tuple[str, ...], str]:
        """The devices ``n`` (seen by ``device``) may be, and the evidence that said so."""
        customer = self.customer.get(device, "")
        name = _name_key(n.remote_name)
        tries = [
            (self.by_chassis, _chassis_key(n.remote_chassis)),
            (self.by_name, name),
            (self.by_host, _host(name)),
            (self.by_address, _address_key(n.remote_address)),
            (self.by_address, _address_key(n.remote_chassis)),
        ]
        for index, key in tries:
            found = {d: how for d, how in index.get((customer, key), {}).items() if d != device}
            if key and found:
                return tuple(sorted(found)), found[min(found)]
        return (), ""


def suggest(contexts: Sequence[DeviceContext], observed: Sequence[Observed]) -> Topology:
    """Match, orient and compare; see the module docstring."""
    devices = {c.device.name: c.device for c in contexts}
    matcher = Matcher(contexts, observed)
    links: list[Link] = []
    unmatched: list[Unmatched] = []
    for seen in observed:
        if seen.device not in devices:
            continue
        for n in seen.neighbors:
            found, how = matcher.match(seen.device, n)
            if len(found) == 1:
                links.append(
                    Link(seen.device, n.local_port, found[0], n.remote_port, n.protocol, how)
                )
            else:
                unmatched.append(Unmatched(seen.device, n, found))
    upstream: dict[str, dict[str, str]] = {}  # down -> up -> why that way round
    evidence: dict[str, list[Link]] = {}
    undirected: dict[frozenset[str], Undirected] = {}
    for link in links:
        a, b = devices[link.device], devices[link.neighbor]
        up, why = upstream_of(a, b)
        if up is None:
            undirected.setdefault(frozenset((a.name, b.name)), Undirected(a.name, b.name, why))
            continue
        down = b.name if up == a.name else a.name
        upstream.setdefault(down, {}).setdefault(up, why)
        evidence.setdefault(down, []).append(link)
    scope = {s.device for s in observed} | {x for k in links for x in (k.device, k.neighbor)}
    suggestions: list[Suggestion] = []
    for name in sorted(scope):
        suggestion = _compare(devices[name], upstream, evidence.get(name, []))
        if suggestion is not None:
            suggestions.append(suggestion)
    return Topology(
        tuple(links),
        tuple(suggestions),
        tuple(undirected.values()),
        tuple(unmatched),
        _cycles(devices.values(), suggestions),
    )


def _compare(
    device: Device, upstream: Mapping[str, Mapping[str, str]], evidence: list[Link]
) -> Suggestion | None:
    seen = tuple(sorted(upstream.get(device.name, ())))
    declared = tuple(device.depends_on)
    below = sorted(t for t in declared if device.name in upstream.get(t, ()))
    why = "; ".join(upstream[device.name][up] for up in seen)
    group = "two or more uplinks: a redundant group; " if len(seen) > 1 else ""
    if below:
        note = f"declares {', '.join(below)}, which the neighbours show below it"
        return Suggestion(
            device.name, Status.contradicts, seen, declared, tuple(evidence), note, tuple(below)
        )
    if not seen:
        if not declared:
            return None
        note = "no upstream neighbour seen: LLDP/CDP may be off on one side"
        return Suggestion(device.name, Status.unconfirmed, seen, declared, (), note)
    if not declared:
        status, note = Status.new, group + why
    elif set(declared) == set(seen):
        status, note = Status.declared, "as declared; " + why
    else:
        extra = sorted(set(seen) - set(declared))
        gone = sorted(set(declared) - set(seen))
        parts = [f"not declared: {', '.join(extra)}"] if extra else []
        parts += [f"no link seen to {', '.join(gone)}"] if gone else []
        status, note = Status.differs, "; ".join(parts)
    return Suggestion(device.name, status, seen, declared, tuple(evidence), note)


def _cycles(
    devices: Iterable[Device], suggestions: Sequence[Suggestion]
) -> tuple[tuple[str, ...], ...]:
    graph = {d.name: list(d.depends_on) for d in devices}
    for s in suggestions:
        if s.to_change:
            graph[s.device] = list(s.proposed)
    return tuple(tuple(c) for c in find_cycles(graph))


def _add(index: Index, customer: str, key: str, device: str, how: str) -> None:
    if key:
        index.setdefault((customer, key), {}).setdefault(device, how)


def _name_key(text: str) -> str:
    return text.strip().lower().rstrip(".")


def _host(key: str) -> str:
    """A name without its domain ("" for an IP address)."""
    return "" if _is_ip(key) else key.split(".", 1)[0]


def _address_key(text: str) -> str:
    text = text.strip().lower()
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        return text


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _chassis_key(text: str) -> str:
    """MAC addresses compare whatever their separators (aa:bb.., aabb.cc.., AA-BB-..)."""
    text = text.strip().lower()
    bare = text.replace(":", "").replace("-", "").replace(".", "")
    return bare if len(bare) == 12 and all(c in "0123456789abcdef" for c in bare) else text

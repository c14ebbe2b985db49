"""The inventory as the engine needs it, built once per inventory object.

Device contexts, upstream groups, maintenance windows and, lazily, which rules apply to
a (device, source, sample name): the engine meets thousands of observations a minute,
and the inventory changes rarely, so this work is done once and looked up after.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from rules.alarms import fingerprint, fingerprint_labels
from rules.maintenance import ScopedWindow, windows_of
from rules.model import Rule, RuleSet
from weibao.inventory.model import DeviceContext, Inventory
from weibao.observation import Sample

# (device, source, fingerprint, fingerprint labels) of a no-data rule.
Target = tuple[DeviceContext, str, str, dict[str, str]]
# (device, its inventory sample, fingerprint, fingerprint labels) of an advisory rule.
InventoryTarget = tuple[DeviceContext, Sample, str, dict[str, str]]


@dataclass
class InventoryView:
    devices: dict[str, DeviceContext]
    depends: dict[str, tuple[str, ...]]
    windows: dict[str, tuple[ScopedWindow, ...]]
    anchors: dict[str, str]
    names: tuple[str, ...]
    _applicable: dict[tuple[Profile, str, str], tuple[Rule, ...]] = field(default_factory=dict)
    _profiles: dict[str, Profile] = field(default_factory=dict)
    _silence: dict[str, list[Target]] = field(default_factory=dict)
    _advisory: dict[str, list[InventoryTarget]] = field(default_factory=dict)
    _by_site: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)
    _quiet: dict[str, list[tuple[float, str]]] | None = None

    @classmethod
    def build(cls, inventory: Inventory) -> InventoryView:
        devices: dict[str, DeviceContext] = {}
        anchors: dict[str, str] = {}
        for ctx in inventory.contexts():
            devices.setdefault(ctx.device.name, ctx)
            anchors.setdefault(ctx.contract.id, ctx.device.name)
        return cls(
            devices=devices,
            depends={n: tuple(c.device.depends_on) for n, c in devices.items()},
            windows={n: windows_of(c) for n, c in devices.items()},
            anchors=anchors,
            names=tuple(sorted(devices)),
        )

    def rules_for(
        self, ruleset: RuleSet, device: str, source: str, sample: str
    ) -> tuple[Rule, ...]:
        """The rules reading ``sample`` whose selector takes this device and source.

        Cached by what selectors read of a device (its profile), not by device: a cache
        entry per device and sample name grew to a million objects at 50,000 devices,
        which the garbage collector then walked again and again."""
        profile = self._profiles.get(device)
        if profile is None:
            profile = self._profiles[device] = _profile(self.devices[device], ruleset)
        key = (profile, source, sample)
        found = self._applicable.get(key)
        if found is None:
            ctx = self.devices[device]
            found = tuple(
                rule
                for rule in ruleset.by_sample.get(sample, ())
                if rule.selector.selects(ctx)
                and (rule.selector.source is None or source in rule.selector.source)
            )
            self._applicable[key] = found
        return found

    def silence_targets(self, rule: Rule) -> list[Target]:
        """Each (device, source) a no-data rule watches: sources its ``inspect`` names."""
        found = self._silence.get(rule.id)
        if found is None:
            found = []
            for name in self.names:
                ctx = self.devices[name]
                if not rule.selector.selects(ctx):
                    continue
                for source in ctx.device.inspect.methods:
                    labels = {"source": source}
                    if rule.selector.source is not None and source not in rule.selector.source:
                        continue
                    if rule.selects(labels):
                        fpl = fingerprint_labels(rule, labels)
                        found.append((ctx, source, fingerprint(rule, name, fpl), fpl))
            self._silence[rule.id] = found
        return found

    def silence_of(self, ruleset: RuleSet, device: str) -> list[tuple[float, str]]:
        """(seconds of silence that fire, source) of each no-data rule watching ``device``."""
        if self._quiet is None:
            quiet: dict[str, list[tuple[float, str]]] = {}
            for rule in ruleset.sweeping:
                if rule.no_data is None:
                    continue
                for ctx, source, _, _ in self.silence_targets(rule):
                    quiet.setdefault(ctx.device.name, []).append((rule.no_data, source))
            self._quiet = quiet
        return self._quiet.get(device, [])

    def site_groups(self, rule: Rule) -> dict[str, tuple[str, ...]]:
        """A collapsing rule's fingerprints (each device and source it watches) by site, sorted."""
        found = self._by_site.get(rule.id)
        if found is None:
            groups: dict[str, list[str]] = {}
            for ctx, _, fp, _ in self.silence_targets(rule):
                groups.setdefault(site_key(ctx), []).append(fp)
            found = {key: tuple(sorted(fps)) for key, fps in groups.items()}
            self._by_site[rule.id] = found
        return found

    def inventory_targets(self, rule: Rule) -> list[InventoryTarget]:
        """The inventory's own samples for an advisory rule: warranty and contract ends.

        A contract's end is reported once, on the contract's first device, so fifty
        devices under one contract make one advisory, not fifty.
        """
        found = self._advisory.get(rule.id)
        if found is None:
            found = []
            for name in self.names:
                ctx = self.devices[name]
                sample = _inventory_sample(rule.sample or "", ctx, self.anchors)
                if (
                    sample is None
                    or not rule.selector.selects(ctx)
                    or not rule.selects(sample.labels)
                ):
                    continue
                fpl = fingerprint_labels(rule, sample.labels)
                found.append((ctx, sample, fingerprint(rule, name, fpl), fpl))
            self._advisory[rule.id] = found
        return found


# What a rule's device selector reads (rules.conditions.DeviceTest), the name only when
# some selector names devices.
Profile = tuple[str | None, ...]


def _profile(ctx: DeviceContext, ruleset: RuleSet) -> Profile:
    device = ctx.device
    named = any(rule.selector.name is not None for rule in ruleset.rules)
    return (
        device.kind.value,
        device.vendor,
        device.model,
        device.role,
        device.criticality.value,
        ",".join(sorted(t.casefold() for t in device.tags)),
        device.name if named else None,
    )


def site_key(ctx: DeviceContext) -> str:
    return f"{ctx.customer.name}/{ctx.contract.id}/{ctx.site.name}"


def _inventory_sample(name: str, ctx: DeviceContext, anchors: dict[str, str]) -> Sample | None:
    tz = ctx.site.timezone
    if name == "warranty_end_timestamp" and ctx.device.warranty_end is not None:
        return Sample(name=name, value=day_start(ctx.device.warranty_end, tz))
    if name == "contract_end_timestamp" and anchors.get(ctx.contract.id) == ctx.device.name:
        labels = {"contract": ctx.contract.id, "contract_name": ctx.contract.name}
        return Sample(name=name, labels=labels, value=day_start(ctx.contract.end, tz))
    return None


def day_start(day: date, tz: str) -> float:
    """Midnight at the start of ``day`` in the site's time zone, as Unix seconds."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC).timestamp()

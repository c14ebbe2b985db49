"""Checks that need the whole inventory, not one field: names, ``depends_on``, secrets.

They run on the raw YAML data, before and whatever pydantic says, so one ``weibao check``
shows every problem at once; the raw data may be of any shape, so every walk here is
defensive and skips what is not a mapping or a list. The same name and graph rules are
applied to a built :class:`Inventory` by :func:`~weibao.inventory.graph.inventory_problems`.

Also here: what the model expects at a location (known keys, allowed values), which the
loader needs to turn "extra inputs are not permitted" into "did you mean 'address'?".
"""

from __future__ import annotations

import enum
import types
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from weibao.errors import Problem
from weibao.inventory.graph import find_cycles
from weibao.inventory.model import Inventory
from weibao.inventory.values import did_you_mean
from weibao.secrets import PREFIXES, SecretRef

if TYPE_CHECKING:
    from weibao.yamldoc import Document

Loc = tuple[Any, ...]

# Where secrets live in a device, and their field names there.
SECRET_FIELDS: dict[str, tuple[str, ...]] = {
    "snmp": ("community", "auth_key", "priv_key"),
    "ssh": ("key", "password"),
}


def check_document(doc: Document, environ: Mapping[str, str]) -> list[Problem]:
    """Every whole-file problem in ``doc``: errors, and warnings for unreadable secrets."""
    return [
        *check_unique_names(doc),
        *check_depends_on(doc),
        *check_secrets(doc, environ),
        *check_weak_snmp(doc),
        *check_reports(doc),
    ]


# -- walking the raw data ----------------------------------------------------------------


def _items(node: Any, key: str, loc: Loc) -> Iterator[tuple[Loc, dict[str, Any]]]:
    """The mapping items of the list ``node[key]``, with their locations."""
    children = node.get(key) if isinstance(node, dict) else None
    if isinstance(children, list):
        for index, child in enumerate(children):
            if isinstance(child, dict):
                yield (*loc, key, index), child


def iter_customers(data: Any) -> Iterator[tuple[Loc, dict[str, Any]]]:
    yield from _items(data, "customers", ())


def iter_contracts(data: Any) -> Iterator[tuple[Loc, dict[str, Any]]]:
    for loc, customer in iter_customers(data):
        yield from _items(customer, "contracts", loc)


def iter_sites(data: Any) -> Iterator[tuple[Loc, dict[str, Any]]]:
    for loc, contract in iter_contracts(data):
        yield from _items(contract, "sites", loc)


def iter_devices(data: Any) -> Iterator[tuple[Loc, dict[str, Any]]]:
    for loc, site in iter_sites(data):
        yield from _items(site, "devices", loc)


def _name(item: dict[str, Any], key: str = "name") -> str | None:
    value = item.get(key)
    return value if isinstance(value, str) and value else None


def _depends(device: dict[str, Any], loc: Loc) -> list[tuple[Loc, str]]:
    """``depends_on`` targets with their own locations; a single name is a one-item list."""
    value = device.get("depends_on")
    if isinstance(value, str):
        return [((*loc, "depends_on"), value)]
    if isinstance(value, list):
        return [((*loc, "depends_on", i), v) for i, v in enumerate(value) if isinstance(v, str)]
    return []


# -- unique names ------------------------------------------------------------------------


def check_unique_names(doc: Document) -> list[Problem]:
    """Customer names, contract ids, site names in a contract and device names are unique."""
    problems = _duplicates(doc, iter_customers(doc.data), "name", "customer name")
    problems += _duplicates(doc, iter_contracts(doc.data), "id", "contract id")
    for loc, contract in iter_contracts(doc.data):
        problems += _duplicates(doc, _items(contract, "sites", loc), "name", "site name")
    problems += _duplicates(
        doc,
        iter_devices(doc.data),
        "name",
        "device name",
        "device names are unique in the whole inventory (tickets and depends_on use them): "
        "rename one of the two",
    )
    return problems


def _duplicates(
    doc: Document,
    items: Iterator[tuple[Loc, dict[str, Any]]],
    key: str,
    what: str,
    hint: str = "",
) -> list[Problem]:
    first: dict[str, Loc] = {}
    problems = []
    for loc, item in items:
        name = _name(item, key)
        if name is None:
            continue
        if name in first:
            where = doc.line((*first[name], key))
            problems.append(
                doc.problem(
                    (*loc, key),
                    f"{what} {name!r} is already used at line {where}",
                    hint or f"each {what} must be unique: rename one of the two",
                )
            )
        else:
            first[name] = loc
    return problems


# -- depends_on --------------------------------------------------------------------------


def check_depends_on(doc: Document) -> list[Problem]:
    """Every ``depends_on`` names a device of the inventory, and the graph has no cycle."""
    names = {n for _, d in iter_devices(doc.data) if (n := _name(d))}
    problems = []
    graph: dict[str, list[str]] = {}
    where: dict[str, Loc] = {}
    for loc, device in iter_devices(doc.data):
        name = _name(device)
        for dep_loc, target in _depends(device, loc):
            if target not in names:
                hint = did_you_mean(target, names) or (
                    "depends_on takes names of devices in this file; check the spelling"
                )
                msg = f"depends_on names {target!r}, which is not a device in this inventory"
                problems.append(doc.problem(dep_loc, msg, hint))
            elif name:
                graph.setdefault(name, []).append(target)
                where.setdefault(name, (*loc, "depends_on"))
    for cycle in find_cycles(graph):
        problems.append(
            doc.problem(
                where[cycle[0]],
                "depends_on makes a cycle: " + " -> ".join([*cycle, cycle[0]]),
                "a device cannot be upstream of itself: remove one of these depends_on links",
            )
        )
    return problems


# -- secrets -----------------------------------------------------------------------------


def iter_secrets(data: Any) -> Iterator[tuple[Loc, SecretRef]]:
    """Every well-formed secret reference of every device (the malformed are pydantic's)."""
    for loc, device in iter_devices(data):
        inspect = device.get("inspect")
        for method, names in SECRET_FIELDS.items():
            block = inspect.get(method) if isinstance(inspect, dict) else None
            if not isinstance(block, dict):
                continue
            for name in names:
                value = block.get(name)
                if isinstance(value, str) and value.startswith(PREFIXES):
                    try:
                        ref = SecretRef.parse(value)
                    except ValueError:
                        continue
                    yield (*loc, "inspect", method, name), ref


def check_secrets(doc: Document, environ: Mapping[str, str]) -> list[Problem]:
    """Warn about references that cannot be resolved on this machine now.

    A warning, not an error: the check may run on a laptop while the secrets exist only
    where weibao runs. At inspection time the same reference is an error of that device.
    One warning per reference, at its first use, so ten devices sharing one community
    do not bury the rest of the report.
    """
    uses: dict[SecretRef, list[Loc]] = {}
    for loc, ref in iter_secrets(doc.data):
        uses.setdefault(ref, []).append(loc)
    problems = []
    for ref, locs in uses.items():
        reason = ref.missing_reason(environ)
        if reason is None:
            continue
        message = f"secret {ref} cannot be read: {reason}"
        others = sorted({line for loc in locs[1:] if (line := doc.line(loc))})
        if others:
            message += " (also used at line" + ("s " if len(others) > 1 else " ")
            message += ", ".join(map(str, others)) + ")"
        problems.append(doc.problem(locs[0], message, _secret_hint(ref), severity="warning"))
    return problems


def _secret_hint(ref: SecretRef) -> str:
    if ref.kind == "env":
        return (
            f"set {ref.target} in weibao's environment (e.g. the EnvironmentFile of its "
            "systemd unit), or inspections that need it will fail"
        )
    return (
        f"create {ref.target}, readable by the weibao user only (chmod 600), "
        "or inspections that need it will fail"
    )


def check_weak_snmp(doc: Document) -> list[Problem]:
    """Warn about SNMPv3 protocols that work but are broken (MD5, DES)."""
    weak = {
        "auth_protocol": ("md5", "MD5 authentication is weak", "use auth_protocol: sha256"),
        "priv_protocol": ("des", "DES privacy is weak", "use priv_protocol: aes128 or aes256"),
    }
    problems = []
    for loc, device in iter_devices(doc.data):
        inspect = device.get("inspect")
        snmp = inspect.get("snmp") if isinstance(inspect, dict) else None
        if not isinstance(snmp, dict):
            continue
        for key, (bad, message, hint) in weak.items():
            if str(snmp.get(key, "")).lower() == bad:
                at = (*loc, "inspect", "snmp", key)
                problems.append(doc.problem(at, message, hint, severity="warning"))
    return problems


def check_reports(doc: Document) -> list[Problem]:
    """The ``reports:`` section names things that must exist: the e-mail channel reports
    are delivered through, and the cover's logo file (relative to the inventory)."""
    reports = doc.data.get("reports") if isinstance(doc.data, dict) else None
    if not isinstance(reports, dict):
        return []
    problems = []
    delivery = reports.get("delivery")
    channel = delivery.get("channel") if isinstance(delivery, dict) else None
    if isinstance(channel, str):
        notifications = doc.data.get("notifications")
        listed = notifications.get("channels") if isinstance(notifications, dict) else None
        types = {
            str(c.get("name")): str(c.get("type"))
            for c in (listed if isinstance(listed, list) else [])
            if isinstance(c, dict)
        }
        at = ("reports", "delivery", "channel")
        if channel not in types:
            hint = did_you_mean(channel, types) or "name a channel of notifications.channels"
            problems.append(doc.problem(at, f"no notification channel {channel!r}", hint))
        elif types[channel] != "email":
            problems.append(
                doc.problem(
                    at,
                    f"channel {channel!r} is a {types[channel]} channel; reports are e-mailed",
                    "name a channel with type: email (it carries the PDF as an attachment)",
                )
            )
    company = reports.get("company")
    logo = company.get("logo") if isinstance(company, dict) else None
    if isinstance(logo, str) and not logo_path(logo, doc.file).is_file():
        problems.append(
            doc.problem(
                ("reports", "company", "logo"),
                f"the logo file {logo!r} does not exist",
                "give an SVG or PNG file, absolute or relative to the inventory file",
            )
        )
    return problems


def logo_path(logo: str, inventory_file: str) -> Path:
    """A logo path as written, made absolute against the inventory file's directory."""
    path = Path(logo).expanduser()
    return path if path.is_absolute() else Path(inventory_file).resolve().parent / path


# -- what the model expects at a location ------------------------------------------------


def unknown_key_hint(loc: Sequence[Any]) -> str:
    """The hint for an unknown key at pydantic ``loc``: a near miss, or the keys allowed."""
    model = model_at(loc[:-1])
    if model is None:
        return "remove it (see docs/inventory.md)"
    known = list(model.model_fields)
    near = did_you_mean(str(loc[-1]), known)
    allowed = "keys allowed here: " + ", ".join(known)
    return f"{near} ({allowed})" if near else allowed


def field_choices(loc: Sequence[Any]) -> list[str]:
    """Allowed values of the enum or Literal field at pydantic ``loc``, else []."""
    model = model_at(loc[:-1])
    info = model.model_fields.get(str(loc[-1])) if model else None
    if info is None:
        return []
    for arg in _unwrap(info.annotation):
        if isinstance(arg, type) and issubclass(arg, enum.Enum):
            return [str(m.value) for m in arg]
        if get_origin(arg) is Literal:
            return [str(a) for a in get_args(arg)]
    return []


def is_secret_field(loc: Sequence[Any]) -> bool:
    """Whether pydantic ``loc`` points into a secret, whose value must never be echoed."""
    names = {n for group in SECRET_FIELDS.values() for n in group}
    return any(isinstance(p, str) and p in names for p in loc[-2:])


def model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class validating the mapping at pydantic ``loc`` (from the Inventory down)."""
    current: Any = Inventory
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    return _as_model(current)


def _step(annotation: Any, part: Any) -> Any:
    for arg in _unwrap(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            info = arg.model_fields.get(part) if isinstance(part, str) else None
            if info is not None:
                return info.annotation
        origin = get_origin(arg)
        if origin is list and isinstance(part, int):
            return get_args(arg)[0]
        if origin is dict:
            return get_args(arg)[1]
    return None


def _as_model(annotation: Any) -> type[BaseModel] | None:
    for arg in _unwrap(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _unwrap(annotation: Any) -> list[Any]:
    """The alternatives of an annotation: ``X | None`` and ``Annotated[X, ...]`` give [X]."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _unwrap(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        return [a for arg in get_args(annotation) if arg is not type(None) for a in _unwrap(arg)]
    return [annotation]

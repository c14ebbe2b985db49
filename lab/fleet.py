"""Load ``lab/fleet.yaml``: the devices, and the faults as patches of their data.

A fault's ``patch`` is merged into the devices it names, key by key. A mapping in a
patch may only change a mapping that is there (``interfaces: {Gi1/0/25: {up: false}}``
needs a port Gi1/0/25), so a misspelt port name is an error at load, not a fault that
quietly adds a new port and changes nothing. Every fault is applied and validated at
load, so switching one on at run time cannot fail.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from lab.model import Fault, FleetFile, LabDevice
from weibao.errors import ConfigError, Problem
from weibao.secrets import SecretRef
from weibao.yamldoc import Document, Loc, parse_yaml, plain_message

DOCS = "see docs/lab.md (the fleet file)"


class PatchError(ValueError):
    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = loc


def merge(base: Any, patch: Any, loc: Loc = ()) -> Any:
    """``patch`` laid over ``base``: mappings key by key, anything else replaced."""
    if not isinstance(patch, dict):
        return patch
    if not isinstance(base, dict):
        raise PatchError(loc, "the patch gives a mapping where the device has a plain value")
    merged = dict(base)
    for key, value in patch.items():
        if isinstance(value, dict):
            if key not in base:
                near = difflib.get_close_matches(str(key), [str(k) for k in base], n=1)
                hint = f" (did you mean {near[0]!r}?)" if near else ""
                raise PatchError(
                    (*loc, key),
                    f"{key!r} is not in the device's data{hint}: a fault changes what is there",
                )
            merged[key] = merge(base[key], value, (*loc, key))
        else:
            merged[key] = value
    return merged


@dataclass(frozen=True)
class Fleet:
    """The lab's devices (as written) and its faults, in file order."""

    file: str
    raw: Mapping[str, dict[str, Any]]
    devices: Mapping[str, LabDevice]
    faults: Mapping[str, Fault]

    def effective(self, active: Iterable[str]) -> dict[str, LabDevice]:
        """Every device with the patches of the ``active`` faults applied (file order)."""
        on = set(active)
        data = {name: dict(raw) for name, raw in self.raw.items()}
        touched: set[str] = set()
        for name, fault in self.faults.items():
            if name not in on:
                continue
            for device, patch in fault.patch.items():
                data[device] = merge(data[device], patch)
                touched.add(device)
        return {
            name: LabDevice.model_validate(data[name]) if name in touched else device
            for name, device in self.devices.items()
        }

    def secret_refs(self) -> list[SecretRef]:
        """Every credential reference the lab serves, once each, in file order."""
        refs: dict[SecretRef, None] = {}
        for device in self.devices.values():
            if device.snmp is not None:
                for ref in (device.snmp.community, device.snmp.auth_key, device.snmp.priv_key):
                    if ref is not None:
                        refs[ref] = None
            if device.ssh is not None:
                refs[device.ssh.password] = None
        return list(refs)

    def unknown_fault(self, name: str) -> str | None:
        """Why ``name`` is not a fault of this fleet (with did-you-mean), or None."""
        if name in self.faults:
            return None
        near = difflib.get_close_matches(name, list(self.faults), n=3)
        hint = f"did you mean {', '.join(near)}?" if near else f"faults: {', '.join(self.faults)}"
        return f"no fault named {name!r} in {self.file} ({hint})"


def load_fleet(path: Path) -> Fleet:
    """The fleet in ``path``, or ConfigError with every problem as FILE:LINE: path: message."""
    file = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(file, None, "", f"cannot read: {exc.strerror}", DOCS)]) from None
    doc, problems = parse_yaml(text, file, docs_hint=DOCS)
    if doc is None or problems:
        raise ConfigError(problems)
    if not isinstance(doc.data, dict):
        raise ConfigError(
            [doc.problem((), "the fleet file is a mapping with devices: and faults:")]
        )
    try:
        shape = FleetFile.model_validate(doc.data)
    except ValidationError as exc:
        raise ConfigError(_problems(doc, (), exc)) from None
    devices, raw = _devices(doc, shape.devices, problems)
    if not problems:
        _check_faults(doc, shape.faults, raw, problems)
    if problems:
        raise ConfigError(problems)
    return Fleet(file, raw, devices, shape.faults)


def _devices(
    doc: Document, items: Sequence[dict[str, Any]], problems: list[Problem]
) -> tuple[dict[str, LabDevice], dict[str, dict[str, Any]]]:
    devices: dict[str, LabDevice] = {}
    raw: dict[str, dict[str, Any]] = {}
    endpoints: dict[tuple[str, str, int], str] = {}
    for i, item in enumerate(items):
        loc = ("devices", i)
        try:
            device = LabDevice.model_validate(item)
        except ValidationError as exc:
            problems += _problems(doc, loc, exc)
            continue
        if device.name in devices:
            problems.append(doc.problem((*loc, "name"), f"device {device.name} appears twice"))
            continue
        for proto, port in (("snmp", device.snmp), ("ssh", device.ssh)):
            if port is None:
                continue
            key = (proto, device.address, port.port)
            if key in endpoints:
                message = f"{device.address}:{port.port} ({proto}) is also {endpoints[key]}'s"
                problems.append(doc.problem((*loc, proto, "port"), message))
            endpoints[key] = device.name
        devices[device.name] = device
        raw[device.name] = item
    return devices, raw


def _check_faults(
    doc: Document,
    faults: Mapping[str, Fault],
    raw: Mapping[str, dict[str, Any]],
    problems: list[Problem],
) -> None:
    for name, fault in faults.items():
        loc: Loc = ("faults", name)
        for i, expect in enumerate(fault.expect):
            if expect.device not in raw:
                problems.append(
                    doc.problem((*loc, "expect", i, "device"), _no_device(expect.device, raw))
                )
        for device, patch in fault.patch.items():
            where = (*loc, "patch", device)
            if device not in raw:
                problems.append(doc.problem(where, _no_device(device, raw)))
                continue
            try:
                LabDevice.model_validate(merge(raw[device], patch))
            except PatchError as exc:
                problems.append(doc.problem((*where, *exc.loc), str(exc)))
            except ValidationError as exc:
                problems += _problems(doc, where, exc)


def _no_device(name: str, raw: Mapping[str, Any]) -> str:
    near = difflib.get_close_matches(name, list(raw), n=1)
    return f"no lab device named {name!r}" + (f" (did you mean {near[0]}?)" if near else "")


def _problems(doc: Document, base: Loc, exc: ValidationError) -> list[Problem]:
    """pydantic's errors located in the file; messages without pydantic's jargon."""
    return [doc.problem((*base, *err["loc"]), plain_message(err)) for err in exc.errors()]

"""Who made a device, from the enterprise number in its sysObjectID (IANA's registry).

A sysObjectID is ``1.3.6.1.4.1.<enterprise>.…``: the enterprise number is assigned by
IANA (https://www.iana.org/assignments/enterprise-numbers) and names the organisation
that wrote the agent. That is the vendor, with a few known exceptions listed here (a
company that changed its name, a parent company's number, an OEM's agent). The
``kind`` is a hint only: it applies where a vendor makes one kind of equipment, and
the identification (:mod:`collector.snmp.identify`) weighs it below anything the device
itself shows.

``checked`` says whether the number was checked against a copy of the registry
(Wireshark's ``enterprises.tsv``, generated from IANA's file, 2019); the others are
widely known numbers not re-checked, and ``note`` says where we are unsure. Vendors
whose number we could not confirm (Sugon, Kehua, DPtech) are recognised from the
text their devices report instead (:data:`TEXT_VENDORS`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from collector.snmp.oid import Oid

ENTERPRISES: Oid = (1, 3, 6, 1, 4, 1)


@dataclass(frozen=True)
class Enterprise:
    number: int
    vendor: str
    registered_as: str  # the registry's name for the number
    kind: str | None = None  # a hint where the vendor makes one kind of equipment
    checked: bool = False  # checked against the registry copy
    note: str = ""


_TABLE = (
    Enterprise(2, "IBM", "IBM", checked=True),
    Enterprise(9, "Cisco", "ciscoSystems", checked=True),
    Enterprise(11, "HPE", "Hewlett-Packard", checked=True, note="HP before the 2015 split"),
    Enterprise(232, "HPE", "Compaq", checked=True, note="ProLiant servers and iLO keep it"),
    Enterprise(311, "Microsoft", "Microsoft", "server", checked=True),
    Enterprise(
        318,
        "APC",
        "American Power Conversion Corp.",
        "ups",
        checked=True,
        note="also PDUs and NetBotz: the kind is a guess",
    ),
    Enterprise(
        476,
        "Vertiv",
        "Vertiv (formerly Emerson Computer Power)",
        checked=True,
        note="Liebert UPS and cooling: no kind guessed",
    ),
    Enterprise(
        534,
        "Eaton",
        "Eaton Corporation",
        "ups",
        checked=True,
        note="Santak cards in China answer here too",
    ),
    Enterprise(674, "Dell", "Dell Inc."),
    Enterprise(789, "NetApp", "NetApp", "storage"),
    Enterprise(2011, "Huawei", "HUAWEI Technology Co.,Ltd", checked=True),
    Enterprise(
        2254,
        "Delta",
        "Delta Electronics, Inc.",
        checked=True,
        note="UPS and power systems; no kind guessed",
    ),
    Enterprise(2620, "Check Point", "Check Point Software Technologies", "firewall"),
    Enterprise(2636, "Juniper", "Juniper Networks"),
    Enterprise(3375, "F5", "F5 Networks", "load_balancer"),
    Enterprise(
        3807,
        "FiberHome",
        "Wuhan Research Institute of Posts and Telecommunications",
        checked=True,
        note="FiberHome's parent institute; unsure which products use it",
    ),
    Enterprise(3902, "ZTE", "Zhongxing Telecom Co.,ltd. (abbr. ZTE)", checked=True),
    Enterprise(
        3941,
        "Santak",
        "Santak Electronics Co. Ltd.",
        "ups",
        checked=True,
        note="Eaton's brand in China; newer cards answer under Eaton's 534",
    ),
    Enterprise(4874, "Juniper", "Juniper Networks/Unisphere", checked=True),
    Enterprise(4881, "Ruijie", "Ruijie Networks Co., Ltd.", checked=True),
    Enterprise(5651, "Maipu", "Maipu Electric Industrial Co., Ltd", checked=True),
    Enterprise(
        5875,
        "FiberHome",
        "China Advanced Info-Optical Network (CAINONET)",
        checked=True,
        note="unsure: registered to CAINONET, used by FiberHome access equipment",
    ),
    Enterprise(6574, "Synology", "Synology Inc.", "storage"),
    Enterprise(6876, "VMware", "VMware Inc.", "server"),
    Enterprise(12356, "Fortinet", "Fortinet, Inc.", "firewall"),
    Enterprise(14331, "Topsec", "Topsec", "firewall", note="unsure: not re-checked"),
    Enterprise(15227, "Venustech", "Venustech", "firewall", note="unsure: not re-checked"),
    Enterprise(19046, "Lenovo", "Lenovo Enterprise Business Group", checked=True),
    Enterprise(24681, "QNAP", "QNAP Systems, Inc.", "storage"),
    Enterprise(
        24968,
        "Qi An Xin",
        "Beijing SecuWard Information Security Technology Co.,Ltd",
        "firewall",
        checked=True,
        note="unsure: SecuWard (网神) is Qi An Xin's firewall line; its own number unknown",
    ),
    Enterprise(25461, "Palo Alto", "Palo Alto Networks", "firewall"),
    Enterprise(25506, "H3C", "H3C"),
    Enterprise(28557, "Hillstone", "Hillstone Networks", "firewall"),
    Enterprise(31648, "DPtech", "DPtech", "firewall", note="unsure: not re-checked"),
    Enterprise(
        35047,
        "Sangfor",
        "Sangfor Technologies",
        "firewall",
        note="also WAN optimisation and access gateways: the kind is a guess",
    ),
    Enterprise(37945, "Inspur", "Inspur", note="unsure: not re-checked"),
    Enterprise(47196, "HPE", "Hewlett Packard Enterprise"),
)

BY_NUMBER: dict[int, Enterprise] = {e.number: e for e in _TABLE}

# Vendors recognised from text (sysDescr, entPhysicalMfgName, upsIdentManufacturer),
# where the enterprise number is another company's (an OEM card) or unknown to us.
TEXT_VENDORS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), vendor)
    for pattern, vendor in (
        (r"\bkehua\b|科华", "Kehua"),
        (r"\bsugon\b|曙光|\bdawning\b", "Sugon"),
        (r"\binspur\b|浪潮", "Inspur"),
        (r"\bdptech\b|迪普", "DPtech"),
        (r"\bvenustech\b|启明星辰", "Venustech"),
        (r"\btopsec\b|天融信", "Topsec"),
        (r"\bqi-?an-?xin\b|奇安信|legendsec|secgate", "Qi An Xin"),
        (r"\bsangfor\b|深信服", "Sangfor"),
        (r"\bhillstone\b|山石", "Hillstone"),
        (r"\bsantak\b|山特", "Santak"),
        (r"\bhuawei\b", "Huawei"),
        (r"\bh3c\b", "H3C"),
        (r"\bzte\b", "ZTE"),
    )
)


def enterprise_of(sys_object_id: Oid | None) -> Enterprise | None:
    """The registry entry of a sysObjectID's enterprise number, when we know it."""
    if sys_object_id is None or len(sys_object_id) <= len(ENTERPRISES):
        return None
    if sys_object_id[: len(ENTERPRISES)] != ENTERPRISES:
        return None
    return BY_NUMBER.get(sys_object_id[len(ENTERPRISES)])


def enterprise_number(sys_object_id: Oid | None) -> int | None:
    if sys_object_id is None or len(sys_object_id) <= len(ENTERPRISES):
        return None
    if sys_object_id[: len(ENTERPRISES)] != ENTERPRISES:
        return None
    return sys_object_id[len(ENTERPRISES)]


def vendor_in_text(text: str) -> str | None:
    """A vendor named in free text (sysDescr, a manufacturer field), first match wins."""
    for pattern, vendor in TEXT_VENDORS:
        if pattern.search(text):
            return vendor
    return None

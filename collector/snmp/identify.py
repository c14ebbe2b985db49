"""What a device is, from what it answers: vendor, kind, and the evidence for both.

After the system group, the driver sends one GETNEXT per table root in
:data:`MARKERS` and in the ``match.answers`` of the profiles the device could match
(one or two requests in all, once per device and again on each full inspection). The
answers choose a family profile, let the driver skip tables the device does not have,
and are the evidence for the kind:

- the profile, when one matched the device itself (its sysObjectID or the tables it
  answers) and names a kind;
- words in sysDescr ("Switch", "Firewall", "Integrated Lights-Out", ...);
- tables only one vendor's products of one kind answer (SYNOLOGY-SYSTEM-MIB, iLO's,
  CISCO-FIREWALL-MIB, ...), and product lines known by their sysObjectID arc;
- standard MIBs: UPS-MIB (a UPS), BRIDGE-MIB's port table (switching), ipForwarding,
  sysServices' layer bits, HOST-RESOURCES (a host);
- the vendor's line of business (:mod:`collector.snmp.vendors`), where it makes one kind;
- the inventory's kind, which only breaks a tie.

The kind with the most weight wins; the result says which evidence it used and, when
the evidence is thin or points two ways, that it is unsure and why. Pure functions:
the I/O is :meth:`collector.snmp.walker.Walker.first_under`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from collector.snmp.oid import Oid, format_oid
from collector.snmp.snapshot import Var
from collector.snmp.vendors import enterprise_number, enterprise_of, vendor_in_text

SYS_SERVICES: Oid = (1, 3, 6, 1, 2, 1, 1, 7)
IP_FORWARDING: Oid = (1, 3, 6, 1, 2, 1, 4, 1)
BRIDGE_PORTS: Oid = (1, 3, 6, 1, 2, 1, 17, 1, 4, 1)  # dot1dBasePortEntry
UPS_IDENT: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 1)
UPS_MANUFACTURER: Oid = (1, 3, 6, 1, 2, 1, 33, 1, 1, 1, 0)
HR_STORAGE: Oid = (1, 3, 6, 1, 2, 1, 25, 2, 3, 1)
HR_DEVICE: Oid = (1, 3, 6, 1, 2, 1, 25, 3, 2, 1)
HR_PROCESSOR: Oid = (1, 3, 6, 1, 2, 1, 25, 3, 3, 1)
ENT_PHYSICAL: Oid = (1, 3, 6, 1, 2, 1, 47, 1, 1, 1, 1)
ENT_SENSOR: Oid = (1, 3, 6, 1, 2, 1, 99, 1, 1, 1)
ENT_STATE: Oid = (1, 3, 6, 1, 2, 1, 131, 1, 1, 1)
UCD: Oid = (1, 3, 6, 1, 4, 1, 2021)
IF_TABLE: Oid = (1, 3, 6, 1, 2, 1, 2, 2, 1)
IFX_TABLE: Oid = (1, 3, 6, 1, 2, 1, 31, 1, 1, 1)
LLDP_REMOTE: Oid = (1, 0, 8802, 1, 1, 2, 1, 4, 1)
CDP_CACHE: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 23, 1, 2, 1)
CISCO_MEMPOOL: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 48, 1, 1, 1)
CISCO_ENHANCED_MEMPOOL: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 221, 1, 1, 1)
CISCO_SENSOR: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 1, 1)
CISCO_THRESHOLD: Oid = (1, 3, 6, 1, 4, 1, 9, 9, 91, 1, 2, 1, 1)

# Roots probed on every device: evidence for the kind, and tables whose absence lets the
# driver skip a reader's requests (the generic profile reads them all where present).
STANDARD_MARKERS: tuple[Oid, ...] = (
    SYS_SERVICES,
    IP_FORWARDING,
    BRIDGE_PORTS,
    UPS_IDENT,
    HR_STORAGE,
    HR_DEVICE,
    HR_PROCESSOR,
    ENT_PHYSICAL,
    ENT_SENSOR,
    ENT_STATE,
    UCD,
    IF_TABLE,
    IFX_TABLE,
    LLDP_REMOTE,
    CDP_CACHE,
    CISCO_MEMPOOL,
    CISCO_ENHANCED_MEMPOOL,
    CISCO_SENSOR,
    CISCO_THRESHOLD,
)

# Tables that only one vendor's products of one kind answer: (root, vendor, kind, MIB).
VENDOR_MARKERS: tuple[tuple[Oid, str, str, str], ...] = (
    ((1, 3, 6, 1, 4, 1, 6574, 1), "Synology", "storage", "SYNOLOGY-SYSTEM-MIB"),
    ((1, 3, 6, 1, 4, 1, 24681, 1), "QNAP", "storage", "QNAP NAS-MIB"),
    ((1, 3, 6, 1, 4, 1, 789, 1, 1), "NetApp", "storage", "NETAPP-MIB product"),
    ((1, 3, 6, 1, 4, 1, 232, 9, 2), "HPE", "bmc", "CPQSM2-MIB (iLO)"),
    ((1, 3, 6, 1, 4, 1, 674, 10892, 5, 1), "Dell", "bmc", "IDRAC-MIB"),
    ((1, 3, 6, 1, 4, 1, 19046, 11, 1), "Lenovo", "bmc", "LENOVO-XCC-MIB"),
    ((1, 3, 6, 1, 4, 1, 318, 1, 1, 1, 1), "APC", "ups", "PowerNet-MIB upsIdent"),
    ((1, 3, 6, 1, 4, 1, 9, 9, 147, 1, 2, 2, 2), "Cisco", "firewall", "CISCO-FIREWALL-MIB"),
    ((1, 3, 6, 1, 4, 1, 12356, 101, 4, 1), "Fortinet", "firewall", "FORTINET-FORTIGATE-MIB"),
)

MARKERS: tuple[Oid, ...] = (*STANDARD_MARKERS, *(root for root, _, _, _ in VENDOR_MARKERS))

# Product lines by sysObjectID arc, where a vendor's arc says the kind outright.
PRODUCT_ARCS: tuple[tuple[Oid, str, str], ...] = (
    ((1, 3, 6, 1, 4, 1, 674, 10892, 5), "bmc", "Dell iDRAC"),
    ((1, 3, 6, 1, 4, 1, 2011, 2, 235), "bmc", "Huawei iBMC"),
    ((1, 3, 6, 1, 4, 1, 2011, 2, 91), "storage", "Huawei OceanStor"),
    ((1, 3, 6, 1, 4, 1, 2011, 2, 23), "switch", "Huawei S series"),
    ((1, 3, 6, 1, 4, 1, 2011, 2, 224), "router", "Huawei AR series"),
    ((1, 3, 6, 1, 4, 1, 232, 9, 4), "bmc", "HPE iLO"),
    ((1, 3, 6, 1, 4, 1, 19046, 11), "bmc", "Lenovo XClarity Controller"),
    ((1, 3, 6, 1, 4, 1, 2, 3, 51, 3), "bmc", "IBM/Lenovo IMM"),
    ((1, 3, 6, 1, 4, 1, 12356, 101, 1), "firewall", "FortiGate"),
    ((1, 3, 6, 1, 4, 1, 25506, 11, 1), "switch", "H3C Comware switches"),
    ((1, 3, 6, 1, 4, 1, 4881, 1, 1, 10, 1), "switch", "Ruijie switches"),
    ((1, 3, 6, 1, 2, 1, 33), "ups", "the UPS-MIB itself"),
)

# Words in sysDescr, per kind. Order does not matter: every kind that matches is
# evidence. "Routing" alone is no router: Huawei's VRP ("Versatile Routing Platform")
# runs on switches, and Ruijie calls its L3 switches "Routing Switch".
DESCR_WORDS: dict[str, re.Pattern[str]] = {
    kind: re.compile(pattern, re.IGNORECASE)
    for kind, pattern in (
        (
            "switch",
            r"\bswitch(es)?\b|\bcatalyst\b|cloudengine|\bCE\d{4}|\bS\d{4}[A-Z-]|交换机|"
            r"\bIE-?\d{4}|\bC(2960|3560|3650|3750|3850|9[2-6]00)\w*|\bZXR10\b",
        ),
        (
            "router",
            r"\brouter\b|netengine|\bNE\d{2,3}[A-Z]?\b|\bAR\d{3,4}|\bISR\d*\b|\bASR\d+|路由器",
        ),
        (
            "firewall",
            r"firewall|fortigate|fortios|adaptive security appliance|\bASA\d*\b|secpath|"
            r"\bUSG\d*|stoneos|hillstone|\bNGFW\b|\bPAN-OS\b|防火墙",
        ),
        ("ups", r"\bUPS\b|uninterruptible|不间断电源"),
        (
            "bmc",
            r"\biLO\b|integrated lights-out|\biDRAC\b|xclarity|\bXCC\b|\bIMM2?\b|\bBMC\b|"
            r"\biBMC\b|hardware management system|baseboard management",
        ),
        (
            "storage",
            r"\bNAS\b|storage|diskstation|rackstation|oceanstor|netapp|data ontap|"
            r"ISM SNMP Agent|\bQTS\b",
        ),
        (
            "server",
            r"^(Linux|FreeBSD|SunOS|AIX|HP-UX)\b|Windows|VMware ESXi|Hardware: .*Software: Windows",
        ),
    )
}

W_PROFILE, W_MARKER, W_UPS_MIB, W_ARC, W_DESCR, W_BRIDGE, W_VENDOR = 10, 6, 6, 5, 4, 3, 2
W_SERVICES = W_HOST = W_INVENTORY = 1
SURE = 4  # less total weight than one plain word in sysDescr is a guess


@dataclass(frozen=True)
class Clue:
    kind: str
    weight: int
    why: str


@dataclass
class Identity:
    """What the answers say; ``kind`` is None when nothing points anywhere."""

    kind: str | None = None
    evidence: list[str] = field(default_factory=list)
    unsure: str = ""
    vendor: str = ""
    vendor_evidence: str = ""

    def meta(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self.kind:
            out["kind"] = self.kind
            out["kind_evidence"] = "; ".join(self.evidence)
        if self.unsure:
            out["kind_unsure"] = self.unsure
        if self.vendor_evidence:
            out["vendor_evidence"] = self.vendor_evidence
        return out


def kind_clues(
    sys_object_id: Oid | None,
    sys_descr: str,
    answered: Mapping[Oid, tuple[Oid, Var]],
    profile_kind: tuple[str, str] | None,
    vendor_kind: tuple[str, str] | None,
    inventory_kind: str | None,
) -> list[Clue]:
    """Every piece of evidence for a kind; ``profile_kind`` and ``vendor_kind`` are
    (kind, who says so)."""
    clues: list[Clue] = []
    if profile_kind is not None:
        clues.append(Clue(profile_kind[0], W_PROFILE, profile_kind[1]))
    for kind, pattern in DESCR_WORDS.items():
        found = pattern.search(sys_descr)
        if found:
            clues.append(Clue(kind, W_DESCR, f"sysDescr says {found.group(0).strip()!r}"))
    if UPS_IDENT in answered:
        clues.append(Clue("ups", W_UPS_MIB, "answers UPS-MIB (upsIdent)"))
    for root, vendor, kind, mib in VENDOR_MARKERS:
        if root in answered:
            clues.append(Clue(kind, W_MARKER, f"answers {mib} ({vendor})"))
    bridges = BRIDGE_PORTS in answered
    if bridges:
        clues.append(Clue("switch", W_BRIDGE, "answers BRIDGE-MIB dot1dBasePortTable"))
    services = _number(answered.get(SYS_SERVICES))
    if services is not None and 0 < services < 128:
        layers = [n + 1 for n in range(7) if services & (1 << n)]
        said = f"sysServices {services} (layers {', '.join(map(str, layers))})"
        if 2 in layers:
            clues.append(Clue("switch", W_SERVICES, said))
        elif 3 in layers and 7 not in layers:
            clues.append(Clue("router", W_SERVICES, said))
        elif 4 in layers or 7 in layers:
            clues.append(Clue("server", W_SERVICES, said))
    forwarding = _number(answered.get(IP_FORWARDING))
    if forwarding == 1 and not bridges:
        clues.append(Clue("router", W_SERVICES, "ipForwarding is on and it bridges no ports"))
    if HR_STORAGE in answered and HR_PROCESSOR in answered:
        clues.append(Clue("server", W_HOST, "answers HOST-RESOURCES (storage, processors)"))
    for arc, kind, line in PRODUCT_ARCS:
        if sys_object_id is not None and sys_object_id[: len(arc)] == arc:
            clues.append(Clue(kind, W_ARC, f"sysObjectID is under {format_oid(arc)} ({line})"))
    if vendor_kind is not None:
        clues.append(Clue(vendor_kind[0], W_VENDOR, vendor_kind[1]))
    if inventory_kind:
        clues.append(Clue(inventory_kind, W_INVENTORY, f"the inventory says {inventory_kind}"))
    return clues


def decide_kind(clues: list[Clue]) -> tuple[str | None, list[str], str]:
    """The kind with the most weight, its evidence, and why it is unsure ('' when sure)."""
    totals: dict[str, int] = {}
    for clue in clues:
        totals[clue.kind] = totals.get(clue.kind, 0) + clue.weight
    if not totals:
        return None, [], "nothing it answers points to a kind"
    ranked = sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    kind, score = ranked[0]
    evidence = [c.why for c in clues if c.kind == kind]
    unsure = ""
    if score < SURE:
        unsure = f"weak evidence for {kind}: {'; '.join(evidence)}"
    rivals = [
        f"{other} ({'; '.join(c.why for c in clues if c.kind == other)})"
        for other, points in ranked[1:]
        if points >= score - 2 and points >= W_DESCR - 1
    ]
    if rivals and totals[kind] < W_PROFILE:
        unsure = "; ".join(filter(None, [unsure, "it could also be " + ", ".join(rivals)]))
    return kind, evidence, unsure


def identify(
    sys_object_id: Oid | None,
    sys_descr: str,
    answered: Mapping[Oid, tuple[Oid, Var]],
    profile_kind: tuple[str, str] | None,
    inventory_kind: str | None,
    ups_manufacturer: str = "",
) -> Identity:
    """Vendor (from the enterprise number, else text) and kind, with their evidence."""
    identity = Identity()
    enterprise = enterprise_of(sys_object_id)
    vendor_kind = None
    if enterprise is not None:
        identity.vendor = enterprise.vendor
        identity.vendor_evidence = (
            f"enterprise {enterprise.number} ({enterprise.registered_as}) in sysObjectID"
        )
        if enterprise.note:
            identity.vendor_evidence += f"; {enterprise.note}"
        if enterprise.kind:
            vendor_kind = (
                enterprise.kind,
                f"{enterprise.vendor} makes {enterprise.kind} equipment",
            )
    else:
        for source, text in (("sysDescr", sys_descr), ("upsIdentManufacturer", ups_manufacturer)):
            vendor = vendor_in_text(text) if text else None
            if vendor:
                identity.vendor = vendor
                identity.vendor_evidence = f"{source} names {vendor}"
                break
        if not identity.vendor and ups_manufacturer:
            identity.vendor = ups_manufacturer
            identity.vendor_evidence = "upsIdentManufacturer"
        number = enterprise_number(sys_object_id)
        if not identity.vendor and number is not None:
            identity.vendor_evidence = f"enterprise {number} is not in our table"
    if not identity.vendor or enterprise is None:
        for root, vendor, _, mib in VENDOR_MARKERS:
            if root in answered:
                identity.vendor, identity.vendor_evidence = vendor, f"answers {mib}"
                break
    clues = kind_clues(
        sys_object_id, sys_descr, answered, profile_kind, vendor_kind, inventory_kind
    )
    identity.kind, identity.evidence, identity.unsure = decide_kind(clues)
    return identity


def _number(found: tuple[Oid, Var] | None) -> int | None:
    return found[1].number() if found is not None else None

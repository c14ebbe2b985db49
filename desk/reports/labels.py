"""The reports' words for stored values (a verdict, a ticket status, a device kind, a
clock, a signer's role), in English; each document translates them where it shows them.

Shared by the HTML/PDF renderer and the XLSX writer, which would otherwise import each
other.
"""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


VERDICTS = {"healthy": N_("Healthy"), "findings": N_("Findings"), "unknown": N_("Unknown")}
STATUSES = {
    "open": N_("Open"),
    "acknowledged": N_("Acknowledged"),
    "on_site": N_("On site"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
}
KINDS = {
    "server": N_("Server"),
    "switch": N_("Switch"),
    "router": N_("Router"),
    "firewall": N_("Firewall"),
    "storage": N_("Storage"),
    "ups": N_("UPS"),
    "bmc": N_("BMC"),
    "wireless": N_("Wireless"),
    "load_balancer": N_("Load balancer"),
    "pdu": N_("PDU"),
    "other": N_("Other"),
}
CLOCKS = {"response": N_("Response"), "onsite": N_("On site / plan"), "resolve": N_("Resolution")}
ROLES = {
    "prepared": N_("Prepared by"),
    "checked": N_("Checked by"),
    "approved": N_("Approved by"),
    "engineer": N_("Service engineer"),
    "customer": N_("Customer representative"),
}
EXPIRING = {"contract": N_("Contract"), "warranty": N_("Warranty")}

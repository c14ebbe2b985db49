"""The demo lab: a simulated device fleet on loopback for ``make run`` and the tests.

Not product code: nothing in ``weibao``, ``collector``, ``rules`` or ``desk`` imports it.
It serves the devices of ``lab/fleet.yaml`` (device data the project wrote) as real
SNMP agents (pysnmp command responders, v2c and v3) and, for servers, as SSH servers
(paramiko), and switches scripted faults on and off (``weibao lab fault NAME on``). See
docs/lab.md.
"""

from __future__ import annotations

from pathlib import Path

FLEET = Path(__file__).resolve().parent / "fleet.yaml"
"""The fleet ``weibao lab`` serves unless told otherwise."""

LAB_ENV = Path(__file__).resolve().parent / "lab.env"
"""Lab-only credentials (never real secrets) that ``make run`` exports."""

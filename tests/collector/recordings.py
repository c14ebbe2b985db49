"""Where the real device recordings are (GPL-3.0 test data, read in place, never copied).

Outside CI a missing directory skips the tests that need it; with CI=true it fails them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.snmp.snapshot import Snapshot
from collector.snmp.snmprec import load_snmprec

# shared/ stands beside the repository's checkout (in CI too): ../shared/devices.
_BESIDE = Path(__file__).resolve().parents[2].parent / "shared" / "devices"
_WORKPLACE = Path("/work/shared/devices")
_DEFAULT = _BESIDE if _BESIDE.is_dir() or not _WORKPLACE.is_dir() else _WORKPLACE
DEVICES = Path(os.environ.get("WEIBAO_DEVICES", str(_DEFAULT)))


def recordings_dir() -> Path:
    directory = DEVICES / "snmprec"
    if not directory.is_dir():
        message = f"device recordings not found in {directory} (set WEIBAO_DEVICES)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"{message}; CI=true: the recordings are required")
        pytest.skip(message)
    return directory


def recording(name: str) -> Snapshot:
    return load_snmprec(recordings_dir() / f"{name}.snmprec")


RECORDINGS = [
    "vrp-vrp_s5328c-ei",
    "vrp-vrp_ar169sfp",
    "comware-comware_a5500",
    "comware-comware_hpe5900",
    "cisco-ios_c3560",
    "cisco-iosxe_ie32008t2s-ios17-12",
    "ruijie-ruijie",
    "ruijie-ruijie_s6150",
    "ups-generex-ups_cs141",
    "ups-eatonupsm2_9px+empg2",
    "linux-linux_opensips",
    "bmc-ibmc",
    "bmc-drac_r640",
    "storage-oceanstor_dorado3k",
    "storage-dsm_ds214se-dsm7",
    "firewall-fortigate_60f",
    "firewall-fortigate_100e",
]
"""Every recording of ../shared/devices/snmprec (a test checks the list is complete)."""

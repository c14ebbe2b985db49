"""Readers of ``/sys``, rooted at an injectable directory: block devices, link state,
hardware sensors and the DMI serial number.

Names that churn or duplicate (container veths, loop devices, device-mapper volumes over a
disk already counted) are left out here, once, so neither the desk nor ``/metrics`` sees
a new series for every container started.
"""

from __future__ import annotations

import re
from pathlib import Path

# Whole devices that are not disks, or that sit on a disk already counted.
_VIRTUAL_BLOCK = re.compile(r"^(loop|ram|zram|sr|fd|nbd|dm-)\d*$")
# Interfaces created and destroyed with containers and VMs, and the loopback.
_CHURN_NET = re.compile(
    r"^(lo|veth.*|docker\d+|br-[0-9a-f]{12}|cni\d*|flannel.*|cali.*|tap.*|vnet\d+|virbr\d+-nic)$"
)
# Disks smartctl can ask for their health; virtio and Xen disks have no SMART.
_SMART_BLOCK = re.compile(r"^(sd[a-z]+|hd[a-z]+|nvme\d+n\d+)$")
_IFF_UP = 0x1
# What vendors write in the DMI serial field when they wrote nothing.
_NO_SERIAL = {
    "",
    "0",
    "none",
    "default string",
    "not specified",
    "not applicable",
    "system serial number",
    "to be filled by o.e.m.",
    "0123456789",
}


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


class SysReader:
    """Reads this machine's ``/sys`` (or a fixture tree standing in for it)."""

    def __init__(self, sys_root: str | Path = "/sys") -> None:
        self.root = Path(sys_root)

    def whole_disks(self) -> set[str]:
        """Whole block devices worth watching: disks, NVMe namespaces, md arrays."""
        return {p.name for p in (self.root / "block").iterdir() if not _VIRTUAL_BLOCK.match(p.name)}

    def smart_disks(self) -> list[str]:
        return sorted(d for d in self.whole_disks() if _SMART_BLOCK.match(d))

    def watched_interface(self, name: str) -> bool:
        return not _CHURN_NET.match(name)

    def link(self, name: str) -> tuple[bool | None, bool | None, float | None]:
        """``(oper_up, admin_up, speed_bits)``; None where the kernel does not say."""
        base = self.root / "class" / "net" / name
        operstate = _read(base / "operstate")
        carrier = _read_int(base / "carrier")  # EINVAL while the interface is down
        if operstate == "up":
            oper: bool | None = True
        elif operstate == "unknown":
            # Tunnels and some drivers never report an operstate; the carrier still tells.
            oper = None if carrier is None else carrier == 1
        elif operstate is None:
            oper = None
        else:
            oper = False
        flags = _read(base / "flags")
        admin = None if flags is None else bool(int(flags, 16) & _IFF_UP)
        speed = _read_int(base / "speed")  # Mb/s; -1 or EINVAL when unknown or down
        speed_bits = speed * 1_000_000.0 if speed is not None and speed > 0 else None
        return oper, admin, speed_bits

    def hwmon(self) -> tuple[list[tuple[str, float]], list[tuple[str, bool]]]:
        """Temperatures in °C and fans judged ok, named ``chip/label``.

        A fan is judged only where the chip says: its alarm flag, else its minimum speed,
        else 1 when it turns. A fan header reading 0 RPM with neither alarm nor minimum is
        left out: an unused header and a dead fan look the same there.
        """
        temps: list[tuple[str, float]] = []
        fans: list[tuple[str, bool]] = []
        base = self.root / "class" / "hwmon"
        if not base.is_dir():
            return temps, fans
        seen: set[str] = set()

        def unique(name: str, chip_dir: Path) -> str:
            if name in seen:
                name = f"{name}@{chip_dir.name}"
            seen.add(name)
            return name

        for chip_dir in sorted(base.iterdir()):
            chip = _read(chip_dir / "name") or chip_dir.name
            for path in sorted(chip_dir.glob("temp*_input")):
                milli = _read_int(path)
                if milli is None:
                    continue
                stem = path.name.removesuffix("_input")
                label = _read(chip_dir / f"{stem}_label") or stem
                temps.append((unique(f"{chip}/{label}", chip_dir), milli / 1000))
            for path in sorted(chip_dir.glob("fan*_input")):
                ok = _fan_ok(chip_dir, path.name.removesuffix("_input"), _read_int(path))
                if ok is not None:
                    stem = path.name.removesuffix("_input")
                    label = _read(chip_dir / f"{stem}_label") or stem
                    fans.append((unique(f"{chip}/{label}", chip_dir), ok))
        return temps, fans

    def dmi_serial(self) -> str | None:
        """The product serial number; readable only by root on most machines."""
        return clean_serial(_read(self.root / "class" / "dmi" / "id" / "product_serial"))


def _fan_ok(chip_dir: Path, stem: str, rpm: int | None) -> bool | None:
    if rpm is None:
        return None
    alarm = _read_int(chip_dir / f"{stem}_alarm")
    if alarm is not None:
        return alarm == 0
    minimum = _read_int(chip_dir / f"{stem}_min")
    if minimum:
        return rpm >= minimum
    return True if rpm > 0 else None


def clean_serial(text: str | None) -> str | None:
    if text is None or text.strip().lower() in _NO_SERIAL:
        return None
    return text.strip()

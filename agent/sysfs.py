"""The readings of ``/sys`` that psutil has nothing for, rooted at an injectable
directory: which block devices are whole disks, the fans' own verdicts, and the DMI
serial number.

Devices that churn or duplicate (loop devices, device-mapper volumes over a disk already
counted) are left out here, once, so neither the desk nor ``/metrics`` sees a new series
for every container or snap started.
"""

from __future__ import annotations

import re
from pathlib import Path

# Whole devices that are not disks, or that sit on a disk already counted.
_VIRTUAL_BLOCK = re.compile(r"^(loop|ram|zram|sr|fd|nbd|dm-)\d*$")
# Disks smartctl can ask for their health; virtio and Xen disks have no SMART.
_SMART_BLOCK = re.compile(r"^(sd[a-z]+|hd[a-z]+|nvme\d+n\d+)$")
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

    def fans(self) -> list[tuple[str, bool]]:
        """Fans judged ok, named ``chip/label`` (``chip/fanN`` without a label).

        psutil reads a fan's speed but not what the chip makes of it, so this stays
        here. A fan is judged only where the chip says: its alarm flag, else its minimum
        speed, else 1 when it turns. A fan header reading 0 RPM with neither alarm nor
        minimum is left out: an unused header and a dead fan look the same there.
        """
        fans: list[tuple[str, bool]] = []
        base = self.root / "class" / "hwmon"
        if not base.is_dir():
            return fans
        seen: dict[str, int] = {}
        for chip_dir in sorted(base.iterdir()):
            chip = _read(chip_dir / "name") or chip_dir.name
            for path in sorted(chip_dir.glob("fan*_input")):
                stem = path.name.removesuffix("_input")
                ok = _fan_ok(chip_dir, stem, _read_int(path))
                if ok is None:
                    continue
                name = f"{chip}/{_read(chip_dir / f'{stem}_label') or stem}"
                seen[name] = seen.get(name, 0) + 1
                if seen[name] > 1:  # a second chip of the same kind, as temperatures
                    name = f"{name}#{seen[name]}"
                fans.append((name, ok))
        return fans

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

"""Who this server is, told to the desk in every observation's ``meta``.

The desk matches an agent to an inventory device by these (hostname, then machine-id,
then DMI serial); an agent that matches nothing is shown as a server not under contract.
The DMI serial is readable by root only on most machines: the systemd unit copies it,
as root, into the agent's state directory before the agent starts (``dmi_serial``).
"""

from __future__ import annotations

import os
import re
import socket
from dataclasses import dataclass
from pathlib import Path

from agent.procfs import ProcReader
from agent.sysfs import SysReader, clean_serial

_MACHINE_ID = re.compile(r"^[0-9a-f]{32}$")
SERIAL_COPY = "dmi_serial"


@dataclass(frozen=True)
class Identity:
    hostname: str
    machine_id: str | None
    dmi_serial: str | None

    def meta(self) -> dict[str, str]:
        meta = {"hostname": self.hostname}
        if self.machine_id:
            meta["machine_id"] = self.machine_id
        if self.dmi_serial:
            meta["dmi_serial"] = self.dmi_serial
        return meta


def read_identity(
    proc: ProcReader,
    sysfs: SysReader,
    etc_root: str | Path = "/etc",
    state_dir: Path | None = None,
) -> Identity:
    try:
        hostname = proc.hostname()
    except OSError:
        hostname = socket.gethostname()
    return Identity(
        hostname=hostname,
        machine_id=_machine_id(Path(etc_root) / "machine-id"),
        dmi_serial=sysfs.dmi_serial() or _serial_copy(state_dir),
    )


def _machine_id(path: Path) -> str | None:
    try:
        text = path.read_text(encoding="ascii", errors="replace").strip()
    except OSError:
        return None
    return text if _MACHINE_ID.match(text) else None  # "uninitialized" on a fresh image


def _serial_copy(state_dir: Path | None) -> str | None:
    if state_dir is None:
        return None
    try:
        return clean_serial((state_dir / SERIAL_COPY).read_text(encoding="utf-8"))
    except OSError:
        return None


class BootMemory:
    """Remembers the last boot id seen, in a file, so a reboot is told from a restart of
    the agent: a changed ``/proc/sys/kernel/random/boot_id`` means the machine rebooted."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def rebooted(self, boot_id: str) -> bool | None:
        """True once after a reboot, False otherwise; None on the very first run."""
        try:
            last: str | None = self.path.read_text(encoding="ascii").strip()
        except OSError:
            last = None
        if last != boot_id:
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(boot_id + "\n", encoding="ascii")
            os.replace(tmp, self.path)
        return None if last is None else last != boot_id

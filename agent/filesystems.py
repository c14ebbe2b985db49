"""Usage of every real filesystem, without ever hanging on a dead network mount.

Pseudo filesystems and read-only images (squashfs snaps, ISO images) are left out: a full
``/proc`` or a 100 % squashfs is not a fault anyone can fix. A device mounted twice (bind
mounts, btrfs subvolumes) is reported once, under its first mount point, so one full disk
opens one ticket. ``statvfs`` on an NFS or CIFS mount whose server is gone blocks in the
kernel; those mounts are asked in a side thread with a deadline, and a mount that missed
it is skipped, and said to be, until its call returns.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Protocol

from agent.procfs import ProcReader
from agent.snapshot import FilesystemUsage

PSEUDO_FS = frozenset(
    {
        "proc",
        "sysfs",
        "devtmpfs",
        "devpts",
        "tmpfs",
        "cgroup",
        "cgroup2",
        "overlay",
        "squashfs",
        "autofs",
        "mqueue",
        "hugetlbfs",
        "debugfs",
        "tracefs",
        "securityfs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "binfmt_misc",
        "nsfs",
        "ramfs",
        "iso9660",
        "udf",
        "efivarfs",
        "rpc_pipefs",
        "selinuxfs",
        "fuse.lxcfs",
        "fuse.snapfuse",
        "fuse.gvfsd-fuse",
        "fuse.portal",
    }
)
NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smb3", "smbfs", "ceph", "glusterfs", "fuse.glusterfs", "9p"}
    | {"fuse.sshfs", "lustre", "gpfs", "afs"}
)


class StatvfsResult(Protocol):
    @property
    def f_frsize(self) -> int: ...
    @property
    def f_blocks(self) -> int: ...
    @property
    def f_bfree(self) -> int: ...
    @property
    def f_bavail(self) -> int: ...
    @property
    def f_files(self) -> int: ...
    @property
    def f_ffree(self) -> int: ...


Statvfs = Callable[[str], StatvfsResult]


class FilesystemReader:
    def __init__(
        self,
        proc: ProcReader,
        statvfs: Statvfs = os.statvfs,
        network_timeout: float = 5.0,
    ) -> None:
        self._proc = proc
        self._statvfs = statvfs
        self._timeout = network_timeout
        self._stuck: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()

    def read(self) -> tuple[list[FilesystemUsage], dict[str, str]]:
        """Usage per mount point, and a note per mount point that could not be read."""
        usages: list[FilesystemUsage] = []
        notes: dict[str, str] = {}
        seen_devices: set[str] = set()
        seen_mounts: set[str] = set()
        for device, mountpoint, fstype, options in self._proc.mounts():
            if fstype in PSEUDO_FS or mountpoint in seen_mounts or device in seen_devices:
                continue
            seen_mounts.add(mountpoint)
            if device.startswith("/") or ":" in device:
                seen_devices.add(device)  # a block device or a network export
            try:
                stat = self._stat(mountpoint, network=fstype in NETWORK_FS)
            except (OSError, TimeoutError) as exc:
                notes[mountpoint] = _reason(exc)
                continue
            if stat.f_blocks == 0:
                continue  # reports no size at all: nothing to fill
            frsize = stat.f_frsize
            usages.append(
                FilesystemUsage(
                    mountpoint=mountpoint,
                    device=device,
                    fstype=fstype,
                    size_bytes=stat.f_blocks * frsize,
                    free_bytes=stat.f_bfree * frsize,
                    avail_bytes=stat.f_bavail * frsize,
                    files=stat.f_files,
                    files_free=stat.f_ffree,
                    readonly="ro" in options,
                )
            )
        return usages, notes

    def _stat(self, mountpoint: str, network: bool) -> StatvfsResult:
        if not network:
            return self._statvfs(mountpoint)
        with self._lock:
            stuck = self._stuck.get(mountpoint)
            if stuck is not None and stuck.is_alive():
                raise TimeoutError(f"statvfs has not returned for {self._timeout:g} s or more")
            self._stuck.pop(mountpoint, None)
        result: list[StatvfsResult | OSError] = []

        def ask() -> None:
            try:
                result.append(self._statvfs(mountpoint))
            except OSError as exc:
                result.append(exc)

        # A daemon thread: one stuck in the kernel must not keep the agent from exiting.
        thread = threading.Thread(target=ask, name=f"statvfs {mountpoint}", daemon=True)
        thread.start()
        thread.join(self._timeout)
        if thread.is_alive():
            with self._lock:
                self._stuck[mountpoint] = thread
            raise TimeoutError(f"statvfs did not return within {self._timeout:g} s")
        answer = result[0]
        if isinstance(answer, OSError):
            raise answer
        return answer


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc)

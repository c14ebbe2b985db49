"""Usage of every real filesystem, without ever hanging on a dead network mount.

The mounts come from ``psutil.disk_partitions(all=True)`` (all: psutil's own choice of
"physical" filesystems would leave out NFS and CIFS, which fill up too), the space from
``psutil.disk_usage``, the inodes from ``os.statvfs``, psutil having none.

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
from typing import TYPE_CHECKING, Protocol

from agent.snapshot import FilesystemUsage
from agent.system import Psutil

if TYPE_CHECKING:
    from psutil import _ntuples as ntp

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
    def f_files(self) -> int: ...
    @property
    def f_ffree(self) -> int: ...


Statvfs = Callable[[str], StatvfsResult]
Answer = tuple["ntp.sdiskusage", StatvfsResult]


class FilesystemReader:
    def __init__(
        self,
        ps: Psutil,
        statvfs: Statvfs = os.statvfs,
        network_timeout: float = 5.0,
    ) -> None:
        self._ps = ps
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
        for part in self._ps.disk_partitions(all=True):
            device, mountpoint, fstype = part.device, part.mountpoint, part.fstype
            if fstype in PSEUDO_FS or mountpoint in seen_mounts or device in seen_devices:
                continue
            seen_mounts.add(mountpoint)
            if device.startswith("/") or ":" in device:
                seen_devices.add(device)  # a block device or a network export
            try:
                space, inodes = self._ask(mountpoint, network=fstype in NETWORK_FS)
            except (OSError, TimeoutError) as exc:
                notes[mountpoint] = _reason(exc)
                continue
            if space.total == 0:
                continue  # reports no size at all: nothing to fill
            usages.append(
                FilesystemUsage(
                    mountpoint=mountpoint,
                    device=device,
                    fstype=fstype,
                    size_bytes=space.total,
                    free_bytes=space.total - space.used,  # root's reserve included
                    avail_bytes=space.free,  # what other users can still write
                    files=inodes.f_files,
                    files_free=inodes.f_ffree,
                    readonly="ro" in part.opts.split(","),
                )
            )
        return usages, notes

    def _usage(self, mountpoint: str) -> Answer:
        return self._ps.disk_usage(mountpoint), self._statvfs(mountpoint)

    def _ask(self, mountpoint: str, network: bool) -> Answer:
        if not network:
            return self._usage(mountpoint)
        with self._lock:
            stuck = self._stuck.get(mountpoint)
            if stuck is not None and stuck.is_alive():
                raise TimeoutError(f"statvfs has not returned for {self._timeout:g} s or more")
            self._stuck.pop(mountpoint, None)
        result: list[Answer | OSError] = []

        def ask() -> None:
            try:
                result.append(self._usage(mountpoint))
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

"""Filesystem usage: pseudo and image filesystems out, each device once, no hang on NFS.

The mounts and space come from psutil (the stand-in, with psutil's own types and its
``disk_usage`` arithmetic), the inodes from a statvfs table; ``test_live.py`` compares the
real thing with ``df``."""

from __future__ import annotations

import os
import threading

from agent.filesystems import FilesystemReader
from tests.agent.conftest import STATVFS, table_statvfs
from tests.agent.stand_in import StandInPsutil


def reader(table: dict[str, os.statvfs_result], **kwargs: float) -> FilesystemReader:
    statvfs = table_statvfs(table)
    return FilesystemReader(StandInPsutil(statvfs=statvfs), statvfs=statvfs, **kwargs)


def test_real_filesystems_once_each() -> None:
    usages, notes = reader(STATVFS).read()
    mounts = [u.mountpoint for u in usages]
    # proc, sysfs, tmpfs, squashfs and overlay are left out; /dev/sda1's bind mount under
    # /var/lib/kubelet is the same filesystem as /.
    assert mounts == ["/", "/data", "/mnt/nfs", "/mnt/back up"]
    assert notes == {}
    root = usages[0]
    assert (root.size_bytes, root.free_bytes, root.avail_bytes) == (
        100 * 1024**3,
        30 * 1024**3,
        25 * 1024**3,
    )
    assert (root.files, root.files_free) == (1000, 800)
    assert (root.device, root.fstype, root.readonly) == ("/dev/sda1", "ext4", False)
    assert usages[-1].readonly


def test_a_mount_that_cannot_be_read_is_noted_not_fatal() -> None:
    table = {k: v for k, v in STATVFS.items() if k != "/data"}
    usages, notes = reader(table).read()
    assert "/data" not in [u.mountpoint for u in usages]
    assert notes == {"/data": "No such file or directory"}


def test_a_hung_network_mount_is_skipped_until_its_call_returns() -> None:
    release = threading.Event()
    asked: list[str] = []

    def statvfs(path: str) -> os.statvfs_result:
        asked.append(path)
        if path == "/mnt/nfs":
            release.wait(10)  # the NFS server is gone
        return STATVFS[path]

    fs = FilesystemReader(StandInPsutil(statvfs=statvfs), statvfs=statvfs, network_timeout=0.05)
    usages, notes = fs.read()
    assert "/mnt/nfs" not in [u.mountpoint for u in usages]
    assert "did not return" in notes["/mnt/nfs"]
    _, notes = fs.read()  # still stuck: not asked again, said to be stuck
    assert asked.count("/mnt/nfs") == 1 and "has not returned" in notes["/mnt/nfs"]
    release.set()
    for thread in threading.enumerate():
        if thread.name == "statvfs /mnt/nfs":
            thread.join(5)
    usages, notes = fs.read()
    assert "/mnt/nfs" in [u.mountpoint for u in usages] and notes == {}

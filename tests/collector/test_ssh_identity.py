"""The Linux profile's identity command (``uname -snrm`` and /etc/os-release), parsed."""

from __future__ import annotations

from pathlib import Path

from collector.driver import Depth
from collector.ssh.parsers.linux import parse_identity
from collector.ssh.profiles import PROFILES

FIXTURES = Path(__file__).parent / "fixtures" / "ssh" / "linux"


def test_identity_of_a_centos_server() -> None:
    reading = parse_identity((FIXTURES / "identity.txt").read_text())
    assert reading.samples == []
    assert reading.facts == {
        "hostname": "ht-db-01",
        "kernel": "Linux 3.10.0-1160.el7.x86_64",
        "arch": "x86_64",
        "os_name": "CentOS Linux 7 (Core)",
    }


def test_without_os_release_or_with_odd_uname_output() -> None:
    assert parse_identity("Linux box 6.1.0-18-amd64 x86_64\n").facts == {
        "hostname": "box",
        "kernel": "Linux 6.1.0-18-amd64",
        "arch": "x86_64",
    }
    assert parse_identity("").facts == {}
    assert parse_identity("uname: illegal option\n").facts == {}


def test_identity_is_read_on_full_inspections_only() -> None:
    linux = PROFILES["linux"]
    assert "identity" in {c.key for c in linux.for_depth(Depth.full)}
    assert "identity" not in {c.key for c in linux.for_depth(Depth.health)}

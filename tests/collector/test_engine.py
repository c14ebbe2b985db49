"""The session pool and the pysnmp values the trap listener converts, without a network."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collector.snmp import engine
from collector.snmp.credentials import Credentials
from collector.snmp.engine import EnginePool, to_var
from collector.snmp.snapshot import Kind, Var
from collector.snmp.udp import UdpSession, status_error
from collector.snmp.usm import UsmSession
from collector.snmp.walker import NoSuchName, ResponseTooBig
from weibao.errors import AuthError

rfc1902, rfc1905 = engine.rfc1902, engine.rfc1905

V2C = Credentials("2c", community="s3cret-community")
V3 = Credentials(
    "3",
    user="weibao",
    auth_protocol="sha256",
    auth_key="k" * 12,
    priv_protocol="aes128",
    priv_key="p" * 12,
)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (rfc1902.Integer32(-5), Var(Kind.integer, -5)),
        (rfc1902.OctetString(b"ge1"), Var(Kind.octets, b"ge1")),
        (rfc1902.ObjectName("1.3.6.1"), Var(Kind.oid, (1, 3, 6, 1))),
        (rfc1902.IpAddress("10.0.0.1"), Var(Kind.ip, b"\n\x00\x00\x01")),
        (rfc1902.Counter32(7), Var(Kind.counter32, 7)),
        (rfc1902.Gauge32(8), Var(Kind.gauge32, 8)),
        (rfc1902.Unsigned32(9), Var(Kind.gauge32, 9)),
        (rfc1902.TimeTicks(100), Var(Kind.ticks, 100)),
        (rfc1902.Counter64(2**64 - 1), Var(Kind.counter64, 2**64 - 1)),
        (rfc1905.noSuchObject, Var(Kind.missing, None)),
        (rfc1905.noSuchInstance, Var(Kind.missing, None)),
        (rfc1905.endOfMibView, Var(Kind.end, None)),
    ],
)
def test_values_become_plain_python(value: Any, expected: Var) -> None:
    assert to_var(value) == expected


def test_error_status_translation() -> None:
    oids = [(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 1, 9, 0)]
    target = "192.0.2.1:161"
    assert isinstance(status_error(target, V2C, 1, 0, oids), ResponseTooBig)
    no_such = status_error(target, V2C, 2, 2, oids)
    assert isinstance(no_such, NoSuchName) and no_such.index == 1
    assert "1.3.6.1.2.1.1.9.0" in str(no_such)
    assert isinstance(status_error(target, V2C, 16, 1, oids), AuthError)
    assert "genErr" in str(status_error(target, V2C, 5, 1, oids))
    auth_only = Credentials("3", user="weibao", auth_protocol="sha", auth_key="k" * 12)
    denied = str(status_error(target, auth_only, 16, 1, oids))
    assert "security level (priv_protocol)" in denied and "k" * 12 not in denied


def test_credentials_never_show_secrets() -> None:
    assert "s3cret" not in repr(V2C) and "kkkk" not in repr(V3)
    assert V3.describe() == "SNMPv3 user 'weibao' (authPriv, sha256/aes128)"
    rotated = Credentials(**{**V3.__dict__, "auth_key": "x" * 12})
    assert rotated.fingerprint() != V3.fingerprint()


def test_every_version_on_the_shared_transport_without_pysnmp() -> None:
    async def run() -> list[type]:
        pool = EnginePool()
        kinds = []
        try:
            for creds in (V2C, Credentials("2c", community="other"), V3):
                async with pool.session(creds, "127.0.0.1", 9, 0.1, 0) as s:
                    kinds.append(type(s))
        finally:
            pool.close()
        return kinds

    assert asyncio.run(run()) == [UdpSession, UdpSession, UsmSession]

"""The pysnmp edge without a network: value conversion, error translation, engine pool."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from collector.snmp import engine
from collector.snmp.credentials import Credentials
from collector.snmp.engine import EnginePool, PysnmpSession, to_var
from collector.snmp.snapshot import Kind, Var
from collector.snmp.walker import NoSuchName, ResponseTooBig
from weibao.errors import AuthError, ProtocolError, Timeout

rfc1902, rfc1905, errind = engine.rfc1902, engine.rfc1905, engine.errind

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


def session(creds: Credentials) -> PysnmpSession:
    s = PysnmpSession(object(), "a1", creds, "192.0.2.1:161")
    s.timeout, s.attempts = 2.0, 2
    return s


@pytest.mark.parametrize(
    ("indication", "creds", "kind", "words"),
    [
        (errind.RequestTimedOut(), V2C, Timeout, "community is wrong"),
        (errind.RequestTimedOut(), V3, Timeout, "priv_key"),
        (errind.UnknownUserName(), V3, AuthError, "does not know SNMPv3 user 'weibao'"),
        (errind.WrongDigest(), V3, AuthError, "wrong auth_key or auth_protocol"),
        (errind.DecryptionError(), V3, AuthError, "wrong priv_key or priv_protocol"),
        (errind.UnsupportedSecurityLevel(), V3, AuthError, "security level"),
        (errind.NotInTimeWindow(), V3, ProtocolError, "engine discovery"),
        (errind.EmptyResponse(), V2C, ProtocolError, "192.0.2.1:161"),
    ],
)
def test_pysnmp_errors_become_ours_without_secrets(
    indication: Any, creds: Credentials, kind: type, words: str
) -> None:
    error = session(creds)._indication_error(indication)
    assert type(error) is kind and words in str(error)
    for secret in ("s3cret-community", "k" * 12, "p" * 12):
        assert secret not in str(error)


def test_error_status_translation() -> None:
    s = session(V2C)
    oids = [(1, 3, 6, 1, 2, 1, 1, 3, 0), (1, 3, 6, 1, 2, 1, 1, 9, 0)]
    assert isinstance(s._status_error(1, 0, oids), ResponseTooBig)
    no_such = s._status_error(2, 2, oids)
    assert isinstance(no_such, NoSuchName) and no_such.index == 1
    assert "1.3.6.1.2.1.1.9.0" in str(no_such)
    assert isinstance(s._status_error(16, 1, oids), AuthError)
    assert "genErr" in str(s._status_error(5, 1, oids))


def test_credentials_never_show_secrets() -> None:
    assert "s3cret" not in repr(V2C) and "kkkk" not in repr(V3)
    assert V3.describe() == "SNMPv3 user 'weibao' (authPriv, sha256/aes128)"
    rotated = Credentials(**{**V3.__dict__, "auth_key": "x" * 12})
    assert rotated.fingerprint() != V3.fingerprint()


def test_one_engine_for_communities_one_per_v3_key_idle_ones_evicted() -> None:
    async def run() -> list[int]:
        pool = EnginePool(max_engines=1)
        sizes = []
        try:
            for creds in (V2C, Credentials("2c", community="other"), V3):
                async with pool.session(creds, "127.0.0.1", 9, 0.1, 0) as s:
                    sizes.append(len(pool))
                    assert isinstance(s, PysnmpSession) == (creds.version == "3")
            rotated = Credentials(**{**V3.__dict__, "auth_key": "x" * 12})
            async with pool.session(rotated, "127.0.0.1", 9, 0.1, 0):
                sizes.append(len(pool))
        finally:
            pool.close()
        return sizes

    # v1/v2c need no engine (weibao's own UDP transport); the v3 user adds one; its new
    # key one more, and the least recently used idle engine is closed to stay within
    # max_engines
    assert asyncio.run(run()) == [0, 0, 1, 1]

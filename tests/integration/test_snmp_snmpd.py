"""The SNMP driver against a real net-snmp ``snmpd``, started here on a free loopback port.

snmpd runs with ``-f -C -c <tmp conf> -p <tmp pid>`` and its persistent directory in
tmp, so it never reads or writes /etc or /var; the net-snmp command-line tools run with
the same isolation and are the reference: what weibao reports must match ``snmpwalk``.
"""

from __future__ import annotations

import asyncio
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.driver import Depth, InspectionResult
from collector.snmp.driver import SnmpDriver
from collector.snmp.engine import EnginePool
from tests.peers import require_peer
from weibao.errors import AuthError, Timeout
from weibao.inventory.model import SnmpInspection

pytestmark = pytest.mark.integration

COMMUNITY = "wb-community-9f3"
KEY, PRIV = "authpass-1234", "privpass-5678"
ENGINE_ID = "0x80001f8880aabbccdd0001"
# name: (net-snmp auth, weibao auth, net-snmp priv, weibao priv)
USERS = {
    "shaaes": ("SHA", "sha", "AES", "aes128"),
    "sha256aes": ("SHA-256", "sha256", "AES", "aes128"),
    "md5des": ("MD5", "md5", "DES", "des"),
    "shaaes256": ("SHA", "sha", "AES-256", "aes256"),  # key extended (20 -> 32 bytes)
    "sha256aes256": ("SHA-256", "sha256", "AES-256", "aes256"),
    "sha512aes128": ("SHA-512", "sha512", "AES", "aes128"),
    "sha512aes256": ("SHA-512", "sha512", "AES-256", "aes256"),
    "md5aes192": ("MD5", "md5", "AES-192", "aes192"),  # key extended (16 -> 24 bytes)
    "sha224aes": ("SHA-224", "sha224", "AES", "aes128"),
    "sha384aes256": ("SHA-384", "sha384", "AES-256", "aes256"),
}
# name: (net-snmp auth or None, weibao auth or None, the level snmpd's rouser requires)
LEVEL_USERS = {
    "authonly": ("SHA-256", "sha256", "auth"),
    "noauthuser": (None, None, "noauth"),
}


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Snmpd:
    """One snmpd process; :meth:`restart` rewrites its config (new keys, engine ID).

    With ``keep_boots`` snmpd reads back its persistent directory at start (no ``-C``;
    the directory is on SNMPCONFPATH), so each restart raises its engine boots counter
    like a rebooted device's.
    """

    def __init__(self, binary: str, tools: str, home: Path, keep_boots: bool = False) -> None:
        self.binary, self.tools, self.home = binary, tools, home
        self.keep_boots = keep_boots
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        (home / "persist").mkdir(parents=True)
        (home / "client").mkdir()
        self.env = {
            **os.environ,
            "MIBS": "",  # no MIB files: numeric OIDs only, no noise
            "SNMPCONFPATH": str(home / "client") + (f":{home / 'persist'}" if keep_boots else ""),
            "SNMP_PERSISTENT_DIR": str(home / "persist"),
        }

    def start(self, key: str = KEY, engine_id: str = ENGINE_ID) -> None:
        lines = [
            f"[snmp] persistentDir {self.home / 'persist'}",
            f"exactEngineID {engine_id}",
            "[snmp] serverRecvBuf 4194304",  # room for bursts of 1,000 requests (udp tests)
            f"rocommunity {COMMUNITY} 127.0.0.1",
        ]
        for user, (auth, _, priv, _) in USERS.items():
            lines += [f'createUser {user} {auth} "{key}" {priv} "{PRIV}"', f"rouser {user} priv"]
        for user, (auth, _, level) in LEVEL_USERS.items():
            secret = f' {auth} "{key}"' if auth else ""
            lines += [f"createUser {user}{secret}", f"rouser {user} {level}"]
        conf = self.home / "snmpd.conf"
        conf.write_text("\n".join(lines) + "\n")
        keep = self.port  # a restart keeps the address: the same device, changed
        for _ in range(5):  # the port is free when picked; retry if something took it since
            self.port = keep or free_udp_port()
            self.proc = subprocess.Popen(
                [
                    self.binary,
                    "-f",
                    "-Lf",
                    str(self.home / "snmpd.log"),
                    *(() if self.keep_boots else ("-C",)),
                    "-c",
                    str(conf),
                    "-p",
                    str(self.home / "snmpd.pid"),
                    f"udp:127.0.0.1:{self.port}",
                ],
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            if self._ready():
                return
            self.stop()
            keep = 0
        raise RuntimeError(f"snmpd did not start: {(self.home / 'snmpd.log').read_text()}")

    def _ready(self) -> bool:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                return False
            if self.cli("snmpget", "1.3.6.1.2.1.1.3.0", timeout="0.2").returncode == 0:
                return True
        return False

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def restart(self, **kw: Any) -> None:
        self.stop()
        self.start(**kw)

    def cli(self, tool: str, *oids: str, timeout: str = "2") -> subprocess.CompletedProcess[str]:
        command = [
            str(Path(self.tools).parent / tool),
            "-v2c",
            "-c",
            COMMUNITY,
            "-On",
            "-Oq",
            "-Oe",
            "-Ot",
            "-r",
            "0",
            "-t",
            timeout,
            f"127.0.0.1:{self.port}",
            *oids,
        ]
        return subprocess.run(command, env=self.env, capture_output=True, text=True, timeout=30)

    def walk(self, oid: str) -> dict[str, str]:
        """``{index: value}`` under ``oid`` as snmpbulkwalk prints them."""
        out = self.cli("snmpbulkwalk", oid)
        assert out.returncode == 0, out.stderr
        values = {}
        for line in out.stdout.splitlines():
            name, _, value = line.partition(" ")
            values[name.removeprefix("." + oid + ".")] = value.strip().strip('"')
        return values


def running_snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    """A started snmpd for a module-scoped fixture (``yield from running_snmpd(...)``)."""
    binary = require_peer("/usr/sbin/snmpd", "net-snmp's agent is the reference SNMP device")
    tools = require_peer("snmpbulkwalk", "net-snmp's tools are the reference client")
    agent = Snmpd(binary, tools, tmp_path_factory.mktemp("snmpd"))
    agent.start()
    try:
        yield agent
    finally:
        agent.stop()


@pytest.fixture(scope="module")
def snmpd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Snmpd]:
    yield from running_snmpd(tmp_path_factory)


def snmp(port: int, **kw: Any) -> SnmpInspection:
    base: dict[str, Any] = {"community": "env:COMMUNITY", "port": port, "timeout": "1s"}
    return SnmpInspection.model_validate({**base, **kw})


def v3(port: int, account: str, **kw: Any) -> SnmpInspection:
    """SNMPv3 settings for one of USERS; ``kw`` overrides a field (a wrong key, ...)."""
    _, auth, _, priv = USERS[account]
    fields = {
        "version": 3,
        "community": None,
        "user": account,
        "auth_protocol": auth,
        "auth_key": "env:AUTH",
        "priv_protocol": priv,
        "priv_key": "env:PRIV",
    }
    return snmp(port, **{**fields, **kw})


ENV = {"COMMUNITY": COMMUNITY, "AUTH": KEY, "PRIV": PRIV}


def inspect(
    *targets: tuple[SnmpInspection, str],
    env: dict[str, str] | None = None,
    depth: Depth = Depth.full,
    driver: SnmpDriver | None = None,
) -> list[InspectionResult]:
    """Inspect every target concurrently with one driver (its own, closed at the end)."""

    async def run() -> list[InspectionResult]:
        own = driver or SnmpDriver(environ=ENV if env is None else env)
        try:
            now = datetime.now(UTC)
            return list(
                await asyncio.gather(
                    *(
                        own.inspect_target(f"d{i}", address, t, "server", depth, now, 10.0)
                        for i, (t, address) in enumerate(targets)
                    )
                )
            )
        finally:
            if driver is None:
                own.close()

    return asyncio.run(run())


def test_v2c_inspection_matches_snmpwalk(snmpd: Snmpd) -> None:
    before = int(snmpd.cli("snmpget", "1.3.6.1.2.1.1.3.0").stdout.split()[-1])
    (result,) = inspect((snmp(snmpd.port), "127.0.0.1"))
    after = int(snmpd.cli("snmpget", "1.3.6.1.2.1.1.3.0").stdout.split()[-1])
    o = result.observation
    assert o.ok, o.error
    assert o.meta["profile"] == "net-snmp" and o.meta["vendor"] == "Linux"
    assert before / 100 <= (o.value("uptime_seconds") or 0) <= after / 100

    names, types = snmpd.walk("1.3.6.1.2.1.31.1.1.1.1"), snmpd.walk("1.3.6.1.2.1.2.2.1.3")
    opers = snmpd.walk("1.3.6.1.2.1.2.2.1.8")
    expected = {names[i]: float(opers[i] == "1") for i in names if types.get(i) != "24"}
    got = {s.labels["interface"]: s.value for s in o.values("interface_up")}
    assert got == expected and got

    descr, kind = snmpd.walk("1.3.6.1.2.1.25.2.3.1.3"), snmpd.walk("1.3.6.1.2.1.25.2.3.1.2")
    size, used = snmpd.walk("1.3.6.1.2.1.25.2.3.1.5"), snmpd.walk("1.3.6.1.2.1.25.2.3.1.6")
    disks = {
        descr[i]: int(used[i]) / int(size[i])
        for i in descr
        if kind[i].endswith(".25.2.1.4")
        and int(size[i]) > 0
        and not re.match(r"^/(dev|run|sys|proc)(/|$)", descr[i])
    }
    got_fs = {s.labels["mountpoint"]: s.value for s in o.values("filesystem_usage_ratio")}
    assert got_fs.keys() == disks.keys() and disks
    for mount, ratio in disks.items():
        assert got_fs[mount] == pytest.approx(ratio, abs=0.01)
    assert 0 < (o.value("memory_usage_ratio") or 0) <= 1


@pytest.mark.parametrize("user", sorted(USERS))
def test_v3_auth_priv(snmpd: Snmpd, user: str) -> None:
    (result,) = inspect((v3(snmpd.port, user), "127.0.0.1"))
    o = result.observation
    assert o.ok, o.error
    assert o.meta["security"].startswith(f"SNMPv3 user '{user}' (authPriv")
    assert o.values("interface_up")
    if user.startswith("md5"):
        assert "MD5" in o.meta["weak"]
    if user == "md5des":
        assert "MD5" in o.meta["weak"] and "DES" in o.meta["weak"]
        assert o.value("snmp_weak_security") == 1
    elif not user.startswith("md5"):
        assert "weak" not in o.meta and o.value("snmp_weak_security") == 0


def test_v3_values_equal_v2c_values(snmpd: Snmpd) -> None:
    """The same walk over v2c and over v3 authPriv gives the same interface table."""
    v2c, v3_sha512 = inspect(
        (snmp(snmpd.port), "127.0.0.1"), (v3(snmpd.port, "sha512aes256"), "127.0.0.1")
    )
    names = {s.labels["interface"] for s in v2c.observation.values("interface_up")}
    assert names and names == {
        s.labels["interface"] for s in v3_sha512.observation.values("interface_up")
    }


@pytest.mark.parametrize(
    ("user", "auth", "priv"), [("authonly", "sha256", None), ("noauthuser", None, None)]
)
def test_v3_auth_no_priv_and_no_auth(snmpd: Snmpd, user: str, auth: str | None, priv: None) -> None:
    target = snmp(
        snmpd.port,
        version=3,
        community=None,
        user=user,
        auth_protocol=auth,
        auth_key="env:AUTH" if auth else None,
    )
    (result,) = inspect((target, "127.0.0.1"))
    assert result.observation.ok, result.observation.error
    level = "authNoPriv" if auth else "noAuthNoPriv"
    assert result.observation.meta["security"].startswith(f"SNMPv3 user '{user}' ({level}")


def test_v3_wrong_security_level_names_the_setting(snmpd: Snmpd) -> None:
    quick = {"timeout": "0.5s", "retries": 0}
    too_high, too_low, wrong_auth_proto = inspect(
        # the device's user has no privacy key: snmpd reports usmStatsUnsupportedSecLevels
        (v3(snmpd.port, "shaaes", user="authonly", auth_protocol="sha256", **quick), "127.0.0.1"),
        # the device's access rule requires privacy: snmpd answers authorizationError
        (v3(snmpd.port, "shaaes", priv_protocol=None, priv_key=None, **quick), "127.0.0.1"),
        # SHA-512 for a SHA-256 user: a wrong digest
        (v3(snmpd.port, "sha256aes", auth_protocol="sha512", **quick), "127.0.0.1"),
    )
    assert isinstance(too_high.error, AuthError)
    assert "security level" in str(too_high.error) and "priv_protocol" in str(too_high.error)
    assert isinstance(too_low.error, AuthError)
    assert "authorizationError" in str(too_low.error) and "priv_protocol" in str(too_low.error)
    assert isinstance(wrong_auth_proto.error, AuthError)
    assert "auth_protocol" in str(wrong_auth_proto.error)
    for failed in (too_high, too_low, wrong_auth_proto):
        assert KEY not in str(failed.error) and PRIV not in str(failed.error)


def test_v3_engine_reboot_is_recovered(tmp_path_factory: pytest.TempPathFactory) -> None:
    """snmpd restarted with the same engine ID: its boots counter goes up, so our next
    request is outside its time window; the notInTimeWindow Report resynchronizes us."""
    binary = require_peer("/usr/sbin/snmpd", "net-snmp's agent is the reference SNMP device")
    tools = require_peer("snmpbulkwalk", "net-snmp's tools are the reference client")
    agent = Snmpd(binary, tools, tmp_path_factory.mktemp("snmpd-reboot"), keep_boots=True)
    agent.start()
    try:

        async def scenario() -> tuple[list[InspectionResult], list[int], int]:
            driver = SnmpDriver(environ=ENV)
            pool = driver.pool
            assert isinstance(pool, EnginePool)
            results, boots = [], []
            try:
                for step in range(3):
                    if step:
                        agent.restart()
                    target = v3(agent.port, "sha512aes256", timeout="0.5s")
                    now = datetime.now(UTC)
                    results.append(
                        await driver.inspect_target(
                            "reboot", "127.0.0.1", target, None, Depth.health, now, 10.0
                        )
                    )
                    boots.append(pool.usm.peers[("127.0.0.1", agent.port)].boots)
            finally:
                driver.close()
            return results, boots, pool.usm.discoveries

        results, boots, discoveries = asyncio.run(scenario())
    finally:
        agent.stop()
    for result in results:
        assert result.observation.ok, result.observation.error
    assert boots[0] < boots[1] < boots[2]
    assert discoveries == 1  # the engine ID did not change: no rediscovery, only a resync


def test_failures_are_results_with_reasons_and_do_not_stop_others(snmpd: Snmpd) -> None:
    quick = {"timeout": "0.3s", "retries": 0}
    good, community, auth, priv, user, closed = inspect(
        (snmp(snmpd.port), "127.0.0.1"),
        (snmp(snmpd.port, community="env:WRONG", **quick), "127.0.0.1"),
        (v3(snmpd.port, "shaaes", auth_key="env:WRONG"), "127.0.0.1"),
        (v3(snmpd.port, "shaaes", priv_key="env:WRONG", **quick), "127.0.0.1"),
        (v3(snmpd.port, "shaaes", user="nobody"), "127.0.0.1"),
        (snmp(free_udp_port(), **quick), "127.0.0.1"),
        env={**ENV, "WRONG": "not-the-secret"},
    )
    assert good.observation.ok
    assert isinstance(community.error, Timeout) and "no answer" in str(community.error)
    assert isinstance(auth.error, AuthError) and "auth_key" in str(auth.error)
    # net-snmp drops what it cannot decrypt (no report), so a wrong priv key is silence
    assert isinstance(priv.error, Timeout) and "priv_key" in str(priv.error)
    assert isinstance(user.error, AuthError) and "does not know SNMPv3 user 'nobody'" in str(
        user.error
    )
    assert isinstance(closed.error, Timeout)
    for failed in (community, auth, priv, user, closed):
        assert failed.observation.value("up") == 0
        assert "not-the-secret" not in (failed.observation.error or "")
        assert COMMUNITY not in (failed.observation.error or "")


def test_a_changed_v3_key_and_engine_id_take_effect_without_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    binary = require_peer("/usr/sbin/snmpd", "net-snmp's agent is the reference SNMP device")
    tools = require_peer("snmpbulkwalk", "net-snmp's tools are the reference client")
    agent = Snmpd(binary, tools, tmp_path_factory.mktemp("snmpd-rotate"))
    secret = tmp_path_factory.mktemp("secret") / "auth_key"
    secret.write_text(KEY + "\n")
    agent.start()
    try:

        async def scenario() -> list[InspectionResult]:
            driver = SnmpDriver(environ=ENV)
            results = []
            try:
                for step in ("before", "rotated", "old key", "new engine id"):
                    if step == "rotated":  # the device's key changes, then the secret
                        agent.restart(key="rotated-key-42")
                        secret.write_text("rotated-key-42\n")
                    elif step == "old key":
                        secret.write_text(KEY + "\n")
                    elif step == "new engine id":  # the device was replaced at that address
                        secret.write_text("rotated-key-42\n")
                        agent.restart(key="rotated-key-42", engine_id="0x80001f8880aabbccdd0002")
                    target = v3(agent.port, "sha256aes", auth_key=f"file:{secret}", timeout="0.5s")
                    now = datetime.now(UTC)
                    results.append(
                        await driver.inspect_target(
                            "rot", "127.0.0.1", target, None, Depth.health, now, 10.0
                        )
                    )
            finally:
                driver.close()
            return results

        first_port = agent.port
        before, rotated, old, replaced = asyncio.run(scenario())
        assert agent.port == first_port  # every step talked to the same address
    finally:
        agent.stop()
    assert before.observation.ok, before.observation.error
    assert rotated.observation.ok, rotated.observation.error
    assert isinstance(old.error, AuthError)
    assert replaced.observation.ok, replaced.observation.error


def test_rates_from_two_real_polls(snmpd: Snmpd) -> None:
    async def twice() -> list[InspectionResult]:
        driver = SnmpDriver(environ=ENV)
        try:
            target = snmp(snmpd.port)
            t0 = datetime.now(UTC)
            first = await driver.inspect_target(
                "r", "127.0.0.1", target, None, Depth.health, t0, 10
            )
            await asyncio.sleep(1.1)
            t1 = t0 + timedelta(seconds=1.1)
            second = await driver.inspect_target(
                "r", "127.0.0.1", target, None, Depth.health, t1, 10
            )
            return [first, second]
        finally:
            driver.close()

    first, second = asyncio.run(twice())
    assert not first.observation.values("interface_bits_rate")
    rates = second.observation.values("interface_bits_rate")
    assert rates and all(s.value >= 0 for s in rates)
    assert second.observation.values("interface_errors_rate")

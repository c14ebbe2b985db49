"""The trap receiver against net-snmp's real ``snmptrap`` and ``snmpinform``.

The tools run with their configuration and persistent directories in tmp (they never
read or write /etc, /var or ~/.snmp); the receiver listens on 127.0.0.1 on a port the
kernel picks. Every wait is bounded. The last test runs the whole path: ``weibao
collector --traps`` pushing a trap to ``weibao serve``, which opens a ticket.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from collector.traps.receiver import TrapReceiver
from tests.collector.conftest import inventory
from tests.collector.test_runner import aio
from tests.integration.desk_process import WEIBAO, free_port
from tests.integration.test_walking_skeleton import make_token
from tests.peers import require_peer
from weibao.observation import Observation

pytestmark = pytest.mark.integration

COMMUNITY = "wb-trap-community-71c"
AUTH_KEY, PRIV_KEY = "trap-authpass-4821", "trap-privpass-9357"
ENGINE_ID = "0x80001f8880c0ffee0001"
ENV = {"SW_COMMUNITY": COMMUNITY, "SW_AUTH": AUTH_KEY, "SW_PRIV": PRIV_KEY}
LINK_DOWN, LINK_UP = "1.3.6.1.6.3.1.1.5.3", "1.3.6.1.6.3.1.1.5.4"
HW_BOARD_FAIL = "1.3.6.1.4.1.2011.5.25.219.2.2.3"
ENT_PHYSICAL_NAME = "1.3.6.1.2.1.47.1.1.1.1.7"


def devices(priv_protocol: str = "aes") -> Any:
    """Two devices at one address, told apart by credentials: v2c, and v3 authPriv."""
    return inventory(
        {
            "name": "sw-v2c",
            "kind": "switch",
            "address": "127.0.0.1",
            "inspect": {"snmp": {"community": "env:SW_COMMUNITY"}},
        },
        {
            "name": "sw-v3",
            "kind": "switch",
            "address": "127.0.0.1",
            "inspect": {
                "snmp": {
                    "version": "3",
                    "user": "weibao",
                    "auth_protocol": "sha",
                    "auth_key": "env:SW_AUTH",
                    "priv_protocol": priv_protocol,
                    "priv_key": "env:SW_PRIV",
                }
            },
        },
    )


@dataclass
class Tools:
    snmptrap: str
    env: dict[str, str]

    async def run(self, *args: str, program: str = "") -> subprocess.CompletedProcess[str]:
        """Run a net-snmp tool, bounded in time."""
        proc = await asyncio.create_subprocess_exec(
            program or self.snmptrap,
            *args,
            env=self.env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(proc.communicate(), 20)
        return subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())

    async def v2c(self, port: int, oid: str, *varbinds: str, community: str = COMMUNITY) -> None:
        done = await self.run("-v2c", "-c", community, f"127.0.0.1:{port}", "", oid, *varbinds)
        assert done.returncode == 0, done.stderr

    async def v3(
        self, port: int, oid: str, *varbinds: str, auth: str = AUTH_KEY, priv: str = "AES"
    ) -> None:
        done = await self.run(
            "-v3",
            "-e",
            ENGINE_ID,
            "-u",
            "weibao",
            "-l",
            "authPriv",
            "-a",
            "SHA",
            "-A",
            auth,
            "-x",
            priv,
            "-X",
            PRIV_KEY,
            f"127.0.0.1:{port}",
            "",
            oid,
            *varbinds,
        )
        assert done.returncode == 0, done.stderr


@pytest.fixture
def tools(tmp_path: Path) -> Tools:
    snmptrap = require_peer("snmptrap", "net-snmp's snmptrap is the reference trap sender")
    (tmp_path / "client").mkdir()
    (tmp_path / "persist").mkdir()
    env = {
        **os.environ,
        "MIBS": "",
        "SNMPCONFPATH": str(tmp_path / "client"),
        "SNMP_PERSISTENT_DIR": str(tmp_path / "persist"),
    }
    return Tools(snmptrap, env)


def link(port: int) -> tuple[str, ...]:
    return (
        f"1.3.6.1.2.1.2.2.1.1.{port}",
        "i",
        str(port),
        f"1.3.6.1.2.1.2.2.1.2.{port}",
        "s",
        f"GigabitEthernet0/{port}",
        f"1.3.6.1.2.1.2.2.1.7.{port}",
        "i",
        "1",
        f"1.3.6.1.2.1.31.1.1.1.1.{port}",
        "s",
        f"Gi0/{port}",
    )


async def until(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


@asynccontextmanager
async def receiving(
    environ: dict[str, str] | None = None, priv_protocol: str = "aes"
) -> AsyncIterator[tuple[TrapReceiver, list[Observation], int]]:
    got: list[Observation] = []
    receiver = TrapReceiver(
        devices(priv_protocol).contexts(),
        got.append,
        listen=[("127.0.0.1", 0)],
        environ=environ or ENV,
    )
    [(_, port)] = await receiver.start()
    try:
        yield receiver, got, port
    finally:
        await receiver.stop()


def link_samples(obs: Observation) -> list[tuple[str, float]]:
    return [(s.labels["interface"], s.value) for s in obs.values("trap_link_up")]


@aio
async def test_v2c_link_down_then_up(tools: Tools) -> None:
    async with receiving() as (receiver, got, port):
        await tools.v2c(port, LINK_DOWN, *link(7))
        await until(lambda: len(got) == 1, "the linkDown")
        await tools.v2c(port, LINK_UP, *link(7))
        await until(lambda: len(got) == 2, "the linkUp")
    down, up = got
    assert (down.device, down.meta["trap"], down.meta["snmp_version"]) == (
        "sw-v2c",
        "linkDown",
        "2c",
    )
    assert link_samples(down) == [("Gi0/7", 0.0)]
    assert down.values("trap_link_up")[0].labels["admin"] == "up"
    assert (up.meta["trap"], link_samples(up)) == ("linkUp", [("Gi0/7", 1.0)])
    assert COMMUNITY not in down.model_dump_json() + up.model_dump_json()
    assert receiver.stats.accepted == 2


@aio
async def test_v3_auth_priv_sha_aes(tools: Tools) -> None:
    async with receiving() as (receiver, got, port):
        await tools.v3(port, LINK_DOWN, *link(2))
        await until(lambda: len(got) == 1, "the v3 trap")
        await tools.v3(port, LINK_DOWN, *link(3), auth="wrong-authpass-000")
        await until(lambda: receiver.stats.refused == 1, "the refusal")
        await tools.v3(port, LINK_UP, *link(2))
        await until(lambda: len(got) == 2, "the second v3 trap")
    first, second = got
    assert first.device == "sw-v3" and first.meta["snmp_version"] == "3"
    assert first.meta["security"] == "SNMPv3 user 'weibao' (authPriv, sha/aes)"
    assert link_samples(first) == [("Gi0/2", 0.0)]
    assert link_samples(second) == [("Gi0/2", 1.0)]  # the refused Gi0/3 never counted
    dumped = first.model_dump_json()
    assert AUTH_KEY not in dumped and PRIV_KEY not in dumped


@aio
@pytest.mark.parametrize(
    ("net_snmp", "ours"),
    [("AES-256", "aes256"), ("AES-192", "aes192"), ("AES-256-C", "aes256c")],
)
async def test_v3_aes_192_and_256_as_net_snmp_and_cisco_extend_the_key(
    tools: Tools, net_snmp: str, ours: str
) -> None:
    """net-snmp's AES-192/256 extend the key as draft-blumenthal says, Cisco's (and
    net-snmp's AES-256-C) as draft-reeder: each inventory name must decrypt its own."""
    async with receiving(priv_protocol=ours) as (_receiver, got, port):
        await tools.v3(port, LINK_DOWN, *link(4), priv=net_snmp)
        await until(lambda: len(got) == 1, f"the {net_snmp} trap")
    assert got[0].device == "sw-v3" and link_samples(got[0]) == [("Gi0/4", 0.0)]


@aio
async def test_a_rotated_v3_key_takes_effect_at_the_next_trap(tools: Tools) -> None:
    environ = dict(ENV)
    async with receiving(environ) as (receiver, got, port):
        await tools.v3(port, LINK_DOWN, *link(2))
        await until(lambda: len(got) == 1, "the trap with the first key")
        environ["SW_AUTH"] = "rotated-authpass-77"  # the referenced secret changed
        await tools.v3(port, LINK_DOWN, *link(3))
        await until(lambda: receiver.stats.refused == 1, "the old key refused")
        await tools.v3(port, LINK_DOWN, *link(4), auth="rotated-authpass-77")
        await until(lambda: len(got) == 2, "the trap with the new key")
    assert link_samples(got[1]) == [("Gi0/2", 0.0), ("Gi0/4", 0.0)]


@aio
async def test_wrong_community_and_unknown_user_are_dropped_and_counted(tools: Tools) -> None:
    async with receiving() as (receiver, got, port):
        await tools.v2c(port, LINK_DOWN, *link(1), community="public")
        await until(lambda: receiver.stats.bad_community == 1, "the wrong community")
        done = await tools.run(
            "-v3", "-e", ENGINE_ID, "-u", "intruder", "-l", "noAuthNoPriv",
            f"127.0.0.1:{port}", "", LINK_DOWN,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        await until(lambda: receiver.stats.unknown_user == 1, "the unknown user")
        await tools.v2c(port, LINK_DOWN, *link(1))
        await until(lambda: len(got) == 1, "the right community")
    assert receiver.stats.received == 3 and receiver.stats.accepted == 1


@aio
async def test_a_v1_vendor_trap_and_informs(tools: Tools) -> None:
    snmpinform = require_peer("snmpinform", "net-snmp's snmpinform sends acknowledged traps")
    async with receiving() as (_, got, port):
        # hwBoardFail as a v1 trap: enterprise ...219.2.2, specific 3.
        done = await tools.run(
            "-v1", "-c", COMMUNITY, f"127.0.0.1:{port}", "1.3.6.1.4.1.2011.5.25.219.2.2",
            "127.0.0.1", "6", "3", "", f"{ENT_PHYSICAL_NAME}.16", "s", "LPU 3",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        await until(lambda: len(got) == 1, "the v1 trap")
        done = await tools.run(
            "-v2c", "-c", COMMUNITY, "-t", "3", "-r", "0", f"127.0.0.1:{port}", "",
            "1.3.6.1.6.3.1.1.5.5", program=snmpinform,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr  # the receiver acknowledged it
        await until(lambda: len(got) == 2, "the inform")
        done = await tools.run(
            "-v3", "-t", "3", "-r", "0", "-u", "weibao", "-l", "authPriv", "-a", "SHA",
            "-A", AUTH_KEY, "-x", "AES", "-X", PRIV_KEY, f"127.0.0.1:{port}", "", LINK_DOWN,
            *link(5), program=snmpinform,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr  # engine-ID discovery, then acknowledged
        await until(lambda: len(got) == 3, "the v3 inform")
    board, inform, inform_v3 = got
    assert board.meta["trap"] == "hwBoardFail" and board.meta["snmp_version"] == "1"
    [alarm] = board.values("trap_alarm")
    assert alarm.labels == {"alarm": "board_failed", "object": "LPU 3", "severity": "major"}
    assert COMMUNITY not in board.model_dump_json()
    assert inform.meta["inform"] == "true" and inform.value("trap_auth_failures") == 1
    assert inform.value("trap_alarm", alarm="board_failed") == 1  # the device's state rides along
    assert (inform_v3.device, inform_v3.meta["inform"]) == ("sw-v3", "true")
    assert link_samples(inform_v3) == [("Gi0/5", 0.0)]


# -- end to end: weibao collector --traps pushes to weibao serve --------------------------


INVENTORY = """\
version: 1
customers:
  - name: Acme
    contracts:
      - id: ACME-2026
        name: Acme network maintenance
        start: 2026-01-01
        end: 2027-12-31
        service_manager: {{name: Wang Li}}
        sites:
          - name: Acme HQ
            devices:
              - name: acme-core-sw
                kind: switch
                address: 127.0.0.1
                inspect:
                  snmp:
                    {{community: env:TRAP_COMMUNITY, port: {snmp_port}, timeout: 1s, retries: 0}}
"""


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start(args: list[str], cwd: Path, log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    with open(log, "wb") as out:
        return subprocess.Popen(args, cwd=cwd, stdout=out, stderr=subprocess.STDOUT, env=env)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def wait_for(
    check: Callable[[], bool], what: str, proc: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 30
    while not check():
        assert proc.poll() is None, f"{what}: the process exited:\n{log.read_text()}"
        assert time.monotonic() < deadline, f"timed out waiting for {what}:\n{log.read_text()}"
        time.sleep(0.1)


def test_weibao_collector_traps_reach_the_desk_as_a_ticket(tools: Tools, tmp_path: Path) -> None:
    # The device's SNMP port is closed: its polls fail, which is not what this test is about.
    (tmp_path / "inventory.yaml").write_text(INVENTORY.format(snmp_port=free_udp_port()))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TRAP_COMMUNITY": COMMUNITY}
    db = f"sqlite:///{tmp_path / 'desk.db'}"
    url = f"http://127.0.0.1:{free_port()}"
    desk_log, collector_log = tmp_path / "desk.log", tmp_path / "collector.log"
    serve = [*WEIBAO, "serve", "-i", "inventory.yaml", "--db", db, "--listen", url[7:]]
    desk = start(serve, tmp_path, desk_log, env)
    collector = None
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"{url}/healthz", timeout=1).status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, "the desk", desk, desk_log)
        (tmp_path / "agent.token").write_text(make_token(tmp_path, db, "agent", "--any-device"))
        manager = {"Authorization": f"Bearer {make_token(tmp_path, db, 'manager')}"}
        trap_port = free_udp_port()
        collector = start(
            [
                *WEIBAO, "collector", "--desk", url, "--token-file", "agent.token",
                "-i", "inventory.yaml", "--spool", str(tmp_path / "spool"),
                "--traps", f"127.0.0.1:{trap_port}",
            ],
            tmp_path,
            collector_log,
            env,
        )  # fmt: skip
        wait_for(
            lambda: "trap.listening" in collector_log.read_text(),
            "the receiver",
            collector,
            collector_log,
        )
        name = f"{ENT_PHYSICAL_NAME}.16"
        asyncio.run(tools.v2c(trap_port, HW_BOARD_FAIL, name, "s", "LPU 3"))

        def ticket() -> dict[str, Any] | None:
            answer = httpx.get(f"{url}/api/v1/tickets", headers=manager, timeout=5).json()
            items = answer["items"] if isinstance(answer, dict) else answer
            found = [t for t in items if "board_failed" in t["title"]]
            return found[0] if found else None

        wait_for(lambda: ticket() is not None, "the ticket", collector, collector_log)
        # The receiver's memory of open faults, kept by the spool across restarts.
        state = tmp_path / "trap-state.json"
        wait_for(state.exists, "the trap state file", collector, collector_log)
        assert "LPU 3" in state.read_text() and COMMUNITY not in state.read_text()
        found = ticket()
        assert found is not None
        assert (found["device"], found["level"]) == ("acme-core-sw", "II")
        assert found["title"] == "acme-core-sw: board_failed (LPU 3)"
    finally:
        if collector is not None:
            stop(collector)
        stop(desk)
    logs = desk_log.read_text() + collector_log.read_text()
    assert COMMUNITY not in logs

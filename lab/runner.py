"""Run the fleet: an SNMP agent (and an SSH server) per device, faults from the state dir.

:class:`Lab` is asyncio: the SNMP agents live in its event loop, the SSH servers in their
own threads. It polls ``faults.json`` and, when a fault is switched, rebuilds only the
devices whose data changed. :class:`LabThread` runs a lab in a background thread for
tests and for embedding.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from types import TracebackType

from lab.fleet import Fleet
from lab.inventory import move_address
from lab.mibs import render
from lab.model import LabDevice
from lab.snmp_agent import SnmpAgent
from lab.ssh_server import SshDevice
from lab.state import Endpoint, LabState, StateError
from weibao.errors import SecretMissing, WeibaoError
from weibao.logs import log_event

POLL = 0.5  # seconds between looks at faults.json


class LabError(WeibaoError):
    """The lab cannot start; the message lists every reason."""


class Lab:
    def __init__(
        self,
        fleet: Fleet,
        state: LabState,
        *,
        host: str | None = None,
        snmp_port: int | None = None,
        ssh_port: int | None = None,
        net: ipaddress.IPv4Network | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.time,
        poll: float = POLL,
        logger: logging.Logger | None = None,
    ) -> None:
        self.fleet = fleet
        self.state = state
        self.host, self.snmp_port, self.ssh_port = host, snmp_port, ssh_port
        self.net = net
        self._busy: list[str] = []
        self.environ = environ
        self.clock = clock
        self.poll = poll
        self.log = logger or logging.getLogger("weibao.lab")
        self.active: frozenset[str] = frozenset()
        self.devices: dict[str, LabDevice] = {}
        self.endpoints: list[Endpoint] = []
        self._snmp: dict[str, SnmpAgent] = {}
        self._ssh: dict[str, SshDevice] = {}
        self._boots: dict[str, float] = {}
        self._starts = 1
        self._stamp: tuple[int, int] | None = None

    async def start(self) -> list[Endpoint]:
        """Bind every device; LabError naming every device that cannot start."""
        now = datetime.fromtimestamp(self.clock(), UTC)
        uptimes = {name: d.uptime for name, d in self.fleet.devices.items()}
        try:
            self.state.ensure()
            self._boots = self.state.boot_times(uptimes, now)
            self._starts = self.state.count_start()
        except (StateError, OSError) as exc:
            raise LabError(f"the lab cannot use its state directory: {exc}") from None
        self._stamp = self.state.faults_stamp()
        self.active = self._read_faults(frozenset())
        self.devices = self.fleet.effective(self.active)
        problems: list[str] = []
        for name, device in self.devices.items():
            problems += self._start_device(name, device)
        if self._busy:
            problems.append(self._busy_hint())
        if problems:
            self.close()
            raise LabError("the lab cannot start:\n  " + "\n  ".join(problems))
        for name, device in self.devices.items():
            self._apply(name, device)
        log_event(
            self.log,
            "lab.started",
            devices=len(self.devices),
            endpoints=len(self.endpoints),
            faults=",".join(sorted(self.active)) or "none",
        )
        return self.endpoints

    def _busy_hint(self) -> str:
        """One message for every address in use: most likely another lab (another clone's
        ``make run``) holds them all, and twelve identical errors would hide that."""
        shown = ", ".join(self._busy[:3]) + (", ..." if len(self._busy) > 3 else "")
        return (
            f"{len(self._busy)} of the lab's addresses are already in use ({shown}): "
            "another lab seems to be running (another clone's `make run`?). Stop it (Ctrl-C "
            "where it runs; `weibao lab status` there shows its pid), or move this lab to "
            "other addresses: `weibao lab start --net 127.0.1.0/24` (make run: "
            "WEIBAO_LAB_NET=127.0.1.0/24 WEIBAO_LISTEN=127.0.0.1:8081 make run)"
        )

    def address(self, device: LabDevice) -> str:
        """Where a device listens: ``host`` for all, else its own (moved into ``net``)."""
        if self.host is not None:
            return self.host
        return device.address if self.net is None else move_address(device.address, self.net)

    def _start_device(self, name: str, device: LabDevice) -> list[str]:
        host = self.address(device)
        problems = []
        if device.snmp is not None:
            port = device.snmp.port if self.snmp_port is None else self.snmp_port
            agent = SnmpAgent(name, device.snmp, host, port, self.environ, self.clock, self._starts)
            problem = self._bind(name, "snmp", agent.start, f"{host}:{port}/udp", port)
            if problem is None:
                self._snmp[name] = agent
            else:
                problems.append(problem)
        if device.ssh is not None:
            port = device.ssh.port if self.ssh_port is None else self.ssh_port
            server = SshDevice(device, self._boots[name], host, port, self.environ, self.clock)
            problem = self._bind(name, "ssh", server.start, f"{host}:{port}/tcp", port)
            if problem is None:
                self._ssh[name] = server
            else:
                problems.append(problem)
        return problems

    def _bind(
        self,
        name: str,
        protocol: str,
        start: Callable[[], tuple[str, int]],
        where: str,
        port: int,
    ) -> str | None:
        """Start one endpoint; None when it listens, else why not."""
        try:
            host, bound = start()
        except SecretMissing as exc:
            return f"{name} ({protocol}): {exc}"
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                self._busy.append(f"{name} {where}")
                return None
            hint = " (ports below 1024 need root: use the fleet's 1161/2222)" if port < 1024 else ""
            return f"{name} ({protocol}): cannot listen on {where}: {exc.strerror}{hint}"
        self.endpoints.append(Endpoint(name, protocol, host, bound))
        return None

    def _apply(self, name: str, device: LabDevice) -> None:
        agent = self._snmp.get(name)
        if agent is not None and device.system is not None:
            agent.update(render(device, self._boots[name]), device.silent)
        server = self._ssh.get(name)
        if server is not None:
            server.update(device)

    def _read_faults(self, current: frozenset[str]) -> frozenset[str]:
        try:
            names = self.state.faults()
        except StateError as exc:
            log_event(self.log, "lab.faults_unreadable", logging.ERROR, error=str(exc))
            return current
        unknown = [n for n in names if n not in self.fleet.faults]
        for name in unknown:
            log_event(self.log, "lab.fault_unknown", logging.WARNING, fault=name)
        return frozenset(n for n in names if n in self.fleet.faults)

    def reload(self) -> None:
        """Apply faults.json if it changed since the last look."""
        stamp = self.state.faults_stamp()
        if stamp == self._stamp:
            return
        self._stamp = stamp
        active = self._read_faults(self.active)
        if active == self.active:
            return
        for name in sorted(active - self.active):
            log_event(self.log, "lab.fault_on", fault=name, summary=self.fleet.faults[name].summary)
        for name in sorted(self.active - active):
            log_event(self.log, "lab.fault_off", fault=name)
        self.active = active
        devices = self.fleet.effective(active)
        for name, device in devices.items():
            if device != self.devices[name]:
                self._apply(name, device)
        self.devices = devices

    async def run(self, stop: asyncio.Event) -> None:
        """Serve until ``stop`` is set, applying fault switches as they come."""
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.poll)
            except TimeoutError:
                self.reload()

    def close(self) -> None:
        for agent in self._snmp.values():
            agent.close()
        for server in self._ssh.values():
            server.close()
        self._snmp.clear()
        self._ssh.clear()


async def serve(lab: Lab, stop: asyncio.Event) -> None:
    """Start, record the endpoints for ``weibao lab status``, serve until ``stop``."""
    pid = os.getpid()
    try:
        endpoints = await lab.start()
        lab.state.write_running(pid, datetime.fromtimestamp(lab.clock(), UTC), endpoints)
        await lab.run(stop)
    finally:
        lab.close()
        lab.state.clear_running(pid)
        log_event(lab.log, "lab.stopped")


class LabThread:
    """A lab in a background thread with its own event loop (tests, embedding)."""

    def __init__(self, lab: Lab) -> None:
        self.lab = lab
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, name="weibao-lab", daemon=True)

    def start(self, timeout: float = 30.0) -> list[Endpoint]:
        self._thread.start()
        if not self._started.wait(timeout):
            raise LabError(f"the lab did not start within {timeout}s")
        if self._error is not None:
            raise self._error
        return self.lab.endpoints

    def _main(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        try:
            loop.run_until_complete(self._serve())
        finally:
            loop.close()

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        try:
            await self.lab.start()
        except BaseException as exc:
            self._error = exc
            self._started.set()
            return
        self._started.set()
        try:
            await self.lab.run(self._stop)
        finally:
            self.lab.close()

    def reload(self, timeout: float = 10.0) -> None:
        """Apply faults.json now (in the lab's loop) instead of at the next poll."""
        if self._loop is None:
            raise LabError("the lab is not running")

        async def reload() -> None:
            self.lab.reload()

        asyncio.run_coroutine_threadsafe(reload(), self._loop).result(timeout)

    def stop(self, timeout: float = 15.0) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise LabError(f"the lab did not stop within {timeout}s")

    def __enter__(self) -> LabThread:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

"""The SSH driver without a server: results, config failures and the host-key policy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import paramiko
import pytest

from collector.driver import Depth, InspectionResult, error_kind
from collector.ssh.client import (
    HostKeyPolicy,
    Output,
    Session,
    SshConnection,
    fingerprint,
    load_private_key,
)
from collector.ssh.driver import SshDriver, build_result
from collector.ssh.profiles import PROFILES
from weibao.errors import HostKeyMismatch, InspectionError, Timeout
from weibao.inventory.model import SshInspection

NOW = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
FIXTURES = Path(__file__).parent / "fixtures" / "ssh" / "linux"


def inspect(ssh: SshInspection, environ: dict[str, str] | None = None) -> InspectionResult:
    async def run() -> InspectionResult:
        driver = SshDriver(max_threads=2, environ=environ or {})
        try:
            return await driver.inspect_target("srv", "127.0.0.1", ssh, Depth.health, NOW, 5)
        finally:
            driver.close()

    return asyncio.run(run())


def ssh_settings(**over: object) -> SshInspection:
    data: dict[str, object] = {"user": "ops", "password": "env:PW", "trust_on_first_use": True}
    data.update(over)
    return SshInspection.model_validate(data)


def test_missing_secret_is_a_config_failure_naming_the_reference() -> None:
    result = inspect(ssh_settings())
    assert result.failed and result.observation.value("up") == 0
    assert result.observation.meta["error_kind"] == "config"
    assert "env:PW" in (result.observation.error or "")


def test_unknown_profile_is_a_config_failure() -> None:
    result = inspect(ssh_settings(os="junos"), environ={"PW": "x"})
    assert "no SSH command profile 'junos'" in (result.observation.error or "")


def test_a_file_that_is_no_key_is_refused_without_showing_it(tmp_path: Path) -> None:
    secret = tmp_path / "key"
    secret.write_text("hunter2-not-a-key")
    result = inspect(ssh_settings(password=None, key=f"file:{secret}"))
    error = result.observation.error or ""
    assert f"file:{secret}" in error and "hunter2" not in error


def test_encrypted_key_is_refused_with_a_hint(tmp_path: Path) -> None:
    path = tmp_path / "key"
    paramiko.RSAKey.generate(2048).write_private_key_file(str(path), password="pass")
    with pytest.raises(InspectionError, match="passphrase"):
        load_private_key(path.read_text(), "file:/k")


def test_build_result_parses_usable_outputs_and_lists_the_rest() -> None:
    outputs = {
        "uptime": Output((FIXTURES / "uptime.txt").read_text(), "", 0),
        "df": Output((FIXTURES / "df.txt").read_text(), "df: /mnt/x: Permission denied", 1),
        "systemd_failed": Output(
            "", "System has not been booted with systemd as init system (PID 1).", 1
        ),
        "mdstat": Output("", "cat: /proc/mdstat: No such file or directory", 1),
    }
    session = Session("SHA256:abc", "pinned", outputs)
    result = build_result("srv", NOW, PROFILES["linux"], Depth.health, session, NOW, 12.0)
    obs = result.observation
    assert obs.ok and obs.value("up") == 1
    assert obs.value("uptime_seconds") == 1234567.89
    assert obs.value("filesystem_usage_ratio", mountpoint="/") is not None  # df exit 1 is usable
    assert obs.value("systemd_failed_units") is None  # unknown, not 0
    assert obs.values("raid_degraded") == []
    assert "systemd_failed (exit 1" in obs.meta["unavailable"]
    assert "mdstat" in obs.meta["unavailable"]
    assert result.raw["uptime"].startswith("1234567.89")


def test_error_kinds() -> None:
    assert error_kind(HostKeyMismatch("x")) == "host_key"
    assert error_kind(Timeout("x")) == "timeout"
    assert error_kind(InspectionError("x")) == "config"


def _ed25519() -> paramiko.PKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    return load_private_key(pem.decode(), "test")


def check(key: paramiko.PKey, known: list[paramiko.PKey], policy: HostKeyPolicy) -> str:
    return SshConnection("192.0.2.1", 22)._check_host_key(key, known, policy)[1]


def test_host_key_policy() -> None:
    key, other = _ed25519(), _ed25519()
    seen = fingerprint(key)
    assert check(key, [], HostKeyPolicy(pinned=seen)) == "pinned"
    with pytest.raises(HostKeyMismatch, match="not the pinned"):
        check(key, [], HostKeyPolicy(pinned=fingerprint(other)))
    assert check(key, [key], HostKeyPolicy(known_hosts="/k")) == "known_hosts"
    with pytest.raises(HostKeyMismatch, match="differs"):
        check(key, [other], HostKeyPolicy(known_hosts="/k", trust_on_first_use=True))
    with pytest.raises(HostKeyMismatch, match="unknown host key"):
        check(key, [], HostKeyPolicy(known_hosts="/k"))
    assert check(key, [], HostKeyPolicy(trust_on_first_use=True)) == "first-use"
    assert check(key, [], HostKeyPolicy(trust_on_first_use=True, remembered=seen)) == "remembered"
    with pytest.raises(HostKeyMismatch, match="showed first"):
        check(key, [], HostKeyPolicy(trust_on_first_use=True, remembered=fingerprint(other)))


def test_fingerprint_has_openssh_form() -> None:
    text = fingerprint(_ed25519())
    assert text.startswith("SHA256:") and len(text) == 50 and not text.endswith("=")


def test_a_connection_cut_off_logs_one_line_not_paramikos_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A device that accepts and never answers (a dead one): when the budget runs out the
    collector closes the socket under paramiko's thread, which used to log 25 lines."""
    import logging
    import socket
    import threading
    import time

    from collector.ssh.client import Login

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    held: list[tuple[socket.socket, object]] = []
    threading.Thread(target=lambda: held.append(server.accept()), daemon=True).start()
    connection = SshConnection("127.0.0.1", server.getsockname()[1])
    caplog.set_level(logging.DEBUG, logger="paramiko.transport")
    transports: list[threading.Thread] = []

    def cut_off() -> None:
        while not transports:  # paramiko's thread waits for the server's banner
            time.sleep(0.01)
            transports.extend(t for t in threading.enumerate() if isinstance(t, paramiko.Transport))
        connection.abort()

    killer = threading.Thread(target=cut_off)
    killer.start()
    try:
        with pytest.raises(Timeout, match="inspection budget"):
            connection.inspect(
                Login("ops", password="x"), HostKeyPolicy(), 30, [], time.monotonic() + 30
            )
        killer.join(10)
        for transport in transports:
            transport.join(10)  # its last words are logged before it ends
    finally:
        server.close()
        for conn, _ in held:
            conn.close()
    lines = [
        r for r in caplog.records if r.name == "paramiko.transport" and r.levelno >= logging.INFO
    ]
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert lines[0].getMessage() == "ssh.connection_ended"
    fields = lines[0].fields  # type: ignore[attr-defined]
    assert fields["target"] == connection.target and fields["stage"] == "key exchange"
    assert "time ran out" in fields["reason"]

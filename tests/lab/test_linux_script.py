"""The lab's Linux answers the collector's one-channel script as sh would: each command's
output, errors and status come back under its own mark, as when run alone."""

from __future__ import annotations

from collector.ssh.script import ScriptOutput, build_script, new_token
from lab import linux
from lab.fleet import Fleet

LINES = ["LC_ALL=C df -P", "cat /proc/mdstat", "no-such-tool --version", "uname -a"]


def test_the_script_gives_each_command_what_it_prints_alone(fleet: Fleet) -> None:
    device = next(d for d in fleet.devices.values() if d.host is not None and d.host.raid)
    assert device.host is not None
    token = new_token()
    answer = linux.run_script(build_script(LINES, token), device.name, device.host, 3600.0)
    assert answer is not None and answer.status == 0
    split = ScriptOutput(token, len(LINES), 1 << 20)
    split.stdout.feed(answer.stdout.encode())
    split.stderr.feed(answer.stderr.encode())
    results = split.results()
    for line, result in zip(LINES, results, strict=True):
        alone = linux.run(line, device.name, device.host, 3600.0)
        assert (result.stdout.decode(), result.stderr.decode(), result.status) == (
            alone.stdout,
            alone.stderr,
            alone.status,
        ), line
    assert results[1].stdout.startswith(b"Personalities") and results[2].status == 127


def test_a_plain_command_line_is_not_taken_for_a_script(fleet: Fleet) -> None:
    device = next(d for d in fleet.devices.values() if d.host is not None)
    assert device.host is not None
    assert linux.run_script("LC_ALL=C df -P", device.name, device.host, 1.0) is None

"""The one-channel Linux script: built, run by a real ``sh`` here, and split back per command.

Running the script with ``/bin/sh`` on this machine (no SSH) checks the shell side: marks,
exit statuses, stderr kept apart. The split is fed in odd chunk sizes, as a channel
delivers bytes. Over a real sshd: ``tests/integration/test_ssh_sshd.py``.
"""

from __future__ import annotations

import subprocess

import pytest

from collector.ssh.script import ScriptOutput, build_script, new_token

TOKEN = "WB-0123456789abcdef"


def run(
    lines: list[str], limit: int = 1 << 20, chunk: int = 7
) -> list[tuple[str, str, int | None]]:
    script = build_script(lines, TOKEN)
    done = subprocess.run(["/bin/sh", "-c", script], capture_output=True, timeout=30, check=False)
    output = ScriptOutput(TOKEN, len(lines), limit)
    for at in range(0, max(len(done.stdout), len(done.stderr)), chunk):
        output.stderr.feed(done.stderr[at : at + chunk])
        output.stdout.feed(done.stdout[at : at + chunk])
    return [(r.stdout.decode(), r.stderr.decode(), r.status) for r in output.results()]


def test_each_command_keeps_its_output_errors_and_status() -> None:
    results = run(
        [
            "printf 'one\\ntwo\\n'",
            "printf 'no newline at the end'",
            "sh -c 'echo out; echo err >&2; exit 3'",
            "weibao-no-such-command --x",
            "uname -s; true  # a comment does not swallow the mark",
            "printf ''",
        ]
    )
    assert results[0] == ("one\ntwo\n", "", 0)
    assert results[1] == ("no newline at the end", "", 0)
    assert results[2] == ("out\n", "err\n", 3)
    out, err, status = results[3]
    assert (out, status) == ("", 127) and "not found" in err  # not read, and why
    assert results[4][0].strip() and results[4][2] == 0
    assert results[5] == ("", "", 0)


def test_a_mark_with_another_token_is_output() -> None:
    fake = "printf '\\036WB-ffffffffffffffff 0 0\\n'"
    assert run([fake], chunk=3)[0] == ("\x1eWB-ffffffffffffffff 0 0\n", "", 0)


@pytest.mark.parametrize("chunk", [1, 2, 5, 64, 100000])
def test_marks_split_across_chunks_are_found(chunk: int) -> None:
    results = run(["echo a", "echo b >&2", "printf c"], chunk=chunk)
    assert results == [("a\n", "", 0), ("", "b\n", 0), ("c", "", 0)]


def test_output_beyond_the_limit_is_cut_and_flagged_and_the_next_command_still_read() -> None:
    output = ScriptOutput(TOKEN, 2, limit=10)
    output.stdout.feed(b"0123456789abcdef\x1e" + TOKEN.encode() + b" 0 0\nnext\n")
    output.stdout.feed(b"\x1e" + TOKEN.encode() + b" 1 0\n")
    first, second = output.results()
    assert (first.stdout, first.truncated, first.status) == (b"0123456789", True, 0)
    assert (second.stdout, second.truncated, second.status) == (b"next\n", False, 0)


def test_commands_after_the_script_stopped_have_no_status() -> None:
    output = ScriptOutput(TOKEN, 3, limit=100)
    output.stdout.feed(b"up\n\x1e" + TOKEN.encode() + b" 0 0\npartial\n\x1e" + TOKEN.encode()[:5])
    results = output.results()
    assert [r.status for r in results] == [0, None, None]
    assert results[1].stdout == b"partial\n\x1e" + TOKEN.encode()[:5]


def test_tokens_are_fresh_and_safe_in_the_script() -> None:
    assert new_token() != new_token()
    with pytest.raises(ValueError):
        build_script(["true"], "x'; rm -rf /")


def test_what_the_login_prints_before_the_first_command_is_nobodys() -> None:
    script = build_script(["echo a"], TOKEN)
    shell = "echo 'Could not chdir to home directory /home/x' >&2; echo motd; " + script
    done = subprocess.run(["/bin/sh", "-c", shell], capture_output=True, timeout=30, check=False)
    output = ScriptOutput(TOKEN, 1, 100)
    output.stdout.feed(done.stdout)
    output.stderr.feed(done.stderr)
    (result,) = output.results()
    assert (result.stdout, result.stderr, result.status) == (b"a\n", b"", 0)

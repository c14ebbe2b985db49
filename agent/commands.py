"""Running the few read-only programs the agent asks (systemctl, chronyc, timedatectl,
smartctl), always with a timeout, a C locale and no input.

The runner is injectable: tests hand in canned outputs from ``tests/agent/fixtures``
instead of the programs of the machine they run on. A program that is missing, hangs or
cannot start raises :class:`CommandUnavailable` with a reason fit for an observation's
``meta``; a program that ran returns its exit status and output, whatever the status.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass

# Ops tools live in sbin, which an unprivileged user's PATH often leaves out.
SEARCH_PATH = os.pathsep.join(
    [os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin", "/usr/bin", "/bin"]
)


class CommandUnavailable(Exception):
    """The program could not tell us anything; ``str()`` says why in one phrase."""


@dataclass(frozen=True)
class CommandOutput:
    returncode: int
    stdout: str


Run = Callable[[Sequence[str], float], CommandOutput]
Which = Callable[[str], str | None]


def find_program(name: str) -> str | None:
    return shutil.which(name, path=SEARCH_PATH)


def run_command(argv: Sequence[str], timeout: float) -> CommandOutput:
    """Run ``argv`` read-only; the first element must be an absolute path or a name."""
    program = argv[0] if os.path.isabs(argv[0]) else find_program(argv[0])
    if program is None:
        raise CommandUnavailable(f"{argv[0]} is not installed")
    try:
        done = subprocess.run(
            [program, *argv[1:]],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env={"LC_ALL": "C", "PATH": SEARCH_PATH},
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise CommandUnavailable(f"{argv[0]} did not answer within {timeout:g} s") from None
    except OSError as exc:
        raise CommandUnavailable(f"{argv[0]} could not start: {exc.strerror}") from None
    return CommandOutput(returncode=done.returncode, stdout=done.stdout)

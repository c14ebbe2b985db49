"""Simulated H3C Comware and Cisco IOS devices over SSH, for tests: no real device runs here.

The same paramiko server as :mod:`tests.collector.vrp_shell_peer` (login, PTY, echo of
what is typed, exec refused, a hanging command on request), talking each CLI's way
(:class:`CliStyle`):

- Comware: ``<SYSNAME>``, ``screen-length disable``, ``  ---- More ----`` erased with
  ``ESC[16D``, ``% Unrecognized command found at '^' position.``, ``quit``;
- IOS: ``SYSNAME#`` (``SYSNAME>`` in user EXEC), ``terminal length 0`` and
  ``terminal width 511``, `` --More-- `` erased with backspaces,
  ``% Invalid input detected at '^' marker.``, ``exit``.

Everything the client typed is kept in :attr:`VrpShellPeer.received`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import paramiko

from tests.collector.vrp_shell_peer import VrpBehaviour, VrpShellPeer, _Keys


@dataclass(frozen=True)
class CliStyle:
    prompt: str  # with {name}
    paging_off: tuple[str, ...]  # lines that turn paging off (answered with nothing)
    pager: str
    erase: str
    unrecognized: str
    exit: str
    banner: str = ""


COMWARE = CliStyle(
    prompt="<{name}>",
    paging_off=("screen-length disable",),
    pager="  ---- More ----",
    erase="\x1b[16D" + " " * 16 + "\x1b[16D",
    unrecognized="% Unrecognized command found at '^' position.",
    exit="quit",
    banner=(
        "******************************************************************************\n"
        "* Copyright (c) 2004-2026 New H3C Technologies Co., Ltd. All rights reserved.*\n"
        "* Without the owner's prior written consent,                                 *\n"
        "* no decompiling or reverse-engineering shall be allowed.                    *\n"
        "******************************************************************************"
    ),
)
IOS = CliStyle(
    prompt="{name}#",
    paging_off=("terminal length 0", "terminal width 511"),
    pager=" --More-- ",
    erase="\b" * 10 + " " * 10 + "\b" * 10,
    unrecognized="% Invalid input detected at '^' marker.",
    exit="exit",
    banner="Authorized access only. Disconnect now if you are not authorized.",
)
IOS_USER_EXEC = replace(IOS, prompt="{name}>")


@dataclass
class CliBehaviour(VrpBehaviour):
    style: CliStyle = field(default=COMWARE)
    paging_honoured: bool = True  # False: the paging lines are refused, pages come anyway


class CliShellPeer(VrpShellPeer):
    """One simulated Comware or IOS device; use :func:`running`."""

    behaviour: CliBehaviour

    def __init__(self, behaviour: CliBehaviour, user: str = "weibao") -> None:
        super().__init__(behaviour, user)

    @property
    def prompt(self) -> str:
        return self.behaviour.style.prompt.format(name=self.behaviour.sysname)

    def _session(self, channel: paramiko.Channel, keys: _Keys) -> None:
        b, style = self.behaviour, self.behaviour.style
        self._send(channel, "\n" + (style.banner or b.banner) + "\n\n")
        if not b.prompt:
            while keys.char() is not None:
                pass
            return
        if b.prompt_delay:
            self._stop.wait(b.prompt_delay)
        self._send(channel, self.prompt)
        paging = True
        while True:
            line = keys.line()
            if line is None:
                return
            self.received.append(line)
            command = " ".join(line.split())
            if command == style.exit:
                return
            if command in b.hang_on:
                while keys.char() is not None:
                    pass
                return
            if command in style.paging_off and b.paging_honoured:
                paging = False
                self._send(channel, self.prompt)
            elif command in b.outputs:
                self._answer(channel, keys, b.outputs[command], paging)
            elif command:
                caret = " " * (len(self.prompt) + line.rfind(command.split()[-1])) + "^"
                self._send(channel, f"{caret}\n{style.unrecognized}\n\n{self.prompt}")
            else:
                self._send(channel, self.prompt)

    def _pager(self) -> str:
        return self.behaviour.style.pager

    def _erase(self) -> str:
        return self.behaviour.style.erase


@contextmanager
def running(behaviour: CliBehaviour) -> Iterator[CliShellPeer]:
    """A started peer on 127.0.0.1, stopped (every thread joined) afterwards."""
    peer = CliShellPeer(behaviour)
    peer.start()
    try:
        yield peer
    finally:
        peer.stop()

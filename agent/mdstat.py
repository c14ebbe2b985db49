"""Software RAID state from the text of ``/proc/mdstat``.

An array is degraded when fewer members are in sync than it should have (``[2/1]``),
which is also the case during a recovery onto a replacement disk; an ``inactive`` array
that is not an external-metadata container (Intel RST, DDF) failed to assemble and is
counted as degraded too. A resync after an unclean shutdown keeps every member and is
reported by its progress only.
"""

from __future__ import annotations

import re

from agent.snapshot import RaidArray

_HEADER = re.compile(r"^(md\w+)\s*:\s*(\w+)(?:\s+\([^)]*\))?\s*(.*)$")
_MEMBERS = re.compile(r"\[(\d+)/(\d+)\]")
_PROGRESS = re.compile(r"\b(recovery|resync|reshape|check|repair)\s*=\s*([\d.]+)%")
_DELAYED = re.compile(r"\b(recovery|resync|reshape)\s*=\s*(DELAYED|PENDING)")
_REBUILDS = {"recovery", "resync", "reshape"}


def parse_mdstat(text: str) -> list[RaidArray]:
    arrays: list[RaidArray] = []
    for block in _blocks(text):
        match = _HEADER.match(block[0])
        if match is None:
            continue
        name, state, rest = match.groups()
        body = " ".join(block[1:])
        words = rest.split()
        level = next((w for w in words if w.startswith(("raid", "linear"))), "")
        failed = sum(1 for w in words if w.endswith("(F)"))
        if state == "inactive":
            if "super external:" in body:
                continue  # a container: its member arrays are listed on their own
            arrays.append(RaidArray(name=name, level=level, degraded=True, failed_members=failed))
            continue
        members = _MEMBERS.search(body)
        degraded = members is not None and int(members.group(2)) < int(members.group(1))
        action, ratio = _progress(body)
        arrays.append(
            RaidArray(
                name=name,
                level=level,
                degraded=degraded or failed > 0,
                failed_members=failed,
                sync_action=action,
                sync_ratio=ratio,
            )
        )
    return arrays


def _blocks(text: str) -> list[list[str]]:
    """Split into one list of lines per array: a header line, then indented lines."""
    blocks: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("md"):
            blocks.append([line])
        elif blocks and line[:1].isspace() and line.strip():
            blocks[-1].append(line.strip())
    return blocks


def _progress(body: str) -> tuple[str | None, float | None]:
    match = _PROGRESS.search(body)
    if match is not None:
        action = match.group(1)
        ratio = float(match.group(2)) / 100 if action in _REBUILDS else None
        return action, ratio
    delayed = _DELAYED.search(body)
    if delayed is not None:
        return delayed.group(1), 0.0
    return None, None

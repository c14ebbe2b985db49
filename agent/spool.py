"""A bounded on-disk queue of observation batches, for while the desk is away.

Each batch is one JSON file named by a zero-padded sequence number, written to a
temporary name, flushed and renamed into place, so a crash never leaves half a batch.
The spool is bounded in batches and in bytes; when full, the oldest batch is dropped and
counted (``dropped``): the newest state of a server is worth more than a week-old one.
Batches are replayed oldest first.

A batch the desk refuses as invalid would block every later one if it stayed at the
head, so it is moved to ``rejected/`` (itself bounded) and counted (``rejected``), where
an engineer can read it; so is a file that no longer parses as a list of observations
(the desk judges the rest: the spool does not load pydantic, see :mod:`agent.wire`).
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from agent.wire import WireObservation, to_wire

if TYPE_CHECKING:
    from weibao.observation import Observation

_SUFFIX = ".json"
REJECTED = "rejected"
MiB = 1024 * 1024


class Spool:
    def __init__(
        self,
        directory: Path,
        max_batches: int = 10_000,
        max_bytes: int = 64 * MiB,
        max_rejected: int = 100,
    ) -> None:
        if max_batches < 1 or max_bytes < 1:
            raise ValueError("a spool must hold at least one batch and one byte")
        self.directory = directory
        self.max_batches = max_batches
        self.max_bytes = max_bytes
        self.max_rejected = max_rejected
        self.dropped = 0
        self.rejected = 0
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for leftover in directory.glob("*.tmp"):
            leftover.unlink(missing_ok=True)  # a write the last run did not finish
        files = sorted(p for p in directory.iterdir() if p.name.endswith(_SUFFIX))
        self._sizes: dict[Path, int] = {p: p.stat().st_size for p in files}
        self._bytes = sum(self._sizes.values())
        self._next = int(files[-1].stem) + 1 if files else 1

    @property
    def batches(self) -> int:
        return len(self._sizes)

    @property
    def bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._sizes)

    def put(self, batch: Sequence[Observation | WireObservation]) -> Path | None:
        """Store a batch behind the others; None when it alone is larger than the spool."""
        payload = json.dumps([to_wire(o) for o in batch]).encode()
        if len(payload) > self.max_bytes:
            self.dropped += 1
            return None
        while self._sizes and (
            len(self._sizes) >= self.max_batches or self._bytes + len(payload) > self.max_bytes
        ):
            oldest = next(iter(self._sizes))
            self._forget(oldest).unlink(missing_ok=True)
            self.dropped += 1
        final = self.directory / f"{self._next:012d}{_SUFFIX}"
        self._next += 1
        tmp = final.with_suffix(".tmp")
        with open(tmp, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(final)
        self._sizes[final] = len(payload)
        self._bytes += len(payload)
        return final

    def pending(self) -> Iterator[tuple[Path, list[WireObservation]]]:
        """Batches oldest first; call ``done(path)`` once the desk took one."""
        for path in list(self._sizes):
            if path not in self._sizes:
                continue  # dropped or handled while the caller held an earlier batch
            try:
                batch = _batch(json.loads(path.read_bytes()))
            except (OSError, ValueError) as exc:
                self.set_aside(path, f"unreadable spool file: {exc}")
                continue
            yield path, batch

    def done(self, path: Path) -> None:
        self._forget(path).unlink(missing_ok=True)

    def set_aside(self, path: Path, reason: str) -> Path:
        """Move a batch the desk will never take to ``rejected/``, with the reason beside it."""
        self._forget(path)
        rejected = self.directory / REJECTED
        rejected.mkdir(exist_ok=True, mode=0o700)
        target = rejected / f"{path.stem}-{uuid.uuid4().hex[:8]}{_SUFFIX}"
        with contextlib.suppress(FileNotFoundError):
            path.replace(target)
        target.with_suffix(".reason").write_text(reason + "\n", encoding="utf-8")
        self.rejected += 1
        kept = sorted(rejected.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        for old in kept[: max(0, len(kept) - self.max_rejected)]:
            old.unlink(missing_ok=True)
            old.with_suffix(".reason").unlink(missing_ok=True)
        return target

    def _forget(self, path: Path) -> Path:
        self._bytes -= self._sizes.pop(path, 0)
        return path


def _batch(data: object) -> list[WireObservation]:
    """A list of observations, each with its id; ValueError for anything else."""
    if not isinstance(data, list):
        raise ValueError("not a list of observations")
    for item in data:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise ValueError("an entry is not an observation with an id")
    return data

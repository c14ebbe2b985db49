"""A bounded on-disk queue of observation batches, for while the desk is away.

Each batch is one JSON file named by a zero-padded sequence number, written to a
temporary name, flushed and renamed into place, so a crash never leaves half a batch.
The spool is bounded in batches and in bytes; when full, the oldest batch is dropped and
counted (``dropped``): the newest state of a server is worth more than a week-old one.
Batches are replayed oldest first.

A batch the desk refuses as invalid would block every later one if it stayed at the
head, so it is moved to ``rejected/`` (itself bounded) and counted (``rejected``), where
an engineer can read it; so is a file that no longer parses as a list of observations
(the desk judges the rest: the spool does not load pydantic, see :mod:`weibao.delivery.wire`),
and a batch that is not JSON at all (NaN or ±Infinity, which JSON cannot carry and the
desk refuses). Each is logged with its reason (``agent.batch_set_aside``).

A write that fails (a full disk) leaves no ``*.tmp`` behind and is counted
(``write_errors``); leftovers of a crash are removed, and said to be, on start.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from weibao.delivery.wire import WireObservation, to_wire
from weibao.logs import log_event

if TYPE_CHECKING:
    from weibao.observation import Observation

_SUFFIX = ".json"
REJECTED = "rejected"
MiB = 1024 * 1024
log = logging.getLogger("weibao.weibao.delivery.spool")
NOT_JSON = "a value is NaN or ±Infinity, which JSON cannot carry and the desk refuses"


class NotJson(ValueError):
    """A batch that cannot be written as JSON."""


def _refuse_constant(name: str) -> object:
    raise NotJson(NOT_JSON)


def _loads(data: bytes) -> object:
    """Strict JSON: ``NaN`` and ``Infinity``, which Python's json reads, are refused."""
    return json.loads(data, parse_constant=_refuse_constant)


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
        self.write_errors = 0
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        leftovers = list(directory.glob("*.tmp"))
        for leftover in leftovers:
            leftover.unlink(missing_ok=True)  # a write the last run did not finish
        if leftovers:
            log_event(
                log,
                "agent.spool_leftovers_removed",
                logging.WARNING,
                directory=str(directory),
                files=len(leftovers),
                hint="a write did not finish (a crash or a full disk); nothing else was lost",
            )
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
        """Store a batch behind the others; None when it alone is larger than the spool,
        or is not JSON (then it is set aside in ``rejected/``). OSError when the disk
        refuses the write (nothing is left behind)."""
        wire = [to_wire(o) for o in batch]
        try:
            payload = json.dumps(wire, allow_nan=False).encode()
        except ValueError:
            self._set_aside_unwritable(wire)
            return None
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
        try:
            with open(tmp, "wb") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            tmp.replace(final)
        except OSError:
            self.write_errors += 1
            tmp.unlink(missing_ok=True)  # an empty or partial file helps nobody
            raise
        self._sizes[final] = len(payload)
        self._bytes += len(payload)
        return final

    def pending(self) -> Iterator[tuple[Path, list[WireObservation]]]:
        """Batches oldest first; call ``done(path)`` once the desk took one."""
        for path in list(self._sizes):
            if path not in self._sizes:
                continue  # dropped or handled while the caller held an earlier batch
            try:
                batch = _batch(_loads(path.read_bytes()))
            except (OSError, ValueError) as exc:
                self.set_aside(path, f"unreadable spool file: {exc}", loud=True)
                continue
            yield path, batch

    def done(self, path: Path) -> None:
        self._forget(path).unlink(missing_ok=True)

    def set_aside(self, path: Path, reason: str, loud: bool = False) -> Path:
        """Move a batch the desk will never take to ``rejected/``, with the reason beside
        it; ``loud`` logs it too (the runner logs the desk's refusals itself). A disk
        too full to keep it deletes it instead: it must leave the head of the queue."""
        self._forget(path)
        self.rejected += 1
        target = self._rejected_name(path.stem)
        try:
            path.replace(target)
            target.with_suffix(".reason").write_text(reason + "\n", encoding="utf-8")
            self._trim_rejected()
        except OSError as exc:
            if path.exists() or target.exists():  # else: gone already, nothing to tell
                path.unlink(missing_ok=True)
                reason = f"{reason} (not kept in {REJECTED}/: {exc.strerror or exc})"
                loud = True
        if loud:
            log_event(log, "agent.batch_set_aside", logging.ERROR, reason=reason, kept=str(target))
        return target

    def _set_aside_unwritable(self, wire: list[WireObservation]) -> None:
        """A batch that is not JSON: kept (as Python's json writes it) for whoever looks."""
        self.rejected += 1
        target = self._rejected_name(f"{self._next:012d}")
        reason = f"not sent: {NOT_JSON}"
        with contextlib.suppress(OSError, ValueError):
            target.write_text(json.dumps(wire), encoding="utf-8")
            target.with_suffix(".reason").write_text(reason + "\n", encoding="utf-8")
            self._trim_rejected()
        log_event(log, "agent.batch_set_aside", logging.ERROR, reason=reason, kept=str(target))

    def _rejected_name(self, stem: str) -> Path:
        rejected = self.directory / REJECTED
        with contextlib.suppress(OSError):
            rejected.mkdir(exist_ok=True, mode=0o700)
        return rejected / f"{stem}-{uuid.uuid4().hex[:8]}{_SUFFIX}"

    def _trim_rejected(self) -> None:
        rejected = self.directory / REJECTED
        kept = sorted(rejected.glob(f"*{_SUFFIX}"), key=lambda p: p.stat().st_mtime)
        for old in kept[: max(0, len(kept) - self.max_rejected)]:
            old.unlink(missing_ok=True)
            old.with_suffix(".reason").unlink(missing_ok=True)

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

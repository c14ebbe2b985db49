"""A bounded on-disk queue of observation batches, for while the desk is away.

Each batch is one JSON file named by a zero-padded sequence number, written to a
temporary name and renamed into place, so a crash never leaves half a batch. When the
spool is full the oldest batch is dropped and counted: the newest state of a server is
worth more than a week-old one. Batches are replayed oldest first.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

from weibao.observation import Observation

_SUFFIX = ".json"


class Spool:
    def __init__(self, directory: Path, max_batches: int = 10_000) -> None:
        if max_batches < 1:
            raise ValueError("a spool must hold at least one batch")
        self.directory = directory
        self.max_batches = max_batches
        self.dropped = 0
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)

    def _files(self) -> list[Path]:
        return sorted(p for p in self.directory.iterdir() if p.name.endswith(_SUFFIX))

    def __len__(self) -> int:
        return len(self._files())

    def put(self, batch: list[Observation]) -> None:
        files = self._files()
        next_seq = int(files[-1].stem) + 1 if files else 1
        while len(files) >= self.max_batches:
            files.pop(0).unlink(missing_ok=True)
            self.dropped += 1
        final = self.directory / f"{next_seq:012d}{_SUFFIX}"
        tmp = final.with_suffix(".tmp")
        payload = json.dumps([o.model_dump(mode="json") for o in batch])
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        tmp.replace(final)

    def pending(self) -> Iterator[tuple[Path, list[Observation]]]:
        """Batches oldest first; call ``done(path)`` after the desk took one."""
        for path in self._files():
            data = json.loads(path.read_text(encoding="utf-8"))
            yield path, [Observation.model_validate(item) for item in data]

    def done(self, path: Path) -> None:
        path.unlink(missing_ok=True)

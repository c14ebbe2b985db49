"""The newest observation of each device per source, for the device series Prometheus
scrapes (:mod:`desk.device_metrics`).

Every query goes through the ``(device, time)`` index, one device at a time, so a scrape
costs what the devices asked for have sent lately, never the table's size (a test reads
SQLite's query plans; an equality on ``device`` and a range on ``time`` is the shape both
databases answer from that index):

- :meth:`LatestReads.newest` reads the index entries of each device inside its freshness
  window (a few inspections per source) and then the samples of the newest one per
  source by primary key;
- :meth:`LatestReads.last_seen` asks for one row per device (the newest, at the end of
  its index range), for the devices with nothing fresh.

No table records the newest observation per device and source yet; with one (written at
ingest, like ``raw_outputs``) :meth:`LatestReads.newest` would become one key lookup per
device and the freshness window a plain filter.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, column, select, values

from desk.storage.store import Store
from desk.storage.tables import ObservationRow

_DEVICES_PER_QUERY = 900  # bound parameters stay far below SQLite's and PostgreSQL's limits
_IDS_PER_QUERY = 900


@dataclass(frozen=True)
class LatestObservation:
    """A device's newest observation from one source (its samples as stored)."""

    id: str
    device: str
    source: str
    time: datetime
    ok: bool
    samples: list[dict[str, Any]]


class LatestReads:
    """Reads for the device series; every method takes the devices it is about."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def newest(self, since: Mapping[str, datetime], until: datetime) -> list[LatestObservation]:
        """Each device's newest observation per source whose time is in
        [``since[device]``, ``until``], ordered by device and source. Observations stamped
        after ``until`` (a clock far ahead) are left out, so they cannot shadow the rest."""
        heads: dict[tuple[str, str], tuple[datetime, str, bool]] = {}
        by_since: dict[datetime, list[str]] = defaultdict(list)
        for device, start in since.items():
            by_since[start].append(device)
        o = ObservationRow
        with self._store.read_session() as session:
            for start, devices in by_since.items():
                for chunk in _chunks(sorted(devices), _DEVICES_PER_QUERY):
                    stmt = select(o.id, o.device, o.source, o.time, o.ok).where(
                        o.device.in_(chunk), o.time >= start, o.time <= until
                    )
                    for obs_id, device, source, at, ok in session.execute(stmt):
                        key = (device, source)
                        held = heads.get(key)
                        # Ties on time are broken by id, so every desk picks the same one.
                        if held is None or (at, obs_id) > (held[0], held[1]):
                            heads[key] = (at, obs_id, ok)
            ids = [obs_id for _, obs_id, _ in heads.values()]
            samples: dict[str, list[dict[str, Any]]] = {}
            for batch in _chunks(ids, _IDS_PER_QUERY):
                rows = session.execute(select(o.id, o.samples).where(o.id.in_(batch)))
                samples.update((obs_id, found) for obs_id, found in rows)
        return [
            LatestObservation(obs_id, device, source, at, ok, samples.get(obs_id) or [])
            for (device, source), (at, obs_id, ok) in sorted(heads.items())
        ]

    def last_seen(self, devices: Sequence[str], until: datetime) -> dict[str, datetime]:
        """The time of each device's newest observation at or before ``until``, any
        source; devices never seen are left out. One index probe per device (a
        correlated ``ORDER BY time DESC LIMIT 1``), on SQLite and PostgreSQL alike."""
        o = ObservationRow
        out: dict[str, datetime] = {}
        with self._store.read_session() as session:
            for chunk in _chunks(sorted(devices), _DEVICES_PER_QUERY):
                wanted = (
                    values(column("device", String), name="wanted")
                    .data([(d,) for d in chunk])
                    .cte("wanted")
                )
                newest = (
                    select(o.time)
                    .where(o.device == wanted.c.device, o.time <= until)
                    .order_by(o.time.desc())
                    .limit(1)
                    .scalar_subquery()
                )
                for device, at in session.execute(select(wanted.c.device, newest)):
                    if at is not None:
                        out[device] = at
        return out


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]

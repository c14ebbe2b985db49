"""Writing generated rollup rows straight into the tables: executemany of the plain
DBAPI on SQLite (datetimes bound as the column type binds them), COPY on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import fleet
from sqlalchemy import create_engine

from desk.storage.tables import DailyRollupRow


def writer(url: str) -> Any:
    return _Writer(url)


class _Writer:
    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)
        self.dialect = self.engine.dialect.name
        column = DailyRollupRow.__table__.c.start
        self._bind = column.type.bind_processor(self.engine.dialect)
        self._raw = self.engine.raw_connection()
        self.rows = 0

    def write(self, table: str, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        cols = ", ".join(f'"{c}"' for c in fleet.ROLLUP_COLUMNS)
        if self.dialect == "sqlite":
            bind = self._bind
            data = [(*r[:3], bind(r[3]), *r[4:9], bind(r[9]), *r[10:]) for r in rows]
            marks = ", ".join("?" * len(fleet.ROLLUP_COLUMNS))
            cur = self._raw.cursor()
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", data)
            cur.close()
        else:
            conn = self._raw.driver_connection
            with conn.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for r in rows:
                    copy.write_row(r)
        self.rows += len(rows)

    def commit(self) -> None:
        self._raw.commit()

    def execute(self, statements: Iterable[str]) -> None:
        cur = self._raw.cursor()
        for sql in statements:
            cur.execute(sql)
        cur.close()
        self._raw.commit()

    def close(self) -> None:
        self._raw.commit()
        self._raw.close()
        self.engine.dispose()

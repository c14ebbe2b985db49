"""One measurement in a fresh process, so its peak RSS is the report's alone.

Reads a JSON job on stdin, prints a JSON result: ``report`` makes one report the way
the API does (``ReportMaker.render``: catch up the rollups, build, render); ``floor``
reads what the report reads with plain SQL, the least any report could cost.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> None:
    job: dict[str, Any] = json.load(sys.stdin)
    t0, c0 = time.perf_counter(), time.process_time()
    from sqlalchemy import text

    from desk.notify.message import ReportRequest
    from desk.reports.maker import ReportKit, ReportMaker
    from desk.storage import Store
    from weibao.clock import FrozenClock
    from weibao.inventory.model import Inventory

    inventory = Inventory.model_validate(json.loads(Path(job["inventory"]).read_text()))
    store = Store(job["url"])
    out: dict[str, Any] = {"start_s": time.perf_counter() - t0}
    if job["kind"] == "floor":
        t1 = time.perf_counter()
        with store.read_session() as session:
            for sql in job["sql"]:
                session.execute(text(sql)).all()
        out["seconds"] = time.perf_counter() - t1
    else:
        kit = ReportKit.standard()  # imports WeasyPrint, openpyxl: counted in start_s
        out["start_s"] = time.perf_counter() - t0
        now = datetime.fromisoformat(job["now"])
        maker = ReportMaker(store, inventory, FrozenClock(now), kit)
        request = ReportRequest(
            kind=job["kind"],
            period=job["period"],
            customer=job.get("customer"),
            format=job["format"],
            language=job.get("language", "zh"),
        )
        t1, c1 = time.perf_counter(), time.process_time()
        report = maker.build(request)
        t2 = time.perf_counter()
        rendered = kit.render(report, request.format)
        t3, c3 = time.perf_counter(), time.process_time()
        Path(job["output"]).write_bytes(rendered.content)
        out.update(
            seconds=t3 - t1,
            build_s=t2 - t1,
            render_s=t3 - t2,
            cpu_s=c3 - c1,
            bytes=len(rendered.content),
        )
    store.close()
    out["total_cpu_s"] = time.process_time() - c0
    # VmHWM, not ru_maxrss: Linux carries the parent's peak across fork and exec into
    # ru_maxrss, so it would report the benchmark's generator, not the report.
    out["maxrss_mb"] = _hwm_kb() / 1024
    out["ru_maxrss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    json.dump(out, sys.stdout)


def _hwm_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    main()

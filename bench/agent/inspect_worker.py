"""Child process of ``run.py``: the agent's inspection path alone, as ``python -m agent``
loads it, measured from inside without the benchmark's own imports (psutil, httpx).

    python bench/agent/inspect_worker.py COUNT   ->   one JSON line of figures
"""

from __future__ import annotations

import json
import resource
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def memory() -> tuple[float, float]:
    """RSS and PSS in bytes, from the kernel's own summary of this process."""
    fields = {}
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]:
        key, _, rest = line.partition(":")
        fields[key] = float(rest.split()[0]) * 1024
    return fields["Rss"], fields["Pss"]


def main(count: int) -> None:
    from agent.host import Host
    from agent.service import AgentConfig, make_inspector

    with tempfile.TemporaryDirectory() as state:
        inspector = make_inspector(AgentConfig(state_dir=Path(state)), Host.local())
        inspector.prime()
        json.dumps(inspector.inspect())
        rss_start, pss_start = memory()
        before = resource.getrusage(resource.RUSAGE_SELF)
        for _ in range(count):
            json.dumps(inspector.inspect())  # what the spool writes and the desk gets
        after = resource.getrusage(resource.RUSAGE_SELF)
        rss_after, pss_after = memory()
    spent = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    print(
        json.dumps(
            {
                "rss_start": rss_start,
                "pss_start": pss_start,
                "rss_after": rss_after,
                "pss_after": pss_after,
                "cpu_per_inspection": spent / count,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]))

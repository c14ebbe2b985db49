"""The host agent: inspects its own server, pushes observations to the desk with a disk
spool, and serves ``/metrics``.

One import-time setting, on purpose: httpx imports its own command-line tool whenever
click, rich and pygments are installed (typer brings them in), although the agent never
uses it; that costs about 5 MiB of resident memory and 50 ms at every start, on every
customer server (measured in ``bench/agent``). A ``None`` in ``sys.modules`` makes that
optional import fail as it does where those packages are absent, and httpx falls back
to its stub ``httpx.main``. Nothing else changes, and nothing happens when httpx was
imported before.
"""

import sys

if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

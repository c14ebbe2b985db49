"""The address of ``/metrics``, as ``--listen`` gives it.

Apart from :mod:`agent.metrics` so the command can check its options without loading
prometheus_client, which ``--once --json`` and ``--listen off`` never use.
"""

from __future__ import annotations

import ipaddress

from weibao.errors import WeibaoError

DEFAULT_LISTEN = "127.0.0.1:9108"


def parse_listen(text: str) -> tuple[str, int] | None:
    """``127.0.0.1:9108``, ``[::1]:9108`` or ``9108`` (loopback); ``off`` for no endpoint."""
    text = text.strip()
    if text.lower() in ("off", "none", ""):
        return None
    host, sep, port_text = text.rpartition(":")
    if not sep:
        host, port_text = "127.0.0.1", text
    host = host.strip("[]") or "127.0.0.1"
    if host == "localhost":
        host = "127.0.0.1"  # the one name worth accepting: no resolver at start-up
    try:
        ipaddress.ip_address(host)
        port = int(port_text)
        if not 0 <= port <= 65535:
            raise ValueError
    except ValueError:
        raise WeibaoError(
            f"--listen {text!r} is not an address and port: use e.g. 127.0.0.1:9108, "
            "[::1]:9108 or off"
        ) from None
    return host, port

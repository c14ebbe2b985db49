"""The inventory the lab's desk runs on: the repo's ``inventory.yaml`` with lab-only changes.

``inventory.yaml`` is the example people copy, so the lab's own needs are laid over a copy
(``var/lab/inventory.yaml`` under ``make run``) instead of written into it:

- a ``notifications:`` section with one webhook channel whose URL is an ``env:`` reference
  (the lab's notice sink, :mod:`lab.notify_sink`), unless the inventory has its own;
- with ``net``, every lab address moved into that network (``127.0.0.11`` →
  ``127.0.1.11`` for ``127.0.1.0/24``), as ``weibao lab start --net`` serves them, so a
  second lab can run beside the first.

The copy is made line by line and only appended to, so its line numbers are the
original's: a message about ``var/lab/inventory.yaml:93`` is about line 93 of
``inventory.yaml`` too.
"""

from __future__ import annotations

import ipaddress
import re

SINK_CHANNEL = "lab-sink"
_ADDRESS = re.compile(r"^(\s*address:\s*)(127\.\d+\.\d+\.\d+)(\s*(#.*)?)$")
_NOTIFICATIONS = re.compile(r"^notifications\s*:", re.M)


def move_address(address: str, net: ipaddress.IPv4Network) -> str:
    """The address with its host part kept and its network replaced by ``net``."""
    host = int(ipaddress.IPv4Address(address)) & int(net.hostmask)
    return str(net.network_address + host)


def lab_inventory(
    text: str,
    *,
    net: ipaddress.IPv4Network | None = None,
    webhook_env: str | None = None,
    base_url: str | None = None,
) -> str:
    """The lab's copy of the inventory ``text``."""
    lines = text.splitlines()
    if net is not None:
        for i, line in enumerate(lines):
            match = _ADDRESS.match(line)
            if match is not None:
                moved = move_address(match.group(2), net)
                lines[i] = f"{match.group(1)}{moved}{match.group(3)}"
    out = "\n".join(lines) + "\n"
    if webhook_env is not None and _NOTIFICATIONS.search(text) is None:
        out += (
            "\n# Added by `weibao lab inventory` (make run): the lab's notice sink.\n"
            "notifications:\n"
            + (f"  base_url: {base_url}\n" if base_url else "")
            + "  channels:\n"
            + f"    - name: {SINK_CHANNEL}\n"
            + "      type: webhook\n"
            + f"      url: env:{webhook_env}\n"
        )
    return out

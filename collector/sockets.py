"""UDP receive buffers sized for bursts: the one socket setting every collector socket needs.

At high concurrency (1,000 requests in flight) or in a trap storm, answers arrive faster
than the event loop reads them; the kernel's default buffer (208 KiB, ~200 datagrams)
overflows and drops them, which looks like devices timing out.
"""

from __future__ import annotations

import socket
import sys

# Python does not name Linux's SO_RCVBUFFORCE (asm-generic/socket.h: 33).
_SO_RCVBUFFORCE = getattr(socket, "SO_RCVBUFFORCE", 33 if sys.platform == "linux" else None)


def size_receive_buffer(sock: socket.socket, size: int) -> int:
    """Ask for ``size`` bytes of receive buffer; return what the kernel granted.

    SO_RCVBUF is capped at net.core.rmem_max (208 KiB by default: ~200 answers). Linux's
    SO_RCVBUFFORCE passes the cap when the process has CAP_NET_ADMIN; else it fails and
    the capped request stands.
    """
    if _SO_RCVBUFFORCE is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, _SO_RCVBUFFORCE, size)
            return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        except OSError:
            pass
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, size)
    return sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)

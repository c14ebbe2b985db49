"""The one error a sender raises: the message did not get through, and why.

``reason`` is written for the ops engineer reading the log or the outbox ("HTTP 500
from qyapi.weixin.qq.com", "the SMTP server refused the login of noc"), and never holds
a webhook key, a signing secret or a password: senders build it from parts they know are
safe, and scrub what a server echoes back.
"""

from __future__ import annotations

from weibao.errors import WeibaoError


class DeliveryError(WeibaoError):
    """Delivery failed; ``permanent`` when retrying cannot help (no address to send to)."""

    def __init__(self, reason: str, *, permanent: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


def scrub(text: str, secrets: list[str]) -> str:
    """``text`` with every one of ``secrets`` replaced by ``***``, longest first."""
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text

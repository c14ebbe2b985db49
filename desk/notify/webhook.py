"""Posting a notice to a webhook (generic JSON or a group robot) with httpx.

The request goes straight to an httpx transport rather than through ``httpx.Client``:
the client logs every request line with its full URL, and a robot's URL *is* its key.
Without the client there is also no redirect to follow, so a message never lands
somewhere the configured URL did not name. Proxies come from the usual environment
variables (``HTTPS_PROXY``, ``NO_PROXY``), as an ops engineer expects.

Every failure becomes a :class:`DeliveryError` whose reason names the receiver by its
origin (``https://qyapi.weixin.qq.com``) and has the URL, its key and the signing secret
scrubbed out, even from what a server echoes back.
"""

from __future__ import annotations

import urllib.request
from urllib.parse import parse_qsl, urlsplit

import httpx

from desk.notify.errors import DeliveryError, scrub
from desk.notify.formats import WebhookFormat
from desk.notify.message import Notice
from weibao import __version__
from weibao.clock import Clock, SystemClock


def origin(url: str) -> str:
    """``scheme://host[:port]`` of ``url``: enough to say where, without path or query."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    host = f"[{host}]" if ":" in host else host
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"


def secret_parts(url: str, secret: str | None = None) -> list[str]:
    """Every piece of ``url`` that may be a key: query values, long path segments, userinfo."""
    parts = urlsplit(url)
    pieces = [url, parts.query, parts.password or "", secret or ""]
    pieces += [value for _, value in parse_qsl(parts.query) if len(value) >= 6]
    pieces += [seg for seg in parts.path.split("/") if len(seg) >= 8]
    return [p for p in pieces if p]


def proxy_for(url: str) -> str | None:
    """The proxy the environment names for ``url`` (``HTTPS_PROXY``...), unless NO_PROXY."""
    parts = urlsplit(url)
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname or ""):
        return proxy
    return None


class WebhookSender:
    """Sends notices to one channel's URL in the channel's format."""

    def __init__(
        self,
        channel: str,
        url: str,
        fmt: WebhookFormat,
        *,
        secret: str | None = None,
        timeout: float = 10.0,
        clock: Clock | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.channel = channel
        self._url = url
        self._format = fmt
        self._secret = secret
        self._timeout = timeout
        self._clock = clock or SystemClock()
        self._transport = transport or httpx.HTTPTransport(proxy=proxy_for(url))
        self._where = f"{fmt.platform} at {origin(url)}"
        self._secrets = secret_parts(url, secret)

    def __repr__(self) -> str:  # never the URL
        return f"WebhookSender(channel={self.channel!r}, platform={self._format.platform!r})"

    def send(self, notice: Notice) -> None:
        out = self._format.build(notice, self._url, self._secret, self._clock.now())
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": f"weibao/{__version__}",
            **out.headers,
        }
        timeout = httpx.Timeout(self._timeout).as_dict()
        request = httpx.Request(
            "POST", out.url, content=out.body, headers=headers, extensions={"timeout": timeout}
        )
        try:
            response = self._transport.handle_request(request)
            try:
                answer = response.read()
            finally:
                response.close()
        except httpx.TimeoutException:
            raise self._error(f"no answer from {self._where} within {self._timeout:g}s") from None
        except httpx.ConnectError as exc:
            raise self._error(f"cannot connect to {self._where}: {exc}") from None
        except httpx.TransportError as exc:
            name = type(exc).__name__
            raise self._error(f"{name} talking to {self._where}: {exc}") from None
        if not 200 <= response.status_code < 300:
            said = answer[:200].decode("utf-8", errors="replace").strip()
            reason = f"HTTP {response.status_code} from {self._where}"
            raise self._error(f"{reason}: {said}" if said else reason)
        try:
            self._format.check(answer)
        except DeliveryError as exc:
            raise self._error(exc.reason) from None

    def close(self) -> None:
        self._transport.close()

    def _error(self, reason: str) -> DeliveryError:
        return DeliveryError(scrub(reason, self._secrets))

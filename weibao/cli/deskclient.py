"""Talking to a running desk from the command line: where it is, which token, and what
each answer means for the exit code.

Every command built on this exits alike:

====  ==============================================================================
code  meaning
====  ==============================================================================
1     the desk refused: a step not possible now, no such ticket, input it cannot use
2     bad usage, caught before anything is sent
3     no usable token, or the desk refused the token (401) or its role (403)
4     the desk cannot be reached, or failed (5xx); the message names the URL
====  ==============================================================================

The token is read from a file and sent in one header; no message ever contains it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import IntEnum
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import typer

from weibao import __version__
from weibao.cli.serve import fail

if TYPE_CHECKING:
    import httpx

DEFAULT_DESK = "http://127.0.0.1:8080"
# What `make run` writes: a manager token for trying the desk on this machine.
DEFAULT_TOKEN_FILE = Path("var/manager.token")
TIMEOUT = 10.0


class ExitCode(IntEnum):
    refused = 1
    usage = 2
    auth = 3
    unreachable = 4


class DeskCallError(Exception):
    """A call that did not work: the sentence for the user and the exit code."""

    def __init__(self, message: str, code: ExitCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


DESK_OPTION = typer.Option(
    DEFAULT_DESK, "--desk", envvar="WEIBAO_DESK", metavar="URL", help="The desk's URL."
)
TOKEN_FILE_OPTION = typer.Option(
    None,
    "--token-file",
    envvar="WEIBAO_TOKEN_FILE",
    metavar="FILE",
    help=f"File holding your API token (default: {DEFAULT_TOKEN_FILE}, if it exists).",
)
JSON_OPTION = typer.Option(False, "--json", help="Print the desk's JSON answer instead.")


@contextmanager
def handled() -> Iterator[None]:
    """Turn a DeskCallError into ``weibao: <message>`` on stderr and its exit code."""
    try:
        yield
    except DeskCallError as exc:
        raise fail(exc.message, int(exc.code)) from None


def read_token(token_file: Path | None) -> str:
    """The token from ``token_file``, else from the default file; never echoed."""
    path = token_file
    if path is None:
        if not DEFAULT_TOKEN_FILE.is_file():
            raise DeskCallError(
                "no token: give --token-file FILE or set WEIBAO_TOKEN_FILE (a desk admin makes "
                "one with `weibao token create --role engineer --name NAME > FILE`)",
                ExitCode.auth,
            )
        path = DEFAULT_TOKEN_FILE
    try:
        token = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        raise DeskCallError(
            f"the token file {path} does not exist: check --token-file / WEIBAO_TOKEN_FILE",
            ExitCode.auth,
        ) from None
    except OSError as exc:
        raise DeskCallError(
            f"cannot read the token file {path}: {exc.strerror}", ExitCode.auth
        ) from None
    except UnicodeDecodeError:
        token = ""
    if not token:
        raise DeskCallError(
            f"the token file {path} holds no token: write one line like wb_... into it "
            "(from `weibao token create`)",
            ExitCode.auth,
        )
    # Anything else would fail inside httpx with a message that may quote the header.
    if not token.isascii() or not token.isprintable() or any(c.isspace() for c in token):
        raise DeskCallError(
            f"the token file {path} does not hold one token: it must be a single line "
            "like wb_... (from `weibao token create`)",
            ExitCode.auth,
        )
    return token


def path_for(*parts: str | int) -> str:
    """``/api/v1/<parts>`` with each part quoted, so a key cannot change the route."""
    return "/api/v1/" + "/".join(quote(str(p), safe="") for p in parts)


class DeskClient:
    """A short-lived client for one desk and one token. Use as a context manager."""

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = TIMEOUT,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        import httpx

        self.url = url.strip().rstrip("/")
        if not self.url.startswith(("http://", "https://")):
            raise DeskCallError(
                f"--desk {url!r} is not an http(s) URL: write e.g. {DEFAULT_DESK}", ExitCode.usage
            )
        self._timeout = timeout
        try:
            self._client = httpx.Client(
                base_url=self.url,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Accept": "application/json",
                    "User-Agent": f"weibao/{__version__}",
                },
                timeout=timeout,
                transport=transport,
            )
        except httpx.InvalidURL as exc:
            raise DeskCallError(
                f"--desk {url!r} is not a valid URL: {exc}", ExitCode.usage
            ) from None

    @classmethod
    def connect(cls, desk: str, token_file: Path | None) -> DeskClient:
        """The client for the command line's ``--desk`` and ``--token-file``."""
        return cls(desk, read_token(token_file))

    def __enter__(self) -> DeskClient:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        """GET and the answer's JSON; ``None`` values in ``params`` are left out."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        return self._call("GET", path, params=query)

    def post(self, path: str, body: dict[str, Any] | None = None) -> Any:
        return self._call("POST", path, body=body)

    def download(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        """GET a file (a report): the answer itself on success; errors as for ``get``."""
        query = {k: v for k, v in (params or {}).items() if v is not None}
        answer: httpx.Response = self._call("GET", path, params=query, file=True)
        return answer

    def _call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        file: bool = False,
    ) -> Any:
        import httpx

        try:
            answer = self._client.request(method, path, params=params, json=body)
        except httpx.TimeoutException:
            raise DeskCallError(
                f"the desk at {self.url} did not answer within {self._timeout:g} s: "
                "it may be overloaded, try again",
                ExitCode.unreachable,
            ) from None
        except httpx.UnsupportedProtocol:
            raise DeskCallError(
                f"--desk {self.url!r} is not an http(s) URL: write e.g. {DEFAULT_DESK}",
                ExitCode.usage,
            ) from None
        except httpx.TransportError as exc:
            raise DeskCallError(
                f"cannot reach the desk at {self.url} ({_reason(exc)}): is `weibao serve` "
                "running there? Point --desk or WEIBAO_DESK at it",
                ExitCode.unreachable,
            ) from None
        if file and answer.is_success:
            return answer
        return self._read(answer, path)

    def _read(self, answer: httpx.Response, path: str) -> Any:
        try:
            body = answer.json()
        except ValueError:
            body = None
        if answer.is_success:
            if body is None:
                raise DeskCallError(
                    f"{self.url} answered {path} with something that is not JSON: "
                    "is it a weibao desk?",
                    ExitCode.unreachable,
                )
            return body
        status = answer.status_code
        message = _message(body)
        if status in (401, 403):
            raise DeskCallError(
                message or f"the desk refused the token (HTTP {status})", ExitCode.auth
            )
        if status >= 500:
            raise DeskCallError(
                f"the desk at {self.url} failed (HTTP {status})"
                + (f": {message}" if message else ""),
                ExitCode.unreachable,
            )
        if message is None or (status == 404 and message == "Not Found"):
            # Not our error shape, or a route this desk does not have.
            raise DeskCallError(
                f"the desk at {self.url} has no {path} (HTTP {status}): is it a weibao desk "
                "of this version?",
                ExitCode.refused,
            )
        raise DeskCallError(message, ExitCode.refused)


def _message(body: Any) -> str | None:
    """The desk's error sentence, with validation problems spelled out."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), str):
        return None
    problems = body.get("problems")
    if body.get("error") == "invalid_request" and isinstance(problems, list) and problems:
        listed = "; ".join(
            f"{p.get('where', '?')}: {p.get('message', '?')}"
            for p in problems
            if isinstance(p, dict)
        )
        return f"the desk did not accept the request: {listed}"
    return str(body["message"])


def _reason(exc: Exception) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__

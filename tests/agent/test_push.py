"""The push client: every desk answer becomes a clear error of the right kind."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from weibao.delivery.push import Failure, PushClient, PushError, read_token, tls_verification
from weibao.errors import WeibaoError
from weibao.observation import Observation, Sample

NOW = dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC)


def obs() -> Observation:
    return Observation(
        device="hq-db-01", source="agent", time=NOW, samples=[Sample(name="up", value=1)]
    )


def client_answering(status: int, body: object, seen: list[httpx.Request]) -> PushClient:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return PushClient("http://desk.test/", "wb_token", transport=httpx.MockTransport(handler))


def test_push_sends_the_batch_with_the_bearer_token() -> None:
    seen: list[httpx.Request] = []
    batch = [obs(), obs()]
    with client_answering(200, {"accepted": 2, "duplicates": 0}, seen) as client:
        result = client.push(batch)
    assert (result.accepted, result.duplicates) == (2, 0)
    request = seen[0]
    assert request.url.path == "/api/v1/observations"
    assert request.headers["authorization"] == "Bearer wb_token"
    assert [o["id"] for o in json.loads(request.content)] == [o.id for o in batch]


@pytest.mark.parametrize(
    ("status", "kind", "words"),
    [
        (401, Failure.fatal, "refused the token"),
        (403, Failure.fatal, "role agent"),
        (404, Failure.fatal, "check --desk"),
        (422, Failure.rejected, "invalid"),
        (413, Failure.rejected, "invalid"),
        (409, Failure.rejected, "HTTP 409"),
        (503, Failure.retry, "unavailable"),
        (429, Failure.retry, "unavailable"),
    ],
)
def test_desk_answers_become_clear_errors(status: int, kind: Failure, words: str) -> None:
    with client_answering(status, {"detail": "x"}, []) as client, pytest.raises(PushError) as err:
        client.push([obs()])
    assert err.value.kind is kind
    assert err.value.retryable is (kind is Failure.retry)
    assert words in str(err.value)


def test_a_200_that_is_not_the_desk_is_retried() -> None:
    def portal(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>please log in</html>")

    client = PushClient("http://desk.test", "t", transport=httpx.MockTransport(portal))
    with client, pytest.raises(PushError, match="not a desk's") as err:
        client.push([obs()])
    assert err.value.kind is Failure.retry


def test_unreachable_desk_is_retryable_and_never_shows_the_token() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    client = PushClient("http://desk.test", "wb_secret", transport=httpx.MockTransport(refuse))
    with client, pytest.raises(PushError) as err:
        client.push([obs()])
    assert err.value.retryable
    assert "wb_secret" not in str(err.value)


def test_read_token(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("wb_abc\n")
    assert read_token(token) == "wb_abc"
    token.write_text("  \n")
    with pytest.raises(WeibaoError, match="empty"):
        read_token(token)
    with pytest.raises(WeibaoError, match="cannot read"):
        read_token(tmp_path / "missing")


# A desk behind TLS with a certificate from a private CA, as at most customers.


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_private_ca(directory: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for 127.0.0.1: (ca.pem, server.pem, server.key)."""
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=1)
    end = start + dt.timedelta(days=30)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("weibao test CA"))
        .issuer_name(_name("weibao test CA"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("desk"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = directory / "ca.pem", directory / "server.pem", directory / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return paths


class _DeskHandler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        answer = json.dumps({"accepted": len(body), "duplicates": 0}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def tls_desk(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    ca, cert, key = make_private_ca(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _DeskHandler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{server.server_address[1]}", ca
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def test_a_private_ca_is_trusted_only_when_given(tls_desk: tuple[str, Path]) -> None:
    url, ca = tls_desk
    with PushClient(url, "t", verify=tls_verification(ca)) as client:
        assert client.push([obs()]).accepted == 1
    client = PushClient(url, "t", verify=tls_verification(None))
    with client, pytest.raises(PushError, match="--ca-file") as err:
        client.push([obs()])
    assert err.value.kind is Failure.retry


def test_an_unusable_ca_file_is_refused_at_start(tmp_path: Path) -> None:
    with pytest.raises(WeibaoError, match="cannot use the CA file"):
        tls_verification(tmp_path / "missing.pem")
    (tmp_path / "junk.pem").write_text("not a certificate")
    with pytest.raises(WeibaoError, match="cannot use the CA file"):
        tls_verification(tmp_path / "junk.pem")


def test_a_batch_over_the_desks_limits_goes_as_several_requests() -> None:
    from weibao.delivery import push as push_module

    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"accepted": len(json.loads(request.content))})

    client = PushClient("http://desk.test", "wb_token", transport=httpx.MockTransport(handler))
    batch = [obs() for _ in range(push_module.MAX_PER_REQUEST * 2 + 7)]
    result = client.push(batch)
    assert result.accepted == len(batch)
    sizes = [len(json.loads(r.content)) for r in seen]
    assert sizes == [push_module.MAX_PER_REQUEST, push_module.MAX_PER_REQUEST, 7]
    sent = [o["id"] for r in seen for o in json.loads(r.content)]
    assert sent == [str(o.id) for o in batch]  # in order, each once


def test_big_observations_are_split_by_bytes(monkeypatch: pytest.MonkeyPatch) -> None:
    from weibao.delivery import push as push_module

    monkeypatch.setattr(push_module, "MAX_REQUEST_BYTES", 2_000)
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"accepted": len(json.loads(request.content))})

    client = PushClient("http://desk.test", "wb_token", transport=httpx.MockTransport(handler))
    up = [Sample(name="up", value=1)]
    big = [
        Observation(device="hq-db-01", source="agent", time=NOW, samples=up, meta={"n": "x" * 900})
        for _ in range(5)
    ]
    assert client.push(big).accepted == 5
    assert all(len(r.content) <= 2_000 for r in seen) and len(seen) >= 3
    # One observation larger than the budget still goes, alone: the desk judges it.
    huge = Observation(device="hq-db-01", source="agent", time=NOW, samples=up, meta={"n": "y"})
    huge.meta["n"] = "y" * 5_000
    seen.clear()
    assert client.push([huge]).accepted == 1 and len(seen) == 1

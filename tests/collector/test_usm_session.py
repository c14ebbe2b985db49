"""USM state and reports without a network: RFC 3414 timeliness, errors naming settings."""

from __future__ import annotations

import pytest

from collector.snmp.credentials import Credentials
from collector.snmp.udp import UdpDispatcher
from collector.snmp.usm import TIME_WINDOW, PeerEngine, UsmReport, UsmSession, UsmState
from collector.snmp.usm_message import (
    DECRYPTION_ERRORS,
    NOT_IN_TIME_WINDOWS,
    UNKNOWN_USER_NAMES,
    UNSUPPORTED_SEC_LEVELS,
    WRONG_DIGESTS,
)
from weibao.errors import AuthError, ProtocolError

V3 = Credentials(
    "3", user="weibao", auth_protocol="sha256", auth_key="k" * 12, priv_protocol="aes128",
    priv_key="p" * 12,
)  # fmt: skip


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_timeliness_follows_rfc3414_3_2_7() -> None:
    clock = Clock()
    state = UsmState(clock)
    peer = PeerEngine(b"e" * 11, boots=3, time=500, at=clock.now, latest=500)
    clock.now += 100
    assert peer.now(clock.now) == 600
    assert state.timely(peer, 3, 590)  # a little behind our estimate: fine
    assert (peer.time, peer.latest) == (590, 590)  # and it moves our clock forward
    assert not state.timely(peer, 3, 590 - TIME_WINDOW - 5)  # too old: discarded
    assert not state.timely(peer, 2, 10_000)  # boots went back: discarded
    assert state.timely(peer, 4, 7) and (peer.boots, peer.time) == (4, 7)  # a reboot
    assert not state.timely(peer, 2**31 - 1, 0)  # a latched engine


def test_an_authentic_time_window_report_resets_the_clock_even_backwards() -> None:
    clock = Clock()
    state = UsmState(clock)
    peer = PeerEngine(b"e" * 11, boots=9, time=500, at=clock.now, latest=500)
    state.synchronize(peer, 1, 3)
    assert (peer.boots, peer.time, peer.latest, peer.at) == (1, 3, 3, clock.now)


def session() -> UsmSession:
    return UsmSession(UdpDispatcher(), UsmState(), V3, "192.0.2.1", 161, "192.0.2.1:161", 1, 2)


@pytest.mark.parametrize(
    ("oid", "kind", "words"),
    [
        (UNKNOWN_USER_NAMES, AuthError, "does not know SNMPv3 user 'weibao': check `user`"),
        (WRONG_DIGESTS, AuthError, "wrong auth_key or auth_protocol"),
        (DECRYPTION_ERRORS, AuthError, "wrong priv_key or priv_protocol"),
        (UNSUPPORTED_SEC_LEVELS, AuthError, "security level"),
        (NOT_IN_TIME_WINDOWS, ProtocolError, "time synchronization"),
        ((1, 3, 6, 1, 6, 3, 12, 1, 5, 0), AuthError, "check `context`"),
        ((1, 3, 6, 1, 6, 3, 11, 2, 1, 3, 0), ProtocolError, "1.3.6.1.6.3.11.2.1.3.0"),
    ],
)
def test_reports_become_errors_naming_the_setting_never_a_key(
    oid: tuple[int, ...], kind: type, words: str
) -> None:
    report = UsmReport("192.0.2.1:161", oid, b"e" * 11, 1, 1, False)
    error = session()._report_error(report)
    assert type(error) is kind and words in str(error)
    assert "k" * 12 not in str(error) and "p" * 12 not in str(error)


def test_timeout_names_the_priv_settings() -> None:
    assert "priv_key or priv_protocol" in str(session()._timeout())


def test_a_session_needs_a_user() -> None:
    with pytest.raises(AuthError, match="needs `user`"):
        UsmSession(UdpDispatcher(), UsmState(), Credentials("3"), "192.0.2.1", 161, "t", 1, 1)

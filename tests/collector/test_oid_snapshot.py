from __future__ import annotations

from pathlib import Path

import pytest

from collector.snmp.oid import format_oid, is_under, parse_oid
from collector.snmp.snapshot import Kind, Snapshot, Var
from collector.snmp.snmprec import RecordingError, load_snmprec, parse_line


def test_oids_are_numeric_tuples() -> None:
    assert parse_oid(".1.3.6.1.2.1.1.3.0") == (1, 3, 6, 1, 2, 1, 1, 3, 0)
    assert format_oid((1, 3, 6)) == "1.3.6"
    assert is_under((1, 3, 6, 1), (1, 3, 6))
    assert not is_under((1, 3, 6), (1, 3, 6))


@pytest.mark.parametrize("text", ["ifDescr", "1", "1.3.x", "3.1.2", ""])
def test_names_and_bad_oids_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="OID"):
        parse_oid(text)


def test_text_tries_utf8_then_gbk() -> None:
    assert Var(Kind.octets, "核心交换机".encode()).text() == "核心交换机"
    assert Var(Kind.octets, "核心交换机".encode("gbk")).text() == "核心交换机"
    assert Var(Kind.octets, b"eth0\x00 ").text() == "eth0"
    assert Var(Kind.oid, (1, 3, 6)).text() == "1.3.6"
    assert Var(Kind.octets, b"12").number() is None  # text is never guessed into a number


def test_snapshot_views() -> None:
    snap = Snapshot(
        [
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 10), Var(Kind.octets, b"b")),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 2), Var(Kind.octets, b"a")),
            ((1, 3, 6, 1, 2, 1, 2, 2, 1, 3, 2), Var(Kind.integer, 6)),
            ((1, 3, 6, 1, 2, 1, 1, 5, 0), Var(Kind.missing, None)),
        ]
    )
    assert len(snap) == 3  # absent values are not kept
    column = snap.column((1, 3, 6, 1, 2, 1, 2, 2, 1, 2))
    assert list(column) == [(2,), (10,)]  # OID order, not text order
    assert snap.first_text((1, 3, 6, 1, 2, 1, 2, 2, 1, 2)) == "a"


def test_snmprec_lines() -> None:
    assert parse_line("1.3.6.1.2.1.1.2.0|6|.1.3.6.1.4.1.2011.2.235") == (
        (1, 3, 6, 1, 2, 1, 1, 2, 0),
        Var(Kind.oid, (1, 3, 6, 1, 4, 1, 2011, 2, 235)),
    )
    assert parse_line("1.3.6.1.2.1.1.1.0|4x|48500a")[1] == Var(Kind.octets, b"HP\n")
    assert parse_line("1.3.6.1.4.1.1.0|4x|123")[1] == Var(Kind.octets, b"\x12\x30")  # odd
    assert parse_line("1.3.6.1.4.1.1.0|64|10.0.0.1")[1] == Var(Kind.ip, b"\n\x00\x00\x01")
    assert parse_line("1.3.6.1.4.1.1.0|70|18446744073709551615")[1].number() == 2**64 - 1
    assert parse_line("1.3.6.1.4.1.1.0|4|a|b")[1] == Var(Kind.octets, b"a|b")


def test_snmprec_errors_name_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.snmprec"
    path.write_text("1.3.6.1.2.1.1.3.0|67|5\n1.3.6.1.2.1.1.5.0|99|x\n")
    with pytest.raises(RecordingError, match=r"bad.snmprec:2: unknown type code '99'"):
        load_snmprec(path)

from datetime import timedelta

import pytest

from weibao.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("20m", timedelta(minutes=20)),
        ("4h", timedelta(hours=4)),
        ("3d", timedelta(days=3)),
        ("1h30m", timedelta(minutes=90)),
        ("1w", timedelta(days=7)),
        ("250ms", timedelta(milliseconds=250)),
        (45, timedelta(seconds=45)),
        ("1.5h", timedelta(minutes=90)),
    ],
)
def test_parse(text: str | int, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("bad", ["", "4x", "h4", "4h junk", "-5m", True, -3])
def test_parse_rejects_with_an_example(bad: object) -> None:
    with pytest.raises(ValueError, match=r"duration|negative"):
        parse_duration(bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("text", ["30s", "20m", "4h", "3d", "1h30m", "2d4h5m6s"])
def test_format_round_trips(text: str) -> None:
    assert format_duration(parse_duration(text)) == text

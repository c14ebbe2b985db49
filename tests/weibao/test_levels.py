from datetime import timedelta

import pytest

from weibao.levels import DEFAULT_SLA, Level


def test_defaults_follow_the_spec_table() -> None:
    hour = timedelta(hours=1)
    assert DEFAULT_SLA[Level.I].resolve == 4 * hour
    assert DEFAULT_SLA[Level.II].resolve == 24 * hour
    assert DEFAULT_SLA[Level.III].resolve == 24 * hour
    assert DEFAULT_SLA[Level.IV].resolve == 72 * hour
    for level in Level:
        assert DEFAULT_SLA[level].response == timedelta(minutes=20)
    for level in (Level.I, Level.II, Level.III):
        assert DEFAULT_SLA[level].onsite(hq=True) == timedelta(minutes=30)
        assert DEFAULT_SLA[level].onsite(hq=False) == 2 * hour
    assert DEFAULT_SLA[Level.IV].onsite(hq=True) == 4 * hour  # plan within 4 h


def test_order_and_worse_than() -> None:
    assert [lv.rank for lv in Level] == [1, 2, 3, 4]
    assert Level.I.is_worse_than(Level.II)
    assert not Level.III.is_worse_than(Level.III)
    assert not Level.IV.is_worse_than(Level.I)


@pytest.mark.parametrize(
    ("text", "level"), [("I", Level.I), ("ii", Level.II), (3, Level.III), ("4", Level.IV)]
)
def test_parse_accepts_numerals_and_numbers(text: str | int, level: Level) -> None:
    assert Level.parse(text) is level


def test_parse_rejects_unknown_with_the_choices() -> None:
    with pytest.raises(ValueError, match="use one of I, II, III, IV"):
        Level.parse("V")


def test_every_level_has_labels_and_colour() -> None:
    for level in Level:
        assert level.label_zh and level.label_en
        assert level.colour.startswith("#") and len(level.colour) == 7

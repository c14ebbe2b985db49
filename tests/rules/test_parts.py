"""Units, templates, the test-file notation and topology, on their own."""

from __future__ import annotations

import pytest

from rules.templates import parse_template
from rules.testfile import expand_values, parse_sample_spec
from rules.topology import Topology
from rules.units import parse_quantity, parse_rate, parse_seconds


@pytest.mark.parametrize(
    ("raw", "unit", "expected"),
    [
        ("90%", "ratio", 0.9),
        (0.9, "ratio", 0.9),
        ("10m", "seconds", 600.0),
        ("-2s", "seconds", -2.0),
        ("500ms", "seconds", 0.5),
        ("10m", "minutes", 10.0),
        ("75C", "celsius", 75.0),
        ("2GiB", "bytes", 2 * 2**30),
        ("1Gbps", "bits/s", 1e9),
        ("600/m", "1/s", 10.0),
        (True, "bool", 1.0),
        (5, None, 5.0),
    ],
)
def test_quantities_in_the_samples_unit(raw: object, unit: str | None, expected: float) -> None:
    assert parse_quantity(raw, unit) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("raw", "unit"),
    [("90", "ratio"), ("90%", "seconds"), (True, "ratio"), (2, "bool"), ("5MB", None)],
)
def test_quantities_that_do_not_fit(raw: object, unit: str | None) -> None:
    with pytest.raises(ValueError):
        parse_quantity(raw, unit)


def test_rates_and_durations() -> None:
    assert parse_rate("36%/h", "ratio") == pytest.approx(0.0001)
    assert parse_seconds("90d") == 90 * 86400
    assert parse_seconds("-1h") == -3600


def test_templates_render_fields_and_filters() -> None:
    template = parse_template("{device}: {labels.mountpoint} at {value|pct} {{literal}}")
    values = {"device": "srv1", "labels.mountpoint": "/var", "value": "0.934"}
    assert template.render(values) == "srv1: /var at 93.4% {literal}"
    assert parse_template("{value|duration}").render({"value": "5400"}) == "1h30m"
    assert parse_template("{value|date}").render({"value": "0"}) == "1970-01-01"
    from_now = parse_template("{until|from_now}")
    assert from_now.render({"until": str(38 * 86400 + 5)}) == "in 38 days"
    assert from_now.render({"until": "3600"}) == "today"
    assert from_now.render({"until": str(-54 * 86400 - 60)}) == "54 days ago"
    assert from_now.render({"until": "-86400"}) == "1 day ago"


@pytest.mark.parametrize("text", ["{hostname}", "{value|percent}", "{device", "{a b}"])
def test_bad_templates(text: str) -> None:
    with pytest.raises(ValueError):
        parse_template(text)


def test_promtool_value_notation() -> None:
    assert expand_values("1 _ 0x3 1+1x2 _x2 5-1x1") == [
        1,
        None,
        0,
        0,
        0,
        0,
        1,
        2,
        3,
        None,
        None,
        5,
        4,
    ]
    with pytest.raises(ValueError, match="'x3' is not a value"):
        expand_values("x3")


def test_sample_specs() -> None:
    assert parse_sample_spec('fs{mountpoint="/var", x="a\\"b"}') == (
        "fs",
        {"mountpoint": "/var", "x": 'a"b'},
    )
    assert parse_sample_spec("up") == ("up", {})
    with pytest.raises(ValueError):
        parse_sample_spec("fs{mountpoint=/var}")


def test_topology_groups_and_roots() -> None:
    depends = {"dist1": ("core",), "dist2": ("core",), "acc": ("dist1", "dist2"), "srv": ("acc",)}
    one_down = Topology(depends, {"dist1", "acc"})
    assert not one_down.is_cut_off("acc")  # dist2 still up
    both = Topology(depends, {"dist1", "dist2", "acc", "srv"})
    assert both.is_cut_off("acc") and both.roots("srv") == ("dist1", "dist2")
    core = Topology(depends, {"core", "dist1"})
    assert core.is_cut_off("srv") and core.roots("srv") == ("core",)
    assert not core.is_cut_off("core") and core.roots("core") == ()
    cyclic = Topology({"a": ("b",), "b": ("a",)}, {"a", "b"})
    # A cycle (refused by the inventory check) must not hide both: each carries its own.
    assert cyclic.roots("a") == () and cyclic.roots("b") == ()

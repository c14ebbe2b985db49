"""Profiles: built-ins load, matching picks the right one, mistakes are located."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from collector.driver import Depth
from collector.snmp.oid import parse_oid
from collector.snmp.profile_files import check_profiles, load_profiles
from collector.snmp.profiles import ProfileSet
from collector.snmp.readers import MetricSpec, ReadContext, TableMetricReader
from collector.snmp.snapshot import Kind, Snapshot, Var
from weibao.errors import ConfigError
from weibao.observation import Sample
from weibao.vocabulary import BY_NAME

# Sample names the SNMP readers add to the vocabulary (proposed to docs/observations.md).
PROPOSED = {
    "interface_bits_rate",
    "interface_utilization_ratio",
    "ups_on_bypass",
    "ups_battery_low",
    "ups_load_ratio",
    "ups_alarms",
    "snmp_weak_security",
}


@pytest.fixture(scope="module")
def builtin() -> ProfileSet:
    return load_profiles()


def test_builtin_profiles_load_without_problems() -> None:
    profiles, problems = check_profiles()
    assert problems == []
    assert profiles is not None
    assert {"generic", "huawei-vrp", "h3c-comware", "cisco-ios", "ups-rfc1628"} <= set(
        profiles.profiles
    )


def test_builtin_metrics_use_known_sample_names(builtin: ProfileSet) -> None:
    names = {m.name for p in builtin.profiles.values() for m in p.metrics}
    assert names - set(BY_NAME) - PROPOSED == set()


@pytest.mark.parametrize(
    ("sys_object_id", "descr", "kind", "expected"),
    [
        ("1.3.6.1.4.1.2011.2.23.95", "S5328C-EI", "switch", "huawei-vrp"),
        ("1.3.6.1.4.1.2011.2.224.62", "Huawei AR169F", None, "huawei-vrp-router"),
        ("1.3.6.1.4.1.25506.11.1.24", "HP A5500", "switch", "h3c-comware"),
        ("1.3.6.1.4.1.9.1.634", "Cisco IOS Software, C3560 Software", None, "cisco-catalyst"),
        ("1.3.6.1.4.1.9.1.1", "Cisco IOS Software, 2800 Software", None, "cisco-ios"),
        ("1.3.6.1.2.1.33", "The Cs141 SNMP Agent", "ups", "ups-rfc1628"),
        ("1.3.6.1.4.1.534.1", "Eaton 9PX", "ups", "eaton-ups"),
        ("1.3.6.1.4.1.99999.1", "some UPS card", "ups", "ups-rfc1628"),  # kind fallback
        ("1.3.6.1.4.1.99999.1", "a server", "server", "generic-server"),
        ("1.3.6.1.4.1.99999.1", "a firewall", "firewall", "generic"),
        ("1.3.6.1.4.1.8072.3.2.10", "Linux db1 5.10", "switch", "net-snmp"),  # oid wins
    ],
)
def test_matching(
    builtin: ProfileSet, sys_object_id: str, descr: str, kind: str | None, expected: str
) -> None:
    assert builtin.match(parse_oid(sys_object_id), descr, kind).profile.name == expected


def test_extends_inherits_readers_and_adds_metrics(builtin: ProfileSet) -> None:
    router, switch = builtin["huawei-vrp-router"], builtin["huawei-vrp"]
    assert router.kind is not None and router.kind.value == "router"
    assert router.metrics == switch.metrics
    assert router.readers == switch.readers
    eaton, ups = builtin["eaton-ups"], builtin["ups-rfc1628"]
    assert eaton.readers.ups is not None
    assert [m.name for m in eaton.metrics][: len(ups.metrics)] == [m.name for m in ups.metrics]


def write(tmp_path: Path, name: str, text: str) -> Path:
    (tmp_path / f"{name}.yaml").write_text(text)
    return tmp_path


def problems_of(tmp_path: Path) -> list[str]:
    profiles, problems = check_profiles([tmp_path], builtin=False)
    assert profiles is None
    return [p.format() for p in problems]


def test_a_user_profile_needs_no_code(tmp_path: Path) -> None:
    write(
        tmp_path,
        "acme",
        """
name: acme-ups
extends: ups-rfc1628
match: {sys_object_id: [1.3.6.1.4.1.99999]}
vendor: Acme
metrics:
  - name: temperature_celsius
    column: 1.3.6.1.4.1.99999.1.2
    labels: {sensor: "probe {index}"}
""",
    )
    profiles = load_profiles([tmp_path])
    detection = profiles.match(parse_oid("1.3.6.1.4.1.99999.5"), "", None)
    assert detection.profile.name == "acme-ups"
    assert detection.profile.readers.ups is not None  # inherited


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("name: x\nmatchh: {}\n", "x.yaml:2: matchh: unknown key 'matchh'"),
        ("name: x\nmatch:\n  sys_object_id: [ifTable]\n", "x.yaml:3: match.sys_object_id[0]:"),
        ("name: x\nmetrics:\n  - name: fan_ok\n", "x.yaml:3: metrics[fan_ok]: a metric reads"),
        (
            "name: x\nmetrics:\n  - name: a\n    column: 1.3.6.1.4.1.1\n    labels: {s: '{nme}'}\n",
            "unknown placeholder {nme}",
        ),
        ("name: x\nmatch: {sys_descr: '(unclosed'}\n", "x.yaml:2: match.sys_descr:"),
        ("name: x\nextends: nothing\n", "x.yaml:2: extends: extends 'nothing', which is not"),
        (
            "name: x\nvendor: [{text: a, oid: 1.3.6.1.4.1.1.0}]\n",
            "x.yaml:2: vendor[0]: an identity",
        ),
        ("name: x\nreaders: [interfaces, snmp_magic]\n", "unknown key 'snmp_magic'"),
        ("name: x\n  bad: indent\n", "x.yaml:2: YAML syntax error"),
    ],
)
def test_mistakes_are_located(tmp_path: Path, text: str, expected: str) -> None:
    write(tmp_path, "x", text)
    assert any(expected in p for p in problems_of(tmp_path)), problems_of(tmp_path)


def test_extends_cycles_and_ambiguous_prefixes_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "a", "name: a\nextends: b\n")
    write(tmp_path, "b", "name: b\nextends: a\n")
    write(tmp_path, "c", "name: c\nmatch: {sys_object_id: [1.3.6.1.4.1.9]}\n")
    write(tmp_path, "d", "name: d\nmatch: {sys_object_id: [1.3.6.1.4.1.9]}\n")
    found = "\n".join(problems_of(tmp_path))
    assert "profiles extend each other" in found
    assert "d.yaml:2: match.sys_object_id[0]: 1.3.6.1.4.1.9 is also matched by profile 'c'" in found


def test_load_raises_config_error_with_every_problem(tmp_path: Path) -> None:
    write(tmp_path, "a", "name: a\nmatchh: 1\n")
    write(tmp_path, "b", "name: B!\n")
    with pytest.raises(ConfigError) as info:
        load_profiles([tmp_path], builtin=False)
    assert len(info.value.problems) == 2


def test_a_user_directory_overrides_a_builtin_profile(tmp_path: Path) -> None:
    write(tmp_path, "generic", "name: generic\nmatch: {fallback_for: ['*']}\nreaders: []\n")
    profiles = load_profiles([tmp_path])
    assert profiles["generic"].readers.interfaces is None


def test_a_child_can_turn_a_parents_reader_off(tmp_path: Path) -> None:
    write(tmp_path, "quiet", "name: quiet\nextends: huawei-vrp\nreaders: {interfaces: false}\n")
    profile = load_profiles([tmp_path])["quiet"]
    assert profile.readers.interfaces is None and profile.readers.entity is not None


# Metric shapes the vendor profiles (FortiGate, iDRAC, OceanStor) needed, on tiny tables.

BASE = (1, 3, 6, 1, 4, 1, 99999, 1)


def read_metric(
    spec: Mapping[str, object], rows: Sequence[tuple[tuple[int, ...], Var]]
) -> list[Sample]:
    metric = MetricSpec.model_validate({"name": "x", **spec})
    snap = Snapshot([((*BASE, *suffix), var) for suffix, var in rows])
    return TableMetricReader(metric).read(ReadContext(snap, Depth.full)).samples


def octets(text: str) -> Var:
    return Var(Kind.octets, text.encode())


def integer(value: int) -> Var:
    return Var(Kind.integer, value)


def test_numbers_written_as_text_are_read_only_when_asked() -> None:
    rows = [((3, 1), octets("51.569")), ((3, 2), octets("N/A")), ((3, 3), integer(40))]
    spec = {"column": "1.3.6.1.4.1.99999.1.3", "labels": {"sensor": "{index}"}}
    assert [(s.labels, s.value) for s in read_metric({**spec, "from_text": True}, rows)] == [
        ({"sensor": "1"}, 51.569),
        ({"sensor": "3"}, 40),
    ]
    assert [s.value for s in read_metric(spec, rows)] == [40]  # text is never guessed at


def test_a_ratio_from_free_and_total() -> None:
    rows = [
        ((7, 1), integer(200)),
        ((9, 1), integer(50)),
        ((7, 2), integer(0)),
        ((9, 2), integer(0)),
    ]
    spec = {"total": "1.3.6.1.4.1.99999.1.7", "free": "1.3.6.1.4.1.99999.1.9"}
    samples = read_metric({**spec, "labels": {"pool": "{index}"}}, rows)
    assert [(s.labels, s.value) for s in samples] == [({"pool": "1"}, 0.75)]  # total 0: none


def test_above_compares_a_reading_with_its_threshold_column() -> None:
    rows = [
        ((6, 1), integer(4080)),
        ((13, 1), integer(480)),
        ((6, 2), integer(0)),
        ((13, 2), integer(480)),
        ((6, 3), integer(3000)),  # no threshold: no verdict
    ]
    spec = {"column": "1.3.6.1.4.1.99999.1.6", "above": "1.3.6.1.4.1.99999.1.13"}
    samples = read_metric({**spec, "labels": {"fan": "{index}"}}, rows)
    assert [(s.labels["fan"], s.value) for s in samples] == [("1", 1.0), ("2", 0.0)]


def test_states_name_the_value_in_a_label() -> None:
    rows = [((4, 1), integer(2)), ((4, 2), integer(3)), ((4, 3), integer(1))]
    spec = {
        "column": "1.3.6.1.4.1.99999.1.4",
        "states": {2: "online", 3: "failed"},
        "labels": {"array": "vd{index}", "state": "{state}"},
    }
    samples = read_metric(spec, rows)
    assert [(s.labels, s.value) for s in samples] == [
        ({"array": "vd1", "state": "online"}, 1.0),
        ({"array": "vd2", "state": "failed"}, 1.0),  # unknown(1) is not named: no sample
    ]


def test_below_and_thresholds_use_the_devices_own_limits() -> None:
    rows = [
        ((12, 1), integer(-2150)),  # rx power, 0.01 dBm
        ((14, 1), integer(-2000)),  # its low-alarm limit
        ((12, 2), integer(-1045)),
        ((14, 2), integer(-2000)),
        ((12, 3), integer(-900)),
        ((14, 3), integer(2147483647)),  # "not supported": no verdict
    ]
    spec = {
        "column": "1.3.6.1.4.1.99999.1.12",
        "below": "1.3.6.1.4.1.99999.1.14",
        "ignore": [2147483647],
        "labels": {"port": "{index}"},
    }
    got = [(s.labels["port"], s.value) for s in read_metric(spec, rows)]
    assert got == [("1", 1.0), ("2", 0.0)]
    temps = [
        ((5, 1), integer(57)),
        ((6, 1), integer(100)),
        ((7, 1), integer(105)),
        ((5, 2), integer(101)),
        ((6, 2), integer(100)),
        ((7, 2), integer(105)),
        ((5, 3), integer(105)),
        ((6, 3), integer(100)),
        ((7, 3), integer(105)),
        ((5, 4), integer(40)),  # no limits at all: no sample
    ]
    spec = {
        "column": "1.3.6.1.4.1.99999.1.5",
        "thresholds": ["1.3.6.1.4.1.99999.1.6", "1.3.6.1.4.1.99999.1.7"],
        "labels": {"sensor": "{index}"},
    }
    got = [(s.labels["sensor"], s.value) for s in read_metric(spec, temps)]
    assert got == [("1", 0.0), ("2", 1.0), ("3", 2.0)]


def test_only_keeps_rows_whose_other_column_says_present_and_ifname_names_them() -> None:
    rows = [
        ((1, 1), integer(2)),  # a module present
        ((8, 1), integer(-849)),
        ((1, 2), integer(1)),  # notSupported: every column reads 0
        ((8, 2), integer(0)),
    ]
    spec = {
        "column": "1.3.6.1.4.1.99999.1.8",
        "scale": 0.01,
        "only": {"column": "1.3.6.1.4.1.99999.1.1", "in": [2, 3, 4]},
        "labels": {"interface": "{ifname}"},
    }
    metric = MetricSpec.model_validate({"name": "x", **spec})
    names = [
        ((1, 3, 6, 1, 2, 1, 2, 2, 1, 2, 1), octets("GigabitEthernet0/0/4")),
        ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1, 1), octets("Gi0/0/4")),
    ]
    snap = Snapshot([((*BASE, *suffix), var) for suffix, var in rows] + names)
    samples = TableMetricReader(metric).read(ReadContext(snap, Depth.full)).samples
    assert [(s.labels, s.value) for s in samples] == [({"interface": "Gi0/0/4"}, -8.49)]
    assert (1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 1) in TableMetricReader(metric).walks(Depth.full)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [
        ("column: 1.3.6.1.4.1.1\n    map: {1: 1}\n    states: {1: ok}", "use one of them"),
        (
            "column: 1.3.6.1.4.1.1\n    above: 1.3.6.1.4.1.2\n    below: 1.3.6.1.4.1.3",
            "use one of them",
        ),
        ("column: 1.3.6.1.4.1.1\n    labels: {s: '{ifnam}'}", "unknown placeholder {ifnam}"),
        ("used: 1.3.6.1.4.1.1\n    above: 1.3.6.1.4.1.2", "a metric reads either `column`"),
        ("free: 1.3.6.1.4.1.1", "two of `used`, `free` and `total`"),
        ("column: 1.3.6.1.4.1.1\n    labels: {s: '{state}'}", "{state} in a label needs `states:`"),
        ("column: 1.3.6.1.4.1.1\n    from_text: maybe", "valid boolean"),
    ],
)
def test_new_metric_keys_are_checked_where_they_are_written(
    tmp_path: Path, metric: str, expected: str
) -> None:
    write(tmp_path, "x", f"name: x\nmetrics:\n  - name: x\n    {metric}\n")
    found = problems_of(tmp_path)
    line = 5 if "valid boolean" in expected else 3  # a key's own line, else the metric's
    where = f"x.yaml:{line}: metrics[x]"
    assert any(where in p and expected in p for p in found), found

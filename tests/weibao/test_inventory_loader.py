"""Loading inventory.yaml: every problem at once, each at its file and line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from weibao.errors import ConfigError, Problem
from weibao.inventory.checks import iter_secrets
from weibao.inventory.graph import find_cycles
from weibao.inventory.loader import check_inventory, load_inventory, parse_yaml
from weibao.levels import Level

FIXTURES = Path(__file__).parents[1] / "fixtures" / "inventory"
REPO_INVENTORY = Path(__file__).parents[2] / "inventory.yaml"

HEAD = """\
customers:
  - name: Acme
    contracts:
      - id: C-1
        name: Acme 2026
        start: 2026-01-01
        end: 2026-12-31
        service_manager: {name: Wang Lei}
        sites:
          - name: HQ
            devices:
"""
# Lines of a device written after HEAD start at line 12.
DEVICE = "              - {name: sw1, kind: switch}\n"


def _write(tmp_path: Path, text: str, name: str = "inv.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _devices(tmp_path: Path, devices: str) -> Path:
    """HEAD followed by ``devices`` (written at the devices' indentation)."""
    body = textwrap.indent(textwrap.dedent(devices), " " * 14)
    return _write(tmp_path, HEAD + body)


def _errors(problems: list[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]


def _where(problems: list[Problem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.path) for p in problems]


# -- the good cases ----------------------------------------------------------------------


def test_valid_fixture_loads_with_warnings_for_unreadable_secrets() -> None:
    inv, problems = check_inventory(FIXTURES / "valid.yaml", environ={})
    assert inv is not None
    assert len(inv.contexts()) == 4
    assert not _errors(problems)
    warnings = [(p.line, p.message) for p in problems]
    assert warnings[0] == (
        32,
        "secret env:TEST_WEIBAO_AUTH cannot be read: "
        "environment variable TEST_WEIBAO_AUTH is not set",
    )
    assert [line for line, _ in warnings] == [32, 34, 39, 56]
    assert "file /nonexistent/weibao-test/key does not exist" in warnings[3][1]


def test_set_variables_silence_their_warnings() -> None:
    environ = {"TEST_WEIBAO_AUTH": "a", "TEST_WEIBAO_PRIV": "p", "TEST_WEIBAO_COMMUNITY": "c"}
    _, problems = check_inventory(FIXTURES / "valid.yaml", environ=environ)
    assert _where(problems) == [
        (
            56,
            "customers[Acme].contracts[C-2026-001].sites[Branch].devices[branch-rt-1].inspect.ssh.key",
        )
    ]


def test_load_inventory_returns_the_model_despite_warnings() -> None:
    inv = load_inventory(FIXTURES / "valid.yaml")
    ctx = inv.find("app-01")
    assert ctx is not None
    assert ctx.device.depends_on == ["core-sw-1", "core-sw-2"]
    assert ctx.sla(Level.I).response.total_seconds() == 3600


def test_repo_inventory_passes_with_only_warnings() -> None:
    inv, problems = check_inventory(REPO_INVENTORY, environ={})
    assert inv is not None, [p.format() for p in problems]
    assert not _errors(problems)
    assert len(inv.customers) == 2
    assert 12 <= len(inv.contexts()) <= 16
    sites = [s for cu in inv.customers for co in cu.contracts for s in co.sites]
    assert {s.hq for s in sites} == {True, False}


def test_repo_inventory_is_clean_when_its_secrets_are_set() -> None:
    inv, _ = check_inventory(REPO_INVENTORY, environ={})
    assert inv is not None
    doc_refs = {str(ref) for _, ref in iter_secrets(inv.model_dump(mode="json"))}
    assert doc_refs and all(ref.startswith("env:WEIBAO_") for ref in doc_refs)
    environ = {ref.removeprefix("env:"): "x" for ref in doc_refs}
    assert check_inventory(REPO_INVENTORY, environ=environ)[1] == []


def test_repo_inventory_uses_loopback_addresses_only() -> None:
    inv = load_inventory(REPO_INVENTORY)
    addresses = [c.device.address for c in inv.contexts() if c.device.address]
    assert addresses and all(a.startswith("127.0.0.") for a in addresses)


def test_repo_inventory_has_a_redundant_pair_and_seed_004_terms() -> None:
    inv = load_inventory(REPO_INVENTORY)
    groups = [c.device.depends_on for c in inv.contexts() if len(c.device.depends_on) > 1]
    assert groups
    ruida = next(c for c in inv.contexts() if c.contract.id == "RD-2026-007")
    assert ruida.sla(Level.I).response.total_seconds() == 3600
    assert ruida.sla(Level.IV).resolve.total_seconds() == 48 * 3600


def test_yaml_anchors_and_merge_keys_are_understood(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: sw1
          kind: switch
          address: 127.0.0.1
          inspect:
            snmp: &v3
              version: 3
              user: weibao
              auth_protocol: sha256
              auth_key: env:TEST_WEIBAO_AUTH
        - name: sw2
          kind: switch
          address: 127.0.0.2
          inspect:
            snmp:
              <<: *v3
              user: other
        """,
    )
    inv = load_inventory(path)
    ctx = inv.find("sw2")
    assert ctx is not None and ctx.device.inspect.snmp is not None
    assert ctx.device.inspect.snmp.user == "other"
    assert ctx.device.inspect.snmp.auth_protocol == "sha256"


# -- one problem each ----------------------------------------------------------------------


def test_yaml_syntax_error_points_at_the_unclosed_quote() -> None:
    inv, problems = check_inventory(FIXTURES / "syntax_error.yaml")
    assert inv is None
    assert len(problems) == 1
    assert problems[0].file == str(FIXTURES / "syntax_error.yaml")
    assert problems[0].line == 5
    assert problems[0].message.startswith("YAML syntax error")


def test_yaml_error_in_the_middle_uses_the_yaml_mark(tmp_path: Path) -> None:
    path = _write(tmp_path, "customers:\n  - name: A\n    contracts: x: y\n  - name: B\n")
    _, problems = check_inventory(path)
    assert [(p.line, p.message) for p in problems] == [
        (3, "YAML syntax error: mapping values are not allowed here")
    ]


def test_tabs_get_their_own_hint(tmp_path: Path) -> None:
    _, problems = check_inventory(_write(tmp_path, "customers:\n\t- name: A\n"))
    assert problems[0].line == 2
    assert "spaces" in problems[0].hint


def test_unknown_key_suggests_the_right_one(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: sw1
          kind: switch
          adress: 127.0.0.1
        """,
    )
    _, problems = check_inventory(path)
    (problem,) = problems
    assert problem.line == 14
    assert problem.path == "customers[Acme].contracts[C-1].sites[HQ].devices[sw1].adress"
    assert problem.message == "unknown key 'adress'"
    assert problem.hint.startswith("did you mean 'address'?")


def test_unknown_key_inside_an_sla_level(tmp_path: Path) -> None:
    text = HEAD.replace(
        "        sites:\n", "        sla:\n          I: {respons: 1h}\n        sites:\n"
    )
    text += DEVICE
    _, problems = check_inventory(_write(tmp_path, text))
    (problem,) = problems
    assert (problem.line, problem.path) == (10, "customers[Acme].contracts[C-1].sla.I.respons")
    assert problem.hint.startswith("did you mean 'response'?")


def test_unknown_fault_level_lists_the_levels(tmp_path: Path) -> None:
    text = HEAD.replace(
        "        sites:\n", "        sla:\n          V: {resolve: 1h}\n        sites:\n"
    )
    text += DEVICE
    _, problems = check_inventory(_write(tmp_path, text))
    (problem,) = problems
    assert (problem.line, problem.path) == (10, "customers[Acme].contracts[C-1].sla.V")
    assert problem.message == "unknown fault level 'V'"
    assert "I, II, III and IV" in problem.hint


def test_sla_written_with_explicit_levels_key_keeps_its_path(tmp_path: Path) -> None:
    text = HEAD.replace(
        "        sites:\n",
        "        sla:\n          levels:\n            I: {resolv: 1h}\n        sites:\n",
    )
    text += DEVICE
    _, problems = check_inventory(_write(tmp_path, text))
    assert _where(problems) == [(11, "customers[Acme].contracts[C-1].sla.levels.I.resolv")]


def test_duplicate_device_name_names_both_lines(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: sw1
          kind: switch
        - name: sw1
          kind: router
        """,
    )
    _, problems = check_inventory(path)
    (problem,) = problems
    assert problem.line == 14
    assert problem.message == "device name 'sw1' is already used at line 12"


def test_duplicate_device_names_across_customers(tmp_path: Path) -> None:
    second = HEAD.replace("customers:\n", "").replace("Acme", "Beta").replace("C-1", "C-2")
    text = HEAD + DEVICE + second + DEVICE
    _, problems = check_inventory(_write(tmp_path, text))
    assert [(p.line, p.message) for p in problems] == [
        (23, "device name 'sw1' is already used at line 12")
    ]


def test_duplicate_contract_ids_and_customer_names(tmp_path: Path) -> None:
    text = HEAD + DEVICE + HEAD.replace("customers:\n", "") + DEVICE.replace("sw1", "sw2")
    _, problems = check_inventory(_write(tmp_path, text))
    assert [(p.line, p.message) for p in problems] == [
        (13, "customer name 'Acme' is already used at line 2"),
        (15, "contract id 'C-1' is already used at line 4"),
    ]


def test_duplicate_yaml_key_is_reported(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: sw1
          kind: switch
          kind: router
        """,
    )
    _, problems = check_inventory(path)
    assert [(p.line, p.message) for p in problems] == [
        (14, "key 'kind' appears twice in this mapping (also at line 13)")
    ]


def test_depends_on_unknown_device_with_suggestion(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: core-sw-1
          kind: switch
        - name: app-01
          kind: server
          depends_on: [core-sw-1, core-sw-9]
        """,
    )
    _, problems = check_inventory(path)
    (problem,) = problems
    assert problem.line == 16
    assert problem.path.endswith("devices[app-01].depends_on[1]")
    assert (
        problem.message == "depends_on names 'core-sw-9', which is not a device in this inventory"
    )
    assert problem.hint == "did you mean 'core-sw-1'?"


def test_depends_on_cycles_are_printed_as_a_path() -> None:
    _, problems = check_inventory(FIXTURES / "cycle.yaml")
    assert [(p.line, p.message) for p in problems] == [
        (14, "depends_on makes a cycle: a -> b -> c -> a"),
        (20, "depends_on names 'x', which is not a device in this inventory"),
        (23, "depends_on makes a cycle: d -> d"),
    ]


def test_find_cycles_reports_each_cycle_once() -> None:
    graph = {"a": ["b"], "b": ["a", "c"], "c": ["b"], "d": ["a"]}
    assert find_cycles(graph) == [["a", "b"], ["b", "c"]]
    assert find_cycles({"a": ["b", "c"], "b": ["c"], "c": []}) == []


def test_invalid_address(tmp_path: Path) -> None:
    path = _devices(tmp_path, "- {name: sw1, kind: switch, address: 10.0.0.300}\n")
    _, problems = check_inventory(path)
    (problem,) = problems
    assert problem.line == 12
    assert problem.path.endswith(".devices[sw1].address")
    assert problem.message == "'10.0.0.300' is neither an IP address nor a valid host name"


def test_literal_password_is_an_error_that_never_shows_the_value(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: db1
          kind: server
          address: 127.0.0.1
          inspect:
            ssh:
              user: root
              password: Hunter2-Secret
              trust_on_first_use: true
        """,
    )
    _, problems = check_inventory(path)
    (problem,) = problems
    assert problem.line == 18
    assert problem.path.endswith("devices[db1].inspect.ssh.password")
    assert "literal secret" in problem.message
    assert "env:NAME" in problem.hint
    assert "Hunter2" not in problem.format()


def test_numeric_community_is_a_literal_too(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        "- {name: ups1, kind: ups, address: 127.0.0.1, inspect: {snmp: {community: 123456}}}\n",
    )
    _, problems = check_inventory(path)
    (problem,) = problems
    assert "literal secret" in problem.message
    assert "123456" not in problem.format()


def test_contract_ending_before_it_starts(tmp_path: Path) -> None:
    text = HEAD.replace("end: 2026-12-31", "end: 2025-12-31") + DEVICE
    _, problems = check_inventory(_write(tmp_path, text))
    assert [(p.line, p.path, p.message) for p in problems] == [
        (
            7,
            "customers[Acme].contracts[C-1].end",
            "contract ends (2025-12-31) before it starts (2026-01-01)",
        )
    ]


def test_missing_required_key_points_at_its_parent(tmp_path: Path) -> None:
    path = _devices(tmp_path, "- name: sw1\n  address: 127.0.0.1\n")
    _, problems = check_inventory(path)
    (problem,) = problems
    assert (problem.line, problem.path) == (
        12,
        "customers[Acme].contracts[C-1].sites[HQ].devices[sw1].kind",
    )
    assert problem.message == "required key 'kind' is missing"
    assert "switch" in problem.hint


def test_wrong_enum_value_suggests_the_near_one(tmp_path: Path) -> None:
    _, problems = check_inventory(_devices(tmp_path, "- {name: sw1, kind: swtich}\n"))
    (problem,) = problems
    assert problem.message == "kind 'swtich' is not one of the allowed values"
    assert problem.hint.startswith("did you mean 'switch'?")


def test_missing_env_and_file_references_are_warnings(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        f"""\
        - name: sw1
          kind: switch
          address: 127.0.0.1
          inspect:
            snmp: {{community: env:TEST_WEIBAO_NOT_SET}}
        - name: sw2
          kind: switch
          address: 127.0.0.2
          inspect:
            snmp: {{community: env:TEST_WEIBAO_NOT_SET}}
        - name: db1
          kind: server
          address: 127.0.0.3
          inspect:
            ssh:
              user: weibao
              key: file:{tmp_path}/missing_key
              trust_on_first_use: true
        """,
    )
    inv, problems = check_inventory(path, environ={})
    assert inv is not None
    assert [(p.line, p.severity) for p in problems] == [(16, "warning"), (28, "warning")]
    assert problems[0].message == (
        "secret env:TEST_WEIBAO_NOT_SET cannot be read: environment variable "
        "TEST_WEIBAO_NOT_SET is not set (also used at line 21)"
    )
    assert f"file {tmp_path}/missing_key does not exist" in problems[1].message
    (tmp_path / "missing_key").write_text("key\n")
    _, problems = check_inventory(path, environ={"TEST_WEIBAO_NOT_SET": "c"})
    assert problems == []


def test_weak_snmpv3_protocols_are_warnings(tmp_path: Path) -> None:
    path = _devices(
        tmp_path,
        """\
        - name: sw1
          kind: switch
          address: 127.0.0.1
          inspect:
            snmp:
              version: 3
              user: weibao
              auth_protocol: md5
              auth_key: env:A
              priv_protocol: des
              priv_key: env:P
        """,
    )
    inv, problems = check_inventory(path, environ={"A": "a", "P": "p"})
    assert inv is not None
    assert [(p.line, p.severity, p.message) for p in problems] == [
        (19, "warning", "MD5 authentication is weak"),
        (21, "warning", "DES privacy is weak"),
    ]


# -- the file itself ---------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "# nothing but a comment\n", "---\n"])
def test_empty_file(tmp_path: Path, text: str) -> None:
    _, problems = check_inventory(_write(tmp_path, text))
    assert [(p.line, p.message) for p in problems] == [(1, "the file is empty")]


def test_top_level_list(tmp_path: Path) -> None:
    _, problems = check_inventory(_write(tmp_path, "- name: Acme\n- name: Beta\n"))
    (problem,) = problems
    assert problem.line == 1
    assert problem.message == "the top level must be a mapping of keys, not a list"


def test_missing_file(tmp_path: Path) -> None:
    _, problems = check_inventory(tmp_path / "nope.yaml")
    (problem,) = problems
    assert (problem.file, problem.line, problem.message) == (
        str(tmp_path / "nope.yaml"),
        None,
        "file not found",
    )
    assert problem.format().startswith(f"{tmp_path}/nope.yaml: file not found")


def test_directory_instead_of_file(tmp_path: Path) -> None:
    _, problems = check_inventory(tmp_path)
    assert problems[0].message == "is a directory, not a file"


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_bytes(b"customers:\n  - name: \xff\xfe\n")
    _, problems = check_inventory(path)
    assert problems[0].message.startswith("not UTF-8 text")


def test_a_key_without_value_says_so(tmp_path: Path) -> None:
    _, problems = check_inventory(_write(tmp_path, HEAD))
    assert [(p.line, p.message) for p in problems] == [(11, "devices has no value")]
    assert problems[0].hint == "write a list under it, or remove the key"


def test_impossible_date_is_located(tmp_path: Path) -> None:
    text = HEAD.replace("end: 2026-12-31", "end: 2026-13-45") + DEVICE
    _, problems = check_inventory(_write(tmp_path, text))
    assert problems[0].line == 7
    assert "month must be in 1..12" in problems[0].message


# -- every problem at once ---------------------------------------------------------------


def test_many_problems_are_all_reported_with_their_lines() -> None:
    inv, problems = check_inventory(FIXTURES / "many_problems.yaml", environ={})
    assert inv is None
    devices = "customers[Acme].contracts[C-2026-001].sites[HQ].devices"
    assert [(p.line, p.path, p.message) for p in problems] == [
        (
            7,
            "customers[Acme].contracts[C-2026-001].end",
            "contract ends (2025-12-31) before it starts (2026-01-01)",
        ),
        (10, "customers[Acme].contracts[C-2026-001].sla.V", "unknown fault level 'V'"),
        (16, f"{devices}[core-sw-1].adress", "unknown key 'adress'"),
        (17, f"{devices}[core-sw-1].name", "device name 'core-sw-1' is already used at line 14"),
        (
            19,
            f"{devices}[core-sw-1].address",
            "'127.0.0.300' is neither an IP address nor a valid host name",
        ),
        (
            20,
            f"{devices}[core-sw-1].depends_on",
            "depends_on names 'core-sw-9', which is not a device in this inventory",
        ),
        (
            27,
            f"{devices}[app-01].inspect.ssh.password",
            "a literal secret is written here; only references are allowed",
        ),
    ]
    assert all(p.hint for p in problems)
    assert all(p.severity == "error" for p in problems)
    assert "hunter2" not in "\n".join(p.format() for p in problems)


def test_load_inventory_raises_config_error_with_every_problem() -> None:
    with pytest.raises(ConfigError) as err:
        load_inventory(FIXTURES / "many_problems.yaml")
    assert len(err.value.problems) == 7
    assert "many_problems.yaml:10:" in str(err.value)


def test_parse_yaml_keeps_the_line_of_every_key_and_item() -> None:
    doc, problems = parse_yaml("a:\n  - x: 1\n    y: 2\n  - z\nb: {c: 3}\n", "f.yaml")
    assert doc is not None and problems == []
    assert doc.data == {"a": [{"x": 1, "y": 2}, "z"], "b": {"c": 3}}
    assert doc.lines[("a", 0, "y")] == 3
    assert doc.lines[("a", 1)] == 4
    assert doc.lines[("b", "c")] == 5
    assert doc.line(("a", 0, "missing")) == 2


def test_contract_workflow_terms_are_checked_with_their_line(tmp_path: Path) -> None:
    text = HEAD.replace(
        "        sites:\n",
        "        calendar: {hours: 18:00-09:00, days: [mon, funday]}\n"
        "        auto_close: {levels: [V]}\n"
        "        escalate_at: 1.5\n"
        "        sites:\n",
    )
    path = _write(tmp_path, text + DEVICE)
    inventory, found = check_inventory(path, environ={})
    problems = _errors(found)
    assert inventory is None
    where = {p.path: p.line for p in problems}
    assert where["customers[Acme].contracts[C-1].calendar.hours"] == 9
    assert where["customers[Acme].contracts[C-1].calendar.days"] == 9
    assert where["customers[Acme].contracts[C-1].auto_close.levels[0]"] == 10
    assert where["customers[Acme].contracts[C-1].escalate_at"] == 11
    calendar = next(p for p in problems if p.path.endswith("calendar.hours"))
    assert "HH:MM-HH:MM" in calendar.hint

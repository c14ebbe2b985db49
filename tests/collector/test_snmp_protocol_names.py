"""SNMPv3 protocol names as net-snmp users type them (``-a SHA -x AES``), any case (#14.18)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from tests.weibao.test_inventory_loader import HEAD
from weibao.cli import probe_cmd
from weibao.inventory.checks import check_weak_snmp
from weibao.inventory.loader import check_inventory, load_inventory, parse_yaml
from weibao.inventory.model import SnmpInspection

app = typer.Typer()
probe_cmd.register(app)
runner = CliRunner()


@pytest.mark.parametrize(
    ("auth", "priv", "expected"),
    [
        ("SHA", "AES", ("sha", "aes")),
        ("sha", "aes", ("sha", "aes")),
        ("Sha", "Aes", ("sha", "aes")),
        ("SHA-256", "AES-128", ("sha256", "aes128")),
        ("SHA-512", "AES-256", ("sha512", "aes256")),
        ("SHA224", "AES192", ("sha224", "aes192")),
        ("MD5", "DES", ("md5", "des")),
        ("SHA-256", "AES-256-C", ("sha256", "aes256c")),  # Cisco's key extension
    ],
)
def test_the_inventory_model_accepts_net_snmp_spellings(
    auth: str, priv: str, expected: tuple[str, str]
) -> None:
    snmp = SnmpInspection.model_validate(
        {
            "version": "3",
            "user": "weibao",
            "auth_protocol": auth,
            "auth_key": "env:A",
            "priv_protocol": priv,
            "priv_key": "env:P",
        }
    )
    assert (snmp.auth_protocol, snmp.priv_protocol) == expected


def test_an_unknown_protocol_is_still_refused() -> None:
    with pytest.raises(ValueError, match="auth_protocol"):
        SnmpInspection.model_validate(
            {"version": "3", "user": "u", "auth_protocol": "SHA-3", "auth_key": "env:A"}
        )


INVENTORY = (
    HEAD
    + """\
              - name: sw1
                kind: switch
                address: 127.0.0.1
                inspect:
                  snmp:
                    version: 3
                    user: weibao
                    auth_protocol: SHA
                    auth_key: env:TEST_WEIBAO_AUTH
                    priv_protocol: AES
                    priv_key: env:TEST_WEIBAO_PRIV
              - name: sw2
                kind: switch
                address: 127.0.0.2
                inspect:
                  snmp:
                    version: 3
                    user: weibao
                    auth_protocol: MD5
                    auth_key: env:TEST_WEIBAO_AUTH
"""
)


def test_an_inventory_file_in_capitals_loads(tmp_path: Path) -> None:
    path = tmp_path / "inv.yaml"
    path.write_text(textwrap.dedent(INVENTORY), encoding="utf-8")
    inv, problems = check_inventory(path)
    assert inv is not None, problems
    assert not [p for p in problems if p.severity == "error"]
    ctx = load_inventory(path).find("sw1")
    assert ctx is not None and ctx.device.inspect.snmp is not None
    assert ctx.device.inspect.snmp.auth_protocol == "sha"
    assert ctx.device.inspect.snmp.priv_protocol == "aes"
    # MD5 in capitals is still reported as weak
    doc, _ = parse_yaml(INVENTORY, str(path))
    assert doc is not None
    assert [p.message for p in check_weak_snmp(doc)] == ["MD5 authentication is weak"]


def test_probe_settings_take_net_snmp_spellings() -> None:
    settings = probe_cmd.snmp_settings(161, None, False, "u", "SHA", "k1", "AES", "k2")
    assert (settings.auth_protocol, settings.priv_protocol) == ("sha", "aes")
    settings = probe_cmd.snmp_settings(161, None, False, "u", "SHA-256", "k1", "aes-256", "k2")
    assert (settings.auth_protocol, settings.priv_protocol) == ("sha256", "aes256")


def test_probe_cli_refuses_an_unknown_protocol_naming_the_choices() -> None:
    args = ["--v3-user", "u", "--auth-proto", "SHA-3", "--auth-key", "s3cret-k"]
    result = runner.invoke(app, ["probe", "snmp", "127.0.0.1:1161", *args])
    assert result.exit_code == 2
    assert "'SHA-3' is not one of md5, sha" in result.output
    assert "s3cret" not in result.output

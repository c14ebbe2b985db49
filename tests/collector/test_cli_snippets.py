"""The YAML that ``probe ssh`` and ``topology suggest`` print to paste: no network needed."""

from __future__ import annotations

from pathlib import Path

import yaml

from collector.topology import Neighbor, Observed, suggest
from weibao.cli.probe_cmd import ssh_settings, ssh_snippet
from weibao.cli.topology_cmd import device_locations, yaml_snippet
from weibao.inventory.loader import load_inventory

FINGERPRINT = "SHA256:" + "A" * 43


def test_probe_snippet_for_a_vrp_switch_holds_references_only(tmp_path: Path) -> None:
    key = tmp_path / "id_ed25519"
    settings = ssh_settings("ops", 2222, key, "SW_PW", None, None, True, "huawei-vrp")
    meta = {"hostname": "", "model": "S5735-L48T4X-A1", "host_key": FINGERPRINT}
    [device] = yaml.safe_load(ssh_snippet("10.1.1.2", settings, meta))
    assert device == {
        "name": "NEW-DEVICE",
        "kind": "switch",
        "vendor": "Huawei",
        "model": "S5735-L48T4X-A1",
        "address": "10.1.1.2",
        "inspect": {
            "ssh": {
                "user": "ops",
                "port": 2222,
                "key": f"file:{key}",
                "password": "env:SW_PW",
                "host_key": FINGERPRINT,
                "os": "huawei-vrp",
            }
        },
    }


def test_probe_without_a_host_key_option_refuses_unknown_keys() -> None:
    settings = ssh_settings("ops", 22, Path("/k"), None, None, None, False, "linux")
    assert not settings.trust_on_first_use and settings.host_key is None
    linux = ssh_snippet("h", settings, {"hostname": "db 01.lan", "host_key": FINGERPRINT})
    assert yaml.safe_load(linux)[0]["name"] == "db-01.lan"  # made a valid device name


INVENTORY = """\
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
              - name: core-1
                kind: switch
                role: core
                depends_on: acc-1
              - name: core-2
                kind: switch
                role: core
              - name: acc-1
                kind: switch
                role: access
"""


def test_topology_snippet_is_located_and_pastes(tmp_path: Path) -> None:
    path = tmp_path / "inventory.yaml"
    path.write_text(INVENTORY)
    inv = load_inventory(path)
    seen = Observed(
        "acc-1", neighbors=(Neighbor("lldp", "1", "core-1"), Neighbor("lldp", "2", "core-2"))
    )
    topology = suggest(inv.contexts(), [seen])
    text = yaml_snippet(topology.suggestions, device_locations(path))
    blocks = text.split("\n\n")
    assert len(blocks) == 2  # acc-1 (new) and core-1 (contradicts)
    assert blocks[0].startswith(
        f"# {path}:19: customers[Acme].contracts[C-1].sites[HQ].devices[acc-1] (new;"
    )
    assert "# a redundant group" in blocks[0]
    assert yaml.safe_load(blocks[0]) == {"depends_on": ["core-1", "core-2"]}
    assert f"{path}:12: " in blocks[1] and "(contradicts; was ['acc-1'])" in blocks[1]
    assert yaml.safe_load(blocks[1]) == {"depends_on": []}

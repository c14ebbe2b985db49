"""Every sample the default pack reads is one the sources know (weibao/vocabulary.py)."""

from __future__ import annotations

import yaml

from rules import DEFAULT_PACK
from weibao.vocabulary import BY_NAME


def test_every_rule_reads_a_vocabulary_sample() -> None:
    used: dict[str, str] = {}
    for path in sorted(DEFAULT_PACK.glob("*.yaml")):
        for rule in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("rules", []):
            if "sample" in rule:  # silence rules (no_data) read no sample
                used[rule["id"]] = rule["sample"]
    assert len(used) >= 25
    unknown = {rule: sample for rule, sample in used.items() if sample not in BY_NAME}
    assert unknown == {}

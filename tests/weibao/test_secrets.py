from pathlib import Path

import pytest

from weibao.errors import SecretMissing
from weibao.secrets import SecretRef


def test_env_reference_resolves_from_the_given_environment() -> None:
    ref = SecretRef.parse("env:SNMP_COMMUNITY")
    assert ref.resolve({"SNMP_COMMUNITY": "s3cret"}) == "s3cret"
    assert str(ref) == "env:SNMP_COMMUNITY"


def test_file_reference_strips_the_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("hunter2\n")
    assert SecretRef.parse(f"file:{secret}").resolve() == "hunter2"


@pytest.mark.parametrize("literal", ["public", "hunter2", "ENV:X", "env:", "file:relative/path"])
def test_literals_and_malformed_references_are_refused(literal: str) -> None:
    with pytest.raises(ValueError):
        SecretRef.parse(literal)


def test_missing_secret_names_the_reference_not_the_value(tmp_path: Path) -> None:
    with pytest.raises(SecretMissing, match="env:NOT_SET_ANYWHERE") as err:
        SecretRef.parse("env:NOT_SET_ANYWHERE").resolve({})
    assert "not set" in str(err.value)
    missing = tmp_path / "nope"
    with pytest.raises(SecretMissing, match="does not exist"):
        SecretRef.parse(f"file:{missing}").resolve()

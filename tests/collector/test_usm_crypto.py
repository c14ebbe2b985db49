"""USM keys, digests and ciphers against published vectors and net-snmp's own output."""

from __future__ import annotations

import hashlib
import hmac

import pytest
from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from collector.snmp.usm_crypto import (
    AUTH,
    PRIV,
    KeyCache,
    LocalizedKeys,
    extend_key,
    localize_key,
    password_to_key,
)

RFC_ENGINE = bytes.fromhex("000000000000000000000002")
# Keys net-snmp 5.9.3's snmpd localized and stored in its persistent file for users made
# with `createUser NAME AUTH "authpass-1234" PRIV "privpass-5678"` at this engine ID.
NETSNMP_ENGINE = bytes.fromhex("80001f88807e4d591df743176b00000000")
AUTH_PASS, PRIV_PASS = "authpass-1234", "privpass-5678"


def test_rfc3414_a3_md5_and_sha_vectors() -> None:
    md5 = password_to_key(b"maplesyrup", "md5")
    assert md5.hex() == "9faf3283884e92834ebc9847d8edd963"
    assert localize_key(md5, RFC_ENGINE, "md5").hex() == "526f5eed9fcce26f8964c2930787d82b"
    sha = password_to_key(b"maplesyrup", "sha1")
    assert sha.hex() == "9fb5cc0381497b3793528939ff788d5d79145211"
    assert localize_key(sha, RFC_ENGINE, "sha1").hex() == "6695febc9288e36282235fc7151f128497b38f3f"


@pytest.mark.parametrize(
    ("auth", "priv", "auth_key", "priv_key"),
    [
        ("sha", "aes256", "7f304cc445e09482210db42f73eef0533f7f5043",
         "3c6d28e6c16b0ae06e4ee475799d56e88c23f047aea79a706bf78a53a010b140"),
        ("sha", "aes256c", "7f304cc445e09482210db42f73eef0533f7f5043",
         "3c6d28e6c16b0ae06e4ee475799d56e88c23f047db65d50c91bc3c804d1ecb06"),
        ("md5", "aes192", "5106767ddc9b0779bef9b2097352a382",
         "a7122dfa9863a9977b5a59c1274987b9f296f65fd9d4d42a"),
        ("md5", "des", "5106767ddc9b0779bef9b2097352a382", "a7122dfa9863a9977b5a59c1274987b9"),
        ("sha512", "aes256",
         "b0a8b62ef3c819e56637e971930fbe19f51c73d50f6d6577eaa6caadf4ac24ee"
         "ede4e56c982ee2794ade12326369f3d8d14ff938956ab0f6ee188ecf9360bcb0",
         "bdd54018ca877884a92c71b59229c7fa43c3769e0abed62c4467a3c16ef0927c"),
        ("sha224", None, "94fcb0c038944448066d7656a100834f7a2decd9a7559a432b212e29", ""),
    ],
)  # fmt: skip
def test_keys_equal_what_netsnmp_localized(
    auth: str, priv: str | None, auth_key: str, priv_key: str
) -> None:
    """AES-192/256 in net-snmp (``AES-256``) extend the key as draft-blumenthal says;
    ``AES-256-C`` (Cisco) as draft-reeder says."""
    keys = KeyCache().localized(NETSNMP_ENGINE, auth, AUTH_PASS, priv, PRIV_PASS if priv else None)
    assert keys.auth_key.hex() == auth_key
    assert keys.priv_key.hex() == priv_key


def test_rfc7860_truncation_and_hmac() -> None:
    assert {n: s.truncate for n, s in AUTH.items()} == {
        "md5": 12, "sha": 12, "sha224": 16, "sha256": 24, "sha384": 32, "sha512": 48,
    }  # fmt: skip
    for name, spec in AUTH.items():
        key = localize_key(
            password_to_key(b"maplesyrup", spec.hash_name), RFC_ENGINE, spec.hash_name
        )
        keys = LocalizedKeys(spec, None, key)
        mac = keys.sign(b"message")
        assert mac == hmac.new(key, b"message", spec.hash_name).digest()[: spec.truncate], name
        assert keys.verify(b"message", mac) and not keys.verify(b"messagf", mac)


def test_key_extension_needs_a_method() -> None:
    with pytest.raises(ValueError, match="too short"):
        extend_key(b"x" * 16, 24, "", RFC_ENGINE, "md5")
    assert extend_key(b"x" * 32, 16, "", RFC_ENGINE, "sha256") == b"x" * 16
    blumenthal = extend_key(b"k" * 20, 32, "blumenthal", RFC_ENGINE, "sha1")
    assert blumenthal == b"k" * 20 + hashlib.sha1(b"k" * 20).digest()[:12]


def test_aes_cfb_iv_is_boots_time_salt_rfc3826() -> None:
    keys = KeyCache().localized(RFC_ENGINE, "sha256", AUTH_PASS, "aes128", PRIV_PASS)
    plain = b"\x30\x0b" + b"scoped pdu!"
    sealed, params = keys.encrypt(plain, 7, 1234, 0x0102030405060708)
    assert params == bytes.fromhex("0102030405060708") and len(sealed) == len(plain)
    iv = (7).to_bytes(4, "big") + (1234).to_bytes(4, "big") + params
    expected = Cipher(algorithms.AES(keys.priv_key[:16]), CFB(iv)).encryptor().update(plain)
    assert sealed == expected
    assert keys.decrypt(sealed, params, 7, 1234) == plain
    assert keys.decrypt(sealed, params, 8, 1234) != plain  # boots are part of the IV


@pytest.mark.parametrize("priv", ["aes192", "aes256"])
def test_aes_192_256_use_the_whole_extended_key(priv: str) -> None:
    keys = KeyCache().localized(RFC_ENGINE, "sha", AUTH_PASS, priv, PRIV_PASS)
    size = PRIV[priv].key_size
    assert len(keys.priv_key) == size
    sealed, params = keys.encrypt(b"abc", 1, 2, 3)
    iv = (1).to_bytes(4, "big") + (2).to_bytes(4, "big") + params
    assert Cipher(algorithms.AES(keys.priv_key), CFB(iv)).decryptor().update(sealed) == b"abc"


def test_des_cbc_salt_and_iv_rfc3414_8() -> None:
    keys = KeyCache().localized(RFC_ENGINE, "md5", AUTH_PASS, "des", PRIV_PASS)
    plain = b"\x30\x03abc"  # padded to 8 bytes on the wire
    sealed, params = keys.encrypt(plain, 5, 999, 0xAABBCCDD11223344)
    assert params == (5).to_bytes(4, "big") + bytes.fromhex("11223344")  # boots | counter
    iv = bytes(a ^ b for a, b in zip(keys.priv_key[8:16], params, strict=True))
    des = Cipher(TripleDES(keys.priv_key[:8] * 3), modes.CBC(iv))
    assert des.decryptor().update(sealed) == plain + b"\x00\x00\x00"
    assert keys.decrypt(sealed, params, 0, 0)[: len(plain)] == plain
    with pytest.raises(ValueError, match="whole blocks"):
        keys.decrypt(sealed[:-1], params, 0, 0)
    with pytest.raises(ValueError, match="not 8"):
        keys.decrypt(sealed, params[:4], 0, 0)


def test_cache_derives_each_password_once_and_names_settings_not_values() -> None:
    cache = KeyCache()
    first = cache.localized(RFC_ENGINE, "sha", AUTH_PASS, "aes", PRIV_PASS)
    again = cache.localized(RFC_ENGINE, "sha", AUTH_PASS, "aes", PRIV_PASS)
    other_engine = cache.localized(NETSNMP_ENGINE, "sha", AUTH_PASS, "aes", PRIV_PASS)
    assert first is again and other_engine.auth_key != first.auth_key
    assert cache.derived == 2  # one master key per password, whatever the engine
    assert AUTH_PASS not in repr(first) and first.auth_key.hex() not in repr(first)
    assert "authpass" not in repr(cache)
    with pytest.raises(ValueError, match=r"^auth_key is empty$"):
        cache.localized(RFC_ENGINE, "sha", "", None, None)
    with pytest.raises(ValueError, match="priv_protocol 'rc4' is not one of"):
        cache.localized(RFC_ENGINE, "sha", AUTH_PASS, "rc4", PRIV_PASS)
    with pytest.raises(ValueError, match="needs an auth_protocol"):
        cache.localized(RFC_ENGINE, None, None, "aes", PRIV_PASS)
    assert cache.localized(RFC_ENGINE, None, None, None, None).auth is None

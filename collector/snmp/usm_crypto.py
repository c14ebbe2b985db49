"""The User-based Security Model's cryptography: keys, digests, privacy (no I/O).

- **Keys** (RFC 3414 A.2, RFC 7860 9.3): a password becomes a master key by hashing
  1 MiB of it repeated (the costly step, ~1-3 ms), then a key localized to one engine ID
  is ``H(Ku | engineID | Ku)``. :class:`KeyCache` keeps both, so a credential set costs
  the 1 MiB hash once per process and a new engine ID one short hash.
- **Authentication**: HMAC-MD5-96, HMAC-SHA-96 (RFC 3414) and HMAC-SHA-2 (RFC 7860:
  SHA-224/256/384/512 truncated to 16/24/32/48 bytes). The HMAC is computed over the
  whole message with the authentication parameters zeroed.
- **Privacy**: DES-CBC (RFC 3414 8; old devices only), AES-CFB128 (RFC 3826) and
  AES-192/256 with the key extension net-snmp's ``AES-192``/``AES-256`` use
  (draft-blumenthal-aes-usm-04: append ``H(key)`` until long enough), checked against
  Debian's snmpd 5.9.3. Cisco's variant (draft-reeder, net-snmp ``AES-256-C``: append a
  key derived from the short key as if it were a password) is :data:`PRIV` ``aes192c`` /
  ``aes256c``.

Hashing goes through :mod:`hashlib`/:mod:`hmac` (OpenSSL, one C call per message);
ciphers through ``cryptography``. Keys never appear in ``repr``.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import OrderedDict
from dataclasses import dataclass, field

from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
from cryptography.hazmat.decrepit.ciphers.modes import CFB
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

P2K_BYTES = 1_048_576  # RFC 3414 A.2: one megabyte of the repeated password


@dataclass(frozen=True)
class AuthSpec:
    """An authentication protocol: its hash and how many bytes of the HMAC are sent."""

    name: str
    hash_name: str
    truncate: int


@dataclass(frozen=True)
class PrivSpec:
    """A privacy protocol: cipher, key length, and how a short key is extended."""

    name: str
    key_size: int
    extension: str = ""  # "", "blumenthal" or "reeder"


AUTH = {
    spec.name: spec
    for spec in (
        AuthSpec("md5", "md5", 12),
        AuthSpec("sha", "sha1", 12),
        AuthSpec("sha224", "sha224", 16),
        AuthSpec("sha256", "sha256", 24),
        AuthSpec("sha384", "sha384", 32),
        AuthSpec("sha512", "sha512", 48),
    )
}
PRIV = {
    spec.name: spec
    for spec in (
        PrivSpec("des", 16),  # 8 bytes of key, 8 of pre-IV
        PrivSpec("aes", 16),
        PrivSpec("aes128", 16),
        PrivSpec("aes192", 24, "blumenthal"),
        PrivSpec("aes256", 32, "blumenthal"),
        PrivSpec("aes192c", 24, "reeder"),
        PrivSpec("aes256c", 32, "reeder"),
    )
}


def password_to_key(password: bytes, hash_name: str) -> bytes:
    """The master key Ku of a password (RFC 3414 A.2.1/A.2.2, RFC 7860 9.3)."""
    if not password:
        raise ValueError("an SNMPv3 password cannot be empty")
    repeated = password * (P2K_BYTES // len(password) + 1)
    return hashlib.new(hash_name, memoryview(repeated)[:P2K_BYTES]).digest()


def localize_key(master: bytes, engine_id: bytes, hash_name: str) -> bytes:
    """Kul = H(Ku | engineID | Ku) (RFC 3414 2.6)."""
    return hashlib.new(hash_name, master + engine_id + master).digest()


def extend_key(key: bytes, size: int, extension: str, engine_id: bytes, hash_name: str) -> bytes:
    """``key`` lengthened to ``size`` bytes the way the privacy protocol says."""
    while len(key) < size:
        if extension == "blumenthal":  # draft-blumenthal-aes-usm-04 3.1.2.1
            key += hashlib.new(hash_name, key).digest()
        elif extension == "reeder":  # draft-reeder-snmpv3-usm-3desede 2.1
            key += localize_key(password_to_key(key, hash_name), engine_id, hash_name)
        else:
            raise ValueError(f"a {len(key)}-byte key is too short for {size} bytes")
    return key[:size]


@dataclass(frozen=True)
class LocalizedKeys:
    """The keys for one credential set at one engine ID."""

    auth: AuthSpec | None
    priv: PrivSpec | None
    auth_key: bytes = field(default=b"", repr=False)
    priv_key: bytes = field(default=b"", repr=False)

    def sign(self, message: bytes) -> bytes:
        """The truncated HMAC of ``message`` (its auth parameters zeroed by the caller)."""
        assert self.auth is not None
        mac = hmac.digest(self.auth_key, message, self.auth.hash_name)
        return mac[: self.auth.truncate]

    def verify(self, message: bytes, received: bytes) -> bool:
        return self.auth is not None and hmac.compare_digest(self.sign(message), received)

    def encrypt(self, plaintext: bytes, boots: int, time: int, salt: int) -> tuple[bytes, bytes]:
        """(ciphertext, privacy parameters) of a scoped PDU; ``salt`` is 64-bit, unique."""
        assert self.priv is not None
        if self.priv.name == "des":
            # RFC 3414 8.1.1.1: salt = boots | 32-bit counter; IV = pre-IV XOR salt
            params = boots.to_bytes(4, "big") + (salt & 0xFFFFFFFF).to_bytes(4, "big")
            padded = plaintext + b"\x00" * (-len(plaintext) % 8)
            cipher = self._des(params)
            return cipher.encryptor().update(padded), params
        params = salt.to_bytes(8, "big")  # RFC 3826 3.1.2.1: IV = boots | time | salt
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + params
        key = algorithms.AES(self.priv_key[: self.priv.key_size])
        return Cipher(key, CFB(iv)).encryptor().update(plaintext), params

    def decrypt(self, ciphertext: bytes, params: bytes, boots: int, time: int) -> bytes:
        """The plaintext (DES: with its padding); ValueError when it cannot be decrypted."""
        assert self.priv is not None
        if len(params) != 8:
            raise ValueError(f"privacy parameters of {len(params)} bytes, not 8")
        if self.priv.name == "des":
            if len(ciphertext) % 8:
                raise ValueError(f"a DES ciphertext of {len(ciphertext)} bytes, not whole blocks")
            return self._des(params).decryptor().update(ciphertext)
        iv = boots.to_bytes(4, "big") + time.to_bytes(4, "big") + params
        key = algorithms.AES(self.priv_key[: self.priv.key_size])
        return Cipher(key, CFB(iv)).decryptor().update(ciphertext)

    def _des(self, params: bytes) -> Cipher[modes.CBC]:
        key, pre_iv = self.priv_key[:8], self.priv_key[8:16]
        iv = bytes(a ^ b for a, b in zip(pre_iv, params, strict=True))
        # Single DES is TripleDES with one key three times (EDE with K1=K2=K3).
        return Cipher(TripleDES(key * 3), modes.CBC(iv))


class KeyCache:
    """Master keys per password, localized keys per engine ID; both bounded (LRU).

    Keyed by a digest of the password, never the password itself; values hold keys, so
    the cache is never logged or shown.
    """

    def __init__(self, max_masters: int = 1024, max_localized: int = 8192) -> None:
        self.max_masters, self.max_localized = max_masters, max_localized
        self._masters: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()
        self._localized: OrderedDict[tuple[object, ...], LocalizedKeys] = OrderedDict()
        self.derived = 0  # password-to-key derivations done (the costly step)

    def __repr__(self) -> str:
        return f"KeyCache(masters={len(self._masters)}, localized={len(self._localized)})"

    def localized(
        self,
        engine_id: bytes,
        auth_protocol: str | None,
        auth_password: str | None,
        priv_protocol: str | None,
        priv_password: str | None,
    ) -> LocalizedKeys:
        """Keys for these settings at ``engine_id``; ValueError for an unknown protocol or
        an empty password (the message names the setting, never the value)."""
        if auth_protocol is None:
            if priv_protocol is not None:
                raise ValueError("priv_protocol needs an auth_protocol (no authPriv without auth)")
            return LocalizedKeys(None, None)
        auth = AUTH.get(auth_protocol)
        if auth is None:
            raise ValueError(f"auth_protocol {auth_protocol!r} is not one of {', '.join(AUTH)}")
        priv = None
        if priv_protocol is not None:
            priv = PRIV.get(priv_protocol)
            if priv is None:
                raise ValueError(f"priv_protocol {priv_protocol!r} is not one of {', '.join(PRIV)}")
        auth_id = self._master_id(auth, auth_password, "auth_key")
        priv_id = self._master_id(auth, priv_password, "priv_key") if priv else None
        key = (engine_id, auth.name, auth_id, priv and priv.name, priv_id)
        found = self._localized.get(key)
        if found is None:
            auth_key = localize_key(self._masters[auth_id], engine_id, auth.hash_name)
            priv_key = b""
            if priv is not None and priv_id is not None:
                short = localize_key(self._masters[priv_id], engine_id, auth.hash_name)
                priv_key = extend_key(
                    short, priv.key_size, priv.extension, engine_id, auth.hash_name
                )
            found = self._localized[key] = LocalizedKeys(auth, priv, auth_key, priv_key)
            while len(self._localized) > self.max_localized:
                self._localized.popitem(last=False)
        self._localized.move_to_end(key)
        return found

    def _master_id(self, auth: AuthSpec, password: str | None, setting: str) -> tuple[str, bytes]:
        if not password:
            raise ValueError(f"{setting} is empty")
        raw = password.encode("utf-8")
        key = (auth.hash_name, hashlib.sha256(raw).digest())
        if key not in self._masters:
            self._masters[key] = password_to_key(raw, auth.hash_name)
            self.derived += 1
            while len(self._masters) > self.max_masters:
                self._masters.popitem(last=False)
        self._masters.move_to_end(key)
        return key

"""Field-by-field encryption of residents' personal items, with keys that are never in the database.

A key ring is one or more 256-bit keys, each with a short id; the first is the **current** key: new
values are encrypted with it and the matching hashes are keyed by it. Older keys only decrypt, so
that a rotation (:func:`residents.operations.rotate_key`) reads every value with whichever key wrote
it and writes it again with the current one, in one transaction.

* A value is stored as ``v1:<key id>:<base64 of nonce + AES-256-GCM ciphertext>``; the associated data
  binds it to its field and its row (``resident:<id>:<field>``), so a value copied into another row or
  field does not decrypt.
* A matching hash is HMAC-SHA-256 of a normalised value (:mod:`residents.normalise`) under a key derived
  from the current key (HKDF, its own label): the database holds no plaintext to compare. A row is written
  with the current key's hash (:meth:`Keyring.digest`) but looked for under every key of the ring
  (:meth:`Keyring.digests`): between the restart with a new key first and the rotation, the rows still
  carry the old key's hashes, and a person must be found all the same (never a second person).

Where the keys come from (:func:`keyring_from_config`): ``RENKEI_RESIDENT_KEYS`` (``id:base64key`` entries
separated by commas, current first) or the file named by ``RENKEI_RESIDENT_KEY_FILE`` (one entry a
line). Production refuses to start without them (admin.config.check); development and tests use a fixed
development key when none is set.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

PREFIX = "v1"
KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# outside production only (admin.config.check refuses to start production without a key of its own)
DEVELOPMENT_KEYS = "dev:" + base64.urlsafe_b64encode(hashlib.sha256(b"renkei-development-resident-key").digest()).decode()


class ResidentKeyError(ValueError):
    """A key ring that cannot be used, or a value no key of the ring decrypts."""


@dataclasses.dataclass(frozen=True)
class Keyring:
    keys: tuple[tuple[str, bytes], ...]  # (id, 32 bytes), current first

    def __post_init__(self) -> None:
        if not self.keys:
            raise ResidentKeyError("the resident key ring is empty")
        ids = [key_id for key_id, _ in self.keys]
        if len(set(ids)) != len(ids):
            raise ResidentKeyError("the resident key ring names a key id twice")

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def _key(self, key_id: str) -> bytes:
        for found, key in self.keys:
            if found == key_id:
                return key
        raise ResidentKeyError(f"no key {key_id!r} in the resident key ring: give it (after the current one) to read this value")

    def encrypt(self, value: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = AESGCM(self.keys[0][1]).encrypt(nonce, value.encode(), context.encode())
        return f"{PREFIX}:{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, context: str) -> str:
        key_id, body = key_id_of(stored), stored.split(":", 2)[2]
        raw = base64.b64decode(body)
        try:
            return AESGCM(self._key(key_id)).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag:
            raise ResidentKeyError(f"a value under key {key_id!r} does not decrypt for {context}") from None

    def digest(self, normalised: str) -> str:
        """The keyed hash a normalised value is matched by (hex)."""
        return hmac.new(_hash_key(self.keys[0][1]), normalised.encode(), hashlib.sha256).hexdigest()

    def digests(self, normalised: str) -> tuple[str, ...]:
        """The keyed hashes of a normalised value under every key of the ring, current first: what a row
        written under any of them holds (look-ups match any; a rotation under way leaves rows of each)."""
        return tuple(hmac.new(_hash_key(key), normalised.encode(), hashlib.sha256).hexdigest() for _, key in self.keys)


def key_id_of(stored: str) -> str:
    parts = stored.split(":", 2)
    if len(parts) != 3 or parts[0] != PREFIX:
        raise ResidentKeyError("not an encrypted value of renkei's residents")
    return parts[1]


def _hash_key(key: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"renkei residents matching hash").derive(key)


def parse_keys(text: str) -> Keyring:
    """A key ring from ``id:base64key`` entries separated by commas or lines (current first)."""
    keys = []
    for entry in re.split(r"[,\n]", text):
        entry = entry.strip()
        if not entry or entry.startswith("#"):
            continue
        key_id, _, encoded = entry.partition(":")
        if not KEY_ID.match(key_id):
            raise ResidentKeyError(f"resident key id {key_id!r}: 1 to 32 letters, digits, - or _")
        try:
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
        except ValueError:
            raise ResidentKeyError(f"resident key {key_id!r} is not base64") from None
        if len(key) != 32:
            raise ResidentKeyError(f"resident key {key_id!r} must be 32 bytes (base64 of 32 random bytes), not {len(key)}")
        keys.append((key_id, key))
    return Keyring(tuple(keys))


def new_key_entry(key_id: str) -> str:
    """A fresh ``id:base64key`` entry (``renkei residents new-key``)."""
    if not KEY_ID.match(key_id):
        raise ResidentKeyError(f"resident key id {key_id!r}: 1 to 32 letters, digits, - or _")
    return f"{key_id}:{base64.urlsafe_b64encode(os.urandom(32)).decode()}"


def configured_keys(config: Mapping[str, Any]) -> str:
    """The key ring's text as the settings give it (the setting, else the key file), or ''."""
    text = str(config.get("RENKEI_RESIDENT_KEYS") or "")
    path = str(config.get("RENKEI_RESIDENT_KEY_FILE") or "")
    if not text and path:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise ResidentKeyError(f"RENKEI_RESIDENT_KEY_FILE {path}: {error.strerror}") from None
    return text


def keyring_from_config(config: Mapping[str, Any]) -> Keyring:
    text = configured_keys(config)
    if not text.strip():
        if config.get("RENKEI_ENV") == "production":
            raise ResidentKeyError("no resident key: set RENKEI_RESIDENT_KEYS or RENKEI_RESIDENT_KEY_FILE")
        text = DEVELOPMENT_KEYS
    return parse_keys(text)

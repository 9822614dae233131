"""Ed25519 signatures for what renkei writes outside its database (backup manifests, chain checkpoints),
and private files for them.

A signature proves that the signed bytes were written by whoever holds the private key: someone
who can write to the backup store or the checkpoint folder, or who owns the database, but does
not hold the key, cannot make an archive or a checkpoint that renkei accepts.

Keys:

* the **private key** is one PEM file (PKCS#8, unencrypted), mode 0600 in a 0700 folder, made
  once by :func:`generate_key` (``renkei signing-key generate``);
* each **public key** is a PEM file ``<key id>.pub``; the key id is the first 16 hex digits of
  the SHA-256 of the raw public key. Verification trusts every public key it is given
  (:func:`load_trusted`), so during a rotation the old and the new key are trusted at once.

A signature is a small JSON object ``{"algorithm": "Ed25519", "key_id": …, "value": <base64>}``
over exact bytes (:func:`sign`, :func:`verify`); :func:`canonical` gives the bytes of a JSON
document so that the same document always signs the same.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import Conflict

ALGORITHM = "Ed25519"
PUBLIC_SUFFIX = ".pub"


class SignatureRefused(Conflict):
    """A signature is missing, made by a key that is not trusted, or does not match what it signs."""


class NoSigningKey(Conflict):
    """The private key renkei signs with is not there (or not readable as one)."""


# --- files only their owner reads ----------------------------------------------------------------

def private_dir(path: Path, *, tighten: bool = False) -> Path:
    """Make ``path`` (and missing parents) with mode 0700; ``tighten`` also sets 0700 on an existing
    folder (renkei's own folders, never one the operator named for something else, like /tmp)."""
    if not path.exists():
        path.mkdir(mode=0o700, parents=True)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask
    elif not path.is_dir():
        raise NotADirectoryError(f"{path} is not a folder")
    elif tighten:
        os.chmod(path, 0o700)
    return path


def open_private(path: Path) -> Any:
    """A new file opened for writing in binary with mode 0600 from its first byte (refused if it exists)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.fchmod(descriptor, 0o600)
    return os.fdopen(descriptor, "wb")


def write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` with mode 0600, atomically (a ``.partial`` file renamed at the end)."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    with open_private(partial) as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    partial.replace(path)
    return path


# --- keys -----------------------------------------------------------------------------------------

def key_id(public_key: Ed25519PublicKey) -> str:
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_pem(public_key: Ed25519PublicKey) -> bytes:
    return public_key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


@dataclasses.dataclass(frozen=True)
class Signer:
    """The private key, ready to sign."""

    key: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        return key_id(self.key.public_key())

    def sign(self, data: bytes) -> dict[str, str]:
        return {"algorithm": ALGORITHM, "key_id": self.key_id,
                "value": base64.b64encode(self.key.sign(data)).decode("ascii")}


def generate_key(private_path: Path, public_dir: Path, *, replace: bool = False) -> tuple[Signer, Path]:
    """Make a new key pair: the private key at ``private_path`` (0600, folder 0700), the public key
    as ``<key id>.pub`` in ``public_dir``. An existing private key is kept unless ``replace`` (a
    rotation: its public key stays in ``public_dir``, so what it signed still verifies)."""
    if private_path.exists() and not replace:
        raise Conflict(f"a signing key exists at {private_path}: keep it, or rotate with --replace",
                      f"署名鍵は {private_path} にすでにあります。そのまま使うか、--replace で切り替えてください。")
    key = Ed25519PrivateKey.generate()
    private_dir(private_path.parent)
    write_private(private_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    signer = Signer(key)
    public_dir.mkdir(parents=True, exist_ok=True)
    public_path = public_dir / f"{signer.key_id}{PUBLIC_SUFFIX}"
    public_path.write_bytes(public_pem(key.public_key()))
    return signer, public_path


def load_signer(private_path: Path) -> Signer:
    try:
        key = serialization.load_pem_private_key(private_path.read_bytes(), password=None)
    except FileNotFoundError:
        raise NoSigningKey(
            f"no signing key at {private_path}: create one once with `renkei signing-key generate` "
            "(docs/operations.md, signed backups)",
            f"署名鍵 {private_path} がありません。`renkei signing-key generate` で一度だけ作成してください"
            "（docs/operations.md「署名付きバックアップ」）。") from None
    except (ValueError, TypeError, OSError) as error:
        raise NoSigningKey(f"the signing key {private_path} cannot be read: {error}",
                           f"署名鍵 {private_path} を読めません: {error}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise NoSigningKey(f"{private_path} is not an Ed25519 key", f"{private_path} は Ed25519 の鍵ではありません。")
    return Signer(key)


def load_trusted(locations: Iterable[Path]) -> dict[str, Ed25519PublicKey]:
    """The trusted public keys by key id: each location is a ``.pub`` file or a folder of them.
    Unreadable files and other kinds of key are left out (they verify nothing)."""
    found: dict[str, Ed25519PublicKey] = {}
    for location in locations:
        files = sorted(location.glob(f"*{PUBLIC_SUFFIX}")) if location.is_dir() else [location] if location.is_file() else []
        for path in files:
            try:
                public_key = serialization.load_pem_public_key(path.read_bytes())
            except (ValueError, OSError):
                continue
            if isinstance(public_key, Ed25519PublicKey):
                found[key_id(public_key)] = public_key
    return found


# --- signing and verifying ------------------------------------------------------------------------

def canonical(document: Mapping[str, Any]) -> bytes:
    """The bytes a JSON document is signed as: keys sorted, no spaces, UTF-8."""
    return json.dumps(document, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode("utf-8")


def sign(signer: Signer, data: bytes) -> dict[str, str]:
    return signer.sign(data)


def verify(data: bytes, signature: object, trusted: Mapping[str, Ed25519PublicKey], what_en: str, what_ja: str) -> str:
    """The id of the trusted key whose signature over ``data`` ``signature`` is; else refused, saying why."""
    if not isinstance(signature, Mapping) or signature.get("algorithm") != ALGORITHM:
        raise SignatureRefused(f"{what_en} is not signed", f"{what_ja}に署名がありません。")
    kid = signature.get("key_id")
    public_key = trusted.get(kid) if isinstance(kid, str) else None
    if public_key is None:
        raise SignatureRefused(
            f"{what_en} is signed by key {kid}, which is not among the trusted public keys ({', '.join(sorted(trusted)) or 'none'})",
            f"{what_ja}の署名鍵 {kid} は信頼する公開鍵にありません（{', '.join(sorted(trusted)) or 'なし'}）。")
    try:
        public_key.verify(base64.b64decode(str(signature.get("value", "")), validate=True), data)
    except (InvalidSignature, ValueError):
        raise SignatureRefused(f"{what_en}: the signature does not match (changed after it was signed)",
                               f"{what_ja}の署名が一致しません（署名後に変更されています）。") from None
    return kid

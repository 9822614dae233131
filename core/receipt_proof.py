"""A record's proof, printed on its receipt, and its verification without a database.

A consent receipt, a linkage record in a resident's download, every printed form of a chained
record carries its **proof** (docs/receipts.md)::

    {"format": "renkei-record-proof/1", "chain": "consent_record",
     "covered": [{"field": "items", "label_ja": "データ項目", "label_en": "data items",
                  "value": "[\\"氏名\\"]", "sha256": "<64 hex>"}, …],
     "prev_hash": "<64 hex>", "hash": "<64 hex>",
     "checkpoint": {<the chain's newest signed checkpoint, core.checkpoints>} or null,
     "signing_key": {"key_id": "…", "fingerprint_sha256": "…", "public_key_pem": "…", "published_at": "URL"}}

``covered`` holds exactly the fields the record's hash covers, as they were hashed; the record's
``hash`` is ``sha256(prev_hash + canonical JSON of {field: value, …})``, computed by the one rule
of the chains (:func:`core.chainhash.link_hash`). Each field's own ``sha256`` (of its canonical JSON
``{field: value}``) only locates a change: it lets the verifier name the field that differs from what was
printed. What proves the record is its hash, the chain it is in, and the checkpoint signed with
the platform's key that seals the chain at or after it.

This module imports no database and no framework: ``renkei verify-receipt FILE`` runs with it alone.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from core import checkpoints, signing
from core.chainhash import CANONICAL_JSON, hashed_payload, link_hash

FORMAT = "renkei-record-proof/1"
RULE = "sha256(prev_hash + JSON(covered fields: keys sorted, no spaces, UTF-8))"
_HEX = re.compile(r"^[0-9a-f]{64}$")


def field_digest(name: str, value: Any) -> str:
    """The SHA-256 of one covered field's canonical JSON ``{name: value}`` (locates a change; proves
    nothing alone: whoever changes a value can change its digest, never the record's hash)."""
    return hashlib.sha256(CANONICAL_JSON.encode({name: value}).encode("utf-8")).hexdigest()


@dataclasses.dataclass(frozen=True)
class Seal:
    """A chain's newest signed checkpoint (the document as written, :mod:`core.checkpoints`), the
    public key that signed it (PEM) and where that key is published."""

    checkpoint: Mapping[str, Any]
    public_key_pem: str
    published_at: str


def key_fingerprint(public_key_pem: str) -> tuple[str, str]:
    """(key id, SHA-256 fingerprint of the raw public key) of a PEM public key; ValueError if it is none."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return signing.key_id(key), hashlib.sha256(raw).hexdigest()


def proof(chain: str, values: Mapping[str, Any], fields: Sequence[str], labels: Mapping[str, tuple[str, str]],
          prev_hash: str, record_hash: str, seal: Seal | None) -> dict[str, Any]:
    """The proof of one chained record (``values``: its columns; ``fields``: those its chain hashes),
    sealed by ``seal`` (None: no signed checkpoint of the chain yet)."""
    payload = json.loads(CANONICAL_JSON.encode(hashed_payload(values, fields)))  # as hashed: plain JSON values
    covered = [{"field": name, "label_ja": labels.get(name, (name, name))[0], "label_en": labels.get(name, (name, name))[1],
                "value": payload[name], "sha256": field_digest(name, payload[name])} for name in (*fields, "occurred_at")]
    found: dict[str, Any] = {"format": FORMAT, "chain": chain, "rule": RULE, "covered": covered,
                             "prev_hash": prev_hash, "hash": record_hash, "checkpoint": None, "signing_key": None}
    if seal is not None:
        kid, fingerprint = key_fingerprint(seal.public_key_pem)
        found["checkpoint"] = dict(seal.checkpoint)
        found["signing_key"] = {"key_id": kid, "fingerprint_sha256": fingerprint,
                                "public_key_pem": seal.public_key_pem, "published_at": seal.published_at}
    return found


# --- verification ---------------------------------------------------------------------------------

@dataclasses.dataclass
class ProofResult:
    """One proof verified: where it is in the file, the record it names, what is wrong (each (ja, en),
    naming the field, the previous hash or the checkpoint) and what the reader should know."""

    where: str
    chain: str
    seq: Any
    problems: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    notes: list[tuple[str, str]] = dataclasses.field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems


def _covered(found: Mapping[str, Any]) -> list[Mapping[str, Any]] | None:
    covered = found.get("covered")
    if not isinstance(covered, list) or not all(
            isinstance(entry, Mapping) and isinstance(entry.get("field"), str) and "value" in entry for entry in covered):
        return None
    return covered


def verify(found: Mapping[str, Any], *, printed_hash: str | None = None, trusted: Mapping[str, Any] | None = None,
           where: str = "") -> ProofResult:
    """Verify one proof: each covered field against its own digest, the record hash recomputed from
    the covered fields and the previous hash (:func:`core.chainhash.link_hash`, the chains' rule),
    ``printed_hash`` (the record hash printed beside the proof, if any) against the proof's, and the
    checkpoint's signature: by a key of ``trusted`` (key id: public key) when given, else by the key
    the proof carries, whose fingerprint the reader compares with the published one."""
    covered = _covered(found)
    values = {entry["field"]: entry["value"] for entry in covered or ()}
    result = ProofResult(where, str(found.get("chain", "")), values.get("seq"))
    if covered is None or not isinstance(found.get("prev_hash"), str) or not isinstance(found.get("hash"), str):
        result.problems.append(("証明の形式が不正です（covered, prev_hash, hash が読めません）",
                                "the proof is malformed (covered, prev_hash or hash cannot be read)"))
        return result
    for entry in covered:
        if entry.get("sha256") != field_digest(entry["field"], entry["value"]):
            result.problems.append((f"項目 {entry.get('label_ja') or entry['field']}（{entry['field']}）: ハッシュ値が一致しません",
                                    f"item {entry.get('label_en') or entry['field']} ({entry['field']}): the hash does not match"))
    record_hash = found["hash"]
    if printed_hash is not None and printed_hash != record_hash:
        result.problems.append(("記録のハッシュ値: 証明のハッシュ値と印字が一致しません",
                                "the record hash: the printed hash does not match the proof's"))
    if link_hash(found["prev_hash"], values) != record_hash and not result.problems:
        result.problems.append(("前の記録のハッシュ値（prev_hash）: ハッシュ値が一致しません（記録のハッシュ値になりません）",
                                "the previous record's hash (prev_hash): the hash does not match (it does not give the record hash)"))
    _check_seal(found, result, record_hash, trusted)
    return result


def _check_seal(found: Mapping[str, Any], result: ProofResult, record_hash: str, trusted: Mapping[str, Any] | None) -> None:
    data = found.get("checkpoint")
    if data is None:
        result.notes.append(("この連鎖の署名付きチェックポイントはまだありません（記録のハッシュ値のみ確認しました）",
                             "no signed checkpoint of this chain yet (only the record hash was checked)"))
        return
    name = f"{data.get('chain')} #{data.get('seq')} ({data.get('at')})" if isinstance(data, Mapping) else "?"
    keys = dict(trusted) if trusted is not None else _carried_key(found, result, name)
    if keys is None:
        return
    try:
        checkpoint = checkpoints.parse(data, keys, name)
    except (signing.SignatureRefused, ValueError) as refused:
        en = refused.message_en if isinstance(refused, signing.SignatureRefused) else str(refused)
        ja = refused.message_ja if isinstance(refused, signing.SignatureRefused) else f"チェックポイント {name} の形式が不正です"
        result.problems.append((f"チェックポイント {name}: {ja}", f"checkpoint {name}: {en}"))
        return
    if checkpoint.chain != result.chain:
        result.problems.append((f"チェックポイント {name}: 別の連鎖（{checkpoint.chain}）のものです",
                                f"checkpoint {name}: it is of another chain ({checkpoint.chain})"))
    elif isinstance(result.seq, int) and checkpoint.seq == result.seq and checkpoint.hash != record_hash:
        result.problems.append((f"チェックポイント {name}: この記録のハッシュ値と一致しません",
                                f"checkpoint {name}: its hash is not this record's"))
    elif isinstance(result.seq, int) and checkpoint.seq < result.seq:
        result.notes.append((f"この記録はチェックポイント {name} より新しく、次のチェックポイントで封印されます",
                             f"this record is newer than checkpoint {name}; the next checkpoint seals it"))
    else:
        result.notes.append((f"チェックポイント {name} の署名は有効です（鍵 {checkpoint.key_id}）",
                             f"checkpoint {name} is validly signed (key {checkpoint.key_id})"))


def _carried_key(found: Mapping[str, Any], result: ProofResult, name: str) -> dict[str, Any] | None:
    """The public key the proof carries, if its fingerprint is its own; the note to compare it with
    the published key."""
    from cryptography.hazmat.primitives import serialization

    key = found.get("signing_key")
    try:
        pem = str(key["public_key_pem"])
        kid, fingerprint = key_fingerprint(pem)
    except (TypeError, KeyError, ValueError):
        result.problems.append((f"チェックポイント {name}: 署名鍵の公開鍵が読めません", f"checkpoint {name}: its public key cannot be read"))
        return None
    if key.get("key_id") != kid or key.get("fingerprint_sha256") != fingerprint:
        result.problems.append((f"チェックポイント {name}: 公開鍵の指紋が一致しません", f"checkpoint {name}: the public key's fingerprint does not match"))
        return None
    place = key.get("published_at") or ""
    result.notes.append((f"署名鍵 {kid}（SHA-256 指紋 {fingerprint}）を、公開場所 {place} の鍵と照合してください",
                         f"compare the signing key {kid} (SHA-256 fingerprint {fingerprint}) with the one published at {place}"))
    return {kid: serialization.load_pem_public_key(pem.encode("ascii"))}


def proofs_in(document: Any, where: str = "$") -> Iterator[tuple[str, Mapping[str, Any], Mapping[str, Any] | None]]:
    """Every proof in a JSON document (a receipt, a history, a resident's download): (where, proof,
    the object that holds it, whose ``record_hash`` is the hash printed beside it)."""
    if isinstance(document, Mapping):
        if document.get("format") == FORMAT:
            yield where, document, None
            return
        for key, value in document.items():
            if isinstance(value, Mapping) and value.get("format") == FORMAT:
                yield f"{where}.{key}", value, document
            else:
                yield from proofs_in(value, f"{where}.{key}")
    elif isinstance(document, list):
        for number, value in enumerate(document):
            yield from proofs_in(value, f"{where}[{number}]")


def verify_document(document: Any, trusted: Mapping[str, Any] | None = None) -> list[ProofResult]:
    """Every proof of ``document`` verified (:func:`verify`)."""
    results = []
    for where, found, holder in proofs_in(document):
        printed = holder.get("record_hash") if holder is not None and isinstance(holder.get("record_hash"), str) else None
        results.append(verify(found, printed_hash=printed, trusted=trusted, where=where))
    return results


__all__ = ["FORMAT", "ProofResult", "Seal", "field_digest", "key_fingerprint", "proof", "proofs_in", "verify",
           "verify_document", "base64"]

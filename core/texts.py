"""Versioned texts that someone accepts: one home for their rules.

The governance agreements (governance.agreements), the consent texts (residents.consent) and the
datasets' terms of use (catalogue.terms) are versioned texts: each version's text never
changes after it is made, its ``content_hash`` fixes it, and an acceptance names the version and
the hash of the text that was read. The rules they share live here:

* :func:`normalise_text`: line endings as LF, no trailing blanks at the end (the hash does not
  depend on the editor).
* :func:`text_hash`: SHA-256 (hex) of a version's canonical JSON.
* :func:`refusal`: only the current version can be accepted, and only with the hash of its text.
"""

from __future__ import annotations

import hashlib
import json


def normalise_text(body: str) -> str:
    """Line endings as LF and no trailing blanks at the end, so the hash does not depend on the editor."""
    return body.replace("\r\n", "\n").replace("\r", "\n").rstrip() + "\n"


def text_hash(payload: dict) -> str:
    """SHA-256 (hex) of a versioned text's canonical JSON (keys sorted, no spaces, UTF-8)."""
    text = json.dumps(payload, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def refusal(number: int, current_number: int | None, seen_hash: str, content_hash: str) -> str | None:
    """Why version ``number`` (whose text hashes to ``content_hash``) cannot be accepted by someone who
    read a text hashing to ``seen_hash`` while ``current_number`` is the current version: ``superseded``
    (a newer version replaced it), ``hash_mismatch`` (the text read is not this version's), or None."""
    if current_number is not None and current_number != number:
        return "superseded"
    if seen_hash != content_hash:
        return "hash_mismatch"
    return None

"""The one hash rule of renkei's chains, pure: no database, no framework (hashlib, json, datetime).

Every chain entry's ``hash = sha256(prev_hash + canonical JSON of its hashed fields)``, where the
canonical JSON has sorted keys, no spaces, UTF-8 as it is, a moment written by :func:`timestamp_text`,
and ``occurred_at`` always among the fields. :mod:`core.chain` writes and verifies the chains in
the database with these functions; a printed receipt is recomputed with the same ones
(:mod:`core.receipt_proof`, ``renkei verify-receipt``), which therefore need no database.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

GENESIS_HASH = "0" * 64

# The one canonical JSON of the chains: what is hashed, and every line of their archives
# (sorted keys, no spaces, UTF-8 as it is). Built once: json.dumps with these options builds an
# encoder on every call.
CANONICAL_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def timestamp_text(moment: dt.datetime) -> str:
    if moment.tzinfo is None:  # a naive value is UTC by renkei's convention (core.db.UTCDateTime)
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_timestamp_text(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc)


def link_hash(prev_hash: str, payload: Mapping[str, Any]) -> str:
    """``sha256(prev_hash + canonical JSON of payload)`` (hex)."""
    text = prev_hash + CANONICAL_JSON.encode(payload)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def hashed_payload(values: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """What is hashed of an entry given as a mapping: its ``fields`` and its ``occurred_at``, each
    moment as :func:`timestamp_text` writes it."""
    payload = {name: values[name] for name in fields}
    for name, value in payload.items():
        if isinstance(value, dt.datetime):  # a moment is hashed as timestamp_text writes it
            payload[name] = timestamp_text(value)
    occurred = values["occurred_at"]
    payload["occurred_at"] = occurred if isinstance(occurred, str) else timestamp_text(occurred)
    return payload


def payload_hash(values: Mapping[str, Any], fields: Sequence[str], prev_hash: str) -> str:
    """The hash of an entry (a mapping of its values) chained after ``prev_hash``."""
    return link_hash(prev_hash, hashed_payload(values, fields))

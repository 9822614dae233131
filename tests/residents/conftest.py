"""Fixtures of the residents' tests: the residents' desks of two cities, a key ring, approved services."""

from __future__ import annotations

import datetime as dt

import pytest

from core.actor import Actor
from residents.crypto import new_key_entry, parse_keys
from tenancy.identity.models import ApiClient
from tests.consent.conftest import KUMAMOTO, YATSUSHIRO, consent_setup  # noqa: F401  (the fixture)

__all__ = ["KUMAMOTO", "YATSUSHIRO", "desk"]


def api_client(db, name: str, code: str = KUMAMOTO) -> int:
    """A data service's own API client (scope residents:broker), as the brokerage and the link codes need."""
    row = ApiClient(tenant_code=code, name=name, purpose="住民データの仲介", scopes="residents:broker",
                    allowlist="127.0.0.1/32", expires_on=dt.date(2099, 12, 31), created_by="test")
    db.add(row)
    db.commit()
    return row.id


def desk(code: str = KUMAMOTO) -> Actor:
    return Actor(issuer="urn:test", subject=f"desk-{code}", name=f"住民窓口 {code}",
                 roles=frozenset({"resident-desk"}), tenant_codes=frozenset({code}))


@pytest.fixture
def keys():
    return parse_keys(new_key_entry("k1"))


def person(**fields) -> dict:
    return {"tenant_code": KUMAMOTO, "full_name": "髙橋 太郎", "address": "熊本県熊本市中央区水前寺六丁目18番1号",
            "birth_date": "1980-04-01", "sex": "1", "verification": "my_number_card", "assurance_level": 3, **fields}

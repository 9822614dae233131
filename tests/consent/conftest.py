"""Fixtures of the consent tests: the assurance levels, an approved service, people acting."""

from __future__ import annotations

import uuid

import pytest

from core.actor import Actor

KUMAMOTO, YATSUSHIRO = "431001", "432024"
BROKER = Actor(issuer="urn:test", subject="broker-1", name="連携基盤ブローカー", roles=frozenset({"metering-client"}))


def clerk(code: str = KUMAMOTO) -> Actor:
    return Actor(issuer="urn:test", subject=f"clerk-{code}", name=f"窓口 職員{code}",
                 roles=frozenset({"municipal-staff"}), tenant_codes=frozenset({code}))


def admin_of(code: str) -> Actor:
    return Actor(issuer="urn:test", subject=f"admin-{code}", name=f"管理者{code}",
                 roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({code}))


def person() -> str:
    """A fresh pseudonymous identifier, as the resident identity provider gives them."""
    return f"pid-{uuid.uuid4().hex}"


SERVICE = {
    "name": "子育て支援ナビ", "provider": "熊本市 子ども政策課", "controller": "熊本市長",
    "controller_contact": "kosodate@example.jp", "responsibility": "受け取ったデータは熊本市が管理し、基盤運営者は連携の可否判定と記録のみを行う。",
    "retention_days": 365, "required_level": 2,
    "text": {"title": "子育て支援ナビへの情報提供の同意", "body_ja": "あなたの情報を子育て支援のために利用します。",
             "purposes": ["子育て支援サービスの案内"], "items": {"生年月日": {}, "世帯構成": {}}},
}


@pytest.fixture
def consent_setup(db, operator, tenant_factory):
    """The levels, the two cities, and a maker of services (approved unless told otherwise)."""
    from residents.consent import operations as consent

    tenant_factory(KUMAMOTO)
    tenant_factory(YATSUSHIRO)
    consent.ensure_default_levels(db, operator)
    db.commit()

    def make_service(owner: str = KUMAMOTO, *, approve: bool = True, **fields):
        data = {**SERVICE, "owner_code": owner, **fields}
        service = consent.register_service(db, admin_of(owner), data)
        if approve:
            consent.move_service(db, operator, service.id, "approve")
        db.commit()
        return service

    return make_service


@pytest.fixture
def give(db):
    """Record a consent of ``subject`` to ``service``'s current text (as a clerk of its tenant)."""
    from residents.consent import operations as consent

    def make(service, subject: str, *, tenant: str = KUMAMOTO, level: int = 2, method: str = "paper", **fields):
        text = consent.current_text(db, service)
        record = consent.give_consent(db, clerk(tenant), {
            "service_id": service.id, "tenant_code": tenant, "subject_id": subject, "content_hash": text.content_hash,
            "method": method, "assurance_level": level, **fields})
        db.commit()
        return record

    return make

"""One of each thing issue 23's pages show, for the tests that need a consent world: the crawl
(tests/browser/test_accessibility.py) and the restore drill (tests/test_restore_drill.py)."""

from __future__ import annotations


def consent_world(db, operator) -> None:
    """Issue 23's pages: 熊本市's approved service (two text versions, the second with an optional
    purpose; an item from a dataset of the register where the sample catalogue is loaded), one
    awaiting approval, a paper consent, its withdrawal and the linkages checked on it (allowed and
    refused)."""
    from core.actor import Actor
    from residents.consent import check, operations as consent

    admin = Actor(issuer="urn:test", subject="consent-admin", name="熊本市 管理者", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({"431001"}))
    clerk = Actor(issuer="urn:test", subject="consent-clerk", name="熊本市 窓口", roles=frozenset({"municipal-staff"}),
                  tenant_codes=frozenset({"431001"}))
    from catalogue.operations import find_dataset

    # an item from a dataset of the register where the world has the demo's sample catalogue (the crawl)
    childcare = find_dataset(db, "kumamoto-city-childcare-facility")
    sourced = {"利用している子育て施設": {"dataset_ref": childcare.name}} if childcare is not None else {}
    text = {"title": "子育て支援ナビへの情報提供の同意", "body_ja": "生年月日と世帯構成を子育て支援の案内に利用します。",
            "purposes": ["子育て支援サービスの案内"], "items": {"生年月日": {}, "世帯構成": {}, **sourced}}
    service = consent.register_service(db, admin, {
        "owner_code": "431001", "name": "子育て支援ナビ", "provider": "熊本市 子ども政策課", "controller": "熊本市長",
        "responsibility": "受け取ったデータは熊本市が管理する。", "retention_days": 365, "required_level": 2, "text": text})
    consent.register_service(db, admin, {**{"owner_code": "431001", "name": "健診予約", "provider": "熊本市 健康づくり推進課",
                                            "controller": "熊本市長", "retention_days": 730, "required_level": 3},
                                         "text": {**text, "title": "健診予約の同意", "purposes": ["健診の予約"]}})
    consent.move_service(db, operator, service.id, "approve")
    # version 2: an optional purpose, a public body's legal basis, 要配慮個人情報 (issue 37: the pages show each)
    consent.revise_text(db, admin, service.id, {**text, "purposes": ["子育て支援サービスの案内", "健診の案内"],
                                                "optional_purposes": ["イベントのお知らせ"], "legal_basis": "appi-69-2-1",
                                                "special_care": True})
    broker = Actor(issuer="urn:test", subject="broker", name="連携基盤", roles=frozenset({"metering-client"}))
    subject = "pid-0123456789abcdef"
    consent.give_consent(db, clerk, {"service_id": service.id, "tenant_code": "431001", "subject_id": subject,
                                     "content_hash": consent.current_text(db, service).content_hash, "method": "paper",
                                     "assurance_level": 2, "optional_purposes": ["イベントのお知らせ"]})
    question = {"service_id": service.id, "tenant_code": "431001", "subject_id": subject, "items": ["生年月日"],
                "purpose": "健診の案内"}
    check.consent_check(db, broker, question)
    consent.withdraw_consent(db, clerk, {"service_id": service.id, "tenant_code": "431001", "subject_id": subject,
                                         "method": "paper"})
    check.consent_check(db, broker, question)

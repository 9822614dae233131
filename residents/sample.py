"""The demo's sample residents' desk (住民窓口のサンプル): services with their consent texts, and residents
enrolled at 熊本市's counter, linked to its services, with their consents.

Through the real operations: 熊本市 and 八代市 register their services (each with version 1 of its
consent text), the operator approves 熊本市's two and leaves 八代市's awaiting approval; the desk of
熊本市 enrols a few people (a common ID each), links them to a service at the counter, and the
clerk records each one's consent on paper. The people are made up; every name carries
「（サンプル）」. Loading again adds nothing: a register that holds any service is left as it is.
"""

from __future__ import annotations

import dataclasses

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor, console_actor
from residents import operations as residents
from residents.consent import operations as consent
from residents.consent.models import DataService
from residents.crypto import Keyring

SAMPLE = "（サンプル）"
CITY = "431001"  # 熊本市: its counter enrols the sample residents
SERVICES = (  # (owner, name, purposes, items, approved)
    (CITY, f"子育て支援ナビ{SAMPLE}", ["子育て支援サービスの案内"], {"生年月日": {}, "世帯構成": {}}, True),
    (CITY, f"高齢者見守りサービス{SAMPLE}", ["見守り訪問の調整"], {"生年月日": {}, "住所": {}}, True),
    ("432024", f"防災情報お知らせ{SAMPLE}", ["避難情報の通知"], {"住所": {}}, False),
)
PEOPLE = (("連携 花子", "1985-05-12", "2"), ("熊本 一郎", "1972-11-03", "1"), ("阿蘇 美咲", "1990-02-20", "2"),
          ("天草 健一", "1958-07-07", "1"), ("球磨 陽菜", "2001-09-30", "2"))


@dataclasses.dataclass(frozen=True)
class SampleResidents:
    services: int
    residents: int
    links: int
    consents: int


def load_sample_residents(session: Session, operator: Actor, keys: Keyring) -> SampleResidents:
    """The sample services and residents; nothing when any service is registered already."""
    if session.scalar(sa.select(DataService.id).limit(1)) is not None:
        return SampleResidents(0, 0, 0, 0)
    approved = []
    for owner, name, purposes, items, approve in SERVICES:
        admin = console_actor(f"sample-admin-{owner}", {authz.MUNICIPAL_ADMIN}, {owner})
        service = consent.register_service(session, admin, {
            "owner_code": owner, "name": name, "provider": f"{name}の担当課{SAMPLE}", "controller": f"市長{SAMPLE}",
            "controller_contact": "service@example.jp", "retention_days": 365, "required_level": 2,
            "responsibility": "受け取ったデータは市が管理し、基盤運営者は連携の可否判定と記録のみを行う（サンプル）。",
            "text": {"title": f"{name}への情報提供の同意", "body_ja": "あなたの情報をサービスのために利用します（サンプル）。",
                     "purposes": purposes, "items": items}})
        if approve:
            consent.move_service(session, operator, service.id, "approve")
            approved.append(service)
    desk = console_actor(f"sample-desk-{CITY}", {authz.RESIDENT_DESK}, {CITY})
    clerk = console_actor(f"sample-clerk-{CITY}", {authz.MUNICIPAL_STAFF}, {CITY})
    links = consents = 0
    for n, (name, born, sex) in enumerate(PEOPLE, start=1):
        enrolled = residents.enrol(session, desk, keys, {
            "tenant_code": CITY, "full_name": f"{name}{SAMPLE}", "birth_date": born, "sex": sex,
            "address": f"熊本県熊本市中央区サンプル町{n}番{n}号", "verification": "my_number_card", "assurance_level": 3})
        common_id = enrolled.resident.common_id
        for service in approved[: 1 + n % 2]:  # one or both of the city's services
            user_id = f"sample-user-{service.id}-{n:03d}"
            residents.link_service(session, desk, CITY, common_id, {
                "service_id": service.id, "service_user_id": user_id, "method": "counter",
                "verification": "my_number_card", "assurance_level": 3})
            links += 1
            text = consent.current_text(session, service)
            consent.give_consent(session, clerk, {
                "service_id": service.id, "tenant_code": CITY, "subject_id": user_id, "content_hash": text.content_hash,
                "method": "paper", "assurance_level": 3})
            consents += 1
    return SampleResidents(len(SERVICES), len(PEOPLE), links, consents)

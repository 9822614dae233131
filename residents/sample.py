"""The demo's sample residents' desk (住民窓口のサンプル): services with their consent texts, and residents
enrolled at 熊本市's counter, linked to its services, with their consents.

Through the real operations: 熊本市 and 八代市 register their services (each with version 1 of its
consent text), the operator approves 熊本市's two and leaves 八代市's awaiting approval; the desk of
熊本市 enrols a few people (a common ID each), links them to a service at the counter, the
clerk records each one's consent on paper and the desk the items they ticked (公開範囲); the platform's
brokerage then asks for one item of the first person, so that their portal shows what a service received. The people are made up; every name carries
「（サンプル）」. Loading again adds nothing: a register that holds any service is left as it is.

The sample card holders of the demo's stand-in for デジタル認証アプリ (:data:`CARD_HOLDERS`): two of the
counter's people, whose cards the desk joins to them (:func:`join_card_holders`), and a newcomer.
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


# the demo's sample card holders at the stand-in for デジタル認証アプリ (tenancy.identity.keycloak.card_standin):
# (username, the card's 基本4情報, the counter's PEOPLE row they are, or None: a newcomer the first sign-in enrols)
CARD_HOLDERS = (
    ("card-hanako", 0), ("card-ichiro", 1),
    ("card-sakura", {"full_name": f"新規 さくら{SAMPLE}", "birthdate": "1995-03-15", "gender": "female",
                     "address": "熊本県熊本市中央区サンプル町9番9号"}),
)
_GENDER = {"1": "male", "2": "female"}  # the enrolment's sex code -> the card's gender claim
_SEX = {gender: sex for sex, gender in _GENDER.items()}


def _counter_address(n: int) -> str:
    return f"熊本県熊本市中央区サンプル町{n}番{n}号"


def card_holders() -> list[tuple[str, dict[str, str], bool]]:
    """The sample card holders: username, the card's items (full_name, address, birthdate, gender) and whether
    the counter enrolled them (their card is then joined to that person: :func:`join_card_holders`)."""
    rows = []
    for username, who in CARD_HOLDERS:
        if isinstance(who, int):
            name, born, sex = PEOPLE[who]
            rows.append((username, {"full_name": f"{name}{SAMPLE}", "birthdate": born, "gender": _GENDER[sex],
                                    "address": _counter_address(who + 1)}, True))
        else:
            rows.append((username, dict(who), False))
    return rows


def join_card_holders(session: Session, keys: Keyring, issuer: str, subjects: dict[str, str]) -> int:
    """The cards of the sample card holders the counter enrolled joined to those people, as the desk does when a
    person shows their card: an enrolment with the provider's identifier (``subjects``: username → ``sub``)
    matches the person by the 基本4情報 and the desk decides it is them (no second common ID); their own first
    sign-in then finds them with their links and consents. A card already joined is left; the number joined."""
    from residents.models import ResidentIdentity

    desk = console_actor(f"sample-desk-{CITY}", {authz.RESIDENT_DESK}, {CITY})
    joined = 0
    for username, items, counter in card_holders():
        subject = subjects.get(username)
        if not counter or not subject or session.scalar(sa.select(ResidentIdentity.id).where(
                ResidentIdentity.tenant_code == CITY, ResidentIdentity.issuer == issuer,
                ResidentIdentity.subject == subject)) is not None:
            continue
        enrolled = residents.enrol(session, desk, keys, {
            "tenant_code": CITY, "full_name": items["full_name"], "address": items["address"],
            "birth_date": items["birthdate"], "sex": _SEX[items["gender"]],
            "verification": "my_number_card", "assurance_level": 3, "issuer": issuer, "subject": subject})
        if enrolled.review is not None:
            residents.decide_review(session, desk, CITY, enrolled.review.id, same_person=True,
                                    reason=f"マイナンバーカードを窓口で確認し同一人物と判断{SAMPLE}")
        joined += 1
    return joined


@dataclasses.dataclass(frozen=True)
class SampleResidents:
    services: int
    residents: int
    links: int
    consents: int


def _register(session: Session, owner: str, name: str, provider: str, contact: str, body_ja: str,
              purposes: list[str], items: dict, **extra) -> DataService:
    """A sample service registered by its municipality's admin, with version 1 of its consent text."""
    admin = console_actor(f"sample-admin-{owner}", {authz.MUNICIPAL_ADMIN}, {owner})
    return consent.register_service(session, admin, {
        "owner_code": owner, "name": name, "provider": provider, "controller": f"市長{SAMPLE}",
        "controller_contact": contact, "retention_days": 365, "required_level": 2, **extra,
        "responsibility": "受け取ったデータは市が管理し、基盤運営者は連携の可否判定と記録のみを行う（サンプル）。",
        "text": {"title": f"{name}への情報提供の同意", "body_ja": body_ja, "purposes": purposes, "items": items}})


def load_sample_residents(session: Session, operator: Actor, keys: Keyring) -> SampleResidents:
    """The sample services and residents; nothing when any service is registered already."""
    if session.scalar(sa.select(DataService.id).limit(1)) is not None:
        return SampleResidents(0, 0, 0, 0)
    approved = []
    for owner, name, purposes, items, approve in SERVICES:
        service = _register(session, owner, name, f"{name}の担当課{SAMPLE}", "service@example.jp",
                            "あなたの情報をサービスのために利用します（サンプル）。", purposes, items)
        if approve:
            consent.move_service(session, operator, service.id, "approve")
            approved.append(service)
    desk = console_actor(f"sample-desk-{CITY}", {authz.RESIDENT_DESK}, {CITY})
    clerk = console_actor(f"sample-clerk-{CITY}", {authz.MUNICIPAL_STAFF}, {CITY})
    links = consents = 0
    for n, (name, born, sex) in enumerate(PEOPLE, start=1):
        enrolled = residents.enrol(session, desk, keys, {
            "tenant_code": CITY, "full_name": f"{name}{SAMPLE}", "birth_date": born, "sex": sex,
            "address": _counter_address(n), "verification": "my_number_card", "assurance_level": 3})
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
            residents.set_disclosure(session, desk, CITY, common_id, {  # what the person ticked at the counter
                "service_id": service.id, "items": [item.name for item in consent.items_of(session, text.id)],
                "reason": f"窓口で本人が選んだ提供項目{SAMPLE}"})
            if n == 1 and service is approved[0]:  # what a service received: one request of the brokerage
                _sample_request(session, service, user_id)
    return SampleResidents(len(SERVICES), len(PEOPLE), links, consents)


def _sample_request(session: Session, service: DataService, user_id: str) -> None:
    """The platform's brokerage asks for the first of the service's items for one linked person, as the gateway
    does before handing them over: the check's linkage record, which the person's portal lists as received."""
    from residents.consent.check import consent_check

    text = consent.current_text(session, service)
    items = [item.name for item in consent.items_of(session, text.id)]
    broker = console_actor(f"sample-broker{SAMPLE}", {authz.METERING})
    consent_check(session, broker, {"service_id": service.id, "tenant_code": CITY, "subject_id": user_id,
                                    "items": items[:1], "purpose": consent.purposes_of(session, text.id)[0]})


# a service of 熊本市 that links its own users by a one-time code (the portal's 「コードで連携」), with an API client of
# its own: the demo prints how it asks for a code, which a sample card holder then types in the portal
CODED_SERVICE = f"図書館ポータル{SAMPLE}"
CODED_USER = "library-0001"


@dataclasses.dataclass(frozen=True)
class CodedService:
    service_id: int
    keycloak_client_id: str | None  # with its secret: shown when made only (None: made by an earlier start)
    secret: str | None


def register_coded_service(session: Session, operator: Actor, directory, *, today=None) -> CodedService | None:
    """The sample service that links by a code, with its API client (scope residents:broker, from this machine
    only), registered by 熊本市's admin and approved by the operator; the one made earlier when there is one;
    None when the sample desk was not loaded (no sample service of 熊本市)."""
    import datetime as dt

    from core.calendar import today_jst
    from tenancy.identity import api_clients

    made = session.scalar(sa.select(DataService).where(DataService.name == CODED_SERVICE))
    if made is not None:
        return CodedService(made.id, None, None)
    if session.scalar(sa.select(DataService.id).where(DataService.owner_code == CITY).limit(1)) is None:
        return None
    issued = api_clients.create_api_client(session, operator, directory, CITY, {
        "name": f"図書館ポータルの連携{SAMPLE}", "purpose": f"図書館の利用者IDを住民の共通IDに連携するためのコードを発行する{SAMPLE}",
        "scopes": ["residents:broker"], "allowlist": ["127.0.0.1/32", "::1/128"],
        "expires_on": (today or today_jst()) + dt.timedelta(days=365)})
    service = _register(session, CITY, CODED_SERVICE, f"市立図書館{SAMPLE}", "library@example.jp",
                        "貸出の連絡に氏名を利用します（サンプル）。", ["貸出・予約の連絡"], {"氏名": {}},
                        api_client_id=issued.client.id)
    consent.move_service(session, operator, service.id, "approve")
    return CodedService(service.id, issued.keycloak_client_id, issued.secret)

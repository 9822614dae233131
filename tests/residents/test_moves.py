"""A resident moves between the platform's municipalities (issue 56 item 2): told at sign-in when the card's address
lies elsewhere; into another municipality of the portal, one common ID in each, the links ticked carried over to the
new municipality's same service (consent given anew to its text), the others ended, the old record marked moved and
both desks seeing it; out of the area, every link and consent ended."""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Conflict, Invalid
from residents import moves, operations, portal_municipalities as pm, signin
from residents.consent import operations as consent
from residents.consent.models import ConsentEvent, ConsentRecord
from residents.models import LinkMethod, Resident, ResidentProvider, ResidentStatus, ServiceLink
from residents.portal import resident_actor
from tests.conftest import OPERATOR, sign_in as staff_sign_in
from tests.consent.conftest import clerk
from tests.residents.conftest import desk
from tests.residents.conftest import KUMAMOTO

KOSHI = "432164"
CARD = "https://card.example.jp"
KUMAMOTO_HOME, KOSHI_HOME = "熊本県熊本市中央区手取本町1-1", "熊本県合志市竹迫2140"
APP = "株式会社くまもとアプリ"  # one app run for several municipalities


@pytest.fixture
def two_cities(db, consent_setup, tenant_factory):
    tenant_factory(KOSHI)
    db.add(ResidentProvider(alias="mynumber-card", display_name="マイナンバーカード", issuer=CARD,
                            discovery_url=f"{CARD}/.well-known/openid-configuration", assurance_level=3,
                            created_by="test"))
    db.commit()
    pm.set_portal(db, OPERATOR, KUMAMOTO, opted_in=True)
    pm.set_portal(db, OPERATOR, KOSHI, opted_in=True)
    db.commit()
    navi = consent_setup(KUMAMOTO, provider=APP)
    library = consent_setup(KUMAMOTO, name="図書館アプリ", provider="熊本市立図書館")
    koshi_navi = consent_setup(KOSHI, provider=APP, controller="合志市長", text={
        "title": "子育て支援ナビ（合志市）への情報提供の同意", "body_ja": "合志市が子育て支援のために利用します。",
        "purposes": ["子育て支援サービスの案内"], "optional_purposes": ["子育てイベントのお知らせ"],
        "items": {"生年月日": {}, "世帯構成": {}, "住所": {}}})
    return navi, library, koshi_navi


def _claims(address: str, subject: str = "card-subject-0001") -> dict:
    return {"renkei_idp": "mynumber-card", "renkei_subject": subject, "renkei_name": "転居 花子",
            "renkei_address": address, "renkei_birthdate": "1985-06-01", "renkei_gender": "female"}


def _linked_resident(db, keys, navi, library) -> Resident:
    """A resident of 熊本市 linked to two services, consenting to the first, with a disclosure range."""
    signed = signin.sign_in(db, keys, "", _claims(KUMAMOTO_HOME))
    resident = db.get(Resident, signed.resident_id)
    for service, user_id in ((navi, "navi-user-0001"), (library, "lib-user-0001")):
        operations.link_service(db, desk(KUMAMOTO), KUMAMOTO, resident.common_id, {
            "service_id": service.id, "service_user_id": user_id, "method": "counter",
            "verification": "my_number_card", "assurance_level": 3})
    text = consent.current_text(db, navi)
    consent.give_consent(db, clerk(KUMAMOTO), {"service_id": navi.id, "tenant_code": KUMAMOTO,
                                               "subject_id": "navi-user-0001", "content_hash": text.content_hash,
                                               "method": "paper", "assurance_level": 3})
    operations.record_disclosure(db, desk(KUMAMOTO), resident, navi.id, ["生年月日"], "窓口で本人が指定")
    db.commit()
    return resident


def _state(db, service_id: int, tenant: str, subject: str):
    latest = consent.latest_event(db, service_id, tenant, subject)
    return latest.event if latest else None


def test_a_move_to_another_municipality_carries_what_the_resident_ticks_and_ends_the_rest(db, keys, two_cities):
    navi, library, koshi_navi = two_cities
    old = _linked_resident(db, keys, navi, library)
    assert moves.destination(db, keys, old) is None  # living where enrolled: nothing to tell

    again = signin.sign_in(db, keys, "", _claims(KOSHI_HOME))  # the card's address is now 合志市
    assert again.resident_id == old.id and again.tenant_code == KUMAMOTO  # still under 熊本市 until they move
    where = moves.destination(db, keys, old)
    assert (where.code, where.name, where.in_portal) == (KOSHI, "合志市", True)
    found = moves.plan(db, keys, old, 3)
    assert [(c.service.name, bool(c.why_not), c.consented) for c in found.carries] == [
        ("子育て支援ナビ", False, True), ("図書館アプリ", True, False)]
    assert "合志市では、このサービスは提供されていません" in found.carries[1].why_not

    actor = resident_actor(db, old.id, "mynumber-card")
    koshi_text = consent.current_text(db, koshi_navi)
    with pytest.raises(Invalid):  # the library cannot be carried
        moves.move(db, actor, keys, old, carry={navi.id, library.id}, shown={navi.id: koshi_text.content_hash},
                   assurance_level=3)
    with pytest.raises(Conflict):  # a text other than the one shown
        moves.move(db, actor, keys, old, carry={navi.id}, shown={navi.id: "0" * 64}, assurance_level=3)
    moved = moves.move(db, actor, keys, old, carry={navi.id}, shown={navi.id: koshi_text.content_hash},
                       assurance_level=3)
    db.commit()

    new = moved.new
    assert (new.tenant_code, new.status, new.moved_from) == (KOSHI, ResidentStatus.active, KUMAMOTO)
    assert new.common_id and new.common_id != old.common_id  # one common ID in each municipality
    assert (old.status, old.moved_to) == (ResidentStatus.moved, KOSHI) and old.moved_at is not None
    [carried] = db.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == new.id)).all()
    assert (carried.service_id, carried.service_user_id, carried.method) == (koshi_navi.id, "navi-user-0001",
                                                                             LinkMethod.moved)
    assert all(link.ended_at is not None for link in db.scalars(
        sa.select(ServiceLink).where(ServiceLink.resident_id == old.id)))
    # 熊本市's consent withdrawn; 合志市's given to its own text, the optional purpose never asked before left out
    assert _state(db, navi.id, KUMAMOTO, "navi-user-0001") is ConsentEvent.withdrawn
    given = consent.latest_event(db, koshi_navi.id, KOSHI, "navi-user-0001")
    assert given.event is ConsentEvent.given and given.text_hash == koshi_text.content_hash
    assert json.loads(given.purposes) == ["子育て支援サービスの案内"]
    assert operations.disclosed_items(db, new.id, koshi_navi.id) == ["生年月日"]

    # each desk sees its side, and neither the other's person
    kumamoto_view = operations.look_up(db, desk(KUMAMOTO), keys, KUMAMOTO, common_id=old.common_id, reason="転出の確認")
    assert kumamoto_view["status"] == "moved" and kumamoto_view["moved_to"] == KOSHI
    koshi_view = operations.look_up(db, desk(KOSHI), keys, KOSHI, common_id=new.common_id, reason="転入の確認")
    assert koshi_view["moved_from"] == KUMAMOTO and koshi_view["links"][0]["service_user_id"] == "navi-user-0001"
    audits = {r.action: r for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.action.like("resident.move_%")))}
    assert audits["resident.move_out"].tenant_code == KUMAMOTO and audits["resident.move_in"].tenant_code == KOSHI
    assert json.loads(audits["resident.move_out"].after)["links_ended"] == [library.id]

    # the next sign-in goes under 合志市; 熊本市's record is no longer offered
    later = signin.sign_in(db, keys, "", _claims(KOSHI_HOME))
    assert (later.resident_id, later.municipalities) == (new.id, (KOSHI,))
    with pytest.raises(Conflict):
        moves.move(db, actor, keys, old, carry=set(), shown={}, assurance_level=3)


def test_a_move_out_of_the_area_ends_every_link_and_consent(db, keys, two_cities):
    navi, library, _ = two_cities
    old = _linked_resident(db, keys, navi, library)
    signin.sign_in(db, keys, "", _claims("福岡県福岡市中央区天神1-8-1"))
    where = moves.destination(db, keys, old)
    assert where.outside and all(c.why_not for c in moves.plan(db, keys, old, 3).carries)
    moved = moves.move(db, resident_actor(db, old.id, "mynumber-card"), keys, old, carry=set(), shown={},
                       assurance_level=3)
    db.commit()
    assert moved.new is None and (old.status, old.moved_to) == (ResidentStatus.moved, "")
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == 1  # nobody enrolled anywhere
    assert _state(db, navi.id, KUMAMOTO, "navi-user-0001") is ConsentEvent.withdrawn
    assert {link.ended_reason for link in db.scalars(sa.select(ServiceLink))} == {"転出"}
    with pytest.raises(Conflict):  # signing in to 熊本市 again says they moved away
        signin.sign_in(db, keys, KUMAMOTO, _claims(KUMAMOTO_HOME))


def _portal_session(client, resident: Resident) -> None:
    with client.session_transaction() as session:
        session["resident"] = {"resident_id": resident.id, "tenant_code": resident.tenant_code,
                               "common_id": resident.common_id, "status": "active", "provider": "mynumber-card",
                               "assurance_level": 3, "signed_in_at": "2026-11-25T10:00:00+00:00",
                               "seen": __import__("time").time(), "municipalities": [KUMAMOTO, KOSHI]}
        session["csrf"] = "move-csrf"


def test_the_portal_tells_the_resident_and_moves_them_on_one_page(app, client, db, two_cities):
    from admin.resident_keys import keyring

    navi, library, koshi_navi = two_cities
    keys = keyring()  # the app's own ring: the pages read with it
    old = _linked_resident(db, keys, navi, library)
    signin.sign_in(db, keys, "", _claims(KOSHI_HOME))
    db.commit()
    _portal_session(client, old)
    home = client.get("/portal/")
    assert home.status_code == 200
    assert 'id="move-notice"' in home.get_data(as_text=True) and "住所の市町村：合志市" in home.get_data(as_text=True)
    page = client.get("/portal/move").get_data(as_text=True)
    assert "子育て支援ナビを合志市に引き継ぐ" in page and "合志市では、このサービスは提供されていません" in page
    hidden = re.search(rf'name="text-{navi.id}" value="([0-9a-f]+)"', page).group(1)
    done = client.post("/portal/move", data={"csrf_token": "move-csrf", "carry": str(navi.id), f"text-{navi.id}": hidden})
    assert done.status_code == 302
    after = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "合志市の住民として住民ポータルを利用しています" in after and 'id="move-notice"' not in after
    db.rollback()
    new = db.scalar(sa.select(Resident).where(Resident.tenant_code == KOSHI))
    assert new.moved_from == KUMAMOTO and db.get(Resident, old.id).status is ResidentStatus.moved

    staff_sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="desk-csrf")
    desk = client.post("/admin/residents/lookup", data={"csrf_token": "desk-csrf", "tenant": KUMAMOTO,
                                                        "common_id": old.common_id, "reason": "転出の確認"})
    assert "転出済み（合志市へ" in desk.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentRecord).where(ConsentRecord.tenant_code == KOSHI)) == 1

"""One residents' portal for every member municipality (issue 56 item 1): which municipality a card's address lies in,
who places a municipality in the portal (audited), and a sign-in placed under the address's municipality, or under
the one the resident chose among those they are enrolled with; the console's page refuses a bad form beside the field.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Conflict, Forbidden, Invalid, NotPermitted, Unavailable
from residents import portal_municipalities as pm, signin
from residents.models import Resident, ResidentProvider
from tests.conftest import OPERATOR, sign_in
from tests.consent.conftest import admin_of
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO

KOSHI, MASHIKI, PREFECTURE = "432164", "434434", "430005"
CSRF = "portal-municipalities-token"
CARD = "https://card.example.jp"


@pytest.fixture
def cities(db, consent_setup, tenant_factory):
    for code in (KOSHI, MASHIKI, PREFECTURE):
        tenant_factory(code)
    db.add(ResidentProvider(alias="mynumber-card", display_name="マイナンバーカード", issuer=CARD,
                            discovery_url=f"{CARD}/.well-known/openid-configuration", assurance_level=3,
                            created_by="test"))
    db.commit()


@pytest.mark.parametrize("address, code", [
    ("熊本県熊本市中央区水前寺六丁目18番1号", KUMAMOTO),
    ("熊本市北区植木町岩野238-1", KUMAMOTO),  # no prefecture: the city's name alone
    ("熊本県　合志市竹迫２１４０", KOSHI),  # a full-width space, full-width digits
    ("熊本県上益城郡益城町大字宮園702", MASHIKI),  # a town after its county
    ("熊本県菊池郡西合志町御代志1661", KOSHI),  # a former town, merged into 合志市 in 2006
    ("熊本県鹿本郡植木町岩野238-1", KUMAMOTO),  # a former town, merged into 熊本市
    ("熊本県八代市松江城町1-25", YATSUSHIRO),
    ("福岡県福岡市中央区天神1-8-1", None),  # another prefecture
    ("熊本県天草市東浜町8-1", None),  # a municipality not registered on the platform
    ("", None),
])
def test_the_address_on_the_card_gives_its_municipality(db, cities, address, code):
    assert pm.municipality_of_address(db, address) == code


def test_a_name_two_prefectures_share_is_placed_only_with_its_prefecture(db, cities, tenant_factory):
    tenant_factory("113816", name_ja="美里町", name_en="Misato", kind="town")  # 埼玉県美里町
    tenant_factory("433489")  # 熊本県美里町
    assert pm.municipality_of_address(db, "熊本県下益城郡美里町永富") == "433489"
    assert pm.municipality_of_address(db, "美里町永富") is None  # which 美里町: not guessed


def test_the_operator_and_the_citys_own_admin_place_it_in_the_portal_audited(db, cities):
    with pytest.raises(NotPermitted):
        pm.set_portal(db, admin_of(YATSUSHIRO), KUMAMOTO, opted_in=True)
    pm.set_portal(db, admin_of(KUMAMOTO), KUMAMOTO, opted_in=True, welcome_ja="お問い合わせは市民課へ。")
    pm.set_portal(db, OPERATOR, KOSHI, opted_in=True)
    db.commit()
    assert pm.opted_in(db) == [KUMAMOTO, KOSHI]
    assert pm.welcome(db, KUMAMOTO) == "お問い合わせは市民課へ。" and pm.welcome(db, KUMAMOTO, ja=False) == "お問い合わせは市民課へ。"
    assert [row.tenant_code for row in pm.settings_for(db, admin_of(KUMAMOTO))] == [KUMAMOTO]
    assert {row.tenant_code for row in pm.settings_for(db, OPERATOR)} == {KUMAMOTO, YATSUSHIRO, KOSHI, MASHIKI}
    pm.set_portal(db, OPERATOR, KOSHI, opted_in=False)
    db.commit()
    assert pm.opted_in(db) == [KUMAMOTO]
    records = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.portal.configure",
                                                      AuditRecord.target_id == KOSHI).order_by(AuditRecord.id)).all()
    assert [json.loads(r.before) if r.before else None for r in records] == [
        None, {"opted_in": True, "welcome_ja": "", "welcome_en": ""}]
    assert json.loads(records[-1].after)["opted_in"] is False and records[-1].tenant_code == KOSHI


def test_the_prefecture_does_not_take_part_and_words_keep_to_their_limit(db, cities):
    with pytest.raises(Conflict):
        pm.set_portal(db, OPERATOR, PREFECTURE, opted_in=True)
    with pytest.raises(Invalid) as refused:
        pm.set_portal(db, OPERATOR, KUMAMOTO, opted_in=True, welcome_ja="あ" * (pm.WELCOME_MAX + 1))
    assert [p["field"] for p in refused.value.problems] == ["welcome_ja"]


def _claims(subject: str, address: str, name: str = "合志 花子") -> dict:
    return {"renkei_idp": "mynumber-card", "renkei_subject": subject, "renkei_name": name,
            "renkei_address": address, "renkei_birthdate": "1985-06-01", "renkei_gender": "female"}


def test_two_residents_of_two_municipalities_sign_in_at_one_portal_each_under_their_own(db, cities, keys):
    with pytest.raises(Unavailable):  # no municipality takes part yet
        signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0001", "熊本県合志市竹迫2140"))
    pm.set_portal(db, OPERATOR, KUMAMOTO, opted_in=True)
    pm.set_portal(db, OPERATOR, KOSHI, opted_in=True)
    db.commit()
    koshi = signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0001", "熊本県合志市竹迫2140"))
    kumamoto = signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0002", "熊本県熊本市中央区手取本町1-1", "熊本 一郎"))
    assert (koshi.tenant_code, koshi.municipalities) == (KOSHI, (KOSHI,))
    assert (kumamoto.tenant_code, kumamoto.municipalities) == (KUMAMOTO, (KUMAMOTO,))
    assert db.get(Resident, koshi.resident_id).tenant_code == KOSHI
    assert db.get(Resident, kumamoto.resident_id).tenant_code == KUMAMOTO
    with pytest.raises(Forbidden):  # 八代市 does not take part: its resident is sent to the counter
        signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0003", "熊本県八代市松江城町1-25", "八代 三郎"))


def test_a_resident_enrolled_with_two_municipalities_chooses_and_each_keeps_its_common_id(db, cities, keys):
    pm.set_portal(db, OPERATOR, KUMAMOTO, opted_in=True)
    pm.set_portal(db, OPERATOR, KOSHI, opted_in=True)
    db.commit()
    # enrolled with 熊本市 while living there (the deployment then named 熊本市 alone), now living in 合志市
    first = signin.sign_in(db, keys, KUMAMOTO, _claims("0b6f1c1e-card-0009", "熊本県合志市竹迫2140"))
    assert first.tenant_code == KUMAMOTO and first.municipalities == (KUMAMOTO,)
    count = lambda: db.scalar(sa.select(sa.func.count()).select_from(Resident))  # noqa: E731
    again = signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0009", "熊本県合志市竹迫2140"))
    assert (again.tenant_code, again.municipalities) == (KUMAMOTO, (KUMAMOTO, KOSHI))  # where they are enrolled
    assert again.resident_id == first.resident_id and count() == 1  # not enrolled anew without choosing it
    outside = signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0009", "熊本県合志市竹迫2140"), chosen=YATSUSHIRO)
    assert outside.tenant_code == KUMAMOTO and count() == 1  # not one of theirs: where they are enrolled
    home = signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0009", "熊本県合志市竹迫2140"), chosen=KOSHI)
    assert home.tenant_code == KOSHI and home.resident_id != first.resident_id and count() == 2
    assert db.get(Resident, home.resident_id).common_id != db.get(Resident, first.resident_id).common_id
    back = signin.sign_in(db, keys, "", _claims("0b6f1c1e-card-0009", "熊本県合志市竹迫2140"), chosen=KUMAMOTO)
    assert back.resident_id == first.resident_id and back.municipalities == (KUMAMOTO, KOSHI)


def test_the_console_page_places_a_city_and_refuses_over_long_words_beside_the_field(app, client, db, cities):
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf=CSRF)
    page = client.get("/admin/portal-municipalities/")
    assert page.status_code == 200 and "熊本市" in page.get_data(as_text=True)
    assert "合志市" not in page.get_data(as_text=True)  # another municipality's setting is not theirs
    assert client.get(f"/admin/portal-municipalities/?tenant={KOSHI}").status_code == 404
    assert client.post(f"/admin/portal-municipalities/{KOSHI}", data={"csrf_token": CSRF, "opted_in": "y"}).status_code == 404
    assert pm.opted_in(db) == []  # nor may they place it
    long = "あ" * (pm.WELCOME_MAX + 1)
    refused = client.post(f"/admin/portal-municipalities/{KUMAMOTO}",
                          data={"csrf_token": CSRF, "opted_in": "y", "welcome_ja": long})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and f"{pm.WELCOME_MAX} 文字以内" in html and long in html
    assert pm.opted_in(db) == []
    saved = client.post(f"/admin/portal-municipalities/{KUMAMOTO}",
                        data={"csrf_token": CSRF, "opted_in": "y", "welcome_ja": "市民課 096-000-0000"})
    assert saved.status_code == 302
    assert pm.opted_in(db) == [KUMAMOTO] and pm.welcome(db, KUMAMOTO) == "市民課 096-000-0000"
    assert "参加" in client.get(saved.headers["Location"]).get_data(as_text=True)

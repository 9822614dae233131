"""Subject IDs that are IDs (issue 54 item 4): an e-mail address, a phone number or a 個人番号 is refused in words
wherever a service's user ID enters (the desk's link form, the API, the operations behind link codes and
consent records), and each service declares the form of its own user IDs (defaults that take today's IDs)."""

from __future__ import annotations

import pytest

from core import codes
from core.errors import Invalid
from residents import operations as residents
from residents.consent import subject_ids
from tests.conftest import sign_in
from tests.residents.conftest import KUMAMOTO, desk, person
from tests.residents.test_desk_forms import TEXT, enrolled, error_beside, link_form


def test_the_my_number_check_digit_is_the_laws_formula_worked_by_hand():
    """総務省令第85号 第5条: 11 − (Σ Pn×Qn mod 11), 0 when the remainder is 0 or 1; Pn the n-th digit from the right
    of the first eleven, Qn = n+1 (n ≤ 6) or n−5 (7 ≤ n ≤ 11). For 12345678901: Σ = 1×2 + 0×3 + 9×4 + 8×5 + 7×6
    + 6×7 + 5×2 + 4×3 + 3×4 + 2×5 + 1×6 = 212, 212 mod 11 = 3, so the check digit is 8."""
    assert codes.my_number_check_digit("12345678901") == 8 and codes.is_my_number_shaped("123456789018")
    # 00000000010: Σ = 1×3 = 3 → 8; 00000000005: Σ = 5×2 = 10 → 1; 00000000011: Σ = 1×2 + 1×3 = 5 → 6
    assert [codes.my_number_check_digit(base) for base in ("00000000010", "00000000005", "00000000011")] == [8, 1, 6]
    # remainder 1 (Σ = 12 for 00000000006) and remainder 0 (Σ = 0) both give 0
    assert codes.my_number_check_digit("00000000006") == 0 and codes.my_number_check_digit("00000000000") == 0


@pytest.mark.parametrize("value, kind", [
    ("taro.kumamoto@example.jp", "email"), ("096-328-2111", "phone"), ("0963282111", "phone"),
    ("090-1234-5678", "phone"), ("05012345678", "phone"), ("123456789018", "my_number"), ("1234-5678-9018", "my_number")])
def test_contact_data_and_a_my_number_are_named_for_what_they_are(value, kind):
    assert subject_ids.shape_problem(value)[0] == kind


@pytest.mark.parametrize("value", ["navi-user-0001", "clinic-77-0001", "pid-0f8e2b1c9d7a4e3f", "123456789012",
                                   "urn:idp:user@kumamoto", "0123456789012", "1963282111"])
def test_todays_identifiers_are_not_taken_for_contact_data(value):
    assert subject_ids.shape_problem(value) is None  # 123456789012's check digit is 8, not 2


def test_an_email_as_a_user_id_is_refused_beside_the_field_as_typed_and_nothing_is_saved(client, db, consent_setup):
    from residents.models import ServiceLink
    import sqlalchemy as sa

    navi = consent_setup(name="くらしナビ", text=TEXT)
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    common_id = enrolled(client, db)
    refused = client.post("/admin/residents/link", data=link_form(common_id, navi.id, "taro.kumamoto@example.jp"))
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "メールアドレスです" in error_beside(page, "link_user_id")
    assert 'value="taro.kumamoto@example.jp"' in page
    phone = client.post("/admin/residents/link", data=link_form(common_id, navi.id, "090-1234-5678"))
    assert phone.status_code == 422 and "電話番号です" in error_beside(phone.get_data(as_text=True), "link_user_id")
    assert db.scalar(sa.select(sa.func.count()).select_from(ServiceLink)) == 0


@pytest.mark.keycloak
def test_the_desks_link_api_refuses_an_email_as_the_user_id(client, db, consent_setup, user_factory):
    _, staff = user_factory(("resident-desk",), KUMAMOTO)
    navi = consent_setup()
    base = f"/api/v1/tenants/{KUMAMOTO}"
    enrolled = client.post(f"{base}/residents", headers=staff, json={k: v for k, v in person().items() if k != "tenant_code"})
    assert enrolled.status_code == 201, enrolled.get_json()
    answer = client.post(f"{base}/residents/{enrolled.get_json()['common_id']}/links", headers=staff, json={
        "service_id": navi.id, "service_user_id": "taro.kumamoto@example.jp", "assurance_level": 3})
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    [error] = answer.get_json()["errors"]
    assert error["field"] == "service_user_id" and "メールアドレスです" in error["message_ja"]
    assert "is an e-mail address" in error["message_en"]


def test_a_service_declares_the_form_of_its_user_ids_and_a_link_outside_it_is_refused(db, consent_setup, keys):
    navi = consent_setup(user_id_pattern=r"^navi-user-[0-9]{4}$", user_id_min_length=14, user_id_max_length=14)
    plain = consent_setup(name="既定のサービス")
    assert (plain.user_id_pattern, plain.user_id_min_length, plain.user_id_max_length) == (
        subject_ids.DEFAULT_PATTERN, 8, 128)  # the platform's own form, which today's IDs meet
    common_id = residents.enrol(db, desk(), keys, person()).resident.common_id
    with pytest.raises(Invalid) as refused:
        residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "clinic-77-0001",
                                                                 "assurance_level": 3})
    [found] = refused.value.problems
    assert found["field"] == "service_user_id" and "^navi-user-[0-9]{4}$" in found["message_ja"]
    link = residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                                    "assurance_level": 3})
    assert link.service_user_id == "navi-user-0001"


@pytest.mark.parametrize("fields, field", [({"user_id_pattern": "^navi-[0-9"}, "user_id_pattern"),
                                           ({"user_id_min_length": 20, "user_id_max_length": 10}, "user_id_max_length"),
                                           ({"user_id_min_length": 4}, "user_id_min_length")])
def test_a_form_that_cannot_be_a_form_is_refused_when_the_service_is_registered(db, consent_setup, fields, field):
    with pytest.raises(Invalid) as refused:
        consent_setup(name="誤った形式", **fields)
    assert [p["field"] for p in refused.value.problems] == [field], refused.value.problems


def test_the_register_page_takes_the_form_and_keeps_what_was_typed_when_it_is_refused(client, db, consent_setup):
    from residents.consent.models import DataService
    import sqlalchemy as sa

    from tests.consent.test_pages import FORM

    consent_setup()  # the levels and the cities (and a service of the default form)
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    page = client.get("/admin/consent-services/new").get_data(as_text=True)
    assert "利用者IDの形式" in page and 'value="^[A-Za-z0-9._:@-]+$"' in page
    form = {**FORM, "csrf_token": "t", "user_id_pattern": "^navi-[0-9", "user_id_min_length": "8",
            "user_id_max_length": "128"}
    refused = client.post("/admin/consent-services/new", data=form)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "正規表現として読めません" in error_beside(text, "user_id_pattern")
    assert 'value="^navi-[0-9"' in text
    saved = client.post("/admin/consent-services/new", data={**form, "user_id_pattern": "^navi-[0-9]{4}$"})
    assert saved.status_code == 302, error_beside(saved.get_data(as_text=True), "user_id_pattern")
    service = db.scalars(sa.select(DataService).order_by(DataService.id.desc())).first()
    assert service.user_id_pattern == "^navi-[0-9]{4}$"
    assert "^navi-[0-9]{4}$" in client.get(saved.headers["Location"]).get_data(as_text=True)

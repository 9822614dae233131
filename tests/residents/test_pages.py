"""The residents' desk page: enrol at the counter (a second enrolment of the same person waits for review),
look a person up with a reason, decide the review; another municipality's desk and the city's admin get nothing."""

from __future__ import annotations

import sqlalchemy as sa

from core.audit import AuditRecord
from core.codes import is_common_id
from residents.models import Resident
from tests.conftest import sign_in
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO

FORM = {"full_name": "髙橋 太郎", "address": "熊本市中央区水前寺6-18-1", "birth_date": "1980-04-01", "sex": "1",
        "verification": "my_number_card", "assurance_level": "3", "csrf_token": "t"}


def test_the_desk_enrols_looks_up_and_decides_a_review_on_its_page(client, db, consent_setup):
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    page = client.get("/admin/residents/")
    assert page.status_code == 200 and "住民窓口" in page.get_data(as_text=True)
    enrolled = client.post("/admin/residents/enrol", data=FORM)
    assert enrolled.status_code == 200 and "登録しました" in enrolled.get_data(as_text=True)
    common_id = db.scalar(sa.select(Resident.common_id).where(Resident.common_id.is_not(None)))
    assert is_common_id(common_id) and common_id in enrolled.get_data(as_text=True)
    again = client.post("/admin/residents/enrol", data={**FORM, "full_name": "高橋　太郎"}).get_data(as_text=True)
    assert "確認待ち" in again and common_id in again  # the queue shows the person it matched

    refused = client.post("/admin/residents/lookup", data={"common_id": common_id, "reason": "", "csrf_token": "t"})
    assert refused.status_code == 422 and "閲覧の理由" in refused.get_data(as_text=True)
    seen = client.post("/admin/residents/lookup", data={"common_id": common_id, "reason": "窓口での確認", "csrf_token": "t"})
    assert seen.status_code == 200 and "髙橋 太郎" in seen.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "resident.view")) == 1

    review_id = db.scalar(sa.text("SELECT id FROM resident_review"))
    decided = client.post(f"/admin/residents/reviews/{review_id}",
                          data={"decision": "same", "reason": "券面の一致", "csrf_token": "t"})
    assert decided.status_code == 200 and "確認待ちの登録はありません" in decided.get_data(as_text=True)


def test_another_municipality_and_the_citys_admin_see_nothing(client, db, consent_setup):
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    client.post("/admin/residents/enrol", data=FORM)
    common_id = db.scalar(sa.select(Resident.common_id))
    sign_in(client, ["resident-desk"], [YATSUSHIRO], csrf="t")
    other = client.post("/admin/residents/lookup", data={"common_id": common_id, "reason": "確認", "csrf_token": "t"})
    assert other.status_code == 404 and "髙橋" not in other.get_data(as_text=True)
    forced = client.post(f"/admin/residents/lookup?tenant={KUMAMOTO}",
                         data={"common_id": common_id, "reason": "確認", "csrf_token": "t"})
    assert forced.status_code == 403 and "髙橋" not in forced.get_data(as_text=True)
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    assert client.get("/admin/residents/").status_code == 403


def test_two_people_of_the_desk_split_a_wrong_link_on_the_page_after_a_confirmation(client, db, consent_setup):
    from residents.models import ServiceLink

    navi = consent_setup()
    sign_in(client, ["resident-desk"], [KUMAMOTO], subject="desk-a", name="窓口 一郎", csrf="t")
    client.post("/admin/residents/enrol", data=FORM)
    common_id = db.scalar(sa.select(Resident.common_id))
    from residents import operations as residents
    from tests.residents.conftest import desk

    residents.link_service(db, desk(), KUMAMOTO, common_id, {"service_id": navi.id, "service_user_id": "navi-user-0001",
                                                             "assurance_level": 3})
    db.commit()
    seen = client.post("/admin/residents/lookup", data={"common_id": common_id, "reason": "窓口での確認", "csrf_token": "t"})
    assert "解除を提案する" in seen.get_data(as_text=True)
    proposed = client.post("/admin/residents/recoveries/split", data={
        "common_id": common_id, "service_id": str(navi.id), "reason": "別人の利用者ID", "csrf_token": "t"})
    page = proposed.get_data(as_text=True)
    assert proposed.status_code == 200 and "別の担当者が承認すると連携が解除されます" in page
    assert "あなたの提案です" in page and 'value="approve"' not in page  # the proposer is offered no approval
    own = client.post("/admin/residents/recoveries/1", data={"decision": "approve", "confirmed": "1", "csrf_token": "t"})
    assert own.status_code == 409 and db.scalar(sa.select(ServiceLink.ended_at)) is None

    sign_in(client, ["resident-desk"], [KUMAMOTO], subject="desk-b", name="窓口 二郎", csrf="t")
    asked = client.post("/admin/residents/recoveries/1", data={"decision": "approve", "reason": "申出書", "csrf_token": "t"})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "元に戻せません" in text and "navi-user-0001" in text  # the consequence, first
    assert db.scalar(sa.select(ServiceLink.ended_at)) is None
    done = client.post("/admin/residents/recoveries/1", data={"decision": "approve", "reason": "申出書", "confirmed": "1",
                                                              "csrf_token": "t"})
    assert done.status_code == 200 and "承認し、実施しました" in done.get_data(as_text=True)
    db.expire_all()
    assert db.scalar(sa.select(ServiceLink.ended_by)) == "窓口 二郎"
    sign_in(client, ["resident-desk"], [YATSUSHIRO], csrf="t")
    assert client.post(f"/admin/residents/recoveries/1?tenant={KUMAMOTO}",
                       data={"decision": "refuse", "reason": "他市", "csrf_token": "t"}).status_code == 403


def test_the_desk_searches_by_name_with_a_reason_and_the_figures_hide_small_counts(client, db, consent_setup):
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    client.post("/admin/residents/enrol", data=FORM)
    common_id = db.scalar(sa.select(Resident.common_id))
    search = {"search_name": "高橋　太郎", "search_birth_date": "1980-04-01", "search_reason": "福祉課からの照会",
              "csrf_token": "t"}
    refused = client.post("/admin/residents/search", data={**search, "search_reason": ""})
    assert refused.status_code == 422 and "閲覧の理由" in refused.get_data(as_text=True)
    found = client.post("/admin/residents/search", data=search).get_data(as_text=True)
    assert common_id in found and "髙橋 太郎" in found
    none = client.post("/admin/residents/search", data={**search, "search_birth_date": "1980-04-02"})
    assert none.status_code == 200 and common_id not in none.get_data(as_text=True)
    assert client.post("/admin/residents/search", data={**search, "search_birth_date": "いつか"}).status_code == 422
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "resident.search")) == 2

    figures = client.get("/admin/residents-figures/").get_data(as_text=True)
    assert "住民に関する集計" in figures and "10未満" in figures  # one enrolment: below the threshold
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    assert client.get("/admin/residents-figures/").status_code == 200
    assert client.post("/admin/residents/search", data=search).status_code == 403
    sign_in(client, ["municipal-admin"], [YATSUSHIRO], csrf="t")
    assert client.get(f"/admin/residents-figures/?tenant={KUMAMOTO}").status_code == 403


def test_a_merge_is_proposed_on_the_page_and_a_missing_reason_is_said_beside_its_field(client, db, consent_setup):
    sign_in(client, ["resident-desk"], [KUMAMOTO], csrf="t")
    client.post("/admin/residents/enrol", data=FORM)
    client.post("/admin/residents/enrol", data={**FORM, "full_name": "別人 花子", "birth_date": "1990-02-02"})
    first, second = db.scalars(sa.select(Resident.common_id).order_by(Resident.id)).all()
    form = {"surviving_common_id": first, "merged_common_id": second, "csrf_token": "t"}
    refused = client.post("/admin/residents/recoveries/merge", data=form)
    assert refused.status_code == 422 and "必須です（理由を記録します）" in refused.get_data(as_text=True)
    proposed = client.post("/admin/residents/recoveries/merge", data={**form, "merge_reason": "同一人物の二重登録"})
    text = proposed.get_data(as_text=True)
    assert proposed.status_code == 200 and "承認すると統合されます" in text and f"{second}</code> → <code>{first}" in text

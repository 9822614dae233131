"""The residents' portal, part 2 (issue 42 item 7): who received what (exactly the resident's own records, a
wrong link's marked), notices (the desk's to the city's residents, read once opened), the download of
everything held (JSON and CSV alike, nobody else's), leaving (links ended, consents withdrawn, the brokerage
refuses, the session ended, no way back in) and the erasure of the key material a year later."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time

import pytest
import sqlalchemy as sa

from admin.resident_keys import keyring
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Invalid
from residents.consent import operations as consent
from residents.consent.check import consent_check
from residents.consent.models import ConsentEvent, LinkageRecord
from residents import brokerage, operations as residents, portal_records, recovery
from residents.portal import resident_actor
from residents.models import (MatchReason, Resident, ResidentIdentity, ResidentNotice, ResidentReview, ResidentStatus,
                              ServiceLink)
from tenancy.identity.models import ApiClient
from tests.consent.conftest import BROKER, clerk
from tests.residents.conftest import KUMAMOTO, YATSUSHIRO, api_client, desk, person

TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名・住所を案内に利用します。", "purposes": ["行政サービスの案内"],
        "items": {"氏名": {}, "住所": {}}}
ME = "髙橋 太郎"
SOMEONE_ELSE = "佐藤 花子"


def second_desk() -> Actor:
    return Actor(issuer="urn:test", subject="desk2", name="住民窓口 二人目", roles=frozenset({"resident-desk"}),
                 tenant_codes=frozenset({KUMAMOTO}))


def enrolled(db, tenant: str = KUMAMOTO, **fields) -> Resident:
    resident = residents.enrol(db, desk(tenant), keyring(), person(tenant_code=tenant, **fields)).resident
    db.commit()
    return resident


def link(db, resident, service, user_id):
    residents.link_service(db, desk(resident.tenant_code), resident.tenant_code, resident.common_id,
                           {"service_id": service.id, "service_user_id": user_id, "assurance_level": 3})
    db.commit()


def give(db, service, user_id):
    text = consent.current_text(db, service)
    consent.give_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id,
                                       "content_hash": text.content_hash, "method": "paper", "assurance_level": 3})
    db.commit()


def check(db, service, user_id) -> int:
    seq = consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id,
                                     "items": ["氏名"], "purpose": "行政サービスの案内"}).linkage_seq
    db.commit()
    return seq


def signed_in(client, resident) -> None:
    with client.session_transaction() as session:
        session["resident"] = {"resident_id": resident.id, "tenant_code": resident.tenant_code,
                               "common_id": resident.common_id, "status": "active", "provider": "mynumber-card",
                               "assurance_level": 3, "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": time.time()}


@pytest.fixture
def story(app, db, consent_setup):
    """Me, linked to くらしナビ (current) and to 健康ポイント (split as wrong); someone else at くらしナビ; and records
    of both, some of my user ID outside my link's life."""
    navi_client = api_client(db, "くらしナビ")
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=navi_client)
    health = consent_setup(name="健康ポイント", text=TEXT)
    me = enrolled(db)
    other = enrolled(db, full_name=SOMEONE_ELSE, birth_date="1990-02-03", sex="2")
    before = check(db, navi, "navi-0001")  # my user ID before my link: refused, and not mine
    link(db, me, navi, "navi-0001")
    link(db, other, navi, "navi-9999")
    link(db, me, health, "health-0001")
    for service, user_id in ((navi, "navi-0001"), (navi, "navi-9999"), (health, "health-0001")):
        give(db, service, user_id)
    for resident, service in ((me, navi), (other, navi), (me, health)):  # the resident's ticks: 氏名 and 住所
        residents.set_disclosure(db, desk(), KUMAMOTO, resident.common_id,
                                 {"service_id": service.id, "items": ["氏名", "住所"], "reason": "本人の申出"})
    db.commit()
    mine = [check(db, navi, "navi-0001"), check(db, navi, "navi-0001"), check(db, health, "health-0001")]
    others = [check(db, navi, "navi-9999")]
    proposal = recovery.propose_split(db, desk(), KUMAMOTO, me.common_id, health.id, "別人の利用者IDと連携していた")
    db.commit()
    recovery.approve(db, second_desk(), KUMAMOTO, proposal.id)
    db.commit()
    others.append(check(db, health, "health-0001"))  # after the split: that ID is not mine
    return {"navi": navi, "health": health, "me": me, "other": other, "mine": mine, "others": [before, *others],
            "navi_client": navi_client}


def history_items(page: str) -> list[str]:
    listed = page.split('id="history"', 1)[1].split("</ol>", 1)[0]
    return listed.split("<li>")[1:]


def test_history_shows_exactly_my_records_newest_first_with_the_wrong_link_marked(app, client, db, story):
    signed_in(client, story["me"])
    page = client.get("/portal/history").get_data(as_text=True)
    items = history_items(page)
    assert len(items) == 3
    assert "健康ポイント" in items[0] and "くらしナビ" in items[1] and "くらしナビ" in items[2]  # newest first
    assert "誤り" in items[0] and "誤り" not in items[1]  # the split link's record is marked
    assert "提供しました" in items[1] and "氏名" in items[1]
    english = client.get("/portal/history?lang=en").get_data(as_text=True)
    assert "Provided" in english and "Allowed on the person&#39;s consent" in english


def test_history_is_paged(app, client, db, story, monkeypatch):
    monkeypatch.setattr(portal_records, "PAGE_SIZE", 2)
    signed_in(client, story["me"])
    first = client.get("/portal/history").get_data(as_text=True)
    second = client.get("/portal/history?page=2").get_data(as_text=True)
    assert len(history_items(first)) == 2 and len(history_items(second)) == 1
    assert 'rel="next"' in first and 'rel="prev"' in second


def test_the_download_holds_my_name_both_links_and_nobody_else_s_and_the_csv_the_same_records(app, client, db, story):
    signed_in(client, story["me"])
    answer = client.get("/portal/data.json")
    assert answer.status_code == 200 and "attachment" in answer.headers["Content-Disposition"]
    data = json.loads(answer.get_data(as_text=True))
    assert data["personal"]["full_name"] == ME and data["resident"]["common_id"] == story["me"].common_id
    assert {(link["service"], link["service_user_id"]) for link in data["links"]} == {
        ("くらしナビ", "navi-0001"), ("健康ポイント", "health-0001")}
    assert [link["ended_reason"] for link in data["links"] if link["service"] == "健康ポイント"] == ["別人の利用者IDと連携していた"]
    assert sorted(row["seq"] for row in data["linkages"]) == sorted(story["mine"])
    assert len(data["consents"]) == 2 and all(row["text_version"] == 1 for row in data["consents"])
    assert [row["title"] for row in data["notices"]] == ["サービスとの連携を解除しました"]
    text = answer.get_data(as_text=True)
    assert SOMEONE_ELSE not in text and "navi-9999" not in text and story["other"].common_id not in text

    raw = client.get("/portal/data.csv")
    assert raw.status_code == 200 and raw.get_data().startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.get_data().decode("utf-8-sig"))))
    assert rows[0] == ["区分 / section", "番号 / number", "項目 / item", "値 / value"]
    seqs = sorted(int(row[3]) for row in rows if row[0] == "提供の記録 / what was provided" and row[2] == "記録の番号 / record number")
    assert seqs == sorted(story["mine"])
    assert ["基本4情報 / basic four items", "1", "氏名 / name", ME] in rows
    # every item is named in words, never by the JSON's keys (full_name, verified_claims, ...)
    keys = {key for content in data.values() for record in (content if isinstance(content, list) else [content])
            for key in record}
    assert not keys & {row[2] for row in rows} and all(" / " in row[2] for row in rows)
    assert SOMEONE_ELSE not in raw.get_data().decode("utf-8-sig")

    downloads = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "resident.data.download")
                              .order_by(AuditRecord.seq)))
    assert [json.loads(record.after)["format"] for record in downloads] == ["json", "csv"]
    assert all(ME not in (record.after or "") for record in downloads)
    english = list(csv.reader(io.StringIO(client.get("/portal/data.csv?lang=en").get_data().decode("utf-8-sig"))))
    assert english[0][2] == "item / 項目" and ["basic four items / 基本4情報", "1", "name / 氏名", ME] in english


def test_notices_from_the_desk_reach_the_city_s_residents_and_are_read_once_opened(app, client, db, story):
    posted = portal_records.publish_notice(db, desk(), KUMAMOTO, {"title_ja": "年末年始の窓口", "body_ja": "12月29日から休みます。",
                                                                  "title_en": "Desk closed", "body_en": "From 29 December."})
    db.commit()
    assert posted["residents"] == 2
    elsewhere = enrolled(db, YATSUSHIRO, full_name="八代 一郎")
    signed_in(client, story["me"])
    front = client.get("/portal/").get_data(as_text=True)
    assert 'id="unread-count"' in front and "2" in front.split('id="unread-count"', 1)[1][:40]
    page = client.get("/portal/notices").get_data(as_text=True)
    assert "年末年始の窓口" in page and "サービスとの連携を解除しました" in page and page.count('class="unread"') == 2
    assert 'class="unread"' not in client.get("/portal/notices").get_data(as_text=True)
    assert 'id="unread-count"' not in client.get("/portal/").get_data(as_text=True)
    signed_in(client, elsewhere)  # another municipality's resident: nothing of Kumamoto's, nothing of mine
    assert 'id="notices-empty"' in client.get("/portal/notices").get_data(as_text=True)
    assert 'id="history-empty"' in client.get("/portal/history").get_data(as_text=True)
    data = client.get("/portal/data.json").get_data(as_text=True)
    assert ME not in data and "navi-0001" not in data and story["me"].common_id not in data


def test_another_city_s_desk_cannot_post_to_kumamoto(db, consent_setup):
    from core.errors import NotPermitted

    with pytest.raises(NotPermitted):
        portal_records.publish_notice(db, desk(YATSUSHIRO), KUMAMOTO, {"title_ja": "お知らせ", "body_ja": "本文"})


def _csrf(client) -> str:
    client.get("/portal/leave")
    with client.session_transaction() as session:
        return session["csrf"]


def test_leaving_ends_links_withdraws_consents_refuses_the_broker_and_signs_out(app, client, db, story):
    me = story["me"]
    signed_in(client, me)
    page = client.get("/portal/leave").get_data(as_text=True)
    assert 'id="leave-form"' in page and "同意はすべて撤回" in page
    assert client.post("/portal/leave", data={}).status_code == 400  # the form's token is needed
    answer = client.post("/portal/leave", data={"csrf_token": _csrf(client)})
    assert answer.status_code == 302
    db.expire_all()
    assert db.get(Resident, me.id).status is ResidentStatus.left
    links = list(db.scalars(sa.select(ServiceLink).where(ServiceLink.resident_id == me.id)))
    assert all(link.ended_at is not None for link in links)
    assert [link.ended_reason for link in links if link.service_id == story["navi"].id] == ["本人の退会"]
    latest = consent.latest_event(db, story["navi"].id, KUMAMOTO, "navi-0001")
    assert latest.event == ConsentEvent.withdrawn
    navi_actor = Actor(issuer="urn:test", subject="svc-navi", roles=frozenset({"brokerage-client"}),
                       client_id=story["navi_client"])
    answer = brokerage.broker(db, navi_actor, keyring(), {"service_id": story["navi"].id, "service_user_id": "navi-0001",
                                                          "items": ["氏名"], "purpose": "行政サービスの案内"})
    assert not answer.allowed and answer.reason == "not_linked"
    assert 'id="sign-in"' in client.get("/portal/").get_data(as_text=True)  # signed out
    assert client.get("/portal/history").status_code == 302
    left = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.leave"))
    assert left is not None and ME not in left.after


def test_a_left_resident_signing_in_is_told_and_not_re_enrolled(app, db, story):
    from core.errors import Conflict
    from residents import signin
    from residents.models import ResidentProvider

    me = story["me"]
    db.add(ResidentProvider(alias="mynumber-card", display_name="マイナンバーカード", issuer="https://card.example.jp",
                            discovery_url="https://card.example.jp/.well-known/openid-configuration",
                            assurance_level=3, created_by="test"))
    db.add(ResidentIdentity(resident_id=me.id, tenant_code=KUMAMOTO, issuer="https://card.example.jp", subject="card-1"))
    db.commit()
    portal_records.leave(db, resident_actor(db, me.id, "mynumber-card"), me)
    db.commit()
    count = db.scalar(sa.select(sa.func.count()).select_from(Resident))
    claims = {"renkei_idp": "mynumber-card", "renkei_name": ME, "renkei_address": "熊本県熊本市中央区水前寺六丁目18番1号",
              "renkei_birthdate": "1980-04-01", "renkei_gender": "male"}
    with pytest.raises(Conflict) as refused:  # their identifier
        signin.sign_in(db, keyring(), KUMAMOTO, {**claims, "renkei_subject": "card-1"})
    db.rollback()
    assert "退会" in refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == count
    # a new identifier with the same 基本4情報 may be them (a renewed card) or a namesake: never re-activated,
    # never refused as someone else's leaving; held for the desk's review without a common ID
    signed = signin.sign_in(db, keyring(), KUMAMOTO, {**claims, "renkei_subject": "card-renewed"})
    assert (signed.status, signed.common_id) == ("review", None)
    db.refresh(me)
    assert me.status is ResidentStatus.left


def test_the_retention_job_erases_the_key_material_after_the_period_and_not_before(app, db, story):
    from tests.admin.test_jobs_run_due import job_records, run

    me = story["me"]
    db.add(ResidentIdentity(resident_id=me.id, tenant_code=KUMAMOTO, issuer="https://card.example.jp", subject="card-1"))
    # a sign-in of mine brought changed items that matched someone else: held in a row of their own, for review
    held = enrolled(db, full_name="髙橋 次郎", birth_date="1985-05-05")
    db.add(ResidentReview(tenant_code=KUMAMOTO, candidate_id=held.id, matched_id=story["other"].id, claims_of_id=me.id,
                          reason=MatchReason.basic_four, address_matches=False))
    db.commit()
    portal_records.leave(db, resident_actor(db, me.id, "mynumber-card"), me)
    db.commit()
    raw = sa.text("SELECT full_name, address, birth_date, sex, person_hash, name_hash, common_id FROM resident WHERE id = :id")
    assert run(app, "--only", "resident-retention").exit_code == 0
    assert job_records(db)["resident-retention"]["erased"] == 0
    kept = db.execute(raw, {"id": me.id}).one()
    assert kept.full_name.startswith("v1:") and kept.person_hash  # right after leaving: still there

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=366)  # the clock moved past the year
    with pytest.raises(Invalid, match="kept one year"):  # a setting below the linkage records' year erases nothing
        portal_records.erase_left(db, Actor(issuer="urn:test", subject="job"), days=30, now=later - dt.timedelta(days=300))
    assert db.execute(raw, {"id": me.id}).one().person_hash
    assert portal_records.erase_left(db, Actor(issuer="urn:test", subject="job"), now=later) == 1
    db.commit()
    erased = db.execute(raw, {"id": me.id}).one()
    assert (erased.full_name, erased.address, erased.birth_date, erased.sex, erased.person_hash, erased.name_hash) == \
        ("", "", "", "", "", "")
    assert erased.common_id == me.common_id  # the shell keeps the records' references
    assert db.execute(raw, {"id": held.id}).one()[:6] == ("", "", "", "", "", "")  # my held items too
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentIdentity)
                     .where(ResidentIdentity.resident_id == me.id)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(LinkageRecord)) >= len(story["mine"])
    other = db.execute(raw, {"id": story["other"].id}).one()
    assert other.full_name.startswith("v1:")  # someone who did not leave keeps theirs


def test_the_desk_posts_a_notice_with_its_form_and_a_refused_form_comes_back_with_what_was_typed(app, client, db, story):
    from tests.conftest import sign_in as staff_sign_in

    staff_sign_in(client, ("resident-desk",), (KUMAMOTO,), csrf="token")
    form = client.get("/admin/resident-notices/").get_data(as_text=True)
    assert 'id="resident-notice-form"' in form and 'for="title_ja"' in form
    refused = client.post("/admin/resident-notices/", data={"csrf_token": "token", "tenant": KUMAMOTO, "title_ja": " ",
                                                            "body_ja": "年末年始は休みます。"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "年末年始は休みます。" in page and 'aria-invalid="true"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(ResidentNotice)
                     .where(ResidentNotice.kind == portal_records.BROADCAST_KIND)) == 0
    posted = client.post("/admin/resident-notices/", data={"csrf_token": "token", "tenant": KUMAMOTO,
                                                           "title_ja": "年末年始の窓口", "body_ja": "年末年始は休みます。"})
    assert posted.status_code == 200 and "2" in posted.get_data(as_text=True)
    assert sorted(db.scalars(sa.select(ResidentNotice.resident_id).where(
        ResidentNotice.kind == portal_records.BROADCAST_KIND))) == sorted([story["me"].id, story["other"].id])
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "resident.notice.publish"))
    assert json.loads(record.after)["residents"] == 2


def test_after_a_merge_the_surviving_id_s_history_holds_the_records_of_the_links_moved_to_it(app, client, db, story):
    twin = enrolled(db, full_name="髙橋 太朗", birth_date="1980-04-02")  # the same person enrolled twice, later found
    link(db, twin, story["health"], "health-0002")
    give(db, story["health"], "health-0002")
    moved = check(db, story["health"], "health-0002")
    proposal = recovery.propose_merge(db, desk(), KUMAMOTO, story["me"].common_id, twin.common_id, "同一人物の二重登録")
    db.commit()
    recovery.approve(db, second_desk(), KUMAMOTO, proposal.id)
    db.commit()
    signed_in(client, story["me"])
    items = history_items(client.get("/portal/history").get_data(as_text=True))
    assert len(items) == 4 and "健康ポイント" in items[0]
    data = json.loads(client.get("/portal/data.json").get_data(as_text=True))
    assert moved in [row["seq"] for row in data["linkages"]]
    assert [row["moved_from"] for row in data["links"] if row["service_user_id"] == "health-0002"] == [twin.common_id]

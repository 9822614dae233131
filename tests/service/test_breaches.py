"""Personal-data breaches (issue 56 item 4): a breach marked on an incident lists exactly the residents whose items
the named service received in the window (against the brokerage log: refused requests, another service and records
outside the window are not theirs), shows both deadlines (5 days, 30 or 60), tells the residents (the portal's
notice, else the letter list) once, keeps residents' identities from the vendor, and its report opens as PDF and
xlsx."""

from __future__ import annotations

import datetime as dt
import io
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from admin.resident_keys import keyring
from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST
from core.errors import Conflict, NotPermitted
from residents import brokerage, operations as residents
from residents.consent import operations as consent
from residents.consent.models import LinkageRecord
from residents.models import ResidentIdentity, ResidentNotice
from service import breaches
from service.incidents import operations as incidents
from tests.consent.conftest import clerk, consent_setup  # noqa: F401  (the fixture)
from tests.conftest import sign_in
from tests.residents.conftest import KUMAMOTO, api_client, desk, person

TEXT = {"title": "くらしナビへの情報提供の同意", "body_ja": "氏名・住所を案内に利用します。", "purposes": ["行政サービスの案内"],
        "items": {"氏名": {}, "住所": {}}}
ADMIN = Actor(issuer="urn:test", subject="admin-kumamoto", name="熊本市 管理者", roles=frozenset({"municipal-admin"}),
              tenant_codes=frozenset({KUMAMOTO}))
VENDOR = Actor(issuer="urn:test", subject="vendor-1", name="運用事業者", roles=frozenset({"platform-vendor"}))


def _resident(db, service, user_id, name, ticks, *, portal=False):
    resident = residents.enrol(db, desk(), keyring(), person(full_name=name)).resident
    residents.link_service(db, desk(), KUMAMOTO, resident.common_id,
                           {"service_id": service.id, "service_user_id": user_id, "assurance_level": 3})
    text = consent.current_text(db, service)
    consent.give_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": user_id,
                                       "content_hash": text.content_hash, "method": "paper", "assurance_level": 3})
    residents.set_disclosure(db, desk(), KUMAMOTO, resident.common_id,
                             {"service_id": service.id, "items": ticks, "reason": "本人の申出"})
    if portal:
        db.add(ResidentIdentity(resident_id=resident.id, tenant_code=KUMAMOTO, issuer="https://card.example",
                                subject=f"sub-{user_id}"))
    db.commit()
    return resident


def _ask(db, service, client_id, user_id, items=("氏名", "住所")):
    actor = Actor(issuer="urn:test", subject=f"svc-{client_id}", roles=frozenset({"brokerage-client"}), client_id=client_id)
    answer = brokerage.broker(db, actor, keyring(), {"service_id": service.id, "service_user_id": user_id,
                                                     "items": list(items), "purpose": "行政サービスの案内"})
    db.commit()
    return answer


def _at(db, seq):
    return db.scalar(sa.select(LinkageRecord.occurred_at).where(LinkageRecord.seq == seq))


@pytest.fixture
def story(app, db, operator, consent_setup):  # noqa: F811  (the fixture)
    navi_client, health_client = api_client(db, "くらしナビ"), api_client(db, "健康ポイント")
    navi = consent_setup(name="くらしナビ", text=TEXT, api_client_id=navi_client)
    health = consent_setup(name="健康ポイント", text=TEXT, api_client_id=health_client)
    early = _resident(db, navi, "navi-early", "前田 一郎", ["氏名"])
    with_portal = _resident(db, navi, "navi-0001", "髙橋 太郎", ["氏名"], portal=True)
    by_letter = _resident(db, navi, "navi-0002", "佐藤 花子", ["氏名", "住所"])
    said_no = _resident(db, navi, "navi-0003", "鈴木 次郎", ["住所"])
    elsewhere = _resident(db, health, "health-0001", "田中 三郎", ["氏名"])
    late = _resident(db, navi, "navi-late", "山本 四郎", ["氏名"])

    before = _ask(db, navi, navi_client, "navi-early")  # allowed, before the window
    first = _ask(db, navi, navi_client, "navi-0001")  # 氏名 sent, 住所 refused
    _ask(db, navi, navi_client, "navi-0002")  # both sent
    refused = _ask(db, navi, navi_client, "navi-0003", items=("氏名",))  # not ticked: refused, nothing sent
    _ask(db, health, health_client, "health-0001")  # another service
    last = _ask(db, navi, navi_client, "navi-0001", items=("氏名",))
    after = _ask(db, navi, navi_client, "navi-late")  # after the window
    assert before.allowed and first.allowed and not refused.allowed and last.allowed and after.allowed
    start, end = _at(db, first.linkage_record), _at(db, last.linkage_record)
    assert _at(db, before.linkage_record) < start and _at(db, after.linkage_record) > end

    incident = incidents.open_incident(db, operator, incidents.IncidentDraft(title="くらしナビへの不正アクセス"))
    db.commit()
    known = dt.datetime(2026, 11, 20, 23, 30, tzinfo=JST)  # the JST day counts, not UTC's (the 20th in both here)
    breach = breaches.mark_breach(db, operator, incident.id, breaches.BreachDraft(
        tenant_code=KUMAMOTO, kind="leak", window_start=start, window_end=end, known_at=known, service_ids=[navi.id],
        summary="くらしナビの委託先サーバーから利用者情報が閲覧可能になっていた。"))
    db.commit()
    return {"breach": breach, "incident": incident, "navi": navi, "with_portal": with_portal, "by_letter": by_letter,
            "said_no": said_no, "elsewhere": elsewhere, "early": early, "late": late}


def test_the_breach_lists_exactly_the_residents_whose_items_the_service_received_in_the_window(db, operator, story):
    found = breaches.affected_residents(db, operator, story["breach"].id)
    assert {one.common_id: one.items for one in found} == {
        story["with_portal"].common_id: ("氏名",), story["by_letter"].common_id: ("氏名", "住所")}
    assert {one.common_id: one.portal for one in found}[story["with_portal"].common_id] is True
    assert breaches.affected_count(db, VENDOR, story["breach"].id) == 2  # the vendor reads how many, not who
    with pytest.raises(NotPermitted):
        breaches.affected_residents(db, VENDOR, story["breach"].id)


def test_both_deadlines_count_in_japan_days_and_an_unauthorised_act_gives_sixty(db, operator, story):
    breach = story["breach"]
    preliminary, final = breaches.deadlines(breach, today=dt.date(2026, 11, 26))
    assert (preliminary.due_on, final.due_on) == (dt.date(2026, 11, 25), dt.date(2026, 12, 20))
    assert preliminary.overdue and not final.overdue
    # known at 00:30 on the 21st in Japan is the 20th in UTC: the 21st counts
    breach.known_at = dt.datetime(2026, 11, 21, 0, 30, tzinfo=JST)
    breach.unlawful_purpose = True
    assert [d.due_on for d in breaches.deadlines(breach)] == [dt.date(2026, 11, 26), dt.date(2027, 1, 20)]
    db.rollback()


def test_notices_reach_the_portal_or_the_letter_list_once_and_every_act_is_audited(db, operator, story):
    breach_id = story["breach"].id
    with pytest.raises(NotPermitted):
        breaches.notify_residents(db, VENDOR, breach_id)
    done = breaches.notify_residents(db, ADMIN, breach_id)
    db.commit()
    assert (done.portal, done.letter) == (1, 1)
    notices = db.scalars(sa.select(ResidentNotice).where(ResidentNotice.kind == breaches.NOTICE_KIND)).all()
    assert [n.resident_id for n in notices] == [story["with_portal"].id]
    assert "くらしナビ" in notices[0].body_ja and "氏名" in notices[0].body_ja and "住所" not in notices[0].body_ja
    again = breaches.notify_residents(db, operator, breach_id)
    assert (again.portal, again.letter, again.already) == (0, 0, 2)
    letters = breaches.letter_list(db, desk(), keyring(), breach_id)
    assert [(r.full_name, r.items) for r in letters] == [("佐藤 花子", ("氏名", "住所"))]
    assert "熊本県熊本市" in letters[0].address
    with pytest.raises(NotPermitted):
        breaches.letter_list(db, operator, keyring(), breach_id)  # the operator sees no one's name
    db.commit()
    acts = set(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.target_type == "incident_breach")))
    assert {"incident.breach.mark", "incident.breach.notify", "incident.breach.letters"} <= acts


def test_the_submissions_meet_the_deadlines_and_the_reminders_go_once(db, operator, story):
    breach_id = story["breach"].id
    queued = breaches.remind_due(db, operator, today=dt.date(2026, 11, 24))  # the 速報 two days away
    assert queued == 1 and breaches.remind_due(db, operator, today=dt.date(2026, 11, 24)) == 0
    with pytest.raises(Conflict) as refused:
        breaches.record_report(db, operator, breach_id, "final")
    assert "速報" in refused.value.message_ja
    breaches.record_report(db, operator, breach_id, "preliminary", at=dt.datetime(2026, 11, 24, 9, tzinfo=JST))
    db.commit()
    assert breaches.remind_due(db, operator, today=dt.date(2026, 11, 26)) == 0  # submitted: nothing more to remind


def test_the_pages_and_the_report_as_pdf_and_xlsx(client, db, story, tmp_path):
    from openpyxl import load_workbook

    breach_id, common_id = story["breach"].id, story["with_portal"].common_id
    sign_in(client, csrf="t")
    incident_page = client.get(f"/admin/incidents/{story['incident'].id}").get_data(as_text=True)
    assert f"/admin/breaches/{breach_id}" in incident_page
    page = client.get(f"/admin/breaches/{breach_id}").get_data(as_text=True)
    assert "2026年" in page or "令和8年" in page
    assert "11月25日" in page and "12月20日" in page and common_id in page
    vendor = client.application.test_client()
    sign_in(vendor, ["platform-vendor"])
    seen = vendor.get(f"/admin/breaches/{breach_id}").get_data(as_text=True)
    assert 'id="affected-count">2<' in seen and common_id not in seen

    asked = client.post(f"/admin/breaches/{breach_id}/notify", data={"csrf_token": "t"})
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)  # asked first
    assert client.post(f"/admin/breaches/{breach_id}/notify", data={"csrf_token": "t", "confirmed": "1"}).status_code == 302

    book = client.get(f"/admin/breaches/{breach_id}/reports/preliminary.xlsx")
    assert book.status_code == 200
    sheets = load_workbook(io.BytesIO(book.data))
    cells = [str(c.value) for sheet in sheets for row in sheet.iter_rows() for c in row if c.value is not None]
    assert "本人の数" in cells and "2人" in cells and "速報" in cells and "漏えい" in cells
    assert "氏名、住所" in cells and common_id not in " ".join(cells)  # the items, never a resident
    pdf = client.get(f"/admin/breaches/{breach_id}/reports/final.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    if shutil.which("pdftotext") is not None:
        (tmp_path / "r.pdf").write_bytes(pdf.data)
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "r.pdf"), "-"], capture_output=True, text=True,
                              check=True).stdout
        assert "確報" in text and "本人の数" in text and "2人" in text


def test_a_refused_form_keeps_what_was_typed(client, db, story):
    sign_in(client, csrf="t")
    answer = client.post(f"/admin/breaches/new/{story['incident'].id}", data={
        "csrf_token": "t", "tenant_code": KUMAMOTO, "kind": "nonsense", "summary": "途中まで\x00書いた"})
    text = answer.get_data(as_text=True)
    assert answer.status_code == 400 and "事態の区分を選んでください" in text and "対象のサービスを選んでください" in text

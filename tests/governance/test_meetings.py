"""Meetings and minutes (issue 40 item 6): a council meeting at which two proposals were decided, minutes
approved by a second person (never their writer), published to the attendees' organisations only, the
minutes' PDF, and the proposal showing the meeting that decided it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import subprocess

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, UTC
from core.errors import Invalid
from core.outbox import Notification
from governance import council, meetings, notices
from governance.models import NoticeMember, NoticeTenant, VoteChoice
from governance.schemas import ProposalCreate
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation
from tests.governance.test_operator_views import CONTACT

WRITER = Actor(issuer="urn:test", subject="operator-1", name="県 書記", roles=frozenset({"platform-operator"}),
               tenant_codes=frozenset({"430005"}))
APPROVER = Actor(issuer="urn:test", subject="operator-2", name="県 課長", roles=frozenset({"platform-operator"}),
                 tenant_codes=frozenset({"430005"}))
MUNICIPALITIES = ("431001", "432024")
ATTENDING_MEMBER, ABSENT_MEMBER = "7000012050002", "8000012050001"


def _admin(code: str) -> Actor:
    return Actor(issuer="urn:test", subject=f"admin-{code}", name=f"{code} 管理者", roles=frozenset({"municipal-admin"}),
                 tenant_codes=frozenset({code}))


def _organisation(db, number: str, name: str, email: str) -> None:
    members.apply(db, members.Application(number, name, "company", "熊本県", "代表 太郎", "担当 花子", email),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
    db.commit()


def _decided(db, title: str, choice: VoteChoice) -> int:
    proposal = council.propose(db, WRITER, ProposalCreate(title=title, closes_at=dt.datetime.now(UTC) + dt.timedelta(days=7)))
    council.cast_vote(db, WRITER, proposal.id, choice, "430005")
    for code in MUNICIPALITIES:
        council.cast_vote(db, _admin(code), proposal.id, choice, code)
    council.close_proposal(db, WRITER, proposal.id)
    db.commit()
    return proposal.id


@pytest.fixture
def council_world(db, tenant_factory):
    tenant_factory("430005", contacts=CONTACT)
    tenant_factory("431001", contacts=[{"name": "市 担当", "email": "city@example.jp", "role": "admin"}])
    tenant_factory("432024", contacts=[{"name": "町 担当", "email": "town@example.jp", "role": "admin"}])
    _organisation(db, ATTENDING_MEMBER, "くまもとデータ株式会社", "data@example.jp")
    _organisation(db, ABSENT_MEMBER, "欠席商事株式会社", "absent@example.jp")
    adopted = _decided(db, "オープンデータ方針の改定", VoteChoice.for_)
    rejected = _decided(db, "会費の改定", VoteChoice.against)
    return adopted, rejected


def _meeting(db, adopted: int, rejected: int) -> meetings.Meeting:
    draft = meetings.MeetingDraft(
        kind="council", title="第3回 協議会", held_at=dt.datetime(2026, 11, 20, 14, 0, tzinfo=JST), place="県庁 会議室A",
        attendees=(meetings.Attendee("県 課長", tenant_code="430005"), meetings.Attendee("市 担当", tenant_code="431001"),
                   meetings.Attendee("会員 一郎", corporate_number=ATTENDING_MEMBER)),
        agenda=(meetings.AgendaItem("オープンデータ方針", adopted), meetings.AgendaItem("会費", rejected),
                meetings.AgendaItem("その他")))
    meeting = meetings.create_meeting(db, WRITER, draft)
    db.commit()
    return meeting


def test_minutes_of_a_meeting_with_two_decided_proposals_are_approved_by_another_and_published_to_the_attendees(
        db, council_world):
    adopted, rejected = council_world
    meeting = _meeting(db, adopted, rejected)
    assert [(i.position, i.proposal_id) for i in meetings.agenda_of(db, meeting.id)] == [(1, adopted), (2, rejected), (3, None)]
    for proposal_id in (adopted, rejected):
        assert meetings.meeting_of_proposal(db, proposal_id).id == meeting.id

    meetings.write_minutes(db, WRITER, meeting.id, text="1. 方針を可決した。\n2. 会費の改定は否決した。<script>")
    db.commit()
    with pytest.raises(meetings.OwnMinutes):
        meetings.approve_minutes(db, WRITER, meeting.id)
    with pytest.raises(meetings.CannotPublish):  # not approved yet
        meetings.publish_minutes(db, APPROVER, meeting.id)
    db.rollback()
    meetings.approve_minutes(db, APPROVER, meeting.id)
    meetings.publish_minutes(db, WRITER, meeting.id)
    db.commit()

    mails = db.scalars(sa.select(Notification).where(Notification.kind == "meeting-minutes")).all()
    assert sorted(m.tenant_code for m in mails) == sorted(["430005", "431001", ATTENDING_MEMBER])
    assert "town@example.jp" not in {m.recipients for m in mails} and "absent@example.jp" not in {m.recipients for m in mails}
    assert sorted(db.scalars(sa.select(NoticeTenant.tenant_code))) == ["430005", "431001"]
    assert list(db.scalars(sa.select(NoticeMember.corporate_number))) == [ATTENDING_MEMBER]
    titles = [n.title for n in notices.notices_for(db, _admin("431001"))]
    assert titles == ["議事録公開: 第3回 協議会"]
    assert notices.notices_for(db, _admin("432024")) == []
    member = Actor(issuer="urn:test", subject="m", roles=frozenset({"org-admin"}), tenant_codes=frozenset({ABSENT_MEMBER}))
    assert notices.notices_for(db, member) == []
    with pytest.raises(meetings.CannotWrite):  # published minutes never change
        meetings.write_minutes(db, WRITER, meeting.id, text="書き換え")
    db.rollback()
    assert [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.target_type == "meeting")
                                         .order_by(AuditRecord.seq))] == [
        "meeting.create", "meeting.minutes", "meeting.approve", "meeting.publish"]


def test_mails_go_to_each_attending_organisation_and_to_no_other(db, council_world):
    adopted, rejected = council_world
    meeting = _meeting(db, adopted, rejected)
    meetings.write_minutes(db, WRITER, meeting.id, text="議事")
    meetings.approve_minutes(db, APPROVER, meeting.id)
    meetings.publish_minutes(db, APPROVER, meeting.id)
    db.commit()
    recipients = sorted(db.scalars(sa.select(Notification.recipients).where(Notification.kind == "meeting-minutes")))
    assert recipients == ["city@example.jp", "data@example.jp", "taro@example.jp"]


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="pdftotext (poppler-utils) reads the PDF back")
def test_the_minutes_pdf_reads_back_with_the_issuer_the_date_and_the_agenda(db, council_world, tmp_path):
    adopted, rejected = council_world
    meeting = _meeting(db, adopted, rejected)
    meetings.write_minutes(db, WRITER, meeting.id, text="方針を可決した。")
    meetings.approve_minutes(db, APPROVER, meeting.id, now=dt.datetime(2026, 11, 24, 3, 0, tzinfo=UTC))
    data = meetings.minutes_pdf(db, WRITER, meeting.id)
    assert data.startswith(b"%PDF-")
    (tmp_path / "m.pdf").write_bytes(data)
    text = subprocess.run(["pdftotext", "-layout", str(tmp_path / "m.pdf"), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "議事録" in text and "第3回 協議会" in text
    assert "DXコンソーシアム" in text  # the issuer: the consortium
    assert "2026年11月24日" in text or "令和8年11月24日" in text  # the approval's day
    assert "オープンデータ方針の改定" in text and "可決" in text and "会費の改定" in text and "否決" in text
    assert "県 課長" in text and "くまもとデータ株式会社" in text
    assert db.scalar(sa.select(AuditRecord.action).order_by(AuditRecord.seq.desc()).limit(1)) == "meeting.download"


def test_a_proposal_is_decided_at_one_meeting_and_only_once_closed(db, council_world):
    adopted, _ = council_world
    _meeting(db, adopted, _)
    open_one = council.propose(db, WRITER, ProposalCreate(title="審議中の議案",
                                                          closes_at=dt.datetime.now(UTC) + dt.timedelta(days=7)))
    draft = meetings.MeetingDraft(kind="prefecture", title="11月 定例会", held_at=dt.datetime.now(UTC),
                                  attendees=(meetings.Attendee("", corporate_number=ABSENT_MEMBER[:-1] + "9"),),
                                  agenda=(meetings.AgendaItem("方針", adopted), meetings.AgendaItem("審議中", open_one.id)))
    with pytest.raises(Invalid) as refused:
        meetings.create_meeting(db, WRITER, draft)
    fields = {p["field"] for p in refused.value.problems}
    assert fields == {"attendees[1]", "agenda[1]", "agenda[2]"}
    db.rollback()


def test_an_attached_minutes_file_must_be_a_pdf_of_a_bounded_size(db, council_world):
    adopted, rejected = council_world
    meeting = _meeting(db, adopted, rejected)
    with pytest.raises(Invalid):
        meetings.write_minutes(db, WRITER, meeting.id, pdf=b"PK\x03\x04 not a pdf", filename="m.docx")
    with pytest.raises(Invalid):
        meetings.write_minutes(db, WRITER, meeting.id, pdf=b"%PDF-1.7" + b"0" * meetings.PDF_MAX_BYTES, filename="m.pdf")
    meetings.write_minutes(db, WRITER, meeting.id, pdf=b"%PDF-1.7 minutes", filename="gijiroku.pdf")
    assert meetings.minutes_pdf(db, WRITER, meeting.id) == b"%PDF-1.7 minutes"
    outsider = _admin("432024")
    with pytest.raises(Exception) as denied:
        meetings.minutes_pdf(db, outsider, meeting.id)
    assert getattr(denied.value, "status", 403) == 403


def test_through_the_api_the_proposal_shows_the_meeting_that_decided_it(client, db, council_world, user_factory):
    adopted, rejected = council_world
    writer = user_factory(("platform-operator",), "430005")[1]
    approver = user_factory(("platform-operator",), "430005", fresh=True)[1]
    body = {"kind": "council", "title": "第3回 協議会", "held_at": "2026-11-20T14:00:00+09:00", "place": "県庁",
            "attendees": [{"name": "市 担当", "tenant_code": "431001"}],
            "agenda": [{"title": "方針", "proposal_id": adopted}, {"title": "会費", "proposal_id": rejected}]}
    created = client.post("/api/v1/meetings", json=body, headers=writer)
    assert created.status_code == 201, created.get_json()
    meeting_id = created.get_json()["id"]
    again = client.post("/api/v1/meetings", json={**body, "title": "重複"}, headers=writer)
    assert again.status_code == 422 and again.mimetype == "application/problem+json"
    shown = client.get(f"/api/v1/council/proposals/{adopted}", headers=writer).get_json()
    assert shown["decided_at_meeting"]["meeting_id"] == meeting_id and shown["decided_at_meeting"]["title"] == "第3回 協議会"
    assert client.put(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "議事"}, headers=writer).status_code == 200
    own = client.post(f"/api/v1/meetings/{meeting_id}/minutes/approve", headers=writer)
    assert own.status_code == 409 and own.mimetype == "application/problem+json"
    assert client.post(f"/api/v1/meetings/{meeting_id}/minutes/approve", headers=approver).status_code == 200
    published = client.post(f"/api/v1/meetings/{meeting_id}/minutes/publish", headers=writer)
    assert published.status_code == 200 and published.get_json()["minutes_status"] == "published"
    pdf = client.get(f"/api/v1/meetings/{meeting_id}/minutes/pdf", headers=approver)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.get_data().startswith(b"%PDF-")
    # the attending municipality downloads the published minutes through the API as on its page; another does not,
    # nor learns whether a meeting exists
    attending = user_factory(("municipal-admin",), "431001")[1]
    theirs = client.get(f"/api/v1/meetings/{meeting_id}/minutes/pdf", headers=attending)
    assert theirs.status_code == 200 and theirs.get_data() == pdf.get_data()
    elsewhere = user_factory(("municipal-admin",), "432024")[1]
    for asked in (meeting_id, meeting_id + 1000):
        refused = client.get(f"/api/v1/meetings/{asked}/minutes/pdf", headers=elsewhere)
        assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert client.get(f"/api/v1/meetings/{meeting_id + 1000}/minutes/pdf", headers=approver).status_code == 404


def test_a_meeting_is_corrected_while_its_minutes_await_approval_and_no_longer_once_approved(db, council_world):
    adopted, rejected = council_world
    meeting = _meeting(db, adopted, rejected)
    meetings.write_minutes(db, WRITER, meeting.id, text="議事")
    corrected = meetings.MeetingDraft(
        kind="prefecture",  # the kind stays the meeting's
        title=" 第3回 協議会（臨時） ", held_at=dt.datetime(2026, 11, 21, 10, 0, tzinfo=JST), place="県庁 会議室B",
        attendees=(meetings.Attendee("県 課長", tenant_code="430005"), meetings.Attendee("町 担当", tenant_code="432024")),
        agenda=(meetings.AgendaItem("オープンデータ方針", adopted), meetings.AgendaItem("報告事項")))
    meetings.update_meeting(db, WRITER, meeting.id, corrected)
    db.commit()
    row = meetings.get_meeting(db, meeting.id)
    assert (row.kind, row.title, row.held_at, row.place) == (
        meetings.MeetingKind.council, "第3回 協議会（臨時）", dt.datetime(2026, 11, 21, 1, 0, tzinfo=UTC), "県庁 会議室B")
    assert [(a.name, a.tenant_code) for a in meetings.attendees_of(db, meeting.id)] == [("県 課長", "430005"), ("町 担当", "432024")]
    assert [(i.title, i.proposal_id) for i in meetings.agenda_of(db, meeting.id)] == [("オープンデータ方針", adopted), ("報告事項", None)]
    assert meetings.meeting_of_proposal(db, rejected) is None and meetings.meeting_of_proposal(db, adopted).id == meeting.id
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "meeting.update"))
    before, after = json.loads(record.before), json.loads(record.after)
    assert before["title"] == "第3回 協議会" and after["title"] == "第3回 協議会（臨時）"
    assert before["place"] == "県庁 会議室A" and len(before["agenda"]) == 3 and len(after["agenda"]) == 2

    with pytest.raises(Invalid) as refused:
        meetings.update_meeting(db, WRITER, meeting.id, dataclasses.replace(corrected, title=" "))
    assert [p["field"] for p in refused.value.problems] == ["title"]
    db.rollback()
    meetings.approve_minutes(db, APPROVER, meeting.id)
    db.commit()
    with pytest.raises(meetings.MeetingSettled) as settled:
        meetings.update_meeting(db, WRITER, meeting.id, dataclasses.replace(corrected, title="承認後の修正"))
    assert "承認済み" in settled.value.message_ja and "修正できません" in settled.value.message_ja
    db.rollback()
    assert meetings.get_meeting(db, meeting.id).title == "第3回 協議会（臨時）"
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "meeting.update")) == 1


def test_through_the_api_a_meeting_is_corrected_until_its_minutes_are_approved(client, db, council_world, user_factory):
    adopted, rejected = council_world
    meeting_id = _meeting(db, adopted, rejected).id
    writer = user_factory(("platform-operator",), "430005")[1]
    approver = user_factory(("platform-operator",), "430005", fresh=True)[1]
    body = {"title": "第3回 協議会", "held_at": "2026-11-20T15:00:00+09:00", "place": "オンライン",
            "attendees": [{"name": "市 担当", "tenant_code": "431001"}], "agenda": [{"title": "方針", "proposal_id": adopted}]}
    done = client.put(f"/api/v1/meetings/{meeting_id}", json=body, headers=writer)
    assert done.status_code == 200, done.get_json()
    shown = done.get_json()
    assert shown["place"] == "オンライン" and shown["kind"] == "council" and len(shown["attendees"]) == 1
    assert [i["proposal_id"] for i in shown["agenda"]] == [adopted]
    unknown = client.put(f"/api/v1/meetings/{meeting_id}", json={**body, "attendees": [{"tenant_code": "439999"}]},
                         headers=writer)
    assert unknown.status_code == 422 and unknown.mimetype == "application/problem+json"
    client.put(f"/api/v1/meetings/{meeting_id}/minutes", json={"text": "議事"}, headers=writer)
    client.post(f"/api/v1/meetings/{meeting_id}/minutes/approve", headers=approver)
    refused = client.put(f"/api/v1/meetings/{meeting_id}", json={**body, "place": "県庁"}, headers=writer)
    assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
    assert "修正できません" in refused.get_json()["detail_ja"]
    assert client.get(f"/api/v1/meetings/{meeting_id}", headers=writer).get_json()["place"] == "オンライン"


def test_the_meeting_list_reads_as_many_statements_for_six_meetings_as_for_two(client, db, council_world, open_api):
    """Renkei issue 53 item 7: the list read three statements per meeting (attendees, their names, agenda)."""
    adopted, rejected = council_world

    def make(count: int, first: int) -> None:
        for number in range(first, first + count):
            meetings.create_meeting(db, WRITER, meetings.MeetingDraft(
                kind="council", title=f"第{number}回 協議会", held_at=dt.datetime(2026, 4, number, 14, 0, tzinfo=JST),
                attendees=(meetings.Attendee("市 担当", tenant_code="431001"),
                           meetings.Attendee("会員 一郎", corporate_number=ATTENDING_MEMBER)),
                agenda=(meetings.AgendaItem("報告事項"), meetings.AgendaItem("その他"))))
        db.commit()

    def statements() -> tuple[int, dict]:
        seen: list[str] = []

        def note(conn, cursor, statement, params, context, executemany):
            seen.append(statement)

        sa.event.listen(sa.engine.Engine, "before_cursor_execute", note)
        try:
            listed = open_api.get("/api/v1/meetings")
        finally:
            sa.event.remove(sa.engine.Engine, "before_cursor_execute", note)
        assert listed.status_code == 200, listed.get_json()
        return len(seen), listed.get_json()

    make(2, 1)
    open_api.get("/api/v1/meetings")  # warm: the first request reads what every later one keeps
    two, shown = statements()
    assert shown["total"] == 2 and all(len(m["attendees"]) == 2 and len(m["agenda"]) == 2 for m in shown["items"])
    make(4, 3)
    six, shown = statements()
    assert shown["total"] == 6 and [a["organisation"] for a in shown["items"][0]["attendees"]][0] == "熊本市"
    assert six == two, f"{two} statements for two meetings, {six} for six"

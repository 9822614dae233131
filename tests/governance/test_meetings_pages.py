"""The meetings' and groups' admin pages (issue 40 items 5 and 6): a meeting recorded with pickers (a refused
form keeps what was typed, the problem beside its field), minutes written by one operator and approved by
another, publication confirmed first, and the proposal's page naming the meeting that decided it."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.calendar import JST
from core.outbox import Notification
from governance import meetings
from secretariat import groups
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in
from tests.governance.test_meetings import ATTENDING_MEMBER, WRITER, council_world  # noqa: F401

CSRF = "meetings-pages-csrf"


def test_a_meeting_recorded_on_its_page_has_its_minutes_approved_by_another_and_published_after_confirming(
        client, db, council_world):  # noqa: F811
    adopted, rejected = council_world
    sign_in(client, ["platform-operator"], ["430005"], subject="writer-1", name="事務局 書記", csrf=CSRF)
    page = visible_text(client.get("/admin/meetings/").get_data(as_text=True))
    assert "会議を登録" in page and "オープンデータ方針の改定" in page  # the decided proposals' picker
    form = {"csrf_token": CSRF, "kind": "council", "group_id": "", "title": "第3回 協議会", "held_at": "2026-11-20T14:00",
            "place": "県庁", "tenants": ["430005", "431001"], "members": [ATTENDING_MEMBER], "people": "来賓 一名",
            "agenda_title_1": "", "agenda_proposal_1": str(adopted), "agenda_title_2": "会費", "agenda_proposal_2": str(rejected)}
    refused = client.post("/admin/meetings/create", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 200 and 'id="agenda_1-error"' in html and "議題 1を入力してください" in visible_text(html)
    assert 'value="第3回 協議会"' in html and 'value="会費"' in html  # what was typed is kept
    assert db.scalar(sa.select(sa.func.count()).select_from(meetings.Meeting)) == 0
    done = client.post("/admin/meetings/create", data={**form, "agenda_title_1": "オープンデータ方針"})
    assert done.status_code == 302
    meeting_id = db.scalar(sa.select(meetings.Meeting.id))
    empty = client.post(f"/admin/meetings/{meeting_id}/minutes", data={"csrf_token": CSRF, "minutes_text": ""})
    assert 'id="minutes_text-error"' in empty.get_data(as_text=True)
    client.post(f"/admin/meetings/{meeting_id}/minutes", data={"csrf_token": CSRF, "minutes_text": "方針を可決した。"})
    own = visible_text(client.get(f"/admin/meetings/{meeting_id}").get_data(as_text=True))
    assert "議事録を作成した人以外が承認します" in own and "議事録を承認" not in own

    sign_in(client, ["platform-operator"], ["430005"], subject="approver-1", name="事務局 課長", csrf=CSRF)
    client.post(f"/admin/meetings/{meeting_id}/approve", data={"csrf_token": CSRF, "confirmed": "1"})
    asked = client.post(f"/admin/meetings/{meeting_id}/publish", data={"csrf_token": CSRF})
    assert "出席した 3 団体" in visible_text(asked.get_data(as_text=True))
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "meeting-minutes")) == 0
    client.post(f"/admin/meetings/{meeting_id}/publish", data={"csrf_token": CSRF, "confirmed": "1"})
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "meeting-minutes")) == 3
    detail = visible_text(client.get(f"/admin/meetings/{meeting_id}").get_data(as_text=True))
    assert "公開済み" in detail and "来賓 一名" in detail and "くまもとデータ株式会社" in detail
    pdf = client.get(f"/admin/meetings/{meeting_id}/minutes.pdf")
    assert pdf.status_code == 200 and pdf.get_data().startswith(b"%PDF-")
    proposal = visible_text(client.get(f"/admin/council/{adopted}/").get_data(as_text=True))
    assert "議決した会議: 第3回 協議会" in proposal

    sign_in(client, ["org-admin"], [ATTENDING_MEMBER])  # an attending member reads the published minutes
    assert client.get(f"/admin/minutes/{meeting_id}.pdf").status_code == 200
    sign_in(client, ["municipal-admin"], ["432024"])  # a municipality that did not attend does not
    assert client.get(f"/admin/minutes/{meeting_id}.pdf").status_code == 403
    assert client.get(f"/admin/meetings/{meeting_id}").status_code == 403


def test_the_community_page_adds_approved_members_with_a_picker(client, db, council_world):  # noqa: F811
    sign_in(client, csrf=CSRF)
    page = client.post("/admin/community-groups/create", data={"csrf_token": CSRF, "kind": "community", "name": ""})
    assert 'id="name-error"' in page.get_data(as_text=True)
    client.post("/admin/community-groups/create", data={"csrf_token": CSRF, "kind": "community",
                                                         "name": "データ利活用コミュニティ"})
    group = db.scalar(sa.select(groups.Group))
    detail = visible_text(client.get(f"/admin/community-groups/{group.id}").get_data(as_text=True))
    assert "目標 20 のうち 0" in detail and "くまもとデータ株式会社" in detail
    assert "欠席商事株式会社" in detail  # approved too: in the picker
    client.post(f"/admin/community-groups/{group.id}/members", data={
        "csrf_token": CSRF, "member_kind": "consortium_member", "corporate_number": ATTENDING_MEMBER})
    detail = visible_text(client.get(f"/admin/community-groups/{group.id}").get_data(as_text=True))
    assert "目標 20 のうち 1" in detail
    assert [o.corporate_number for o in groups.group_members(db, group.id)] == [ATTENDING_MEMBER]


def test_a_working_groups_page_adds_staff_and_advisers_by_kind_and_keeps_a_refused_form(client, db, council_world):  # noqa: F811
    wg = groups.create_group(db, WRITER, groups.GroupDraft("working_group", "スマートシティWG", under_council=True))
    db.commit()
    sign_in(client, csrf=CSRF)
    url = f"/admin/community-groups/{wg.id}"
    html = client.get(url).get_data(as_text=True)
    picker = html[html.index('id="member_kind"'):html.index("</select>", html.index('id="member_kind"'))]
    assert all(word in picker for word in ("コンソーシアム会員", "市町村職員", "県職員", "アドバイザー"))
    assert "municipal_staff</option>" not in picker and "協議会の部会" in visible_text(html)
    refused = client.post(f"{url}/members", data={"csrf_token": CSRF, "member_kind": "municipal_staff",
                                                  "tenant_code": "431001", "name": ""})
    assert refused.status_code == 200
    body = refused.get_data(as_text=True)
    assert 'id="name-error"' in body and "氏名" in visible_text(body[body.index('id="name-error"'):])
    assert 'value="431001" selected' in body or "selected value=\"431001\"" in body  # what was typed stays
    long = client.post(f"{url}/members", data={"csrf_token": CSRF, "member_kind": "adviser", "name": "x" * 5000,
                                               "affiliation": "熊本大学"})
    assert long.status_code == 200 and 'id="name-error"' in long.get_data(as_text=True)
    assert 'value="熊本大学"' in long.get_data(as_text=True)
    client.post(f"{url}/members", data={"csrf_token": CSRF, "member_kind": "municipal_staff", "tenant_code": "431001",
                                        "name": "熊本 太郎"})
    client.post(f"{url}/members", data={"csrf_token": CSRF, "member_kind": "adviser", "name": "有識者 一郎",
                                        "affiliation": "熊本大学"})
    detail = visible_text(client.get(url).get_data(as_text=True))
    assert "熊本 太郎" in detail and "熊本市" in detail and "有識者 一郎" in detail
    assert [m.name for m in groups.memberships(db, wg.id)] == ["熊本 太郎", "有識者 一郎"]
    council_page = visible_text(client.get("/admin/council/").get_data(as_text=True))
    assert "スマートシティWG" in council_page
    row = groups.memberships(db, wg.id)[0]
    client.post(f"{url}/members/remove", data={"csrf_token": CSRF, "membership_id": str(row.id)})
    assert [m.name for m in groups.memberships(db, wg.id)] == ["有識者 一郎"]


def test_a_recorded_meeting_is_corrected_on_its_page_until_the_minutes_are_approved(client, db, council_world):  # noqa: F811
    adopted, rejected = council_world
    meeting = meetings.create_meeting(db, WRITER, meetings.MeetingDraft(
        kind="council", title="第3回 協議会", held_at=dt.datetime(2026, 11, 20, 14, tzinfo=JST), place="県庁",
        attendees=(meetings.Attendee("市 担当", tenant_code="431001"), meetings.Attendee("来賓 一名")),
        agenda=(meetings.AgendaItem("方針", adopted),)))
    db.commit()
    sign_in(client, ["platform-operator"], ["430005"], subject="writer-1", name="事務局 書記", csrf=CSRF)
    assert "会議の内容を修正" in visible_text(client.get(f"/admin/meetings/{meeting.id}").get_data(as_text=True))
    page = client.get(f"/admin/meetings/{meeting.id}/edit").get_data(as_text=True)
    assert 'value="第3回 協議会"' in page and 'value="2026-11-20T14:00"' in page and 'value="方針"' in page
    assert '<option selected value="431001">' in page and "来賓 一名</textarea>" in page
    form = {"csrf_token": CSRF, "title": "", "held_at": "2026-11-21T10:00", "place": "オンライン", "tenants": ["431001"],
            "people": "来賓 一名", "agenda_title_1": "方針", "agenda_proposal_1": str(adopted),
            "agenda_title_2": "会費", "agenda_proposal_2": str(rejected)}
    refused = client.post(f"/admin/meetings/{meeting.id}/edit", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 400 and 'value="オンライン"' in html and 'value="会費"' in html  # kept as typed
    assert meetings.get_meeting(db, meeting.id).place == "県庁"
    done = client.post(f"/admin/meetings/{meeting.id}/edit", data={**form, "title": "第3回 協議会（臨時）"})
    assert done.status_code == 302
    detail = visible_text(client.get(f"/admin/meetings/{meeting.id}").get_data(as_text=True))
    assert "第3回 協議会（臨時）" in detail and "オンライン" in detail and "会議の内容を修正しました" in detail
    assert "市 担当" in detail  # the name recorded beside the municipality stays while it stays picked
    assert meetings.meeting_of_proposal(db, rejected).id == meeting.id

    client.post(f"/admin/meetings/{meeting.id}/minutes", data={"csrf_token": CSRF, "minutes_text": "議事"})
    sign_in(client, ["platform-operator"], ["430005"], subject="approver-1", name="事務局 課長", csrf=CSRF)
    client.post(f"/admin/meetings/{meeting.id}/approve", data={"csrf_token": CSRF, "confirmed": "1"})
    assert "会議の内容を修正" not in visible_text(client.get(f"/admin/meetings/{meeting.id}").get_data(as_text=True))
    late = client.post(f"/admin/meetings/{meeting.id}/edit", data={**form, "title": "承認後"})
    assert late.status_code == 400 and "承認済み" in visible_text(late.get_data(as_text=True))
    db.expire_all()
    assert meetings.get_meeting(db, meeting.id).title == "第3回 協議会（臨時）"

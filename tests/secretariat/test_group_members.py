"""Working groups with municipal staff (issue 57 item 4): members of four kinds, each once a group (the database's
unique key), audited with who joined and left; a working group as the council's sub-body; the council's electorate
untouched by anyone's place in a group."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.actor import Actor
from core.audit import AuditRecord
from core.db import utcnow
from core.errors import Invalid, NotPermitted
from governance import council
from governance.errors import VoteRefused
from governance.schemas import ProposalCreate
from secretariat import groups
from secretariat.groups import Candidate, MemberKind
from tests.conftest import OPERATOR
from tests.governance.test_meetings import _organisation

MEMBER = "7000012050002"
KUMAMOTO, PREFECTURE, APPLYING = "431001", "430005", "432041"


@pytest.fixture
def wg(db, tenant_factory):
    tenant_factory(PREFECTURE)
    tenant_factory(KUMAMOTO)
    tenant_factory(APPLYING, status="screening")
    _organisation(db, MEMBER, "くまもとデータ株式会社", "data@example.jp")
    group = groups.create_group(db, OPERATOR, groups.GroupDraft("working_group", "スマートシティWG", under_council=True))
    db.commit()
    return group


def staff(code: str, name: str = "熊本 太郎", user_id: str = "") -> Candidate:
    kind = MemberKind.prefecture_staff if code == PREFECTURE else MemberKind.municipal_staff
    return Candidate(kind.value, tenant_code=code, name=name, user_id=user_id)


def test_each_kind_joins_once_and_every_join_and_leave_is_audited(db, wg):
    groups.add_member(db, OPERATOR, wg.id, MEMBER)
    city = groups.join(db, OPERATOR, wg.id, staff(KUMAMOTO))
    groups.join(db, OPERATOR, wg.id, staff(PREFECTURE, "県 花子"))
    adviser = groups.join(db, OPERATOR, wg.id, Candidate("adviser", name="有識者 一郎", affiliation="熊本大学"))
    assert [(MemberKind(m.member_kind), m.name or m.corporate_number) for m in groups.memberships(db, wg.id)] == [
        (MemberKind.consortium_member, MEMBER), (MemberKind.municipal_staff, "熊本 太郎"),
        (MemberKind.prefecture_staff, "県 花子"), (MemberKind.adviser, "有識者 一郎")]
    assert groups.member_counts(db) == {wg.id: 1}  # the target counts member companies
    for again in (staff(KUMAMOTO, "熊本　太郎"), staff(KUMAMOTO, " 熊本 太郎 "),  # the same person however spaced
                  Candidate("adviser", name="有識者一郎", affiliation="熊本大学"),
                  Candidate("consortium_member", corporate_number=MEMBER)):
        with pytest.raises(groups.AlreadyInGroup):
            groups.join(db, OPERATOR, wg.id, again)
    groups.join(db, OPERATOR, wg.id, staff(KUMAMOTO, "熊本 次郎"))  # a colleague is another person
    groups.remove_membership(db, OPERATOR, wg.id, adviser.id)
    groups.remove_membership(db, OPERATOR, wg.id, city.id)
    rows = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.target_type == "group", AuditRecord.target_id == str(wg.id))
                           .order_by(AuditRecord.seq)))
    assert [r.action for r in rows] == ["group.create", "group.join", "group.join", "group.join", "group.join", "group.join",
                                        "group.leave", "group.leave"]
    assert json.loads(rows[2].after) == {"member_kind": "municipal_staff", "tenant_code": KUMAMOTO, "name": "熊本 太郎"}
    assert rows[2].tenant_code == KUMAMOTO
    assert json.loads(rows[-1].before) == {"member_kind": "municipal_staff", "tenant_code": KUMAMOTO, "name": "熊本 太郎"}
    assert json.loads(rows[-2].before) == {"member_kind": "adviser", "name": "有識者 一郎", "affiliation": "熊本大学"}


def test_the_database_refuses_a_second_row_of_the_same_person(db, wg):
    row = groups.join(db, OPERATOR, wg.id, staff(KUMAMOTO))
    db.commit()
    db.add(groups.GroupMember(group_id=wg.id, member_kind=MemberKind.municipal_staff, tenant_code=KUMAMOTO,
                              name="熊本 太郎", member_key=row.member_key))
    with pytest.raises(IntegrityError):
        db.flush()
    db.rollback()


def test_a_member_is_refused_field_by_field(db, wg):
    cases = [(Candidate("boss", name="x"), "member_kind"),
             (Candidate("municipal_staff", tenant_code=PREFECTURE, name="x"), "tenant_code"),
             (Candidate("prefecture_staff", tenant_code=KUMAMOTO, name="x"), "tenant_code"),
             (Candidate("municipal_staff", tenant_code="x" * 5000, name="x"), "tenant_code"),
             (staff(KUMAMOTO, ""), "name"), (staff(KUMAMOTO, "x" * 101), "name"), (staff(KUMAMOTO, "a\x00b"), "name"),
             (staff(KUMAMOTO, user_id="../x"), "user_id"),
             (Candidate("adviser", name="有識者"), "affiliation"),
             (Candidate("consortium_member", corporate_number="9" * 5000), "corporate_number")]
    for candidate, field in cases:
        with pytest.raises(Invalid) as refused:
            groups.join(db, OPERATOR, wg.id, candidate)
        assert [p["field"] for p in refused.value.problems] == [field], candidate
    assert groups.memberships(db, wg.id) == []


def test_only_a_working_group_is_the_councils_sub_body_and_attaching_is_audited(db, wg):
    assert [g.id for g in groups.council_bodies(db, OPERATOR)] == [wg.id]
    community = groups.create_group(db, OPERATOR, groups.GroupDraft("community", "コミュニティ"))
    with pytest.raises(Invalid):
        groups.set_under_council(db, OPERATOR, community.id, True)
    with pytest.raises(Invalid):
        groups.create_group(db, OPERATOR, groups.GroupDraft("community", "別のコミュニティ", under_council=True))
    groups.set_under_council(db, OPERATOR, wg.id, False)
    assert groups.council_bodies(db, OPERATOR) == []
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "group.council")).one()
    assert (json.loads(record.before), json.loads(record.after)) == ({"under_council": True}, {"under_council": False})


def test_a_municipal_staff_member_in_the_councils_working_group_gains_no_council_vote(db, wg):
    closes = utcnow() + dt.timedelta(days=7)
    before = council.propose(db, OPERATOR, ProposalCreate(title="利用促進について", closes_at=closes))
    groups.join(db, OPERATOR, wg.id, staff(APPLYING, "申請中 町職員", user_id="staff-432041"))
    groups.join(db, OPERATOR, wg.id, staff(KUMAMOTO, "熊本 職員", user_id="staff-431001"))
    after = council.propose(db, OPERATOR, ProposalCreate(title="部会の報告について", closes_at=closes))
    assert council.electorate_of(after) == council.electorate_of(before) == [PREFECTURE, KUMAMOTO]
    kumamoto_staff = Actor("urn:test", "staff-431001", "熊本 職員", frozenset({"municipal-staff"}), frozenset({KUMAMOTO}))
    with pytest.raises(NotPermitted):  # a staff member never votes: their municipality does, through its admin
        council.cast_vote(db, kumamoto_staff, after.id, "for", KUMAMOTO)
    applying_admin = Actor("urn:test", "admin-432041", "町 管理者", frozenset({"municipal-admin"}), frozenset({APPLYING}))
    with pytest.raises(VoteRefused):  # its tenant is not a member of the council: a working group does not make it one
        council.cast_vote(db, applying_admin, after.id, "for", APPLYING)


def test_a_municipal_admin_sees_the_groups_of_their_own_staff_only(db, wg):
    groups.join(db, OPERATOR, wg.id, staff(KUMAMOTO))
    other = groups.create_group(db, OPERATOR, groups.GroupDraft("working_group", "防災WG"))
    admin = Actor("urn:test", "admin-431001", "熊本市 管理者", frozenset({"municipal-admin"}), frozenset({KUMAMOTO}))
    groups.add_member(db, OPERATOR, wg.id, MEMBER)
    seen = groups.groups_of_tenant(db, admin, KUMAMOTO)
    assert [(s.group.id, [m.name for m in s.staff]) for s in seen] == [(wg.id, ["熊本 太郎"])]  # their staff only
    assert other.id not in {s.group.id for s in groups.groups_of_tenant(db, OPERATOR, KUMAMOTO)}
    with pytest.raises(NotPermitted):
        groups.groups_of_tenant(db, admin, APPLYING)
    with pytest.raises(NotPermitted):  # they see, they do not manage
        groups.join(db, admin, wg.id, staff(KUMAMOTO, "熊本 三郎"))
    with pytest.raises(NotPermitted):
        groups.list_groups(db, admin)


def test_through_the_api_a_working_group_takes_staff_and_advisers_and_its_municipal_admin_sees_only_their_staff(
        client, db, wg, user_factory):
    operator = user_factory(("platform-operator",), PREFECTURE)[1]
    url = f"/api/v1/community-groups/{wg.id}"
    added = client.post(f"{url}/members", json={"member_kind": "municipal_staff", "tenant_code": KUMAMOTO, "name": "熊本 太郎"},
                        headers=operator)
    assert added.status_code == 200
    client.post(f"{url}/members", json={"corporate_number": MEMBER}, headers=operator)  # the kind by default, as before
    client.post(f"{url}/members", json={"member_kind": "adviser", "name": "有識者 一郎", "affiliation": "熊本大学"}, headers=operator)
    body = client.get(url, headers=operator).get_json()
    assert body["under_council"] is True
    assert [(m["member_kind"], m["member_kind_ja"], m["name"]) for m in body["members"]] == [
        ("consortium_member", "コンソーシアム会員", "くまもとデータ株式会社"), ("municipal_staff", "市町村職員", "熊本 太郎"),
        ("adviser", "アドバイザー（有識者）", "有識者 一郎")]
    again = client.post(f"{url}/members", json={"member_kind": "municipal_staff", "tenant_code": KUMAMOTO, "name": "熊本　太郎"},
                        headers=operator)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    wrong = client.post(f"{url}/members", json={"member_kind": "prefecture_staff", "tenant_code": KUMAMOTO, "name": "x"},
                        headers=operator)
    assert wrong.status_code == 422 and wrong.mimetype == "application/problem+json"
    assert "県を選んでください" in wrong.get_data(as_text=True)
    long = client.post(f"{url}/members", json={"member_kind": "adviser", "name": "x" * 5000, "affiliation": "y"}, headers=operator)
    assert long.status_code == 422

    admin = user_factory(("municipal-admin",), KUMAMOTO)[1]
    mine = client.get(f"/api/v1/community-groups?staff_of={KUMAMOTO}", headers=admin).get_json()
    assert [(g["name"], [m["name"] for m in g["members"]]) for g in mine["items"]] == [("スマートシティWG", ["熊本 太郎"])]
    assert client.get("/api/v1/community-groups", headers=admin).status_code == 403
    assert client.get(f"/api/v1/community-groups?staff_of={PREFECTURE}", headers=admin).status_code == 403
    assert client.post(f"{url}/members", json={"member_kind": "municipal_staff", "tenant_code": KUMAMOTO, "name": "熊本 次郎"},
                       headers=admin).status_code == 403

    staff_row = next(m for m in body["members"] if m["member_kind"] == "municipal_staff")
    removed = client.delete(f"{url}/memberships/{staff_row['id']}", headers=operator)
    assert removed.status_code == 200 and "熊本 太郎" not in {m["name"] for m in removed.get_json()["members"]}
    detached = client.put(f"{url}/council", json={"under_council": False}, headers=operator)
    assert detached.status_code == 200 and detached.get_json()["under_council"] is False


def test_a_working_group_with_a_kumamoto_staff_member_and_a_consortium_member_holds_a_meeting_with_minutes(db, wg):
    from governance import meetings
    from tests.governance.test_meetings import WRITER

    groups.join(db, OPERATOR, wg.id, staff(KUMAMOTO))
    groups.add_member(db, OPERATOR, wg.id, MEMBER)
    draft = meetings.MeetingDraft(kind="working_group", title="第1回 スマートシティWG", held_at=utcnow(),
                                  attendees=groups.members_as_attendees(db, wg.id))
    meeting = groups.create_group_meeting(db, WRITER, wg.id, draft)
    assert {(a.name, a.tenant_code, a.corporate_number) for a in meetings.attendees_of(db, meeting.id)} == {
        ("熊本 太郎", KUMAMOTO, ""), ("", "", MEMBER)}
    meetings.write_minutes(db, WRITER, meeting.id, text="スマートシティサービス案を2件検討した。")
    meetings.approve_minutes(db, Actor("urn:test", "approver-1", "県 承認者", frozenset({"platform-operator"})), meeting.id)
    assert meetings.MinutesStatus(meeting.minutes_status) == meetings.MinutesStatus.approved

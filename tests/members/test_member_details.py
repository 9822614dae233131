"""A member keeps its own details (issue 58 item 1): its admin changes the contact person (applied at once)
and the name (waits; the secretariat approves); both are in the history and the audit log, and the member
report shows the new name. An admin of another member is refused; the secretariat changes any member."""

from __future__ import annotations

import dataclasses
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import today_jst
from core.errors import Conflict, Invalid, NotPermitted
from secretariat import member_report
from tenancy.members import details as member_details
from tenancy.members.models import ChangeStatus, MemberChange, MemberStatus, Organisation, OrganisationKind
from tests.conftest import OPERATOR
from tests.members.conftest import NTA

OTHER = "9000020431001"


def org_admin(number: str) -> Actor:
    return Actor(issuer="urn:test", subject=f"org-admin-{number}", name="会員 管理者", roles=frozenset({"org-admin"}),
                 tenant_codes=frozenset({number}))


@pytest.fixture
def member(db):
    """An approved member that joined this month, and another member."""
    for number, name in ((NTA, "くまもとデータ株式会社"), (OTHER, "よそ株式会社")):
        db.add(Organisation(corporate_number=number, name=name, kind=OrganisationKind.company, prefecture="熊本県",
                            representative="代表 太郎", contact_name="担当 花子", contact_email="hanako@example.jp",
                            status=MemberStatus.approved, joined_on=today_jst()))
    db.commit()
    return NTA


def _changed(db, number: str, **fields):
    org = db.scalars(sa.select(Organisation).where(Organisation.corporate_number == number)).one()
    return dataclasses.replace(member_details.details_of(org), **fields)


def test_contact_applies_at_once_and_the_name_waits_for_the_secretariat(db, operator, member):
    admin = org_admin(member)
    outcome = member_details.change_details(db, admin, member, _changed(db, member, contact_name="担当 次郎",
                                                                         name="くまもとデータ研究所株式会社"))
    org = db.scalars(sa.select(Organisation).where(Organisation.corporate_number == member)).one()
    assert outcome.applied == ("contact_name",) and org.contact_name == "担当 次郎"
    assert org.name == "くまもとデータ株式会社" and outcome.pending is not None

    # a second change of the name while the first waits is refused, beside the field
    with pytest.raises(Conflict) as refused:
        member_details.change_details(db, admin, member, _changed(db, member, name="別の名前株式会社"))
    assert [p["field"] for p in refused.value.problems] == ["name"]

    member_details.approve_change(db, operator, outcome.pending.id)
    db.commit()
    assert org.name == "くまもとデータ研究所株式会社"

    rows = member_details.history(db, admin, member)
    assert [(row.status_label[1], row.after) for row in rows] == [
        ("Approved and applied", {"name": "くまもとデータ研究所株式会社"}), ("Applied", {"contact_name": "担当 次郎"})]
    assert rows[1].before == {"contact_name": "担当 花子"}
    logged = db.scalars(sa.select(AuditRecord).where(AuditRecord.target_id == member,
                                                     AuditRecord.action.in_(("member.update", "member.change.approve")))
                        .order_by(AuditRecord.seq)).all()
    assert [(r.action, json.loads(r.before)) for r in logged] == [
        ("member.update", {"contact_name": "担当 花子"}), ("member.change.approve", {"name": "くまもとデータ株式会社"})]
    assert json.loads(logged[0].after)["awaiting_approval"] == {"name": "くまもとデータ研究所株式会社"}

    report = member_report.build_report(db, operator, member_report.current_quarter())
    assert [m.name for m in report.joined if m.corporate_number == member] == ["くまもとデータ研究所株式会社"]


def test_a_rejected_change_leaves_the_record_and_says_why(db, operator, member):
    outcome = member_details.change_details(db, org_admin(member), member, _changed(db, member, representative="代表 三郎"))
    with pytest.raises(Invalid):
        member_details.reject_change(db, operator, outcome.pending.id, "  ")
    member_details.reject_change(db, operator, outcome.pending.id, "登記事項証明書で確認できません")
    db.commit()
    assert db.scalar(sa.select(Organisation.representative).where(Organisation.corporate_number == member)) == "代表 太郎"
    assert member_details.history(db, operator, member)[0].change.decision_reason == "登記事項証明書で確認できません"


def test_the_admin_of_another_member_is_refused_and_the_secretariat_changes_any(db, operator, member):
    with pytest.raises(NotPermitted):
        member_details.change_details(db, org_admin(OTHER), member, _changed(db, member, contact_name="乗っ取り"))
    with pytest.raises(NotPermitted):
        member_details.history(db, org_admin(OTHER), member)
    outcome = member_details.change_details(db, operator, member, _changed(db, member, name="事務局が直した株式会社"))
    assert outcome.pending is None and outcome.applied == ("name",)
    assert db.scalar(sa.select(Organisation.name).where(Organisation.corporate_number == member)) == "事務局が直した株式会社"


def test_wrong_details_are_refused_field_by_field(db, member):
    with pytest.raises(Invalid) as refused:
        member_details.change_details(db, org_admin(member), member, _changed(
            db, member, name="", contact_email="not-an-address", industry="Z", employees=-1))
    assert {p["field"] for p in refused.value.problems} == {"name", "contact_email", "industry", "employees"}
    assert all(p["message_ja"] and p["message_en"] for p in refused.value.problems)


def _as(monkeypatch, actor: Actor) -> None:
    """The development-open API acting as ``actor`` (no Keycloak: the token's checks are tested elsewhere)."""
    from admin import auth

    monkeypatch.setattr(auth, "_dev_actor", lambda: dataclasses.replace(actor, issuer=auth.DEV_ISSUER))


def test_the_api_changes_the_contact_at_once_and_the_name_after_the_secretariat(open_api, db, member, monkeypatch):
    url = f"/api/v1/members/{member}/details"
    _as(monkeypatch, org_admin(member))
    body = open_api.get(url).get_json()["details"]
    answer = open_api.put(url, json={**body, "contact_name": "担当 次郎", "name": "くまもとデータ研究所株式会社"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    changed = answer.get_json()
    assert changed["applied"] == ["contact_name"] and changed["details"]["name"] == "くまもとデータ株式会社"
    assert changed["pending"]["after"] == {"name": "くまもとデータ研究所株式会社"}

    wrong = open_api.put(url, json={**body, "contact_email": "no address", "industry": "Z"})
    assert wrong.status_code == 422 and wrong.mimetype == "application/problem+json"
    assert {e["field"] for e in wrong.get_json()["errors"]} == {"contact_email", "industry"}

    _as(monkeypatch, org_admin(OTHER))
    refused = open_api.put(url, json=body)
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "権限" in refused.get_json()["detail_ja"] and refused.get_json()["detail"]
    assert open_api.get(f"/api/v1/members/{member}/changes").status_code == 403

    _as(monkeypatch, org_admin(member))
    assert open_api.post(f"/api/v1/member-changes/{changed['pending']['id']}/approve", json={}).status_code == 403
    _as(monkeypatch, OPERATOR)
    approved = open_api.post(f"/api/v1/member-changes/{changed['pending']['id']}/approve", json={"reason": "登記を確認"})
    assert approved.status_code == 200 and approved.get_json()["status"] == "approved"
    # a decided change is not decided again (the lifecycle's table): 409 in words, in both languages
    for again, body in (("approve", {}), ("reject", {"reason": "やはり差し戻す"})):
        refused = open_api.post(f"/api/v1/member-changes/{changed['pending']['id']}/{again}", json=body)
        assert refused.status_code == 409 and refused.mimetype == "application/problem+json"
        assert "確認待ちではないため" in refused.get_json()["detail_ja"] and "事務局が承認・反映済み" in refused.get_json()["detail_ja"]
        assert "not awaiting approval" in refused.get_json()["detail_en"]
    _as(monkeypatch, org_admin(member))
    history = open_api.get(f"/api/v1/members/{member}/changes").get_json()["items"]
    assert [(h["status"], h["after"]) for h in history] == [("approved", {"name": "くまもとデータ研究所株式会社"}),
                                                            ("applied", {"contact_name": "担当 次郎"})]


CSRF = "details-csrf"


def _form(page: str) -> dict[str, str]:
    """The details form's fields as the page shows them (inputs' values, the selected options, the textarea)."""
    import re

    start = page.index(f'action="/admin/members/{NTA}/details"')
    form = page[start:page.index("</form>", start)]
    values = dict(re.findall(r'<input id="([a-z_]+)" name="[a-z_]+" type="[a-z]+" class="[^"]*" value="([^"]*)"', form))
    for name, options in re.findall(r'<select id="([a-z_]+)".*?>(.*?)</select>', form, re.S):
        chosen = re.search(r'<option(?: value="([^"]*)")? selected>([^<]*)<', options)
        values[name] = (chosen.group(1) if chosen.group(1) is not None else chosen.group(2)) if chosen else ""
    values["public_profile"] = re.search(r"<textarea[^>]*>([^<]*)</textarea>", form).group(1)
    return values


def test_the_details_page_keeps_what_was_typed_and_shows_the_waiting_change(client, db, member):
    from tests.conftest import sign_in

    sign_in(client, ["org-admin"], [member], name="会員 管理者", csrf=CSRF)
    page = client.get(f"/admin/members/{member}/details").get_data(as_text=True)
    assert '<label for="contact_name">担当者' in page and "くまもとデータ株式会社" in page
    values = _form(page)
    assert values["name"] == "くまもとデータ株式会社" and values["prefecture"] == "熊本県"

    wrong = client.post(f"/admin/members/{member}/details", data={**values, "csrf_token": CSRF, "contact_name": "担当 次郎",
                                                                  "contact_email": "あて先なし", "employees": "三十"})
    shown = wrong.get_data(as_text=True)
    assert wrong.status_code == 422
    assert 'id="contact_email-error"' in shown and 'id="employees-error"' in shown and 'value="担当 次郎"' in shown
    assert db.scalar(sa.select(Organisation.contact_name).where(Organisation.corporate_number == member)) == "担当 花子"

    sent = client.post(f"/admin/members/{member}/details", data={
        **values, "csrf_token": CSRF, "contact_name": "担当 次郎", "name": "くまもとデータ研究所株式会社",
        "size_band": "small", "capital_yen": "10,000,000"})
    assert sent.status_code == 302
    page = client.get(f"/admin/members/{member}/details").get_data(as_text=True)
    assert "事務局の確認待ち" in page and "くまもとデータ研究所株式会社" in page
    assert "小規模事業者" in page and "10,000,000" in page and ">small<" not in page and "pending" not in page
    # the member's admin cannot approve its own change: no such button, and the POST is refused
    assert "変更を承認" not in page

    # the secretariat finds the waiting change from the members list and approves it on the page
    sign_in(client, csrf=CSRF)
    listed = client.get("/admin/members/").get_data(as_text=True)
    assert f'href="/admin/members/{member}/details">くまもとデータ株式会社<' in listed
    change_id = db.scalar(sa.select(MemberChange.id).where(MemberChange.status == ChangeStatus.pending))
    client.post(f"/admin/members/{member}/changes/{change_id}/approve", data={"csrf_token": CSRF, "reason": ""})
    assert db.scalar(sa.select(Organisation.name).where(Organisation.corporate_number == member)) == "くまもとデータ研究所株式会社"
    twice = client.post(f"/admin/members/{member}/changes/{change_id}/reject", data={"csrf_token": CSRF, "reason": "重複"},
                        follow_redirects=True)  # a second window still showing the change
    assert twice.status_code == 200 and "この変更は確認待ちではないため差し戻しできません" in twice.get_data(as_text=True)
    assert "承認待ちの会員" not in client.get("/admin/members/").get_data(as_text=True)

    sign_in(client, ["org-admin"], [OTHER], csrf=CSRF)
    assert client.get(f"/admin/members/{member}/details").status_code in (403, 404)
    refused = client.post(f"/admin/members/{member}/details", data={**values, "csrf_token": CSRF, "contact_name": "乗っ取り"})
    assert refused.status_code in (403, 404)
    assert db.scalar(sa.select(Organisation.contact_name).where(Organisation.corporate_number == member)) == "担当 次郎"

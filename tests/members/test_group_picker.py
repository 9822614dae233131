"""The project group's members are picked by name (issue 25): the secretariat ticks members in a list
it can search, chooses the representative among them, and reads groups by their members' names, never
typing or reading a 13-digit corporate number."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation, ProjectGroupMember
from tests.admin.test_labels import visible_text
from tests.conftest import sign_in

OUTSIDE = "9000012050099"        # a company in Fukuoka
TOKYO = "8000012050001"          # a company in Tokyo
KUMAMOTO_CITY = "9000020431001"  # 熊本市 (431001), derived
CSRF = "picker-csrf"


@pytest.fixture
def candidates(db, applied, tenant_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    for number, name, prefecture in ((OUTSIDE, "ふくおか観光株式会社", "福岡県"), (TOKYO, "東京データ株式会社", "東京都")):
        applied(number, prefecture=prefecture, name=name, email=f"{number}@example.jp")
        db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
    applied("7000012050002", name="審査中株式会社", email="pending@example.jp")  # not a member yet: not offered
    db.commit()


def rows(page: str) -> dict[str, str]:
    """The picker's rows: the visible name → the member's value (corporate number)."""
    return {visible_text(name).strip(): number for number, name in
            re.findall(r'<input type="checkbox" name="members" value="(\d+)".*?<label for="member-\d+"[^>]*>([^<]*)</label>',
                       page, re.S)}


def test_members_are_ticked_by_name_and_the_group_is_listed_by_name(client, db, candidates):
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/project-groups/").get_data(as_text=True)
    offered = rows(page)
    assert {"ふくおか観光株式会社", "東京データ株式会社", "熊本市", "八代市"} <= set(offered)
    assert "審査中株式会社" not in offered  # an applicant is not a member
    assert '<textarea id="members"' not in page  # nothing is typed as numbers
    # the search narrows the list and keeps what was already chosen and typed
    narrowed = client.post("/admin/project-groups/", data={
        "csrf_token": CSRF, "action": "search", "q": "ふくおか", "name": "観光データ連携",
        "members": [offered["熊本市"]], "representative": offered["熊本市"]})
    text = narrowed.get_data(as_text=True)
    assert narrowed.status_code == 200 and set(rows(text)) == {"熊本市", "ふくおか観光株式会社"}
    assert 'value="観光データ連携"' in text and re.search(rf'value="{KUMAMOTO_CITY}" id="member-{KUMAMOTO_CITY}" checked', text)
    assert db.scalar(sa.select(sa.func.count(ProjectGroupMember.id))) == 0  # a search saves nothing
    formed = client.post("/admin/project-groups/", data={
        "csrf_token": CSRF, "name": "観光データ連携", "members": [offered["熊本市"], offered["ふくおか観光株式会社"]],
        "representative": offered["熊本市"]})
    assert formed.status_code == 302
    listing = visible_text(client.get("/admin/project-groups/").get_data(as_text=True))
    assert "観光データ連携 熊本市 熊本市、ふくおか観光株式会社" in listing
    group_id = db.scalar(sa.select(ProjectGroupMember.group_id))
    detail = visible_text(client.get(f"/admin/project-groups/{group_id}").get_data(as_text=True))
    assert "代表者 熊本市" in detail and "会員（企業・大学・団体） 熊本市、ふくおか観光株式会社" in detail


def test_a_group_broken_by_the_picker_is_refused_in_words_with_the_choices_kept(client, db, candidates):
    sign_in(client, csrf=CSRF)
    refused = client.post("/admin/project-groups/", data={
        "csrf_token": CSRF, "name": "県外のみ", "members": [OUTSIDE, TOKYO], "representative": TOKYO})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "県内に本社・支社などの活動拠点" in text
    assert re.search(rf'value="{TOKYO}" id="representative-{TOKYO}"[^>]* checked', text)
    assert re.search(rf'value="{OUTSIDE}" id="member-{OUTSIDE}" checked', text)


def test_the_picker_is_bounded_and_offered_to_the_secretariat_only(client, db, candidates, operator, tenant_factory,
                                                                   monkeypatch):
    from admin.views.members import GroupsView

    monkeypatch.setattr(GroupsView, "PICKER_SIZE", 2)
    sign_in(client, csrf=CSRF)
    page = client.get("/admin/project-groups/").get_data(as_text=True)
    assert len(rows(page)) == 2 and "該当する会員は 4 者です。選んだ会員の後に最初の 2 者を表示しています" in visible_text(page)
    members.form_group(db, operator, "観光データ連携", KUMAMOTO_CITY, [KUMAMOTO_CITY, OUTSIDE])
    db.commit()
    sign_in(client, ["auditor"], csrf=CSRF)
    page = client.get("/admin/project-groups/").get_data(as_text=True)
    assert rows(page) == {} and "熊本市、ふくおか観光株式会社" in visible_text(page)

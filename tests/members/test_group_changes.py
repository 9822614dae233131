"""Project groups are changed (members added or removed, representative, name) and dissolved; the
formation rules are checked again and broken ones reported in words; every change is audited."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Invalid, NotFound
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation, ProjectGroup, ProjectGroupMember
from tests.conftest import sign_in
from tests.members.conftest import NTA

OUTSIDE = "9000012050099"        # a company in Fukuoka
TOKYO = "8000012050001"          # a company in Tokyo
KUMAMOTO_CITY = "9000020431001"  # 熊本市 (431001), derived
CSRF = "groups-csrf"


@pytest.fixture
def approved(db, applied):
    def make(number, prefecture):
        applied(number, prefecture=prefecture, email=f"{number}@example.jp")
        db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
        db.commit()
        return number
    return make


@pytest.fixture
def group(db, operator, approved, tenant_factory):
    tenant_factory("431001")
    approved(OUTSIDE, "福岡県")
    approved(TOKYO, "東京都")
    formed = members.form_group(db, operator, "観光データ連携", KUMAMOTO_CITY, [KUMAMOTO_CITY, OUTSIDE])
    db.commit()
    return formed.id


def _members(db, group_id):
    return set(db.scalars(sa.select(ProjectGroupMember.corporate_number).where(ProjectGroupMember.group_id == group_id)))


def test_a_member_is_added_and_the_representative_changed(db, operator, group):
    members.change_group(db, operator, group, "観光データ連携", OUTSIDE, [KUMAMOTO_CITY, OUTSIDE, TOKYO])
    db.commit()
    assert _members(db, group) == {KUMAMOTO_CITY, OUTSIDE, TOKYO}
    assert db.get(ProjectGroup, group).representative == OUTSIDE
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "project.change")).one()
    assert json.loads(record.after)["added"] == [TOKYO] and json.loads(record.before)["representative"] == KUMAMOTO_CITY


def test_removing_the_only_member_in_the_prefecture_is_refused_in_words(db, operator, group):
    with pytest.raises(Invalid) as refused:
        members.change_group(db, operator, group, "観光データ連携", OUTSIDE, [OUTSIDE, TOKYO])
    assert "県内" in " ".join(p["message_ja"] for p in refused.value.problems)
    db.rollback()
    assert _members(db, group) == {KUMAMOTO_CITY, OUTSIDE}  # unchanged
    assert db.scalar(sa.select(sa.func.count()).where(AuditRecord.action == "project.change")) == 0


def test_the_representative_must_stay_a_member(db, operator, group):
    with pytest.raises(Invalid) as refused:
        members.change_group(db, operator, group, "観光データ連携", KUMAMOTO_CITY, [OUTSIDE, TOKYO, NTA])
    words = " ".join(p["message_ja"] for p in refused.value.problems)
    assert "代表者" in words and NTA in words  # NTA is no member; the representative left the group


def test_a_group_is_dissolved_with_a_reason_and_the_audit_keeps_it(db, operator, group):
    with pytest.raises(Invalid):
        members.dissolve_group(db, operator, group, "  ")
    members.dissolve_group(db, operator, group, "事業終了")
    db.commit()
    assert db.get(ProjectGroup, group) is None and _members(db, group) == set()
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "project.dissolve")).one()
    assert set(json.loads(record.before)["members"]) == {KUMAMOTO_CITY, OUTSIDE} and json.loads(record.after)["reason"] == "事業終了"
    with pytest.raises(NotFound):
        members.change_group(db, operator, group, "観光データ連携", OUTSIDE, [OUTSIDE, KUMAMOTO_CITY])


def test_the_page_changes_a_group_and_asks_before_dissolving(client, db, group):
    sign_in(client, csrf=CSRF)
    page = client.get(f"/admin/project-groups/{group}")
    assert page.status_code == 200 and OUTSIDE in page.get_data(as_text=True)
    broken = client.post(f"/admin/project-groups/{group}/change", data={
        "csrf_token": CSRF, "name": "観光データ連携", "representative": OUTSIDE, "members": OUTSIDE})
    assert broken.status_code == 422
    text = broken.get_data(as_text=True)
    assert "2者以上" in text and OUTSIDE in text  # the rule in words, what was typed kept
    saved = client.post(f"/admin/project-groups/{group}/change", data={
        "csrf_token": CSRF, "name": "観光データ連携", "representative": OUTSIDE,
        "members": f"{KUMAMOTO_CITY}\n{OUTSIDE}\n{TOKYO}"})
    assert saved.status_code == 302
    assert _members(db, group) == {KUMAMOTO_CITY, OUTSIDE, TOKYO}

    asked = client.post(f"/admin/project-groups/{group}/dissolve", data={"csrf_token": CSRF, "reason": "事業終了"})
    assert asked.status_code == 200 and "元に戻せません" in asked.get_data(as_text=True)
    db.expire_all()
    assert db.get(ProjectGroup, group) is not None  # nothing happens before confirming
    done = client.post(f"/admin/project-groups/{group}/dissolve",
                       data={"csrf_token": CSRF, "reason": "事業終了", "confirmed": "1"})
    assert done.status_code == 302
    db.expire_all()
    assert db.get(ProjectGroup, group) is None
    assert client.get(f"/admin/project-groups/{group}").status_code == 404


def test_an_auditor_reads_a_group_but_cannot_change_it(client, db, group):
    sign_in(client, ["auditor"], csrf=CSRF)
    page = client.get(f"/admin/project-groups/{group}").get_data(as_text=True)
    assert "dissolve" not in page
    refused = client.post(f"/admin/project-groups/{group}/dissolve",
                          data={"csrf_token": CSRF, "reason": "x", "confirmed": "1"})
    assert refused.status_code in (302, 403)
    assert db.get(ProjectGroup, group) is not None


def test_the_cli_changes_a_group_in_words_and_asks_before_dissolving(app, db, group):
    runner = app.test_cli_runner()
    refused = runner.invoke(args=["members", "change-group", str(group), "--as", "tester", "--name", "観光データ連携",
                                  "--representative", OUTSIDE, "--member", OUTSIDE, "--member", TOKYO])
    assert refused.exit_code == 2 and "県内" in refused.output and "in the prefecture" in refused.output
    changed = runner.invoke(args=["members", "change-group", str(group), "--as", "tester", "--name", "観光データ連携",
                                  "--representative", OUTSIDE, "--member", KUMAMOTO_CITY, "--member", OUTSIDE,
                                  "--member", TOKYO])
    assert changed.exit_code == 0, changed.output
    db.expire_all()
    assert _members(db, group) == {KUMAMOTO_CITY, OUTSIDE, TOKYO}
    declined = runner.invoke(args=["members", "dissolve-group", str(group), "--as", "tester", "--reason", "事業終了"],
                             input="n\n")
    assert declined.exit_code != 0
    db.expire_all()
    assert db.get(ProjectGroup, group) is not None
    done = runner.invoke(args=["members", "dissolve-group", str(group), "--as", "tester", "--reason", "事業終了", "--yes"])
    assert done.exit_code == 0, done.output
    db.expire_all()
    assert db.get(ProjectGroup, group) is None

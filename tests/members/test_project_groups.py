"""Project groups (提案グループ): two or more members, one in the prefecture, a representative among
them; broken rules are reported in words when the group is formed, through the domain, the CLI and the page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Invalid
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation, ProjectGroup
from tests.conftest import sign_in
from tests.members.conftest import NTA

OUTSIDE = "9000012050099"   # a company in Fukuoka
KUMAMOTO_CITY = "9000020431001"  # 熊本市 (431001), derived


@pytest.fixture
def approved(db, applied):
    def make(number, prefecture):
        applied(number, prefecture=prefecture, email=f"{number}@example.jp")
        db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number)).status = MemberStatus.approved
        db.commit()
        return number
    return make


def _words(error) -> str:
    return " ".join(p["message_ja"] for p in error.problems)


def test_a_company_and_a_municipality_form_a_group(db, operator, approved, tenant_factory):
    tenant_factory("431001")
    approved(OUTSIDE, "福岡県")
    group = members.form_group(db, operator, "観光データ連携", OUTSIDE, [OUTSIDE, KUMAMOTO_CITY])
    assert group.representative == OUTSIDE
    assert members.list_groups(db, operator)[0][1] == [OUTSIDE, KUMAMOTO_CITY]


def test_one_member_alone_is_not_a_group(db, operator, approved):
    approved(NTA, "熊本県")
    with pytest.raises(Invalid) as refused:
        members.form_group(db, operator, "単独", NTA, [NTA])
    assert "2者以上" in _words(refused.value)


def test_no_member_in_the_prefecture_is_refused_in_words(db, operator, approved):
    approved(OUTSIDE, "福岡県")
    approved("8000012050001", "東京都")
    with pytest.raises(Invalid) as refused:
        members.form_group(db, operator, "県外のみ", OUTSIDE, [OUTSIDE, "8000012050001"])
    assert "県内" in _words(refused.value)


def test_the_representative_must_be_a_member_and_applicants_are_not_members(db, operator, approved, applied, tenant_factory):
    tenant_factory("431001")
    approved(OUTSIDE, "福岡県")
    applied(NTA)  # applied, not approved
    with pytest.raises(Invalid) as refused:
        members.form_group(db, operator, "混成", NTA, [OUTSIDE, KUMAMOTO_CITY, NTA, "1000012050002"])
    words = _words(refused.value)
    assert f"{NTA} は会員" in words and "検査用数字" in words
    with pytest.raises(Invalid) as refused:
        members.form_group(db, operator, "代表外", "8000012050001", [OUTSIDE, KUMAMOTO_CITY])
    assert "代表者はグループの構成員" in _words(refused.value)
    assert db.scalar(sa.select(sa.func.count(ProjectGroup.id))) == 0


def test_the_page_lists_broken_rules_beside_the_form_and_keeps_what_was_typed(client, approved):
    approved(OUTSIDE, "福岡県")
    sign_in(client, csrf="t")
    page = client.post("/admin/project-groups/", data={"csrf_token": "t", "name": "県外のみ", "representative": OUTSIDE,
                                                       "members": OUTSIDE})
    text = page.get_data(as_text=True)
    assert page.status_code == 422
    assert "2者以上" in text and "県内" in text and "県外のみ" in text


def test_the_cli_refuses_in_both_languages(app, db, approved):
    approved(OUTSIDE, "福岡県")
    result = app.test_cli_runner().invoke(args=["members", "form-group", "県外のみ", "--as", "tester",
                                                "--representative", OUTSIDE, "--member", OUTSIDE])
    assert result.exit_code == 2
    assert "2者以上" in result.output and "two or more" in result.output

"""Bases (本社・支社・事業所) and the home prefecture: the group rule counts any base in the prefecture
(県内に本社・支社などの活動拠点を持つ企業・団体等を１以上含むこと), and the prefecture is the registry's,
so another prefecture runs the same rules without a code change."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from core.errors import Invalid
from tenancy.members import operations as members
from tenancy.members.models import MemberBase, MemberStatus, Organisation
from tests.conftest import sign_in
from tests.members.conftest import token_from_outbox

TOKYO_HQ = "8000012050001"      # headquartered in Tokyo
FUKUOKA = "9000012050099"       # headquartered in Fukuoka, no other base
KUMAMOTO_HQ = "7000012050002"   # headquartered in Kumamoto


def _member(db, number: str, prefecture: str, bases=()) -> Organisation:
    members.apply(db, members.Application(number, f"会社{number[-4:]}", "company", prefecture, "代表 太郎", "担当 花子",
                                          f"{number}@example.jp", bases=tuple(bases)),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    members.confirm_email(db, token_from_outbox(db, number))
    org = db.scalar(sa.select(Organisation).where(Organisation.corporate_number == number))
    org.status = MemberStatus.approved
    db.commit()
    return org


def test_a_tokyo_company_with_a_kumamoto_branch_counts_for_a_group(db, operator, tenant_factory):
    tenant_factory("430005")  # 熊本県: the platform's prefecture
    tokyo = _member(db, TOKYO_HQ, "東京都", bases=[("branch", "熊本県")])
    _member(db, FUKUOKA, "福岡県")
    assert tokyo.in_prefecture
    group = members.form_group(db, operator, "半導体データ連携", TOKYO_HQ, [TOKYO_HQ, FUKUOKA])
    assert group.representative == TOKYO_HQ


def test_without_a_base_in_the_prefecture_the_group_is_refused_in_words(db, operator, tenant_factory):
    tenant_factory("430005")
    _member(db, TOKYO_HQ, "東京都", bases=[("office", "大阪府")])
    _member(db, FUKUOKA, "福岡県")
    with pytest.raises(Invalid) as refused:
        members.form_group(db, operator, "県外のみ", TOKYO_HQ, [TOKYO_HQ, FUKUOKA])
    assert "県内に本社・支社などの活動拠点" in " ".join(p["message_ja"] for p in refused.value.problems)


def test_another_prefectures_platform_counts_its_own_prefecture(db, operator, tenant_factory):
    # 栃木県 (090000) runs renkei: a Kumamoto company is outside, a Tokyo company with a Tochigi office inside
    tenant_factory("090000", name_ja="栃木県", name_en="Tochigi Prefecture", kind="prefecture", population=1_933_146)
    kumamoto = _member(db, KUMAMOTO_HQ, "熊本県")
    tokyo = _member(db, TOKYO_HQ, "東京都", bases=[("office", "栃木県")])
    assert not kumamoto.in_prefecture and tokyo.in_prefecture
    rows = {row.corporate_number: row for row in members.list_members(db, operator)[0]}
    assert rows["5000020090000"].prefecture == "栃木県"  # the prefecture's own row names it, not 熊本県


def test_the_join_form_takes_bases_and_puts_a_problem_beside_its_row(client, db, tenant_factory):
    tenant_factory("430005")
    form = client.get("/join/").get_data(as_text=True)
    assert "本社以外の拠点" in form and 'name="base_prefecture_1"' in form
    assert re.search(r'<option selected>熊本県</option>', form)  # the head office defaults to the home prefecture
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form).group(1)
    fields = {"csrf_token": token, "corporate_number": TOKYO_HQ, "name": "東京データ株式会社", "kind": "company",
              "prefecture": "東京都", "representative": "代表 太郎", "contact_name": "担当 花子",
              "contact_email": "tokyo@example.jp"}
    refused = client.post("/join/", data={**fields, "base_kind_1": "factory", "base_prefecture_1": "熊本県"})
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert 'id="base_kind_1-error"' in page and "拠点の種別" in page and 'value="東京データ株式会社"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Organisation)) == 0
    accepted = client.post("/join/", data={**fields, "base_kind_2": "branch", "base_prefecture_2": "熊本県"})
    assert accepted.status_code == 200
    org = db.scalar(sa.select(Organisation))
    assert org.in_prefecture
    assert [(base.kind.value, base.prefecture) for base in db.scalars(sa.select(MemberBase))] == [("branch", "熊本県")]
    sign_in(client, ["platform-operator"])
    detail = client.get(f"/admin/members/{TOKYO_HQ}").get_data(as_text=True)
    assert "支社・支店（熊本県）" in detail

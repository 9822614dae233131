"""The operator's pages: council proposals built from pickers, agreement drafting with a preview,
quota plans and per-tenant limits, and notices to municipalities (home page and e-mail)."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
import sqlalchemy as sa

from billing import allocation_policies
from billing.schemas import PolicyCreate
from core.actor import Actor
from core.audit import AuditRecord
from core.outbox import Notification
from governance import agreements, council, notices
from governance.models import AgreementVersion, Notice
from governance.schemas import VersionDraft
from usage import quota_plans, quotas
from tests.conftest import sign_in

CSRF = "operator-views-csrf"
FINANCE = Actor(issuer="urn:test", subject="finance-1", name="財政 担当", roles=frozenset({"finance-officer"}))
CONTACT = [{"name": "担当 太郎", "email": "taro@example.jp", "role": "admin"}]


def closing_day(days: int = 10) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


def visible_text(page: str) -> str:
    body = page.split("<body", 1)[-1]
    body = re.sub(r"<script.*?</script>", " ", body, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def error_beside(page: str, field: str) -> str:
    """The problem shown beside a field (its aria-describedby error element)."""
    match = re.search(rf'id="{field}-error"[^>]*>(.*?)</div>', page, flags=re.S)
    assert match, f"no problem shown beside {field}"
    return html.unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


@pytest.fixture
def operator_page(client, tenant_factory):
    """The prefecture, two active municipalities and the operator signed in."""
    tenant_factory("430005")
    tenant_factory("431001", contacts=CONTACT)
    tenant_factory("432024", contacts=CONTACT)
    sign_in(client, ["platform-operator"], ["430005"], subject="operator-pref", name="県 運営者", csrf=CSRF)
    return client


def propose(client, **fields):
    data = {"csrf_token": CSRF, "closes_on": closing_day(), **fields}
    return client.post("/admin/council/propose", data=data)


def test_a_proposal_of_each_kind_is_built_from_pickers(operator_page, db, operator, tenant_factory):
    client = operator_page
    policy = allocation_policies.create_policy(db, FINANCE, PolicyCreate.model_validate(
        {"name": "均等割と人口割", "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]}))
    tenant_factory("432032", status="screening")
    agreements.draft_version(db, operator, "operating_rules", VersionDraft(
        title="運用規約（改定案）", body_md="第1条 …", effective_on=dt.date.today() + dt.timedelta(days=60)))
    quota_plans.load_default_plans(db, operator)
    db.commit()

    page = client.get("/admin/council/").get_data(as_text=True)
    text = visible_text(page)
    # the lists name what can be chosen: kinds, policies, drafts, municipalities under screening, plans
    for label in ("負担割合方式の採用", "市町村の参加承認", "利用上限プランの変更", "協定・規約の改定", "その他の議案",
                  "均等割と人口割 第1版", "運用規約 第1版「運用規約（改定案）」", "432032 人吉市",
                  "小規模団体（人口5万人未満）（small）", "API 呼び出し回数（月間）", "上限で停止（ハードリミット）"):
        assert label in text, label
    assert "adopt_allocation_policy" not in text and "joint_use_agreement" not in text and "{" not in text

    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', page))
    pick = {label: value for value, label in options.items()}
    sent = [
        {"title": "按分方式の採用", "change_type": "adopt_allocation_policy", "policy_id": pick["均等割と人口割 第1版（案）"]},
        {"title": "人吉市の参加", "change_type": "admit_municipality", "tenant_code": pick["432032 人吉市"]},
        {"title": "運用規約の改定", "change_type": "publish_agreement_version",
         "agreement_version": pick["運用規約 第1版「運用規約（改定案）」（下書き）"], "reacceptance_days": "45"},
        {"title": "小規模プランの見直し", "change_type": "change_quota_plan", "plan_code": "small",
         "limit_api_calls": "1500000", "enforcement_api_calls": "soft", "remove_datasets": "y"},
        {"title": "定例報告", "change_type": "free_text", "description": "令和7年度の運用状況"},
    ]
    for fields in sent:
        assert propose(client, **fields).status_code == 302, fields["title"]

    made = {p.title: council.params_of(p) for p in council.list_proposals(db, operator)}
    assert made == {
        "按分方式の採用": {"policy_id": policy.id},
        "人吉市の参加": {"tenant_code": "432032"},
        "運用規約の改定": {"document": "operating_rules", "number": 1, "reacceptance_days": 45},
        "小規模プランの見直し": {"plan_code": "small", "change": {"limits": [
            {"metric": "api_calls", "limit": 1500000, "enforcement": "soft", "thresholds": [80, 100]},
            {"metric": "datasets", "limit": None}]}},
        "定例報告": {},
    }
    ids = {p.title: p.id for p in council.list_proposals(db, operator)}
    quota_page = visible_text(client.get(f"/admin/council/{ids['小規模プランの見直し']}/").get_data(as_text=True))
    assert "小規模団体（人口5万人未満）（small）" in quota_page and "1,500,000（警告のみ（ソフトリミット））" in quota_page
    assert "この上限を削除" in quota_page and "{" not in quota_page and "api_calls" not in quota_page
    policy_page = visible_text(client.get(f"/admin/council/{ids['按分方式の採用']}/").get_data(as_text=True))
    assert "均等割と人口割 第1版" in policy_page and "policy_id" not in policy_page
    [closing] = {p.closes_at for p in council.list_proposals(db, operator)}
    jst = closing.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert (jst.date().isoformat(), jst.hour, jst.minute) == (closing_day(), 17, 0)


def test_a_refused_proposal_keeps_what_was_typed_and_names_the_field_in_words(operator_page, db, operator):
    client = operator_page
    allocation_policies.create_policy(db, FINANCE, PolicyCreate.model_validate(
        {"name": "人口割のみ", "components": [{"basis": "population", "weight": "1"}]}))
    db.commit()
    answer = propose(client, title="負担割合の見直し", description="人口割に一本化する。\n詳細は別紙。",
                     change_type="adopt_allocation_policy", policy_id="")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert error_beside(page, "policy_id") == "按分方式を選んでください。"
    assert re.search(r'<select[^>]*aria-describedby="[^"]*policy_id-error[^"]*"[^>]*aria-invalid="true"'
                     r'|<select[^>]*aria-invalid="true"[^>]*aria-describedby="[^"]*policy_id-error', page)
    assert 'value="負担割合の見直し"' in page and "人口割に一本化する。\n詳細は別紙。" in page
    assert re.search(r'<option selected value="adopt_allocation_policy">|<option value="adopt_allocation_policy" selected', page)
    assert f'value="{closing_day()}"' in page
    text = visible_text(page)
    assert "params.policy_id" not in text and "adopt_allocation_policy" not in text
    assert council.list_proposals(db, operator) == []

    unchosen = propose(client, title="議題なし", change_type="", closes_on="").get_data(as_text=True)
    assert error_beside(unchosen, "change_type") == "議案の種類を選んでください。"
    assert error_beside(unchosen, "closes_on") == "投票締切日を選んでください。"

    # a refusal of the domain (voting would close in the past) is shown beside the field it concerns
    yesterday = (dt.date.today() - dt.timedelta(days=1)).isoformat()
    past = propose(client, title="定例報告", change_type="free_text", closes_on=yesterday).get_data(as_text=True)
    assert "投票締切は現在より後にしてください。" in error_beside(past, "closes_on")
    assert "closes_at" not in visible_text(past) and 'value="定例報告"' in past
    assert council.list_proposals(db, operator) == []


def test_an_agreement_draft_preview_writes_nothing_and_renders_markdown_safely(operator_page, db):
    client = operator_page
    form = client.get("/admin/agreements/joint_use_agreement/new").get_data(as_text=True)
    assert "共同利用協定" in form and 'name="body_md"' in form
    body = "# 第1条（目的）\n\nこの協定は **共同利用** について定める。\n\n- 参加団体\n- 県\n\n<script>alert('x')</script>\n"
    before = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    answer = client.post("/admin/agreements/joint_use_agreement/draft", data={
        "csrf_token": CSRF, "action": "preview", "title": "共同利用協定（令和8年度改定）",
        "effective_on": "2026-04-01", "body_md": body, "required": "y", "reacceptance_days": "30"})
    page = answer.get_data(as_text=True)
    preview = re.search(r'<div[^>]*id="preview"[^>]*>(.*?)</div>', page, flags=re.S).group(1)
    # the text's headings sit under the page's own title: "# 第1条" is a second-level heading
    assert re.search(r"<h2[^>]*>第1条（目的）</h2>", preview) and "<h1" not in preview
    assert "<strong>共同利用</strong>" in preview and "<li>参加団体</li>" in preview
    assert "<script>" not in preview and "&lt;script&gt;" in preview
    assert "<script>alert" not in page
    assert 'value="共同利用協定（令和8年度改定）"' in page  # the form keeps what was typed
    assert db.scalar(sa.select(sa.func.count()).select_from(AgreementVersion)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == before

    saved = client.post("/admin/agreements/joint_use_agreement/draft", data={
        "csrf_token": CSRF, "action": "save", "title": "共同利用協定（令和8年度改定）",
        "effective_on": "2026-04-01", "body_md": body, "required": "y", "reacceptance_days": "45"}, follow_redirects=True)
    version_page = saved.get_data(as_text=True)
    [version] = db.scalars(sa.select(AgreementVersion)).all()
    assert (version.number, version.required, version.reacceptance_days) == (1, True, 45)
    assert "下書き" in visible_text(version_page) and "<strong>共同利用</strong>" in version_page
    assert "<script>alert" not in version_page
    assert version_page.count("<h1") == 1  # the page's title only, not the text's "# 第1条"
    board = visible_text(client.get("/admin/agreements/").get_data(as_text=True))
    assert "下書き" in board and "利用中" in board and "active" not in board and "draft" not in board


def test_an_agreement_draft_without_text_comes_back_with_the_problem_beside_it(operator_page, db):
    page = operator_page.post("/admin/agreements/operating_rules/draft", data={
        "csrf_token": CSRF, "action": "save", "title": "運用規約", "effective_on": "", "body_md": ""}).get_data(as_text=True)
    assert error_beside(page, "body_md") == "本文を入力してください。"
    assert error_beside(page, "effective_on") == "施行日を選んでください。"
    assert 'value="運用規約"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(AgreementVersion)) == 0


def test_the_operator_edits_a_plan_and_a_tenants_own_limit_through_the_forms(operator_page, db, operator):
    client = operator_page
    quota_plans.load_default_plans(db, operator)
    db.commit()
    form = client.get("/admin/usage/plans/small/").get_data(as_text=True)
    assert 'value="1000000"' in form and "API 呼び出し回数（月間）" in form and "警告のみ（ソフトリミット）" in form

    bad = client.post("/admin/usage/plans/small/", data={
        "csrf_token": CSRF, "name_ja": "小規模団体", "population_min": "0", "population_max": "49999",
        "limit_api_calls": "-5", "enforcement_api_calls": "hard"}).get_data(as_text=True)
    assert error_beside(bad, "limit_api_calls") == "0以上の整数で入力してください。" and 'value="-5"' in bad
    assert quotas.get_plan(db, "small").limits[0].limit == 1_000_000

    client.post("/admin/usage/plans/small/", data={
        "csrf_token": CSRF, "name_ja": "小規模団体", "population_min": "0", "population_max": "49999",
        "limit_api_calls": "1200000", "enforcement_api_calls": "soft", "remove_datasets": "y"})
    db.expire_all()
    limits = {row.metric: (row.limit, row.enforcement.value) for row in quotas.get_plan(db, "small").limits}
    assert limits["api_calls"] == (1_200_000, "soft") and "datasets" not in limits
    assert quotas.get_plan(db, "small").name_ja == "小規模団体"

    client.post("/admin/usage/tenants/432024/assign", data={"csrf_token": CSRF, "plan_code": "large"})
    client.post("/admin/usage/tenants/432024/override", data={
        "csrf_token": CSRF, "metric": "storage_bytes", "limit": "5000", "enforcement": "hard", "reason": "試験運用"})
    db.expire_all()
    settings = quotas.tenant_quota_settings(db, operator, "432024")
    assert settings.assigned_plan.code == "large"
    assert (settings.overrides["storage_bytes"].limit, settings.overrides["storage_bytes"].reason) == (5000, "試験運用")
    page = visible_text(client.get("/admin/usage/tenants/432024/").get_data(as_text=True))
    assert "432024 八代市" in page and "団体個別の上限" in page and "大規模団体（人口30万人以上）（large）" in page

    client.post("/admin/usage/tenants/432024/override/storage_bytes/remove", data={"csrf_token": CSRF})
    db.expire_all()
    assert quotas.tenant_quota_settings(db, operator, "432024").overrides == {}
    actions = db.scalars(sa.select(AuditRecord.action).order_by(AuditRecord.seq)).all()
    assert actions[-4:] == ["quota.plan.change", "quota.assign", "quota.override", "quota.override"]


def test_the_override_form_says_which_enforcement_applies_and_keeps_the_plans(operator_page, db, operator,
                                                                             tenant_factory):
    """Issue 36: the form's default keeps the enforcement that applies without the override, and says which."""
    client = operator_page
    quota_plans.load_default_plans(db, operator)
    quota_plans.change_quota_plan(db, operator, "medium", {"limits": [{"metric": "api_calls", "limit": 5_000_000,
                                                                       "enforcement": "hard"}]})
    db.commit()
    page = visible_text(client.get("/admin/usage/tenants/432024/").get_data(as_text=True))
    assert "「独自の上限がない場合と同じ」にすると、現在の扱いを引き継ぎます" in page
    assert "API 呼び出し回数（月間）: 上限で停止（ハードリミット）" in page
    client.post("/admin/usage/tenants/432024/override", data={
        "csrf_token": CSRF, "metric": "api_calls", "limit": "1000", "enforcement": "", "reason": "試験運用"})
    db.expire_all()
    assert quotas.tenant_quota_settings(db, operator, "432024").overrides["api_calls"].enforcement.value == "hard"


def test_a_municipal_admin_cannot_open_the_quota_forms(client, db, tenant_factory):
    tenant_factory("431001")
    sign_in(client, ["municipal-admin"], ["431001"], csrf=CSRF)
    assert client.get("/admin/usage/tenants/431001/").status_code == 403
    assert client.post("/admin/usage/tenants/431001/override", data={
        "csrf_token": CSRF, "metric": "api_calls", "limit": "1", "enforcement": "soft"}).status_code == 403


def test_a_notice_to_two_municipalities_reaches_them_and_not_a_third(operator_page, db, tenant_factory):
    client = operator_page
    tenant_factory("432032", contacts=CONTACT)
    form = visible_text(client.get("/admin/notices/").get_data(as_text=True))
    assert "431001 熊本市" in form and "432024 八代市" in form and "432032 人吉市" in form
    data = {"csrf_token": CSRF, "title": "システム停止のお知らせ", "body": "3月1日 9時から12時まで停止します。",
            "audience": "chosen", "tenant_codes": ["431001", "432024"]}
    asked = client.post("/admin/notices/publish", data=data).get_data(as_text=True)
    assert "2 団体" in visible_text(asked) and db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0

    done = client.post("/admin/notices/publish", data={**data, "confirmed": "1"}, follow_redirects=True)
    assert "2 件のメールを送信待ちにしました" in done.get_data(as_text=True)
    mails = db.scalars(sa.select(Notification).where(Notification.kind == "notice").order_by(Notification.tenant_code)).all()
    assert [(m.tenant_code, m.recipients) for m in mails] == [("431001", "taro@example.jp"), ("432024", "taro@example.jp")]
    assert all("システム停止のお知らせ" in m.subject and "3月1日" in m.body for m in mails)

    def reader(code):
        return Actor(issuer="urn:test", subject=f"admin-{code}", roles=frozenset({"municipal-admin"}),
                     tenant_codes=frozenset({code}))

    assert [n.title for n in notices.notices_for(db, reader("431001"))] == ["システム停止のお知らせ"]
    assert [n.title for n in notices.notices_for(db, reader("432024"))] == ["システム停止のお知らせ"]
    assert notices.notices_for(db, reader("432032")) == []
    assert db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action == "notice.publish")).all() == ["notice.publish"]


def test_a_notice_without_addressees_comes_back_with_what_was_typed(operator_page, db):
    page = operator_page.post("/admin/notices/publish", data={
        "csrf_token": CSRF, "title": "点検のお知らせ", "body": "", "audience": "chosen"}).get_data(as_text=True)
    assert error_beside(page, "tenant_codes") == "市町村を1つ以上選ぶか、「すべての会員団体にも送る」を選んでください。"
    assert error_beside(page, "body") == "本文を入力してください。"
    assert 'value="点検のお知らせ"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Notice)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0

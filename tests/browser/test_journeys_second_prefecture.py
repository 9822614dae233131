"""A second prefecture's settings run the demo's journeys without a code change (issue 25, Build 7):
栃木県 (090000) instead of the demo's 熊本県, in Chromium through the real Keycloak login.

Nothing of Kumamoto is loaded: 栃木県's operator registers the prefecture and two of its cities
from the registry import page, enters 栃木県's issuer, office, bank and consortium name on the
settings page and adds its own screening item; then

* a wave brings 宇都宮市 (092011) into use, and the board counts it;
* a company headquartered in 東京都 with a branch in 栃木県 counts for a project group, while one with
  a branch in 熊本県 does not (the rule asks for a base in the home prefecture, whichever it is);
* the run's 納入通知書 (PDF) is issued by 栃木県知事, paid to 栃木県's bank, addressed 「宇都宮市長 様」;
* the public application form, the admin pages visited, the catalogue and every notification say
  栃木県 and never 熊本.

Steps a person does in the UI are done in the browser; the screening and the money (four eyes,
tested in the billing journeys) go through the same operations the pages call.
"""

from __future__ import annotations

import base64
import json
import re
import subprocess
import uuid

import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.test_accessibility import FETCH_JS
from tests.conftest import PASSWORD

# 全国地方公共団体コード with their check digits (core.codes); 2020 census preliminary counts
REGISTRY = ("団体コード,団体名,団体名（英語）,種別,人口,人口出典,状態,参加年度\r\n"
            "090000,栃木県,Tochigi Prefecture,都道府県,1933990,令和2年国勢調査 人口速報集計,利用中,\r\n"
            "092011,宇都宮市,Utsunomiya,市,518610,令和2年国勢調査 人口速報集計,申請受付,\r\n"
            "092029,足利市,Ashikaga,市,145750,令和2年国勢調査 人口速報集計,利用中,令和6年度\r\n")
SETTINGS = {  # SAMPLE values: an office named as a prefecture's would be; the account is invented
    "issuer_title": "栃木県知事", "office": "栃木県 総合政策部 デジタル戦略課", "office_address": "〒320-8501 宇都宮市塙田1丁目1番20号",
    "office_phone": "028-623-2111", "office_email": "digital-sample@example.jp", "bank_name": "足利銀行",
    "bank_branch": "県庁内支店", "account_number": "1234567", "account_holder": "栃木県会計管理者", "document_symbol": "デ戦栃",
    "consortium_name": "とちぎDXコンソーシアム",
}
KUMAMOTO = re.compile("熊本|くまもと|Kumamoto|43[0-9]{4}")


def corporate_number(base: str) -> str:
    from core.codes import corporate_check_digit

    return f"{corporate_check_digit(base)}{base}"


def tochigi_operator(directory) -> str:
    """栃木県's operator, a member of 栃木県's tenant group (as the demo's operator is of 熊本県's)."""
    username = "tochigi-operator"
    found = directory.find_user(username)
    user_id = found["id"] if found else directory.create_user(username, f"{username}@example.jp", "運営者", "栃木県",
                                                              password=PASSWORD)
    directory.ensure_tenant_group("090000")
    directory.add_to_tenant(user_id, "090000")
    directory.set_roles(user_id, ("platform-operator",), ("platform-operator",))
    return username


def text_of_pdf(pdf: bytes, tmp_path) -> str:
    source = tmp_path / "letters.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout


def test_tochigi_runs_the_demo_journeys_from_its_settings(page, new_page, login_as, live_server, directory, db, tmp_path):
    from core.actor import Actor
    from core.calendar import fiscal_year_of, today_jst
    from core.outbox import Notification
    from tenancy.identity.operations import Invitation
    from tenancy.members import operations as members
    from tenancy.members.models import Organisation

    year = fiscal_year_of(today_jst())
    run_id = str(uuid.uuid4().hex[:6])
    login_as(page, tochigi_operator(directory))

    # the registry, from the import page
    registry = tmp_path / "tochigi.csv"
    registry.write_bytes(REGISTRY.encode("utf-8"))
    page.goto(live_server("/admin/tenants-import/"))
    page.set_input_files("#file", str(registry))
    page.get_by_role("button", name="ファイルを確認する").click()
    page.get_by_role("button", name="3 団体を登録する").click()
    page.wait_for_load_state()

    # 栃木県's settings: the page's examples are 栃木県's, not 熊本県's
    page.goto(live_server("/admin/settings/"))
    expect(page.get_by_text("例: 栃木県知事")).to_be_visible()
    for field, value in SETTINGS.items():
        page.fill(f"#{field}", value)
    page.select_option("#account_type", "ordinary")
    page.fill("#payment_days", "30")
    page.get_by_role("button", name="設定を保存", exact=True).click()
    expect(page.get_by_text("県の設定を保存しました。")).to_be_visible()

    # a wave brings 宇都宮市 into use
    wave = tmp_path / "wave.csv"
    wave.write_bytes(("団体コード,団体名,担当者名,担当部署,メールアドレス,管理者ユーザー名,申込書受領,参加資格確認,"
                      "反社会的勢力でないことの確認,協定同意\r\n"
                      f"092011,宇都宮市,宇都宮 花子,デジタル政策課,utsunomiya-{run_id}@example.jp,utsunomiya-{run_id},"
                      "済,済,済,済\r\n").encode("utf-8"))
    page.goto(live_server("/admin/onboarding/wave/"))
    page.fill("#fiscal_year", str(year))
    page.set_input_files("#file", str(wave))
    page.get_by_role("button", name="一括処理を実行").click()
    outcome = page.locator("#outcomes tbody tr", has_text="092011")
    expect(outcome).to_contain_text("完了", timeout=120_000)
    page.goto(live_server("/admin/onboarding/"))
    expect(page.get_by_text(re.compile(r"利用中の市町村\s*[:：]\s*2\b")).first).to_be_visible()  # 足利市 and 宇都宮市
    expect(page.get_by_role("region", name=re.compile("^利用中")).get_by_role("link", name="宇都宮市", exact=True)).to_be_visible()

    # a Tokyo company with a branch in 栃木県 applies from the public form, which names 栃木県
    applicant = new_page()
    applicant.goto(live_server("/join/"))
    expect(applicant.get_by_text(re.compile("栃木県内に本社"))).to_be_visible()
    expect(applicant.get_by_text("とちぎDXコンソーシアム").first).to_be_visible()
    with_branch = corporate_number("010401000001")
    for field, value in (("corporate_number", with_branch), ("name", "とうきょう測量株式会社"), ("representative", "代表 一郎"),
                         ("contact_name", "担当 二郎"), ("contact_email", f"survey-{run_id}@example.jp")):
        applicant.fill(f"#{field}", value)
    applicant.select_option("#kind", "company")
    applicant.select_option("#prefecture", "東京都")
    applicant.select_option("#base_kind_1", "branch")
    applicant.select_option("#base_prefecture_1", "栃木県")
    applicant.get_by_role("button", name="申請する").click()
    expect(applicant.get_by_role("status")).to_contain_text(f"survey-{run_id}@example.jp")
    body = db.scalar(sa.select(Notification.body).where(Notification.kind == "member.confirm_email"))
    applicant.goto(re.search(r"https?://\S+/join/confirm/\S+", body).group(0))
    expect(applicant.get_by_role("heading", level=1)).to_have_text("メールアドレスを確認しました")

    # two more Tokyo companies: one with a branch in 熊本県 (not the home prefecture here), one without
    others = {}
    for base, name, bases in (("010401000002", "ひのくに物流株式会社", (("branch", "熊本県"),)),
                              ("010401000003", "みやこ情報株式会社", ())):
        number = corporate_number(base)
        tokens = []
        members.apply(db, members.Application(number, name, "company", "東京都", "代表 三郎", "担当 四郎",
                                              f"{base}-{run_id}@example.jp", bases=bases),
                      confirm_url=lambda token: tokens.append(token) or "http://renkei.test/join/confirm/…")
        members.confirm_email(db, tokens[0])
        others[name] = number
    db.commit()

    # 栃木県's own screening item, checked with the usual ones; the secretariat approves all three
    operator = Actor(issuer="urn:test", subject="tochigi-operator", name="栃木県 運営者", roles=frozenset({"platform-operator"}))
    members.add_screening_item(db, operator, "栃木県暴力団排除条例に基づく確認", "Checked under Tochigi's anti-gang ordinance")
    for number in (with_branch, *others.values()):
        for document in ("pledge", "profile"):
            members.record_document(db, operator, number, document, today_jst())
        for item, _check in members.screening_state(db, operator, number):
            members.check_item(db, operator, number, item.id, True)
        members.approve(db, operator, directory, number, "審査項目をすべて確認した", Invitation(
            f"org-{number}-{run_id}", f"org-{number}-{run_id}@example.jp", "管理者", "団体", frozenset()))
    db.commit()
    assert db.scalar(sa.select(Organisation.in_prefecture).where(Organisation.corporate_number == with_branch)) is True
    assert db.scalar(sa.select(Organisation.in_prefecture).where(Organisation.corporate_number == others["ひのくに物流株式会社"])) is False

    # a group of the Kumamoto-branch company and the Tokyo-only one is refused; with the 栃木県 branch it is formed
    def form_group(name: str, chosen: tuple[str, ...]) -> None:
        page.goto(live_server("/admin/project-groups/"))
        page.fill("#name", name)
        for number in chosen:
            page.check(f"#member-{number}")
        page.check(f"#representative-{chosen[0]}")
        page.get_by_role("button", name="結成する").click()
        page.wait_for_load_state()

    form_group("県外だけの提案グループ", (others["ひのくに物流株式会社"], others["みやこ情報株式会社"]))
    expect(page.locator("#group-errors")).to_contain_text("県内に本社・支社などの活動拠点を持つ会員")
    form_group("測量データ活用グループ", (with_branch, others["みやこ情報株式会社"]))
    expect(page.locator("#group-errors")).to_have_count(0)
    expect(page.get_by_role("link", name="測量データ活用グループ")).to_be_visible()

    # the run's letters: issued by 栃木県知事, paid to 栃木県's bank, addressed to the city's mayor
    run = charge_the_year(db, year)
    page.goto(live_server(f"/admin/billing/runs/{run}/"))
    letters = page.evaluate(FETCH_JS, live_server(f"/admin/billing/documents/runs/{run}.pdf"))  # the person's session
    assert letters["status"] == 200, letters["status"]
    text = text_of_pdf(base64.b64decode(letters["body"]), tmp_path)
    for expected in ("栃木県知事", "足利銀行", "栃木県会計管理者", "宇都宮市長", "足利市長", "デ戦栃第"):
        assert expected in re.sub(r"\s+", "", text), expected
    assert not KUMAMOTO.search(text)

    # what 栃木県's people and applicants read: 栃木県, never 熊本
    for path in ("/admin/", "/admin/onboarding/", "/admin/settings/", "/admin/members/", "/admin/project-groups/",
                 f"/admin/billing/statements/092011/{year}/", "/admin/tenants/", "/admin/notices/",
                 "/admin/users/?tenant=092011", "/admin/users/092011/bulk", "/admin/datasets/", "/admin/tenants-import/"):
        response = page.goto(live_server(path))
        assert response.status == 200, path
        shown = page.evaluate("() => document.body.innerText")
        assert not KUMAMOTO.search(shown), (path, KUMAMOTO.search(shown).group(0))
    applicant.goto(live_server("/join/"))  # but for the lists of all 47 prefectures to choose from
    assert not KUMAMOTO.search(applicant.evaluate(
        "() => { document.querySelectorAll('select').forEach(s => s.remove()); return document.body.innerText; }"))
    answer = page.evaluate(FETCH_JS, live_server("/api/3/action/status_show"))
    status = json.loads(base64.b64decode(answer["body"]))["result"]
    assert status["site_title"] == "栃木県域データ連携基盤 データカタログ"
    db.expire_all()
    assert [(kind, subject) for kind, subject, body in db.execute(sa.select(
        Notification.kind, Notification.subject, Notification.body)) if KUMAMOTO.search(subject + body)] == []


def charge_the_year(db, year: int) -> int:
    """This year's costs split by an adopted policy in an approved run, its letters issued: the
    finance steps of the demo (each by a different finance officer where four eyes ask it)."""
    from billing import allocation_policies, allocation_runs, documents, operations as billing
    from billing.schemas import CostItemCreate, PolicyCreate
    from core.actor import Actor

    finance = [Actor(issuer="urn:test", subject=f"tochigi-finance-{n}", name=f"栃木県 財政担当{n}",
                     roles=frozenset({"finance-officer"})) for n in (1, 2, 3)]
    billing.create_cost_item(db, finance[0], CostItemCreate(
        fiscal_year=year, name="クラウド利用料", category="run", amount=4_800_000, tax_treatment="taxable_10",
        vendor="クラウド事業者", reference="INV-T01"))
    policy = allocation_policies.create_policy(db, finance[0], PolicyCreate(
        name="共同利用負担金の按分", prefecture_share="1/2",
        components=[{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]))
    allocation_policies.adopt_policy(db, finance[2], policy.id)
    run = allocation_runs.create_run(db, finance[0], year)
    allocation_runs.review_run(db, finance[1], run.id)
    allocation_runs.approve_run(db, finance[2], run.id)
    documents.issue_documents(db, finance[0], run.id)
    db.commit()
    return run.id

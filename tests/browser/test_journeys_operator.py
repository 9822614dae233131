"""Journeys of issue #11 (build item 6 a, d, e) in a real Chromium through the real Keycloak login:

a. the operator onboards the FY2025 wave from the UI, and the board then shows 21 active municipalities;
d. the auditor verifies the audit log;
e. 熊本市's admin accepts the agreement in force and votes on an open council proposal.

Each test asserts what the person reads on the page (Japanese, the default), and finds fields and
buttons by their role and label, so the forms are also shown to be labelled.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import sqlalchemy as sa
from playwright.sync_api import expect
from tests.browser.menu import open_section

REPO = Path(__file__).resolve().parents[2]
WAVE_FILE = REPO / "tenancy" / "data" / "kumamoto_wave2_fy2025.csv"
SLOW = 180_000  # a wave provisions eight municipalities in Keycloak: no timed assertion, only a generous wait


def _board_count(page) -> int:
    """The number after 「利用中の市町村:」 on the onboarding board, as a person reads it."""
    line = page.get_by_text(re.compile(r"利用中の市町村\s*[:：]")).first
    expect(line).to_be_visible()
    found = re.search(r"利用中の市町村\s*[:：]\s*(\d+)", line.inner_text())
    assert found, line.inner_text()
    return int(found.group(1))


def test_a_the_operator_onboards_the_fy2025_wave_and_the_board_shows_21_active(
        demo, people, page, login_as, live_server, db):
    with WAVE_FILE.open(encoding="utf-8-sig", newline="") as handle:
        wave = {row["団体コード"]: row["団体名"] for row in csv.DictReader(handle)}
    assert len(wave) == 8, "the FY2025 wave of the README demo is eight municipalities"
    db.commit()  # hold no lock while the live server answers

    login_as(page, people["operator"].username)
    page.goto(live_server("/admin/onboarding/"))
    expect(page.get_by_role("heading", name="参加手続きボード", level=1)).to_be_visible()
    assert _board_count(page) == 13  # wave 1 (FY2024): 13 municipalities; the prefecture is not one

    page.get_by_role("link", name="参加募集の一括処理").click()
    expect(page).to_have_url(live_server("/admin/onboarding/wave/"))
    page.get_by_label("年度").fill("令和7年度")
    page.get_by_label("参加募集ファイル（CSV、UTF-8 または Shift_JIS）").set_input_files(str(WAVE_FILE))
    page.get_by_role("button", name="一括処理を実行").click()

    outcomes = page.get_by_role("table", name="団体ごとの結果")
    expect(outcomes).to_be_visible(timeout=SLOW)
    rows = outcomes.locator("tbody tr")
    expect(rows).to_have_count(len(wave))
    for code, name in wave.items():
        row = rows.filter(has_text=code)
        expect(row).to_contain_text(name)
        expect(row).to_contain_text("利用中")
        expect(row).to_contain_text("完了")
    expect(outcomes).not_to_contain_text("要対応")
    expect(outcomes).not_to_contain_text(re.compile(r"\bactive\b|\bOK\b"))  # statuses in Japanese, not raw codes

    page.get_by_role("link", name=re.compile("参加手続きボード")).click()
    expect(page).to_have_url(live_server("/admin/onboarding/"))
    assert _board_count(page) == 21
    active_column = page.get_by_role("region", name=re.compile("^利用中"))
    for name in wave.values():
        expect(active_column.get_by_role("link", name=name, exact=True)).to_be_visible()


def test_d_the_auditor_verifies_the_audit_log(demo, people, page, login_as, live_server, db):
    from core.audit import AuditRecord

    db.commit()
    login_as(page, people["auditor"].username)
    open_section(page, "運用と監査").get_by_role("link", name="操作ログの検証").click()  # the menu's section, then its page
    expect(page).to_have_url(live_server("/admin/audit-verify/"))
    expect(page.get_by_role("heading", name="操作ログの検証", level=1)).to_be_visible()

    records = db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))
    db.commit()
    assert records > 0, "the demo's data is recorded in the audit log"
    result = page.get_by_role("status").filter(has_text="改ざん")
    expect(result).to_contain_text("改ざんは検出されませんでした。")
    expect(result).to_contain_text(f"{records} 件のレコードを検証しました")


def test_e_kumamoto_admin_accepts_the_agreement_in_force_and_votes_on_an_open_proposal(
        demo, people, page, login_as, live_server, db):
    from core.calendar import now_jst, today_jst
    from governance import agreements, council
    from governance.models import AgreementDocument
    from governance.schemas import ProposalCreate, VersionDraft

    operator = demo.loader
    version = agreements.draft_version(db, operator, AgreementDocument.joint_use_agreement, VersionDraft(
        title="熊本県エリアデータ連携基盤 共同利用協定", body_md="# 第1条（目的）\n\n本協定は、連携基盤の共同利用について定める。",
        effective_on=today_jst(), required=True))
    agreements.publish_version(db, operator, AgreementDocument.joint_use_agreement, version.number)
    council.propose(db, operator, ProposalCreate(title="運用規程の改正について", description="運用時間の見直し",
                                                 closes_at=now_jst() + dt.timedelta(days=14)))
    db.commit()

    login_as(page, people["kumamoto"].username)
    mine = page.get_by_role("region", name=re.compile("431001 熊本市"))
    expect(mine).to_contain_text("同意が必要な協定・規約")
    expect(mine).to_contain_text("投票が必要な議案")

    # the agreement in force: from the home page to its text, then accept it
    mine.get_by_role("link", name=re.compile("共同利用協定")).first.click()
    expect(page.get_by_role("heading", name=re.compile("共同利用協定 v1: 熊本県エリアデータ連携基盤 共同利用協定"))).to_be_visible()
    expect(page.get_by_text("本協定は、連携基盤の共同利用について定める。").first).to_be_visible()
    page.get_by_role("button", name=re.compile("本文を確認し、次の団体として同意します")).click()
    expect(page.get_by_role("status").filter(has_text="同意済みの団体")).to_contain_text("熊本市")
    expect(page.get_by_role("button", name=re.compile("同意します"))).to_have_count(0)

    # the open proposal: from the home page, vote for
    page.goto(live_server("/admin/"))
    mine = page.get_by_role("region", name=re.compile("431001 熊本市"))
    expect(mine).to_contain_text("施行中の協定・規約にはすべて同意済みです。")
    mine.get_by_role("link", name="運用規程の改正について").click()
    expect(page.get_by_role("heading", name=re.compile("運用規程の改正について"), level=1)).to_be_visible()
    ballot = page.get_by_role("group", name=re.compile("熊本市"))
    ballot.get_by_label("賛成").check()
    page.get_by_role("button", name="投票する").click()

    expect(page.get_by_role("row", name=re.compile("431001 熊本市"))).to_contain_text("投票済み")
    expect(page.get_by_role("button", name="投票する")).to_have_count(0)
    page.goto(live_server("/admin/"))
    mine = page.get_by_role("region", name=re.compile("431001 熊本市"))
    expect(mine).to_contain_text("投票が必要な議案はありません。")
    expect(mine).to_contain_text("施行中の協定・規約にはすべて同意済みです。")

"""Journeys of issue 40 (build item 8) in a real Chromium through the real Keycloak login:

* the secretariat (the operator) answers an inquiry past its due date: the list marks it 期限超過, its page
  says so, the reply sent lands on the inquiry (and in the outbox) and the inquiry is 回答済, no longer overdue;
* the secretariat runs a seminar from registration to attendance: it creates a seminar for two people, three
  people register on the public page (the third goes on the waiting list), one cancels and the first waiting
  is moved up, and on the day attendance is recorded.
"""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from playwright.sync_api import expect

from core.calendar import JST
from core.db import utcnow
from tests.conftest import owner_bind
from tests.browser.menu import open_section


def _open(page, live_server, link: str) -> None:
    page.goto(live_server("/admin/"))
    open_section(page, "会員と事務局").get_by_role("link", name=link, exact=True).click()


def test_the_secretariat_answers_an_inquiry_past_its_due_date(people, page, login_as, live_server, db):
    from core.outbox import Notification
    from secretariat import inquiries as inq
    from tests.conftest import OPERATOR

    received = utcnow() - dt.timedelta(days=21)  # three business days are long over, holidays or not
    inquiry = inq.record_inquiry(db, OPERATOR, inq.InquiryDraft(
        "resident", "mail", "catalogue", "オープンデータの更新頻度", "避難所一覧はいつ更新されますか。",
        inquirer_name="住民 花子", email="hanako@example.jp"), now=received)
    db.commit()

    login_as(page, people["operator"].username)
    _open(page, live_server, "問合せ窓口")
    main = page.get_by_role("main")
    row = main.locator("#inquiries tr", has_text="オープンデータの更新頻度")
    expect(row).to_contain_text("期限超過")
    row.get_by_role("link", name="オープンデータの更新頻度").click()
    expect(main.get_by_role("alert")).to_contain_text(f"回答期限（{inquiry.due_on.isoformat()}）を過ぎています")

    main.locator("#body").fill("避難所一覧は毎月1日に更新しています。")
    main.get_by_role("button", name="回答を送信する").click()
    expect(page.get_by_text("回答を送信待ちにし、問合せに記録しました。")).to_be_visible()
    expect(main.locator("#replies")).to_contain_text("避難所一覧は毎月1日に更新しています。")
    expect(main.locator("#status")).to_have_text("回答済")
    expect(main.get_by_text("を過ぎています")).to_have_count(0)

    db.rollback()
    [reply] = db.scalars(sa.select(inq.InquiryReply).where(inq.InquiryReply.inquiry_id == inquiry.id)).all()
    assert db.get(Notification, reply.notification_id).body == "避難所一覧は毎月1日に更新しています。"
    assert not inq.overdue(db, OPERATOR)


def _register(page, live_server, title: str, name: str, email: str, expected: str) -> None:
    page.goto(live_server("/events/"))
    section = page.locator("section", has=page.get_by_role("heading", name=title))
    section.locator("input[name=name]").fill(name)
    section.get_by_label("メールアドレス", exact=False).fill(email)
    section.locator("button[type=submit]").click()
    expect(page.get_by_role("status")).to_contain_text(f"受け付けました：{expected}。")


def test_the_secretariat_runs_a_seminar_from_registration_to_attendance(people, page, login_as, live_server, db):
    from secretariat import events as ev

    title = "データ活用セミナー（第2回）"
    starts = (dt.datetime.now(JST) + dt.timedelta(days=10)).replace(hour=14, minute=0, second=0, microsecond=0)
    login_as(page, people["operator"].username)
    _open(page, live_server, "イベント・セミナー・研修")
    main = page.get_by_role("main")
    main.locator("#kind").select_option("member_seminar")
    main.locator("#title").fill(title)
    main.locator("#starts_at").fill(starts.strftime("%Y-%m-%dT%H:%M"))
    main.locator("#ends_at").fill((starts + dt.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"))
    main.locator("#capacity").fill("2")
    main.locator("#audience").select_option("anyone")
    main.locator("#place").fill("県庁 本館会議室")
    main.get_by_role("button", name="登録する", exact=True).click()
    expect(main.get_by_role("heading", name=title, level=1)).to_be_visible()
    detail = page.url

    _register(page, live_server, title, "参加 一郎", "ichiro@example.jp", "参加登録済み")
    _register(page, live_server, title, "参加 二郎", "jiro@example.jp", "参加登録済み")
    _register(page, live_server, title, "参加 三郎", "saburo@example.jp", "キャンセル待ち")

    page.goto(detail)
    registrations = main.locator("#registrations")
    expect(registrations.locator("tr", has_text="参加 三郎")).to_contain_text("キャンセル待ち")
    registrations.get_by_role("button", name=re.compile("参加 一郎")).click()
    expect(page.get_by_text("参加 三郎 さんがキャンセル待ちから繰り上がりました。")).to_be_visible()
    expect(registrations.locator("tr", has_text="参加 三郎")).to_contain_text("参加登録済み")
    expect(registrations.locator("tr", has_text="参加 一郎")).to_contain_text("取消")

    # the day comes: the seminar began an hour ago (registration has closed; attendance is recorded)
    # (the app's database role cannot move an event's times; the test plays the clock as the schema owner)
    db.rollback()
    event_id = db.scalar(sa.select(ev.Event.id).where(ev.Event.title == title))
    db.rollback()  # hold no lock while the owner writes and the live server answers
    with owner_bind(db).begin() as connection:
        connection.execute(sa.update(ev.Event).where(ev.Event.id == event_id).values(
            starts_at=utcnow() - dt.timedelta(hours=1), ends_at=utcnow() + dt.timedelta(hours=1)))
    page.goto(detail)
    main.get_by_label("出席 参加 二郎").check()
    main.get_by_label("出席 参加 三郎").check()
    main.get_by_role("button", name="出欠を記録する").click()
    expect(page.get_by_text("出欠を記録しました（出席 2 名）。")).to_be_visible()

    db.rollback()
    rows = {r.name: (r.status.value, r.attended) for r in db.scalars(
        sa.select(ev.EventRegistration).where(ev.EventRegistration.event_id == event_id))}
    assert rows == {"参加 一郎": ("cancelled", False), "参加 二郎": ("registered", True),
                    "参加 三郎": ("registered", True)}


def test_the_secretariat_keeps_the_years_schedule_and_issues_and_hands_out_the_monthly_report(
        people, page, login_as, live_server, db):
    """Issue 40 item 7: a work item given to a person picked from the secretariat's people, an issue raised and
    resolved, the month's report downloaded; the page has no axe violations (Japanese and English)."""
    from secretariat import progress
    from tests.browser.test_join_accessibility import _violations

    operator = people["operator"]
    login_as(page, operator.username)
    _open(page, live_server, "年間予定・進捗・課題")
    main = page.get_by_role("main")
    main.locator("#item-title").fill("県との月次定例会の資料作成")
    yesterday = dt.datetime.now(JST).date() - dt.timedelta(days=1)
    main.locator("#item-due").fill(yesterday.isoformat())
    main.locator("#item-owner").select_option(label="熊本県 運営者")  # picked by name, never typed
    main.get_by_role("button", name="作業項目を追加する").click()
    expect(page.get_by_text("作業項目を年間予定に追加しました。")).to_be_visible()
    item = main.locator("#work-items tr", has_text="県との月次定例会の資料作成")
    expect(item).to_contain_text("熊本県 運営者")
    expect(item).to_contain_text("遅延")  # due yesterday (Japan time) and not done

    main.locator("#issue-title").fill("セミナー参加者の伸び悩み")
    main.locator("#issue-owner").select_option(label="熊本県 運営者")
    main.get_by_role("button", name="課題を登録する").click()
    expect(page.get_by_text("課題を登録しました。")).to_be_visible()
    issue = main.locator("#issues tr", has_text="セミナー参加者の伸び悩み")
    issue.get_by_label(re.compile("の状況$")).select_option("resolved")
    issue.get_by_label(re.compile("の対応結果$")).fill("会員向けメールマガジンで案内する")
    issue.get_by_role("button", name="保存する").click()
    expect(page.get_by_text("課題を更新しました。")).to_be_visible()
    expect(main.locator("#issues tr", has_text="セミナー参加者の伸び悩み")).to_contain_text("解決済")

    found = {"ja": _violations(page)}
    page.goto(live_server("/admin/progress/?lang=en"))
    found["en"] = _violations(page)
    page.goto(live_server("/admin/progress/?lang=ja"))
    month = yesterday.strftime("%Y-%m")
    main.locator("#month").fill(month)
    main.get_by_role("button", name="表示").last.click()
    with page.expect_download() as download:
        main.get_by_role("link", name="Excel ファイル").click()
    assert download.value.suggested_filename.endswith(f"{month}.xlsx")
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(progress.WorkItem)) == 1
    assert found == {"ja": [], "en": []}

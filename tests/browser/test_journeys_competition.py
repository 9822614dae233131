"""Journeys of issue 41 (item 7) in a real Chromium through the real Keycloak login, every page checked by axe
(WCAG 2.1 AA):

* a project group's representative declares participation with the documents, submits a proposal within the
  cap, and a submission after the deadline is refused with the deadline named;
* the operator picks two reviewers from the people list; one scores (a refused form first: what was typed kept,
  the problem beside its field), the other declares a conflict with the group and is blocked from scoring it;
* the operator closes the first stage (asked first, told the consequence), records the selection, and the
  numbered notice letter is issued and notified."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa
from playwright.sync_api import expect

from core.calendar import date_ja
from tests.browser.test_join_accessibility import _violations
from tests.competition.conftest import EARLY, REPRESENTATIVE, applied, assign, group, opened_now, pdf_of, proposals_closed  # noqa: F401  (fixtures)
from tests.browser.menu import open_section

JST = dt.timezone(dt.timedelta(hours=9))


def _pdf(name: str, pages: int = 1) -> dict:
    return {"name": name, "mimeType": "application/pdf", "buffer": pdf_of(pages)}


def _call(db, operator):
    from competition import operations as comp

    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)
    return call


def _open(page, live_server, section: str, link: str) -> None:
    page.goto(live_server("/admin/"))
    open_section(page, section).get_by_role("link", name=link, exact=True).click()


def test_a_representative_declares_submits_within_the_cap_and_is_refused_after_the_deadline(
        people, page, login_as, live_server, db, operator, group):
    from competition import operations as comp
    from competition.models import Proposal

    call = _call(db, operator)
    found = {}
    login_as(page, people["kumamoto"].username)  # 熊本市 represents the group
    _open(page, live_server, "会員と事務局", "企画コンペへの参加・提案")
    suffix = f"{call.id}-{group.id}"
    page.set_input_files(f"#participation_form-{suffix}", _pdf("参加表明書.pdf"))
    page.set_input_files(f"#company_profile-{suffix}", _pdf("会社概要.pdf"))
    page.set_input_files(f"#pledge-{suffix}", _pdf("誓約書.pdf"))
    page.get_by_role("button", name="参加表明する").click()
    expect(page.get_by_text("参加表明を受け付けました。")).to_be_visible()
    found["declared"] = _violations(page)

    def propose(total: str, button: str = "企画提案書を提出する") -> None:
        page.set_input_files(f"#proposal-{suffix}", _pdf("企画提案書.pdf", 3))
        page.fill(f"#item-{suffix}-1", "人件費")
        page.fill(f"#amount-{suffix}-1", "3000000")
        page.fill(f"#item-{suffix}-2", "クラウド利用料")
        page.fill(f"#amount-{suffix}-2", "1900000")
        page.fill(f"#total-{suffix}", total)
        page.get_by_role("button", name=button, exact=True).click()

    propose("4900000")  # within the cap of 5,000,000 yen, tax included
    expect(page.get_by_text("企画提案書を受け付けました。")).to_be_visible()
    db.rollback()
    assert db.scalar(sa.select(Proposal.estimate_total_yen)) == 4_900_000

    # the proposal deadline passes (the secretariat moves the steps up to it, in their order, to past moments):
    # a resubmission (the form once a proposal is in, issue 59 item 2) is refused
    moment = proposals_closed(db, operator, call.id).astimezone(JST)
    page.goto(live_server("/admin/competition-entry/"))
    propose("4900000", "企画提案書を再提出する")
    expect(page.get_by_text(f"企画提案書の変更の期限（{date_ja(moment.date())} {moment:%H:%M}）を過ぎているため、"
                            "受け付けられません。")).to_be_visible()
    found["refused"] = _violations(page)
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Proposal)) == 1
    assert {name: v for name, v in found.items() if v} == {}


def _proposed(db, operator, group):
    """A 2025 call (its proposal deadline passed, so that its review may start) with the group's proposal, made
    just after the call opened."""
    from competition import operations as comp

    call = comp.create_call(db, operator, 2025)
    comp.publish_call(db, operator, call.id)
    docs = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
    comp.declare(db, REPRESENTATIVE, call.id, group.id, docs, now=EARLY)
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                         [comp.Line("人件費", 4_000_000)], 4_000_000, now=EARLY)
    db.commit()
    return call


def _assign(page, live_server, call, person) -> None:
    page.goto(live_server(f"/admin/competition-reviewers/{call.id}"))
    page.fill("#person-search", person.username)
    page.get_by_role("button", name="利用者を検索").click()
    page.get_by_label(f"{person.display_name}（{person.username}）").check()
    page.get_by_role("button", name="選んだ方を審査員に指名する").click()
    expect(page.get_by_text(f"{person.display_name}さんをこの公募の審査員に指名しました。")).to_be_visible()


def test_two_reviewers_picked_from_the_people_list_one_scores_and_one_with_a_conflict_is_blocked(
        people, page, new_page, login_as, live_server, db, operator, group):
    from competition import review as rv

    call = _proposed(db, operator, group)
    scorer, tied = people["finance"], people["yatsushiro"]
    found = {}
    login_as(page, people["operator"].username)
    _open(page, live_server, "会員と事務局", "審査員と審査の締切")
    page.get_by_role("link", name=call.title).click()
    found["reviewers"] = _violations(page)
    for person in (scorer, tied):
        _assign(page, live_server, call, person)
    expect(page.locator("#reviewers tbody tr")).to_have_count(2)
    found["assigned"] = _violations(page)

    first = new_page()
    login_as(first, scorer.username)
    _open(first, live_server, "会員と事務局", "企画提案の審査")
    first.get_by_role("link", name=call.title).click()
    expect(first.locator("#stage")).to_have_text("実施中の審査：一次審査（書面）")
    found["desk"] = _violations(first)
    first.get_by_role("link", name=group.name, exact=True).click()
    found["form"] = _violations(first)
    first.get_by_label("可", exact=True).check()
    points = first.locator("input[type=number]")
    expect(points).to_have_count(4)
    for n, value in enumerate(("120", "60", "10", "12")):
        points.nth(n).fill(value)
    first.get_by_label("「デジタルの取組みとしての有用性」の講評").fill("地域課題の解決に有効")
    first.get_by_role("button", name="採点を保存する").click()
    beside = first.locator(".invalid-feedback")
    expect(beside).to_have_text(["「デジタルの取組みとしての有用性」は0～100点で採点してください。"])
    expect(points.nth(0)).to_have_value("120")  # what was typed is kept
    expect(first.get_by_label("「デジタルの取組みとしての有用性」の講評")).to_have_value("地域課題の解決に有効")
    found["refused"] = _violations(first)
    points.nth(0).fill("80")
    first.get_by_role("button", name="採点を保存する").click()
    expect(first.get_by_text("採点を保存しました。")).to_be_visible()
    expect(first.locator("#to-score tbody")).to_contain_text("採点済み")

    second = new_page()
    login_as(second, tied.username)
    second.goto(live_server(f"/admin/competition-review/{call.id}"))
    second.get_by_label(f"{group.name}との利害関係の内容").fill("構成員の役員を兼ねている")
    second.get_by_role("button", name=f"利害関係を申告する {group.name}").click()
    expect(second.get_by_text("利害関係の申告を受け付けました。")).to_be_visible()
    expect(second.locator("#to-score tbody")).to_contain_text("利害関係を申告しているため、採点できません。")
    expect(second.locator("#to-score").get_by_role("link", name=group.name, exact=True)).to_have_count(0)
    found["tied desk"] = _violations(second)
    second.goto(live_server(f"/admin/competition-review/{call.id}/groups/{group.id}"))
    expect(second.locator("#cannot-score")).to_be_visible()
    expect(second.locator("#score-form")).to_have_count(0)
    assert "地域課題の解決に有効" not in second.content()  # the other reviewer's marks are sealed
    db.rollback()
    scored = db.scalars(sa.select(rv.Reviewer.name).join(rv.Score, rv.Score.reviewer_id == rv.Reviewer.id)).all()
    assert set(scored) == {scorer.display_name}
    assert {name: v for name, v in found.items() if v} == {}


def test_after_closing_the_stage_the_selection_is_recorded_and_the_notice_letter_issued(
        people, page, login_as, live_server, db, operator, group, tenant_factory):
    from competition import operations as comp
    from competition import review as rv
    from competition.models import Selection
    from competition.selection import NOTICE_KIND
    from core.actor import Actor
    from core.outbox import Notification
    from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
    from tenancy.registry.sample import KUMAMOTO_SETTINGS

    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    call = _proposed(db, operator, group)
    for n, points in ((1, (80, 60, 10, 12)), (2, (70, 50, 15, 14))):
        reviewer = Actor(issuer="urn:test", subject=f"reviewer-{n}", name=f"審査 {n}", roles=frozenset({"municipal-staff"}),
                         tenant_codes=frozenset({"430005"}))
        assign(db, operator, call.id, reviewer)  # the scoring journey's reviewers, as the directory would answer
        scored = iter(points)
        rv.score(db, reviewer, call.id, "first", group.id,
                 [rv.Mark(c.id, passed=True if c.kind.value == "gate" else None,
                          points=0 if c.kind.value == "gate" else next(scored)) for c in comp.criteria(db, call.id)])
    db.commit()

    found = {}
    login_as(page, people["operator"].username)
    page.goto(live_server(f"/admin/competition/{call.id}"))
    expect(page.get_by_text("審査が締め切られるまで採点結果は開示されません。").first).to_be_visible()
    page.get_by_role("main").get_by_role("link", name="審査員と審査の締切").click()  # the call's own, not the menu's
    page.get_by_role("button", name="この審査を締め切る 一次審査（書面）").click()
    expect(page.get_by_role("heading", name="一次審査（書面）を締め切りますか？")).to_be_visible()
    expect(page.get_by_text("採点結果が開示され、順位が確定します。", exact=False)).to_be_visible()
    found["confirm"] = _violations(page)
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.StageClosed)) == 0  # asked first, nothing written
    page.get_by_role("button", name="この審査を締め切る", exact=True).click()
    expect(page.get_by_text("審査を締め切りました。")).to_be_visible()
    found["closed"] = _violations(page)

    page.goto(live_server(f"/admin/competition/{call.id}"))
    page.get_by_label(group.name).check()
    page.get_by_role("button", name="選定を記録して通知する").click()
    expect(page.get_by_text("選定を記録し、通知しました。")).to_be_visible()
    found["selected"] = _violations(page)
    db.rollback()
    number = db.scalar(sa.select(Selection.number).where(Selection.selected.is_(True)))
    assert number
    href = page.get_by_role("link", name=number).get_attribute("href")
    answer = page.evaluate("""async (url) => {
        const r = await fetch(url, {credentials: 'same-origin'});
        const bytes = new Uint8Array(await r.arrayBuffer());
        return {status: r.status, type: r.headers.get('content-type'), head: String.fromCharCode(...bytes.slice(0, 5))};
    }""", href)
    assert answer == {"status": 200, "type": "application/pdf", "head": "%PDF-"}  # the numbered notice letter
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == NOTICE_KIND)) == 1
    assert {name: v for name, v in found.items() if v} == {}

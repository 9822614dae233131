"""The competition's pages meet WCAG 2.1 AA (axe-core, the tags the admin crawl uses): the public page of a
call made from the default template, with its schedule, 200-point table and a published answer, in Japanese
and English; the secretariat's call page and the representative's entry page in Japanese."""

from __future__ import annotations

import pytest

from tests.browser.test_join_accessibility import _violations
from tests.competition.conftest import REPRESENTATIVE, applied, group  # noqa: F401  (fixtures)


def _published_call(db, operator):
    from competition import operations as comp

    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    question = comp.ask(db, REPRESENTATIVE, call.id, "NGSI での接続は必須ですか。")
    comp.answer(db, operator, question.id, "必須ではありません。将来 API によることを見据えたものにしてください。")
    comp.publish_answers(db, operator, call.id)
    db.commit()
    return call


@pytest.mark.parametrize("lang,heading", [("ja", "評価項目"), ("en", "Scoring")])
def test_the_public_call_page_has_no_axe_violations(page, live_server, db, operator, lang, heading):
    _published_call(db, operator)
    page.goto(live_server(f"/competition/?lang={lang}"))
    assert page.get_attribute("html", "lang") == lang
    assert page.locator("#milestones tbody tr").count() == 13
    assert page.locator("h2#scoring").inner_text() == heading
    assert "200" in page.locator("#criteria tbody tr").last.inner_text()
    assert _violations(page) == []


def test_the_secretariat_and_entry_pages_have_no_axe_violations(page, new_page, live_server, login_as, people, db,
                                                                operator, group):
    call = _published_call(db, operator)
    found = {}
    login_as(page, people["operator"].username)
    page.goto(live_server(f"/admin/competition/{call.id}"))
    page.wait_for_selector("#milestones")
    found["call"] = _violations(page)
    page.goto(live_server("/admin/competition/"))
    found["calls"] = _violations(page)
    other = new_page()
    login_as(other, people["kumamoto"].username)  # 熊本市 represents the group
    other.goto(live_server("/admin/competition-entry/"))
    other.wait_for_selector("input[name=participation_form]")
    found["entry"] = _violations(other)
    assert {name: v for name, v in found.items() if v} == {}

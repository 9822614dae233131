"""The competition's pages meet WCAG 2.1 AA (axe-core, the tags the admin crawl uses): the public page of a
call made from the default template, with its schedule, 200-point table and a published answer, in Japanese
and English; the secretariat's call page and the representative's entry page in Japanese."""

from __future__ import annotations

import pytest

from tests.browser.test_join_accessibility import _violations
from tests.competition.conftest import REPRESENTATIVE, applied, group, opened_now  # noqa: F401  (fixtures)
from tests.competition.test_selection import call, two_groups  # noqa: F401  (fixtures)

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered


def _published_call(db, operator):
    from competition import operations as comp

    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)
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


def test_the_contract_pages_have_no_axe_violations(page, live_server, login_as, people, db, operator, contract_chosen):
    import datetime as dt

    from competition import contracts as ct
    from tests.competition.test_contracts import ITEMS, LINES, TERMS, _dataset, _used

    call, group = contract_chosen
    found = {}
    login_as(page, people["operator"].username)
    page.goto(live_server("/admin/competition-contracts/"))
    page.wait_for_selector("select[name=representative]")
    found["contracts"] = _violations(page)
    contract = ct.create_contract(db, operator, call.id, group.id, TERMS, LINES, ITEMS)
    _used(db, _dataset(db, "yatsushiro-aed", "432024", "aed", dt.datetime(2025, 1, 10, tzinfo=dt.timezone.utc)), "431001",
          dt.date(2025, 8, 1))
    db.commit()
    page.goto(live_server(f"/admin/competition-contracts/{contract.id}"))
    page.wait_for_selector("#rule-verdict")
    assert "要件を満たしていません" in page.locator("#rule-verdict").inner_text()
    found["contract"] = _violations(page)
    assert {name: v for name, v in found.items() if v} == {}


@pytest.fixture
def contract_chosen(db, operator, call, two_groups):
    """The fiscal year 2025 call whose final selection chose the first group."""
    from competition import selection as sel
    from tests.competition.test_selection import ISSUED, _review

    group, other = two_groups
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    sel.select(db, operator, call.id, "first", [group.id, other.id], issued_on=ISSUED)
    _review(db, operator, call, "second", {group.id: [80, 60, 10, 10], other.id: [40, 30, 5, 5]})
    sel.select(db, operator, call.id, "second", [group.id], issued_on=ISSUED)
    db.commit()
    return call, group

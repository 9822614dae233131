"""The pages' scripts still work under the Content-Security-Policy (admin/security_headers.py): they are
files of the site now (admin/static/renkei/), and a page whose script the policy refuses fails the test
(the console watch of tests/browser/conftest.py)."""

from __future__ import annotations

from playwright.sync_api import expect


def _csp(page) -> str:
    return page.evaluate("() => fetch(location.href).then(r => r.headers.get('content-security-policy'))")



def test_the_councils_form_shows_only_the_fields_of_the_chosen_kind(page, login_as, live_server, demo, people, db):
    login_as(page, people["operator"].username)
    page.goto(live_server("/admin/council/"))
    assert "script-src 'self'" in _csp(page) and "unsafe-inline" not in _csp(page).split("style-src")[0]
    page.locator("#new-proposal > summary").click()
    page.select_option("#change_type", "admit_municipality")
    expect(page.locator('fieldset[data-kind="admit_municipality"]')).to_be_visible()
    expect(page.locator('fieldset[data-kind="change_quota_plan"]')).to_be_hidden()
    page.select_option("#change_type", "change_quota_plan")
    expect(page.locator('fieldset[data-kind="change_quota_plan"]')).to_be_visible()
    expect(page.locator('fieldset[data-kind="admit_municipality"]')).to_be_hidden()



def test_the_policy_preview_comes_into_the_page_without_leaving_it(page, login_as, live_server, demo, people, db):
    login_as(page, people["finance"].username, next="/admin/billing/policies/new")
    page.goto(live_server("/admin/billing/policies/new"))
    page.fill("#equal", "50")
    page.fill("#population", "50")
    page.fill("#usage", "0")
    page.evaluate("() => { window.stayedOnThePage = true; }")
    page.click("#preview-button")
    expect(page.locator("#preview-area #preview")).to_be_visible()
    assert page.evaluate("() => window.stayedOnThePage === true"), "the preview reloaded the page"
    assert page.url.endswith("/admin/billing/policies/new")



def test_a_lists_filter_menu_works_and_moves_nothing(page, login_as, live_server, demo, people, db):
    login_as(page, people["operator"].username)
    page.goto(live_server("/admin/tenants/"))
    page.locator(".nav-tabs a.dropdown-toggle").first.click()
    page.locator(".field-filters a.filter").first.click()
    expect(page.locator("table.filters tr").first).to_be_visible()
    assert "#" not in page.url
    expect(page.locator("main .table-scroll").first).to_be_attached()  # page.js ran: the tables' scroll boxes

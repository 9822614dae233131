"""The pages and states issue 25 added meet WCAG 2.1 AA (axe-core), including those the crawl of
test_accessibility.py cannot reach by following links: the tenant import's problems and its preview
(answers to an upload), the project group picker after a search, the users page with one's own row."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from tests.browser.conftest import axe_script
from tests.browser.test_accessibility import AXE_JS, AXE_TAGS

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered

BAD = "団体コード,団体名,種別,人口\r\n999999,どこか町,町,-5\r\n".encode("utf-8")
GOOD = "団体コード,団体名,種別,人口\r\n019992,試験町,町,1200\r\n".encode("utf-8")


def violations(page) -> list:
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(axe_script())
    return page.evaluate(AXE_JS, AXE_TAGS)


def test_the_pages_and_states_of_issue_25_meet_wcag_aa(page, login_as, live_server, demo, people, db, tmp_path):
    from tenancy.members import operations as members
    from tenancy.members.models import MemberStatus, Organisation

    members.apply(db, members.Application("7000012050002", "くまもとデータ株式会社", "company", "熊本県", "代表 太郎",
                                          "担当 花子", "apply@example.jp"),
                  confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    db.scalar(sa.select(Organisation)).status = MemberStatus.approved
    db.commit()
    login_as(page, people["operator"].username)
    found = {}
    for path in ("/admin/project-groups/", "/admin/users/?tenant=430005", "/admin/notices/", "/admin/audit/",
                 "/admin/audit-verify/", "/admin/tenants-import/"):
        response = page.goto(live_server(path))
        assert response.status == 200, path
        found[path] = violations(page)
    expect(page.get_by_role("heading", level=1)).to_have_text("参加団体を CSV・Excel ファイルから一括登録")

    for name, data in (("problems", BAD), ("preview", GOOD)):
        upload = tmp_path / f"{name}.csv"
        upload.write_bytes(data)
        page.goto(live_server("/admin/tenants-import/"))
        page.set_input_files("#file", str(upload))
        page.get_by_role("button", name="ファイルを確認する").click()
        page.wait_for_load_state()
        found[f"import {name}"] = violations(page)
    expect(page.get_by_role("button", name="1 団体を登録する")).to_be_visible()

    page.goto(live_server("/admin/project-groups/"))
    page.fill("#q", "くまもと")
    page.get_by_role("main").get_by_role("button", name="検索").click()  # not the header's search box
    page.wait_for_load_state()
    expect(page.get_by_role("checkbox", name="くまもとデータ株式会社")).to_be_visible()
    found["picker after a search"] = violations(page)

    page.goto(live_server("/admin/users/?tenant=430005"))
    expect(page.get_by_text("ご本人").first).to_be_visible()
    assert {where: [v["id"] for v in problems] for where, problems in found.items() if problems} == {}

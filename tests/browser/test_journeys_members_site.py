"""The members' site in a real Chromium through the real Keycloak login (issue 58 item 2): a member organisation's
admin opens it from the menu, lists a solution of their own through the form, finds another member's solution by a
word and by a category (and not by a category it lacks), reads the member directory and the archive of a past event;
an anonymous visitor is sent to sign in instead of seeing the archive. The solutions page passes axe at 375 px and
1366 px."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa
from playwright.sync_api import expect

from core.actor import Actor
from core.calendar import JST
from secretariat import events
from secretariat import solutions as sol
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import PASSWORD
from tests.browser.menu import open_section
from tests.browser.test_portal_accessibility import _violations

OURS, THEIRS = "7000012050002", "8000012050001"


def _member(db, number: str, name: str, industry: str, profile: str = "") -> None:
    db.add(Organisation(corporate_number=number, name=name, kind=OrganisationKind.company, prefecture="熊本県",
                        representative="代表 太郎", contact_name="担当 花子", contact_email=f"{number}@example.jp",
                        status=MemberStatus.approved, industry=industry, public_profile=profile))


def _member_admin(people) -> str:
    """A real account of くまもとデータ株式会社's admin (the organisation's /tenants/<number> group)."""
    directory = people.directory
    found = directory.find_user("member-admin")
    user_id = found["id"] if found else directory.create_user(
        "member-admin", "member-admin@example.jp", "管理者", "くまもとデータ", password=PASSWORD)
    directory.ensure_tenant_group(OURS)
    directory.add_to_tenant(user_id, OURS)
    directory.set_roles(user_id, ("org-admin",), ("org-admin",))
    return "member-admin"


def test_a_members_admin_lists_a_solution_finds_anothers_and_reads_the_archive(
        db, people, page, new_page, login_as, live_server):
    _member(db, OURS, "くまもとデータ株式会社", "G", "データ連携基盤の構築を支援します。")
    _member(db, THEIRS, "肥後製作所株式会社", "E", "製造現場のIoTを手がけます。")
    db.flush()
    theirs = Actor(issuer="urn:test", subject="org-admin-theirs", name="肥後 一郎", roles=frozenset({"org-admin"}),
                   tenant_codes=frozenset({THEIRS}))
    sol.create_solution(db, theirs, sol.SolutionDraft(
        title="工場の見える化パッケージ", description="設備の稼働状況をセンサーで集め、ダッシュボードに表示します。",
        categories=("iot",), contact_name="営業部 肥後", contact_email="sales@higo.example.jp"))
    past = dict(starts_at=dt.datetime(2026, 6, 1, 14, tzinfo=JST), ends_at=dt.datetime(2026, 6, 1, 16, tzinfo=JST),
                capacity=30)
    db.add(events.Event(kind=events.EventKind.member_seminar, title="会員セミナー 第1回", audience=events.Audience.members,
                        archive_url="https://video.example.jp/seminar-1", **past))
    db.commit()

    login_as(page, _member_admin(people))
    open_section(page, "会員と事務局").get_by_role("link", name="ソリューション情報（会員専用）", exact=True).click()
    main = page.get_by_role("main")
    expect(main.get_by_role("heading", level=1)).to_have_text("ソリューション情報（会員専用）")
    assert _violations(page) == []

    # list one of our own through the form
    main.locator("#title").fill("ＡＩ避難所モニタリング")
    main.locator("#description").fill("カメラ画像から避難所の混雑をリアルタイムに推定します。")
    main.locator("#categories").select_option(["disaster"])
    main.locator("#contact_name").fill("営業部 田中")
    main.locator("#contact_email").fill("sales@kumamoto-data.example.jp")
    main.get_by_role("button", name="ソリューションを登録").click()
    expect(main.locator("#own-solutions")).to_contain_text("ＡＩ避難所モニタリング")

    # another member's, by a word and by its category; not by a category it lacks
    main.locator("#q").fill("ダッシュボード")
    main.get_by_role("button", name="検索").click()
    expect(main.locator("#solutions")).to_contain_text("工場の見える化パッケージ")
    expect(main.locator("#solutions")).to_contain_text("肥後製作所株式会社")
    expect(main.locator("#solutions")).not_to_contain_text("ＡＩ避難所モニタリング")
    main.locator("#q").fill("")
    main.locator("#category").select_option("iot")
    main.get_by_role("button", name="検索").click()
    expect(main.locator("#solutions")).to_contain_text("工場の見える化パッケージ")
    expect(main.locator("#solutions")).not_to_contain_text("ＡＩ避難所モニタリング")
    main.locator("#category").select_option("disaster")
    main.get_by_role("button", name="検索").click()
    expect(main.locator("#solutions")).not_to_contain_text("工場の見える化パッケージ")
    expect(main.locator("#solutions")).to_contain_text("ＡＩ避難所モニタリング")
    assert _violations(page) == []

    open_section(page, "会員と事務局").get_by_role("link", name="会員名簿", exact=True).click()
    expect(main).to_contain_text("製造現場のIoTを手がけます。")
    open_section(page, "会員と事務局").get_by_role("link", name="イベントアーカイブ", exact=True).click()
    # Chromium names the link with a space before the visually hidden （title）; a screen reader reads both
    archive = main.get_by_role("link", name=re.compile(r"^アーカイブを開く\s*（会員セミナー 第1回）$"))
    expect(archive).to_have_attribute("href", "https://video.example.jp/seminar-1")

    stranger = new_page()  # nobody signed in: sent to the sign-in form, shown neither the archive nor the solutions
    for path, secret in (("/admin/event-archive/", "会員セミナー 第1回"), ("/admin/members-site/", "工場の見える化パッケージ")):
        stranger.goto(live_server(path))
        expect(stranger.locator("#username")).to_be_visible()
        expect(stranger.locator("#password")).to_be_visible()
        assert not stranger.url.startswith(live_server.url)
        expect(stranger.locator("body")).not_to_contain_text(secret)
        assert "video.example.jp" not in stranger.content()
    [listed] = db.scalars(sa.select(sol.Solution).where(sol.Solution.corporate_number == OURS)).all()
    assert listed.title == "ＡＩ避難所モニタリング"

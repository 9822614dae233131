"""The members' site (issue 58 item 2): a member lists a solution and another member finds it by word (full-width and
half-width, hiragana and katakana folded), by category and by industry; nobody changes another member's; withdrawn
ones are not found; every act is audited. The archive of a past event is shown to a member and not to an anonymous
visitor, nor a staff training's to a member; the directory shows what each member agreed to publish."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST
from core.errors import Invalid, NotFound, NotPermitted
from core.lifecycle import IllegalMove
from secretariat import events
from secretariat import solutions as sol
from secretariat.smart_services import MunicipalNeed, ServiceField
from tenancy.members import operations as members
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import OPERATOR

OURS, THEIRS, PENDING = "7000012050002", "8000012050001", "6000012050003"


def _admin(number: str, subject: str = "") -> Actor:
    return Actor(issuer="urn:test", subject=subject or f"org-admin-{number}", name="会員 一郎",
                 roles=frozenset({"org-admin"}), tenant_codes=frozenset({number}))


OUR_ADMIN, THEIR_ADMIN = _admin(OURS), _admin(THEIRS)
THEIR_USER = Actor(issuer="urn:test", subject="data-user-1", name="利用 次郎", roles=frozenset({"data-user"}),
                   tenant_codes=frozenset({THEIRS}))
STAFF = Actor(issuer="urn:test", subject="staff-1", name="町 職員", roles=frozenset({"municipal-staff"}),
              tenant_codes=frozenset({"431001"}))
NOBODY = Actor(issuer="urn:test", subject="nobody", name="", roles=frozenset(), tenant_codes=frozenset())


def _member(db, number: str, *, industry: str = "G", profile: str = "", status=MemberStatus.approved,
            name: str = "") -> None:
    db.add(Organisation(corporate_number=number, name=name or f"会員{number[-2:]}株式会社", kind=OrganisationKind.company,
                        prefecture="熊本県", representative="代表 太郎", contact_name="担当 花子",
                        contact_email="m@example.jp", status=status, industry=industry, public_profile=profile))
    db.flush()


@pytest.fixture
def site(db):
    _member(db, OURS, industry="G", profile="データ連携基盤の構築を支援します。", name="くまもとデータ株式会社")
    _member(db, THEIRS, industry="E", name="肥後製作所株式会社")
    _member(db, PENDING, industry="G", status=MemberStatus.applied, profile="審査中の会員")
    need = MunicipalNeed(tenant_code="431001", fiscal_year=2026, field=ServiceField.disaster, title="避難所の混雑状況の把握",
                         answered_by="x")
    db.add(need)
    db.flush()
    return need


def _draft(**changes) -> sol.SolutionDraft:
    base = dict(title="ＡＩ避難所モニタリング", description="カメラ画像から避難所の混雑をリアルタイムに推定します。",
                categories=("analytics", "disaster"), contact_name="営業部 田中", contact_email="sales@example.jp")
    return sol.SolutionDraft(**{**base, **changes})


def test_a_member_lists_a_solution_and_another_member_finds_it_by_word_category_and_industry(db, site):
    listed = sol.create_solution(db, OUR_ADMIN, _draft(need_ids=(site.id,)))
    assert listed.corporate_number == OURS  # the member's own, without saying it
    other = sol.create_solution(db, THEIR_ADMIN, _draft(title="工場の予知保全", description="振動センサーで故障を予測",
                                                        categories=("iot",)))
    found = lambda **kw: [row.solution.id for row in sol.search_solutions(db, THEIR_USER, **kw)]  # noqa: E731
    assert found(words="ai") == [listed.id]  # the full-width ＡＩ found by half-width lower case
    assert found(words="ひなんじょ") == []  # hiragana is read as katakana, never as kanji
    assert found(words="避難所　混雑") == [listed.id]  # every word (a full-width space between them)
    assert found(words="避難所 工場") == []
    assert found(category="disaster") == [listed.id] and found(category="iot") == [other.id]
    assert found(industry="G") == [listed.id] and found(industry="E") == [other.id]
    assert set(found()) == {listed.id, other.id}
    assert found(words="100%_") == []  # LIKE's own characters are text
    [row] = sol.search_solutions(db, THEIR_USER, words="リアルタイム")
    assert (row.member_name, row.industry, row.need_ids) == ("くまもとデータ株式会社", "G", [site.id])
    assert [c.ja for c in row.categories] == ["AI・データ分析", "防災・減災"]
    with pytest.raises(Invalid):
        sol.search_solutions(db, THEIR_USER, category="nonsense")


def test_nobody_changes_another_members_solution_and_a_withdrawn_one_is_not_found(db, site):
    listed = sol.create_solution(db, OUR_ADMIN, _draft())
    with pytest.raises(NotPermitted):
        sol.update_solution(db, THEIR_ADMIN, listed.id, _draft(title="乗っ取り"))
    with pytest.raises(NotPermitted):
        sol.withdraw_solution(db, THEIR_USER, listed.id, "不要")
    with pytest.raises(NotPermitted):
        sol.create_solution(db, THEIR_ADMIN, _draft(corporate_number=OURS))
    with pytest.raises(NotPermitted):  # the desk reads, but lists nothing in a member's name
        sol.create_solution(db, OPERATOR, _draft(corporate_number=OURS))
    with pytest.raises(NotPermitted):
        sol.search_solutions(db, NOBODY)
    with pytest.raises(NotPermitted):
        sol.search_solutions(db, STAFF)
    sol.update_solution(db, OUR_ADMIN, listed.id, _draft(title="避難所AIモニタ", categories=("disaster",)))
    with pytest.raises(Invalid) as no_reason:
        sol.withdraw_solution(db, OUR_ADMIN, listed.id, " ")
    assert no_reason.value.problems[0]["field"] == "reason"
    sol.withdraw_solution(db, OUR_ADMIN, listed.id, "提供終了")
    assert sol.search_solutions(db, THEIR_ADMIN) == []
    with pytest.raises(NotFound):
        sol.get_solution(db, THEIR_ADMIN, listed.id)
    assert sol.get_solution(db, OUR_ADMIN, listed.id).status is sol.SolutionStatus.withdrawn  # its own member sees it
    with pytest.raises(IllegalMove):
        sol.update_solution(db, OUR_ADMIN, listed.id, _draft())
    actions = db.scalars(sa.select(AuditRecord.action).where(AuditRecord.action.like("solution.%"))
                         .order_by(AuditRecord.id)).all()
    assert actions == ["solution.create", "solution.update", "solution.withdraw"]
    update = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "solution.update")).one()
    assert (json.loads(update.before)["categories"], json.loads(update.after)["categories"]) == (
        ["analytics", "disaster"], ["disaster"])


def test_a_solution_with_problems_is_refused_field_by_field_and_a_pending_member_lists_nothing(db, site):
    with pytest.raises(Invalid) as wrong:
        sol.create_solution(db, OUR_ADMIN, _draft(title="", description="x" * (sol.TEXT_MAX + 1), categories=("nope",),
                                                  contact_email="not-mail", need_ids=(999999,)))
    assert {p["field"] for p in wrong.value.problems} == {"title", "description", "categories", "contact_email",
                                                          "need_ids"}
    with pytest.raises(Invalid) as hostile:
        sol.create_solution(db, OUR_ADMIN, _draft(title="名前\x00<script>"))
    assert hostile.value.problems[0]["field"] == "title"
    with pytest.raises(Exception):  # an applicant is not yet a member with a register
        sol.create_solution(db, _admin(PENDING), _draft())
    assert db.scalar(sa.select(sa.func.count(sol.Solution.id))) == 0


def test_the_event_archive_is_a_members_and_not_anonymous_nor_a_staff_trainings_for_a_member(db, site):
    past = dict(starts_at=dt.datetime(2026, 6, 1, 14, tzinfo=JST), ends_at=dt.datetime(2026, 6, 1, 16, tzinfo=JST),
                capacity=30, archive_url="https://video.example.jp/seminar")
    seminar = events.Event(kind=events.EventKind.member_seminar, title="会員セミナー 第1回",
                           audience=events.Audience.members, **past)
    training = events.Event(kind=events.EventKind.staff_training, title="職員研修", audience=events.Audience.staff,
                            **{**past, "archive_url": "https://video.example.jp/training"})
    future = events.Event(kind=events.EventKind.member_seminar, title="次回", audience=events.Audience.members,
                          **{**past, "starts_at": dt.datetime(2099, 1, 1, tzinfo=JST), "ends_at": dt.datetime(2099, 1, 1, 2, tzinfo=JST)})
    db.add_all([seminar, training, future])
    db.flush()
    now = dt.datetime(2026, 7, 1, tzinfo=JST)
    assert [e.title for e in events.event_archive(db, THEIR_USER, now=now)] == ["会員セミナー 第1回"]
    assert [e.title for e in events.event_archive(db, STAFF, now=now)] == ["職員研修"]
    assert {e.title for e in events.event_archive(db, OPERATOR, now=now)} == {"会員セミナー 第1回", "職員研修"}
    with pytest.raises(NotPermitted):
        events.event_archive(db, NOBODY, now=now)


def test_the_directory_shows_the_approved_members_that_publish_a_profile(db, site):
    shown = members.member_directory(db, THEIR_ADMIN)
    assert [(o.name, o.public_profile) for o in shown] == [("くまもとデータ株式会社", "データ連携基盤の構築を支援します。")]
    assert members.member_directory(db, THEIR_ADMIN, industry="E") == []
    with pytest.raises(NotPermitted):
        members.member_directory(db, NOBODY)


# --- the pages ---------------------------------------------------------------------------------------------

CSRF = "c" * 32


def _sign_in(client, roles, number):
    from tests.conftest import sign_in
    sign_in(client, roles, [number], csrf=CSRF, subject=f"{roles[0]}-{number}")


def test_done_when_a_member_lists_a_solution_on_its_page_and_another_finds_it_by_word_and_category(client, db, site):
    db.commit()
    _sign_in(client, ["org-admin"], OURS)
    page = client.get("/admin/members-site/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<option value="disaster">防災・減災</option>' in html  # categories in Japanese
    assert f'<option value="{site.id}">2026年度' in html and "避難所の混雑状況の把握" in html  # needs picked by title
    form = {"csrf_token": CSRF, "title": "ＡＩ避難所モニタリング", "description": "混雑をリアルタイムに推定",
            "categories": ["analytics", "disaster"], "need_ids": [str(site.id)], "contact_name": "営業部 田中",
            "contact_email": "sales@example.jp", "corporate_number": OURS}
    assert client.post("/admin/members-site/solutions", data=form).status_code == 302
    [listed] = db.scalars(sa.select(sol.Solution)).all()
    _sign_in(client, ["data-user"], THEIRS)
    found = client.get("/admin/members-site/?q=ai+避難所&category=disaster").get_data(as_text=True)
    assert "ＡＩ避難所モニタリング" in found and "くまもとデータ株式会社" in found and "避難所の混雑状況の把握" in found
    assert "ＡＩ避難所モニタリング" not in client.get("/admin/members-site/?category=iot").get_data(as_text=True)
    detail = client.get(f"/admin/members-site/solutions/{listed.id}").get_data(as_text=True)
    assert "sales@example.jp" in detail and "取下げ" not in detail  # another member's: read, never withdrawn
    assert client.get(f"/admin/members-site/solutions/{listed.id}/edit").status_code == 403
    assert client.post(f"/admin/members-site/solutions/{listed.id}/withdraw",
                       data={"csrf_token": CSRF, "reason": "x", "confirmed": "1"}).status_code == 403
    assert client.get("/admin/members-site/?category=%3Cscript%3E").status_code == 422


def test_a_refused_solution_keeps_what_was_typed_beside_its_field_and_never_answers_500(client, db, site):
    db.commit()
    _sign_in(client, ["org-admin"], OURS)
    form = {"csrf_token": CSRF, "title": "見守り\x00サービス", "description": "説" * (sol.TEXT_MAX + 5),
            "categories": ["x' OR 1=1"], "need_ids": ["abc", "99999999999999"], "contact_name": "田中",
            "contact_email": "tanaka@example.jp"}
    refused = client.post("/admin/members-site/solutions", data=form)
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="description-error"' in html and 'value="田中"' in html
    refused = client.post("/admin/members-site/solutions", data={**form, "description": "短い説明"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="title-error"' in html and 'id="categories-error"' in html
    assert "短い説明" in html
    assert db.scalar(sa.select(sa.func.count(sol.Solution.id))) == 0


def test_a_member_changes_and_withdraws_its_solution_after_being_asked(client, db, site):
    listed = sol.create_solution(db, OUR_ADMIN, _draft())
    db.commit()
    _sign_in(client, ["org-admin"], OURS)
    edit = f"/admin/members-site/solutions/{listed.id}/edit"
    assert 'value="ＡＩ避難所モニタリング"' in client.get(edit).get_data(as_text=True)
    base = {"csrf_token": CSRF, "title": "AI避難所モニタ", "description": "説明", "categories": ["disaster"],
            "contact_name": "田中", "contact_email": "t@example.jp", "corporate_number": OURS}
    wrong = client.post(edit, data={**base, "contact_email": "no"})
    assert wrong.status_code == 422 and 'id="contact_email-error"' in wrong.get_data(as_text=True)
    assert client.post(edit, data=base).status_code == 302
    withdraw = f"/admin/members-site/solutions/{listed.id}/withdraw"
    asked = client.post(withdraw, data={"csrf_token": CSRF, "reason": "提供終了"})
    assert "他の会員に表示されなくなります" in asked.get_data(as_text=True)
    assert client.post(withdraw, data={"csrf_token": CSRF, "reason": "提供終了", "confirmed": "1"}).status_code == 302
    db.expire_all()
    assert db.get(sol.Solution, listed.id).status is sol.SolutionStatus.withdrawn


def test_done_when_the_archive_is_shown_to_a_member_and_an_anonymous_visitor_is_sent_to_sign_in(client, db, site):
    past = dict(starts_at=dt.datetime(2026, 6, 1, 14, tzinfo=JST), ends_at=dt.datetime(2026, 6, 1, 16, tzinfo=JST),
                capacity=30)
    db.add_all([events.Event(kind=events.EventKind.member_seminar, title="会員セミナー 第1回", audience=events.Audience.members,
                             archive_url="https://video.example.jp/seminar", **past),
                events.Event(kind=events.EventKind.staff_training, title="職員研修", audience=events.Audience.staff,
                             archive_url="https://video.example.jp/training", **past)])
    db.commit()
    for url in ("/admin/event-archive/", "/admin/members-site/", "/admin/member-directory/"):
        anonymous = client.get(url)
        assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    _sign_in(client, ["data-provider"], THEIRS)
    html = client.get("/admin/event-archive/").get_data(as_text=True)
    assert "https://video.example.jp/seminar" in html and "https://video.example.jp/training" not in html
    directory = client.get("/admin/member-directory/").get_data(as_text=True)
    assert "データ連携基盤の構築を支援します。" in directory and "審査中の会員" not in directory
    assert "m@example.jp" not in directory  # the contact is not what a member publishes
    from tests.conftest import sign_in
    sign_in(client, ["municipal-admin"], ["431001"])
    assert client.get("/admin/members-site/").status_code == 403  # a municipality is not a member


# --- the API -----------------------------------------------------------------------------------------------

def test_the_api_refuses_an_anonymous_caller_and_the_desk_lists_nothing_in_a_members_name(client, open_api, db, site):
    app = client.application
    app.config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] = False
    for url in ("/api/v1/solutions", "/api/v1/event-archive", "/api/v1/member-directory"):
        anonymous = client.get(url)
        assert anonymous.status_code == 401 and anonymous.content_type == "application/problem+json"
    app.config["RENKEI_API_OPEN_FOR_DEVELOPMENT"] = True  # as the operator (the desk): reads, lists nothing
    sol.create_solution(db, OUR_ADMIN, _draft())
    db.commit()
    found = open_api.get("/api/v1/solutions?q=ａｉ&category=disaster").get_json()["items"]
    assert [s["title"] for s in found] == ["ＡＩ避難所モニタリング"] and found[0]["categories_ja"] == ["AI・データ分析", "防災・減災"]
    refused = open_api.post("/api/v1/solutions", json={"title": "x", "description": "y", "categories": ["other"],
                                                        "contact_name": "z", "contact_email": "z@example.jp",
                                                        "corporate_number": OURS})
    assert refused.status_code == 403 and refused.content_type == "application/problem+json"
    wrong = open_api.get("/api/v1/solutions?category=nonsense")
    assert wrong.status_code == 422 and wrong.content_type == "application/problem+json"
    assert "/api/v1/solutions/{solution_id}/withdraw" in open_api.get("/api/v1/openapi.json").get_json()["paths"]


@pytest.mark.keycloak
def test_done_when_through_the_api_a_member_lists_and_another_finds_by_word_and_category(client, db, site, user_factory):
    db.commit()
    ours = user_factory(("org-admin",), OURS)[1]
    theirs = user_factory(("data-user",), THEIRS)[1]
    body = {"title": "ＡＩ避難所モニタリング", "description": "混雑を推定", "categories": ["analytics", "disaster"],
            "need_ids": [site.id], "contact_name": "田中", "contact_email": "sales@example.jp"}
    listed = client.post("/api/v1/solutions", json=body, headers=ours)
    assert listed.status_code == 201, listed.get_json()
    number = listed.get_json()["id"]
    found = client.get("/api/v1/solutions?q=ai&category=disaster", headers=theirs).get_json()["items"]
    assert [(s["id"], s["member_name"], s["need_ids"]) for s in found] == [(number, "くまもとデータ株式会社", [site.id])]
    other = client.put(f"/api/v1/solutions/{number}", json={**body, "title": "乗っ取り"}, headers=theirs)
    assert other.status_code == 403 and other.content_type == "application/problem+json"
    gone = client.post(f"/api/v1/solutions/{number}/withdraw", json={"reason": "提供終了"}, headers=ours)
    assert gone.status_code == 200 and gone.get_json()["status_ja"] == "取下げ"
    assert client.get("/api/v1/solutions?q=ai", headers=theirs).get_json()["items"] == []


def test_a_members_menu_offers_the_members_site_and_a_municipalitys_does_not(client, db, site):
    db.commit()
    _sign_in(client, ["org-admin"], OURS)
    home = client.get("/admin/").get_data(as_text=True)
    assert all(url in home for url in ("/admin/members-site/", "/admin/member-directory/", "/admin/event-archive/"))
    from tests.conftest import sign_in
    sign_in(client, ["municipal-staff"], ["431001"])
    home = client.get("/admin/").get_data(as_text=True)
    assert "/admin/event-archive/" in home and "/admin/members-site/" not in home


def _minutes_approved(db, title: str, held_at: dt.datetime):
    """A monthly meeting with the prefecture that THEIRS attended, its minutes written and approved (not public)."""
    from governance import meetings

    meeting = meetings.create_meeting(db, OPERATOR, meetings.MeetingDraft(
        "prefecture", title, held_at, attendees=(meetings.Attendee(name="利用 次郎", corporate_number=THEIRS),)))
    writer = Actor(issuer="urn:test", subject="minutes-writer", name="事務局 書記", roles=frozenset({"secretariat"}))
    meetings.write_minutes(db, writer, meeting.id, text="議事")
    meetings.approve_minutes(db, OPERATOR, meeting.id)
    return meeting


def test_the_archive_lists_the_minutes_made_public_to_the_members_that_attended(client, db, site):
    from governance import meetings

    meeting = _minutes_approved(db, "県との定例会 6月", dt.datetime(2026, 6, 5, 15, tzinfo=JST))
    assert meetings.published_minutes_for(db, THEIR_USER) == []  # approved, not yet published
    meetings.publish_minutes(db, OPERATOR, meeting.id)
    db.commit()
    assert [m.title for m in meetings.published_minutes_for(db, THEIR_USER)] == ["県との定例会 6月"]
    assert meetings.published_minutes_for(db, OUR_ADMIN) == []  # a member that did not attend
    _sign_in(client, ["data-user"], THEIRS)
    html = client.get("/admin/event-archive/").get_data(as_text=True)
    assert f"/admin/minutes/{meeting.id}.pdf" in html and "公開された議事録" in html
    _sign_in(client, ["org-admin"], OURS)
    assert f"/admin/minutes/{meeting.id}.pdf" not in client.get("/admin/event-archive/").get_data(as_text=True)
    assert [m.title for m in meetings.archived_minutes(db, THEIR_USER)] == ["県との定例会 6月"]
    assert meetings.archived_minutes(db, OUR_ADMIN) == []


def test_the_archives_api_lists_the_minutes_made_public_with_their_pdf(open_api, db, site):
    from governance import meetings

    meeting = _minutes_approved(db, "県との定例会 7月", dt.datetime(2026, 7, 3, 15, tzinfo=JST))
    db.commit()
    assert open_api.get("/api/v1/event-archive").get_json()["minutes"] == []  # approved, not yet made public
    meetings.publish_minutes(db, OPERATOR, meeting.id)
    db.commit()
    listed = open_api.get("/api/v1/event-archive").get_json()["minutes"]
    assert [(m["title"], m["kind_ja"], m["held_at"][:10]) for m in listed] == [("県との定例会 7月", "県との定例会（月例）", "2026-07-03")]
    pdf = open_api.get(listed[0]["pdf"])
    assert pdf.status_code == 200 and pdf.content_type == "application/pdf" and pdf.data.startswith(b"%PDF")

"""The one POST path of the admin views: one CSRF token, one commit per request, refusals rolled back.

Every POST endpoint under /admin is refused without the session's token before its view runs;
a successful POST is committed once, by the request, even though it answers with a redirect;
an operation that raises a domain error leaves nothing behind and the page says why.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from admin.extensions import db as database
from core import authz
from core.errors import Conflict, Invalid, problem
from governance import council
from governance.models import CouncilProposal
from tests.conftest import sign_in

EVERY_ROLE = list(authz.PEOPLE_ROLES)


def token_of(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def row_counts(app) -> dict[str, int]:
    """Rows in every table, read through a connection of its own (what another request would see)."""
    with app.app_context(), database.engine.connect() as connection:
        return {table.name: connection.scalar(sa.select(sa.func.count()).select_from(table))
                for table in database.metadata.sorted_tables}


def proposals_seen_afresh(app) -> list[str]:
    with app.app_context(), sa.orm.Session(database.engine) as fresh:
        return list(fresh.scalars(sa.select(CouncilProposal.title)))


def admin_post_urls(app) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/admin") and "POST" in rule.methods:
            url = re.sub(r"<int:[^>]+>", "1", rule.rule)
            urls.append(re.sub(r"<(?:[^:>]+:)?[^>]+>", "joint_use_agreement", url))
    return sorted(urls)


def in_days(days: int) -> str:
    return (dt.date.today() + dt.timedelta(days=days)).isoformat()


@pytest.fixture
def council_member(tenant_factory):
    tenant_factory("431001")


def test_every_admin_post_is_covered(app):
    urls = admin_post_urls(app)
    for expected in ("/admin/council/propose", "/admin/billing/runs/new", "/admin/onboarding/wave/",
                     "/admin/users/joint_use_agreement/invite"):
        assert expected in urls


@pytest.mark.parametrize("token", [None, "not-the-session-token"], ids=["missing", "wrong"])
def test_a_post_without_the_sessions_token_is_refused_and_writes_nothing(app, client, council_member, token):
    sign_in(client, EVERY_ROLE, ["431001"])
    client.get("/admin/council/")  # the session has a token now; the POSTs below do not send it
    before = row_counts(app)
    form = {"title": "偽の議案", "change_type": "free_text", "closes_on": in_days(10), "fiscal_year": "2025",
            "transition": "withdraw", "reason": "x", "action": "approve", "choice": "for", "tenant_code": "431001"}
    if token is not None:
        form["csrf_token"] = token
    statuses = {url: client.post(url, data=form).status_code for url in admin_post_urls(app)}
    assert statuses == {url: 400 for url in statuses}
    assert row_counts(app) == before


def test_a_successful_post_is_committed_once_by_the_request(app, client, council_member):
    sign_in(client, EVERY_ROLE, ["431001"])
    token = token_of(client.get("/admin/council/").get_data(as_text=True))
    commits = []
    counter = lambda session: commits.append(session)  # noqa: E731
    sa.event.listen(sa.orm.Session, "after_commit", counter)
    try:
        answer = client.post("/admin/council/propose", data={"csrf_token": token, "title": "定例議案",
                                                             "change_type": "free_text", "closes_on": in_days(10)})
    finally:
        sa.event.remove(sa.orm.Session, "after_commit", counter)
    assert answer.status_code == 302
    assert len(commits) == 1
    assert proposals_seen_afresh(app) == ["定例議案"]
    assert "保存しました" in client.get(answer.headers["Location"]).get_data(as_text=True)


def test_a_refusal_rolls_back_what_the_operation_wrote_and_says_why(app, client, council_member, monkeypatch):
    real_propose = council.propose

    def propose_then_refuse(session, actor, data, **kwargs):
        real_propose(session, actor, data, **kwargs)  # written (flushed) before the refusal
        raise Conflict("Someone changed the council meanwhile.", "協議会の内容が同時に変更されました。")

    monkeypatch.setattr(council, "propose", propose_then_refuse)
    sign_in(client, EVERY_ROLE, ["431001"])
    token = token_of(client.get("/admin/council/").get_data(as_text=True))
    before = row_counts(app)
    answer = client.post("/admin/council/propose", follow_redirects=True, data={
        "csrf_token": token, "title": "消える議案", "change_type": "free_text", "closes_on": in_days(10)})
    page = answer.get_data(as_text=True)
    assert "協議会の内容が同時に変更されました。" in page and "保存しました" not in page
    assert row_counts(app) == before
    assert proposals_seen_afresh(app) == []


@pytest.mark.parametrize("lang, message, field_problem", [
    ("ja", "協議会は休会中です。", "議題を短くしてください。"),
    ("en", "The council is in recess.", "Shorten the title."),
])
def test_a_refusal_is_shown_in_the_readers_language_with_its_field_problems(app, client, council_member, monkeypatch,
                                                                             lang, message, field_problem):
    def refuse(session, actor, data, **kwargs):
        raise Invalid("The council is in recess.", "協議会は休会中です。",
                      problems=[problem("title", "Shorten the title.", "議題を短くしてください。")])

    monkeypatch.setattr(council, "propose", refuse)
    sign_in(client, EVERY_ROLE, ["431001"])
    token = token_of(client.get(f"/admin/council/?lang={lang}").get_data(as_text=True))
    answer = client.post("/admin/council/propose", follow_redirects=True, data={
        "csrf_token": token, "title": "長い議題", "change_type": "free_text", "closes_on": in_days(10)})
    page = answer.get_data(as_text=True)
    assert message in page and field_problem in page
    assert re.search(r'id="title-error"[^>]*>\s*<p[^>]*>' + re.escape(field_problem), page)  # beside its field
    other_language = {"ja": "The council is in recess.", "en": "協議会は休会中です。"}[lang]
    assert other_language not in page
    assert proposals_seen_afresh(app) == []


def test_no_admin_view_commits():
    """Not even by handing a commit to an operation (``checkpoint=db.session.commit``)."""
    views = Path(__file__).resolve().parents[2] / "admin" / "views"
    committing = [path.name for path in sorted(views.glob("*.py"))
                  if re.search(r"\.commit\b", path.read_text(encoding="utf-8"))]
    assert committing == []

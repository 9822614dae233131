"""Every HTML form and every page's query parameters, fuzzed as the API is: never a 5xx.

The pages and forms are found, not listed: every GET rule of ``app.url_map`` under /admin and the
public pages is opened (path parameters filled from a small data set, tests/admin/test_query_counts.build),
public and signed in; every ``<form method="post">`` on those pages is read (its inputs, selects and
textareas: name, type, maxlength, required, value) and posted with hostile values, by the public (the
public pages' forms) and by a person holding every role in 熊本市 (the console's forms):

* per field: one character past its ``maxlength`` (5,000 where it states none), and letters in a
  number or date field;
* every field at once: empty, at its limit, the NUL character, a right-to-left override (U+202E),
  and a lone surrogate (as raw bytes: a browser's form encoding cannot carry one; Werkzeug reads it as U+FFFD);
* once with a wrong CSRF token and once with none.

A post must not answer 5xx; a refusal (4xx, or the form again with a field error) must leave every
table as it was. Every GET page is then asked with each query parameter it reads (found in its
view's source) and the common ones set to "²", "-1", 5,000 letters and NUL: never a 5xx.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import inspect
import re
import sys
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from werkzeug.routing import RequestRedirect
from werkzeug.exceptions import MethodNotAllowed, NotFound

from core import authz
from tests.admin.test_query_counts import MUNICIPALITY, FakeDirectory, SKIPPED, SKIPPED_SUFFIXES, build
from tests.conftest import sign_in

CSRF = "fuzz-csrf-token"
EVERY_ROLE = sorted(authz.PEOPLE_ROLES)
PUBLIC_PREFIXES = ("/inquiry", "/join", "/mail", "/events", "/catalogue", "/catalog", "/standards", "/competition", "/status",
                   "/file-register", "/portal")
# GET rules not opened, and why
NOT_OPENED = {
    "static": "static files", "admin.static": "static files", "frame.index": "the empty layout",
    "auth.login": "leaves for Keycloak", "auth.logout": "ends the session", "auth.callback": "Keycloak's answer",
    "portal.login": "leaves for the residents' Keycloak (503, said on the page, when it cannot be reached)",
}
COMMON_PARAMETERS = ("status", "fiscal_year", "fy", "page", "q", "tenant", "month", "year", "sort", "kind", "from", "to")
HOSTILE_QUERY_VALUES = {"superscript": "²", "negative": "-1", "long": "x" * 5000, "nul": "\x00"}
ONE_BY_ONE = ("superscript", "long")
LONG = 5000
# Flask-Admin's own model views' POST endpoints: no page shows their forms (renkei's model views are read-only)
FLASK_ADMINS_OWN = (".action_view", ".ajax_update", ".create_view", ".edit_view", ".delete_view")


# --- reading forms -----------------------------------------------------------------------------------

@dataclasses.dataclass
class Field:
    name: str
    kind: str  # text, number, date, select, textarea, hidden, checkbox, radio, file, ...
    maxlength: int | None = None
    required: bool = False
    value: str = ""
    options: list[str] = dataclasses.field(default_factory=list)
    trap: bool = False  # a honeypot: a field out of the tab order that people leave empty


@dataclasses.dataclass
class FormOnPage:
    page: str
    action: str
    fields: dict[str, Field]


class _Forms(HTMLParser):
    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.page, self.forms, self._form, self._select, self._textarea = page, [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        if tag == "form":
            if attrs.get("method", "get").lower() == "post":
                action = attrs.get("action") or self.page
                self._form = FormOnPage(self.page, action, {})
            return
        if self._form is None or tag not in ("input", "select", "textarea", "option", "button"):
            return
        if tag == "option" and self._select is not None:
            self._select.options.append(attrs.get("value", ""))
            if "selected" in attrs:
                self._select.value = attrs.get("value", "")
            return
        name = attrs.get("name")
        if not name or tag == "button" or attrs.get("type") in ("submit", "button", "reset", "image"):
            return
        kind = attrs.get("type", "text") if tag == "input" else tag
        limit = attrs.get("maxlength")
        field = Field(name, kind, int(limit) if limit and limit.isascii() and limit.isdigit() else None,
                      "required" in attrs, attrs.get("value", ""), trap=attrs.get("tabindex") == "-1")
        if kind in ("checkbox", "radio") and "checked" not in attrs and name in self._form.fields:
            return
        if kind in ("checkbox", "radio") and "checked" not in attrs:
            field.value = "" if kind == "checkbox" else field.value
        self._form.fields.setdefault(name, field)
        if tag == "select":
            self._select = self._form.fields[name]
        elif tag == "textarea":
            self._textarea = self._form.fields[name]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag):
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select" and self._select is not None:
            if not self._select.value and self._select.options:
                self._select.value = next((o for o in self._select.options if o), "")
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def forms_of(page: str, html: str) -> list[FormOnPage]:
    parser = _Forms(page)
    parser.feed(html)
    return parser.forms


def plausible(field: Field) -> str:
    """A value the field would take from a person: its own, else one of its type."""
    if field.value:
        return field.value
    return {"number": "1", "date": "2026-04-01", "datetime-local": "2026-04-01T10:00", "email": "fuzz@example.jp",
            "url": "https://example.jp/", "month": "2026-04", "tel": "096-000-0000"}.get(field.kind, "テスト")


def at_limit(field: Field) -> str:
    return "あ" * field.maxlength if field.maxlength else plausible(field)


TEXTUAL = ("text", "textarea", "email", "url", "search", "tel", "hidden", "password")


_ROW_COUNTS: dict[str, tuple[list[str], str]] = {}  # dialect → (tables, the statement's SQL)


def row_counts(app) -> dict[str, int]:
    """Rows in every table, in one statement (a post's before and after are compared).

    The statement (a count of each of the app's tables) is built and compiled once a dialect: building its
    select of a few hundred subqueries again for each post took a third of the test's CPU."""
    from admin.extensions import db as database

    with app.app_context():
        engine = database.engine
        if engine.dialect.name not in _ROW_COUNTS:
            tables = database.metadata.sorted_tables
            counts = sa.select(*(sa.select(sa.func.count()).select_from(table).scalar_subquery().label(table.name)
                                 for table in tables))
            _ROW_COUNTS[engine.dialect.name] = ([table.name for table in tables], str(counts.compile(engine)))
        names, statement = _ROW_COUNTS[engine.dialect.name]
        with engine.connect() as connection:
            return dict(zip(names, connection.exec_driver_sql(statement).one(), strict=True))


# --- the app's rules -----------------------------------------------------------------------------------

def post_endpoint(app, action: str) -> str | None:
    path = urlsplit(action).path
    adapter = app.url_map.bind("renkei.test")
    try:
        endpoint, _ = adapter.match(path, method="POST")
    except (NotFound, MethodNotAllowed, RequestRedirect):
        return None
    return endpoint


def parameters_read_by(app, endpoint: str) -> tuple[str, ...]:
    """The query parameters a page's view module reads (``request.args.get("x")``, ``search_text("q")``)."""
    view = app.view_functions[endpoint]
    module = sys.modules.get(getattr(view, "__module__", ""), None)
    try:
        source = inspect.getsource(module) if module is not None else ""
    except (OSError, TypeError):
        source = ""
    names = set(re.findall(r"""request\.args\.get(?:list)?\(\s*["']([^"']+)["']""", source))
    names |= set(re.findall(r"""(?:search_text|page_number)\(\s*["']([^"']+)["']""", source))
    if "search_text()" in source:
        names.add("q")
    if "page_number()" in source:
        names.add("page")
    return tuple(sorted(names))


def get_urls(app, arguments: dict) -> dict[str, str]:
    """endpoint → a URL of every GET page under /admin and the public pages (path parameters filled)."""
    from flask import url_for

    found, skipped = {}, {}
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            public = rule.rule.startswith(PUBLIC_PREFIXES) or rule.rule == "/"
            if "GET" not in rule.methods or not (rule.rule.startswith("/admin") or public):
                continue
            if rule.endpoint in NOT_OPENED or rule.endpoint in SKIPPED or rule.endpoint.endswith(SKIPPED_SUFFIXES):
                continue
            values = {name: arguments.get(name) for name in rule.arguments}
            if rule.rule.startswith("/admin/members/") and "number" in values:  # a member's corporate number
                values["number"] = arguments["member_number"]
            if "fmt" in values:
                values["fmt"] = "csv"
            if rule.endpoint.endswith(".details_view"):
                values["id"] = 1
            missing = [name for name, value in values.items() if value is None]
            if missing:
                skipped[rule.endpoint] = f"no row for {missing}"
                continue
            found[rule.endpoint] = url_for(rule.endpoint, **values)
    return found, skipped


class NobodyInKeycloak(FakeDirectory):
    """The pages that list or search people in Keycloak: nobody, and no Keycloak."""

    def find_people(self, text, limit):
        return [], 0


def more_rows(db) -> dict:
    """What the pages of the secretariat and the competition need to show their forms: an event open
    to anyone with a registration, an inquiry, a company's application, a published call."""
    from competition import operations as competition
    from core.calendar import JST
    from secretariat import events, inquiries
    from tests.conftest import OPERATOR
    from tests.members.conftest import NTA, token_from_outbox
    from tenancy.members import operations as members

    starts = (dt.datetime.now(JST) + dt.timedelta(days=30)).replace(hour=14, minute=0, second=0, microsecond=0)
    event = events.create_event(db, OPERATOR, events.EventDraft(
        "open_event", "データ活用セミナー", starts, starts + dt.timedelta(hours=2), 30, "anyone", place="県庁"))
    registration = events.register(db, OPERATOR, event.id, events.Registrant("県 太郎", "taro@example.jp"))
    inquiry = inquiries.record_inquiry(db, OPERATOR, inquiries.InquiryDraft(
        "resident", "phone", "joining", "入会の件", "書類は？"))
    members.apply(db, members.Application(NTA, "くまもとデータ株式会社", "company", "熊本県", "代表 太郎", "担当 花子",
                                          "apply@example.jp"), confirm_url=lambda token: f"http://renkei.test/join/confirm/{token}")
    members.confirm_email(db, token_from_outbox(db, NTA))
    call = competition.create_call(db, OPERATOR, 2025)
    competition.publish_call(db, OPERATOR, call.id)
    # 熊本市's group declared with a proposal before the deadlines: the entry page's withdraw, amend and resubmit forms
    from tenancy.members.models import ProjectGroup
    from tests.competition.conftest import EARLY, pdf_of

    group_id = db.scalar(sa.select(ProjectGroup.id).where(ProjectGroup.name == "観光データ連携"))
    competition.declare(db, OPERATOR, call.id, group_id, [competition.Upload(k, f"{k}.pdf", pdf_of(1))
                                                          for k in ("participation_form", "company_profile", "pledge")],
                        now=EARLY)
    competition.submit_proposal(db, OPERATOR, call.id, group_id, competition.Upload("proposal", "p.pdf", pdf_of(1)),
                                [competition.Line("人件費", 1_000_000)], 1_000_000, now=EARLY)
    # a draft mailing (its page's send form) and the applicant's unsubscribe link (the public page's button)
    from flask import current_app
    from secretariat import mailings

    mailing = mailings.create_mailing(db, OPERATOR, mailings.MailingDraft("service", "事務連絡", "本文"))
    db.commit()
    return {"event_id": event.id, "registration_id": registration.id, "inquiry_id": inquiry.id,
            "member_number": NTA, "call_id": call.id, "mailing_id": mailing.id,
            "token": mailings.unsubscribe_token(current_app.config["SECRET_KEY"], NTA)}


@pytest.fixture
def fuzzed_site(app, db, monkeypatch):
    import admin.identity

    for module in ("account_reviews", "api_clients", "competition_review", "members", "onboarding", "search", "users"):
        monkeypatch.setattr(sys.modules[f"admin.views.{module}"], "identity_directory", NobodyInKeycloak)
    monkeypatch.setattr(admin.identity, "secretariat_people", dict)
    monkeypatch.setitem(app.config, "RENKEI_PUBLIC_FORM_HOURLY_LIMIT", 100_000)
    arguments = {**build(db, 3), **more_rows(db)}
    arguments.update({"stage": "first", "verb": "publish", "key": "catalogue", "metric": "api_calls",
                      "user_id": "00000000-0000-0000-0000-000000000000",
                      "request_id": 1, "budget_id": 1, "policy_id": 1, "window_id": 1, "issue_id": 1,
                      "review_id": 1, "recovery_id": 1, "question_id": 1, "fmt": "csv"})
    return arguments


def is_public(url: str) -> bool:
    return not url.startswith("/admin")


def clients(app):
    """(who, a client as that person) for the public and a person holding every role."""
    public = app.test_client()
    with public.session_transaction() as session:
        session["csrf"] = CSRF
    signed_in = app.test_client()
    sign_in(signed_in, EVERY_ROLE, [MUNICIPALITY], csrf=CSRF)
    return [("public", public), ("every role", signed_in)]


def refused(response) -> bool:
    html = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    return response.status_code >= 400 or bool(re.search(r'id="[^"]+-error"', html))


def encoded(data: dict[str, str], raw: dict[str, bytes] | None = None) -> bytes:
    """A form body; ``raw`` values are put as they are (percent-escaped bytes no text encodes)."""
    parts = [f"{quote(name)}={quote(value)}" for name, value in data.items() if name not in (raw or {})]
    parts += [f"{quote(name)}=" + "".join(f"%{byte:02X}" for byte in value) for name, value in (raw or {}).items()]
    return "&".join(parts).encode("ascii")


def variations(form: FormOnPage):
    """(label, form body) of the hostile posts of ``form`` (a bounded number per field)."""
    fields = {name: field for name, field in form.fields.items() if field.kind not in ("file",)}
    base = {name: "" if field.trap else plausible(field) if field.kind not in ("checkbox",) or field.value else field.value
            for name, field in fields.items()}
    base["csrf_token"] = CSRF
    textual = [name for name, field in fields.items() if field.kind in TEXTUAL and name != "csrf_token" and not field.trap]
    typed = [name for name, field in fields.items() if field.kind in ("number", "date", "datetime-local", "month")]
    yield "no csrf", encoded({k: v for k, v in base.items() if k != "csrf_token"})
    yield "wrong csrf", encoded({**base, "csrf_token": "not-the-token"})
    yield "empty", encoded({**{name: "" for name in fields if name != "csrf_token"}, "csrf_token": CSRF})
    yield "at limit", encoded({**base, **{name: at_limit(fields[name]) for name in textual}})
    for name in textual:
        limit = fields[name].maxlength
        yield f"{name} past limit", encoded({**base, name: "あ" * (limit + 1 if limit else LONG)})
    for name in typed:
        yield f"{name} letters", encoded({**base, name: "abc"})
    if textual:
        yield "nul", encoded({**base, **{name: "a\x00b" for name in textual}})
        yield "bidi", encoded({**base, **{name: "abc\u202edef" for name in textual}})
        yield "surrogate", encoded(base, {name: b"a\xed\xa0\x80b" for name in textual})


@pytest.mark.long
def test_every_html_form_refuses_hostile_fields_without_a_5xx_or_a_half_write(app, fuzzed_site):
    pages, _skipped = get_urls(app, fuzzed_site)
    seen: dict[str, FormOnPage] = {}
    for who, client in clients(app):
        for endpoint, url in pages.items():
            if is_public(url) != (who == "public"):
                continue
            response = client.get(url)
            if response.status_code == 200 and response.mimetype == "text/html":
                for form in forms_of(url, response.get_data(as_text=True)):
                    target = post_endpoint(app, form.action)
                    if target is not None and (who, target) not in seen:
                        seen[(who, target)] = form
            response.close()
    failures, requests = [], 0
    counts = row_counts(app)  # nothing but these posts writes meanwhile: one post's after is the next one's before
    signed = dict(clients(app))
    for (who, target), form in seen.items():
        client = signed[who]
        for label, body in variations(form):
            response = client.post(form.action, data=body, content_type="application/x-www-form-urlencoded")
            requests += 1
            before, counts = counts, row_counts(app)
            if response.status_code >= 500:
                failures.append(f"{who} {target} {form.action} [{label}]: {response.status_code}")
            elif refused(response) and counts != before:
                changed = sorted(name for name in counts if counts[name] != before[name])
                failures.append(f"{who} {target} {form.action} [{label}]: refused ({response.status_code}) "
                                f"but wrote rows in {changed}")
            response.close()
    post_rules = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods
                  and not rule.rule.startswith("/api") and not rule.endpoint.endswith(FLASK_ADMINS_OWN)}
    print(f"\nforms fuzzed: {len(seen)} ({len({t for _, t in seen})} of {len(post_rules)} POST endpoints), "
          f"{requests} posts; not reached: {sorted(post_rules - {t for _, t in seen})}")
    fuzzed = {target for _, target in seen}
    # the forms the issue names, public and signed in, are among those found (the walk finds forms, not nothing)
    assert {"inquiry_public.public_submit", "join.apply_submit", "events_public.public_register", "inquiries.record",
            "events.create", "meetings.create", "service_maintenance.schedule", "service_components.register",
            "council.propose", "billing.cost_item_new"} <= fuzzed
    assert len(fuzzed) >= 100
    assert not failures, "\n".join(failures)


@pytest.mark.long
def test_every_page_survives_hostile_query_values(app, fuzzed_site):
    pages, skipped = get_urls(app, fuzzed_site)
    failures, requests = [], 0
    for who, client in clients(app):
        for endpoint, url in pages.items():
            if is_public(url) != (who == "public"):
                continue
            own = parameters_read_by(app, endpoint)
            for label, value in HOSTILE_QUERY_VALUES.items():
                # all at once (a long value shortened so that the address stays below the edge's 414), then the
                # page's own one by one with the values a number parser meets
                asks = [{name: value[:300] for name in COMMON_PARAMETERS + own}]
                asks += [{name: value} for name in own] if label in ONE_BY_ONE else []
                for query in asks:
                    response = client.get(url + ("&" if "?" in url else "?") + urlencode(query))
                    requests += 1
                    if response.status_code >= 500:
                        failures.append(f"{who} {endpoint} {url} {sorted(query)} [{label}]: {response.status_code}")
                    response.close()
    print(f"\nGET pages fuzzed: {len(pages)} ({requests} requests); skipped: {skipped}")
    assert len(pages) >= 170 and {"events.index", "request_log.index", "members.export"} <= set(pages)
    assert not failures, "\n".join(failures)


# --- the refusal a person sees --------------------------------------------------------------------------

@pytest.mark.parametrize("lang, words, other", [("ja", "200 文字以内で入力してください。", "200 characters"),
                                                ("en", "Field cannot be longer than 200 characters.", "文字以内")])
def test_an_over_long_subject_on_the_public_inquiry_form_is_refused_beside_the_field_and_kept(app, client, db,
                                                                                              lang, words, other):
    from secretariat.inquiries import Inquiry

    with client.session_transaction() as session:
        session["csrf"] = CSRF
    client.get(f"/inquiry/?lang={lang}")
    subject = "件名が長すぎる問合せ" * 30 + "おわりの七文字"  # 307 characters; the field takes 200
    assert len(subject) == 307
    answer = client.post("/inquiry/", data={
        "csrf_token": CSRF, "inquirer_kind": "resident", "category": "technical", "subject": subject,
        "question": "認証は？", "inquirer_name": "住民 二", "email": "two@example.jp"})
    page = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert re.search(r'id="subject-error"[^>]*>\s*(<[^>]+>\s*)*' + re.escape(words), page)  # beside its field
    assert other not in page
    assert subject in page and "認証は？" in page  # what was typed is kept
    assert db.scalar(sa.select(sa.func.count()).select_from(Inquiry)) == 0


def test_a_superscript_digit_in_a_pages_filter_is_refused_not_a_500(client, db):
    sign_in(client, ["platform-operator"], ["430005"], csrf=CSRF)
    assert client.get("/admin/events/?fiscal_year=²²²²").status_code == 400
    assert client.get("/admin/events/?fiscal_year=2025").status_code == 200
    assert client.get("/admin/request-log/?status=²").status_code == 200  # no such status: the filter is not applied

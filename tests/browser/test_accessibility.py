"""Every admin page each person can reach meets WCAG 2.1 AA (axe-core) and shows no raw code.

For each of the demo's people (on the demo's data plus one of each thing a page shows: an
agreement in force, an open proposal, an approved run with its statements and a payment), signed
in through the real Keycloak login: start at /admin/ and
follow every same-origin link under /admin (GET only, as a person clicking around would; no
logout, no language switch, no downloads: a response that is not HTML is left aside). Pages that
differ only by pagination, sort, search or filter count once, and pages of one path shape (numbers
and UUIDs aside, whatever the query: the details of 22 tenants, of 33 datasets) are visited at most
twice. On each page:

* axe-core (tests/browser/node_modules/axe-core, ``npm ci``) with the tags wcag2a, wcag2aa,
  wcag21a, wcag21aa: any violation fails; at each of the widths :data:`WIDTHS` (a desktop, a tablet,
  a phone: issue 38), the page resized in place;
* at each width, the page must not scroll sideways (1.4.10 Reflow: ``scrollWidth`` of the document
  within the window's width); the report names the elements that stick out;
* the visible text (``document.body.innerText``; the UI is Japanese by default) must not contain
  a raw code (whole words): role ids, status values, audit action names, change and document
  types, JSON, or the English field labels Flask-Admin derives from column names ("Actor Issuer",
  "Name En"...); and no heading, table header, field label or button may be English words alone;
* nor text of a raw shape (tests/raw_text.py: a Python object's text, JSON, a bare
  ``snake_case`` or ``dotted.lower.name`` identifier);
* nor, in the page's own words, an English word outside tests/raw_text.py's short list of terms an
  office writes as they are (CSV, API, GiB...). The page's own words are its visible text but what
  a person or an outside system gave: table data cells, description values, form values, code
  and examples, and elements marked ``translate="no"`` are data (a dataset titled in English is
  the provider's), where raw shapes and known codes are still looked for;
* a link a person is shown must not lead to an error page (4xx/5xx);
* each page has one title, one ``<h1>`` (issue 55: the layout titles a page by its view's name unless the page
  writes its own).

Every CSV and xlsx a page offers (a download link, or a GET form whose action is an export, fetched
with its defaults; one per path shape) is fetched with the person's session: its header and first
rows must show no raw code or raw shape either, its header (the file's own words) no English
word, and the download must answer.

The failure message groups problems (rule -> pages); the full report (every node, every text
match) is written to ``$RENKEI_TEST_A11Y_REPORT`` or the session's pytest temp folder.
"""

from __future__ import annotations

import base64
import collections
import dataclasses
import functools
import json
import os
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from tests.browser.conftest import CRAWLED, axe_script
from tests.raw_text import download_raw_text, first_rows_text, raw_shapes

# what the page shows (axe-core, raw codes, reflow), which the database cannot change: once, on SQLite
pytestmark = pytest.mark.rendered

ROLES = ("operator", "finance", "auditor", "kumamoto", "yatsushiro")
PAGE_LIMIT = 150  # per person
VARIANTS_PER_PATH = 2  # distinct pages of one shape (the details of two tenants, /tenant/<code>/ of two)
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# the widths every page is checked at (issue 38): a desktop first (where the links and the text are
# read), then a tablet held upright and a phone; one browser tab, resized in place
WIDTHS = (1366, 768, 375)
HEIGHT = 900
# query keys that only page, sort, search or filter a list, or say where to come back to
VARIANT_KEYS = {"page", "page_size", "sort", "desc", "search", "url", "next", "lang", "_", "return"}
REPO = Path(__file__).resolve().parents[2]
ROLE_IDS = ("platform-operator", "municipal-admin", "municipal-staff", "finance-officer", "auditor", "metering-client")
# statuses named in issue #11 (tenant, run, ledger, outbox): checked even where no enum holds them
STATUSES = ("applied", "screening", "approved", "provisioning", "active", "suspended", "withdrawn", "posted",
            "draft", "computed", "reviewed", "reversed", "discarded", "queued", "sent", "failed")
ENGLISH_LABELS = ("Actor Issuer", "Request Id", "Prev Hash", "Name En")


# --- what must never be shown in the Japanese UI --------------------------------------------------

@functools.cache  # the code does not change during a session: read once, not for each person
def audit_action_patterns() -> frozenset[str]:
    """Regexes of the audit actions the code records (literal or f-string, e.g. ``tenant.{x}``)."""
    call = re.compile(r"\b(?:audit|core_audit)\.(?:record|act)\(")
    literal = re.compile(r'(f?)"([a-z_{}]+(?:\.[a-z_{}.]+)+)"')
    patterns = set()
    for package in ("core", "tenancy", "catalogue", "usage", "billing", "governance", "secretariat", "residents", "admin"):
        for path in (REPO / package).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            for match in call.finditer(text):
                head = text[match.end():match.end() + 240].split("\n\n")[0]
                for is_f, action in literal.findall(head):
                    if is_f and "{" in action:
                        parts = re.split(r"\{[^}]*\}", action)
                        patterns.add("[a-z_]+".join(re.escape(part) for part in parts))
                    elif "{" not in action:
                        patterns.add(re.escape(action))
    return frozenset(patterns)


def raw_code_pattern(session) -> re.Pattern:
    """One regex of every raw code as a whole word (case-sensitive: codes are lower case), and of JSON."""
    from billing.models import EntryStatus, PolicyStatus, RunStatus, TaxTreatment
    from core.audit import AuditRecord
    from core.authz import ACTION_LABELS_JA, POLICY
    from governance.models import AgreementDocument, ChangeType, ProposalStatus, VersionStatus
    from tenancy.registry.models import TenantKind, TenantStatus

    words: set[str] = set(ROLE_IDS) | set(STATUSES)
    for enum in (TenantStatus, RunStatus, PolicyStatus, EntryStatus, VersionStatus, ProposalStatus):
        words |= {member.value for member in enum}
    words.discard("open")  # ProposalStatus.open: "open" is too common in English to be a tell-tale on its own
    # underscore identifiers are codes whatever they name
    for enum in (ChangeType, AgreementDocument, TaxTreatment, TenantKind):
        words |= {member.value for member in enum if "_" in member.value}
    patterns = {word: re.escape(word) for word in words}
    actions = set(ACTION_LABELS_JA) | set(POLICY) | {row for (row,) in session.query(AuditRecord.action).distinct()}
    patterns |= {action: re.escape(action) for action in actions}
    patterns |= {pattern.replace("\\", ""): pattern for pattern in audit_action_patterns()}
    patterns |= {label: re.escape(label) for label in ENGLISH_LABELS + flask_admin_labels()}
    # longest first, so that "tenant.create" is reported rather than a shorter code inside it
    either = "|".join(sorted(patterns.values(), key=len, reverse=True))
    # a code: not inside a longer identifier, an e-mail address, a path or a dotted name
    return re.compile(rf"(?<![\w.@/-])(?:{either})(?![\w-]|\.\w|@)|\{{\s*\"[A-Za-z_]+\"\s*:", re.ASCII)


@functools.cache
def flask_admin_labels() -> tuple[str, ...]:
    """The English labels Flask-Admin makes of multi-word column names ("name_en" -> "Name En")."""
    from sqlmodel import SQLModel

    names = {column.name for table in SQLModel.metadata.tables.values() for column in table.columns}
    return tuple(sorted(name.replace("_", " ").title() for name in names if "_" in name))


# --- the crawl -------------------------------------------------------------------------------------

@dataclasses.dataclass
class Visit:
    url: str  # path and query as visited
    status: int
    final: str = ""  # after redirects
    violations: list[dict] = dataclasses.field(default_factory=list)
    raw_codes: dict[str, list[str]] = dataclasses.field(default_factory=dict)  # code -> snippets
    sideways: dict[int, dict] = dataclasses.field(default_factory=dict)  # width -> how the page scrolls sideways
    seconds: dict[str, float] = dataclasses.field(default_factory=dict)  # load, axe, read, at <width>, links
    titles: list[str] = dataclasses.field(default_factory=lambda: ["(not a page)"])  # the page's <h1> headings: one


def page_key(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    kept = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                  if k not in VARIANT_KEYS and not re.match(r"flt\d*_", k))
    return parts.path.rstrip("/") or "/", urlencode(kept)


# an identifier in a path: a UUID (a dataset's uid, a receipt) or a number (a tenant code, a row id)
IDENTIFIER = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\d+")


def path_shape(path: str) -> str:
    """A path with its identifiers as N: /admin/datasets/<uid>/edit is one page of many, as /tenant/431001/ is."""
    return IDENTIFIER.sub("N", path)


def wanted(href: str, origin: str) -> str | None:
    """The path?query to visit for a link, or None to leave it."""
    parts = urlsplit(href)
    if f"{parts.scheme}://{parts.netloc}" != origin or not parts.path.startswith("/admin"):
        return None
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    if "lang" in query or parts.path.rstrip("/").endswith(("/logout", "/login")):
        return None
    if re.search(r"\.(xlsx|csv|png|pdf|json|zip)$", parts.path) or query.get("format") in {"xlsx", "csv", "pdf", "png"}:
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]'))
    .filter(a => !a.hasAttribute('download'))
    .map(a => a.href.split('#')[0])"""

# what a page offers to download: links to CSV or xlsx files (or marked ``download``), and GET forms
# whose action is an export (fetched with their defaults)
DOWNLOADS_JS = """() => Array.from(document.querySelectorAll('a[href]'))
    .filter(a => a.hasAttribute('download') || /\\.(csv|xlsx)(\\?|$)/.test(a.href))
    .map(a => a.href.split('#')[0])
    .concat(Array.from(document.querySelectorAll('form[action]'))
        // attributes, not properties: a field named "method" or "action" shadows the form's own
        .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'get')
        .map(f => new URL(f.getAttribute('action'), document.baseURI).href.split('#')[0])
        .filter(href => /\\/export(\\.\\w+)?$/.test(href.split('?')[0])))"""

# the text of labels: headings, table headers, field labels, term names (Flask-Admin details: td > b),
# buttons, menu entries
LABELS_JS = """() => Array.from(document.querySelectorAll(
        'h1, h2, h3, h4, h5, h6, th, dt, td > b, label, legend, caption, button, .nav-link, .dropdown-item, .btn, .renkei-page, .renkei-link'))
    .filter(e => e.offsetParent !== null)
    .map(e => e.innerText.trim()).filter(t => t)"""
ENGLISH_LABEL = re.compile(r"[A-Za-z][A-Za-z]+(?: [A-Za-z]+)*", re.ASCII)
NOT_ENGLISH_LABELS = {"CSV", "PDF", "API", "ID", "URL", "FIWARE", "CKAN", "SHA", "Excel", "Keycloak", "renkei", "OIDC",
                      "Markdown", "English", "IP"}  # names and acronyms a Japanese page writes in Latin letters

# after a resize: wait for the page's resize handlers and the next layout (two frames)
SETTLED_JS = "() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))"

# does the page scroll sideways? If it does, how wide it is and what sticks out: the outermost elements
# past the window's right edge that no scrolling box holds, and positioned ones (they escape such a box)
SIDEWAYS_JS = """() => {
    const root = document.documentElement, width = window.innerWidth + 1;
    if (root.scrollWidth <= window.innerWidth) return null;
    const name = e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
        + Array.from(e.classList).slice(0, 3).map(c => '.' + c).join('');
    const right = e => e.getBoundingClientRect().right + window.scrollX;
    const held = e => { for (let a = e.parentElement; a && a !== document.body; a = a.parentElement)
        if (getComputedStyle(a).overflowX !== 'visible') return true; return false; };
    const out = [];
    for (const e of document.body.querySelectorAll('*')) {
        if (right(e) <= width) continue;
        const positioned = ['absolute', 'fixed'].includes(getComputedStyle(e).position);
        if (positioned || (right(e.parentElement) <= width && !held(e))) out.push(`${name(e)} (${Math.round(right(e))} px)`);
        if (out.length >= 5) break;
    }
    return {scroll_width: root.scrollWidth, width: window.innerWidth, sticking_out: out};
}"""

# resultTypes: only the violations' nodes are built. preload: the one asset a rule of these tags waits for,
# media (no-autoplay-audio); axe's default also re-reads every stylesheet into a CSS object model on each
# run (about a fifth of a run here), which only css-orientation-lock reads, an experimental rule these
# tags do not run
AXE_JS = """async (tags) => {
    const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations'],
                                            preload: {assets: ['media']}});
    return result.violations.map(v => ({
        id: v.id, impact: v.impact, help: v.help, helpUrl: v.helpUrl,
        nodes: v.nodes.map(n => ({target: n.target.join(' '), summary: n.failureSummary, html: n.html.slice(0, 300)}))
    }));
}"""


# the page's visible text in two parts: its own words, and what a person or an outside system gave
# (table data cells but Flask-Admin's ``td > b`` labels, description values, form values, code and
# examples, and anything marked translate="no"): tests/raw_text.py checks English words in the first
# only, raw shapes and known codes in both
TEXT_JS = """() => {
    const data = 'td, dd, textarea, select, input, pre, code, kbd, samp, [translate="no"]';
    const own = [], given = [];
    const walker = document.createTreeWalker(document.body || document.documentElement, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.nodeValue.trim();
        const parent = node.parentElement;
        if (!text || !parent || parent.closest('script, style, noscript, template')) continue;
        if (!parent.checkVisibility({visibilityProperty: true})) continue;
        (parent.closest(data) && !parent.closest('td > b') ? given : own).push(text);
    }
    return {own: own.join('\\n'), given: given.join('\\n')};
}"""


def raw_text_of(text: str, codes: re.Pattern, words: bool = False) -> dict[str, list[str]]:
    """The known codes and the raw shapes in ``text`` (code -> snippets); with ``words``, ``text`` is
    the Japanese UI's own words, and English words outside tests/raw_text.py's list are raw too."""
    found: dict[str, list[str]] = {}
    for match in codes.finditer(text):
        code = "JSON" if match.group(0).startswith("{") else match.group(0)
        found.setdefault(code, []).append(text[max(0, match.start() - 30):match.end() + 30].replace("\n", " ⏎ "))
    for shape, snippets in raw_shapes(text, words=words).items():
        if shape not in found:
            found.setdefault(shape, []).extend(snippets)
    return found


# a download fetched by the page itself (the browser's address rules and the person's cookies), as base64
FETCH_JS = """async (url) => {
    const answer = await fetch(url, {credentials: 'same-origin'});
    const bytes = new Uint8Array(await answer.arrayBuffer());
    let text = '';
    for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return {status: answer.status, type: answer.headers.get('content-type') || '', body: btoa(text)};
}"""


def downloads_of(page, urls: dict[str, str], codes: re.Pattern) -> list[Visit]:
    """Each offered CSV/xlsx fetched with the person's session: its first rows checked like a page."""
    checked = []
    for url in urls.values():
        started = time.perf_counter()
        answer = page.evaluate(FETCH_JS, url)
        visit = Visit(f"(download) {url}", answer["status"], seconds={"fetch": round(time.perf_counter() - started, 3)})
        checked.append(visit)
        if answer["status"] < 400:
            body = base64.b64decode(answer["body"])
            found = download_raw_text(body, answer["type"])
            if found is not None:
                text = first_rows_text(body, answer["type"])
                for match in codes.finditer(text):
                    found.setdefault("JSON" if match.group(0).startswith("{") else match.group(0), []).append(
                        text[max(0, match.start() - 30):match.end() + 30].replace("\n", " ⏎ "))
                visit.raw_codes = found
    return checked


# what is read of a page at the first width, in one call (one round trip to the browser, not seven): axe's
# violations, then whether it scrolls sideways, its text, the downloads it offers, its labels, its <h1>
# headings and its links (the links a person is shown, whatever the width: read here once); ``null`` if axe-core
# is not in the page. The page's own time in axe and in the rest is returned with it.
WIDE_JS = """async (tags) => {
    if (typeof window.axe === 'undefined') return null;
    const started = performance.now();
    const violations = await (__AXE__)(tags);
    const read = performance.now();
    return {violations, sideways: (__SIDEWAYS__)(), text: (__TEXT__)(), downloads: (__DOWNLOADS__)(), labels: (__LABELS__)(),
            titles: Array.from(document.querySelectorAll('h1')).map(h => h.innerText.trim()), links: (__LINKS__)(),
            axe_ms: read - started};
}""".replace("__AXE__", AXE_JS).replace("__SIDEWAYS__", SIDEWAYS_JS).replace("__TEXT__", TEXT_JS) \
    .replace("__DOWNLOADS__", DOWNLOADS_JS).replace("__LABELS__", LABELS_JS).replace("__LINKS__", LINKS_JS)

# what is checked at the other widths, once the page is resized, in one call: the page settled (its resize handlers
# and the next layout), axe's violations, and whether it scrolls sideways; ``null`` if axe-core is not in the page
NARROW_JS = """async (tags) => {
    if (typeof window.axe === 'undefined') return null;
    await (__SETTLED__)();
    return {violations: await (__AXE__)(tags), sideways: (__SIDEWAYS__)()};
}""".replace("__SETTLED__", SETTLED_JS).replace("__AXE__", AXE_JS).replace("__SIDEWAYS__", SIDEWAYS_JS)


def in_page(page, script: str, axe: str | None):
    """``script`` run in the page with :data:`AXE_TAGS`, axe-core (``axe``, or read) injected first if the page
    lacks it."""
    found = page.evaluate(script, AXE_TAGS)
    if found is None:
        page.evaluate(axe or axe_script())
        found = page.evaluate(script, AXE_TAGS)
    return found


def examine(page, visit: Visit, origin: str, codes: re.Pattern, offered: dict[str, str], axe: str) -> list[str]:
    """The page now open: axe's violations, sideways scrolling, raw codes and English words in its text and
    labels, its titles, timed into ``visit``; the downloads it offers noted in ``offered`` (one per path
    shape). Returns the links it shows."""
    started = time.perf_counter()
    found = in_page(page, WIDE_JS, axe)
    visit.violations.extend(found["violations"])
    visit.seconds["axe"] = round(found["axe_ms"] / 1000, 3)
    if found["sideways"]:
        visit.sideways[page.viewport_size["width"]] = found["sideways"]
    text = found["text"]
    visit.raw_codes = raw_text_of(text["own"], codes, words=True)
    for code, snippets in raw_text_of(text["given"], codes).items():
        visit.raw_codes.setdefault(code, []).extend(snippets)
    for href in found["downloads"]:
        parts = urlsplit(href)
        if f"{parts.scheme}://{parts.netloc}" == origin and parts.path.startswith("/admin"):
            offered.setdefault(path_shape(parts.path), parts.path + (f"?{parts.query}" if parts.query else ""))
    for label in found["labels"]:
        if ENGLISH_LABEL.fullmatch(label) and not set(label.split()) <= NOT_ENGLISH_LABELS \
                and label not in visit.raw_codes:
            visit.raw_codes[label] = [f"(English label) {label}"]
    visit.titles = found["titles"]
    # sideways, text, labels, downloads, titles, links read in the page, and checked here
    visit.seconds["read"] = round(time.perf_counter() - started - visit.seconds["axe"], 3)
    return found["links"]


# where the crawl starts: the home page, and the search results the header's search box opens (a form:
# no link leads there; the results' links lead on to the pages of what was found)
START = ("/admin/", "/admin/search/?q=%E7%86%8A%E6%9C%AC")  # 熊本


def at_widths(page, visit: Visit, examine_wide: Callable[[], None], axe: str | None = None) -> None:
    """The page now open, at each of :data:`WIDTHS`: at the first, ``examine_wide()`` (everything);
    at the others, axe's violations (each noted with its width) and sideways scrolling, timed into
    ``visit`` (axe-core injected from ``axe`` if the page lacks it). A page opened at the last width is
    taken from narrow to wide, so that the next page opens where this one ends and each page costs two
    resizes, not three."""
    order = WIDTHS if page.viewport_size["width"] == WIDTHS[0] else WIDTHS[::-1]
    for width in order:
        started = time.perf_counter()
        if page.viewport_size["width"] != width:
            page.set_viewport_size({"width": width, "height": HEIGHT})
            if width == WIDTHS[0]:
                page.evaluate(SETTLED_JS)
        if width == WIDTHS[0]:
            examine_wide()
            continue
        found = in_page(page, NARROW_JS, axe)
        visit.violations.extend(dict(violation, width=width) for violation in found["violations"])
        if found["sideways"]:
            visit.sideways[width] = found["sideways"]
        visit.seconds[f"at {width}"] = round(time.perf_counter() - started, 3)


def crawl(page, origin: str, axe: str, codes: re.Pattern) -> tuple[list[Visit], list[str], list[Visit]]:
    from playwright.sync_api import Error as PlaywrightError

    offered: dict[str, str] = {}  # one download per path shape -> its path?query
    queue = collections.deque(START)
    queued = {page_key(url) for url in START}
    per_path = collections.Counter(path_shape(page_key(url)[0]) for url in START)
    visits: list[Visit] = []
    left_aside: list[str] = []  # downloads and other non-HTML answers
    page.set_viewport_size({"width": WIDTHS[0], "height": HEIGHT})
    while queue and len(visits) < PAGE_LIMIT:
        url = queue.popleft()
        started = time.perf_counter()
        try:
            response = page.goto(origin + url, wait_until="load")
        except PlaywrightError as error:
            if "Download is starting" in str(error) or "net::ERR_ABORTED" in str(error):
                left_aside.append(url)
                continue
            raise
        content_type = (response.headers.get("content-type", "") if response else "")
        if response is not None and "text/html" not in content_type:
            left_aside.append(f"{url} ({content_type or 'no content type'})")
            continue
        visit = Visit(url, response.status if response else 0, final=page.url.removeprefix(origin),
                      seconds={"load": round(time.perf_counter() - started, 3)})
        visits.append(visit)
        queued.add(page_key(visit.final))
        if visit.status >= 400:
            continue
        links: list[str] = []
        at_widths(page, visit, lambda: links.extend(examine(page, visit, origin, codes, offered, axe)), axe)
        started = time.perf_counter()
        for href in links:
            target = wanted(href, origin)
            if target is None:
                continue
            key = page_key(target)
            shape = path_shape(key[0])  # /admin/onboarding/tenant/431001/ is one page of many
            if key in queued or per_path[shape] >= VARIANTS_PER_PATH:
                continue
            queued.add(key)
            per_path[shape] += 1
            queue.append(target)
        visit.seconds["links"] = round(time.perf_counter() - started, 3)
    return visits, left_aside, downloads_of(page, offered, codes)


# --- reporting -------------------------------------------------------------------------------------

def report_path(tmp_path_factory, role: str) -> Path:
    folder = Path(os.environ.get("RENKEI_TEST_A11Y_REPORT") or tmp_path_factory.getbasetemp() / "a11y")
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{role}.json"


def shown(url: str) -> str:
    """A visited address without the "where to come back to" parameter Flask-Admin adds."""
    parts = urlsplit(url)
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in ("url", "next")])
    return parts.path + (f"?{query}" if query else "")


def summary(role: str, visits: list[Visit], report: Path, examples: int = 4) -> str:
    by_rule: dict[str, list[str]] = collections.defaultdict(list)
    helps: dict[str, str] = {}
    for visit in visits:
        for violation in visit.violations:
            by_rule[violation["id"]].append(f"{shown(visit.url)} ({violation.get('width', WIDTHS[0])} px)")
            helps[violation["id"]] = violation["help"]
    by_code: dict[str, list[str]] = collections.defaultdict(list)
    for visit in visits:
        for code in visit.raw_codes:
            by_code[code].append(shown(visit.url))
    broken = [f"{shown(visit.url)} -> {visit.status}" for visit in visits if visit.status >= 400]
    sideways = [f"{shown(visit.url)} at {width} px: {found['scroll_width']} px wide, sticking out: "
                f"{', '.join(found['sticking_out'])}" for visit in visits for width, found in visit.sideways.items()]
    lines = [f"{role}: {len(visits)} pages crawled; full report {report}"]
    if by_rule:
        lines.append(f"axe-core violations ({sum(len(v.violations) for v in visits)} on "
                     f"{sum(1 for v in visits if v.violations)} pages):")
        for rule, pages in sorted(by_rule.items(), key=lambda item: -len(item[1])):
            lines.append(f"  {rule} ({helps[rule]}): {len(pages)} pages, e.g. {', '.join(pages[:examples])}")
    if by_code:
        lines.append(f"raw codes in the Japanese UI ({sum(1 for v in visits if v.raw_codes)} pages):")
        for code, pages in sorted(by_code.items(), key=lambda item: (-len(item[1]), item[0])):
            lines.append(f"  {code!r}: {len(pages)} pages, e.g. {', '.join(pages[:examples])}")
    if sideways:
        lines.append(f"pages that scroll sideways ({len(sideways)}):")
        lines.extend(f"  {line}" for line in sideways)
    titles = [f"{shown(visit.url)}: {visit.titles}" for visit in visits if len(visit.titles) != 1]
    if titles:
        lines.append(f"pages without exactly one title (<h1>) ({len(titles)}): {', '.join(titles[:10])}")
    if broken:
        lines.append(f"links to error pages ({len(broken)}): {', '.join(broken[:10])}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def axe() -> str:
    return axe_script()


@pytest.fixture
def world(demo, db):
    """The demo's data plus one of each thing a page shows, so that the crawl reaches those pages:
    the joint-use agreement in force, an open council proposal, and this fiscal year's costs split
    by an adopted policy in an approved run (statements, journal) with a payment recorded."""
    import datetime as dt

    from billing import allocation_policies, allocation_runs, documents, operations as billing
    from billing.schemas import CostItemCreate, PaymentCreate, PolicyCreate
    from core.actor import Actor
    from tenancy.registry.sample import load_kumamoto_settings
    from core.calendar import fiscal_year_of, now_jst, today_jst
    from governance import agreements, council
    from governance.models import AgreementDocument
    from governance.schemas import ProposalCreate, VersionDraft

    operator = demo.loader
    finance = [Actor(issuer="urn:test", subject=f"finance-{n}", name=f"県 財政担当{n}", roles=frozenset({"finance-officer"}))
               for n in (1, 2, 3)]
    year = fiscal_year_of(today_jst())
    version = agreements.draft_version(db, operator, AgreementDocument.joint_use_agreement, VersionDraft(
        title="熊本県エリアデータ連携基盤 共同利用協定", body_md="# 第1条（目的）\n\n本協定は、連携基盤の共同利用について定める。",
        effective_on=today_jst(), required=True))
    agreements.publish_version(db, operator, AgreementDocument.joint_use_agreement, version.number)
    council.propose(db, operator, ProposalCreate(title="令和の運用規程の改正について", description="運用時間の見直し",
                                                 closes_at=now_jst() + dt.timedelta(days=14)))
    billing.create_cost_item(db, finance[0], CostItemCreate(
        fiscal_year=year, name="クラウド利用料", category="run", amount=7_600_000, tax_treatment="taxable_10",
        vendor="クラウド事業者", reference="INV-001"))
    policy = allocation_policies.create_policy(db, finance[0], PolicyCreate(
        name="共同利用負担金の按分", prefecture_share="1/2",
        components=[{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]))
    allocation_policies.adopt_policy(db, finance[2], policy.id)  # four eyes: not the drafter
    allocation_policies.create_policy(db, finance[0], PolicyCreate(  # a draft: the policies page shows its adoption form
        name="共同利用負担金の按分（見直し案）", prefecture_share="1/2",
        components=[{"basis": "equal", "weight": "1/3"}, {"basis": "population", "weight": "2/3"}]))
    run = allocation_runs.create_run(db, finance[0], year)
    allocation_runs.review_run(db, finance[1], run.id)
    allocation_runs.approve_run(db, finance[2], run.id)
    billing.record_payment(db, finance[0], PaymentCreate(tenant_code="431001", fiscal_year=year, amount=100_000,
                                                         received_on=today_jst(), reference="振込 0001"))
    # the prefecture's settings and the run's letters (納入通知書): the settings page, letters on statements
    load_kumamoto_settings(db, operator)
    documents.issue_documents(db, finance[0], run.id)
    from tests.consent.world import consent_world

    consent_world(db, operator)
    # members imported by the secretariat (issue 40): the member report shows industries, sizes, places, joins
    from bench.member_files import as_csv, member_rows
    from secretariat import members_import

    members_import.import_file(db, operator, as_csv(member_rows(12, first_joined=today_jst() - dt.timedelta(days=30)), "utf-8"))

    # the incident register (issue 39): one incident open (the clock on the home page), one closed with
    # both reports (their letters), and an identity incident, so that every page of the register is reached
    from service.incidents import operations as incidents
    from tenancy.identity.models import IdentityIncident

    now = dt.datetime.now(dt.timezone.utc)
    incidents.open_for_outage(db, "catalogue", "データカタログ", now - dt.timedelta(hours=2))
    closed = incidents.open_incident(db, operator, incidents.IncidentDraft(
        title="API ゲートウェイの停止", severity="critical", detected_at=now - dt.timedelta(days=2),
        components=[("gateway", "API ゲートウェイ")], tenant_codes=["431001"]))
    incidents.send_first_report(db, operator, closed.id)
    incidents.add_entry(db, operator, closed.id, "recovered", "再起動で復旧", now - dt.timedelta(days=2, hours=-3))
    incidents.close_incident(db, operator, closed.id, incidents.FinalReport(
        "証明書の期限切れ", "熊本市のデータ取得が3時間停止", "証明書を更新", "期限の監視を追加"))
    db.add(IdentityIncident(operation="user.invite", tenant_code="431001", username="stuck-axe", step="grant roles",
                            error="IdentityUnavailable: Keycloak did not answer"))

    from core.calendar import add_months, current_month
    from service import monthly_report  # last month's report to the prefecture (its row, downloads and send button)

    monthly_report.write(db, operator, add_months(current_month(), -1), None)
    desk_world(db, operator)
    db.commit()
    return demo


def desk_world(db, operator) -> None:
    """The secretariat's desk (issue 40): an answered inquiry and an overdue one, a seminar with a waiting list."""
    import datetime as dt

    from secretariat import events, inquiries

    answered = inquiries.record_inquiry(db, operator, inquiries.InquiryDraft(
        "member", "mail", "technical", "API の認証について", "トークンの有効期限は？", inquirer_name="会員 太郎",
        email="member@example.jp"))
    inquiries.reply(db, operator, answered.id, "有効期限は 5 分です。")
    inquiries.record_inquiry(db, operator, inquiries.InquiryDraft("resident", "phone", "fault", "データが表示されない",
                                                                  "カタログの表示について"),
                             now=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=20))
    starts = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    seminar = events.create_event(db, operator, events.EventDraft(
        "member_seminar", "DX 事例セミナー", starts, starts + dt.timedelta(hours=2), 1, "anyone", place="熊本県庁",
        online_url="https://meet.example.jp/dx"))
    for n in (1, 2):
        events.register_public(db, seminar.id, events.Registrant(f"参加 {n}", f"p{n}@example.jp", "熊本データ株式会社"),
                               source_ip="")
    from core.actor import Actor
    from governance import meetings
    from secretariat import groups

    # meetings and minutes (issue 40 item 6): one awaiting approval (by another than its writer), one published;
    # the community (item 5), empty
    writer = Actor(issuer="urn:test", subject="minutes-writer", name="事務局 書記", roles=frozenset({"platform-operator"}))
    for title, publish in (("11月 県との定例会", False), ("第2回 協議会", True)):
        meeting = meetings.create_meeting(db, operator, meetings.MeetingDraft(
            "prefecture", title, starts - dt.timedelta(days=20), "県庁",
            attendees=(meetings.Attendee("熊本市 担当", tenant_code="431001"),), agenda=(meetings.AgendaItem("進捗報告"),)))
        meetings.write_minutes(db, writer, meeting.id, text="進捗を報告した。")
        if publish:
            approver = Actor(issuer="urn:test", subject="minutes-approver", name="事務局 課長",
                             roles=frozenset({"platform-operator"}))
            meetings.approve_minutes(db, approver, meeting.id)
            meetings.publish_minutes(db, approver, meeting.id)
    groups.create_group(db, operator, groups.GroupDraft("community", "データ利活用コミュニティ", "データの利活用を進める"))
    progress_world(db, operator)


def progress_world(db, operator) -> None:
    """The secretariat's year (issue 40 item 7): a late work item and a done one, an open issue and a resolved one."""
    import datetime as dt

    from secretariat import progress

    owners = {"desk-1": "事務局 花子"}
    today = dt.datetime.now(dt.timezone.utc).astimezone(dt.timezone(dt.timedelta(hours=9))).date()
    progress.add_item(db, operator, owners, title="年間計画の作成", due_on=today - dt.timedelta(days=3), owner="desk-1")
    done = progress.add_item(db, operator, owners, title="会員名簿の取込", due_on=today, owner="desk-1")
    progress.update_item(db, operator, owners, done.id, status="done")
    progress.raise_issue(db, operator, owners, title="セミナー会場の確保", owner="desk-1")
    resolved = progress.raise_issue(db, operator, owners, title="講師の選定", owner="desk-1")
    progress.update_issue(db, operator, owners, resolved.id, status="resolved", resolution="県の職員に依頼した")


def competition_world(db, operator, people) -> None:
    """The project competition (issue 41): a published call with a declared group's proposal (熊本市 represents
    it), reviewed by 八代市's administrator, so that the crawl reaches the call, the entry page, the reviewers'
    page and a reviewer's desk and scoring form."""
    from competition import operations as comp
    from competition import review
    from core.codes import corporate_number_of_local_government as corporate
    from tenancy.members import operations as members
    from tests.competition.conftest import opened_now, pdf_of

    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)  # applicants act now, before the 2040 deadlines
    group = members.form_group(db, operator, "観光データ連携", corporate("431001"), [corporate("431001"), corporate("430005")])
    representative = dataclasses.replace(operator, subject="kumamoto-representative")
    docs = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
    comp.declare(db, representative, call.id, group.id, docs)
    comp.submit_proposal(db, representative, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                         [comp.Line("人件費", 4_000_000)], 4_000_000)
    person = people["yatsushiro"]
    account = people.directory.find_user(person.username)
    review.assign_reviewer(db, operator, people.directory, call.id, account["id"])
    db.commit()


@pytest.mark.long
@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_person_reaches_meets_wcag_aa_and_shows_no_raw_code(
        role, world, people, page, login_as, live_server, axe, db, tmp_path_factory, request):
    person = people[role]
    competition_world(db, world.loader, people)
    codes = raw_code_pattern(db)
    db.commit()  # end the read, so that this thread holds no lock while the live server answers
    page.context.add_init_script(script=axe)  # in every page as it opens: not sent again for each page
    login_as(page, person.username, person.password)
    visits, left_aside, downloads = crawl(page, live_server.url, axe, codes)

    report = report_path(tmp_path_factory, role)
    report.write_text(json.dumps({"role": role, "username": person.username, "pages": len(visits),
                                  "left_aside": left_aside, "visits": [dataclasses.asdict(v) for v in visits],
                                  "downloads": [dataclasses.asdict(v) for v in downloads]},
                                 ensure_ascii=False, indent=1), encoding="utf-8")
    request.config.stash.setdefault(CRAWLED, {})[role] = (len(visits), sum(len(v.violations) for v in visits),
                                                           sum(1 for v in visits if v.raw_codes),
                                                           sum(len(v.sideways) for v in visits))
    assert len(visits) > 1, f"{role} reached only {[v.url for v in visits]}: the crawl found no links"
    problems = [v for v in visits + downloads
                if v.violations or v.raw_codes or v.sideways or v.status >= 400 or len(v.titles) != 1]
    if problems:
        pytest.fail(summary(role, visits + downloads, report), pytrace=False)


"""No script from content: the Markdown the app renders passes one sanitiser (core/safe_html.py), and
every response carries a Content-Security-Policy that runs no inline script (admin/security_headers.py).

The vectors are the forms of the OWASP XSS filter evasion cheat sheet that survive Markdown: a link or
an image whose URL is a script (with entities, tabs, newlines, mixed case, data:, vbscript:), and raw
HTML with handlers, frames, objects and styles. Each goes through every Markdown field the app shows
as HTML (an agreement's text: its draft preview and its saved version's page).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import sqlalchemy as sa

from core import safe_html
from governance.models import AgreementVersion
from tests.conftest import sign_in

CSRF = "content-security-csrf"

VECTORS = [
    "[x](javascript:alert(1))",
    "[x](javascript&#58;alert(1))",
    "[x](javascript&#x3A;alert(1))",
    "[x](javascript&colon;alert(1))",
    "[x](&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1))",
    "[x](&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1))",
    "[x](&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1))",
    "[x](jav&#x09;ascript:alert(1))",
    "[x](jav&#x0A;ascript:alert(1))",
    "[x](jav&#x0D;ascript:alert(1))",
    "[x](jav\tascript:alert(1))",
    "[x]( javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](<javascript:alert(1)>)",
    "[x](javascript://%0Aalert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[x](DATA:text/html,<script>alert(1)</script>)",
    "[x](vbscript:msgbox(1))",
    "[x](VBScript&#58;msgbox(1))",
    "[x]: javascript:alert(1)\n\n[ref][x]",
    "<javascript:alert(1)>",
    "![x](javascript:alert(1))",
    '![x" onerror="alert(1)](/none.png)',
    '[x](/ "title\\" onmouseover=\\"alert(1)")',
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<iframe src=javascript:alert(1)></iframe>",
    "<object data=javascript:alert(1)></object>",
    "<embed src=javascript:alert(1)>",
    "<div style=\"width: expression(alert(1))\">x</div>",
    "<a href=\"javascript:alert(1)\">x</a>",
    "<body onload=alert(1)>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<<SCRIPT>alert(1)//<</SCRIPT>",
    "<math><a xlink:href=javascript:alert(1)>x</a></math>",
    "<details open ontoggle=alert(1)>",
    "<form action=javascript:alert(1)><button>x</button></form>",
    "<meta http-equiv=refresh content=\"0;url=javascript:alert(1)\">",
    "<base href=javascript:alert(1)//>",
]

FORBIDDEN_TAGS = {"script", "iframe", "object", "embed", "svg", "math", "style", "base", "meta", "form", "link",
                  "frame", "frameset", "applet", "img", "body"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "background", "poster", "content"}
SCRIPT_SCHEME = re.compile(r"^(javascript|vbscript|data|livescript):", re.IGNORECASE)


class _Findings(HTMLParser):
    """What in an HTML fragment could run a script, as a browser reads it (entities decoded)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in FORBIDDEN_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on") or name == "style":
                self.found.append(f"{tag} {name}=")
            if name in URL_ATTRIBUTES and value is not None:
                # as the URL standard reads it: C0 controls and spaces trimmed, tabs and newlines removed anywhere
                squeezed = re.sub(r"[\t\n\r]", "", value.strip("".join(map(chr, range(0x21)))))
                if SCRIPT_SCHEME.match(squeezed):
                    self.found.append(f"{tag} {name}={value!r}")


def executable(fragment: str) -> list[str]:
    findings = _Findings()
    findings.feed(fragment)
    findings.close()
    return findings.found


def test_the_checker_sees_what_a_browser_would_run():
    """The check below would catch the bug this test file is about (else it proves nothing)."""
    assert executable('<p><a href="javascript&#58;alert(1)">x</a></p>') == ["a href='javascript:alert(1)'"]
    assert executable('<a href="jav&#x09;ascript:alert(1)">x</a>')
    assert executable("<img src=x onerror=alert(1)>") == ["<img>", "img onerror="]
    assert executable("<p>ok <a href=\"https://example.jp/\">x</a></p>") == []


@pytest.mark.parametrize("vector", VECTORS)
def test_the_sanitiser_leaves_nothing_that_runs(vector):
    html = safe_html.markdown(f"前文\n\n{vector}\n\n後文")
    assert executable(html) == [], html
    assert "前文" in html and "後文" in html
    assert executable(safe_html.clean(vector)) == []  # raw HTML given to the sanitiser directly too


def test_the_sanitiser_keeps_what_an_agreement_needs():
    html = safe_html.markdown("# 第1条\n\n**共同利用**、[規約](https://example.jp/rules)、[窓口](mailto:desk@example.jp)、"
                              "[次条](#2)、[一覧](/admin/agreements/)\n\n| 項目 | 額 |\n|:--|--:|\n| 負担金 | 1,000 |\n")
    assert '<h2 id="1">第1条</h2>' in html and "<strong>共同利用</strong>" in html
    for href in ("https://example.jp/rules", "mailto:desk@example.jp", "#2", "/admin/agreements/"):
        assert f'href="{href}"' in html
    assert '<td align="right">1,000</td>' in html


@pytest.fixture
def operator_page(client, tenant_factory):
    tenant_factory("430005")
    sign_in(client, ["platform-operator"], ["430005"], subject="operator-pref", name="県 運営者", csrf=CSRF)
    return client


def _draft(client, action: str, body: str):
    return client.post("/admin/agreements/operating_rules/draft", data={
        "csrf_token": CSRF, "action": action, "title": "運用規約", "effective_on": "2026-04-01", "body_md": body},
        follow_redirects=True)


def test_every_vector_in_an_agreements_preview_and_saved_page_runs_nothing(operator_page, db):
    for vector in VECTORS:
        page = _draft(operator_page, "preview", f"前文\n\n{vector}\n").get_data(as_text=True)
        preview = re.search(r'<div[^>]*id="preview"[^>]*>(.*?)</div>\s*</section>', page, flags=re.S)
        assert preview and "前文" in preview.group(1), vector
        assert executable(preview.group(1)) == [], (vector, preview.group(1))
    saved = _draft(operator_page, "save", "\n\n".join(VECTORS))
    assert saved.status_code == 200
    [version] = db.scalars(sa.select(AgreementVersion)).all()
    page = operator_page.get(f"/admin/agreements/operating_rules/{version.number}/").get_data(as_text=True)
    text = re.search(r'<div class="[^"]*agreement-text[^"]*"[^>]*>(.*?)</div>', page, flags=re.S)
    assert text and "javascript" in text.group(1), "the version's text is on its page (as text)"
    assert executable(text.group(1)) == [], text.group(1)


# --- the headers ----------------------------------------------------------------------------------------

def _directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request.path}: no Content-Security-Policy"
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


PUBLIC_PAGES = ["/join", "/inquiry", "/events", "/status", "/competition", "/healthz", "/api/v1/openapi.json",
                "/admin/", "/no-such-page", "/portal/"]


def _assert_strict(response) -> None:
    csp = _directives(response)
    path = response.request.path
    assert csp["script-src"][0] == "'self'" and "'unsafe-inline'" not in csp["script-src"], path
    assert "'unsafe-eval'" not in csp["script-src"] and "'unsafe-inline'" not in csp.get("default-src", []), path
    assert all(source == "'self'" or source.startswith("'nonce-") for source in csp["script-src"]), path
    assert csp["object-src"] == ["'none'"] and csp["frame-ancestors"] == ["'none'"], path
    assert csp["base-uri"] == ["'self'"] and csp["form-action"][0] == "'self'", path
    assert response.headers["X-Content-Type-Options"] == "nosniff", path
    assert response.headers["Referrer-Policy"] == "same-origin", path
    assert "Strict-Transport-Security" not in response.headers, f"{path}: HSTS over plain http"


@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_every_kind_of_page_sends_a_policy_that_runs_no_inline_script(client, path):
    _assert_strict(client.get(path))


@pytest.mark.parametrize("path", ["/admin/", "/admin/agreements/", "/admin/council/", "/admin/billing/policies/new",
                                  "/admin/tenants/", "/admin/audit/", "/admin/billing/"])
def test_signed_in_pages_send_it_too_and_a_nonce_only_where_their_scripts_carry_it(client, path):
    sign_in(client, ["platform-operator", "finance-officer"], ["430005"])
    response = client.get(path)
    assert response.status_code == 200, path
    _assert_strict(response)
    page = response.get_data(as_text=True)
    nonces = [s[len("'nonce-"):-1] for s in _directives(response)["script-src"] if s.startswith("'nonce-")]
    for tag in re.findall(r"<script\b[^>]*>", page):
        assert "src=" in tag or any(f'nonce="{n}"' in tag for n in nonces), tag
    assert not re.search(r"<[^>]+\son[a-z]+=", page), "an inline event handler"
    assert not re.search(r"""(href|src|action)=["']\s*javascript:""", page, re.IGNORECASE), "a javascript: URL"


def test_the_keycloak_sign_in_is_an_allowed_form_target(app, client):
    csp = _directives(client.get("/join"))
    public = app.config["RENKEI_KEYCLOAK_PUBLIC_URL"].split("/realms")[0]
    assert any(public.startswith(origin) for origin in csp["form-action"][1:])


def test_hsts_only_over_tls(client):
    assert "Strict-Transport-Security" not in client.get("/healthz").headers
    secure = client.get("/healthz", base_url="https://renkei.example.jp")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_a_forwarded_https_counts_only_from_a_trusted_proxy(app, client, monkeypatch):
    spoofed = client.get("/healthz", headers={"X-Forwarded-Proto": "https"}, environ_base={"REMOTE_ADDR": "203.0.113.9"})
    assert "Strict-Transport-Security" not in spoofed.headers


def test_the_page_scripts_are_served_from_the_site(client):
    for name in ("page.js", "council.js", "policy_preview.js"):
        response = client.get(f"/static/renkei/{name}")
        response.close()
        assert response.status_code == 200 and "javascript" in response.mimetype, name
        assert response.headers["X-Content-Type-Options"] == "nosniff"


TEMPLATES = Path(__file__).resolve().parents[2] / "admin" / "templates"


def test_no_template_holds_an_inline_script_or_handler():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<script\b[^>]*>", text):
            if "src=" not in match.group(0) and "csp_nonce" not in match.group(0):
                found.append(f"{path.relative_to(TEMPLATES)}: {match.group(0)}")
        for match in re.finditer(r"<[a-zA-Z][^>]*\s(on[a-z]+)\s*=", text):
            found.append(f"{path.relative_to(TEMPLATES)}: {match.group(1)}=")
        if re.search(r"""(href|src|action)\s*=\s*["']\s*javascript:""", text, re.IGNORECASE):
            found.append(f"{path.relative_to(TEMPLATES)}: javascript: URL")
    assert found == []

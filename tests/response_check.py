"""Every response a test sees is a valid response (issue 49).

One function, :func:`check_response`, says what is wrong with an answer of the app; the Flask test
client (``RequestIsolatedClient.open`` in tests/conftest.py) runs it on every response, so no test
has to ask. The browser tests' contexts record the live server's answers with
:class:`BrowserResponses` and fail at teardown. A failure is an :class:`AssertionError` naming the
method, the path, the status and what is wrong.

What is checked, as a server in front of the app (gunicorn) or a client would refuse it:

* the status is an integer from 100 to 599, and its line is ``<code> <reason>`` in ASCII
  (a page that returned ``(body, "0 active")`` gave ``HTTP/1.1 0 active``: a bare 500 under gunicorn);
* header names are tokens, values have no CR, LF or NUL and are latin-1; the status line and the
  headers are then serialised by h11, a strict HTTP/1.1 implementation;
* every response with a body says its ``Content-Type``; a 204 or 304 has no body;
* every 4xx and 5xx under ``/api/v1`` is ``application/problem+json`` with the words in Japanese and
  in English (``detail_ja``, ``detail_en``: admin/problems.py).
"""

from __future__ import annotations

import json
import re
from typing import Any, Iterable

import h11

API_PREFIX = "/api/v1"
PROBLEM_JSON = "application/problem+json"
# RFC 9110 5.6.2: token = 1*tchar
_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
_STATUS_LINE = re.compile(r"^(\d{3}) [\x20-\x7e]*$")


def _is_api(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


def _header_problems(headers: Iterable[tuple[Any, Any]]) -> list[str]:
    problems = []
    for name, value in headers:
        if not isinstance(name, str) or not _TOKEN.match(name):
            problems.append(f"header name {name!r} is not an HTTP token")
        if not isinstance(value, str):
            problems.append(f"header {name!r} has a value that is not text: {value!r}")
            continue
        if any(c in value for c in "\r\n\0"):
            problems.append(f"header {name!r} has CR, LF or NUL in its value: {value!r}")
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            problems.append(f"header {name!r} has characters outside latin-1 (encode them, RFC 8187): {value!r}")
    return problems


def _h11_problem(method: str, status_code: int, reason: str, headers: list[tuple[str, str]]) -> str | None:
    """What h11 refuses to send as the response line and headers to ``method`` (None: nothing)."""
    connection = h11.Connection(our_role=h11.SERVER)
    connection.receive_data(f"{method} / HTTP/1.1\r\nHost: renkei.test\r\n\r\n".encode("ascii"))
    connection.next_event()
    kind = h11.InformationalResponse if status_code < 200 else h11.Response
    try:
        encoded = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers]
        connection.send(kind(status_code=status_code, reason=reason.encode("ascii"), headers=encoded))
    except (h11.LocalProtocolError, UnicodeEncodeError, ValueError) as error:
        return f"h11 refuses to send it: {error}"
    return None


def response_problems(method: str, path: str, response) -> list[str]:
    """Everything wrong with ``response`` (a werkzeug Response) to ``method path``; empty when valid."""
    method = method.upper()
    problems = []
    status_code, status = response.status_code, str(response.status)
    if not isinstance(status_code, int) or not 100 <= status_code <= 599:
        problems.append(f"the status is not an integer from 100 to 599 (status line {status!r})")
    elif not _STATUS_LINE.match(status) or int(status[:3]) != status_code:
        problems.append(f"the status line {status!r} is not '<code> <reason>' in ASCII")
    headers = list(response.headers.items())
    problems += _header_problems(headers)
    if not problems:
        problem = _h11_problem(method, status_code, status[4:], headers)
        if problem:
            problems.append(problem)
    api_error = isinstance(status_code, int) and status_code >= 400 and _is_api(path)
    # the body is read (and so buffered) only when it is to be looked at: a streamed download stays streamed
    looked_at = method != "HEAD" and (api_error or status_code in (204, 304) or not response.headers.get("Content-Type"))
    body = response.get_data() if looked_at else b""
    if status_code in (204, 304) and body:
        problems.append(f"a {status_code} has a body of {len(body)} bytes")
    elif body and not response.headers.get("Content-Type"):
        problems.append("a body without a Content-Type header")
    if api_error and method != "HEAD":
        problems += _problem_json_problems(response, body)
    return problems


def _problem_json_problems(response, body: bytes) -> list[str]:
    mimetype = (response.headers.get("Content-Type") or "").split(";")[0].strip().lower()
    if mimetype != PROBLEM_JSON:
        return [f"an API error answered as {mimetype or 'no content type'!r}, not {PROBLEM_JSON}"]
    try:
        document = json.loads(body)
    except ValueError:
        return [f"the {PROBLEM_JSON} body is not JSON: {body[:120]!r}"]
    if not isinstance(document, dict):
        return [f"the {PROBLEM_JSON} body is not an object: {body[:120]!r}"]
    problems = []
    for field in ("title", "detail_ja", "detail_en"):
        if not isinstance(document.get(field), str) or not document[field].strip():
            problems.append(f"the problem has no {field!r} (admin/problems.py: Japanese and English): {body[:200]!r}")
    if document.get("status") != response.status_code:
        problems.append(f"the problem's status {document.get('status')!r} is not the response's {response.status_code}")
    return problems


def check_response(method: str, path: str, response) -> None:
    """Raise AssertionError naming the method, path, status and what is wrong, if anything is."""
    problems = response_problems(method, path, response)
    if problems:
        raise AssertionError(f"invalid response to {method.upper()} {path} (status {response.status!r}): "
                             + "; ".join(problems))


def check_test_response(response) -> None:
    """Check a Flask test client's response and each redirect it followed (``response.history``)."""
    for each in (*getattr(response, "history", ()), response):
        request = each.request
        check_response(request.method, request.path, each)


class BrowserResponses:
    """Records the live server's invalid answers seen by a Playwright browser context; :meth:`check`
    at the fixture's teardown fails the test with them.

    Chromium drops a response whose status line it cannot read (``net::ERR_INVALID_HTTP_RESPONSE``):
    that comes as a failed request, recorded too."""

    def __init__(self, origin: str):
        self.origin = origin.rstrip("/")
        self.found: list[str] = []

    @classmethod
    def attach(cls, context, origin: str) -> BrowserResponses:
        watch = cls(origin)
        context.on("response", watch.on_response)
        context.on("requestfailed", watch.on_failed)
        return watch

    def _ours(self, url: str) -> bool:
        return url == self.origin or url.startswith(self.origin + "/")

    def on_response(self, response) -> None:
        if not self._ours(response.url):
            return
        status, headers = response.status, response.headers
        method = response.request.method
        problem = None
        if not isinstance(status, int) or not 100 <= status <= 599:
            problem = "the status is not an integer from 100 to 599"
        elif (method != "HEAD" and status not in (204, 304) and "content-type" not in headers
              and (headers.get("content-length") not in (None, "0") or "transfer-encoding" in headers)):
            problem = "a body without a Content-Type header"
        if problem:
            self.found.append(f"{method} {response.url} (status {status}): {problem}")

    def on_failed(self, request) -> None:
        failure = request.failure or ""
        if self._ours(request.url) and ("INVALID" in failure or "RESPONSE_HEADERS" in failure):
            self.found.append(f"{request.method} {request.url}: the browser could not read the answer ({failure})")

    def check(self) -> None:
        assert not self.found, "invalid responses from the live server:\n  " + "\n  ".join(self.found)

"""A page's scripts and styles are kept by the browser until they change (admin/static_files.py): each address carries
its file's content hash, and with it the file is answered with a year's max-age; any other address as before."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.conftest import sign_in

YEAR = 365 * 24 * 3600


def _static_addresses(html: str) -> list[str]:
    return sorted(set(re.findall(r'(?:src|href)="(/(?:admin/)?static/[^"]+)"', html.replace("&amp;", "&"))))


def _file(app, address: str) -> Path:
    path = urlsplit(address).path
    if path.startswith("/admin/static/"):
        return Path(app.blueprints["admin"].static_folder) / path.removeprefix("/admin/static/")
    return Path(app.static_folder) / path.removeprefix("/static/")


def test_every_file_a_page_loads_is_addressed_by_its_content_and_kept_a_year(app, client):
    sign_in(client)
    page = client.get("/admin/tenants/")
    assert page.status_code == 200
    addresses = _static_addresses(page.get_data(as_text=True))
    assert any(a.startswith("/static/renkei/") for a in addresses) and any(a.startswith("/admin/static/") for a in addresses)
    for address in addresses:
        wanted = hashlib.sha256(_file(app, address).read_bytes()).hexdigest()
        assert parse_qs(urlsplit(address).query)["v"] == [wanted[:12]], address
        answer = client.get(address)
        answer.close()  # a file is sent from its open file
        assert answer.status_code == 200, address
        assert answer.cache_control.max_age == YEAR and answer.cache_control.public, (address, answer.headers)


def test_without_its_hash_or_with_another_a_file_is_revalidated_as_before(app, client):
    page_js = Path(app.static_folder) / "renkei" / "page.js"
    assert page_js.is_file()
    for address in ("/static/renkei/page.js", "/static/renkei/page.js?v=000000000000",
                    "/admin/static/vendor/jquery.min.js", "/admin/static/vendor/jquery.min.js?v=3.5.1"):
        answer = client.get(address)
        answer.close()  # a file is sent from its open file
        assert answer.status_code == 200, address
        assert answer.cache_control.max_age is None and answer.cache_control.no_cache, (address, answer.headers)
        again = client.get(address, headers={"If-None-Match": answer.headers["ETag"]})
        again.close()
        assert again.status_code == 304, address


def test_a_page_is_never_given_the_files_max_age(client):
    """Only the two static endpoints: a page asked with a ``v`` keeps its own caching headers."""
    sign_in(client)
    digest = hashlib.sha256(b"").hexdigest()[:12]
    answer = client.get(f"/admin/tenants/?v={digest}")
    assert answer.status_code == 200
    assert answer.cache_control.max_age != YEAR

"""The usage page lists tenants 50 at a time, with next/previous links and a search by code or name."""

from __future__ import annotations

import re

from tests.conftest import sign_in


def _add_tenants(db, count: int) -> list[str]:
    from core.codes import with_check_digit
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    codes = [with_check_digit(f"{47000 + n:05d}") for n in range(count)]
    db.add_all([Tenant(code=code, name_ja=f"試験町{n:03d}", name_en=f"Test {n:03d}", kind=TenantKind.town,
                       population=1000 + n, status=TenantStatus.active) for n, code in enumerate(codes)])
    db.commit()
    return codes


def _codes_listed(page: str) -> list[str]:
    table = re.search(r"<tbody>(.*?)</tbody>", page, re.S).group(1)
    return re.findall(r"<tr>\s*<td>(\d{6})</td>", table)


def test_the_usage_page_shows_fifty_tenants_and_links_to_the_next_ones(client, db):
    codes = _add_tenants(db, 60)
    sign_in(client, ["platform-operator"])
    first = client.get("/admin/usage/").get_data(as_text=True)
    assert _codes_listed(first) == sorted(codes)[:50]
    assert "60団体中 1～50 件目" in first and "次へ" in first and "前へ" not in first
    link = re.search(r'href="([^"]*page=2[^"]*)">次へ', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert _codes_listed(second) == sorted(codes)[50:]
    assert "60団体中 51～60 件目" in second and "前へ" in second and "次へ" not in second


def test_the_usage_page_finds_a_tenant_by_name_or_code(client, db):
    codes = _add_tenants(db, 60)
    sign_in(client, ["platform-operator"])
    by_name = client.get("/admin/usage/?q=試験町042").get_data(as_text=True)
    assert _codes_listed(by_name) == [codes[42]] and "1団体中 1～1 件目" in by_name
    assert _codes_listed(client.get(f"/admin/usage/?q={codes[7]}").get_data(as_text=True)) == [codes[7]]
    nothing = client.get("/admin/usage/?q=存在しない町").get_data(as_text=True)
    assert _codes_listed(nothing) == [] and "表示する団体がありません。" in nothing


def test_the_downloads_still_hold_every_tenant(client, db):
    codes = _add_tenants(db, 60)
    sign_in(client, ["platform-operator"])
    text = client.get("/admin/usage/report.csv").get_data().decode("utf-8-sig")
    assert all(code in text for code in codes)


def test_a_page_number_that_is_not_one_is_refused_as_on_every_other_list(client, db):
    """The usage page reads ?page= by the one paging rule (admin/views/paging.py): not a number or
    below 1 is 400, as on the members and datasets lists, not silently the first page."""
    _add_tenants(db, 3)
    sign_in(client, ["platform-operator"])
    for bad in ("abc", "0", "-2", "1.5"):
        assert client.get(f"/admin/usage/?page={bad}").status_code == 400, bad
        assert client.get(f"/admin/members/?page={bad}").status_code == 400, bad
    assert client.get("/admin/usage/?page=").status_code == 200

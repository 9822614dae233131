"""Tenant-sized lists stay small at national scale (issue #12): the agreements board, the
onboarding board's columns and the users page's tenant picker are paged or searchable; the usage
chart shows the top tenants and the rest summed; the big downloads are streamed."""

from __future__ import annotations

import datetime as dt
import re

from tests.conftest import sign_in


def _add_tenants(db, count: int, status=None) -> list[str]:
    from core.codes import with_check_digit
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    codes = [with_check_digit(f"{47000 + n:05d}") for n in range(count)]
    db.add_all([Tenant(code=code, name_ja=f"試験町{n:03d}", name_en=f"Test {n:03d}", kind=TenantKind.town,
                       population=1000 + n, status=status or TenantStatus.active) for n, code in enumerate(codes)])
    db.commit()
    return codes


def _board_codes(page: str) -> list[str]:
    table = re.search(r'<table[^>]*id="agreement-board">(.*?)</table>', page, re.S).group(1)
    return re.findall(r'<tr data-code="(\d{6})"', table)


def test_the_agreements_board_shows_fifty_tenants_a_page_with_numbered_links(client, db):
    codes = sorted(_add_tenants(db, 60))
    sign_in(client, ["platform-operator"])
    first = client.get("/admin/agreements/").get_data(as_text=True)
    assert _board_codes(first) == codes[:50]
    assert "60件中 1～50件目を表示" in first
    assert re.search(r'<a class="page-link" href="[^"]*" aria-current="page">1</a>', first)
    link = re.search(r'<a class="page-link" href="([^"]*page=2[^"]*)"', first).group(1).replace("&amp;", "&")
    second = client.get(link).get_data(as_text=True)
    assert _board_codes(second) == codes[50:]
    assert "60件中 51～60件目を表示" in second
    assert re.search(r'aria-current="page">2</a>', second)


def test_the_agreements_board_finds_a_tenant_by_name_or_code(client, db):
    codes = _add_tenants(db, 60)
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/agreements/?q=試験町042").get_data(as_text=True)
    assert _board_codes(page) == [codes[42]] and "1件中 1～1件目を表示" in page
    assert '<label for="board-q"' in page and 'value="試験町042"' in page
    assert _board_codes(client.get(f"/admin/agreements/?q={codes[7]}").get_data(as_text=True)) == [codes[7]]
    nothing = client.get("/admin/agreements/?q=存在しない町").get_data(as_text=True)
    assert _board_codes(nothing) == [] and "該当する団体はありません。" in nothing


def test_a_bad_page_number_is_refused_and_a_page_past_the_end_shows_the_last(client, db):
    codes = sorted(_add_tenants(db, 60))
    sign_in(client, ["platform-operator"])
    assert client.get("/admin/agreements/?page=0").status_code == 400
    assert client.get("/admin/agreements/?page=abc").status_code == 400
    assert _board_codes(client.get("/admin/agreements/?page=99").get_data(as_text=True)) == codes[50:]


def _column_codes(page: str, status: str) -> list[str]:
    column = re.search(rf'data-status="{status}">(.*?)</section>', page, re.S).group(1)
    return re.findall(r'<li class="list-group-item p-2" data-code="(\d{6})"', column)


def test_an_onboarding_column_shows_its_first_cards_and_opens_alone_paged(client, db):
    from tenancy.registry.models import TenantStatus

    codes = _add_tenants(db, 60, TenantStatus.applied)
    sign_in(client, ["platform-operator"])
    board = client.get("/admin/onboarding/").get_data(as_text=True)
    shown = _column_codes(board, "applied")
    assert len(shown) == 50 and set(shown) <= set(codes)  # a prefecture's 45 municipalities fit in one column
    assert "この列の全60団体を表示" in board
    link = re.search(r'href="([^"]*status=applied[^"]*)">この列の全60団体を表示', board).group(1).replace("&amp;", "&")
    alone = client.get(link).get_data(as_text=True)
    first_page = _column_codes(alone, "applied")
    assert len(first_page) == 50 and 'data-status="active"' not in alone
    assert "60件中 1～50件目を表示" in alone
    second = client.get(link + "&page=2").get_data(as_text=True)
    assert set(first_page) | set(_column_codes(second, "applied")) == set(codes)
    found = client.get("/admin/onboarding/?q=試験町042").get_data(as_text=True)
    assert _column_codes(found, "applied") == [codes[42]]
    assert client.get("/admin/onboarding/?status=nonsense").status_code == 400


def _options(page: str) -> list[str]:
    select = re.search(r'<select id="tenant" name="tenant"[^>]*>(.*?)</select>', page, re.S).group(1)
    return re.findall(r'<option value="(\d{6})"', select)


def test_the_users_tenant_picker_is_searchable_instead_of_listing_every_tenant(client, db, monkeypatch):
    from admin.views import users

    codes = _add_tenants(db, 60)
    monkeypatch.setattr(users, "identity_directory", lambda: _NoDirectory())
    sign_in(client, ["platform-operator"])
    page = client.get(f"/admin/users/?tenant={codes[0]}").get_data(as_text=True)
    assert len(_options(page)) <= 51
    assert '<label for="tenant-q"' in page and "最初の50件" in page
    found = client.get(f"/admin/users/?tenant={codes[0]}&q=試験町042").get_data(as_text=True)
    assert set(_options(found)) == {codes[0], codes[42]}  # the match, and the tenant shown
    assert "該当する団体は1件です。" in found


class _NoDirectory:
    """No Keycloak: the picker is under test, not the accounts."""

    sends_mail = False

    def tenant_members(self, code):
        return []


def test_the_usage_chart_draws_the_top_ten_and_the_rest_summed(app, db, operator, monkeypatch):
    from matplotlib.axes import Axes

    from core.calendar import current_month, fiscal_year_of
    from usage.reports import chart_png
    from tests.conftest import record_usage

    codes = _add_tenants(db, 15)
    month = current_month()
    for n, code in enumerate(codes):
        record_usage(db, code, "api_calls", (n + 1) * 100, month)
    db.commit()
    drawn = {}
    real_plot = Axes.plot

    def plot(self, x, y, *args, label=None, **kwargs):
        drawn[label] = list(y)
        return real_plot(self, x, y, *args, label=label, **kwargs)

    monkeypatch.setattr(Axes, "plot", plot)
    png = chart_png(db, operator, fiscal_year_of(month), "api_calls", last_month=month)
    assert png.startswith(b"\x89PNG")
    assert len(drawn) == 11
    top = [label for label in drawn if label and "(" in label and label.rstrip(")").endswith(tuple(codes))]
    assert sorted(label.rsplit("(", 1)[1].rstrip(")") for label in top) == sorted(codes[5:])  # the ten largest
    rest = [label for label in drawn if label not in top]
    assert len(rest) == 1 and ("その他（5団体の合計）" in rest[0] or "Others (5 tenants summed)" in rest[0])
    assert drawn[rest[0]][-1] == 100 + 200 + 300 + 400 + 500


def test_the_usage_csv_and_the_audit_exports_are_streamed(client, db, tenant_factory):
    tenant_factory("431001")  # audited: the log has a record to export
    codes = _add_tenants(db, 30)
    sign_in(client, ["platform-operator"])
    csv = client.get("/admin/usage/report.csv")
    assert csv.is_streamed
    text = csv.get_data().decode("utf-8-sig")
    assert all(code in text for code in codes)
    for fmt in ("csv", "jsonl"):
        export = client.get(f"/admin/audit-verify/export?format={fmt}")
        assert export.status_code == 200 and export.is_streamed
        body = export.get_data().decode("utf-8-sig")
        export.close()
        assert "attachment" in export.headers["Content-Disposition"]
        assert "tenant.create" in body and "431001" in body

"""Monthly usage reports (CSV, Excel, PNG), the /admin usage page and outbox, and the billing link."""

import csv
import datetime as dt
import io
import struct

import pytest
from openpyxl import load_workbook

from usage import metering, quota_plans
from usage.metering import usage_total
from tests.conftest import sign_in
from tests.usage.conftest import JST, event

OCT_2026 = dt.datetime(2026, 10, 15, 12, 0, tzinfo=JST)
NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=JST)


@pytest.fixture
def october(db, tenant_factory, operator):
    """熊本市 and 八代市 with October 2026 usage (and some September usage of 熊本市)."""
    tenant_factory("431001")
    tenant_factory("432024")
    quota_plans.change_quota_plan(db, operator, "flat", {"name_ja": "一律", "population_min": 0, "limits": [
        {"metric": "api_calls", "limit": 1000, "enforcement": "hard"}]})
    metering.ingest(db, operator, [
        event("431001", quantity=600, at=OCT_2026), event("431001", quantity=150, at=OCT_2026 + dt.timedelta(days=3)),
        event("432024", quantity=200, at=OCT_2026),
        event("431001", metric="storage_bytes", quantity=5000, at=OCT_2026),
        event("431001", metric="storage_bytes", quantity=3000, at=OCT_2026 + dt.timedelta(days=1)),
        event("431001", quantity=40, at=OCT_2026 - dt.timedelta(days=30)),
    ], now=NOW)
    db.commit()


def test_the_platform_csv_has_every_tenant_and_a_total(client, october, as_operator):
    response = client.get("/api/v1/usage/report?month=2026-10&format=csv", headers=as_operator)
    assert response.status_code == 200
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")  # Excel reads the BOM as UTF-8
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:5] == ["対象月", "団体コード", "団体名", "人口", "プラン"]
    by_code = {row[1]: dict(zip(header, row)) for row in rows[1:]}
    kumamoto = by_code["431001"]
    assert kumamoto["API 呼び出し回数（月間）"] == "750"  # 600 + 150
    assert kumamoto["API 呼び出し回数（月間） 上限"] == "1000"
    assert kumamoto["API 呼び出し回数（月間） 利用率(%)"] == "75"
    assert kumamoto["ストレージ使用量（バイト）"] == "5000"  # a gauge's month figure is its peak
    assert by_code["432024"]["API 呼び出し回数（月間）"] == "200"
    total = rows[-1]
    assert total[2] == "合計（全団体）" and total[header.index("API 呼び出し回数（月間）")] == "950"


def test_the_excel_report_has_the_month_and_the_fiscal_year_trend(client, october, as_operator):
    response = client.get("/api/v1/usage/report?month=2026-10&format=xlsx", headers=as_operator)
    book = load_workbook(io.BytesIO(response.get_data()))
    assert book.sheetnames == ["月次利用実績", "月別推移", "データセット別", "提供団体別"]
    summary = book["月次利用実績"]
    assert "2026年10月" in summary["A1"].value
    trend = book["月別推移"]
    header = [c.value for c in trend[1]]
    assert header[3:] == ["2026年4月", "2026年5月", "2026年6月", "2026年7月", "2026年8月", "2026年9月", "2026年10月"]
    row = next(r for r in trend.iter_rows(values_only=True) if r[0] == "431001" and r[2] == "API 呼び出し回数（月間）")
    assert row[3:] == (0, 0, 0, 0, 0, 40, 750)


def test_a_municipal_admin_sees_only_their_own_usage(client, october, user_factory):
    _, headers = user_factory(("municipal-admin",), "431001")
    report = client.get("/api/v1/usage/report?month=2026-10", headers=headers).get_json()
    assert [t["code"] for t in report["tenants"]] == ["431001"] and report["totals"] is None
    assert client.get("/api/v1/usage/report?month=2026-10&tenant=432024", headers=headers).status_code == 403
    assert client.get("/api/v1/tenants/432024/usage", headers=headers).status_code == 403
    own = client.get("/api/v1/tenants/431001/usage?fiscal_year=2026", headers=headers).get_json()
    assert [m["api_calls"] for m in own["months"]][5:7] == [40, 750]
    csv_rows = client.get("/api/v1/usage/report?month=2026-10&format=csv", headers=headers).get_data().decode("utf-8-sig")
    assert "432024" not in csv_rows and "合計" not in csv_rows


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_the_chart_is_a_png(client, october, as_operator):
    response = client.get("/api/v1/usage/chart.png?fiscal_year=2026&metric=api_calls", headers=as_operator)
    assert response.status_code == 200 and response.mimetype == "image/png"
    assert png_size(response.get_data()) == (1000, 560)


def test_the_admin_usage_page_shows_the_table_chart_and_downloads(client, october):
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/usage/?month=2026-10").get_data(as_text=True)
    assert "熊本市" in page and "八代市" in page and "750" in page and "合計（全団体）" in page
    assert 'alt="' in page and "chart.png" in page
    assert "利用状況と利用上限" in page and '<html lang="ja">' in page
    english = client.get("/admin/usage/?month=2026-10&lang=en").get_data(as_text=True)
    assert "Usage and quotas" in english and "Kumamoto" in english
    png = client.get("/admin/usage/chart.png?month=2026-10&metric=api_calls&download=1")
    assert png.headers["Content-Disposition"].startswith("attachment") and png_size(png.get_data()) == (1000, 560)
    xlsx = client.get("/admin/usage/report.xlsx?month=2026-10")
    assert load_workbook(io.BytesIO(xlsx.get_data())).sheetnames == ["月次利用実績", "月別推移", "データセット別", "提供団体別"]


def test_a_municipal_admin_sees_only_their_tenant_on_the_admin_page(client, october):
    sign_in(client, ["municipal-admin"], ["432024"])
    page = client.get("/admin/usage/?month=2026-10").get_data(as_text=True)
    assert "八代市" in page and "熊本市" not in page
    text = client.get("/admin/usage/report.csv?month=2026-10").get_data().decode("utf-8-sig")
    assert "432024" in text and "431001" not in text


def test_quota_alerts_appear_in_the_outbox_view_scoped_to_the_tenant(client, db, tenant_factory, operator):
    tenant_factory("431001")
    tenant_factory("432024")
    quota_plans.change_quota_plan(db, operator, "tiny", {"name_ja": "極小", "population_min": 0,
                                                    "limits": [{"metric": "api_calls", "limit": 10}]})
    metering.ingest(db, operator, [event("431001", quantity=9), event("432024", quantity=8)])
    db.commit()
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/outbox/").get_data(as_text=True)
    assert page.count("利用上限の警告") == 2 and "送信待ち" in page  # one row per alert, its kind in words
    filtered = client.get("/admin/outbox/?flt0_0=431001").get_data(as_text=True)
    sign_in(client, ["municipal-admin"], ["432024"])
    own = client.get("/admin/outbox/").get_data(as_text=True)
    assert "八代市" in own and "熊本市" not in own
    assert filtered  # the filter parameters are accepted
    sign_in(client, ["finance-officer"])
    assert client.get("/admin/outbox/").status_code == 403


def test_usage_totals_for_a_fiscal_year_feed_billing(db, tenant_factory, operator):
    tenant_factory("431001")
    now = dt.datetime(2026, 4, 20, tzinfo=JST)
    metering.ingest(db, operator, [
        event("431001", quantity=7, at=dt.datetime(2025, 4, 1, 0, 0, tzinfo=JST)),      # FY2025, first minute
        event("431001", quantity=11, at=dt.datetime(2026, 3, 31, 23, 59, tzinfo=JST)),  # FY2025, last minute
        event("431001", quantity=100, at=dt.datetime(2025, 3, 31, 23, 59, tzinfo=JST)),  # FY2024
        event("431001", quantity=1000, at=dt.datetime(2026, 4, 1, 0, 0, tzinfo=JST)),   # FY2026
        event("431001", metric="storage_bytes", quantity=50, at=dt.datetime(2025, 6, 1, tzinfo=JST)),
        event("431001", metric="storage_bytes", quantity=80, at=dt.datetime(2025, 6, 20, tzinfo=JST)),
        event("431001", metric="storage_bytes", quantity=30, at=dt.datetime(2025, 7, 5, tzinfo=JST)),
    ], now=now, settings=metering.MeteringSettings(retention_months=24))
    db.commit()
    assert usage_total(db, "431001", "api_calls", 2025) == 18
    assert usage_total(db, "431001", "api_calls", 2024) == 100
    assert usage_total(db, "431001", "storage_bytes", 2025) == 80 + 30  # sum of monthly peaks
    assert usage_total(db, "432024", "api_calls", 2025) == 0


def test_the_usage_cli_imports_gateway_logs_all_or_nothing(app, db, tenant_factory, tmp_path, as_operator, client):
    tenant_factory("431001")
    now = dt.datetime.now(JST)
    good = tmp_path / "gateway.csv"
    good.write_bytes(("団体コード,指標,数量,日時,イベントID\r\n"
                      f"431001,api_calls,30,{now.isoformat()},gw-a\r\n"
                      f"431001,api_calls,12,{now.isoformat()},gw-b\r\n").encode("cp932"))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["usage", "import", str(good)])
    assert first.exit_code == 0, first.output
    again = runner.invoke(args=["usage", "import", str(good)])
    assert "重複 2 件" in again.output
    month = now.strftime("%Y-%m")
    figure = lambda: client.get(f"/api/v1/usage/report?month={month}", headers=as_operator).get_json()["tenants"][0]["values"]["api_calls"]  # noqa: E731
    assert figure() == 42

    bad = tmp_path / "gateway.jsonl"
    bad.write_text(f'{{"tenant": "431001", "metric": "api_calls", "quantity": 5, "timestamp": "{now.isoformat()}", "event_id": "gw-c"}}\n'
                   "\n"
                   f'{{"tenant": "431001", "metric": "api_calls", "quantity": -5, "timestamp": "{now.isoformat()}", "event_id": "gw-d"}}\n',
                   encoding="utf-8")
    refused = runner.invoke(args=["usage", "import", str(bad)])
    assert refused.exit_code == 2
    assert "line 3.quantity" in refused.output and "gw-d" in refused.output
    assert figure() == 42  # gw-c of the refused file was not recorded either


def test_purge_deletes_old_raw_events_and_keeps_the_figures(app, db, tenant_factory, operator, monkeypatch):
    from sqlalchemy import func, select

    from core.audit import AuditRecord
    from usage.models import UsageEvent

    tenant_factory("431001")
    now = dt.datetime.now(JST)
    old = now.replace(day=1) - dt.timedelta(days=400)  # before today's 13 months: sent when it was new
    metering.ingest(db, operator, [event("431001", quantity=5, at=old)], now=old + dt.timedelta(hours=1))
    metering.ingest(db, operator, [event("431001", quantity=6)], now=now)
    db.commit()
    # a retention shorter than the year of core.retention is refused, naming the kind and the date
    monkeypatch.setenv("RENKEI_USAGE_RETENTION_MONTHS", "2")
    refused = app.test_cli_runner().invoke(args=["usage", "purge"])
    assert refused.exit_code == 2 and "利用実績（生データ）" in refused.output and "まで保存しなければなりません" in refused.output
    assert db.scalar(select(func.count()).select_from(UsageEvent)) == 2
    monkeypatch.delenv("RENKEI_USAGE_RETENTION_MONTHS")
    result = app.test_cli_runner().invoke(args=["usage", "purge"])
    assert result.exit_code == 0, result.output
    assert "deleted 1 event(s)" in result.output
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(UsageEvent)) == 1
    old_month = old.date().replace(day=1)
    assert metering.monthly_values(db, [old_month], ["431001"]) == {("431001", "api_calls", old_month): 5}
    assert [r.action for r in db.scalars(select(AuditRecord).where(AuditRecord.action == "usage.purge"))] == ["usage.purge"]
    # and an event from before the window can no longer be sent
    with pytest.raises(metering.UsageRejected):
        metering.ingest(db, operator, [event("431001", at=old)], settings=metering.MeteringSettings(retention_months=2))
    db.rollback()


def test_the_report_command_writes_excel(app, october, tmp_path):
    target = tmp_path / "report.xlsx"
    result = app.test_cli_runner().invoke(args=["usage", "report", "--month", "2026-10", "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert load_workbook(target)["月次利用実績"]["A1"].value.startswith("2026年10月")


@pytest.mark.parametrize("month,era", [("2010-10", "平成22年度"), ("2019-04", "令和元年度"), ("2026-03", "令和7年度")])
def test_the_excel_report_names_the_fiscal_year_by_its_era(client, tenant_factory, month, era):
    tenant_factory("431001")
    sign_in(client, ["platform-operator"])
    xlsx = client.get(f"/admin/usage/report.xlsx?month={month}")
    assert xlsx.status_code == 200
    assert era in load_workbook(io.BytesIO(xlsx.get_data()))["月次利用実績"]["A1"].value


@pytest.mark.parametrize("month,era", [("2010-10", "平成22年度"), ("2019-04", "令和元年度"), ("2026-03", "令和7年度")])
def test_the_chart_is_titled_with_the_era_of_its_fiscal_year(client, tenant_factory, month, era):
    from PIL import Image

    from usage.reports import japanese_font

    if japanese_font() is None:
        pytest.skip("no Japanese font installed: the chart is then titled in English (.ci/run installs one)")
    tenant_factory("431001")
    sign_in(client, ["platform-operator"])
    png = client.get(f"/admin/usage/chart.png?month={month}&metric=api_calls")
    assert png.status_code == 200
    title = Image.open(io.BytesIO(png.get_data())).text["Title"]  # the title drawn on the chart
    assert era in title and "-" not in title.split("年度")[0]


def test_months_outside_the_supported_fiscal_years_are_refused(client, as_operator):
    sign_in(client, ["platform-operator"])
    assert client.get("/admin/usage/?month=1989-04").status_code == 200  # 平成元年度 opens the range
    assert client.get("/admin/usage/?month=1989-03").status_code == 400
    assert client.get("/admin/usage/?month=2101-03").status_code == 200  # the last month of FY2100
    assert client.get("/admin/usage/?month=2101-04").status_code == 400
    refused = client.get("/api/v1/usage/report?month=1989-03", headers=as_operator)
    assert refused.status_code >= 400 and "1989" in refused.get_data(as_text=True)
    assert client.get("/api/v1/usage/chart.png?fiscal_year=1988", headers=as_operator).status_code >= 400
    assert client.get("/api/v1/usage/chart.png?fiscal_year=1989", headers=as_operator).status_code == 200

"""Usage per dataset (issue 22, Build 7): an event may name a dataset of the register that its
tenant provides; the monthly report, its page and its downloads show the month's usage by dataset
(top datasets, totals by provider); the demo's sample usage names datasets."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from tests.conftest import sign_in
from tests.datasets.conftest import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN, draft
from tests.usage.conftest import JST, event

OCT_2026 = dt.datetime(2026, 10, 15, 12, 0, tzinfo=JST)
NOW = dt.datetime(2026, 11, 10, 12, 0, tzinfo=JST)


@pytest.fixture
def register(db, tenant_factory):
    """熊本市 provides two datasets, 八代市 one (names as the catalogue shows them)."""
    from catalogue import operations

    tenant_factory("431001")
    tenant_factory("432024")
    names = {}
    for actor, key, title in ((KUMAMOTO_ADMIN, "aed", "AED設置箇所一覧"), (KUMAMOTO_ADMIN, "toilets", "公衆トイレ一覧"),
                              (YATSUSHIRO_ADMIN, "shelters", "指定緊急避難場所一覧")):
        names[key] = operations.register(db, actor, draft(provider_code=next(iter(actor.tenant_codes)), title_ja=title,
                                                          standard_kind=None)).name
    db.commit()
    return names


def used(tenant, dataset, quantity, at=OCT_2026, event_id=None):
    return {**event(tenant, quantity=quantity, at=at, event_id=event_id), "dataset": dataset}


@pytest.fixture
def october(db, operator, register):
    from usage import metering

    metering.ingest(db, operator, [
        used("431001", register["aed"], 500), used("431001", register["aed"], 100, OCT_2026 + dt.timedelta(days=2)),
        used("431001", register["toilets"], 30), used("432024", register["shelters"], 250),
        event("431001", quantity=7, at=OCT_2026),  # names no dataset: counted for the tenant only
    ], now=NOW)
    db.commit()
    return register


def _month_rows(db):
    from usage.models import UsageDatasetMonth

    return {(row.tenant_code, row.dataset): (row.total, row.events)
            for row in db.scalars(sa.select(UsageDatasetMonth).where(UsageDatasetMonth.period_start == dt.date(2026, 10, 1)))}


def test_events_naming_datasets_are_stored_and_summed_per_dataset_and_month(db, operator, october):
    from usage import metering
    from usage.models import UsageEvent

    assert _month_rows(db) == {("431001", october["aed"]): (600, 2), ("431001", october["toilets"]): (30, 1),
                               ("432024", october["shelters"]): (250, 1)}
    stored = db.scalars(sa.select(UsageEvent.dataset).where(UsageEvent.tenant_code == "431001")).all()
    assert sorted(stored, key=str) == sorted([october["aed"], october["aed"], october["toilets"], None], key=str)
    # the tenant's month figure counts every call, named or not
    assert metering.monthly_values(db, [dt.date(2026, 10, 1)], ["431001"], ["api_calls"]) == {
        ("431001", "api_calls", dt.date(2026, 10, 1)): 637}


def test_a_batch_sent_again_counts_each_datasets_use_once(db, operator, register):
    from usage import metering

    batch = [used("431001", register["aed"], 5, event_id="again-1"), used("431001", register["aed"], 6, event_id="again-2")]
    metering.ingest(db, operator, batch, now=NOW)
    db.commit()
    result = metering.ingest(db, operator, batch, now=NOW)
    db.commit()
    assert (result.accepted, result.duplicates) == (0, 2)
    assert _month_rows(db) == {("431001", register["aed"]): (11, 2)}


@pytest.mark.parametrize("dataset, words_en, words_ja", [
    ("no-such-dataset", "is not in the dataset register", "データセット台帳にありません"),
    ("shelters", "not by tenant 431001", "利用実績は自団体が提供するデータセットについてのみ送信できます"),
])
def test_an_unknown_or_another_providers_dataset_refuses_the_whole_batch(db, operator, register, dataset, words_en,
                                                                         words_ja):
    from usage import metering
    from usage.models import UsageBatch, UsageEvent

    name = register.get(dataset, dataset)
    batch = [used("431001", register["aed"], 1), used("431001", name, 2), used("432024", register["shelters"], 3)]
    with pytest.raises(metering.UsageRejected) as refused:
        metering.ingest(db, operator, batch, now=NOW)
    db.rollback()
    [problem] = refused.value.problems
    assert (problem["index"], problem["field"], problem["event_id"]) == (1, "events[1].dataset", batch[1]["event_id"])
    assert words_en in problem["message_en"] and words_ja in problem["message_ja"]
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageEvent)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(UsageBatch)) == 0
    assert _month_rows(db) == {}


def test_the_same_event_id_and_time_for_another_dataset_is_a_conflict_not_a_repeat(db, operator, register):
    from usage import metering

    first = used("431001", register["aed"], 1, event_id="same")
    other = {**first, "dataset": register["toilets"]}
    with pytest.raises(metering.UsageRejected):
        metering.ingest(db, operator, [first, other], now=NOW)
    db.rollback()
    metering.ingest(db, operator, [first], now=NOW)
    db.commit()
    with pytest.raises(metering.UsageRejected) as refused:  # already stored for the other dataset
        metering.ingest(db, operator, [other], now=NOW)
    db.rollback()
    assert "already recorded" in refused.value.problems[0]["message_en"]


def test_the_api_refuses_an_unknown_dataset_with_a_bilingual_problem(client, db, register, metering_headers):
    at = dt.datetime.now(JST)
    response = client.post("/api/v1/usage", headers=metering_headers, json={"events": [
        used("431001", register["aed"], 1, at), used("431001", "no-such-dataset", 1, at)]})
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    body = response.get_json()
    assert [(e["index"], e["field"]) for e in body["errors"]] == [(1, "events[1].dataset")]
    assert "データセット台帳" in body["errors"][0]["message_ja"]


def test_usage_by_dataset_the_operator_sees_all_a_municipality_its_own(db, operator, october):
    from core.errors import Forbidden
    from usage import reports

    month = dt.date(2026, 10, 1)
    every = reports.dataset_usage(db, operator, month)
    assert [(d.title_ja, d.provider_name, d.calls) for d in every.top] == [
        ("AED設置箇所一覧", "熊本市", 600), ("指定緊急避難場所一覧", "八代市", 250), ("公衆トイレ一覧", "熊本市", 30)]
    assert [(p.code, p.name_ja, p.datasets, p.calls) for p in every.providers] == [
        ("431001", "熊本市", 2, 630), ("432024", "八代市", 1, 250)]
    assert (every.total, every.datasets) == (880, 3)
    own = reports.dataset_usage(db, YATSUSHIRO_ADMIN, month)
    assert [d.name for d in own.top] == [october["shelters"]] and [p.code for p in own.providers] == ["432024"]
    with pytest.raises(Forbidden):
        reports.dataset_usage(db, YATSUSHIRO_ADMIN, month, ["431001"])
    assert reports.dataset_usage(db, operator, dt.date(2026, 9, 1)).top == []


def test_the_usage_page_shows_top_datasets_and_provider_totals(client, october):
    sign_in(client, ["platform-operator"])
    page = client.get("/admin/usage/?month=2026-10").get_data(as_text=True)
    assert "データセット別の利用実績（2026-10）" in page and "提供団体別の合計" in page
    assert page.index("AED設置箇所一覧") < page.index("指定緊急避難場所一覧") < page.index("公衆トイレ一覧")
    assert "600 件" in page and "熊本市（431001）" in page and "八代市（432024）" in page
    sign_in(client, ["municipal-admin"], ["432024"])
    own = client.get("/admin/usage/?month=2026-10").get_data(as_text=True)
    assert "指定緊急避難場所一覧" in own and "AED設置箇所一覧" not in own and "熊本市（431001）" not in own
    assert "この月にデータセットを指定した API 呼び出しはありません。" in client.get("/admin/usage/?month=2026-09").get_data(as_text=True)


def test_the_dataset_csv_download_names_its_file_and_lists_every_dataset(client, october):
    sign_in(client, ["platform-operator"])
    response = client.get("/admin/usage/datasets.csv?month=2026-10")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"] == 'attachment; filename="usage-datasets-2026-10.csv"'
    data = response.get_data()
    assert data.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[0] == ["対象月", "順位", "データセット識別名", "データセット名", "提供団体コード", "提供団体名", "API 呼び出し回数（件）"]
    assert [row[3:] for row in rows[1:]] == [["AED設置箇所一覧", "431001", "熊本市", "600"],
                                            ["指定緊急避難場所一覧", "432024", "八代市", "250"],
                                            ["公衆トイレ一覧", "431001", "熊本市", "30"]]
    sign_in(client, ["municipal-admin"], ["431001"])
    own = client.get("/admin/usage/datasets.csv?month=2026-10").get_data().decode("utf-8-sig")
    assert "八代市" not in own and "AED設置箇所一覧" in own


def test_the_excel_download_has_sheets_by_dataset_and_by_provider(client, october):
    sign_in(client, ["platform-operator"])
    response = client.get("/admin/usage/report.xlsx?month=2026-10")
    assert response.headers["Content-Disposition"] == 'attachment; filename="usage-2026-10.xlsx"'
    book = load_workbook(io.BytesIO(response.get_data()))
    assert {"データセット別", "提供団体別"} <= set(book.sheetnames)
    by_dataset = [[cell.value for cell in row] for row in book["データセット別"].iter_rows()]
    assert by_dataset[1][3:] == ["AED設置箇所一覧", "431001", "熊本市", 600]
    by_provider = [[cell.value for cell in row] for row in book["提供団体別"].iter_rows()]
    assert by_provider[0] == ["対象月", "提供団体コード", "提供団体名", "利用されたデータセット数", "API 呼び出し回数（件）"]
    assert by_provider[1][1:] == ["431001", "熊本市", 2, 630] and by_provider[-1][3:] == [3, 880]


def test_the_report_api_gives_usage_by_dataset_within_the_readers_scope(client, october, as_operator, user_factory):
    report = client.get("/api/v1/usage/report?month=2026-10", headers=as_operator).get_json()
    assert report["datasets"]["total"] == 880
    assert [(d["name"], d["calls"]) for d in report["datasets"]["top"]][0] == (october["aed"], 600)
    _, headers = user_factory(("municipal-admin",), "432024")
    own = client.get("/api/v1/usage/report?month=2026-10", headers=headers).get_json()["datasets"]
    assert [d["provider_code"] for d in own["top"]] == ["432024"] and own["total"] == 250


def test_the_sample_usage_names_the_sample_datasets_and_loads_once(db, operator, tenant_factory):
    from catalogue.sample import load_sample_datasets
    from usage import reports
    from usage.sample import load_sample_usage
    from tests.datasets.conftest import PROVIDERS

    for code in PROVIDERS:
        tenant_factory(code)
    load_sample_datasets(db, operator)
    db.commit()
    now = dt.datetime(2026, 11, 10, 3, 0, tzinfo=dt.timezone.utc)
    assert load_sample_usage(db, operator, now=now) > 0
    db.commit()
    usage = reports.dataset_usage(db, operator, dt.date(2026, 10, 1))
    assert usage.datasets >= 10 and usage.top[0].calls > usage.top[-1].calls > 0
    from usage import dataset_use

    used = dataset_use.dataset_use(db, operator, "431001", dt.date(2026, 10, 1))  # who used 熊本市's datasets
    assert used.calls > 0 and all(c.consumer_code in PROVIDERS and c.consumer_code != "431001"
                                  for d in used.datasets for c in d.consumers)
    assert load_sample_usage(db, operator, now=now) == 0  # loaded before: nothing counted twice
    db.commit()
    assert dataset_use.dataset_use(db, operator, "431001", dt.date(2026, 10, 1)) == used

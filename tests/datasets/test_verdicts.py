"""A verdict bound to a file, one conformance state and one dataset count read everywhere, one way to 公開中
(issue 37 items 2 and 3)."""

from __future__ import annotations

import hashlib
import html
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from tests.conftest import sign_in
from tests.datasets.conftest import KUMAMOTO_ADMIN, draft
from tests.datasets.test_register import AED_BAD, AED_GOOD

SAMPLES = Path(__file__).resolve().parents[2] / "tenancy" / "data" / "standard_samples"


# --- the verdict ------------------------------------------------------------------------------------

def test_a_verdict_records_the_file_it_was_given_on(db, providers):
    from catalogue import file_checks, operations
    from catalogue.conformance import conformance_state

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    raw = AED_GOOD.encode("cp932")
    check = file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", raw)
    assert check.conformant and conformance_state(dataset).label[0] == "準拠"
    assert (check.sha256, check.byte_size) == (hashlib.sha256(raw).hexdigest(), len(raw))
    assert check.row_count >= 1 and check.distribution_url == "https://data.example.jp/aed.csv"
    assert check.standard_version != "" and check.checked_at is not None
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "dataset.check")).one()
    assert hashlib.sha256(raw).hexdigest() in record.after


def test_a_header_alone_is_not_conformant(db, providers):
    from catalogue import file_checks, operations
    from catalogue.conformance import conformance_state

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    header = AED_GOOD.splitlines()[0] + "\r\n"
    check = file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", header.encode("utf-8"))
    assert not check.conformant and check.row_count == 0
    assert conformance_state(dataset).label[0].startswith("不適合")
    assert any("データ行がありません" in p["message_ja"] for p in file_checks.check_problems(check))


def test_a_file_that_replaces_the_distributions_makes_a_new_version_and_keeps_the_old_verdict(db, operator, providers):
    from catalogue import file_checks, operations

    dataset = operations.register(db, operator, draft())
    file_checks.check_file(db, operator, dataset.uid, "aed.csv", AED_GOOD.encode("cp932"))
    operations.move(db, operator, dataset.uid, "submit")
    operations.move(db, operator, dataset.uid, "publish")
    version = dataset.version
    file_checks.check_file(db, operator, dataset.uid, "aed.csv", AED_GOOD.encode("cp932"))  # the same file again
    assert dataset.version == version
    file_checks.check_file(db, operator, dataset.uid, "aed-2.csv", AED_BAD.encode("cp932"), replaces=True)  # a new file
    assert dataset.version == version + 1 and dataset.conformant is False
    history = operations.checks(db, dataset)
    assert [(c.dataset_version, c.conformant) for c in history] == [(version + 1, False), (version, True),
                                                                    (version, True)]


def test_the_verdict_stops_applying_when_its_file_is_no_longer_the_distribution(db, providers):
    from catalogue import file_checks, operations
    from catalogue.conformance import conformance_state

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode("cp932"))
    operations.update(db, KUMAMOTO_ADMIN, dataset.uid, draft(description="説明を変えた。"))
    assert conformance_state(dataset).label[0] == "準拠"  # the same file: the verdict holds
    moved = operations.DistributionDraft(url="https://data.example.jp/aed-2026.csv", format="CSV")
    operations.update(db, KUMAMOTO_ADMIN, dataset.uid, draft(distributions=(moved,)))
    assert conformance_state(dataset).label[0] == "未確認"
    assert "標準データセットの項目定義に準拠している" in [ja for ja, _en, met in operations.review_checklist(db, dataset)
                                                  if not met]


def test_the_state_is_overdue_only_for_a_published_dataset_past_its_frequency(db, providers):
    import datetime as dt

    from catalogue import file_checks, operations
    from catalogue.conformance import conformance_state

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft(last_updated_on=dt.date(2020, 1, 1)))
    file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode("cp932"))
    assert conformance_state(dataset, today=dt.date(2026, 11, 25)).label[0] == "準拠"  # a draft is not out of date
    dataset.status = "published"
    state = conformance_state(dataset, today=dt.date(2026, 11, 25))
    assert state.label[0] == "更新期限切れ" and state.conformant  # DCAT asks the verdict, still 準拠


@pytest.mark.parametrize("path", sorted(SAMPLES.glob("*.csv")), ids=lambda p: p.stem)
def test_each_standard_sample_file_conforms(path):
    from catalogue import standards

    result = standards.check_file(standards.kind_of(path.stem), path.read_bytes())
    assert result.conformant, result.problems[:3]
    assert result.row_count >= 1


# --- one way to 公開中 -------------------------------------------------------------------------------------

IMPORT_HEADER = "提供者コード,識別名,タイトル,説明,分野,ライセンス,更新頻度,担当課,メールアドレス,標準データセット,配布URL,状態\n"


def test_an_import_publishes_only_the_rows_that_pass_the_checklist_and_says_why_the_others_stay_drafts(
        db, operator, providers):
    from catalogue.importing import import_datasets
    from catalogue.models import DatasetStatus

    raw = (IMPORT_HEADER
           + "431001,full-row,駐輪場一覧,市内の駐輪場。,防災,CC-BY-4.0,毎年,土木課,a@example.jp,,https://data.example.jp/a.csv,公開中\n"
           + "431001,no-description,公園一覧,,防災,CC-BY-4.0,毎年,土木課,a@example.jp,,https://data.example.jp/b.csv,公開中\n"
           + "431001,standard-row,AED設置箇所一覧,市内のAED。,防災,CC-BY-4.0,毎年,消防局,a@example.jp,AED設置箇所一覧,https://data.example.jp/c.csv,公開中\n"
           + "431001,draft-row,道路一覧,,防災,CC-BY-4.0,毎年,土木課,a@example.jp,,https://data.example.jp/d.csv,下書き\n").encode()
    imported = import_datasets(db, operator, raw)
    status = {d.name: DatasetStatus(d.status).value for d in imported.created}
    assert status == {"full-row": "published", "no-description": "draft", "standard-row": "draft", "draft-row": "draft"}
    why = {h.dataset.name: (h.line, h.reasons[0]) for h in imported.held}
    assert why == {"no-description": (3, "説明がある"), "standard-row": (4, "標準データセットの項目定義に準拠している")}

    # the feed a harvester reads after the import still conforms to the DCAT-AP 3.0.0 shapes
    # (dct:description minCount 1): the rows without a description are not in it
    from rdflib import Graph

    from tests.datasets.test_dcat import conforms, feed, shapes_file

    db.commit()
    page, graph = feed(db)
    assert [entry.dataset.name for entry in page.entries] == ["full-row"]
    ok, text = conforms(graph, Graph().parse(shapes_file()))
    assert ok, text


def test_the_import_page_and_the_api_list_the_rows_that_stay_drafts(client, db, providers, open_api):
    import io

    raw = (IMPORT_HEADER
           + "431001,no-description,公園一覧,,防災,CC-BY-4.0,毎年,土木課,a@example.jp,,https://data.example.jp/b.csv,公開中\n")
    sign_in(client, csrf="t")
    page = client.post("/admin/datasets/import", data={"csrf_token": "t", "file": (io.BytesIO(raw.encode()), "list.csv")},
                       content_type="multipart/form-data")
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200 and "公開しない理由" in text and "説明がある" in text and "公園一覧" in text
    answer = client.post("/api/v1/datasets/import",
                         json={"filename": "list.csv", "content_base64": _b64(raw.replace("no-description", "api-row"))})
    assert answer.status_code == 201
    [held] = answer.json["held"]
    assert held["name"] == "api-row" and held["line"] == 2 and "説明がある" in held["reasons_ja"]


def _b64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode()).decode()


# --- the demo: one state and one count on every page ----------------------------------------------------

def _list_states(text: str) -> dict[str, tuple[str, str]]:
    """The provider's list: title -> (conformance, status)."""
    rows = re.findall(r'<tr><td><a href="/admin/datasets/[^"]+">([^<]+)</a></td>.*?</tr>', text, re.S)
    cells = re.findall(r'<tr><td><a href="/admin/datasets/[^"]+">[^<]+</a></td>(.*?)</tr>', text, re.S)
    found = {}
    for title, row in zip(rows, cells):
        tds = re.findall(r"<td>(.*?)</td>", row, re.S)
        found[html.unescape(title)] = (html.unescape(tds[-2]).strip(), html.unescape(tds[-1]).strip())
    return found


def _matrix_row(text: str, code: str) -> list[str]:
    row = re.search(rf"<th scope=\"row\">[^<]*（{code}）</th>(.*?)</tr>", text, re.S).group(1)
    # each cell's state (a second line may mark a dataset unused for a year: issue 37 item 9)
    return [html.unescape(cell.split("<br>")[0]).strip() for cell in re.findall(r"<td>(.*?)</td>", row, re.S)]


def _agreement(client, db, code: str) -> tuple[dict[str, tuple[str, str]], set[str]]:
    """Every page's answer for ``code``'s datasets compared: the list, the matrix, the home page, the gauge."""
    from catalogue import standards
    from catalogue.coverage import Cell
    from catalogue.models import Dataset, DatasetStatus
    from usage import quotas

    listed = _list_states(client.get("/admin/datasets/?lang=ja").get_data(as_text=True))
    datasets = db.scalars(sa.select(Dataset).where(Dataset.provider_code == code)).all()
    assert set(listed) == {d.title_ja for d in datasets}
    matrix = _matrix_row(client.get(f"/admin/dataset-coverage/?q={code}&lang=ja").get_data(as_text=True), code)
    by_kind = dict(zip(standards.kinds(), matrix))
    home = html.unescape(client.get("/admin/?lang=ja").get_data(as_text=True))
    attention = set()
    for d in datasets:
        state, status = listed[d.title_ja]
        if d.standard_kind and status == "公開中":
            label = next(cell.ja for cell in Cell if cell.ja.endswith(state.split("（")[0]))
            assert by_kind[d.standard_kind] == label, (d.title_ja, state, by_kind[d.standard_kind])
        if status == "公開中" and d.standard_kind and state != "準拠":
            attention.add(d.title_ja)
            assert f"{d.title_ja}（" in home
        elif status == "公開中":
            assert f"{d.title_ja}（" not in home
    assert ("公開中のデータセットはすべて更新期限内で、標準に準拠しています" in home) == (not attention)
    not_withdrawn = [d for d in datasets if d.status != DatasetStatus.withdrawn]
    usage = re.search(r'<th scope="row">データセット数</th>\s*<td class="text-right">([0-9,]+)</td>', home)
    assert int(usage.group(1).replace(",", "")) == len(not_withdrawn)
    status_rows = quotas.tenant_quota_status(db, KUMAMOTO_ADMIN, code)
    assert next(r["used"] for r in status_rows if r["metric"] == "datasets") == len(not_withdrawn)
    return listed, attention


def test_in_the_demo_the_list_the_matrix_the_home_page_and_the_gauge_agree(client, db, sample_catalogue):
    from catalogue import operations
    from catalogue.models import Dataset

    sign_in(client, ["municipal-admin"], ["431001"], csrf="t")
    listed, attention = _agreement(client, db, "431001")
    standard = {title: state for title, (state, status) in listed.items() if state}
    assert len(standard) == 7 and set(standard.values()) == {"準拠"} and not attention
    assert {status for _state, status in listed.values()} == {"公開中"} and len(listed) == 9

    # the AED list's file is replaced by another address: its verdict no longer applies, on every page
    aed = db.scalars(sa.select(Dataset).where(Dataset.name == "kumamoto-city-aed")).one()
    values = {**_form_of(aed), "url": "https://data.example.jp/sample/kumamoto-city-aed-2026.csv", "csrf_token": "t"}
    assert client.post(f"/admin/datasets/{aed.uid}/edit", data=values).status_code == 302
    listed, attention = _agreement(client, db, "431001")
    assert listed["AED設置箇所一覧"][0] == "未確認" and attention == {"AED設置箇所一覧"}
    db.expire_all()
    assert operations.find_dataset(db, aed.uid).conformant is None


def _form_of(dataset) -> dict[str, str]:
    from admin.views.datasets import _values_of

    return {k: ("" if v is None else str(v)) for k, v in _values_of(dataset).items()}


def test_in_the_demo_every_standard_dataset_is_conformant_and_published_past_the_checklist(db, sample_catalogue):
    from catalogue import operations
    from catalogue.conformance import conformance_state
    from catalogue.models import Dataset, DatasetStatus

    assert len(sample_catalogue) == 33 and {d.status for d in sample_catalogue} == {DatasetStatus.published}
    standard = db.scalars(sa.select(Dataset).where(Dataset.standard_kind.is_not(None))).all()
    assert len(standard) == 9
    for dataset in standard:
        assert dataset.status == DatasetStatus.published and conformance_state(dataset).verdict_label[0] == "準拠"
    for dataset in db.scalars(sa.select(Dataset).where(Dataset.status == DatasetStatus.published)):
        assert all(met for _ja, _en, met in operations.review_checklist(db, dataset)), dataset.name

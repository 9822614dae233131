"""The register: standard datasets checked against their Table Schema, the workflow, the import."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotFound, NotPermitted
from core.outbox import Notification
from tests.datasets.conftest import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN, draft
from catalogue.conformance import conformance_state

AED_BAD = ("名称,名称_カナ,住所,緯度,経度\n"
           "熊本市役所,クマモトシヤクショ,熊本市中央区手取本町1-1,132.803,130.707\n"
           "熊本市消防局,クマモトシショウボウキョク,熊本市中央区大江3-1-3,32.799,130.720\n")
AED_GOOD = ("名称,名称_カナ,住所,緯度,経度,設置位置\n"
            "熊本市役所,クマモトシヤクショ,熊本市中央区手取本町1-1,32.803,130.707,1階正面玄関\n"
            "熊本市消防局,クマモトシショウボウキョク,熊本市中央区大江3-1-3,32.799,130.720,1階受付\n")


def test_a_cp932_aed_file_with_a_missing_column_and_a_bad_latitude_is_refused_naming_both(db, providers):
    from catalogue import file_checks, operations

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    check = file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_BAD.encode("cp932"))
    problems = file_checks.check_problems(check)
    assert not check.conformant and check.encoding == "cp932" and check.problem_count == 2
    assert conformance_state(dataset).label[0] == "不適合（2 件）"
    assert {(p["row"], p["column"]) for p in problems} == {("1", "設置位置"), ("2", "緯度")}
    missing = next(p for p in problems if p["column"] == "設置位置")
    latitude = next(p for p in problems if p["column"] == "緯度")
    assert "必須の列がありません" in missing["message_ja"]
    assert latitude["message_ja"].startswith("2 行目・列「緯度」") and "132.803" in latitude["message_ja"]

    fixed = file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode("cp932"), replaces=True)
    assert fixed.conformant and fixed.row_count == 2
    assert conformance_state(dataset).label[0] == "準拠"
    assert [c.conformant for c in operations.checks(db, dataset)] == [True, False]  # both kept, with the version
    assert {c.dataset_version for c in operations.checks(db, dataset)} == {1}


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig"])
def test_utf8_files_with_or_without_bom_are_read(db, providers, encoding):
    from catalogue import file_checks, operations

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    assert file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode(encoding)).conformant


def test_cells_are_checked_against_types_code_lists_and_required_values(db, providers):
    from catalogue import file_checks, operations

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    text = ("名称,名称_カナ,住所,緯度,経度,設置位置,小児対応設備の有無\n"
            "市役所,,熊本市,北緯32度,130.7,1階,たぶん\n")
    problems = file_checks.check_problems(file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "a.csv", text.encode()))
    assert {(p["row"], p["column"]) for p in problems} == {("2", "名称_カナ"), ("2", "緯度"), ("2", "小児対応設備の有無")}


def test_the_ten_standard_kinds_ship_as_table_schemas():
    from frictionless import Schema

    from catalogue import standards

    titles = {k.title_ja for k in standards.kinds().values()}
    assert {"指定緊急避難場所一覧", "AED設置箇所一覧", "公共施設一覧", "公衆無線LANアクセスポイント一覧", "公衆トイレ一覧",
            "子育て施設一覧", "観光施設一覧", "医療機関一覧", "消防水利施設一覧", "文化財一覧"} <= titles
    for kind in standards.kinds().values():
        descriptor = {k: v for k, v in kind.descriptor.items() if k != "x-renkei"}
        assert not list(Schema.metadata_validate(descriptor)), kind.code
        assert kind.required, kind.code


def test_the_workflow_draft_submitted_published_withdrawn_with_review_and_refusal(db, operator, providers):
    from catalogue import file_checks, operations

    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    with pytest.raises(Conflict) as refused:  # a standard kind must conform before it is submitted
        operations.move(db, KUMAMOTO_ADMIN, dataset.uid, "submit")
    assert any("準拠" in p["message_ja"] for p in refused.value.problems)
    file_checks.check_file(db, KUMAMOTO_ADMIN, dataset.uid, "aed.csv", AED_GOOD.encode())
    operations.move(db, KUMAMOTO_ADMIN, dataset.uid, "submit")
    with pytest.raises(NotPermitted):
        operations.move(db, KUMAMOTO_ADMIN, dataset.uid, "publish")
    with pytest.raises(Invalid):
        operations.move(db, operator, dataset.uid, "refuse")  # a refusal needs its reason
    operations.move(db, operator, dataset.uid, "refuse", "連絡先の電話番号を追加してください")
    assert dataset.status.value == "draft" and dataset.review_reason.startswith("連絡先")
    operations.move(db, KUMAMOTO_ADMIN, dataset.uid, "submit")
    operations.move(db, operator, dataset.uid, "publish")
    assert dataset.status.value == "published" and dataset.published_at is not None
    operations.move(db, KUMAMOTO_ADMIN, dataset.uid, "withdraw", "施設の統廃合のため")
    assert dataset.status.value == "withdrawn"
    db.commit()
    actions = db.scalars(sa.select(AuditRecord.action).where(AuditRecord.target_id == dataset.uid)
                         .order_by(AuditRecord.id)).all()
    assert actions == ["dataset.register", "dataset.check", "dataset.submit", "dataset.refuse", "dataset.submit",
                       "dataset.publish", "dataset.withdraw"]
    kinds = db.scalars(sa.select(Notification.kind).where(Notification.recipients == "aed@example.jp")).all()
    assert kinds == ["dataset.submit", "dataset.refuse", "dataset.submit", "dataset.publish", "dataset.withdraw"]


def test_an_admin_manages_only_their_own_municipalitys_datasets(db, providers):
    from catalogue import operations

    with pytest.raises(NotPermitted):
        operations.register(db, YATSUSHIRO_ADMIN, draft())
    dataset = operations.register(db, KUMAMOTO_ADMIN, draft())
    with pytest.raises(NotFound):
        operations.get_dataset(db, YATSUSHIRO_ADMIN, dataset.uid)
    assert operations.find_dataset(db, dataset.uid) is dataset  # the stable id, for other packages
    assert operations.find_dataset(db, dataset.name) is dataset


def test_a_draft_with_problems_lists_each_beside_its_field_and_saves_nothing(db, providers):
    from catalogue import operations
    from catalogue.models import Dataset

    with pytest.raises(Invalid) as refused:
        operations.register(db, KUMAMOTO_ADMIN, draft(title_ja="", licence_code="GPL", contact_email="nope",
                                                      access="named"))
    assert {p["field"] for p in refused.value.problems} == {"title_ja", "licence_code", "contact_email", "grantees"}
    assert db.scalar(sa.select(sa.func.count(Dataset.id))) == 0


def test_a_distributions_texts_must_be_single_lines_that_can_be_stored(db, providers):
    """A control character (NUL cannot be stored on PostgreSQL) or a line break in a distribution's
    address, format, media type or title is refused by field, as in the dataset's own texts."""
    from catalogue import operations
    from catalogue.models import Dataset
    from catalogue.operations import DistributionDraft

    with pytest.raises(Invalid) as refused:
        operations.register(db, KUMAMOTO_ADMIN, draft(distributions=(
            DistributionDraft(url="https://data.example.jp/a\x01.csv", format="CSV\x00", media_type="text/\tcsv",
                              title="全件\n2024"),)))
    assert {p["field"] for p in refused.value.problems} == {
        "distributions.0.url", "distributions.0.format", "distributions.0.media_type", "distributions.0.title"}
    assert db.scalar(sa.select(sa.func.count(Dataset.id))) == 0


def test_the_demo_sample_imports_33_datasets_through_the_import(sample_catalogue, db):
    from catalogue.models import Dataset

    assert len(sample_catalogue) == 33
    assert all(d.description.startswith("【サンプル】") for d in sample_catalogue)
    assert db.scalar(sa.select(sa.func.count(Dataset.id)).where(Dataset.status == "published")) == 33
    assert db.scalar(sa.select(AuditRecord.action).where(AuditRecord.action == "dataset.import")) == "dataset.import"


def test_an_import_with_a_bad_row_writes_nothing_and_names_the_lines(db, operator, providers):
    from catalogue.importing import ImportRejected, import_datasets
    from catalogue.models import Dataset

    text = ("提供者コード,タイトル,分野,ライセンス,更新頻度,最終更新日\n"
            "431001,駐輪場一覧,交通,CC-BY-4.0,毎年,2026-04-01\n"
            "999999,橋梁,インフラ,ひみつ,毎秒,昨日\n")
    with pytest.raises(ImportRejected) as refused:
        import_datasets(db, operator, text.encode("cp932"))
    fields = [p["field"] for p in refused.value.problems]
    assert set(fields) == {"line 3"} and len(fields) == 4  # licence, frequency, date, provider
    assert db.scalar(sa.select(sa.func.count(Dataset.id))) == 0


def test_coverage_cells_and_reminders_once_per_period(db, operator, providers):
    import datetime as dt

    from catalogue import coverage, file_checks, operations

    today = dt.date(2026, 11, 23)  # a fixed day: the rule is about days since the last update
    fresh = operations.register(db, operator, draft(last_updated_on=dt.date(2026, 11, 1)))  # monthly, 22 days old
    file_checks.check_file(db, operator, fresh.uid, "aed.csv", AED_GOOD.encode())
    stale = operations.register(db, operator, draft(provider_code="432024", standard_kind="public_toilet",
                                                    last_updated_on=dt.date(2026, 9, 30), contact_email="wc@example.jp"))
    bad = operations.register(db, operator, draft(provider_code="430005", frequency="irregular", contact_email="x@example.jp"))
    file_checks.check_file(db, operator, bad.uid, "aed.csv", AED_BAD.encode())
    for dataset in (fresh, stale, bad):
        dataset.status = "published"
    db.flush()
    rows = {row.code: row.cells for row in coverage.coverage(db, operator, today=today)}
    assert rows["431001"]["aed"] == "conformant" and rows["431001"]["public_toilet"] == "missing"
    assert rows["432024"]["public_toilet"] == "overdue"  # monthly, 54 days since its last update
    assert rows["430005"]["aed"] == "not_conformant"
    page, total = coverage.coverage(db, operator, today=today, state="overdue", page=1)
    assert total == 1 and [r.code for r in page] == ["432024"]
    assert coverage.remind_overdue(db, operator, today=today) == 1
    assert coverage.remind_overdue(db, operator, today=today + dt.timedelta(days=1)) == 0  # once per period
    reminder = db.scalar(sa.select(Notification).where(Notification.kind == "dataset.overdue"))
    assert reminder.recipients == "wc@example.jp" and "更新をお願いします" in reminder.subject
    # 35 days on: the toilets again (their next period), and 熊本市's AED list, overdue by then
    assert coverage.remind_overdue(db, operator, today=today + dt.timedelta(days=35)) == 2


def test_a_filter_on_one_kind_pages_the_same_rows_as_the_whole_matrix(db, operator, providers, tenant_factory):
    """The paged matrix filtered on one kind's state reads fewer rows (that kind's, then the page's): for every
    kind, state and page size it shows the same municipalities, cells and count as the whole matrix filtered."""
    import datetime as dt

    from catalogue import coverage, file_checks, operations, standards

    for code in ("432113", "432041", "432059"):
        tenant_factory(code)
    today = dt.date(2026, 11, 23)
    made = [("431001", "aed", dt.date(2026, 11, 1), AED_GOOD), ("432024", "aed", dt.date(2026, 9, 1), AED_GOOD),
            ("430005", "aed", dt.date(2026, 11, 20), AED_BAD), ("432113", "public_toilet", dt.date(2026, 9, 1), None),
            ("432041", "aed", dt.date(2026, 11, 15), None), ("432041", "public_toilet", dt.date(2026, 11, 15), AED_BAD)]
    for n, (code, kind, last, csv) in enumerate(made):
        dataset = operations.register(db, operator, draft(provider_code=code, standard_kind=kind, last_updated_on=last,
                                                          title_ja=f"データ{n}", contact_email=f"d{n}@example.jp"))
        if csv is not None:
            file_checks.check_file(db, operator, dataset.uid, "f.csv", csv.encode())
        dataset.status = "published"
    db.flush()
    whole = coverage.coverage(db, operator, today=today)
    seen_states = set()
    for kind in standards.kinds():
        for state in ("conformant", "not_conformant", "overdue", "missing"):
            expected = [(r.code, r.cells) for r in whole if r.cells[kind] == state]
            seen_states.update(state for _code, cells in expected for _k in [kind] if cells[kind] == state)
            for per_page in (1, 2, 50):
                pages = [coverage.coverage(db, operator, today=today, kind=kind, state=state, page=p, per_page=per_page)
                         for p in range(1, len(expected) // per_page + 2)]
                assert all(total == len(expected) for _rows, total in pages), (kind, state)
                assert [(r.code, r.cells) for rows, _total in pages for r in rows] == expected, (kind, state, per_page)
    assert seen_states == {"conformant", "not_conformant", "overdue", "missing"}  # every state was compared

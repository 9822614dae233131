"""The annual report (年度報告書): a fiscal year in one A4 PDF and one workbook, from the records.

The worked year is test_grants' FY2025 (12,000,000 yen of costs, a 1/2 grant on the running cost:
5,000,000 yen funded, 7,000,000 shared; 熊本市 1,793,750, 八代市 1,137,500, 人吉市 568,750, the prefecture
3,500,000), with 熊本市 paying its share. Every figure the report shows is compared with what the
ledger's and the statements' own functions give, never with a number copied from the report's code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from billing import annual_report, grants, statements, year_close
from billing.schemas import GrantCreate
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import NotPermitted

from .conftest import pay_from_bank
from .test_grants import _approve, _year_with_costs
from .test_statement_documents import pdf_page_size, pdf_text
from catalogue.conformance import conformance_state
from tests.usage.test_usage_by_dataset import october, register  # noqa: F401  (fixtures: a month of usage by dataset)

AUDITOR = Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))
KUMAMOTO_ADMIN = Actor(issuer="urn:test", subject="kumamoto-admin", name="熊本市 管理者",
                       roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))


@pytest.fixture
def fy2025(db, finance, kumamoto, adopted_policy):
    """FY2025 posted with its grant; 熊本市 has paid its share."""
    _year_with_costs(db, finance)
    grants.create_grant(db, finance, GrantCreate.model_validate({
        "fiscal_year": 2025, "name": "新しい地方経済・生活環境創生交付金", "grantor": "内閣府", "rate": "1/2",
        "categories": ["run"], "decided_amount": 6_000_000, "decided_on": "2025-06-01"}))
    _approve(db, finance)
    pay_from_bank(db, finance, "431001", 2025, 1_793_750, dt.date(2026, 5, 20), "ｸﾏﾓﾄｼ")
    db.commit()
    return 2025


def _sheet_rows(sheet) -> list[list]:
    return [[cell.value for cell in row] for row in sheet.iter_rows(min_row=4)]


def _kind_labels(db) -> dict[str, str]:
    """Every tenant's kind, in Japanese, by code (read from the register, not from the report)."""
    from tenancy.registry.models import Tenant, TenantKind

    return {tenant.code: TenantKind(tenant.kind).ja for tenant in db.scalars(sa.select(Tenant))}


def _section_lines(text: str, title: str) -> list[str]:
    """The PDF text's lines from the section titled ``title`` to the next blank-line-separated title."""
    lines = text.splitlines()
    start = next(index for index, line in enumerate(lines) if line.strip() == title)
    end = next((index for index in range(start + 2, len(lines) - 1) if not lines[index].strip()
                and lines[index + 1].strip() and not lines[index + 1].startswith(" ")), len(lines))
    return lines[start:end]


def _line_of(lines: list[str], label: str) -> str:
    return next(line for line in lines if line.split() and line.split()[0] == label)


def test_the_pdf_is_a4_with_the_era_year_and_the_burden_by_kind_of_municipality(db, finance, fy2025, tmp_path):
    """The PDF sums the 負担金 of the municipalities by kind (the workbook lists each, test_the_workbook_...):
    each kind's charge, payments, balance and how many still owe, as the statements give them."""
    summary = statements.build_summary(db, finance, 2025)
    kinds = _kind_labels(db)
    pdf = annual_report.generate(db, finance, 2025, "pdf")
    assert pdf.startswith(b"%PDF")
    assert "(A4)" in pdf_page_size(pdf, tmp_path)
    text = pdf_text(pdf, tmp_path)
    assert "令和7年度 連携基盤共同利用事業 年度報告書" in text
    burdens = _section_lines(text, "負担金（種別ごと）")
    assert len({kinds[row.tenant_code] for row in summary.rows}) > 1  # the year's tenants are of several kinds
    for kind in {kinds[row.tenant_code] for row in summary.rows}:
        rows = [row for row in summary.rows if kinds[row.tenant_code] == kind]
        line = _line_of(burdens, kind)
        assert line.split()[1:] == [f"{len(rows):,}", f"{sum(r.charged for r in rows):,}円",
                                    f"{sum(r.paid for r in rows):,}円", f"{sum(r.balance for r in rows):,}円",
                                    f"{sum(1 for r in rows if r.balance > 0):,}"], line
    assert _line_of(burdens, "合計").split()[1:5] == [f"{len(summary.rows):,}", f"{summary.charged:,}円",
                                                    f"{summary.paid:,}円", f"{summary.balance:,}円"]
    assert "「負担金（団体別）」シート" in "".join(burdens)
    assert not any(row.tenant_code in line for row in summary.rows for line in burdens)  # no municipality's own row
    moves = "\n".join(_section_lines(text, "年度中の参加・脱退"))
    assert "人吉市" in moves and "令和7年10月15日" in moves  # joined during the year, on the day it was activated
    assert "障害の台帳" in text and "no incident register yet" not in text


def test_a_long_list_of_the_years_events_is_counted_in_the_pdf_and_listed_in_the_workbook(db, finance, fy2025,
                                                                                          monkeypatch):
    monkeypatch.setattr(annual_report, "PRINTED_ROWS", 0)
    report = annual_report.build_annual_report(db, finance, 2025)
    moved = [p for p in report.participants if p.joined_on or p.left_on]
    printed = {section.title: section for section in annual_report.printed_sections(report)}["年度中の参加・脱退"]
    assert printed.rows == () and printed.empty == f"{len(moved):,} 件。一覧は xlsx 版の「参加団体」シートにあります。"
    sheet = _sheet_rows(load_workbook(io.BytesIO(annual_report.to_xlsx(report)))["参加団体"])
    assert {row[1] for row in sheet if row[4] or row[5]} == {p.name for p in moved} == {"人吉市"}


def test_the_workbook_has_the_ledgers_totals(db, finance, fy2025):
    book = load_workbook(io.BytesIO(annual_report.generate(db, finance, 2025, "xlsx")))
    accounts = year_close.accounts_of_year(db, finance, 2025)
    summary = statements.build_summary(db, finance, 2025)
    funding = grants.year_funding(db, finance, 2025)
    assert book["収支決算"]["A1"].value == "令和7年度 連携基盤共同利用事業 年度報告書　収支決算"
    closing = _sheet_rows(book["収支決算"])
    for row in year_close.accounts_rows(accounts)[1:]:
        assert list(row) == closing[[r[:2] for r in closing].index(row[:2])][:3]
    burdens = {row[0]: row for row in _sheet_rows(book["負担金（団体別）"])}
    for row in summary.rows:
        assert burdens[row.tenant_code][3:6] == [row.charged, row.paid, row.balance]
    assert burdens["合計"][3:6] == [summary.charged, summary.paid, summary.balance]
    assert summary.charged == accounts.revenue_total - dict(accounts.revenue)["交付金収入"]
    grant_rows = _sheet_rows(book["交付金"])
    assert grant_rows[0][0] == "新しい地方経済・生活環境創生交付金" and grant_rows[-1][-1] == funding.grant_total
    assert book["収支決算"]["C4"].number_format == statements.YEN_FORMAT
    for sheet in book.worksheets:  # each sheet printed on A4 one page wide, in the Japanese Gothic of the PDF
        assert int(sheet.page_setup.paperSize) == 9 and sheet.page_setup.fitToWidth == 1
        assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet["A1"].font.name == statements.SHEET_FONT


def test_generating_is_audited_with_the_files_hash(db, finance, fy2025):
    data = annual_report.generate(db, finance, 2025, "xlsx")
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "report.annual.generate")).one()
    after = json.loads(record.after)
    assert (record.actor_subject, record.target_id) == ("finance-1", "2025")
    assert after["sha256"] == hashlib.sha256(data).hexdigest() and after["format"] == "xlsx"


def test_the_auditor_reads_it_and_a_municipality_may_not(db, fy2025):
    assert annual_report.build_annual_report(db, AUDITOR, 2025).municipal_burden == 3_500_000
    with pytest.raises(NotPermitted):
        annual_report.generate(db, KUMAMOTO_ADMIN, 2025, "pdf")


def test_datasets_council_and_incidents_of_the_year(db, operator, finance, resolution):
    """A published dataset with its conformance, the council's resolution of its year, an identity incident
    and a platform failure of the incident register, by day."""
    from catalogue import file_checks, operations as datasets
    from tenancy.identity.models import IdentityIncident
    from tests.datasets.conftest import KUMAMOTO_ADMIN as DATASET_ADMIN, draft
    from tests.datasets.test_register import AED_BAD

    dataset = datasets.register(db, DATASET_ADMIN, draft())
    file_checks.check_file(db, DATASET_ADMIN, dataset.uid, "aed.csv", AED_BAD.encode("cp932"))
    dataset.status, dataset.published_at = "published", dt.datetime.now(dt.timezone.utc)  # as the review leaves it
    db.add(IdentityIncident(operation="tenant.suspend", tenant_code="431001", username="yamada", step="enable",
                            error="Keycloak unreachable"))
    from service.incidents import operations as incidents

    incidents.open_incident(db, operator, incidents.IncidentDraft(
        title="カタログの応答停止", detected_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5),
        tenant_codes=["431001", "432024"]))
    db.commit()
    year = resolution.fiscal_year
    report = annual_report.build_annual_report(db, operator, year)
    [line] = report.datasets
    assert line.conformance == conformance_state(dataset).verdict_label[0] and line.conformance.startswith("不適合")
    # the PDF counts the datasets by standard kind (providers, published, 準拠, 不適合, 未確認); the workbook lists each
    from catalogue import standards

    printed = {section.title: section for section in annual_report.printed_sections(report)}
    assert "データセット" not in printed
    kind = standards.kind_of(dataset.standard_kind).title_ja
    assert printed["データセット（標準データセット別）"].rows == ((kind, 1, 1, 0, 1, 0), ("合計", 1, 1, 0, 1, 0))
    assert [d.label_ja for d in report.decisions] == [resolution.label_ja]
    book = load_workbook(io.BytesIO(annual_report.to_xlsx(report)))
    assert _sheet_rows(book["協議会の議決"])[0][:2] == [resolution.label_ja, "定例議案"]
    rows = sorted(row[1:] for row in _sheet_rows(book["障害・不整合"]))
    assert rows == [["認証サーバーの不整合：利用停止（アカウントの無効化）", "熊本市", "未解消"],
                    ["障害：カタログの応答停止", "熊本市、八代市", "対応中"]]
    assert "障害の台帳" in book["障害・不整合"]["A2"].value


def test_the_years_offered_are_those_with_records(db, finance, fy2025):
    years = annual_report.report_years(db, finance)
    assert 2025 in years and years == sorted(years, reverse=True)


def test_the_command_line_writes_both_files_and_records_each(app, db, fy2025, tmp_path):
    runner = app.test_cli_runner()
    pdf, xlsx = tmp_path / "report.pdf", tmp_path / "report.xlsx"
    result = runner.invoke(args=["report", "annual", "--year", "2025", "--pdf", str(pdf), "--xlsx", str(xlsx),
                                 "--as", "tanaka"])
    assert result.exit_code == 0, result.output
    assert pdf.read_bytes().startswith(b"%PDF") and load_workbook(xlsx)["概要"]["A1"].value.startswith("令和7年度")
    db.expire_all()
    hashes = {json.loads(record.after)["format"]: json.loads(record.after)["sha256"] for record in db.scalars(
        sa.select(AuditRecord).where(AuditRecord.action == "report.annual.generate"))}
    assert hashes == {"pdf": hashlib.sha256(pdf.read_bytes()).hexdigest(),
                      "xlsx": hashlib.sha256(xlsx.read_bytes()).hexdigest()}
    refused = runner.invoke(args=["report", "annual", "--year", "2025", "--pdf", str(pdf), "--as", "sato",
                                  "--role", "municipal-staff"])
    assert refused.exit_code != 0 and "年度報告書の作成" in refused.output


def test_the_page_lists_the_years_with_both_downloads(app, db, fy2025):
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, ["auditor"])
    page = client.get("/admin/annual-reports/").get_data(as_text=True)
    assert "年度報告書" in page and "令和7年度" in page and "/admin/annual-reports/2025.pdf" in page
    download = client.get("/admin/annual-reports/2025.xlsx")
    assert download.status_code == 200 and "attachment" in download.headers["Content-Disposition"]
    summary = statements.build_summary(db, AUDITOR, 2025)
    burdens = {row[0]: row for row in _sheet_rows(load_workbook(io.BytesIO(download.get_data()))["負担金（団体別）"])}
    assert burdens["合計"][3] == summary.charged
    assert client.get("/admin/annual-reports/2025.doc").status_code == 404
    municipal = app.test_client()
    sign_in(municipal, ["municipal-admin"], ["431001"])
    assert municipal.get("/admin/annual-reports/").status_code == 403
    assert municipal.get("/admin/annual-reports/2025.pdf").status_code == 403


def test_members_who_joined_and_left_during_the_year(db, operator, directory, tenant_factory):
    """An organisation approved (its first admin invited in Keycloak) and one that left after being a
    member: both in the year's report; an applicant who withdrew was never a member and is not."""
    import uuid

    from core.calendar import fiscal_year_of, today_jst
    from core.codes import corporate_check_digit
    from tenancy.identity.operations import Invitation
    from tenancy.members import operations as members
    from tenancy.members.models import MemberStatus, Organisation

    tenant_factory("430005")  # the home prefecture the consortium's screening counts

    def number() -> str:
        base = f"{uuid.uuid4().int % 10**12:012d}"
        return f"{corporate_check_digit(base)}{base}"

    def applied(name: str) -> str:
        made = number()
        members.apply(db, members.Application(made, name, "company", "熊本県", "代表 太郎", "担当 花子",
                                              f"{made}@example.jp"), confirm_url=lambda token: f"/join/confirm/{token}")
        org = db.scalar(sa.select(Organisation).where(Organisation.corporate_number == made))
        org.status, org.email_token_hash = MemberStatus.applied, None
        return made

    joined, left, never = applied("年度報告データ株式会社"), applied("退会予定株式会社"), applied("申請取下げ株式会社")
    for document in ("pledge", "profile"):
        members.record_document(db, operator, joined, document, today_jst())
    for item in members.screening_items(db, operator):
        members.check_item(db, operator, joined, item.id, True)
    username = f"report-{uuid.uuid4().hex[:8]}"
    members.approve(db, operator, directory, joined, "審査基準を満たすため",
                    Invitation(username, f"{username}@example.jp", "花子", "担当", frozenset()))
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == left)).status = MemberStatus.approved
    members.withdraw(db, operator, left, "事業の終了のため")
    members.withdraw(db, operator, never, "申請を取り下げます")
    db.commit()
    report = annual_report.build_annual_report(db, operator, fiscal_year_of(today_jst()))
    assert [(move.name, move.joined) for move in report.member_moves] == [
        ("年度報告データ株式会社", True), ("退会予定株式会社", False)]
    rows = _sheet_rows(load_workbook(io.BytesIO(annual_report.to_xlsx(report)))["会員の入退会"])
    assert [row[:3] for row in rows] == [["入会", joined, "年度報告データ株式会社"], ["退会", left, "退会予定株式会社"]]


def test_usage_of_the_year_by_tenant_and_by_dataset(db, operator, october):
    """October's usage (tests/usage/test_usage_by_dataset) and one more month: the year's sums."""
    from usage import metering
    from usage.reports import dataset_usage
    from tests.usage.test_usage_by_dataset import NOW, OCT_2026, used

    metering.ingest(db, operator, [used("431001", october["aed"], 40, OCT_2026 - dt.timedelta(days=30))], now=NOW)
    db.commit()
    report = annual_report.build_annual_report(db, operator, 2026)
    assert {code: calls for code, _, calls in report.calls_by_tenant} == metering.usage_totals(db, "api_calls", 2026)
    october_only = {use.name: use.calls for use in dataset_usage(db, operator, dt.date(2026, 10, 1)).top}
    by_dataset = {name: calls for name, _, _, calls in report.calls_by_dataset}
    assert by_dataset[october["aed"]] == october_only[october["aed"]] + 40
    assert by_dataset[october["shelters"]] == october_only[october["shelters"]]
    book = load_workbook(io.BytesIO(annual_report.to_xlsx(report)))
    rows = _sheet_rows(book["利用実績（データセット別）"])
    assert rows[0][0] == october["aed"] and rows[-1] == ["合計", None, None, sum(by_dataset.values())]
    # the PDF: the year's calls by kind of tenant, and the most used tenants and datasets
    totals, kinds = metering.usage_totals(db, "api_calls", 2026), _kind_labels(db)
    by_kind: dict[str, list[int]] = {}
    for code, calls in totals.items():
        by_kind.setdefault(kinds[code], []).append(calls)
    printed = {section.title: section for section in annual_report.printed_sections(report)}
    assert {row[0]: row[1:] for row in printed["利用実績（種別ごと）"].rows} == {
        **{kind: (len(calls), sum(calls)) for kind, calls in by_kind.items()}, "合計": (len(totals), sum(totals.values()))}
    top = printed[f"利用実績（上位{annual_report.TOP}団体）"].rows
    assert [calls for *_, calls in top] == sorted(totals.values(), reverse=True)[:annual_report.TOP]
    assert printed[f"利用実績（上位{annual_report.TOP}データセット）"].rows[0][0] == october["aed"]
    assert _sheet_rows(book["利用実績（種別ごと）"]) == [list(row) for row in printed["利用実績（種別ごと）"].rows]


def test_the_pdf_counts_the_datasets_as_the_workbook_lists_them(db, operator, kumamoto):
    """The PDF's report counts the year's datasets in the database without listing them (52,000 at national size);
    its counts are the workbook's, which counts its list: by standard kind, with a verdict each, and those of no kind."""
    from catalogue import file_checks, operations as datasets, standards
    from core.calendar import fiscal_year_of, today_jst
    from tests.datasets.conftest import KUMAMOTO_ADMIN as DATASET_ADMIN, draft
    from tests.datasets.test_register import AED_BAD

    checked = datasets.register(db, DATASET_ADMIN, draft(title_ja="AED設置箇所一覧（本庁）"))
    file_checks.check_file(db, DATASET_ADMIN, checked.uid, "aed.csv", AED_BAD.encode("cp932"))
    unchecked = datasets.register(db, DATASET_ADMIN, draft(title_ja="AED設置箇所一覧（支所）"))
    other = datasets.register(db, DATASET_ADMIN, draft(title_ja="市の木", standard_kind=None))
    draft_only = datasets.register(db, DATASET_ADMIN, draft(title_ja="下書きのまま"))
    for dataset in (checked, unchecked, other):
        dataset.status, dataset.published_at = "published", dt.datetime.now(dt.timezone.utc)  # as the review leaves it
    db.commit()
    year = fiscal_year_of(today_jst())

    printed = {section.title: section for section in annual_report.printed_sections(
        annual_report.build_annual_report(db, operator, year, dataset_list=False))}
    listed = annual_report.build_annual_report(db, operator, year)
    in_workbook = {section.title: section for section in annual_report.sections(listed)}
    kind = standards.kind_of("aed").title_ja
    assert printed["データセット（標準データセット別）"].rows == in_workbook["データセット（標準データセット別）"].rows == (
        (kind, 1, 2, 0, 1, 1), ("標準データセット以外", 1, 1, None, None, None), ("合計", 1, 3, 0, 1, 1))
    assert printed["概要"].rows == in_workbook["概要"].rows
    assert dict(printed["概要"].rows)["公開データセット（年度末まで）"] == 3
    assert sorted(row[2] for row in in_workbook["データセット"].rows) == sorted(
        d.title_ja for d in (checked, unchecked, other)) and draft_only.title_ja not in str(in_workbook["データセット"].rows)
    with pytest.raises(ValueError):
        annual_report.sections(annual_report.build_annual_report(db, operator, year, dataset_list=False))

"""Statements as documents an office sends (納入通知書): numbered, addressed, one A4 page, where to pay."""

from __future__ import annotations

import datetime as dt
import io
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from billing import allocation_runs, documents, ledger, statements
from billing.ledger_errors import BillingConflict, BillingNotFound, InvalidBillingData
from core.audit import AuditRecord
from core.errors import Conflict
from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.billing.conftest import colleague


def poppler(tool: str) -> str:
    path = shutil.which(tool)
    if path is None:
        pytest.fail(f"{tool} is missing: install Debian's poppler-utils (apt-get install poppler-utils)")
    return path


def pdf_pages(pdf: bytes, tmp_path: Path) -> list[Path]:
    """The PDF as an office would look at it: one PNG per page, rendered by pdftoppm."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    source = tmp_path / "letter.pdf"
    source.write_bytes(pdf)
    subprocess.run([poppler("pdftoppm"), "-r", "40", "-png", str(source), str(tmp_path / "page")], check=True)
    return sorted(tmp_path.glob("page*.png"))


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "text.pdf"
    source.write_bytes(pdf)
    return subprocess.run([poppler("pdftotext"), "-layout", str(source), "-"], check=True, capture_output=True,
                          text=True).stdout


def pdf_page_size(pdf: bytes, tmp_path: Path) -> str:
    source = tmp_path / "info.pdf"
    source.write_bytes(pdf)
    info = subprocess.run([poppler("pdfinfo"), str(source)], check=True, capture_output=True, text=True).stdout
    return next(line for line in info.splitlines() if line.startswith("Page size"))


@pytest.fixture
def settings(db, operator):
    saved = update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    db.commit()
    return saved


@pytest.mark.parametrize(("amount", "words"), [
    (3_264_053, "金参百弐拾六万四千五拾参円"),
    (3_075_000, "金参百七万五千円"),
    (1_000_000, "金壱百万円"),
    (20_305, "金弐万参百五円"),
    (10, "金壱拾円"),
    (1, "金壱円"),
    (0, "金零円"),
    (120_000_000, "金壱億弐千万円"),
])
def test_amounts_are_written_in_words_as_a_notice_writes_them(amount, words):
    assert documents.yen_in_words(amount) == words


def test_letters_are_addressed_to_the_head_of_the_municipality():
    assert documents.addressee("熊本市") == "熊本市長 様"
    assert documents.addressee("菊陽町") == "菊陽町長 様"
    assert documents.addressee("産山村") == "産山村長 様"


def test_issuing_numbers_each_municipality_once_and_never_the_prefecture(db, finance, posted_fy2025, settings):
    issued = documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    assert [(doc.tenant_code, doc.number) for doc in issued] == [
        ("431001", "デ戦第1号"), ("432024", "デ戦第2号"), ("432032", "デ戦第3号")]
    # the deadline: the settings' 30 days after the issue date
    assert {doc.due_on for doc in issued} == {dt.date(2025, 8, 31)}
    # issuing again numbers nothing new and keeps the numbers given
    assert documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 2)) == []
    found = documents.letter(db, finance, "431001", 2025)
    assert found.document.number == "デ戦第1号" and found.document.issued_on == dt.date(2025, 8, 1)
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.letters.issue")).one()
    assert "デ戦第3号" in record.after and record.actor_name == "県 財政担当"


def test_numbers_continue_across_runs_and_restart_with_the_issue_dates_fiscal_year(db, finance, posted_fy2025, settings):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    # the run is reversed and computed again: its letters are new letters with new numbers
    allocation_runs.reverse_run(db, finance, posted_fy2025.id, "人口の誤り", reversed_on=dt.date(2025, 8, 20))
    rerun = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), rerun.id)
    allocation_runs.approve_run(db, colleague(3), rerun.id, posted_on=dt.date(2025, 8, 21))
    again = documents.issue_documents(db, finance, rerun.id, issued_on=dt.date(2026, 4, 10), due_on=dt.date(2026, 5, 29))
    db.commit()
    # issued in FY2026 (April 2026): that year's numbering starts at 1
    assert [doc.number for doc in again] == ["デ戦第1号", "デ戦第2号", "デ戦第3号"]
    assert {doc.number_year for doc in again} == {2026}
    assert documents.letter(db, finance, "431001", 2025).document.due_on == dt.date(2026, 5, 29)


def test_a_deadline_before_the_issue_date_is_refused_beside_the_field(db, finance, posted_fy2025, settings):
    with pytest.raises(InvalidBillingData) as refused:
        documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1), due_on=dt.date(2025, 7, 31))
    assert refused.value.problems[0]["field"] == "due_on"
    assert "令和7年8月1日" in refused.value.problems[0]["message_ja"]


def test_only_a_posted_run_is_issued_and_only_with_the_issuer_set(db, finance, posted_fy2025, operator):
    with pytest.raises(Conflict) as unset:
        documents.issue_documents(db, finance, posted_fy2025.id)
    assert "県の設定" in unset.value.message_ja
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    allocation_runs.reverse_run(db, finance, posted_fy2025.id, "誤り", reversed_on=dt.date(2025, 8, 20))
    with pytest.raises(BillingConflict):
        documents.issue_documents(db, finance, posted_fy2025.id)


def test_a_letter_not_issued_yet_has_no_pdf_and_says_who_issues_it(db, finance, posted_fy2025, settings):
    with pytest.raises(BillingNotFound) as missing:
        documents.issued_letter(db, finance, "431001", 2025)
    assert "納入通知書を発行" in missing.value.message_ja


def test_the_pdf_is_one_a4_page_with_number_deadline_bank_tax_note_and_the_ledgers_figures(
        db, finance, posted_fy2025, settings, tmp_path):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1), due_on=dt.date(2025, 9, 30))
    db.commit()
    found = documents.issued_letter(db, finance, "431001", 2025)
    pdf = documents.letters_pdf(db, finance, [found])
    assert len(pdf_pages(pdf, tmp_path)) == 1
    assert pdf_page_size(pdf, tmp_path).endswith("(A4)")
    text = pdf_text(pdf, tmp_path)
    charged = ledger.tenant_balance(db, "431001")
    assert charged == 3_075_000
    for expected in ("熊本市長 様", "熊本県知事", "デ戦第1号", "令和7年8月1日", "納期限", "令和7年9月30日",
                     "肥後銀行 県庁支店 普通預金 0000000", "熊本県会計管理者", "消費税の課税対象外",
                     "金参百七万五千円", f"{charged:,}円", "1,200,000円", "1,875,000円", "均等割", "人口割",
                     "096-333-2153", "令和7年度 連携基盤共同利用負担金 納入通知書"):
        assert expected in text, expected
    assert "再発行" not in text


def test_a_reissue_keeps_the_number_and_says_so(db, finance, posted_fy2025, settings, tmp_path):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    reissued = documents.reissue_document(db, finance, "432024", 2025)
    db.commit()
    assert reissued.number == "デ戦第2号" and reissued.reissue_count == 1
    text = pdf_text(documents.letters_pdf(db, finance, [documents.issued_letter(db, finance, "432024", 2025)]), tmp_path)
    assert "再発行" in text and "デ戦第2号" in text
    # 八代市 has paid 1,000,000 of 1,950,000: the letter asks for what is left
    assert "金九拾五万円" in text and "950,000円" in text
    assert db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.letter.reissue")).one().tenant_code == "432024"


def test_the_batch_has_one_page_per_municipality(db, finance, posted_fy2025, settings, tmp_path):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    letters = documents.run_letters(db, finance, posted_fy2025.id)
    assert [found.statement.tenant_code for found in letters] == ["431001", "432024", "432032"]
    pdf = documents.letters_pdf(db, finance, letters)
    assert len(pdf_pages(pdf, tmp_path)) == 3
    text = pdf_text(pdf, tmp_path)
    assert all(name in text for name in ("熊本市長 様", "八代市長 様", "人吉市長 様"))


def test_a_municipality_reads_its_own_letter_only(db, finance, posted_fy2025, settings):
    from core.actor import Actor
    from core.errors import NotPermitted

    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    clerk = Actor(issuer="urn:test", subject="clerk", name="熊本市 職員", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({"431001"}))
    assert documents.issued_letter(db, clerk, "431001", 2025).document.number == "デ戦第1号"
    with pytest.raises(NotPermitted):
        documents.issued_letter(db, clerk, "432024", 2025)
    with pytest.raises(NotPermitted):
        documents.run_letters(db, clerk, posted_fy2025.id)
    with pytest.raises(NotPermitted):
        documents.issue_documents(db, clerk, posted_fy2025.id)


def test_the_excel_statement_carries_the_letter_and_prints_on_one_a4_page_wide(db, finance, posted_fy2025, settings):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1), due_on=dt.date(2025, 9, 30))
    db.commit()
    found = documents.letter(db, finance, "431001", 2025)
    sheet = load_workbook(io.BytesIO(statements.to_xlsx(found.statement, documents.letter_rows(found)))).active
    values = {row[0].value: row[1].value for row in sheet.iter_rows(min_col=1, max_col=2) if row[0].value}
    assert values["宛先"] == "熊本市長 様"
    assert values["文書番号"] == "デ戦第1号"
    assert values["納期限"] == "令和7年9月30日"
    assert "肥後銀行" in values["振込先（指定金融機関）"]
    assert "消費税の課税対象外" in values["備考"]
    assert int(sheet.page_setup.paperSize) == 9  # A4 in the sheet's paper codes
    assert sheet.page_setup.fitToWidth == 1 and sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.print_area
    fonts = {cell.font.name for row in sheet.iter_rows() for cell in row if cell.value is not None}
    assert len(fonts) == 1
    assert sheet["A3"].border.left.style == "thin"


def libreoffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        pytest.fail("LibreOffice is missing: install Debian's libreoffice-calc-nogui (apt-get install "
                    "libreoffice-calc-nogui); .ci/run installs it")
    return path


def test_the_excel_statement_printed_by_libreoffice_is_one_a4_page_with_the_letter(db, finance, posted_fy2025,
                                                                                    settings, tmp_path):
    """As an office prints it: LibreOffice Calc opens the xlsx and prints it to PDF (its own page
    layout, not openpyxl's settings read back): one A4 page carrying the addressee, the amount, the
    deadline, the bank and the tax note."""
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1), due_on=dt.date(2025, 9, 30))
    db.commit()
    found = documents.letter(db, finance, "431001", 2025)
    workbook = tmp_path / "statement.xlsx"
    workbook.write_bytes(statements.to_xlsx(found.statement, documents.letter_rows(found)))
    profile = tmp_path / "profile"  # a profile of its own: no clash with another LibreOffice running
    subprocess.run([libreoffice(), f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(tmp_path), str(workbook)], check=True, capture_output=True, timeout=300)
    pdf = (tmp_path / "statement.pdf").read_bytes()
    assert len(pdf_pages(pdf, tmp_path / "pages")) == 1
    assert pdf_page_size(pdf, tmp_path).split(":")[1].strip().startswith("595")  # A4 portrait, 595 x 842 pt
    text = " ".join(pdf_text(pdf, tmp_path).split())
    for expected in ("熊本市長 様", "デ戦第1号", "令和7年9月30日", "肥後銀行", "消費税の課税対象外"):
        assert expected in text
    assert f"{found.statement.charged:,}" in text


def test_the_csv_statement_carries_the_letter(db, finance, posted_fy2025, settings):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    found = documents.letter(db, finance, "431001", 2025)
    text = statements.to_csv(found.statement, documents.letter_rows(found)).decode("utf-8-sig")
    assert "文書番号,デ戦第1号" in text and "納期限,令和7年8月31日" in text and "消費税の課税対象外" in text


def test_settings_are_audited_and_refused_in_words(db, operator, settings):
    with pytest.raises(Exception) as refused:
        PrefectureSettingsIn.model_validate({**KUMAMOTO_SETTINGS, "account_number": "12-34"})
    assert "account_number" in str(refused.value)
    changed = update_settings(db, operator, PrefectureSettingsIn.model_validate({**KUMAMOTO_SETTINGS, "payment_days": 45}))
    db.commit()
    assert changed.payment_days == 45
    records = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "settings.update")
                         .order_by(AuditRecord.seq)).all()
    assert len(records) == 2 and json.loads(records[-1].after) == {"payment_days": 45}

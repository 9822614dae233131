"""Letters as issued (issue 52, item 3): an issued letter is the file that was sent.

Issuing renders each letter once and keeps its bytes, whose SHA-256 the audit chain records; a download
a month later, after a payment, a change of the prefecture's settings and with the clock moved on, gives
that same file. Each letter says what it is: the 概算 納入通知書 says 概算 and that a 精算 follows; the
精算書 gives its estimate, actual and difference as one set of figures (熊本市 of test_settlement's year:
概算 1,793,750, 精算 2,050,000, difference 256,250; it paid 1,000,000 of its 概算, so it now pays
2,050,000 − 1,000,000 = 1,050,000, and that sum is never called the 追加納付額); every letter carries
「公印省略」 or the seal as the settings say. Estimates are issued only for a year not charged yet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
import sqlalchemy as sa

from billing import allocation_runs, documents, estimates, letter_files, operations
from billing.ledger_errors import BillingConflict
from billing.models import LetterFile
from billing.schemas import PaymentCreate
from core.audit import AuditRecord
from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.conftest import sign_in

from .test_settlement import _fix, _post, _provisional_year
from .test_statement_documents import pdf_text, settings  # noqa: F401  (settings: the issuer)


def _audited_files(db, action: str) -> dict:
    import json

    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq.desc())).first()
    after = record.after if isinstance(record.after, dict) else json.loads(record.after)
    return after["files_sha256"]


def test_a_letter_downloaded_a_month_later_is_the_file_sent(client, db, finance, posted_fy2025, settings, operator,
                                                            monkeypatch, tmp_path):
    run = posted_fy2025
    documents.issue_documents(db, finance, run.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    audited = _audited_files(db, "billing.letters.issue")
    kept = db.scalars(sa.select(LetterFile).where(LetterFile.tenant_code == "431001")).one()
    assert audited["431001"] == kept.sha256 == hashlib.sha256(kept.content).hexdigest()

    # a month on: 熊本市 paid, the office changed its bank branch and now prints the seal
    operations.record_payment(db, finance, PaymentCreate(tenant_code="431001", fiscal_year=2025, amount=3_075_000,
                                                         received_on=dt.date(2025, 8, 25), reference="振込"))
    update_settings(db, operator, PrefectureSettingsIn.model_validate(
        {**KUMAMOTO_SETTINGS, "bank_branch": "水前寺支店", "seal": "printed"}))
    db.commit()
    month_later = dt.date.today() + dt.timedelta(days=31)
    for module in ("billing.documents", "billing.statements"):
        monkeypatch.setattr(f"{module}.today_jst", lambda: month_later)

    sign_in(client, frozenset({"finance-officer"}), subject="finance-1", name="財政担当1")
    downloaded = client.get("/admin/billing/documents/431001/2025.pdf")
    assert downloaded.status_code == 200 and downloaded.mimetype == "application/pdf"
    assert hashlib.sha256(downloaded.data).hexdigest() == audited["431001"]
    text = pdf_text(downloaded.data, tmp_path)
    assert "県庁支店" in text and "水前寺支店" not in text and "公印省略" in text
    # what a new rendering would say now differs: the download is not one
    fresh = documents.render_letters([documents.issued_letter(db, finance, "431001", 2025)])
    assert hashlib.sha256(fresh).hexdigest() != audited["431001"]
    assert "水前寺支店" in pdf_text(fresh, tmp_path)
    # the batch binds the kept files, their pages as sent
    batch = client.get(f"/admin/billing/documents/runs/{run.id}.pdf")
    assert batch.status_code == 200 and "県庁支店" in pdf_text(batch.data, tmp_path)
    assert db.scalar(sa.select(sa.func.count()).select_from(LetterFile)) == 3  # nothing rendered again and kept


def test_a_reissue_is_kept_as_a_new_edition_and_audited(db, finance, posted_fy2025, settings):
    documents.issue_documents(db, finance, posted_fy2025.id, issued_on=dt.date(2025, 8, 1))
    first = letter_files.latest(db, "statement", documents.issued_letter(db, finance, "432024", 2025).document.id)
    first_sha = first.sha256
    documents.reissue_document(db, finance, "432024", 2025)
    db.commit()
    found = documents.issued_letter(db, finance, "432024", 2025)
    again = letter_files.latest(db, "statement", found.document.id)
    assert (first.edition, again.edition) == (0, 1) and again.sha256 != first_sha
    assert documents.letters_pdf(db, finance, [found]) == again.content
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.letter.reissue")).one()
    assert again.sha256 in str(record.after)


def test_the_provisional_letter_says_it_is_a_provisional_charge(db, finance, kumamoto, adopted_policy, settings, tmp_path):
    _, provisional = _provisional_year(db, finance)
    documents.issue_documents(db, finance, provisional.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    text = pdf_text(documents.letters_pdf(db, finance, [documents.issued_letter(db, finance, "431001", 2025)]), tmp_path)
    assert "令和7年度 連携基盤共同利用負担金 納入通知書（概算）" in text
    flat = "".join(text.split())  # pdftotext breaks a sentence where the page does
    assert "この額は概算です" in flat and "精算書でお知らせします" in flat
    assert "公印省略" in text and "1,793,750円" in text


def test_the_settlement_letter_gives_one_set_of_figures(db, finance, kumamoto, adopted_policy, settings, operator, tmp_path):
    grant, provisional = _provisional_year(db, finance)
    operations.record_payment(db, finance, PaymentCreate(tenant_code="431001", fiscal_year=2025, amount=1_000_000,
                                                         received_on=dt.date(2025, 8, 25), reference="振込"))
    _fix(db, finance, grant)
    settlement = _post(db, allocation_runs.create_settlement(db, finance, 2025), on=dt.date(2026, 5, 25))
    update_settings(db, operator, PrefectureSettingsIn.model_validate({**KUMAMOTO_SETTINGS, "seal": "printed"}))
    documents.issue_documents(db, finance, settlement.id, issued_on=dt.date(2026, 6, 1))
    db.commit()
    [found] = [found for found in documents.run_letters(db, finance, settlement.id)
               if found.statement.tenant_code == "431001"]
    text = pdf_text(documents.letters_pdf(db, finance, [found]), tmp_path)
    assert "令和7年度 連携基盤共同利用負担金 精算書" in text
    for label, amount in (("概算額", "1,793,750円"), ("精算額", "2,050,000円"), ("精算差額", "256,250円"),
                          ("納入済額", "1,000,000円"), ("今回の納入額", "1,050,000円")):
        assert re.search(rf"{label}.*{amount}", text), label
    # the difference is one figure: whatever says 追加納付 or 差額 says 256,250 yen, and only that
    differences = [line for line in text.splitlines() if "追加納付" in line or "差額" in line]
    assert differences and all("256,250円" in line for line in differences), differences
    assert "納入金額" in text and "金壱百五万円" in text  # the sum now due, in words, named as what it is
    flat = "".join(text.split())  # the seal's words wrap inside its square
    assert "熊本県知事之印" in flat and "公印省略" not in flat


def test_a_settlement_that_changes_nothing_for_a_payer_is_still_its_settlement(db, finance, kumamoto, adopted_policy,
                                                                             settings, tmp_path):
    grant, provisional = _provisional_year(db, finance)
    _fix(db, finance, grant, 5_000_000)  # fixed at what it funded: every difference is zero
    settlement = _post(db, allocation_runs.create_settlement(db, finance, 2025), on=dt.date(2026, 5, 25))
    documents.issue_documents(db, finance, settlement.id, issued_on=dt.date(2026, 6, 1))
    db.commit()
    [found] = [found for found in documents.run_letters(db, finance, settlement.id)
               if found.statement.tenant_code == "431001"]
    assert found.is_settlement
    text = pdf_text(documents.letters_pdf(db, finance, [found]), tmp_path)
    assert "精算書" in text and "納入通知書" not in text and re.search(r"精算差額.*0円", text)


def test_estimates_are_only_for_a_year_not_charged_yet(db, finance, posted_fy2025, settings):
    with pytest.raises(BillingConflict) as refused:
        estimates.issue_estimates(db, finance, 2025, billing_month="2025-06")
    assert "計上済み" in refused.value.message_ja

"""Finance's page of money received (/admin/billing/bank/), through the Flask test client: the bank's
全銀協 file imported, the twelve matching credits confirmed at once, the odd one paid by picking its
statement by name; a file imported again refused beside the file; the manual payment asked with a reason
and approved by another officer."""

from __future__ import annotations

import io
import re

import sqlalchemy as sa

from billing import ledger
from billing.bank_models import BankFile, BankLine, BankPayment
from billing.models import JournalEntry
from tests.conftest import sign_in

from .test_bank_reconciliation import MUNICIPALITIES, ODD, bank_file, thirteen  # noqa: F401
from .test_finance_views import count, csrf, field_error
from .test_statement_documents import settings  # noqa: F401


def as_finance(client, number: int = 1) -> str:
    sign_in(client, ["finance-officer"], subject=f"finance-{number}", name=f"財政担当{number}")
    return csrf(client.get("/admin/billing/bank/").get_data(as_text=True))


def upload(client, token: str, raw: bytes, name: str = "nyushukkin.txt"):
    return client.post("/admin/billing/bank/import", data={"csrf_token": token, "file": (io.BytesIO(raw), name)},
                       content_type="multipart/form-data")


def test_finance_imports_the_bank_file_and_confirms_the_credits(client, db, thirteen):  # noqa: F811
    raw = bank_file(db, thirteen)
    token = as_finance(client)

    imported = upload(client, token, raw)

    assert imported.status_code == 302
    page = client.get("/admin/billing/bank/").get_data(as_text=True)
    assert "入金 13 件を取り込みました。同じファイル内で重複した 1 行は取り込んでいません。" in page
    assert "7 行目（3 行目と同じ）" in page  # the repeated record, refused
    assert "一致した 12 件をまとめて確認する" in page
    # the odd credit's picker offers 阿蘇市's statement by name, not by a number
    odd_row = re.search(r"<tr>\s*<td>[^<]*</td>\s*<td[^>]*>[\d,]+円</td>\s*<td>ｱｿｼ</td>.*?</tr>", page, re.S).group(0)
    assert "阿蘇市 令和7年度 未収" in odd_row and "振込依頼人が一致" in odd_row

    done = client.post("/admin/billing/bank/confirm-matched", data={"csrf_token": token})

    assert done.status_code == 302 and count(db, BankPayment) == 12
    line = db.scalars(sa.select(BankLine).where(BankLine.payer == "ｱｿｼ")).one()
    picked = client.post(f"/admin/billing/bank/lines/{line.id}/confirm",
                         data={"csrf_token": token, f"line{line.id}-statement": f"{ODD}/2025"})
    assert picked.status_code == 302 and count(db, BankPayment) == 13
    assert ledger.tenant_balance(db, ODD, fiscal_year=2025) == 1_000


def test_the_same_file_again_is_refused_beside_the_file_and_writes_nothing(client, db, thirteen):  # noqa: F811
    raw = bank_file(db, thirteen)
    token = as_finance(client)
    upload(client, token, raw)
    before = (count(db, BankFile), count(db, BankLine), count(db, JournalEntry))

    again = upload(client, token, raw, "again.txt")

    assert again.status_code == 409
    assert "このファイルは取込済みです" in field_error(again.get_data(as_text=True), "file")
    assert (count(db, BankFile), count(db, BankLine), count(db, JournalEntry)) == before
    broken = upload(client, token, raw[:-30], "broken.txt")
    assert broken.status_code == 422 and "何も取り込んでいません" in broken.get_data(as_text=True)
    assert (count(db, BankFile), count(db, BankLine), count(db, JournalEntry)) == before


def test_a_manual_payment_is_asked_with_a_reason_and_approved_by_another(client, db, thirteen):  # noqa: F811
    token = as_finance(client)
    entries = count(db, JournalEntry)
    fields = {"csrf_token": token, "tenant_code": ODD, "fiscal_year": "2025", "amount": "10,000",
              "received_on": "2025-09-30", "reference": "窓口納付"}

    refused = client.post("/admin/billing/bank/manual", data={**fields, "reason": ""})

    assert refused.status_code == 422 and field_error(refused.get_data(as_text=True), "reason")
    assert 'value="窓口納付"' in refused.get_data(as_text=True)
    asked = client.post("/admin/billing/bank/manual", data={**fields, "reason": "窓口で現金により納付"})
    assert asked.status_code == 302 and count(db, JournalEntry) == entries  # asking alone posts nothing
    page = client.get("/admin/billing/bank/").get_data(as_text=True)
    request_id = re.search(r'/admin/billing/bank/manual/(\d+)/approve', page).group(1)
    client.post(f"/admin/billing/bank/manual/{request_id}/approve", data={"csrf_token": token})
    assert "承認できません" in client.get("/admin/billing/bank/").get_data(as_text=True)
    other = as_finance(client, 2)
    approved = client.post(f"/admin/billing/bank/manual/{request_id}/approve", data={"csrf_token": other})
    assert approved.status_code == 302 and count(db, JournalEntry) == entries + 1
    assert "阿蘇市 令和7年度" in client.get("/admin/billing/bank/").get_data(as_text=True)

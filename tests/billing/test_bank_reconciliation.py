"""Payments from the bank's files (issue 52 item 1): finance imports the bank's 全銀協 file, each credit is
matched to a statement (amount, payer in kana, the 文書番号 printed on the 納入通知書), finance confirms, and
``renkei check`` names a payment with no bank line behind it.

The worked example: 13 municipalities were sent their FY2025 letters; the bank's 入出金取引明細 holds 13
credits and one record repeated. Twelve pay their statements (熊本市 with its name spaced differently, in
half-width kana behind its 会計管理者; 天草市, whose kana name is not registered, by the letter's number in the
EDI field); 阿蘇市 paid an amount no statement asks for; the repeated record is refused.
"""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from billing import allocation_policies, allocation_runs, bank_files, bank_reconciliation as bank, documents, integrity, ledger, operations
from billing.bank_models import BankFile, BankLine, BankPayment, ManualPayment
from billing.ledger_errors import BillingConflict, FourEyesRefused, InvalidBillingData
from billing.schemas import ManualPaymentCreate
from pydantic import ValidationError
from core.audit import AuditRecord
from core.kana import normalise_kana, same_payer
from tests.billing.conftest import adopter, colleague, cost_data, policy_data

from .test_statement_documents import settings  # noqa: F401

# code, kana name as registered (None: not registered), payer as the bank writes it
MUNICIPALITIES = [
    ("431001", "クマモトシ", "ｸﾏﾓﾄ ｼ ｶｲｹｲｶﾝﾘｼﾔ"),  # spaced differently, with its 会計管理者
    ("432024", "ヤツシロシ", "ﾔﾂｼﾛｼ"),
    ("432032", "ヒトヨシシ", "ﾋﾄﾖｼｼ"),
    ("432041", "アラオシ", "ｱﾗｵｼ"),
    ("432059", "ミナマタシ", "ﾐﾅﾏﾀｼ"),
    ("432067", "タマナシ", "ﾀﾏﾅｼ"),
    ("432083", "ヤマガシ", "ﾔﾏｶﾞｼ"),
    ("432105", "キクチシ", "ｷｸﾁｼ"),
    ("432113", "ウトシ", "ｳﾄｼ"),
    ("432121", "カミアマクサシ", "ｶﾐｱﾏｸｻｼ"),
    ("432130", "ウキシ", "ｳｷｼ"),
    ("432156", None, "ｱﾏｸｻｼ ｶｲｹｲｶﾝﾘｼﾔ"),  # no kana registered: its letter's number in the EDI field
    ("432148", "アソシ", "ｱｿｼ"),  # pays 1,000 yen short: no statement asks for that amount
]
ODD = "432148"
BY_NUMBER = "432156"


def half(text: str, width: int) -> bytes:
    data = text.encode("cp932")
    assert len(data) <= width, text
    return data + b" " * (width - len(data))


def digits(value: int, width: int) -> bytes:
    return str(value).rjust(width, "0").encode()


def reiwa(day: dt.date) -> bytes:
    return f"{day.year - 2018:02d}{day:%m%d}".encode()


def zengin_transactions(credits, *, account="1234567", trailer_count=None, trailer_total=None) -> bytes:
    """A 全銀協 入出金取引明細 (種別コード 03): header, one data record per (day, amount, payer, edi[, 照会番号]),
    trailer, end; the 照会番号 counts the records unless given."""
    day0 = min(c[0] for c in credits)
    header = (b"1" + b"03" + b"0" + reiwa(dt.date(2025, 10, 1)) + reiwa(day0) + reiwa(day0) + b"0182" + half("ﾋｺﾞｷﾞﾝｺｳ", 15)
              + b"001" + half("ﾎﾝﾃﾝ", 15) + b"000" + b"1" + account.rjust(10, "0").encode() + half("ｸﾏﾓﾄｹﾝ", 40)
              + b"0" + b"1" + digits(0, 14))
    header += b" " * (200 - len(header))
    records = [header]
    for number, (day, amount, payer, edi, *bank_ref) in enumerate(credits, 1):
        data = (b"2" + digits(bank_ref[0] if bank_ref else number, 8) + reiwa(day) + reiwa(day) + b"1" + b"11" + digits(amount, 12) + digits(0, 12)
                + b"000000" + b"000000" + b"0" + b"0000000" + b"000" + digits(0, 10) + half(payer, 48)
                + half("ﾋｺﾞｷﾞﾝｺｳ", 15) + half("ｸﾏﾓﾄｴｷﾏｴ", 15) + half("ﾌﾘｺﾐ", 20) + half(edi, 20) + b" ")
        assert len(data) == 200
        records.append(data)
    count = len(credits) if trailer_count is None else trailer_count
    total = sum(c[1] for c in credits) if trailer_total is None else trailer_total
    trailer = b"8" + digits(count, 6) + digits(total, 13) + digits(0, 6) + digits(0, 13) + b"0" + digits(0, 14)
    records += [trailer + b" " * (200 - len(trailer)), b"9" + b" " * 199]
    return b"\r\n".join(records) + b"\r\n"


@pytest.fixture
def thirteen(db, finance, tenant_factory, settings):  # noqa: F811
    """熊本県 and 13 municipalities, FY2025 posted on 31 July 2025 and the letters issued on 1 August."""
    tenant_factory("430005")
    for code, kana, _ in MUNICIPALITIES:
        tenant_factory(code, **({"name_kana": kana} if kana else {}))
    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, adopter(), policy.id)
    operations.create_cost_item(db, finance, cost_data(amount=26_000_000))
    run = allocation_runs.create_run(db, finance, 2025)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3, "県 財政課長"), run.id, posted_on=dt.date(2025, 7, 31))
    letters = documents.issue_documents(db, finance, run.id, issued_on=dt.date(2025, 8, 1))
    db.commit()
    return {letter.tenant_code: letter for letter in letters}


def owed(db, code: str) -> int:
    return ledger.tenant_balance(db, code, fiscal_year=2025)


def bank_file(db, letters) -> bytes:
    credits = []
    for number, (code, _, payer) in enumerate(MUNICIPALITIES):
        amount = owed(db, code) - (1_000 if code == ODD else 0)
        edi = f"{letters[code].sequence:04d}" if code == BY_NUMBER else ""
        credits.append((dt.date(2025, 9, 1) + dt.timedelta(days=number % 5), amount, payer, edi))
    credits.insert(5, (*credits[1], 2))  # 八代市's record again, as the bank numbered it (照会番号 2)
    return zengin_transactions(credits)


def forge_payment(db):
    """A balanced payment of 1,000 yen for 阿蘇市 posted straight into the ledger (no bank line, no recording)."""
    from billing import models

    entry = ledger.post_entry(db, ledger.NewEntry(
        "payment:432148:2025:forged", models.EntryKind.payment, 2025, dt.date(2025, 9, 9),
        (ledger.debit(ledger.BANK, 1_000), ledger.credit(ledger.receivable("432148"), 1_000)),
        description="2025年度 負担金 入金 阿蘇市", tenant_code="432148", created_by="県 財政担当"))
    db.commit()
    return entry


def test_a_bank_file_of_thirteen_credits_pays_twelve_statements(app, db, finance, thirteen):
    raw = bank_file(db, thirteen)

    result = bank.import_bank_file(db, finance, raw, "nyushukkin_20251006.txt")
    db.commit()

    assert len(result.lines) == 13 and result.refused == ((7, 3),)  # the 6th credit (record 7) repeats record 3
    views = {view.line.id: view for view in bank.bank_lines(db, finance)}
    matched = {view.match.statement.tenant_code for view in views.values() if view.match}
    assert matched == {code for code, _, _ in MUNICIPALITIES} - {ODD}
    kumamoto = next(view for view in views.values() if view.line.payer.startswith("ｸﾏﾓﾄ"))
    assert kumamoto.match.payer and kumamoto.match.amount
    amakusa = next(view for view in views.values() if view.line.payer.startswith("ｱﾏｸｻ"))
    assert amakusa.match.reference and not amakusa.match.payer
    odd = next(view for view in views.values() if view.line.payer == "ｱｿｼ")
    assert odd.match is None and odd.suggestions[0].statement.tenant_code == ODD and odd.suggestions[0].payer

    confirmed = bank.confirm_matched(db, finance)
    db.commit()

    assert len(confirmed) == 12
    assert all(owed(db, code) == 0 for code, _, _ in MUNICIPALITIES if code != ODD)
    assert owed(db, ODD) > 0
    open_lines = bank.bank_lines(db, finance, open_only=True)
    assert [view.line.payer for view in open_lines] == ["ｱｿｼ"]
    # finance settles the odd one by hand: the line is 阿蘇市's, 1,000 yen short
    bank.confirm_line(db, finance, open_lines[0].line.id, ODD, 2025)
    db.commit()
    assert owed(db, ODD) == 1_000
    records = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action.in_(
        [bank.IMPORT_ACTION, operations.PAYMENT_ACTION]))))
    assert [r.action for r in records].count(bank.IMPORT_ACTION) == 1
    assert sorted(json.loads(r.after)["bank_line_id"] for r in records if r.action == operations.PAYMENT_ACTION) == \
        sorted(line.id for line in result.lines)  # each payment's record names its bank line
    assert not integrity.check(db, auditor()).findings


def auditor():
    from core.actor import Actor

    return Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))


def counts(db) -> tuple[int, int, int]:
    return tuple(db.scalar(sa.select(sa.func.count()).select_from(table)) for table in (BankFile, BankLine, BankPayment))


def test_the_same_file_again_or_a_line_already_imported_writes_nothing(db, finance, thirteen):
    raw = bank_file(db, thirteen)
    bank.import_bank_file(db, finance, raw, "a.txt")
    db.commit()
    before = counts(db)

    with pytest.raises(BillingConflict) as again:
        bank.import_bank_file(db, finance, raw, "a-again.txt")
    assert "取込済み" in again.value.message_ja and "何も取り込んでいません" in again.value.message_ja
    db.rollback()
    # another file holding one credit already imported (and one new one)
    known = db.scalars(sa.select(BankLine).order_by(BankLine.id)).first()
    other = zengin_transactions([(dt.date(2025, 9, 1), known.amount, known.payer, ""), (dt.date(2025, 9, 2), 5, "ｱｿｼ", "")])
    # the bank numbers records from 1 in each file: the first credit (line 2, after the header) is the same (照会番号 1)
    with pytest.raises(BillingConflict) as overlapping:
        bank.import_bank_file(db, finance, other, "b.txt")
    assert "ファイルの 2 行目は取込済み" in overlapping.value.message_ja
    db.rollback()
    assert counts(db) == before


@pytest.mark.parametrize(("raw", "words"), [
    (b"1" + b"x" * 150, "CSV"),  # neither a 全銀協 file nor a CSV with the columns
    (zengin_transactions([(dt.date(2025, 9, 1), 100, "ｱｿｼ", "")], trailer_total=999), "トレーラー"),
    (zengin_transactions([(dt.date(2025, 9, 1), 100, "ｱｿｼ", "")])[:-5], "バイト"),
    (zengin_transactions([(dt.date(2025, 9, 1), 100, "ｱｿｼ", "")]).replace(b"200000001" + reiwa(dt.date(2025, 9, 1)),
                                                                         b"200000001071399", 1), "日付"),
    ("日付,金額,振込依頼人,参照\n2025-09-01,十万,ｱｿｼ,\n".encode(), "2 行目"),
])
def test_a_malformed_file_is_refused_in_words_and_writes_nothing(db, finance, raw, words):
    with pytest.raises(InvalidBillingData) as refused:
        bank.import_bank_file(db, finance, raw, "bad.txt")
    assert words in refused.value.message_ja and "何も取り込んでいません" in refused.value.message_ja
    db.rollback()
    assert counts(db) == (0, 0, 0)


def test_the_csv_form_and_the_transfer_notice_are_read(db):
    csv_file = "日付,金額,振込依頼人,参照\n2025/09/01,\"3,075,000\",ｸﾏﾓﾄｼ,熊財第12号\n".encode("cp932")
    read = bank_files.read_bank_file(csv_file)
    assert read.kind == "csv" and read.credits[0].amount == 3_075_000 and read.credits[0].reference == "熊財第12号"
    # 振込入金通知 (種別コード 01): 照会番号 6, 勘定日, 起算日, 金額 10, 他店券 10, 依頼人コード 10, 依頼人名 48 ...
    header = b"101" + b"0" + reiwa(dt.date(2025, 9, 2)) * 3 + b"0182" + half("ﾋｺﾞｷﾞﾝｺｳ", 15) + b"001" + half("ﾎﾝﾃﾝ", 15) \
        + b"000" + b"1" + b"0001234567" + half("ｸﾏﾓﾄｹﾝ", 40)
    data = (b"2" + b"000001" + reiwa(dt.date(2025, 9, 2)) * 2 + digits(1_950_000, 10) + digits(0, 10) + digits(0, 10)
            + half("ﾔﾂｼﾛｼ", 48) + half("ﾋｺﾞｷﾞﾝｺｳ", 15) + half("ﾔﾂｼﾛ", 15) + b"0" + half("0003", 20))
    cancelled = data[:127] + b"1" + data[128:]
    trailer = b"8" + digits(2, 6) + digits(3_900_000, 12) + digits(1, 6) + digits(1_950_000, 12)
    raw = b"".join(record + b" " * (200 - len(record)) for record in (header, data, cancelled, trailer, b"9"))
    read = bank_files.read_bank_file(raw)
    assert read.kind == "zengin_transfers" and read.account == "0182-001-0001234567"
    assert [(c.amount, c.payer, c.reference) for c in read.credits] == [(1_950_000, "ﾔﾂｼﾛｼ", "0003")]


@pytest.mark.parametrize(("payer", "kana"), [
    ("ｸﾏﾓﾄ ｼ", "クマモトシ"),
    ("ｶ) ｸﾏﾓﾄｼｽﾃﾑ", "クマモトシステム株式会社".replace("株式会社", "")),
    ("ｸﾏﾓﾄｼｽﾃﾑ(ｶ", "クマモトシステム"),
    ("ｸﾏﾓﾄｼｽﾃﾑ ｶﾌﾞｼｷｶﾞｲｼﾔ", "クマモトシステム"),
    ("ｷﾖｳﾜ ｾﾝﾀｰ", "きょうわセンター"),  # small kana and the long vowel mark
    ("ｷﾖｳﾜｾﾝﾀ", "キョウワ センター"),  # the long vowel mark left out
    ("ﾃﾞｰﾀ ｷﾖｳｺﾞｳ", "でーたきょうごう"),
])
def test_payer_names_compare_as_a_person_reads_them(payer, kana):
    assert same_payer(payer, kana)


def test_different_names_stay_different():
    assert not same_payer("ｶﾐｱﾏｸｻｼ", "アマクサシ")
    assert not same_payer("ｱﾏｸｻｼ", "カミアマクサシ")
    assert normalise_kana("ｶﾞｯｺｳ") == "ガツコウ"


def test_a_payment_inserted_directly_is_a_payment_with_no_bank_line(app, db, thirteen):
    forge_payment(db)

    result = app.test_cli_runner().invoke(args=["check", "--as", "kensa"])

    assert result.exit_code == 1
    assert "payment entry payment:432148:2025:forged" in result.output
    assert "has no bank line behind it" in result.output and "銀行の明細がありません" in result.output


def test_a_manual_payment_needs_a_reason_and_a_second_person(db, finance, thirteen):
    data = {"tenant_code": ODD, "fiscal_year": 2025, "amount": 10_000, "received_on": "2025-09-30", "reference": "窓口納付"}
    with pytest.raises(ValidationError):
        ManualPaymentCreate.model_validate(data | {"reason": "  "})
    request = bank.request_manual_payment(db, finance, ManualPaymentCreate.model_validate(
        data | {"reason": "窓口で現金により納付（領収書 第15号）"}))
    db.commit()
    before = owed(db, ODD)
    with pytest.raises(FourEyesRefused):
        bank.approve_manual_payment(db, finance, request.id)
    db.rollback()
    assert owed(db, ODD) == before  # asking alone records nothing

    bank.approve_manual_payment(db, colleague(2), request.id)
    db.commit()

    assert owed(db, ODD) == before - 10_000
    assert db.get(ManualPayment, request.id).approved_by == "県 財政担当（確認）"
    assert not [f for f in integrity.check(db, auditor()).findings if f.check == "payments"]

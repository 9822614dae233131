"""Statements as official documents (負担金 納入通知書): numbered, dated, addressed, with where to pay.

A statement (:mod:`billing.statements`) says what the ledger holds; a document is the letter the
prefecture sends a municipality about it. Issuing the documents of an approved run
(:func:`issue_documents`, a finance officer) numbers each municipality's letter once
(``{文書記号}第{n}号``, counted per fiscal year of the issue date, never reused), fixes its issue
date and its payment deadline (納期限); a reissue (:func:`reissue_document`) keeps the number and
the letter says 再発行. Who issues, where to pay and whom to ask come from the prefecture's
settings (:mod:`tenancy.registry.prefecture`), never from code.

The letter is one A4 page of HTML rendered to PDF by WeasyPrint with a Japanese font from Debian
(fonts-ipafont-gothic); the same lines (:func:`letter_rows`) go into the Excel and CSV
downloads, so every format carries the same facts. Amounts come from the statement, that is from
the ledger, and are written in figures and in words (法定大字: 金参百弐拾六万四千五拾参円).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import itertools
from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation_runs, letter_files, operations, statements
from billing.statements import TAX_NOTE, addressee
from billing.ledger_errors import BillingConflict, BillingNotFound, InvalidBillingData
from billing.models import AllocationRun, AllocationRunLine, LetterFileKind, RunKind, RunStatus, StatementDocument
from core import audit, authz
from core.actor import Actor
from core.calendar import date_ja, fiscal_year_of, today_jst
from core.db import lock_key
from core.errors import Unavailable
from tenancy.registry.models import BankAccountType, PrefectureSettings, SealMark
from tenancy.registry.prefecture import get_settings, require_settings


# --- the amount in words -----------------------------------------------------------------------------

_DIGITS = "零壱弐参四五六七八九"  # 法定大字 for 1, 2, 3 (and 拾 for 10), so that a figure cannot be altered
_SMALL_UNITS = ((1000, "千"), (100, "百"), (10, "拾"))
_LARGE_UNITS = ((10**12, "兆"), (10**8, "億"), (10**4, "万"), (1, ""))


def _below_ten_thousand(number: int) -> str:
    words = []
    for value, unit in _SMALL_UNITS:
        digit, number = divmod(number, value)
        if digit:
            words.append(_DIGITS[digit] + unit)
    if number:
        words.append(_DIGITS[number])
    return "".join(words)


def yen_in_words(amount: int) -> str:
    """``金参百弐拾六万四千五拾参円`` for 3,264,053: the amount as a cheque or a notice writes it."""
    if amount < 0:
        raise ValueError("an amount in words is never negative")
    if amount == 0:
        return "金零円"
    words = []
    for value, unit in _LARGE_UNITS:
        part, amount = divmod(amount, value)
        if part:
            words.append(_below_ten_thousand(part) + unit)
    return "金" + "".join(words) + "円"


# --- issuing -------------------------------------------------------------------------------------------

def _documents(session: Session, run_id: int) -> dict[str, StatementDocument]:
    return {document.tenant_code: document for document in session.scalars(
        sa.select(StatementDocument).where(StatementDocument.run_id == run_id))}


def issued_count(session: Session, run_id: int) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(StatementDocument)
                          .where(StatementDocument.run_id == run_id)) or 0


def issue_documents(session: Session, actor: Actor, run_id: int, *, due_on: dt.date | None = None,
                    issued_on: dt.date | None = None) -> list[StatementDocument]:
    """Number the letters of an approved run's municipalities (those not numbered yet), audited.

    ``due_on`` defaults to the settings' number of days after ``issued_on`` (today in Japan).
    """
    authz.authorize(actor, "billing.manage")
    run = allocation_runs.get_run(session, run_id, lock=True)
    if run.status != RunStatus.approved:
        raise BillingConflict(f"run #{run.id} is not approved and posted: only a posted run's statements are sent",
                              f"按分計算 #{run.id} は承認・計上されていないため、納入通知書を発行できません。",
                              run_id=run.id)
    settings = require_settings(session)
    issued_on = issued_on or today_jst()
    due_on = due_on or issued_on + dt.timedelta(days=settings.payment_days)
    if due_on < issued_on:
        raise InvalidBillingData(
            "the payment deadline is before the issue date", "納期限が発行日より前です。",
            problems=[{"field": "due_on", "message_en": "Choose a deadline on or after the issue date.",
                       "message_ja": f"納期限は発行日（{date_ja(issued_on)}）以降の日付にしてください。"}])
    numbered = _documents(session, run.id)
    lines = session.scalars(sa.select(AllocationRunLine).where(
        AllocationRunLine.run_id == run.id, AllocationRunLine.is_prefecture.is_(False)).order_by(AllocationRunLine.tenant_code))
    number_year = fiscal_year_of(issued_on)
    issued = []
    sequences = next_sequences(session, number_year)
    for line in lines:
        if line.tenant_code in numbered:
            continue
        sequence = next(sequences)
        document = StatementDocument(run_id=run.id, tenant_code=line.tenant_code, fiscal_year=run.fiscal_year,
                                     number_year=number_year, sequence=sequence,
                                     number=f"{settings.document_symbol}第{sequence}号", issued_on=issued_on,
                                     due_on=due_on, issued_by=actor.recorded_name)
        session.add(document)
        issued.append(document)
    if not issued:
        return []
    session.flush()
    files = {document.tenant_code: _keep_file(session, actor, document, settings).sha256 for document in issued}
    audit.record(session, actor, "billing.letters.issue", "allocation_run", str(run.id), after={
        "fiscal_year": run.fiscal_year, "issued_on": issued_on.isoformat(), "due_on": due_on.isoformat(),
        "document_numbers": {document.tenant_code: document.number for document in issued},
        "files_sha256": files})
    return issued


def _keep_file(session: Session, actor: Actor, document: StatementDocument, settings: PrefectureSettings):
    """Render the document's letter as it goes out now and keep the file (edition: its reissue count)."""
    found = Letter(statements.build_statement(session, actor, document.tenant_code, document.fiscal_year), document,
                   settings)
    return letter_files.keep(session, LetterFileKind.statement, document.id, edition=document.reissue_count,
                             number=document.number, tenant_code=document.tenant_code,
                             fiscal_year=document.fiscal_year, content=render_letters([found]))


def next_sequences(session: Session, number_year: int) -> Iterator[int]:
    """The next letter numbers of ``number_year``, in order: one sequence for every letter the office
    sends (納入通知書, 精算書 and 負担金見込額 alike), never given twice. The numbers used are read once;
    the caller adds each letter before taking the next number. The year's numbering is held until the
    caller's transaction ends (:func:`core.db.lock_key`): letters issued at once queue up for their numbers."""
    lock_key(session, "letter-number", number_year)
    used = [session.scalar(sa.select(sa.func.max(table.c.sequence)).where(table.c.number_year == number_year)) or 0
            for table in letter_tables()]
    return itertools.count(max(used) + 1)


def letter_tables() -> list[sa.Table]:
    """Every table of numbered letters: the billing letters, and any other table of the metadata that
    declares ``info={"letter_numbers": True}`` (with ``number_year`` and ``sequence`` columns, e.g. the
    incident reports of :mod:`service.incidents`), so that one sequence numbers them all."""
    from billing.models import EstimateLetter
    from sqlmodel import SQLModel

    marked = [table for table in SQLModel.metadata.sorted_tables if table.info.get("letter_numbers")]
    return [StatementDocument.__table__, EstimateLetter.__table__, *marked]


def _standing_document(session: Session, statement: statements.Statement) -> StatementDocument | None:
    return session.scalars(sa.select(StatementDocument).where(
        StatementDocument.run_id == statement.run_id, StatementDocument.tenant_code == statement.tenant_code)).one_or_none()


def _not_issued(statement: statements.Statement) -> BillingNotFound:
    return BillingNotFound(
        f"the statement of {statement.tenant_code} for FY{statement.fiscal_year} has not been issued yet",
        f"{statement.era}の{statement.tenant_name}の納入通知書はまだ発行されていません。"
        "財政担当が按分計算の画面で「納入通知書を発行」を行ってください。",
        code=statement.tenant_code, fiscal_year=statement.fiscal_year)


def reissue_document(session: Session, actor: Actor, tenant_code: str, fiscal_year: int) -> StatementDocument:
    """Issue the same letter again (lost, or asked for again): same number, marked 再発行; audited."""
    authz.authorize(actor, "billing.manage")
    statement = statements.build_statement(session, actor, tenant_code, fiscal_year)
    document = _standing_document(session, statement)
    if document is None:
        raise _not_issued(statement)
    document.reissue_count += 1
    document.reissued_on = today_jst()
    document.reissued_by = actor.recorded_name
    session.flush()
    kept = _keep_file(session, actor, document, require_settings(session))
    audit.record(session, actor, "billing.letter.reissue", "statement_document", document.number, tenant_code=tenant_code,
                 after={"document_number": document.number, "reissue_count": document.reissue_count,
                        "reissued_on": document.reissued_on.isoformat(), "file_sha256": kept.sha256})
    return document


# --- the letter ------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Letter:
    """Everything an official statement shows: the ledger's statement, its number and the issuer."""

    statement: statements.Statement
    document: StatementDocument | None
    settings: PrefectureSettings | None

    @property
    def issued(self) -> bool:
        return self.document is not None and self.settings is not None

    @property
    def amount_due(self) -> int:
        return max(self.statement.balance, 0)

    @property
    def is_settlement(self) -> bool:
        """The letter is the year's 精算書 (its number belongs to the 精算 run), not the 納入通知書."""
        return (self.document is not None and self.statement.settlement_run_id is not None
                and self.document.run_id == self.statement.settlement_run_id)

    @property
    def refund(self) -> int:
        """What the prefecture pays back (還付): what was paid beyond the settled share."""
        return max(-self.statement.balance, 0)

    @property
    def is_provisional(self) -> bool:
        """The letter charges a 概算 (the 精算 follows once the grants are fixed and the costs known)."""
        return not self.is_settlement and self.statement.kind == RunKind.provisional

    @property
    def title(self) -> str:
        kind = "精算書" if self.is_settlement else "納入通知書（概算）" if self.is_provisional else "納入通知書"
        return f"{self.statement.era} 連携基盤共同利用負担金 {kind}"


def letter(session: Session, actor: Actor, tenant_code: str, fiscal_year: int) -> Letter:
    """A tenant's letter for the year (``billing.read`` on the tenant), issued or not yet."""
    statement = statements.build_statement(session, actor, tenant_code, fiscal_year)
    return Letter(statement, _standing_document(session, statement), get_settings(session))


def issued_letter(session: Session, actor: Actor, tenant_code: str, fiscal_year: int) -> Letter:
    """The letter as a PDF needs it: numbered and with the issuer set, else a refusal saying what to do."""
    found = letter(session, actor, tenant_code, fiscal_year)
    if found.document is None:
        raise _not_issued(found.statement)
    if found.settings is None:
        require_settings(session)
    return found


def run_letters(session: Session, actor: Actor, run_id: int) -> list[Letter]:
    """Every issued letter of a run, by tenant code (the batch download; needs every tenant's grant)."""
    operations.require_all_tenants(actor)
    run: AllocationRun = allocation_runs.get_run(session, run_id)
    documents = _documents(session, run.id)
    if not documents:
        raise BillingNotFound(f"no statement of run #{run.id} has been issued yet",
                              f"按分計算 #{run.id} の納入通知書はまだ発行されていません。", run_id=run.id)
    settings = require_settings(session)
    return [Letter(statements.build_statement(session, actor, code, run.fiscal_year), documents[code], settings)
            for code in sorted(documents)]


def file_of(session: Session, actor: Actor, found: Letter) -> bytes:
    """The issued letter's file as it was sent (its newest edition), never a new rendering."""
    document = found.document

    def first_keep(kept) -> None:
        audit.record(session, actor, "billing.letter.keep", "statement_document", document.number,
                     tenant_code=document.tenant_code, after={"document_number": document.number,
                                                              "file_sha256": kept.sha256, "kept_later": True})

    return letter_files.kept_or_render(
        session, LetterFileKind.statement, document.id, edition=document.reissue_count, number=document.number,
        tenant_code=document.tenant_code, fiscal_year=document.fiscal_year,
        render=lambda: render_letters([found]), on_first_keep=first_keep).content


def letters_pdf(session: Session, actor: Actor, letters: list[Letter]) -> bytes:
    """The issued letters as sent, one after another (each its kept file)."""
    if not letters or not all(found.issued for found in letters):
        raise ValueError("only issued letters are downloaded")
    return letter_files.bind([file_of(session, actor, found) for found in letters])


def bank_text(settings: PrefectureSettings) -> str:
    return (f"{settings.bank_name} {settings.bank_branch} {BankAccountType(settings.account_type).ja}預金 "
            f"{settings.account_number}（口座名義 {settings.account_holder}）")


def issuer_line(settings: PrefectureSettings) -> str:
    """The issuer as the office's letters and reports sign it: title and name (熊本県知事 木村 敬), either
    left out when it is not set."""
    return " ".join(part for part in (settings.issuer_title, settings.issuer_name) if part)


def contact_text(settings: PrefectureSettings) -> str:
    parts = [settings.office, settings.office_address, f"電話 {settings.office_phone}"]
    if settings.office_email:
        parts.append(f"メール {settings.office_email}")
    return "　".join(part for part in parts if part)


def letter_rows(found: Letter) -> list[tuple[str, str]]:
    """The letter's own facts, label and value, for every format (empty where the settings are not set yet)."""
    rows = [("宛先", addressee(found.statement.tenant_name))]
    if found.document is not None:
        rows.append(("文書番号", found.document.number))
        rows.append(("発行日", date_ja(found.document.issued_on)))
        if found.document.reissued_on:
            rows.append(("再発行", date_ja(found.document.reissued_on)))
        rows.append(("納期限", date_ja(found.document.due_on)))
    if found.settings is not None:
        rows.append(("発行者", issuer_line(found.settings)))
        rows.append(("振込先（指定金融機関）", bank_text(found.settings)))
        rows.append(("問い合わせ先", contact_text(found.settings)))
    rows.append(("納入金額", f"{yen_in_words(found.amount_due)}（{found.amount_due:,}円）"))
    rows.append(("備考", TAX_NOTE))
    return rows


LETTER_STYLE = """
@page { size: A4; margin: 16mm 18mm 14mm 18mm; }
body { font-family: "IPAGothic", "IPAexGothic", "Noto Sans CJK JP", sans-serif; font-size: 9.5pt; color: #000; }
.letter { page-break-after: always; }
.letter:last-child { page-break-after: auto; }
.head { text-align: right; line-height: 1.5; }
.reissue { display: inline-block; border: 1.5px solid #000; padding: 0 6px; font-weight: bold; margin-bottom: 2mm; }
.to { font-size: 12pt; margin: 4mm 0 2mm; }
.from { text-align: right; font-size: 11pt; margin-bottom: 4mm; }
h1 { text-align: center; font-size: 14pt; margin: 2mm 0 4mm; letter-spacing: 1px; }
p { margin: 1mm 0; }
.due { border: 1.5px solid #000; padding: 2mm 3mm; margin: 3mm 0; font-size: 11pt; }
.due strong { font-size: 13pt; }
table { border-collapse: collapse; width: 100%; margin: 2mm 0; }
th, td { border: 0.8px solid #000; padding: 1mm 2mm; text-align: left; vertical-align: top; }
th { background: #eee; font-weight: normal; width: 32%; }
td.yen { text-align: right; white-space: nowrap; }
tr.total th, tr.total td { font-weight: bold; }
h2 { font-size: 10pt; margin: 3mm 0 1mm; }
.note { font-size: 8.5pt; }
.seal-omitted { font-size: 9pt; }
.seal { display: inline-block; border: 2px solid #c00; color: #c00; width: 15mm; height: 15mm; font-size: 7pt;
        line-height: 1.2; text-align: center; vertical-align: middle; margin-left: 3mm; padding: 1mm; }
.figures td.yen { width: 30%; }
"""


def rows_html(rows, td_class: str = "") -> str:
    """A letter's table rows (label, value), every value escaped."""
    e = html.escape
    cell = f'<td class="{td_class}">' if td_class else "<td>"
    return "".join(f"<tr><th>{e(label)}</th>{cell}{e(value)}</td></tr>" for label, value in rows)


def letter_head(number: str, issued_on: dt.date, to: str, sender: str, *, before: str = "",
                settings: PrefectureSettings | None = None) -> str:
    """The head every letter of the office starts with: its number and date (after ``before``, HTML
    such as the reissue mark), the addressee and the sender, with 「公印省略」 or the seal as the
    prefecture's ``settings`` say; every value escaped."""
    e = html.escape
    return (f'<div class="head">{before}{e(number)}<br>{e(date_ja(issued_on))}</div>'
            f'<div class="to">{e(to)}</div><div class="from">{e(sender)}{seal_html(settings)}</div>')


def seal_html(settings: PrefectureSettings | None) -> str:
    """「（公印省略）」 under the issuer, or the printed seal beside it, as the settings say."""
    if settings is None:
        return ""
    if SealMark(settings.seal) == SealMark.printed:
        return f'<span class="seal">{html.escape(settings.issuer_title)}之印</span>'
    return '<br><span class="seal-omitted">（公印省略）</span>'


def _amounts_html(statement: statements.Statement, settled: bool = False) -> str:
    """The statement's amounts; on a 精算書 without the rows its figures table says already (each figure once)."""
    e = html.escape
    cells = []
    said = {label for label, _ in statements.settlement_rows(statement)} | {"入金額（合計）", "差引残高（未納額）"}
    for label, amount in statements._amount_rows(statement):
        if settled and label in said:
            continue
        total = ' class="total"' if label.endswith("（合計）") or label.startswith("差引") else ""
        cells.append(f'<tr{total}><th>{e(label)}</th><td class="yen">{amount:,}円</td></tr>')
    return "".join(cells)


def settlement_figures(statement: statements.Statement) -> list[tuple[str, int]]:
    """The 精算's one set of figures, each said once: 概算額, 精算額, their difference (精算差額), what
    was paid, and what is now to pay or to be refunded (精算額 − 納入済額)."""
    difference = statement.settled
    word = "追加納付" if difference > 0 else "還付" if difference < 0 else "差額なし"
    rows = [("概算額", statement.estimate), ("精算額", statement.charged),
            (f"精算差額（精算額 − 概算額、{word}）", difference), ("納入済額", statement.paid)]
    if statement.balance >= 0:
        rows.append(("今回の納入額（精算額 − 納入済額）", statement.balance))
    else:
        rows.append(("還付額（納入済額 − 精算額）", -statement.balance))
    return rows


def _due_html(found: Letter) -> str:
    e = html.escape
    document = found.document
    if found.is_settlement:
        statement = found.statement
        figures = "".join(f'<tr><th>{e(label)}</th><td class="yen">{amount:,}円</td></tr>'
                          for label, amount in settlement_figures(statement))
        table = f'<table class="figures">{figures}</table>'
        if found.amount_due == 0 and found.refund:
            return (table + f'<div class="due">還付額　<strong>{e(yen_in_words(found.refund))}</strong>（{found.refund:,}円）'
                    "<br>納入済みの負担金のうち精算額を超える額を還付します。</div>")
        if found.amount_due == 0:
            return table + '<div class="due">精算による追加納付・還付はありません。</div>'
        # the sum to pay is named for what it is: the 精算差額 only when the 概算 was paid exactly
        word = "追加納付額" if found.amount_due == statement.settled else "納入金額"
        return (table + f'<div class="due">{word}　<strong>{e(yen_in_words(found.amount_due))}</strong>'
                f"（{found.amount_due:,}円）<br>納期限　<strong>{e(date_ja(document.due_on))}</strong></div>")
    return (f'<div class="due">納入金額　<strong>{e(yen_in_words(found.amount_due))}</strong>（{found.amount_due:,}円）'
            f"<br>納期限　<strong>{e(date_ja(document.due_on))}</strong></div>")


def letter_html(found: Letter) -> str:
    """One letter as an HTML section (A4, one page for a normal statement); every value escaped.
    The 精算書 of a settled year says the 概算額, the 精算額 and the difference to pay or be refunded."""
    e = html.escape
    statement, document, settings = found.statement, found.document, found.settings
    issuer = issuer_line(settings)
    reissue = (f'<div class="reissue">再発行（{e(date_ja(document.reissued_on))}）</div><br>'
               if document.reissued_on else "")
    facts = [row for row in statements._header_rows(statement) if row[0] not in ("団体コード", "団体名", "発行日")]
    costs = ""
    if statement.cost_items:
        costs = (f"<h2>事業費の内訳（{e(statement.era)}、合計 {statement.cost_total:,}円）</h2><table>"
                 + "".join(f'<tr><th>{e(name)}（{e(category)}）</th><td class="yen">{amount:,}円</td></tr>'
                           for name, category, amount in statement.cost_items) + "</table>")
    return (
        f'<section class="letter">'
        f"{letter_head(document.number, document.issued_on, addressee(statement.tenant_name), issuer, before=reissue, settings=settings)}"
        f"<h1>{e(found.title)}</h1>"
        f"<p>{e(_opening(found))}</p>"
        f"{_due_html(found)}"
        f"<h2>内訳</h2><table>{_amounts_html(statement, settled=found.is_settlement)}</table>"
        f"<h2>算定の基礎</h2><table>{rows_html(facts)}</table>"
        f"{costs}"
        f"<h2>納入方法</h2><table>{rows_html([('振込先（指定金融機関）', bank_text(settings))])}</table>"
        f'<p class="note">{e(TAX_NOTE)}</p>'
        f"<h2>問い合わせ先</h2><p>{e(contact_text(settings))}</p>"
        f"</section>"
    )


def _opening(found: Letter) -> str:
    era = found.statement.era
    if found.is_settlement:
        return (f"{era}の連携基盤共同利用負担金は概算により納入いただいています。交付金の額の確定と事業費の実績により"
                "下記のとおり精算しましたので通知します。")
    if found.is_provisional:
        return (f"{era}の連携基盤共同利用負担金を概算により下記のとおり通知しますので、納期限までに納入してください。"
                "この額は概算です。年度終了後、交付金の額の確定と事業費の実績により精算し、精算書でお知らせします。")
    return f"{era}の連携基盤共同利用負担金を下記のとおり通知しますので、納期限までに納入してください。"


def render_letters(letters: list[Letter]) -> bytes:
    """One PDF of the letters as they go out now, each starting on a new A4 page: used when a letter is
    issued or reissued (the file then kept); a download gives the kept file (:func:`letters_pdf`)."""
    if not letters or not all(found.issued for found in letters):
        raise ValueError("only issued letters are rendered")
    return pdf_of(letters[0].title, "".join(letter_html(found) for found in letters))


def pdf_of(title: str, sections: str, style: str = LETTER_STYLE) -> bytes:
    """A4 PDF of letter ``sections`` (HTML, each a ``<section class="letter">``) in the letters' style."""
    try:
        import weasyprint  # imported here: loading Pango is only worth it when a PDF is asked for
    except OSError as error:  # Pango missing on this machine: say what to install, never a 500
        raise Unavailable(
            f"PDF letters need Pango on the server (Debian: libpango-1.0-0 libpangoft2-1.0-0): {error}",
            "PDF の文書を作るためのライブラリ（Pango）がサーバーにありません。管理者に連絡してください。") from None

    document = (f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
                f"<style>{style}</style></head><body>{sections}</body></html>")
    return weasyprint.HTML(string=document).write_pdf()

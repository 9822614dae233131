"""Statements (負担金通知): a tenant's share of a fiscal year, as Excel, CSV or printable HTML.

A statement comes **out of the ledger**: the amount charged is the tenant's receivable postings
from the year's posted, non-reversed run; payments are its payment entries; the balance is the
sum of every posting on its receivable for the year (charges, reversals and payments), so it is
exactly what the books say. The run's snapshot adds what the ledger does not hold: the component
breakdown (均等割, 人口割, ...), the months, population and usage the share was computed from, the
cost items, and the policy in words. A snapshot line that disagrees with the ledger is an error,
never shown.

Formats: ``.xlsx`` (openpyxl, Japanese headers, yen cells formatted ``#,##0"円"``), CSV (UTF-8
with BOM so that Excel opens it as UTF-8) and a self-contained printable HTML page. The
all-tenants :func:`build_summary` is the operator's overview of a year.

A statement needs ``billing.read`` on its tenant (a municipal admin or staff member reads their
own); the summary shows every tenant's share and needs the all-tenants grant.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import io
import json
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import ledger
from billing.ledger_errors import BillingNotFound, StatementMismatch
from billing.models import (Account, AllocationRun, AllocationRunLine, EntryKind, EntryStatus, EstimateLetter, JournalEntry,
                            Posting, RunKind, RunStatus)
from billing.allocation_policies import basis_label_ja, metric_label_ja, resolution_text
from billing.run_snapshot import RunSnapshot
from billing.operations import require_all_tenants
from core import authz
from core.actor import Actor
from core.calendar import day_text, fiscal_year_ja, today_jst
from core.spreadsheet import csv_bytes, safe_cell
from tenancy.registry.models import Tenant

YEN_FORMAT = '#,##0"円"'
TAX_NOTE = "本負担金は地方公共団体間の負担金であり、消費税の課税対象外です。"


def addressee(tenant_name: str) -> str:
    """The head of the municipality, as a letter addresses them: 熊本市 → 熊本市長 様."""
    return f"{tenant_name}長 様" if tenant_name.endswith(("市", "町", "村", "区")) else f"{tenant_name} 様"


@dataclasses.dataclass(frozen=True)
class ComponentAmount:
    basis: str
    label_ja: str
    amount: int


@dataclasses.dataclass(frozen=True)
class LedgerLine:
    """One posting on the tenant's receivable: + what it was charged, − what it paid or was credited."""

    occurred_on: dt.date
    kind: EntryKind
    description: str
    amount: int
    reference: str = ""


@dataclasses.dataclass(frozen=True)
class Statement:
    tenant_code: str
    tenant_name: str
    fiscal_year: int
    run_id: int
    posted_on: dt.date | None
    policy_name: str
    policy_version: int
    policy_in_words: str
    resolution_ref: str | None
    year_total: int  # 負担対象額: what the payers share (the costs less what the grants fund)
    is_prefecture: bool
    months: int
    population: int | None
    population_source: str
    usage: dict[str, int]
    components: tuple[ComponentAmount, ...]
    charged: int
    payments: tuple[LedgerLine, ...]
    history: tuple[LedgerLine, ...]
    balance: int
    cost_items: tuple[tuple[str, str, int], ...]
    issued_on: dt.date
    cost_total: int = 0  # 事業費: the year's cost items
    grants: tuple[tuple[str, str, int], ...] = ()  # 交付金充当額: (name, rate, amount) per grant
    kind: RunKind = RunKind.final  # of the run that charged the year (確定 or 概算)
    estimate: int | None = None  # 概算額 once the year is settled (``charged`` is then the actual share)
    settlement_run_id: int | None = None
    forecast: tuple[int, str] | None = None  # the newest 負担金見込額 issued for the year: (amount, its letter's number)

    @property
    def settled(self) -> int | None:
        """The 精算's difference: + an additional charge (追加納付), − a refund (還付); None before a 精算."""
        return None if self.estimate is None else self.charged - self.estimate

    @property
    def grant_total(self) -> int:
        return sum(amount for _, _, amount in self.grants)

    @property
    def paid(self) -> int:
        return -sum(line.amount for line in self.payments)

    @property
    def era(self) -> str:
        return fiscal_year_ja(self.fiscal_year)

    @property
    def filename_stem(self) -> str:
        return f"statement-{self.tenant_code}-FY{self.fiscal_year}"


def _tenant_name(session: Session, code: str) -> str:
    tenant = session.scalars(sa.select(Tenant).where(Tenant.code == code)).one_or_none()
    if tenant is None:
        raise BillingNotFound(f"No tenant with code {code} is registered.",
                              f"団体コード {code} の参加団体は登録されていません。", code=code)
    return tenant.name_ja


def _reference(view: ledger.PostingView) -> str:
    # Payments are keyed "payment:<code>:<fiscal year>:<reference>"; the reference is what the
    # bank statement shows (it may itself contain ":").
    if view.kind == EntryKind.payment and view.idempotency_key.count(":") >= 3:
        return view.idempotency_key.split(":", 3)[3]
    return ""


def build_statement(session: Session, actor: Actor, tenant_code: str, fiscal_year: int) -> Statement:
    """The tenant's statement for the year, read from the ledger (plus the run's breakdown)."""
    authz.authorize(actor, "billing.read", tenant_code)
    name = _tenant_name(session, tenant_code)
    postings = ledger.postings(session, account_code=ledger.receivable(tenant_code), fiscal_year=fiscal_year)
    standing = ledger.standing_charges(session, postings)
    if not standing:
        raise BillingNotFound(
            f"there is no posted allocation for tenant {tenant_code} in FY{fiscal_year} yet",
            f"{fiscal_year_ja(fiscal_year)}の団体コード {tenant_code}（{name}）の負担金はまだ計上されていません。",
            code=tenant_code, fiscal_year=fiscal_year,
        )
    run, settlement = _runs_behind(session, tenant_code, fiscal_year, standing)
    charged = sum(view.amount for view in standing)
    estimate, line = _charged_line(session, run, settlement, tenant_code, charged)
    snapshot = RunSnapshot.parse((settlement or run).snapshot_json)
    history = tuple(LedgerLine(view.occurred_on, view.kind, view.description, view.amount, _reference(view))
                    for view in postings)
    return Statement(
        tenant_code=tenant_code, tenant_name=name, fiscal_year=fiscal_year, run_id=run.id, posted_on=run.posted_on,
        policy_name=snapshot.policy_name, policy_version=snapshot.policy_version,
        policy_in_words=snapshot.policy_in_words, resolution_ref=resolution_text(session, snapshot.resolution_ref),
        year_total=snapshot.year_total(run.total),
        is_prefecture=line.is_prefecture,
        months=line.months, population=line.population, population_source=line.population_source,
        usage=json.loads(line.usage_json),
        components=_components(line),
        charged=charged,
        payments=tuple(entry for entry in history if entry.kind == EntryKind.payment),
        history=history,
        balance=sum(view.amount for view in postings),
        cost_items=tuple(map(dataclasses.astuple, snapshot.cost_items)),
        issued_on=today_jst(),
        cost_total=snapshot.cost_total,
        grants=tuple(map(dataclasses.astuple, snapshot.grants)),
        kind=RunKind(run.kind),
        estimate=None if settlement is None else estimate,
        settlement_run_id=getattr(settlement, "id", None),
        forecast=_forecast(session, tenant_code, fiscal_year),
    )


def _components(line: AllocationRunLine) -> tuple[ComponentAmount, ...]:
    return tuple(ComponentAmount(basis, basis_label_ja(basis), amount)
                 for basis, amount in json.loads(line.components_json).items())


def _mismatch(tenant_code: str, fiscal_year: int, message_en: str, problem_ja: str, **details) -> StatementMismatch:
    return StatementMismatch(
        f"{tenant_code} FY{fiscal_year}: {message_en}",
        f"{fiscal_year_ja(fiscal_year)}の団体コード {tenant_code} の負担金通知を作れません: {problem_ja}"
        "財務担当者が帳簿を確かめてください。",
        code=tenant_code, fiscal_year=fiscal_year, **details,
    )


def _runs_behind(session: Session, tenant_code: str, fiscal_year: int,
                 standing: Sequence[ledger.PostingView]) -> tuple[AllocationRun, AllocationRun | None]:
    """The run whose charge stands (the 概算 or the year's only run) and the 精算 that settled it, if any."""
    run_ids = {view.run_id for view in standing}
    primary, settling = _by_kind(session, run_ids)
    if len(primary) != 1 or len(settling) > 1:
        raise _mismatch(tenant_code, fiscal_year, f"charges from several standing runs {sorted(run_ids)}",
                        f"帳簿の負担金が複数の按分計算（{'、'.join(f'#{run_id}' for run_id in sorted(run_ids))}）から"
                        "計上されています。", runs=sorted(run_ids))
    run = primary[0]
    if settling or RunKind(run.kind) != RunKind.provisional:
        return run, (settling[0] if settling else None)
    # a 精算 that changed nothing for this payer posted no charge to it, but settled its year all the same
    return run, session.scalars(sa.select(AllocationRun).where(
        AllocationRun.settles_run_id == run.id, AllocationRun.status == RunStatus.approved)).first()


def _by_kind(session: Session, run_ids: set[int]) -> tuple[list[AllocationRun], list[AllocationRun]]:
    """The runs of ``run_ids``: those that charge (確定, 概算) and the 精算s; a 精算 alone brings its 概算."""
    primary, settling = [], []
    for run in session.scalars(sa.select(AllocationRun).where(AllocationRun.id.in_(run_ids))):
        (settling if RunKind(run.kind) == RunKind.settlement else primary).append(run)
    if len(settling) == 1 and not primary:  # charged only by the 精算 (no share in the 概算)
        primary = [session.get(AllocationRun, settling[0].settles_run_id)]
    return primary, settling


def _charged_line(session: Session, run: AllocationRun, settlement: AllocationRun | None, tenant_code: str,
                  charged: int) -> tuple[int, AllocationRunLine]:
    """The run's estimate for the tenant and the line whose breakdown the statement shows (the 精算's once settled).

    The run's line (plus the 精算's difference) must add up to what the ledger charged.
    """
    line = _line(session, run, tenant_code)
    estimate = line.amount if line is not None else 0
    if settlement is not None:  # the year was settled: the breakdown is the actual year's, from the 精算
        line = _line(session, settlement, tenant_code)
    if line is None or estimate + (line.amount if settlement is not None else 0) != charged:
        raise _mismatch(tenant_code, run.fiscal_year,
                        f"run #{run.id} line {tenant_code} says {estimate} but the ledger charged {charged}",
                        f"按分計算 #{run.id} の負担金 {estimate:,}円と帳簿の計上額 {charged:,}円が一致しません。",
                        run_id=run.id, estimate=estimate, charged=charged)
    return estimate, line


def _forecast(session: Session, tenant_code: str, fiscal_year: int) -> tuple[int, str] | None:
    found = session.scalars(sa.select(EstimateLetter).where(EstimateLetter.fiscal_year == fiscal_year,
                                                            EstimateLetter.tenant_code == tenant_code)
                            .order_by(EstimateLetter.version.desc())).first()
    return (found.amount, found.number) if found is not None else None


def _line(session: Session, run: AllocationRun, tenant_code: str) -> AllocationRunLine | None:
    return session.scalars(sa.select(AllocationRunLine).where(AllocationRunLine.run_id == run.id,
                                                              AllocationRunLine.tenant_code == tenant_code)).one_or_none()


# --- the statement's rows, shared by every format -------------------------------------------------

def _header_rows(statement: Statement) -> list[tuple[str, str]]:
    rows = [
        ("団体コード", statement.tenant_code),
        ("団体名", statement.tenant_name),
        ("年度", f"{statement.era}（FY{statement.fiscal_year}）"),
        ("按分方式", f"{statement.policy_name}（第{statement.policy_version}版）"),
        ("按分の方法", statement.policy_in_words),
    ]
    if statement.resolution_ref:
        rows.append(("議決", statement.resolution_ref))
    rows.append(("按分計算", f"#{statement.run_id}（計上日 {day_text(statement.posted_on)}）" if statement.posted_on
                 else f"#{statement.run_id}"))
    if not statement.is_prefecture:
        rows.append(("参加月数", f"{statement.months}か月"))
        if statement.population is not None:
            rows.append(("人口", f"{statement.population:,}人（{statement.population_source}）"))
        for metric, quantity in statement.usage.items():
            rows.append((f"利用実績（{metric_label_ja(metric)}）", f"{quantity:,}"))
    rows.append(("発行日", f"{day_text(statement.issued_on)}"))
    return rows


def funding_rows(statement: Statement) -> list[tuple[str, int]]:
    """事業費, what each grant funds (交付金充当額) and 負担対象額, the base every share is taken from."""
    rows = [("事業費", statement.cost_total)]
    rows += [(f"交付金充当額（{name}、補助率 {rate}）", amount) for name, rate, amount in statement.grants]
    rows.append(("負担対象額（事業費 − 交付金充当額）", statement.year_total))
    return rows


def settlement_rows(statement: Statement) -> list[tuple[str, int]]:
    """概算額, 精算額 and the difference (追加納付 or 還付) once the year is settled; none before."""
    if statement.settled is None:
        return []
    word = "追加納付額" if statement.settled > 0 else "還付額" if statement.settled < 0 else "差額"
    return [("概算額（概算で計上した負担金）", statement.estimate), ("精算額（実績による負担金）", statement.charged),
            (f"精算による{word}（精算額 − 概算額）", statement.settled)]


def _amount_rows(statement: Statement) -> list[tuple[str, int]]:
    rows = funding_rows(statement)
    rows += [(f"{component.label_ja}", component.amount) for component in statement.components]
    rows += settlement_rows(statement)
    if statement.forecast is not None:  # the estimate the municipality budgeted for, beside what it is charged
        rows.append((f"負担金見込額（{statement.forecast[1]}で通知）", statement.forecast[0]))
    rows.append(("負担金額（合計）", statement.charged))
    for payment in statement.payments:
        reference = f"（{payment.reference}）" if payment.reference else ""
        rows.append((f"入金 {day_text(payment.occurred_on)}{reference}", -payment.amount))
    rows.append(("入金額（合計）", statement.paid))
    rows.append(("差引残高（未納額）", statement.balance))
    return rows


# Text a spreadsheet will neither run nor choke on (cost item, tenant and policy names are typed by
# people and end up in Excel): the one rule of every export, in core/spreadsheet.py.
safe_text = safe_cell


def to_csv(statement: Statement, letter: Sequence[tuple[str, str]] = ()) -> bytes:
    """UTF-8 with BOM, two columns 項目・金額(円); amounts as plain integers for Excel.

    ``letter`` is the official letter's own rows (addressee, number, deadline, where to pay:
    :func:`billing.documents.letter_rows`), written first.
    """
    return csv_bytes([["項目", "内容"], *letter, *_header_rows(statement), [], ["区分", "金額（円）"],
                      *_amount_rows(statement)])


def _workbook():
    from openpyxl import Workbook

    return Workbook()


# One font for every cell of a statement workbook: the Japanese Gothic that Debian's
# fonts-ipafont-gothic gives LibreOffice, and that Excel replaces with its own Gothic.
SHEET_FONT = "IPAゴシック"


def to_xlsx(statement: Statement, letter: Sequence[tuple[str, str]] = ()) -> bytes:
    """The statement as a sheet that prints as it is: A4 portrait, one page wide, print area, borders, one font.

    ``letter`` is the official letter's own rows (:func:`billing.documents.letter_rows`), shown first.
    """
    from openpyxl.styles import Alignment, Border, Font, Side

    line = Side(style="thin", color="000000")
    box = Border(left=line, right=line, top=line, bottom=line)
    plain, bold = Font(name=SHEET_FONT, size=10), Font(name=SHEET_FONT, size=10, bold=True)
    book = _workbook()
    sheet = book.active
    sheet.title = "負担金通知"
    sheet["A1"] = f"{statement.era} 連携基盤共同利用負担金 通知書"
    sheet["A1"].font = Font(name=SHEET_FONT, size=14, bold=True)
    row = 2

    def put(label: str, value, *, strong: bool = False, yen: bool = False) -> None:
        nonlocal row
        row += 1
        head = sheet.cell(row=row, column=1, value=safe_text(label))
        cell = sheet.cell(row=row, column=2, value=value if yen else safe_text(value))
        head.font, cell.font = (bold, bold) if strong else (bold, plain)
        head.border = cell.border = box
        head.alignment = Alignment(vertical="top", wrap_text=True)
        cell.alignment = Alignment(vertical="top", wrap_text=True, horizontal="right" if yen else "left")
        if yen:
            cell.number_format = YEN_FORMAT

    for label, value in [*letter, *_header_rows(statement)]:
        put(label, value)
    row += 1
    for label, amount in [("区分", None), *_amount_rows(statement)]:
        if amount is None:
            put(label, "金額", strong=True)
            continue
        put(label, amount, strong=label.endswith("（合計）") or label.startswith("差引"), yen=True)
    if statement.cost_items:
        row += 1
        put(f"{statement.era}の費目（事業費: 合計 {statement.cost_total:,}円）", "金額", strong=True)
        for name, category, amount in statement.cost_items:
            put(f"{name}（{category}）", amount, yen=True)
    sheet.column_dimensions["A"].width = 36
    sheet.column_dimensions["B"].width = 58
    sheet.print_area = f"A1:B{row}"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.orientation = "portrait"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_options.horizontalCentered = True
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_PAGE_STYLE = """
body { font-family: "Hiragino Kaku Gothic ProN", "Noto Sans JP", "Yu Gothic", sans-serif; margin: 2em; color: #111; }
h1 { font-size: 1.4em; }
table { border-collapse: collapse; margin: 1em 0; min-width: 32em; }
th, td { border: 1px solid #555; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
td.yen { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.total th, tr.total td { font-weight: bold; background: #f0f0f0; }
@media print { body { margin: 0; } a { display: none; } }
"""


def _yen_cell(amount: int) -> str:
    return f'<td class="yen">{amount:,}円</td>'


def to_html(statement: Statement, letter: Sequence[tuple[str, str]] = ()) -> str:
    """A complete, printable HTML page (lang="ja"); every value escaped; ``letter`` as in :func:`to_csv`."""
    e = html.escape
    parts = [
        '<!DOCTYPE html>\n<html lang="ja"><head><meta charset="utf-8">',
        f"<title>{e(statement.era)} 負担金通知書 {e(statement.tenant_name)}</title>",
        f"<style>{_PAGE_STYLE}</style></head><body><main>",
        f"<h1>{e(statement.era)} 連携基盤共同利用負担金 通知書</h1>",
        f"<p>{e(addressee(statement.tenant_name))}</p>",
        '<table aria-label="通知の内容"><tbody>',
    ]
    parts += [f'<tr><th scope="row">{e(label)}</th><td>{e(value)}</td></tr>'
              for label, value in [*letter, *_header_rows(statement)]]
    parts.append("</tbody></table>")
    parts.append('<table aria-label="負担金の内訳と入金"><thead><tr><th scope="col">区分</th><th scope="col">金額</th></tr></thead><tbody>')
    for label, amount in _amount_rows(statement):
        total = ' class="total"' if label.endswith("（合計）") or label.startswith("差引") else ""
        parts.append(f'<tr{total}><th scope="row">{e(label)}</th>{_yen_cell(amount)}</tr>')
    parts.append("</tbody></table>")
    if statement.cost_items:
        parts.append(f"<h2>{e(statement.era)}の費目（事業費: 合計 {statement.cost_total:,}円）</h2>")
        parts.append('<table><thead><tr><th scope="col">費目</th><th scope="col">区分</th><th scope="col">金額</th></tr></thead><tbody>')
        parts += [f"<tr><td>{e(name)}</td><td>{e(category)}</td>{_yen_cell(amount)}</tr>"
                  for name, category, amount in statement.cost_items]
        parts.append("</tbody></table>")
    if not letter:
        parts.append(f"<p>{e(TAX_NOTE)}</p>")
    parts.append("</main></body></html>\n")
    return "\n".join(parts)


# --- the operator's overview of a year -------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SummaryRow:
    tenant_code: str
    tenant_name: str
    months: int | None
    charged: int
    paid: int
    balance: int


@dataclasses.dataclass(frozen=True)
class Summary:
    fiscal_year: int
    run_id: int | None
    rows: tuple[SummaryRow, ...]

    @property
    def charged(self) -> int:
        return sum(row.charged for row in self.rows)

    @property
    def paid(self) -> int:
        return sum(row.paid for row in self.rows)

    @property
    def balance(self) -> int:
        return sum(row.balance for row in self.rows)


def build_summary(session: Session, actor: Actor, fiscal_year: int) -> Summary:
    """Every tenant with a receivable posting in the year: charged, paid, balance (from the ledger),
    summed in the database (one row per tenant, not one per posting): the balance is every posted
    receivable posting, charged the charges no posted reversal undoes, paid the payments."""
    require_all_tenants(actor)
    prefix = ledger.RECEIVABLE_PREFIX
    standing_charge = sa.and_(JournalEntry.kind == EntryKind.charge, JournalEntry.id.not_in(ledger.reversed_ids_query()))
    receivable = (sa.select().select_from(JournalEntry)
                  .join(Posting, Posting.entry_id == JournalEntry.id).join(Account, Account.id == Posting.account_id)
                  .where(JournalEntry.status == EntryStatus.posted, JournalEntry.fiscal_year == fiscal_year,
                         sa.func.substr(Account.code, 1, len(prefix)) == prefix))
    code = sa.func.substr(Account.code, len(prefix) + 1)
    sums = session.execute(receivable.add_columns(
        code, sa.func.sum(Posting.amount),
        sa.func.sum(sa.case((standing_charge, Posting.amount), else_=0)),
        sa.func.sum(sa.case((JournalEntry.kind == EntryKind.payment, -Posting.amount), else_=0)),
    ).group_by(Account.code)).all()
    run_ids = set(session.scalars(receivable.add_columns(JournalEntry.run_id).where(standing_charge).distinct()))
    primary = set(session.scalars(sa.select(AllocationRun.id).where(AllocationRun.id.in_(run_ids),
                                                                  AllocationRun.kind != RunKind.settlement)))
    run_id = next(iter(primary)) if len(primary) == 1 else None
    months = {}
    if run_id is not None:  # the lines' months only, not their whole rows
        months = {line_code: line_months for line_code, line_months, is_prefecture in session.execute(
            sa.select(AllocationRunLine.tenant_code, AllocationRunLine.months, AllocationRunLine.is_prefecture)
            .where(AllocationRunLine.run_id == run_id)) if not is_prefecture}
    names = dict(session.execute(sa.select(Tenant.code, Tenant.name_ja).where(
        Tenant.code.in_([row[0] for row in sums]))).all())
    rows = tuple(SummaryRow(code, names.get(code, ""), months.get(code), int(charged or 0), int(paid or 0),
                            int(balance or 0))
                 for code, balance, charged, paid in sorted(sums, key=lambda row: row[0]))
    return Summary(fiscal_year, run_id, rows)


_SUMMARY_HEADERS = ("団体コード", "団体名", "参加月数", "負担金額", "入金額", "未納額")


def _summary_rows(summary: Summary) -> list[tuple]:
    rows = [(row.tenant_code, row.tenant_name, row.months, row.charged, row.paid, row.balance) for row in summary.rows]
    rows.append(("合計", "", None, summary.charged, summary.paid, summary.balance))
    return rows


def summary_to_csv(summary: Summary) -> bytes:
    return csv_bytes([_SUMMARY_HEADERS, *_summary_rows(summary)])


def summary_to_xlsx(summary: Summary) -> bytes:
    from openpyxl.styles import Font

    book = _workbook()
    sheet = book.active
    sheet.title = "負担金一覧"
    sheet["A1"] = f"{fiscal_year_ja(summary.fiscal_year)} 負担金 一覧（按分計算 #{summary.run_id or '-'}）"
    sheet["A1"].font = Font(size=14, bold=True)
    for column, heading in enumerate(_SUMMARY_HEADERS, start=1):
        sheet.cell(row=3, column=column, value=heading).font = Font(bold=True)
    for offset, values in enumerate(_summary_rows(summary), start=4):
        for column, value in enumerate(values, start=1):
            cell = sheet.cell(row=offset, column=column, value=safe_text(value))
            if column >= 4:
                cell.number_format = YEN_FORMAT
    for letter, width in zip("ABCDEF", (12, 20, 10, 18, 18, 18)):
        sheet.column_dimensions[letter].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def summary_to_json(summary: Summary) -> dict:
    return {
        "fiscal_year": summary.fiscal_year,
        "run_id": summary.run_id,
        "rows": [dataclasses.asdict(row) for row in summary.rows],
        "charged": summary.charged,
        "paid": summary.paid,
        "balance": summary.balance,
    }


def statement_to_json(statement: Statement) -> dict:
    return {
        "tenant_code": statement.tenant_code,
        "tenant_name": statement.tenant_name,
        "fiscal_year": statement.fiscal_year,
        "era": statement.era,
        "run_id": statement.run_id,
        "posted_on": statement.posted_on.isoformat() if statement.posted_on else None,
        "policy": {"name": statement.policy_name, "version": statement.policy_version,
                   "in_words": statement.policy_in_words, "resolution_ref": statement.resolution_ref},
        "months": statement.months,
        "population": statement.population,
        "usage": statement.usage,
        "components": [{"basis": c.basis, "label_ja": c.label_ja, "amount": c.amount} for c in statement.components],
        "charged": statement.charged,
        "payments": [{"received_on": p.occurred_on.isoformat(), "reference": p.reference, "amount": -p.amount}
                     for p in statement.payments],
        "paid": statement.paid,
        "balance": statement.balance,
    }

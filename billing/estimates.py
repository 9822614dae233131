"""Estimates for the municipalities' budget requests (負担金見込額).

Around October a municipality puts next year's 負担金 into its budget request, so the prefecture
tells each one what it expects to charge before the year starts. The estimate is the allocation
rule itself (:func:`billing.allocation.allocate_costs`, the adopted policy) applied to:

* the year's **budget** per cost category (the adopted version, else the newest draft) in place of
  cost items;
* the year's **expected grants** as entered (their applied or decided amount caps what they fund);
* the municipalities **registered now** and not withdrawn or suspended, each for the whole year,
  with the population the registry holds (and its source), and the usage of the **year before**
  (the newest complete usage there is when the letters go out).

:func:`issue_estimates` numbers one letter per municipality from the same sequence as the 納入通知書
(:func:`billing.documents.next_sequences`), keeps every version issued, and records it in the audit
log. The statement of the year later shows the actual charge beside the latest estimate
(:func:`billing.statements.build_statement`). The letter (:func:`estimate_html`) is one A4 page, like the 納入通知書.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html
import json
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing import allocation, documents, letter_files, operations
from billing.allocation_policies import adopted_policy, policy_summary
from billing.allocation_previews import _snapshot_inputs
from billing.budgets import budget_lines
from billing.cost_rules import adopted_budget
from billing.errors import AllocationError
from billing.grants import grant_summary, grant_value, year_grants
from billing.ledger_errors import BillingConflict, BillingNotFound, InvalidBillingData
from billing.models import AllocationRun, Budget, BudgetStatus, EstimateLetter, LetterFileKind, RunStatus
from billing.statements import addressee
from core import audit, authz
from core.actor import Actor
from core.calendar import date_ja, fiscal_year_ja, fiscal_year_of, today_jst
from core.errors import Unavailable
from tenancy.registry.prefecture import require_settings
from usage.metering import usage_totals


@dataclasses.dataclass(frozen=True)
class EstimateLine:
    tenant_code: str
    tenant_name: str
    amount: int
    components: dict[str, int]
    basis: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Estimate:
    """A year's estimate as it stands now: what the letters would say."""

    fiscal_year: int
    lines: tuple[EstimateLine, ...]
    assumptions: dict[str, Any]

    @property
    def municipal_total(self) -> int:
        return sum(line.amount for line in self.lines)


def _budget(session: Session, fiscal_year: int) -> Budget:
    """The year's adopted budget, else its newest draft."""
    budget = adopted_budget(session, fiscal_year) or session.scalars(
        sa.select(Budget).where(Budget.fiscal_year == fiscal_year, Budget.status == BudgetStatus.draft)
        .order_by(Budget.version.desc())).first()
    if budget is None:
        raise BillingConflict(
            f"FY{fiscal_year} has no budget yet: enter its budget (a draft is enough) before estimating",
            f"{fiscal_year_ja(fiscal_year)}の予算が登録されていません。見込額を出す前に予算（案でも可）を登録してください。",
            fiscal_year=fiscal_year)
    return budget


def compute_estimate(session: Session, actor: Actor, fiscal_year: int) -> Estimate:
    """The year's 負担金見込額 per municipality now (reads only)."""
    operations.require_all_tenants(actor)
    budget = _budget(session, fiscal_year)
    policy = adopted_policy(session)
    if policy is None:
        raise BillingConflict("no allocation policy is adopted", "採用中の按分方式がありません。")
    amounts = budget_lines(session, budget)
    costs = [allocation.CostItem(id=f"budget:{category}", category=category, amount=amount)
             for category, amount in amounts.items() if amount]
    if not costs:
        raise BillingConflict(f"the budget of FY{fiscal_year} has no amount", "予算に金額がありません。")
    value, prefecture, participants, tenants = _snapshot_inputs(session, fiscal_year, policy, "with_applicants")
    usage_year = fiscal_year - 1
    metrics = [component.metric for component in value.components if component.metric is not None]
    totals = {metric: usage_totals(session, metric, usage_year) for metric in metrics}
    participants = [dataclasses.replace(p, months=allocation.MONTHS_IN_YEAR,
                                        usage={metric: totals[metric].get(p.code, 0) for metric in metrics})
                    for p in participants]
    if not participants:
        raise BillingConflict("no municipality is registered to estimate for", "見込額を出す市町村が登録されていません。")
    grants = year_grants(session, fiscal_year)
    try:
        result = allocation.allocate_costs(costs, participants, value, prefecture.code if prefecture else None,
                                           [grant_value(grant) for grant in grants])
    except AllocationError as error:
        raise BillingConflict(error.message_en, error.message_ja) from None
    shares = {share.id: share.amount for share in result.grants}
    usage_of = {p.code: p.usage for p in participants}
    lines = []
    for line in result.lines:
        if line.is_prefecture:
            continue
        tenant = tenants[line.code]
        lines.append(EstimateLine(line.code, tenant.name_ja, line.amount, dict(line.components), {
            "population": tenant.population, "population_source": tenant.population_source,
            "months": line.months, "usage": dict(usage_of[line.code])}))
    assumptions = {
        "budget": {"id": budget.id, "version": budget.version, "status": BudgetStatus(budget.status).value,
                   "amounts": amounts, "total": sum(amounts.values())},
        "policy": policy_summary(policy),
        "cost_total": result.cost_total,
        "grants": [{"name": grant.name, "rate": grant_summary(grant)["rate"], "amount": shares.get(str(grant.id), 0),
                    "basis": "交付決定額" if grant.decided_amount is not None else "申請額"} for grant in grants],
        "grant_total": result.grant_total,
        "shared_total": result.total,
        "prefecture_share": next((line.amount for line in result.lines if line.is_prefecture), 0),
        "population_as_of": today_jst().isoformat(),
        "usage_year": usage_year,
        "months": allocation.MONTHS_IN_YEAR,
    }
    return Estimate(fiscal_year, tuple(lines), assumptions)


def _latest_version(session: Session, fiscal_year: int) -> int:
    return session.scalar(sa.select(sa.func.max(EstimateLetter.version)).where(EstimateLetter.fiscal_year == fiscal_year)) or 0


def issue_estimates(session: Session, actor: Actor, fiscal_year: int, *, billing_month: str,
                    issued_on: dt.date | None = None) -> list[EstimateLetter]:
    """Number and keep one 負担金見込額 letter per municipality (a new version; earlier ones stay), audited.
    ``billing_month`` (``YYYY-MM``) is when the 概算 納入通知書 is expected to go out."""
    authz.authorize(actor, "billing.manage")
    try:
        month = dt.date.fromisoformat(f"{billing_month}-01")
    except (TypeError, ValueError):
        month = None
    if month is None or fiscal_year_of(month) != fiscal_year:
        raise InvalidBillingData(
            f"the billing month must be a month of FY{fiscal_year} (YYYY-MM)",
            f"概算の請求月は{fiscal_year_ja(fiscal_year)}中の年月で入力してください（例: {fiscal_year}-06）。",
            problems=[{"field": "billing_month", "message_en": f"A month of FY{fiscal_year}, e.g. {fiscal_year}-06.",
                       "message_ja": f"{fiscal_year_ja(fiscal_year)}中の年月（例: {fiscal_year}-06）"}])
    _refuse_if_charged(session, fiscal_year)
    estimate = compute_estimate(session, actor, fiscal_year)
    settings = require_settings(session)
    issued_on = issued_on or today_jst()
    number_year = fiscal_year_of(issued_on)
    version = _latest_version(session, fiscal_year) + 1
    assumptions = {**estimate.assumptions, "billing_month": billing_month}
    letters = []
    sequences = documents.next_sequences(session, number_year)
    for line in estimate.lines:
        sequence = next(sequences)
        letter = EstimateLetter(
            fiscal_year=fiscal_year, version=version, tenant_code=line.tenant_code, tenant_name=line.tenant_name,
            amount=line.amount, components_json=json.dumps(line.components), basis_json=json.dumps(line.basis, ensure_ascii=False),
            assumptions_json=json.dumps(assumptions, ensure_ascii=False), number_year=number_year, sequence=sequence,
            number=f"{settings.document_symbol}第{sequence}号", issued_on=issued_on, issued_by=actor.recorded_name)
        session.add(letter)
        session.flush()
        letters.append(letter)
    files = {letter.tenant_code: _keep_file(session, letter, settings).sha256 for letter in letters}
    audit.record(session, actor, "billing.estimate.issue", "fiscal_year", str(fiscal_year), after={
        "fiscal_year": fiscal_year, "version": version, "issued_on": issued_on.isoformat(),
        "billing_month": billing_month, "budget_id": assumptions["budget"]["id"],
        "amounts": {letter.tenant_code: letter.amount for letter in letters},
        "document_numbers": {letter.tenant_code: letter.number for letter in letters},
        "files_sha256": files})
    return letters


def _refuse_if_charged(session: Session, fiscal_year: int) -> None:
    """An estimate is for a year not charged yet: once a run of the year is posted (概算 or 確定), the
    municipalities have their 納入通知書 and an estimate would only contradict it."""
    charged = session.scalars(sa.select(AllocationRun).where(AllocationRun.fiscal_year == fiscal_year,
                                                            AllocationRun.status == RunStatus.approved)).first()
    if charged is not None:
        raise BillingConflict(
            f"FY{fiscal_year} is charged already (run #{charged.id} is posted): estimates are for a year not charged yet",
            f"{fiscal_year_ja(fiscal_year)}は按分計算 #{charged.id} により負担金を計上済みです。"
            "負担金見込額は、まだ負担金を計上していない年度についてのみ通知できます。",
            run_id=charged.id, fiscal_year=fiscal_year)


def _render(letters: list[EstimateLetter], settings) -> bytes:
    try:
        import weasyprint
    except OSError as error:  # Pango missing: say what to install, never a 500
        raise Unavailable(f"PDF letters need Pango on the server: {error}",
                          "PDF を作るためのライブラリ（Pango）がサーバーにありません。管理者に連絡してください。") from None
    title = html.escape(f"{fiscal_year_ja(letters[0].fiscal_year)} 負担金見込額通知")
    body = "".join(estimate_html(letter, settings) for letter in letters)
    return weasyprint.HTML(string=f'<!DOCTYPE html><html lang="ja"><head><meta charset="utf-8"><title>{title}</title>'
                                  f"<style>{documents.LETTER_STYLE}</style></head><body>{body}</body></html>").write_pdf()


def _keep_file(session: Session, letter: EstimateLetter, settings):
    return letter_files.keep(session, LetterFileKind.estimate, letter.id, edition=0, number=letter.number,
                             tenant_code=letter.tenant_code, fiscal_year=letter.fiscal_year,
                             content=_render([letter], settings))


def issued_estimates(session: Session, actor: Actor, fiscal_year: int, version: int | None = None) -> list[EstimateLetter]:
    """The letters of the year's latest version (or of ``version``), by tenant code."""
    operations.require_all_tenants(actor)
    version = version or _latest_version(session, fiscal_year)
    return list(session.scalars(sa.select(EstimateLetter).where(EstimateLetter.fiscal_year == fiscal_year,
                                                                EstimateLetter.version == version)
                                .order_by(EstimateLetter.tenant_code)))


def estimate_summary(letter: EstimateLetter) -> dict[str, Any]:
    return {"fiscal_year": letter.fiscal_year, "version": letter.version, "tenant_code": letter.tenant_code,
            "tenant_name": letter.tenant_name, "amount": letter.amount, "components": json.loads(letter.components_json),
            "basis": json.loads(letter.basis_json), "assumptions": json.loads(letter.assumptions_json),
            "number": letter.number, "issued_on": letter.issued_on.isoformat(), "issued_by": letter.issued_by}


# --- the letter -----------------------------------------------------------------------------------------

def _assumption_rows(letter: EstimateLetter) -> list[tuple[str, str]]:
    from billing.allocation_policies import basis_label_ja

    assumptions, basis = json.loads(letter.assumptions_json), json.loads(letter.basis_json)
    budget = assumptions["budget"]
    status = "議決済み" if budget["status"] == BudgetStatus.adopted.value else "案"
    rows = [("予算", f"第{budget['version']}版（{status}）　事業費 {assumptions['cost_total']:,}円")]
    for grant in assumptions["grants"]:
        rows.append((f"交付金（{grant['name']}）", f"補助率 {grant['rate']}、充当見込額 {grant['amount']:,}円（{grant['basis']}による）"))
    rows.append(("負担対象額（見込）", f"{assumptions['shared_total']:,}円（うち県負担 {assumptions['prefecture_share']:,}円）"))
    rows.append(("按分方式", f"{assumptions['policy']['name']}（第{assumptions['policy']['version']}版）"))
    for name, amount in json.loads(letter.components_json).items():
        rows.append((f"内訳（{basis_label_ja(name)}）", f"{amount:,}円"))
    if basis.get("population") is not None:
        rows.append(("人口", f"{basis['population']:,}人（{basis.get('population_source') or '登録値'}、"
                            f"{date_ja(dt.date.fromisoformat(assumptions['population_as_of']))}現在の登録）"))
    rows.append(("参加月数", f"{assumptions['months']}か月（通年参加として算定）"))
    if basis.get("usage"):
        rows.append(("利用実績の期間", f"{fiscal_year_ja(assumptions['usage_year'])}の実績"))
    return rows


def _schedule_text(letter: EstimateLetter) -> str:
    assumptions = json.loads(letter.assumptions_json)
    month = dt.date.fromisoformat(f"{assumptions['billing_month']}-01")
    return (f"{date_ja(month)[:-2]}頃に概算による納入通知書を送付します。交付金の額の確定後に精算し、"
            "差額を追加納付または還付します。")


def estimate_html(letter: EstimateLetter, settings) -> str:
    e = html.escape
    era = fiscal_year_ja(letter.fiscal_year)
    issuer = documents.issuer_line(settings)
    rows = documents.rows_html(_assumption_rows(letter))
    return (
        f'<section class="letter">'
        f"{documents.letter_head(letter.number, letter.issued_on, addressee(letter.tenant_name), issuer, settings=settings)}"
        f"<h1>{e(era)} 連携基盤共同利用負担金見込額について（通知）</h1>"
        f"<p>{e(era)}の連携基盤共同利用負担金の見込額を下記のとおりお知らせします。予算要求の資料としてご活用ください。"
        "この額は見込みであり、実際の負担金は年度の事業費と交付金により算定します。</p>"
        f'<div class="due">負担金見込額　<strong>{e(documents.yen_in_words(letter.amount))}</strong>（{letter.amount:,}円）</div>'
        f"<h2>算定の前提</h2><table>{rows}</table>"
        f"<h2>今後の予定</h2><p>{e(_schedule_text(letter))}</p>"
        f"<h2>問い合わせ先</h2><p>{e(documents.contact_text(settings))}</p></section>"
    )


def estimates_pdf(session: Session, actor: Actor, letters: list[EstimateLetter]) -> bytes:
    """The letters as they were sent, one after another (each its kept file, never a new rendering)."""
    if not letters:
        raise BillingNotFound("no estimate has been issued for this year", "この年度の負担金見込額はまだ通知されていません。")
    files = []
    for letter in letters:
        def first_keep(kept, letter=letter) -> None:
            audit.record(session, actor, "billing.estimate.keep", "estimate_letter", letter.number,
                         tenant_code=letter.tenant_code, after={"document_number": letter.number,
                                                                "file_sha256": kept.sha256, "kept_later": True})

        files.append(letter_files.kept_or_render(
            session, LetterFileKind.estimate, letter.id, edition=0, number=letter.number, tenant_code=letter.tenant_code,
            fiscal_year=letter.fiscal_year, render=lambda letter=letter: _render([letter], require_settings(session)),
            on_first_keep=first_keep).content)
    return letter_files.bind(files)

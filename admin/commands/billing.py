"""`renkei billing ...`: the pure `simulate` command (billing.cli) plus the commands that need the database.

    renkei billing resolutions POLICY              the council resolutions that may adopt a policy
    renkei billing adopt POLICY [--resolution ID]  adopt a policy (a second officer, or a resolution)
    renkei billing run 2025 [--policy ID]          compute a run (snapshot + shares)
    renkei billing review RUN [--note TEXT]
    renkei billing approve RUN                     post to the ledger (again: posts nothing new)
    renkei billing reverse RUN --reason TEXT
    renkei billing runs [FY]
    renkei billing grant 2025 --name NAME --grantor 内閣府 --rate 1/2 --category run --decided 6000000 --decided-on 2025-06-01
    renkei billing grants [FY]                     the grants (交付金) of a year
    renkei billing grant-fix GRANT --amount 4500000 --on 2026-05-20   a grant's fixed amount (額の確定)
    renkei billing budget 2026 --build N --run N --overhead N [--ceiling N] [--reason TEXT]   draft a budget version
    renkei billing budget-actual 2026 [--format csv|xlsx|json] [-o FILE]                       the year's 予実
    renkei billing close 2025 / close-approve 2025     close a year (two people, from 1 June after it)
    renkei billing accounts 2025 [--format json|xlsx|pdf] [-o FILE]                           the year's 収支決算
    renkei billing statement 431001 2025 --format xlsx -o statement.xlsx
    renkei billing summary 2025 --format csv
    renkei billing trial-balance [--as-of 2026-03-31] [--fiscal-year 2025]

Each command commits once at the end, or rolls back and prints the problem in Japanese and
English (exit status 2 for invalid input, 1 otherwise). Every command acts for a named person:
``--as USERNAME`` (default: $RENKEI_ACTOR, else the operating-system user) in ``--role``
(default: finance-officer), recorded in the audit log.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.config import four_eyes
from admin.extensions import db
from billing.cli import billing_cli as group
from core.errors import DomainError
from admin.commands.acting import acting
from admin.commands.output import fail, write_output
from core import authz


def _fail(error: DomainError) -> None:
    db.session.rollback()
    fail(error)


def _show_run(run) -> None:
    from billing import allocation_policies, allocation_runs

    from billing.models import RunKind

    settles = f", settles run #{run.settles_run_id}" if run.settles_run_id else ""
    click.echo(f"run #{run.id} FY{run.fiscal_year} {RunKind(run.kind).ja} ({RunKind(run.kind).value}{settles}) "
               f"{run.status.value if hasattr(run.status, 'value') else run.status} total {run.total:,} yen")
    for line in allocation_runs.run_lines(db.session, run):
        components = ", ".join(f"{allocation_policies.basis_label_ja(b)} {a:,}" for b, a in json.loads(line.components_json).items())
        click.echo(f"  {line.tenant_code}  {line.tenant_name}\t{line.amount:>14,}  ({components})")


@group.command("resolutions")
@click.argument("policy_id", type=int)
@with_appcontext
@acting(authz.FINANCE)
def resolutions_command(policy_id: int, actor) -> None:
    """List the council resolutions that may stand for adopting policy POLICY_ID (for --resolution)."""
    from billing import allocation_policies

    try:
        choices = allocation_policies.resolutions_for_policy(db.session, actor, policy_id)
    except DomainError as error:
        _fail(error)
    if not choices:
        click.echo("No council resolution of this fiscal year can stand for adopting this policy.")
    for choice in choices:
        click.echo(f"{choice.id}\t{choice.label_ja}「{choice.title}」\t{choice.decided_at.date().isoformat()}")


@group.command("adopt")
@click.argument("policy_id", type=int)
@click.option("--resolution", "resolution_id", type=click.IntRange(1, 2**31 - 1),
              help="The council resolution that decided it (an id 'renkei billing resolutions' lists). "
                   "Without it, you must not be the finance officer who drafted the policy "
                   "(unless RENKEI_FOUR_EYES is off: a one-person office).")
@with_appcontext
@acting(authz.FINANCE)
def adopt_command(policy_id: int, resolution_id: int | None, actor) -> None:
    """Adopt policy POLICY_ID: the one the next allocation run uses (four eyes: a second finance
    officer, or the drafter with a council resolution)."""
    from billing import allocation_policies

    try:
        policy = allocation_policies.adopt_policy(db.session, actor, policy_id, resolution_id,
                                                  four_eyes=four_eyes(current_app.config))
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"Policy {policy.name} (version {policy.version}) adopted by {policy.adopted_by}"
               + (f" on {allocation_policies.resolution_text(db.session, policy.resolution_ref)}" if policy.resolution_ref else "")
               + ".")


@group.command("run")
@click.argument("fiscal_year", type=int)
@click.option("--policy", "policy_id", type=int, help="Policy version id (default: the adopted one).")
@click.option("--kind", type=click.Choice(["final", "provisional"]), default="final", show_default=True,
              help="final (確定): the year charged once; provisional (概算): settled after the grants are fixed.")
@with_appcontext
@acting(authz.FINANCE)
def run_command(fiscal_year: int, policy_id: int | None, kind: str, actor) -> None:
    """Compute an allocation run for FISCAL_YEAR from the registry and the year's cost items."""
    from billing import allocation_runs
    from billing.models import RunKind

    try:
        run = allocation_runs.create_run(db.session, actor, fiscal_year, policy_id, kind=RunKind(kind))
        db.session.commit()
    except DomainError as error:
        _fail(error)
    _show_run(run)


@group.command("settle")
@click.argument("fiscal_year", type=int)
@with_appcontext
@acting(authz.FINANCE)
def settle_command(fiscal_year: int, actor) -> None:
    """Compute FISCAL_YEAR's settlement (精算) from its posted provisional run, once its grants are fixed;
    review and approve it like any run to post each payer's difference."""
    from billing import allocation_runs

    try:
        run = allocation_runs.create_settlement(db.session, actor, fiscal_year)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    _show_run(run)


def _transition(name: str, actor, run_id: int, **kwargs) -> None:
    from billing import allocation_runs

    try:
        run = getattr(allocation_runs, f"{name}_run")(db.session, actor, run_id, **kwargs)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    _show_run(run)


@group.command("review")
@click.argument("run_id", type=int)
@click.option("--note", default="", help="What was checked.")
@with_appcontext
@acting(authz.FINANCE)
def review_command(run_id: int, note: str, actor) -> None:
    """Mark a computed run as reviewed."""
    _transition("review", actor, run_id, note=note, four_eyes=four_eyes(current_app.config))


@group.command("approve")
@click.argument("run_id", type=int)
@with_appcontext
@acting(authz.FINANCE)
def approve_command(run_id: int, actor) -> None:
    """Approve a reviewed run and post it to the ledger (approving again posts nothing new)."""
    _transition("approve", actor, run_id, four_eyes=four_eyes(current_app.config))


@group.command("reverse")
@click.argument("run_id", type=int)
@click.option("--reason", required=True, help="Why the run is reversed (kept with the run).")
@with_appcontext
@acting(authz.FINANCE)
def reverse_command(run_id: int, reason: str, actor) -> None:
    """Reverse a posted run with reversal entries; the run stays visible as reversed."""
    _transition("reverse", actor, run_id, reason=reason)


@group.command("runs")
@click.argument("fiscal_year", type=int, required=False)
@with_appcontext
@acting(authz.FINANCE)
def runs_command(fiscal_year: int | None, actor) -> None:
    """List allocation runs."""
    from billing import allocation_runs

    try:
        runs = allocation_runs.list_runs(db.session, actor, fiscal_year)
    except DomainError as error:
        _fail(error)
    for run in runs:
        summary = allocation_runs.run_summary(run)
        click.echo(f"#{run.id}\tFY{run.fiscal_year}\t{summary['status']}\t{summary['status_ja']}\t{run.total:>14,}")


@group.command("statement")
@click.argument("code")
@click.argument("fiscal_year", type=int)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "html", "json", "pdf"]), default="xlsx",
              show_default=True, help="pdf: the issued letter (納入通知書), one A4 page.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.FINANCE)
def statement_command(code: str, fiscal_year: int, fmt: str, output: Path | None, actor) -> None:
    """Write tenant CODE's statement (負担金通知) for FISCAL_YEAR, from the ledger."""
    from billing import statements

    from billing import documents

    try:
        letter = documents.issued_letter(db.session, actor, code, fiscal_year) if fmt == "pdf" else \
            documents.letter(db.session, actor, code, fiscal_year)
    except DomainError as error:
        _fail(error)
    built, rows = letter.statement, documents.letter_rows(letter)
    if fmt == "pdf":
        write_output(documents.letters_pdf(db.session, actor, [letter]), output)
        db.session.commit()  # a letter issued before files were kept keeps the file it was given now
    elif fmt == "xlsx":
        write_output(statements.to_xlsx(built, rows), output)
    elif fmt == "csv":
        write_output(statements.to_csv(built, rows), output)
    elif fmt == "html":
        write_output(statements.to_html(built, rows).encode("utf-8"), output)
    else:
        write_output((json.dumps(statements.statement_to_json(built), ensure_ascii=False, indent=2) + "\n").encode(), output)


@group.command("issue-letters")
@click.argument("run_id", type=int)
@click.option("--due", "due_on", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Payment deadline (納期限), YYYY-MM-DD; default: the settings' days after today.")
@with_appcontext
@acting(authz.FINANCE)
def issue_letters_command(run_id: int, due_on, actor) -> None:
    """Issue the letters (納入通知書) of posted run RUN_ID: each municipality's letter gets its number once."""
    from billing import documents

    try:
        issued = documents.issue_documents(db.session, actor, run_id, due_on=due_on.date() if due_on else None)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    for document in issued:
        click.echo(f"{document.tenant_code}\t{document.number}\t{document.issued_on}\t{document.due_on}")
    click.echo(f"{len(issued)} letter(s) issued" if issued else "every letter of this run was issued already")


@group.command("letters")
@click.argument("run_id", type=int)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="PDF file to write (default: stdout).")
@with_appcontext
@acting(authz.FINANCE)
def letters_command(run_id: int, output: Path | None, actor) -> None:
    """Write every issued letter of run RUN_ID as one PDF, one A4 page per municipality."""
    from billing import documents

    try:
        letters = documents.run_letters(db.session, actor, run_id)
    except DomainError as error:
        _fail(error)
    write_output(documents.letters_pdf(db.session, actor, letters), output)
    db.session.commit()  # a letter issued before files were kept keeps the file it was given now


@group.command("reissue-letter")
@click.argument("code")
@click.argument("fiscal_year", type=int)
@with_appcontext
@acting(authz.FINANCE)
def reissue_letter_command(code: str, fiscal_year: int, actor) -> None:
    """Reissue tenant CODE's letter for FISCAL_YEAR: the same number, marked 再発行."""
    from billing import documents

    try:
        document = documents.reissue_document(db.session, actor, code, fiscal_year)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"{document.number} reissued ({document.reissue_count})")


@group.command("summary")
@click.argument("fiscal_year", type=int)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path))
@with_appcontext
@acting(authz.FINANCE)
def summary_command(fiscal_year: int, fmt: str, output: Path | None, actor) -> None:
    """Every tenant's charge, payments and balance for FISCAL_YEAR."""
    from billing import statements

    try:
        built = statements.build_summary(db.session, actor, fiscal_year)
    except DomainError as error:
        _fail(error)
    if fmt == "xlsx":
        write_output(statements.summary_to_xlsx(built), output)
    elif fmt == "csv":
        write_output(statements.summary_to_csv(built), output)
    else:
        write_output((json.dumps(statements.summary_to_json(built), ensure_ascii=False, indent=2) + "\n").encode(), output)


@group.command("trial-balance")
@click.option("--as-of", type=click.DateTime(formats=["%Y-%m-%d"]), help="Include entries up to this date.")
@click.option("--fiscal-year", type=int)
@with_appcontext
@acting(authz.FINANCE)
def trial_balance_command(as_of: dt.datetime | None, fiscal_year: int | None, actor) -> None:
    """The trial balance (試算表): each account's debit or credit balance; the totals agree."""
    from billing import operations

    try:
        books = operations.trial_balance(db.session, actor, as_of=as_of.date() if as_of else None, fiscal_year=fiscal_year)
    except DomainError as error:
        _fail(error)
    for row in books.rows:
        click.echo(f"{row.code:<22} {row.name_ja}\t{row.debit:>16,}\t{row.credit:>16,}")
    click.echo(f"{'total':<22} 合計\t{books.total_debit:>16,}\t{books.total_credit:>16,}")
    if books.difference:
        click.echo(f"difference {books.difference:,}", err=True)
        raise SystemExit(1)


# --- grants (交付金) --------------------------------------------------------------------------------

def _grant_input(schema, data: dict):
    """The input model (a grant's, a budget's), or the refusal in words (exit status 2), nothing written."""
    from pydantic import ValidationError

    from billing.ledger_errors import InvalidBillingData
    from core.validation import problems_from

    try:
        return schema.model_validate(data)
    except ValidationError as error:
        _fail(InvalidBillingData("The input has problems; nothing was saved.", "入力に誤りがあります。保存していません。",
                                 problems=problems_from(error)))


def _show_grant(grant) -> None:
    from billing.grants import grant_summary

    summary = grant_summary(grant)
    cap = f"{summary['cap']:,}" if summary["cap"] is not None else "-"
    click.echo(f"#{grant.id}\tFY{grant.fiscal_year}\t{grant.name}\t{grant.grantor}\t{grant.rate}\t"
               f"{'・'.join(summary['categories_ja']) or '-'}\titems {summary['item_ids'] or '-'}\tcap {cap}\t"
               f"{summary['rounding_ja']}")


@group.command("grants")
@click.argument("fiscal_year", type=int, required=False)
@with_appcontext
@acting(authz.FINANCE)
def grants_command(fiscal_year: int | None, actor) -> None:
    """List the grants (交付金) of FISCAL_YEAR (every year without it), with what each funds."""
    from billing import grants

    try:
        found = grants.list_grants(db.session, actor, fiscal_year)
    except DomainError as error:
        _fail(error)
    for grant in found:
        _show_grant(grant)


@group.command("grant")
@click.argument("fiscal_year", type=int)
@click.option("--name", required=True, help="The grant's name, e.g. 新しい地方経済・生活環境創生交付金（デジタル実装型）.")
@click.option("--grantor", required=True, help="Who grants it, e.g. 内閣府.")
@click.option("--rate", required=True, help="補助率 as an exact fraction: 1/2, 2/3.")
@click.option("--category", "categories", multiple=True, type=click.Choice(["build", "run"]),
              help="A cost category the grant covers (repeat for both).")
@click.option("--item", "item_ids", multiple=True, type=click.IntRange(1, 2**31 - 1), help="A cost item id the grant covers.")
@click.option("--applied", "applied_amount", type=click.IntRange(0, 10**15), help="申請額 in yen.")
@click.option("--decided", "decided_amount", type=click.IntRange(0, 10**15), help="交付決定額 in yen (with --decided-on).")
@click.option("--decided-on", "decided_on", type=click.DateTime(formats=["%Y-%m-%d"]), help="Date of the decision.")
@click.option("--reference", "decision_reference", default="", help="Number of the decision notice.")
@click.option("--rounding", type=click.Choice(["yen", "thousand"]), default="yen", show_default=True,
              help="As the 交付要綱 says: yen (1円単位) or thousand (千円未満切捨て).")
@click.option("--fixed-decides", "fixed_amount_authoritative", is_flag=True,
              help="The notice of the fixed amount (額の確定) decides what the grant funds.")
@with_appcontext
@acting(authz.FINANCE)
def grant_command(fiscal_year: int, actor, **fields) -> None:
    """Enter a grant of FISCAL_YEAR: the municipalities then share what it leaves."""
    from billing import grants
    from billing.schemas import GrantCreate

    fields["categories"], fields["item_ids"] = list(fields["categories"]), list(fields["item_ids"])
    if fields["decided_on"] is not None:
        fields["decided_on"] = fields["decided_on"].date()
    data = _grant_input(GrantCreate, {"fiscal_year": fiscal_year, **fields})
    try:
        grant = grants.create_grant(db.session, actor, data)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    _show_grant(grant)


@group.command("grant-fix")
@click.argument("grant_id", type=int)
@click.option("--amount", "fixed_amount", required=True, type=click.IntRange(0, 10**15), help="確定額 in yen.")
@click.option("--on", "fixed_on", required=True, type=click.DateTime(formats=["%Y-%m-%d"]), help="Date the amount was fixed.")
@with_appcontext
@acting(authz.FINANCE)
def grant_fix_command(grant_id: int, fixed_amount: int, fixed_on: dt.datetime, actor) -> None:
    """Record a grant's fixed amount (額の確定) after the year's report on results."""
    from billing import grants
    from billing.schemas import GrantFix

    data = _grant_input(GrantFix, {"fixed_amount": fixed_amount, "fixed_on": fixed_on.date()})
    try:
        grant = grants.fix_grant(db.session, actor, grant_id, data)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    _show_grant(grant)


# --- budgets (予算) ----------------------------------------------------------------------------------

@group.command("budget")
@click.argument("fiscal_year", type=int)
@click.option("--build", type=click.IntRange(0, 10**15), help="構築費 in yen.")
@click.option("--run", "run_cost", type=click.IntRange(0, 10**15), help="運用費 in yen.")
@click.option("--overhead", type=click.IntRange(0, 10**15), help="一般管理費 in yen (at most 10 % of the rest).")
@click.option("--ceiling", "contract_ceiling", type=click.IntRange(0, 10**15), help="委託上限額 in yen, tax included.")
@click.option("--reason", default="", help="Why: required for a revision (補正) of a year that has a budget.")
@with_appcontext
@acting(authz.FINANCE)
def budget_command(fiscal_year: int, build, run_cost, overhead, contract_ceiling, reason: str, actor) -> None:
    """Draft a budget version of FISCAL_YEAR; the council adopts it (change type adopt_budget)."""
    from billing import budgets
    from billing.schemas import BudgetCreate

    amounts = {name: value for name, value in (("build", build), ("run", run_cost), ("overhead", overhead))
               if value is not None}
    data = _grant_input(BudgetCreate, {"fiscal_year": fiscal_year, "amounts": amounts,
                                       "contract_ceiling": contract_ceiling, "reason": reason})
    try:
        budget = budgets.draft_budget(db.session, actor, data)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    summary = budgets.budget_summary(db.session, budget)
    click.echo(f"#{budget.id}\tFY{budget.fiscal_year}\tversion {budget.version}\t{summary['status_ja']}\t"
               f"total {summary['total']:,}")


@group.command("budget-actual")
@click.argument("fiscal_year", type=int)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "csv", "json"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.FINANCE)
def budget_actual_command(fiscal_year: int, fmt: str, output: Path | None, actor) -> None:
    """The year's budget against actual (予実) per cost category."""
    from billing import budgets
    from core.spreadsheet import csv_bytes

    try:
        report = budgets.budget_actual(db.session, actor, fiscal_year)
    except DomainError as error:
        _fail(error)
    if fmt == "xlsx":
        write_output(budgets.budget_actual_xlsx(report), output)
    elif fmt == "json":
        write_output(json.dumps(budgets.budget_json(report), ensure_ascii=False, indent=2).encode() + b"\n", output)
    else:
        write_output(csv_bytes(budgets.budget_actual_rows(report)), output)


# --- the year's close (決算) ---------------------------------------------------------------------------

def _close_step(name: str, fiscal_year: int, actor, **kwargs) -> None:
    from billing import year_close

    try:
        close = getattr(year_close, name)(db.session, actor, fiscal_year, **kwargs)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    summary = year_close.close_summary(close, fiscal_year)
    click.echo(f"FY{fiscal_year}\t{summary['status']}\t{summary['status_ja']}"
               + (f"\tSHA-256 {summary['statement_sha256']}" if summary.get("statement_sha256") else ""))


@group.command("close")
@click.argument("fiscal_year", type=int)
@with_appcontext
@acting(authz.FINANCE)
def close_command(fiscal_year: int, actor) -> None:
    """Ask to close FISCAL_YEAR (from 1 June after it); a second finance officer closes it (close-approve)."""
    _close_step("request_close", fiscal_year, actor)


@group.command("close-approve")
@click.argument("fiscal_year", type=int)
@with_appcontext
@acting(authz.FINANCE)
def close_approve_command(fiscal_year: int, actor) -> None:
    """Close FISCAL_YEAR (not the officer who asked): nothing dated in it can be written afterwards."""
    _close_step("close_year", fiscal_year, actor, four_eyes=four_eyes(current_app.config))


@group.command("accounts")
@click.argument("fiscal_year", type=int)
@click.option("--format", "fmt", type=click.Choice(["xlsx", "pdf", "json"]), default="json", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.FINANCE)
def accounts_command(fiscal_year: int, fmt: str, output: Path | None, actor) -> None:
    """The year's 収支決算 (revenue by source, expenditure by category, balance)."""
    from billing import year_close

    try:
        accounts = year_close.accounts_of_year(db.session, actor, fiscal_year)
    except DomainError as error:
        _fail(error)
    close = year_close.year_close(db.session, fiscal_year)
    if fmt == "xlsx":
        write_output(year_close.accounts_xlsx(accounts, close), output)
    elif fmt == "pdf":
        write_output(year_close.accounts_pdf(accounts, close), output)
    else:
        write_output(json.dumps(accounts.as_json(), ensure_ascii=False, indent=2).encode() + b"\n", output)


@group.command("estimates")
@click.argument("fiscal_year", type=int)
@click.option("--issue", is_flag=True, help="Issue the letters (a new numbered version; earlier ones are kept).")
@click.option("--billing-month", help="With --issue: the month the 概算 納入通知書 goes out (YYYY-MM, of FISCAL_YEAR).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the issued letters (the latest version) as one PDF to this file.")
@with_appcontext
@acting(authz.FINANCE)
def estimates_command(fiscal_year: int, issue: bool, billing_month: str | None, output: Path | None, actor) -> None:
    """FISCAL_YEAR's 負担金見込額 per municipality, from its budget and expected grants (for budget requests)."""
    from billing import estimates

    try:
        if issue:
            estimates.issue_estimates(db.session, actor, fiscal_year, billing_month=billing_month or "")
            db.session.commit()
        issued = estimates.issued_estimates(db.session, actor, fiscal_year)
        if not issued:
            found = estimates.compute_estimate(db.session, actor, fiscal_year)
            click.echo(f"FY{fiscal_year} estimate (not issued yet): shared {found.assumptions['shared_total']:,} yen")
            for line in found.lines:
                click.echo(f"  {line.tenant_code}  {line.tenant_name}\t{line.amount:>14,}")
            return
        click.echo(f"FY{fiscal_year} estimates, version {issued[0].version}, issued {issued[0].issued_on}")
        for letter in issued:
            click.echo(f"  {letter.number}\t{letter.tenant_code}  {letter.tenant_name}\t{letter.amount:>14,}")
        if output is not None:
            write_output(estimates.estimates_pdf(db.session, actor, issued), output)
            db.session.commit()
    except DomainError as error:
        _fail(error)

"""Onboarding waves: a year's municipalities applied, screened, approved and provisioned from one file.

:func:`parse_wave_csv` validates a whole file first (nothing is written if a row is wrong);
:func:`run_wave` then applies, screens, approves and provisions each municipality
(:func:`tenancy.onboarding.saga.provision`), up to :data:`WAVE_WORKERS` at once on PostgreSQL (each
worker its own session and Keycloak client; the shared default quota plans are made before the
fan-out), one at a time on SQLite. One municipality's failure is recorded in its
:class:`WaveOutcome` and does not stop the others. :func:`run_wave` commits its checkpoints itself,
as the saga does (see :mod:`tenancy.onboarding.saga`).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import logging
import re
import threading
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import scoped_session, Session

from core import audit, authz, codes as code_rules, csvfile
from core.actor import Actor
from core.calendar import (FIRST_FISCAL_YEAR, fiscal_year_ja, is_supported_fiscal_year, LAST_FISCAL_YEAR,
                           read_fiscal_year)
from core.errors import DomainError, problem
from core.validation import problems_from
from tenancy.errors import ImportRejected, TenantExists
from tenancy.identity.keycloak import IdentityDirectory
from tenancy.onboarding import lifecycle
from tenancy.onboarding.lifecycle import admin_contact, get_tenant, SCREENING, SCREENING_ITEMS
from tenancy.onboarding.saga import _commits, Checkpoint, onboarding_record, provision, retry
from tenancy.registry.importing import EXPORT_HEADERS_JA, HEADER_ALIASES, reference_municipalities
from tenancy.registry.models import Tenant, TenantStatus
from tenancy.registry.operations import find_tenant, update_tenant
from tenancy.registry.schemas import ContactIn, TenantCreate, TenantUpdate
from usage import quota_plans
from usage.models import QuotaPlan

log = logging.getLogger(__name__)


# The columns a wave file shares with a tenant import are named as the registry names them.
_SHARED_WITH_IMPORT = ("code", "name_ja", "contact_name", "contact_department", "contact_email", "contact_phone")
WAVE_HEADERS: dict[str, str] = {name: f for name, f in HEADER_ALIASES.items() if f in _SHARED_WITH_IMPORT} | {
    "admin_username": "admin_username", "管理者ユーザー名": "admin_username",
    "application_received": "application_received", "申込書受領": "application_received",
    "eligibility_confirmed": "eligibility_confirmed", "参加資格確認": "eligibility_confirmed",
    "no_antisocial_ties": "no_antisocial_ties", "反社会的勢力でないことの確認": "no_antisocial_ties",
    "agreements_accepted": "agreements_accepted", "協定同意": "agreements_accepted",
}
WAVE_COLUMNS_JA = {f: EXPORT_HEADERS_JA[f] for f in _SHARED_WITH_IMPORT} | {
    "admin_username": "管理者ユーザー名",
    "application_received": "申込書受領", "eligibility_confirmed": "参加資格確認",
    "no_antisocial_ties": "反社会的勢力でないことの確認", "agreements_accepted": "協定同意",
}
REQUIRED_WAVE_COLUMNS = ("code", "contact_name", "contact_email")
WAVE_COLUMNS = csvfile.Columns(WAVE_HEADERS, required=REQUIRED_WAVE_COLUMNS, labels_ja=WAVE_COLUMNS_JA,
                               max_rows=csvfile.IMPORT_MAX_ROWS)
YES = {"済", "確認済", "○", "〇", "yes", "y", "true", "1", "done"}
NO = {"", "未", "未確認", "×", "no", "n", "false", "0"}
USERNAME_PATTERN = re.compile(r"^[a-z0-9._@-]{3,64}$")


@dataclasses.dataclass(frozen=True)
class WaveRow:
    line: int
    code: str
    contact: ContactIn
    admin_username: str = ""
    confirmed: frozenset[str] = frozenset()  # screening items confirmed in the file


@dataclasses.dataclass
class WaveOutcome:
    code: str
    name_ja: str
    status: str
    ok: bool
    failed_step: str = ""
    message_en: str = ""
    message_ja: str = ""


def parse_fiscal_year(text: str) -> int:
    """``FY2025``, ``2025``, ``R7``, ``令和7年度`` → 2025 (also 平成/H years; the reading is
    :func:`core.calendar.read_fiscal_year`), within the supported years, or ImportRejected in words."""
    year = read_fiscal_year(text)
    if year is not None:
        if not is_supported_fiscal_year(year):
            first, last = FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
            raise ImportRejected(
                f"{text!r} is outside the supported fiscal years FY{first}-FY{last}.",
                f"{text!r} は対象外の年度です（{fiscal_year_ja(first)}（{first}年度）から{last}年度まで）。",
                problems=[problem("fiscal_year", f"Outside FY{first}-FY{last}.", f"{first}〜{last}年度の範囲外です。")])
        return year
    raise ImportRejected(f"{text!r} is not a fiscal year (write FY2025, 2025 or 令和7年度).",
                         f"{text!r} は年度として読めません（FY2025、2025、令和7年度 のように指定してください）。",
                         problems=[problem("fiscal_year", "Not a fiscal year.", "年度の形式ではありません。")])


def parse_wave_csv(source: csvfile.Source) -> list[WaveRow]:
    """Rows of a wave file (UTF-8 with or without BOM, or CP932), every row checked; all problems raised together.

    ``source``: the file's bytes or text, its path or an upload's binary stream, read row by row in
    one pass (a path or stream is never held whole); once a row fails, checked rows are no longer kept.
    """
    problems = csvfile.Problems()  # the first ones listed, all counted: the report stays small
    rows: list[WaveRow] = []
    seen: dict[str, int] = {}
    for row in csvfile.source_rows(source, WAVE_COLUMNS, rejected=ImportRejected):
        line, where, cells = row.line, row.where, row.values
        if row.problems:
            problems.add(*row.problems)
            continue
        code = cells.get("code", "")
        row_problems = []
        issue = code_rules.code_problem(code)
        if issue:
            row_problems.append(problem(f"{where}: code", issue[0], issue[1]))
        elif code in seen:
            row_problems.append(problem(f"{where}: code", f"Code {code} also appears on line {seen[code]}.",
                                        f"団体コード {code} は {seen[code]} 行目と重複しています。"))
        try:
            contact = ContactIn(role="admin", name=cells.get("contact_name", ""), department=cells.get("contact_department", ""),
                                email=cells.get("contact_email", ""), phone=cells.get("contact_phone", ""))
        except ValidationError as error:
            contact = None
            row_problems += [problem(f"{where}: contact_{p['field']}", p["message_en"], p["message_ja"]) for p in problems_from(error)]
        username = cells.get("admin_username", "").lower()
        if username and not USERNAME_PATTERN.match(username):
            row_problems.append(problem(f"{where}: admin_username", "Use 3-64 characters: a-z, 0-9, '.', '_', '@', '-'.",
                                        "3〜64 文字の半角英小文字・数字・「. _ @ -」で指定してください。"))
        confirmed = set()
        for entry in SCREENING_ITEMS:
            value = unicodedata.normalize("NFKC", cells.get(entry.key, "")).strip().lower()
            if value in YES or cells.get(entry.key, "").strip() in YES:
                confirmed.add(entry.key)
            elif value not in NO and cells.get(entry.key, "").strip() not in NO:
                row_problems.append(problem(f"{where}: {entry.key}", f"Write 済 (done) or leave empty, not {cells[entry.key]!r}.",
                                            f"「済」と記入するか空欄にしてください（{cells[entry.key]!r} は読めません）。"))
        if row_problems:
            problems.add(*row_problems)
            continue
        seen[code] = line
        if not problems:  # after a failure nothing will run: keep no rows
            rows.append(WaveRow(line, code, contact, username, frozenset(confirmed)))
    if not rows and not problems:
        problems.add(csvfile.no_data_rows())
    if problems:
        listed_en, listed_ja = problems.summary()
        raise ImportRejected(
            f"{problems.total:,} problem(s) found in the wave file{listed_en}; nothing was done. Correct the lines named and run the whole file again.",
            f"参加募集ファイルに {problems.total:,} 件の誤りがあります{listed_ja}。何も処理していません。該当行を修正し、ファイル全体をもう一度実行してください。",
            **problems.details())
    return rows


def validate_wave(session: Session, fiscal_year: int, rows: Sequence[WaveRow]) -> frozenset[str]:
    """Checks against the registry, all rows first: nothing runs if one row cannot. Returns the
    codes of the rows that are registered already (the others are registered by the wave)."""
    problems = []
    registered = {t.code: t for t in session.scalars(  # one query for the whole file
        sa.select(Tenant).where(Tenant.code.in_(sorted({row.code for row in rows}))).options(sa.orm.lazyload(Tenant.contacts)))}
    for row in rows:
        where = f"line {row.line}: code"
        tenant = registered.get(row.code)
        if tenant is None:
            if row.code not in reference_municipalities():
                problems.append(problem(where, f"{row.code} is neither registered nor in the reference data; register it first (renkei tenants import).",
                                        f"{row.code} は登録も参照データもありません。先に参加団体として登録してください（renkei tenants import）。"))
            continue
        if tenant.status in (TenantStatus.suspended, TenantStatus.withdrawn):
            problems.append(problem(where, f"{row.code} is {tenant.status.value}; a wave does not bring it back (resume, or re-apply first).",
                                    f"{row.code} は「{lifecycle.status_label(tenant.status)}」のため参加募集では扱えません（利用再開または再申請を先に行ってください）。"))
        elif tenant.wave_fiscal_year not in (None, fiscal_year):
            problems.append(problem(where, f"{row.code} belongs to wave FY{tenant.wave_fiscal_year}, not FY{fiscal_year}.",
                                    f"{row.code} は {tenant.wave_fiscal_year} 年度の参加募集に登録されています。"))
    if problems:
        raise ImportRejected(
            f"{len(problems)} row(s) cannot be onboarded; nothing was done.",
            f"{len(problems)} 行は参加手続きを進められません。何も処理していません。",
            problems=problems)
    return frozenset(registered)


def _prepare(session: Session, actor: Actor, fiscal_year: int, row: WaveRow, *, unregistered: bool = False) -> Tenant:
    """The tenant of ``row``, registered (as applied) or updated for the wave. ``unregistered``: the
    wave's check (one query for the whole file) found no tenant of this code, so it is not looked up
    again; one registered since is refused by the registration before it writes, and then found."""
    tenant = None if unregistered else find_tenant(session, row.code)
    registered = False
    if tenant is None:
        ref = reference_municipalities()[row.code]
        data = TenantCreate(code=row.code, name_ja=ref["name_ja"], name_en=ref["name_en"], kind=ref["kind"],
                            population=int(ref["population"]), population_source=ref["population_source"],
                            wave_fiscal_year=fiscal_year, contacts=[row.contact])
        try:
            tenant = lifecycle.register_application(session, actor, data, f"{fiscal_year_ja(fiscal_year)} 参加募集")
            registered = True
        except TenantExists:  # registered by someone else since the wave was checked
            tenant = find_tenant(session, row.code)
            if tenant is None:
                raise
    if not registered:
        changes: dict[str, Any] = {}
        if tenant.wave_fiscal_year is None:
            changes["wave_fiscal_year"] = fiscal_year
        if admin_contact(tenant) is None:
            changes["contacts"] = [row.contact] + [ContactIn.model_validate(c, from_attributes=True) for c in tenant.contacts]
        if changes:
            tenant = update_tenant(session, actor, row.code, TenantUpdate(**changes))
    if row.admin_username:
        onboarding_record(session, tenant).admin_username = row.admin_username
        session.flush()
    return tenant


def onboard(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, row: WaveRow, *,
            checkpoint: Checkpoint | None = None, unregistered: bool = False) -> WaveOutcome:
    """One municipality of a wave, as far as it can go (see the module docstring).

    The database-only stages (registration, screening, the confirmed items, approval, the start of
    provisioning) are committed together, before the first Keycloak step: a failure or crash
    before that commit rolls them back together and running the wave again repeats them, each
    being idempotent; a refused move commits what came before it, so the registration and the
    confirmations stay on record. From the start of provisioning on, the saga commits as
    :func:`provision` does. ``unregistered``: the wave found no tenant of this code (see :func:`_prepare`)."""
    checkpoint = _commits(session, checkpoint)
    tenant = _prepare(session, actor, fiscal_year, row, unregistered=unregistered)
    code = tenant.code
    reason = f"{fiscal_year_ja(fiscal_year)} 参加募集"
    try:
        if tenant.status == TenantStatus.applied:
            lifecycle.screen(session, actor, code, reason)
        if get_tenant(session, code).status == TenantStatus.screening:
            lifecycle.check_items(session, actor, code, SCREENING, sorted(row.confirmed), note=reason)
            lifecycle.approve(session, actor, code, reason)
    except DomainError:
        # a refusal (a guard) is raised before its move writes anything: what came before it stays
        # on record (the registration, the confirmations), as when every stage was committed
        checkpoint()
        raise
    name_ja, status = tenant.name_ja, get_tenant(session, code).status
    outcome = None
    if status == TenantStatus.approved:
        outcome = provision(session, actor, directory, code, checkpoint=checkpoint, reason=reason)
    elif status == TenantStatus.provisioning:
        outcome = retry(session, actor, directory, code, checkpoint=checkpoint)
    else:
        checkpoint()  # nothing to provision (e.g. active from an earlier run): what _prepare changed is kept
    status = TenantStatus(outcome.status if outcome is not None else status)  # the saga's last word, committed
    if outcome is not None and outcome.waiting_for:
        # provisioned; activation waits for the municipality itself (its admin accepts the agreements)
        return WaveOutcome(code, name_ja, status.value, True,
                           message_en="provisioned; activation waits for the agreements to be accepted",
                           message_ja="環境構築済み。協定への同意後に利用開始となります：" + "、".join(outcome.waiting_for))
    return WaveOutcome(code, name_ja, status.value, status == TenantStatus.active)


# Municipalities of a wave provisioned at once on PostgreSQL (a bounded pool: each worker holds a
# database connection and makes Keycloak calls, so this also bounds the load put on both).
WAVE_WORKERS = 4


def run_wave(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, rows: Sequence[WaveRow], *,
             progress: Callable[[WaveOutcome], None] | None = None,
             checkpoint: Checkpoint | None = None, workers: int | None = None) -> list[WaveOutcome]:
    """Onboard every row; one failure is recorded in its outcome and does not stop the others.
    The outcomes come back in the file's order.

    ``workers`` municipalities at once (default :data:`WAVE_WORKERS` on PostgreSQL, one at a time on
    SQLite, whose single writer gains nothing from threads); ``progress`` is called in the caller's
    thread as each municipality finishes. Each worker has a session of its own on the same
    database, and commits its municipality as :func:`onboard` does (the database stages together
    before the first Keycloak step, then the steps with the activation), so resuming after a failure or a crash is the same
    as one at a time. The rows shared by every tenant (the
    default quota plans) are created once before the fan-out. With a ``checkpoint`` given (tests
    acting between two steps) the wave runs one at a time in ``session``.

    The wave is one administrative act and gets one audit record (``onboarding.wave``) holding
    every municipality's acts as steps (:func:`core.audit.part_of_act` for the workers).
    """
    if workers is None:
        workers = WAVE_WORKERS
    if checkpoint is not None or session.get_bind().dialect.name != "postgresql":
        workers = 1
    checkpoint = _commits(session, checkpoint)
    with audit.act(session, actor, "onboarding.wave", "wave", f"FY{fiscal_year}", persist=checkpoint):
        return _run_wave(session, actor, directory, fiscal_year, rows, checkpoint=checkpoint, progress=progress,
                         workers=max(1, min(workers, len(rows))))


def _onboard_or_fail(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, row: WaveRow,
                     checkpoint: Checkpoint, unregistered: bool = False) -> WaveOutcome:
    try:
        return onboard(session, actor, directory, fiscal_year, row, checkpoint=checkpoint, unregistered=unregistered)
    except Exception as error:  # noqa: BLE001  (one municipality's failure must not stop the wave)
        session.rollback()
        return _failed(session, fiscal_year, row, error)


def _worker_directory(directory: IdentityDirectory) -> IdentityDirectory:
    """A directory for a worker thread (its own HTTP session and token, the answers already known
    shared: :meth:`IdentityDirectory.sibling`); test doubles are shared as they are."""
    return directory.sibling() if isinstance(directory, IdentityDirectory) else directory


def _onboard_in_worker(session: Session, bind: sa.engine.Engine | sa.engine.Connection, actor: Actor,
                       directory: IdentityDirectory, fiscal_year: int, row: WaveRow, unregistered: bool) -> WaveOutcome:
    """One municipality in a worker thread: its own session on the wave's database (``bind``, found
    in the caller's thread), its records steps of the act of ``session``, the wave's own."""
    with Session(bind=bind, expire_on_commit=False) as own, audit.part_of_act(own, session):
        return _onboard_or_fail(own, actor, directory, fiscal_year, row, own.commit, unregistered)


def _run_wave(session: Session, actor: Actor, directory: IdentityDirectory, fiscal_year: int, rows: Sequence[WaveRow], *,
              checkpoint: Checkpoint, progress: Callable[[WaveOutcome], None] | None,
              workers: int = 1) -> list[WaveOutcome]:
    authz.authorize(actor, "tenant.transition")
    registered = validate_wave(session, fiscal_year, rows)
    outcomes: list[WaveOutcome] = []
    if workers == 1:
        for row in rows:
            outcome = _onboard_or_fail(session, actor, directory, fiscal_year, row, checkpoint, row.code not in registered)
            outcomes.append(outcome)
            if progress is not None:
                progress(outcome)
    else:
        # shared rows first: two municipalities at once must not both create the default plans
        if session.scalar(sa.select(sa.func.count()).select_from(QuotaPlan)) == 0:
            quota_plans.load_default_plans(session, actor)
        checkpoint()
        local = threading.local()
        wave_session = session.registry() if isinstance(session, scoped_session) else session  # the caller's thread's
        bind = session.get_bind()

        def work(row: WaveRow) -> WaveOutcome:
            if not hasattr(local, "directory"):
                local.directory = _worker_directory(directory)
            return _onboard_in_worker(wave_session, bind, actor, local.directory, fiscal_year, row, row.code not in registered)

        by_code: dict[str, WaveOutcome] = {}
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix="wave") as pool:
            futures = {pool.submit(work, row): row for row in rows}
            for future in concurrent.futures.as_completed(futures):
                outcome = future.result()
                by_code[futures[future].code] = outcome
                if progress is not None:
                    progress(outcome)
        outcomes = [by_code[row.code] for row in rows]
    audit.record(session, actor, "onboarding.wave", "wave", f"FY{fiscal_year}",
                 after={"fiscal_year": fiscal_year, "rows": len(rows),
                        "active": sorted(o.code for o in outcomes if o.ok),
                        "not_active": {o.code: o.status for o in outcomes if not o.ok}})
    checkpoint()
    return outcomes


def _failed(session: Session, fiscal_year: int, row: WaveRow, error: Exception) -> WaveOutcome:
    tenant = find_tenant(session, row.code)
    if isinstance(error, DomainError):
        message_en = " ".join([error.message_en, *(f"[{p['message_en']}]" for p in error.problems)])
        message_ja = "".join([error.message_ja, *(f"［{p['message_ja']}］" for p in error.problems)])
    else:
        log.exception("onboarding %s in wave FY%s failed unexpectedly", row.code, fiscal_year)
        message_en = f"Unexpected error: {type(error).__name__}: {error}"
        message_ja = "予期しないエラーが発生しました。運用担当者に連絡してください。"
    return WaveOutcome(
        row.code, tenant.name_ja if tenant else reference_municipalities().get(row.code, {}).get("name_ja", ""),
        TenantStatus(tenant.status).value if tenant else "-", False,
        failed_step=error.details.get("failed_step", "") if isinstance(error, DomainError) else "",
        message_en=message_en, message_ja=message_ja,
    )

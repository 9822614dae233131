"""The ledger (会計帳簿): double-entry bookkeeping of what each tenant owes and has paid.

Design overview
===============

This module is the **only writer** of journal entries. Everything else (approving a run,
reversing it, recording a payment) builds :class:`NewEntry` values and hands them to
:func:`post_entry` / :func:`post_entries`; nothing else inserts into the ledger tables.

Accounts (:class:`billing.models.Account`)
    A code, a name and a type. The standard chart (:func:`standard_account`), created on first
    use by the writer::

        bank                 普通預金                  asset      money received
        receivable:<code>    負担金未収金（団体）       asset      what a tenant owes (one per tenant,
                                                                  the prefecture included)
        cost_recovery        負担金収入（市町村）       income     the municipalities' shares
        prefecture_share     県負担金                  income     the prefecture's share
        cost:build           構築費                    expense    the year's (amortised) build cost
        cost:run             運用費                    expense    the year's running cost
        cost:overhead        一般管理費                expense    the year's overhead (at most 10 % of the rest)
        payable              未払金（委託先）           liability  owed to the vendors
        grant_revenue        交付金収入                income     what the grants fund of the year
        grant_receivable:<id> 未収交付金（交付金）      asset      what a grant's grantor owes

Journal entries and postings (:class:`~billing.models.JournalEntry`, :class:`~billing.models.Posting`)
    An entry has two or more postings (legs). **Sign convention:** a posting's ``amount`` is
    whole yen, **positive for a debit (借方) and negative for a credit (貸方)**; a balanced entry's
    postings add up to exactly 0. No posting is 0. An account's *raw balance* is the sum of its
    postings (debit-positive); its *natural balance* is the raw balance for debit-normal accounts
    (assets, expenses) and its negation for credit-normal ones (liabilities, income, equity).
    So a tenant's receivable balance is what it was charged minus what it paid.

Life of an entry
    The writer inserts the entry as ``pending``, inserts its postings, then marks it ``posted``,
    all in the caller's transaction. Pending entries count nowhere. A posted entry and its
    postings are never updated or deleted: a mistake is undone by a **reversal** entry (every
    leg negated) that points at the original through ``reverses_id`` (unique: an entry is
    reversed at most once). The original stays visible.

Idempotency
    Every entry carries a unique ``idempotency_key`` (e.g. ``run:12:charge:431001``). Posting
    an entry whose key exists returns the existing entry if its legs are the same, and raises
    :class:`~billing.ledger_errors.IdempotencyConflict` if they differ; so approving a run twice
    posts nothing new.

Enforcement where it cannot be bypassed
    The writer checks every entry first (:class:`~billing.ledger_errors.UnbalancedEntry`), and
    refuses a key held by a pending entry it did not write (an approval posts exactly its run's
    lines, or nothing). The database checks again (:func:`billing.models.ledger_guards_pg`), so
    the application's own database role cannot create an unbalanced posted entry nor change a
    posted one; the schema owner can (docs/ledger.md says what catches it):

    * PostgreSQL: a constraint trigger on postings, ``DEFERRABLE INITIALLY DEFERRED``, checks at
      commit that every touched entry's postings add up to 0 and raises ``check_violation``
      (as django-hordak does); a trigger refuses posting an entry with fewer than two legs or a
      nonzero sum, and triggers refuse updating or deleting posted entries and their postings.
    * SQLite has no deferred triggers, so the check runs when the entry turns ``posted`` (after
      its legs are in): that update is refused unless the entry has two or more postings adding
      up to 0; an entry cannot be inserted already posted; postings cannot be added to, changed
      in or deleted from a posted entry; a posted entry cannot be changed or deleted.

Dates
    ``occurred_on`` is the accounting date (balances "as of" a date include entries on or before
    it); ``fiscal_year`` is the year the amount belongs to (a payment in April 2026 for FY2025
    belongs to FY2025).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.closed_years import refuse_if_closed
from billing.ledger_errors import IdempotencyConflict, InvalidBillingData, UnbalancedEntry, UnknownAccount
from billing.models import (
    DEBIT_NORMAL,
    Account,
    AccountType,
    EntryKind,
    EntryStatus,
    JournalEntry,
    Posting,
)
from core import codes
from core.db import lock_key, utcnow

BANK = "bank"
COST_RECOVERY = "cost_recovery"
PREFECTURE_SHARE = "prefecture_share"
PAYABLE = "payable"
RECEIVABLE_PREFIX = "receivable:"
COST_PREFIX = "cost:"
GRANT_REVENUE = "grant_revenue"
GRANT_RECEIVABLE_PREFIX = "grant_receivable:"

_FIXED_ACCOUNTS = {
    BANK: ("普通預金", "Bank", AccountType.asset),
    COST_RECOVERY: ("負担金収入（市町村）", "Cost recovery from municipalities", AccountType.income),
    PREFECTURE_SHARE: ("県負担金", "Prefecture's share", AccountType.income),
    PAYABLE: ("未払金（委託先）", "Payable to vendors", AccountType.liability),
    GRANT_REVENUE: ("交付金収入", "Grant revenue", AccountType.income),
    "cost:build": ("構築費", "Build cost", AccountType.expense),
    "cost:run": ("運用費", "Running cost", AccountType.expense),
    "cost:overhead": ("一般管理費", "Overhead", AccountType.expense),
}

_MAX_KEY = 200
_CHUNK = 1000


def receivable(tenant_code: str) -> str:
    """The receivable account code of a tenant: ``receivable:431001``."""
    return f"{RECEIVABLE_PREFIX}{tenant_code}"


def cost_account(category: str) -> str:
    return f"{COST_PREFIX}{category}"


def grant_receivable(grant_id: int | str) -> str:
    """The account of what a grant's grantor owes: ``grant_receivable:3``."""
    return f"{GRANT_RECEIVABLE_PREFIX}{grant_id}"


@dataclasses.dataclass(frozen=True)
class AccountSpec:
    code: str
    name_ja: str
    name_en: str
    type: AccountType
    tenant_code: str | None = None


def standard_account(code: str) -> AccountSpec | None:
    """The standard chart's definition of ``code``, or None if it is not a standard account."""
    if code in _FIXED_ACCOUNTS:
        name_ja, name_en, kind = _FIXED_ACCOUNTS[code]
        return AccountSpec(code, name_ja, name_en, kind)
    if code.startswith(RECEIVABLE_PREFIX):
        tenant = code[len(RECEIVABLE_PREFIX):]
        if codes.is_valid(tenant):
            return AccountSpec(code, f"負担金未収金 {tenant}", f"Receivable from {tenant}", AccountType.asset, tenant)
    if code.startswith(GRANT_RECEIVABLE_PREFIX):
        grant_id = code[len(GRANT_RECEIVABLE_PREFIX):]
        if grant_id.isascii() and grant_id.isdigit() and not grant_id.startswith("0"):
            return AccountSpec(code, f"未収交付金 #{grant_id}", f"Grant receivable #{grant_id}", AccountType.asset)
    return None


# --- values handed to the writer ------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Leg:
    """One posting to be written: ``amount`` yen on ``account`` (a code); + debit, − credit."""

    account: str
    amount: int


def debit(account: str, amount: int) -> Leg:
    return Leg(account, amount)


def credit(account: str, amount: int) -> Leg:
    return Leg(account, -amount)


@dataclasses.dataclass(frozen=True)
class NewEntry:
    """A journal entry to post. ``legs`` must add up to 0, with at least two nonzero legs."""

    idempotency_key: str
    kind: EntryKind
    fiscal_year: int
    occurred_on: dt.date
    legs: tuple[Leg, ...]
    description: str = ""
    tenant_code: str | None = None
    run_id: int | None = None
    reverses_id: int | None = None
    created_by: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "legs", tuple(self.legs))
        object.__setattr__(self, "kind", EntryKind(self.kind))


def _is_yen(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_entry(entry: NewEntry) -> None:
    """Refuse an entry the ledger would not accept, before anything is written."""
    key = entry.idempotency_key
    if not isinstance(key, str) or not key.strip() or len(key) > _MAX_KEY:
        raise InvalidBillingData(
            f"a journal entry needs an idempotency key of 1 to {_MAX_KEY} characters, got {key!r}",
            f"仕訳には1〜{_MAX_KEY}文字の重複防止キーが必要です（値: {key!r}）。",
        )
    if len(entry.legs) < 2:
        raise UnbalancedEntry(
            f"journal entry {key}: needs at least two postings, got {len(entry.legs)}",
            f"仕訳 {key}: 借方と貸方の少なくとも2行が必要です（{len(entry.legs)}行）。",
            idempotency_key=key,
        )
    for leg in entry.legs:
        if not _is_yen(leg.amount) or leg.amount == 0:
            raise UnbalancedEntry(
                f"journal entry {key}: every posting is a nonzero whole number of yen, got {leg.amount!r} on {leg.account}",
                f"仕訳 {key}: 各行の金額は0以外の整数（円）です（{leg.account}: {leg.amount!r}）。",
                idempotency_key=key,
            )
    total = sum(leg.amount for leg in entry.legs)
    if total != 0:
        debits = sum(leg.amount for leg in entry.legs if leg.amount > 0)
        credits = -sum(leg.amount for leg in entry.legs if leg.amount < 0)
        raise UnbalancedEntry(
            f"journal entry {key} is unbalanced: debits {debits:,} yen, credits {credits:,} yen",
            f"仕訳 {key} の貸借が一致しません（借方 {debits:,}円、貸方 {credits:,}円）。",
            idempotency_key=key, debits=debits, credits=credits,
        )


# --- accounts ------------------------------------------------------------------------------------------

def accounts_by_code(session: Session, codes: Iterable[str], *, create: bool = True) -> dict[str, int]:
    """Account ids for ``codes``; standard accounts that do not exist yet are created (the chart of
    accounts held meanwhile, :func:`core.db.lock_key`, and read again: two postings at once that need
    the same new account create it once)."""
    wanted = sorted(set(codes))
    found: dict[str, int] = {}
    table = Account.__table__

    def read(codes: list[str]) -> None:
        for start in range(0, len(codes), _CHUNK):
            chunk = codes[start:start + _CHUNK]
            found.update(session.execute(sa.select(table.c.code, table.c.id).where(table.c.code.in_(chunk))).all())

    read(wanted)
    missing = [code for code in wanted if code not in found]
    if missing and create:
        lock_key(session, "billing.accounts", "new")
        read(missing)
        missing = [code for code in wanted if code not in found]
    specs = []
    for code in missing:
        spec = standard_account(code)
        if spec is None or not create:
            raise UnknownAccount(
                f"{code!r} is not a ledger account",
                f"勘定科目 {code!r} は帳簿にありません。",
                account=code,
            )
        specs.append(spec)
    if specs:
        rows = session.execute(
            table.insert().returning(table.c.code, table.c.id, sort_by_parameter_order=True),
            [{"code": s.code, "name_ja": s.name_ja, "name_en": s.name_en, "type": s.type, "tenant_code": s.tenant_code}
             for s in specs],
        ).all()
        found.update(rows)
    return found


def get_account(session: Session, code: str) -> Account:
    account = session.scalars(sa.select(Account).where(Account.code == code)).one_or_none()
    if account is None:
        raise UnknownAccount(f"{code!r} is not a ledger account", f"勘定科目 {code!r} は帳簿にありません。", account=code)
    return account


# --- the writer ----------------------------------------------------------------------------------------

def _leg_signature(legs: Iterable[tuple[str, int]]) -> Counter:
    return Counter(legs)


def _existing_entries(session: Session, keys: Sequence[str]) -> dict[str, int]:
    table = JournalEntry.__table__
    existing: dict[str, int] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start:start + _CHUNK]
        for key, entry_id, status in session.execute(
            sa.select(table.c.idempotency_key, table.c.id, table.c.status).where(table.c.idempotency_key.in_(chunk))
        ):
            # The writer posts what it inserts in the same transaction: a pending entry under a key
            # was written by someone else, and would take this entry's place while counting nowhere.
            if EntryStatus(status) != EntryStatus.posted:
                raise IdempotencyConflict(
                    f"a pending journal entry ({entry_id}) the ledger did not write holds key {key}; nothing was posted",
                    f"重複防止キー {key} に、帳簿が書いていない未計上の仕訳（{entry_id}）があります。何も計上していません。",
                    idempotency_key=key, entry_id=entry_id,
                )
            existing[key] = entry_id
    return existing


def _check_same(session: Session, entries: dict[str, NewEntry], existing: dict[str, int]) -> None:
    """An existing key must carry the same legs: posting again is a no-op, not a change."""
    if not existing:
        return
    ids = list(existing.values())
    stored: dict[int, list[tuple[str, int]]] = defaultdict(list)
    for start in range(0, len(ids), _CHUNK):
        rows = session.execute(
            sa.select(Posting.__table__.c.entry_id, Account.__table__.c.code, Posting.__table__.c.amount)
            .join(Account.__table__, Account.__table__.c.id == Posting.__table__.c.account_id)
            .where(Posting.__table__.c.entry_id.in_(ids[start:start + _CHUNK]))
        )
        for entry_id, code, amount in rows:
            stored[entry_id].append((code, amount))
    for key, entry_id in existing.items():
        wanted = _leg_signature((leg.account, leg.amount) for leg in entries[key].legs)
        if _leg_signature(stored[entry_id]) != wanted:
            raise IdempotencyConflict(
                f"an entry with key {key} was already posted with different postings",
                f"重複防止キー {key} の仕訳は、異なる内容ですでに計上されています。",
                idempotency_key=key, entry_id=entry_id,
            )


# PostgreSQL: each step of a batch is one statement whatever its size (arrays bound once and
# unnested by the server), as the raw guarded INSERT of bench/bench_ledger.py does. The entries go
# in pending, their postings after them, then one UPDATE posts them all; the database's guards
# (the deferred balance check, the posting triggers) see exactly what the portable path writes.
_ENTRIES_PG = (
    "INSERT INTO billing_journal_entry (idempotency_key, status, kind, fiscal_year, occurred_on, description,"
    " tenant_code, run_id, reverses_id, created_at, created_by) "
    "SELECT key, %(status)s, kind, fiscal_year, occurred_on, description, tenant_code, run_id, reverses_id,"
    " %(now)s, created_by "
    "FROM unnest(%(keys)s::text[], %(kinds)s::text[], %(years)s::int[], %(dates)s::date[], %(descriptions)s::text[],"
    " %(tenants)s::text[], %(runs)s::bigint[], %(reverses)s::bigint[], %(creators)s::text[]) WITH ORDINALITY"
    " AS rows (key, kind, fiscal_year, occurred_on, description, tenant_code, run_id, reverses_id, created_by, n) "
    "ORDER BY n RETURNING id, idempotency_key"
)
_POSTINGS_PG = (
    "INSERT INTO billing_posting (entry_id, account_id, amount) "
    "SELECT * FROM unnest(%(entries)s::bigint[], %(accounts)s::bigint[], %(amounts)s::bigint[])"
)
_POST_PG = "UPDATE billing_journal_entry SET status = %(status)s WHERE id = ANY(%(ids)s::bigint[])"


def _insert_posted_pg(session: Session, fresh: Sequence[NewEntry], account_ids: dict[str, int],
                      now: dt.datetime) -> list[int]:
    """Write ``fresh`` (checked, keys new) in three statements; returns their ids, in order."""
    with session.connection().connection.driver_connection.cursor() as cursor:
        cursor.execute(_ENTRIES_PG, {
            "status": EntryStatus.pending.value, "now": now,
            "keys": [e.idempotency_key for e in fresh], "kinds": [e.kind.value for e in fresh],
            "years": [e.fiscal_year for e in fresh], "dates": [e.occurred_on for e in fresh],
            "descriptions": [e.description[:500] for e in fresh], "tenants": [e.tenant_code for e in fresh],
            "runs": [e.run_id for e in fresh], "reverses": [e.reverses_id for e in fresh],
            "creators": [e.created_by[:255] for e in fresh],
        })
        ids_by_key = {key: entry_id for entry_id, key in cursor.fetchall()}
        new_ids = [ids_by_key[e.idempotency_key] for e in fresh]
        entry_ids, accounts, amounts = [], [], []
        for entry_id, entry in zip(new_ids, fresh):
            for leg in entry.legs:
                entry_ids.append(entry_id)
                accounts.append(account_ids[leg.account])
                amounts.append(leg.amount)
        cursor.execute(_POSTINGS_PG, {"entries": entry_ids, "accounts": accounts, "amounts": amounts})
        cursor.execute(_POST_PG, {"status": EntryStatus.posted.value, "ids": new_ids})
    return new_ids


def post_entries(session: Session, entries: Sequence[NewEntry]) -> list[int]:
    """Post ``entries`` in the caller's transaction; returns their ids, in order.

    All entries are checked before anything is written: one bad entry writes nothing. An entry
    whose idempotency key was already posted is not written again; its existing id is returned.
    """
    for entry in entries:
        check_entry(entry)
    keys = [entry.idempotency_key for entry in entries]
    repeated = sorted(key for key, count in Counter(keys).items() if count > 1)
    if repeated:
        raise IdempotencyConflict(
            f"the same idempotency key appears twice in one batch: {', '.join(repeated[:5])}",
            f"同じ重複防止キーが一度に二回以上あります: {', '.join(repeated[:5])}",
        )
    session.flush()  # rows the entries refer to (runs, reversed entries) must exist
    by_key = dict(zip(keys, entries))
    existing = _existing_entries(session, keys)
    _check_same(session, by_key, existing)
    fresh = [entry for entry in entries if entry.idempotency_key not in existing]
    refuse_if_closed(session, *(entry.fiscal_year for entry in fresh))  # the database refuses it too
    if fresh and session.get_bind().dialect.name == "postgresql":
        account_ids = accounts_by_code(session, (leg.account for entry in fresh for leg in entry.legs))
        new_ids = _insert_posted_pg(session, fresh, account_ids, utcnow())
        existing.update(zip((entry.idempotency_key for entry in fresh), new_ids))
    elif fresh:
        account_ids = accounts_by_code(session, (leg.account for entry in fresh for leg in entry.legs))
        now = utcnow()
        entry_table, posting_table = JournalEntry.__table__, Posting.__table__
        new_ids = session.execute(
            entry_table.insert().returning(entry_table.c.id, sort_by_parameter_order=True),
            [
                {
                    "idempotency_key": entry.idempotency_key, "status": EntryStatus.pending, "kind": entry.kind,
                    "fiscal_year": entry.fiscal_year, "occurred_on": entry.occurred_on,
                    "description": entry.description[:500], "tenant_code": entry.tenant_code,
                    "run_id": entry.run_id, "reverses_id": entry.reverses_id, "created_at": now,
                    "created_by": entry.created_by[:255],
                }
                for entry in fresh
            ],
        ).scalars().all()
        session.execute(posting_table.insert(), [
            {"entry_id": entry_id, "account_id": account_ids[leg.account], "amount": leg.amount}
            for entry_id, entry in zip(new_ids, fresh) for leg in entry.legs
        ])
        for start in range(0, len(new_ids), _CHUNK):
            session.execute(
                entry_table.update().where(entry_table.c.id.in_(new_ids[start:start + _CHUNK]))
                .values(status=EntryStatus.posted)
            )
        existing.update(zip((entry.idempotency_key for entry in fresh), new_ids))
    return [existing[key] for key in keys]


def post_entry(session: Session, entry: NewEntry) -> JournalEntry:
    """Post one entry (or return the one already posted under its idempotency key)."""
    (entry_id,) = post_entries(session, [entry])
    return session.get(JournalEntry, entry_id, populate_existing=True)


def reversal_of(session: Session, entry_id: int, *, occurred_on: dt.date, description: str = "",
                created_by: str = "") -> NewEntry:
    """The entry that undoes posted entry ``entry_id``: same accounts, every amount negated."""
    original = session.get(JournalEntry, entry_id)
    if original is None or original.status != EntryStatus.posted:
        raise InvalidBillingData(f"journal entry {entry_id} is not a posted entry",
                                 f"仕訳 {entry_id} は計上済みの仕訳ではありません。")
    legs = session.execute(
        sa.select(Account.code, Posting.amount).join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == entry_id).order_by(Posting.id)
    ).all()
    return NewEntry(
        idempotency_key=f"reversal:{entry_id}",
        kind=EntryKind.reversal,
        fiscal_year=original.fiscal_year,
        occurred_on=occurred_on,
        legs=tuple(Leg(code, -amount) for code, amount in legs),
        description=description or f"取消: {original.description}"[:500],
        tenant_code=original.tenant_code,
        run_id=original.run_id,
        reverses_id=entry_id,
        created_by=created_by,
    )


def reverse_entries(session: Session, entry_ids: Sequence[int], *, occurred_on: dt.date, description: str = "",
                    created_by: str = "") -> list[int]:
    """Post the reversal of each entry (idempotent: reversing twice posts one reversal)."""
    return post_entries(session, [
        reversal_of(session, entry_id, occurred_on=occurred_on, description=description, created_by=created_by)
        for entry_id in entry_ids
    ])


# --- reading -----------------------------------------------------------------------------------------

def _posted_postings(as_of: dt.date | None = None, fiscal_year: int | None = None):
    query = (
        sa.select(Posting.account_id, sa.func.sum(Posting.amount).label("raw"))
        .join(JournalEntry, JournalEntry.id == Posting.entry_id)
        .where(JournalEntry.status == EntryStatus.posted)
        .group_by(Posting.account_id)
    )
    if as_of is not None:
        query = query.where(JournalEntry.occurred_on <= as_of)
    if fiscal_year is not None:
        query = query.where(JournalEntry.fiscal_year == fiscal_year)
    return query


def raw_balance(session: Session, account_code: str, *, as_of: dt.date | None = None,
                fiscal_year: int | None = None) -> int:
    """Sum of the account's posted postings (debit-positive), optionally as of a date / for a year."""
    account = session.scalars(sa.select(Account).where(Account.code == account_code)).one_or_none()
    if account is None:
        return 0
    query = _posted_postings(as_of, fiscal_year).where(Posting.account_id == account.id)
    row = session.execute(query).first()
    return int(row.raw) if row else 0


def natural_sign(account_type: AccountType) -> int:
    return 1 if AccountType(account_type) in DEBIT_NORMAL else -1


def balance(session: Session, account_code: str, *, as_of: dt.date | None = None,
            fiscal_year: int | None = None) -> int:
    """The account's balance on its normal side (what a receivable is owed, what income earned)."""
    account = session.scalars(sa.select(Account).where(Account.code == account_code)).one_or_none()
    if account is None:
        spec = standard_account(account_code)
        if spec is None:
            raise UnknownAccount(f"{account_code!r} is not a ledger account",
                                 f"勘定科目 {account_code!r} は帳簿にありません。", account=account_code)
        return 0
    return natural_sign(account.type) * raw_balance(session, account_code, as_of=as_of, fiscal_year=fiscal_year)


def balances(session: Session, accounts: Sequence[Account]) -> dict[str, int]:
    """account code → its balance on its normal side (as :func:`balance`), in one grouped query."""
    if not accounts:
        return {}
    sums = dict(session.execute(_posted_postings().where(Posting.account_id.in_([a.id for a in accounts]))).all())
    return {a.code: natural_sign(a.type) * int(sums.get(a.id, 0) or 0) for a in accounts}


def tenant_balance(session: Session, tenant_code: str, *, as_of: dt.date | None = None,
                   fiscal_year: int | None = None) -> int:
    """What the tenant owes minus what it paid (its receivable's balance)."""
    return balance(session, receivable(tenant_code), as_of=as_of, fiscal_year=fiscal_year)


def receivable_balances(tenant_codes: Sequence[str] | None = None):
    """A query of (tenant_code, fiscal_year, balance): each tenant's receivable per fiscal year (what it
    still owes for that year's statement), from posted entries; ``tenant_codes`` limits it."""
    query = (sa.select(Account.tenant_code, JournalEntry.fiscal_year, sa.func.sum(Posting.amount).label("balance"))
             .join(Posting, Posting.account_id == Account.id)
             .join(JournalEntry, JournalEntry.id == Posting.entry_id)
             .where(JournalEntry.status == EntryStatus.posted, Account.code.like(f"{RECEIVABLE_PREFIX}%"))
             .group_by(Account.tenant_code, JournalEntry.fiscal_year))
    if tenant_codes is not None:
        query = query.where(Account.tenant_code.in_(list(tenant_codes)))
    return query


@dataclasses.dataclass(frozen=True)
class TrialBalanceRow:
    code: str
    name_ja: str
    name_en: str
    type: AccountType
    debit: int  # debit balance (0 when the account's balance is on the credit side)
    credit: int

    @property
    def natural(self) -> int:
        return (self.debit - self.credit) * natural_sign(self.type)


@dataclasses.dataclass(frozen=True)
class TrialBalance:
    as_of: dt.date | None
    rows: tuple[TrialBalanceRow, ...]

    @property
    def total_debit(self) -> int:
        return sum(row.debit for row in self.rows)

    @property
    def total_credit(self) -> int:
        return sum(row.credit for row in self.rows)

    @property
    def difference(self) -> int:
        """Debits minus credits over all accounts: 0 in a ledger of balanced entries."""
        return self.total_debit - self.total_credit

    def row(self, code: str) -> TrialBalanceRow:
        for row in self.rows:
            if row.code == code:
                return row
        raise KeyError(code)


def trial_balance(session: Session, *, as_of: dt.date | None = None, fiscal_year: int | None = None) -> TrialBalance:
    """Every account with its debit or credit balance (試算表), ordered by code."""
    sums = dict(session.execute(_posted_postings(as_of, fiscal_year)).all())
    rows = []
    # the columns shown, not whole rows: an account per tenant
    for account in session.execute(sa.select(Account.id, Account.code, Account.name_ja, Account.name_en, Account.type)
                                   .order_by(Account.code)):
        raw = int(sums.get(account.id, 0) or 0)
        rows.append(TrialBalanceRow(account.code, account.name_ja, account.name_en, AccountType(account.type),
                                    debit=max(raw, 0), credit=max(-raw, 0)))
    return TrialBalance(as_of, tuple(rows))


@dataclasses.dataclass(frozen=True)
class PostingView:
    entry_id: int
    idempotency_key: str
    kind: EntryKind
    fiscal_year: int
    occurred_on: dt.date
    description: str
    tenant_code: str | None
    run_id: int | None
    reverses_id: int | None
    account: str
    amount: int


def postings(session: Session, *, account_code: str | None = None, fiscal_year: int | None = None,
             tenant_code: str | None = None, run_id: int | None = None,
             offset: int = 0, limit: int | None = None) -> list[PostingView]:
    """Posted postings with their entries, in entry order (the journal, 仕訳帳); with ``limit``, that many
    from ``offset`` in that order (a page of them: :func:`count_postings` counts them all)."""
    query = _postings_query(
        sa.select(JournalEntry.id, JournalEntry.idempotency_key, JournalEntry.kind, JournalEntry.fiscal_year,
                  JournalEntry.occurred_on, JournalEntry.description, JournalEntry.tenant_code, JournalEntry.run_id,
                  JournalEntry.reverses_id, Account.code, Posting.amount),
        account_code, fiscal_year, tenant_code, run_id).order_by(JournalEntry.occurred_on, JournalEntry.id, Posting.id)
    if limit is not None:
        query = query.offset(offset).limit(limit)
    return [PostingView(*row[:2], EntryKind(row[2]), *row[3:]) for row in session.execute(query)]


def count_postings(session: Session, *, account_code: str | None = None, fiscal_year: int | None = None,
                   tenant_code: str | None = None, run_id: int | None = None) -> int:
    """How many postings :func:`postings` gives for the same filters."""
    return int(session.scalar(_postings_query(sa.select(sa.func.count()).select_from(JournalEntry),
                                              account_code, fiscal_year, tenant_code, run_id)) or 0)


def _postings_query(query, account_code: str | None, fiscal_year: int | None, tenant_code: str | None,
                    run_id: int | None):
    query = (query.join(Posting, Posting.entry_id == JournalEntry.id)
             .join(Account, Account.id == Posting.account_id)
             .where(JournalEntry.status == EntryStatus.posted))
    if account_code is not None:
        query = query.where(Account.code == account_code)
    if fiscal_year is not None:
        query = query.where(JournalEntry.fiscal_year == fiscal_year)
    if tenant_code is not None:
        query = query.where(JournalEntry.tenant_code == tenant_code)
    if run_id is not None:
        query = query.where(JournalEntry.run_id == run_id)
    return query


def reversed_ids_query() -> sa.Select:
    """The ids of the entries a posted reversal undoes (the one rule, for a query that filters by it)."""
    reversal = sa.orm.aliased(JournalEntry)
    return sa.select(reversal.reverses_id).where(reversal.reverses_id.is_not(None), reversal.status == EntryStatus.posted)


def reversed_entry_ids(session: Session, entry_ids: Sequence[int] | None = None) -> set[int]:
    """Ids (among ``entry_ids``, or all) of posted entries that a posted reversal undoes."""
    query = reversed_ids_query()
    if entry_ids is not None:
        query = query.where(query.selected_columns[0].in_(list(entry_ids)))
    return set(session.scalars(query))


def standing_charges(session: Session, views: Sequence[PostingView]) -> list[PostingView]:
    """The charges among ``views`` that no posted reversal undoes (what the payer is charged today)."""
    charges = [view for view in views if view.kind == EntryKind.charge]
    undone = reversed_entry_ids(session, [view.entry_id for view in charges])
    return [view for view in charges if view.entry_id not in undone]

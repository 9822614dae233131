"""Errors of billing's database side: the ledger, cost items, policies, runs and statements.

Each error is both a :class:`billing.errors.BillingError` (so billing code can catch every
billing failure at once) and a :class:`core.db.DomainError` of the right kind, so the web
shell maps it to an HTTP status and an ``application/problem+json`` body in its one place
(``admin/problems.py``). The tree::

    BillingError (billing.errors)
    └── BillingOperationError          + DomainError
        ├── InvalidBillingData         invalid    input or inputs to a run are wrong
        ├── BillingNotFound            not_found  cost item, policy, run, statement
        ├── BillingConflict            conflict   the object's state forbids the act
        │   ├── IllegalTransition      conflict   e.g. approving a run nobody reviewed
        │   ├── IdempotencyConflict    conflict   same key, different entry
        │   └── StatementMismatch      conflict   the ledger's charges and the run behind a statement disagree
        ├── FourEyesRefused            forbidden  the approver computed or reviewed the run
        └── LedgerError                invalid    the ledger refuses an entry
            ├── UnbalancedEntry        invalid    debits and credits differ
            └── UnknownAccount         invalid    the account code is not a ledger account
"""

from __future__ import annotations

from typing import Any

from billing.errors import BillingError
from core.errors import Conflict, DomainError, Forbidden, Invalid, NotFound


class BillingOperationError(BillingError, DomainError):
    """Root of the database side's errors; ``kind`` comes from the DomainError mixed in."""

    def __init__(
        self,
        message_en: str,
        message_ja: str,
        *,
        problems: list[dict[str, Any]] | None = None,
        **details: Any,
    ) -> None:
        # BillingError keeps the messages behind read-only properties; DomainError's __init__
        # would assign them, so both are initialised here by hand.
        Exception.__init__(self, message_en)
        self._message_en = message_en
        self._message_ja = message_ja
        self.problems = problems or []
        self.details = details


class InvalidBillingData(BillingOperationError, Invalid):
    """Input failed validation, or the inputs of a run cannot be allocated."""


class BillingNotFound(BillingOperationError, NotFound):
    pass


class BillingConflict(BillingOperationError, Conflict):
    pass


class IllegalTransition(BillingConflict):
    pass


class IdempotencyConflict(BillingConflict):
    pass


class StatementMismatch(BillingConflict):
    """The charges the ledger holds for a tenant's year and the allocation run behind them disagree.

    A statement is not issued from books that contradict themselves: the finance office has to look
    (a reversal or a run posted by hand, outside the operations), so the web and the API answer 409.
    """


class FourEyesRefused(BillingOperationError, Forbidden):
    """Four eyes: the person who computed (or reviewed) a run may not review (or approve) it."""


class LedgerError(BillingOperationError, Invalid):
    pass


class UnbalancedEntry(LedgerError):
    pass


class UnknownAccount(LedgerError):
    pass

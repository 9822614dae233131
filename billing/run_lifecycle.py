"""The lifecycle of an allocation run: its statuses, their words, and the only moves between them.

The code (:mod:`billing.allocation_runs`) and the database guard (:mod:`billing.run_guards`, installed
with the tables by :mod:`billing.models`) both read :data:`RUN_TRANSITIONS`.
"""

import dataclasses

from core.labelled import LabelledEnum


class RunStatus(LabelledEnum):
    computed = "computed", "計算済み", "Computed"
    reviewed = "reviewed", "確認済み", "Reviewed"
    approved = "approved", "承認済み（計上済み）", "Approved (posted)"  # posted to the ledger
    reversed = "reversed", "取消済み", "Reversed"  # posted, then reversed by reversal entries
    discarded = "discarded", "破棄済み", "Discarded"  # never posted


@dataclasses.dataclass(frozen=True)
class RunMove:
    """One declared move of an allocation run, from any of ``sources`` to ``target``.

    ``records`` are the run's columns that record this move (who, when, why): empty until the move
    writes them, and never changed after (the moves make no cycle, so each happens at most once).
    ``lowers`` are flags the move may switch off, never on. The code (:mod:`billing.allocation_runs`)
    and the database guard (:func:`billing.run_guards.pg_run_guard`, :func:`billing.run_guards.sqlite_run_guards`) both read this table.
    """

    name: str
    sources: frozenset
    target: RunStatus
    label_ja: str
    records: tuple = ()
    lowers: tuple = ()


RUN_TRANSITIONS: dict = {move.name: move for move in (
    RunMove("review", frozenset({RunStatus.computed}), RunStatus.reviewed, "確認",
            records=("reviewed_at", "reviewed_by", "review_note", "reviewed_by_key"), lowers=("four_eyes",)),
    RunMove("approve", frozenset({RunStatus.reviewed}), RunStatus.approved, "承認",
            records=("approved_at", "approved_by", "posted_on"), lowers=("four_eyes",)),
    RunMove("reverse", frozenset({RunStatus.approved}), RunStatus.reversed, "取消",
            records=("reversed_at", "reversed_by", "reversal_reason")),
    RunMove("discard", frozenset({RunStatus.computed, RunStatus.reviewed}), RunStatus.discarded, "破棄"),
)}
"""The lifecycle of an allocation run: the only moves its status makes, in the code and in the database."""

RUN_INITIAL_STATUS = RunStatus.computed  # a run is created computed, with none of its moves recorded
RUN_POSTED_STATUS = RunStatus.approved  # the one status whose run's entries count; leaving it needs a reversal

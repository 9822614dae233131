"""A dataset's conformance state and the overdue rule: the one answer every reader asks.

A standard dataset is in one of four states (:class:`Conformance`): 未確認 (no verdict on the file
that is its distribution), 準拠 / 不適合 (the latest check of the distribution's file, :class:`catalogue.models.DatasetCheck`,
bound to that file by its SHA-256, size and row count), and 更新期限切れ (published, and its last update
is older than its update frequency allows: :func:`past_cutoff`, the one overdue rule). The register's
list and page, the coverage matrix, the home pages, the annual report, the command line, the CKAN
package and the DCAT feed all read :func:`conformance_state`; the coverage matrix reads the same rule
from its columns (:func:`state_of`), so it never reads a dataset row it does not need.

The dataset row keeps the latest verdict (``conformant``, ``problem_count``), written only by the check
of a file (:func:`catalogue.file_checks.check_file`) and cleared when the verdict stops applying
(the standard kind changes, or the checked file is no longer among the distributions).
"""

from __future__ import annotations

import dataclasses
import datetime as dt

from core.calendar import today_jst
from catalogue.models import OVERDUE_AFTER_DAYS, Dataset, DatasetStatus, Frequency

UNCHECKED, CONFORMANT, NOT_CONFORMANT, OVERDUE = "unchecked", "conformant", "not_conformant", "overdue"
STATES = (UNCHECKED, CONFORMANT, NOT_CONFORMANT, OVERDUE)


def overdue_cutoffs(today: dt.date) -> dict[Frequency, dt.date | None]:
    """For each frequency, the date a dataset's last update must not be before (None: never overdue)."""
    return {f: (today - dt.timedelta(days=days) if days is not None else None) for f, days in OVERDUE_AFTER_DAYS.items()}


def past_cutoff(last_updated_on: dt.date | None, cutoff: dt.date | None) -> bool:
    """The one overdue rule: a cutoff applies and the last update is unknown or before it."""
    if isinstance(last_updated_on, dt.datetime):  # a moment given where a date is kept: its day
        last_updated_on = last_updated_on.date()
    return cutoff is not None and (last_updated_on is None or last_updated_on < cutoff)


def is_overdue(dataset: Dataset, today: dt.date) -> bool:
    """Overdue for its update frequency: the last update is older than the frequency allows."""
    return past_cutoff(dataset.last_updated_on, overdue_cutoffs(today)[Frequency(dataset.frequency)])


@dataclasses.dataclass(frozen=True)
class Conformance:
    """A dataset's conformance: ``state`` (:data:`STATES`, "" for a dataset of no standard kind), the
    latest ``verdict`` on its file (the state without the overdue rule: what ``dct:conformsTo`` asks),
    its problems, and whether it is ``overdue`` (published and past its update frequency, whatever its kind)."""

    state: str
    verdict: str
    problem_count: int
    overdue: bool

    @property
    def standard(self) -> bool:
        return bool(self.state)

    @property
    def conformant(self) -> bool:
        """The latest verdict on the dataset's file is 準拠 (overdue or not)."""
        return self.verdict == CONFORMANT

    @property
    def label(self) -> tuple[str, str]:
        """未確認 / 準拠 / 不適合（n 件） / 更新期限切れ, and in English ("" for a dataset of no standard kind)."""
        return label_of(self.state, self.problem_count)

    @property
    def verdict_label(self) -> tuple[str, str]:
        return label_of(self.verdict, self.problem_count)


def label_of(state: str, problem_count: int = 0) -> tuple[str, str]:
    if state == UNCHECKED:
        return "未確認", "Not checked"
    if state == CONFORMANT:
        return "準拠", "Conformant"
    if state == NOT_CONFORMANT:
        return f"不適合（{problem_count:,} 件）", f"Not conformant ({problem_count:,} problems)"
    if state == OVERDUE:
        return "更新期限切れ", "Overdue"
    return "", ""


def verdict_of(standard_kind: str | None, conformant: bool | None) -> str:
    """The latest verdict on a dataset's file, from its columns: :func:`state_of`'s ``verdict`` (its state without
    the overdue rule), "" for a dataset of no standard kind."""
    if not standard_kind:
        return ""
    return UNCHECKED if conformant is None else CONFORMANT if conformant else NOT_CONFORMANT


def state_of(standard_kind: str | None, conformant: bool | None, problem_count: int, status: DatasetStatus | str,
             frequency: Frequency | str, last_updated_on: dt.date | None,
             cutoffs: dict[Frequency, dt.date | None]) -> Conformance:
    """The rule, from a dataset's columns (the matrix reads only these): overdue applies to a published
    dataset; a standard one's state is overdue before its verdict."""
    overdue = (DatasetStatus(status) == DatasetStatus.published
               and past_cutoff(last_updated_on, cutoffs[Frequency(frequency)]))
    verdict = verdict_of(standard_kind, conformant)
    if not verdict:
        return Conformance("", "", 0, overdue)
    return Conformance(OVERDUE if overdue else verdict, verdict, problem_count if verdict == NOT_CONFORMANT else 0,
                       overdue)


def conformance_state(dataset: Dataset, *, today: dt.date | None = None,
                      cutoffs: dict[Frequency, dt.date | None] | None = None) -> Conformance:
    """The conformance state of ``dataset`` (``today``: Japan's date unless given; ``cutoffs``: of
    :func:`overdue_cutoffs`, computed once by a caller that asks for many datasets)."""
    cutoffs = cutoffs if cutoffs is not None else overdue_cutoffs(today or today_jst())
    return state_of(dataset.standard_kind, dataset.conformant, dataset.problem_count, dataset.status,
                    dataset.frequency, dataset.last_updated_on, cutoffs)


def needs_attention(state: Conformance) -> bool:
    """A published dataset its provider should update or fix: overdue, or a standard one whose file is not 準拠."""
    return state.overdue or (state.standard and not state.conformant)

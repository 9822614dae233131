"""Errors raised by the billing package.

Every error carries two texts: ``message_en`` for logs and developers and ``message_ja`` for the
municipal clerk or finance officer who has to act on it. ``str(error)`` is the English text.
The tree is::

    BillingError
    ├── AllocationError        the allocation cannot be computed as asked
    │   └── InfeasibleBounds   no share satisfies the floor/cap for every municipality
    └── ScenarioError          a scenario file has one or more problems (all of them listed)
"""

from __future__ import annotations

from collections.abc import Sequence


def _yen(amount: object) -> str:
    return f"{amount:,}"


class BillingError(Exception):
    """Base class of every billing error; carries an English and a Japanese message."""

    def __init__(self, message_en: str, message_ja: str) -> None:
        super().__init__(message_en)
        self._message_en = message_en
        self._message_ja = message_ja

    @property
    def message_en(self) -> str:
        return self._message_en

    @property
    def message_ja(self) -> str:
        return self._message_ja

    def __str__(self) -> str:
        return self._message_en


class AllocationError(BillingError):
    """The inputs to the allocation are inconsistent (a programming or data error)."""


class InfeasibleBounds(AllocationError):
    """The per-municipality floor or cap cannot be honoured for every participating municipality.

    ``bound`` is ``"floor"`` or ``"cap"``; ``limit`` the floor/cap in yen; ``participants`` the
    number of municipalities taking part (months > 0); ``municipal_total`` the exact amount the
    municipalities share (total minus the prefecture's share). For a cap, ``stuck_at_floor``
    counts participants whose formula share is 0 (e.g. no usage under a pure usage policy):
    scaling cannot raise them, so they pay only ``floor`` and the others at most the cap.
    """

    def __init__(
        self,
        bound: str,
        limit: int,
        participants: int,
        municipal_total: object,
        stuck_at_floor: int = 0,
        floor: int = 0,
    ) -> None:
        self.bound = bound
        self.limit = limit
        self.participants = participants
        self.municipal_total = municipal_total
        self.stuck_at_floor = stuck_at_floor
        if bound == "floor":
            needed = limit * participants
        else:
            needed = limit * (participants - stuck_at_floor) + floor * stuck_at_floor
        shown_total = _format_exact_yen(municipal_total)
        if bound == "floor":
            en = (
                f"infeasible floor: a floor of {_yen(limit)} yen for each of {participants} "
                f"participating municipalities needs {_yen(needed)} yen, but the municipalities "
                f"share only {shown_total} yen"
            )
            ja = (
                f"下限額 {_yen(limit)}円 × 参加 {participants} 団体 = {_yen(needed)}円 が、"
                f"市町村負担の総額 {shown_total}円 を超えるため、按分できません。"
                "下限額を見直してください。"
            )
        elif not stuck_at_floor:
            en = (
                f"infeasible cap: a cap of {_yen(limit)} yen for each of {participants} "
                f"participating municipalities allows at most {_yen(needed)} yen, but the "
                f"municipalities must share {shown_total} yen"
            )
            ja = (
                f"上限額 {_yen(limit)}円 × 参加 {participants} 団体 = {_yen(needed)}円 では、"
                f"市町村負担の総額 {shown_total}円 に届かないため、按分できません。"
                "上限額を見直してください。"
            )
        else:
            en = (
                f"infeasible cap: a cap of {_yen(limit)} yen for each of {participants} "
                f"participating municipalities allows at most {_yen(needed)} yen, because "
                f"{stuck_at_floor} of them have a formula share of 0 and pay only the floor of "
                f"{_yen(floor)} yen; but the municipalities must share {shown_total} yen"
            )
            ja = (
                f"上限額 {_yen(limit)}円 の参加 {participants} 団体のうち {stuck_at_floor} 団体は"
                f"按分の基準が0のため下限額 {_yen(floor)}円 しか負担せず、合計 {_yen(needed)}円 では"
                f"市町村負担の総額 {shown_total}円 に届かないため、按分できません。"
                "上限額か按分方式を見直してください。"
            )
        super().__init__(en, ja)


class ScenarioError(BillingError):
    """A scenario could not be used; ``problems`` lists every problem found, each naming where.

    ``problems_ja`` holds the same problems in Japanese, in the same order.
    """

    def __init__(self, problems: Sequence[str], problems_ja: Sequence[str] | None = None) -> None:
        self.problems: list[str] = list(problems)
        self.problems_ja: list[str] = list(problems_ja) if problems_ja is not None else list(problems)
        count = len(self.problems)
        en = f"the scenario has {count} problem{'s' if count != 1 else ''}:\n" + "\n".join(
            self.problems
        )
        ja = f"シナリオに {count} 件の問題があります。\n" + "\n".join(self.problems_ja)
        super().__init__(en, ja)


def _format_exact_yen(amount: object) -> str:
    # The municipal total is exact (a Fraction, maybe with a fractional yen); show it to the
    # sen, rounded half up with integer arithmetic so no binary float is ever involved.
    from fractions import Fraction

    if isinstance(amount, Fraction):
        if amount.denominator == 1:
            return _yen(amount.numerator)
        sen = (amount * 100 + Fraction(1, 2)).__floor__()
        yen, rest = divmod(sen, 100)
        return f"{yen:,}.{rest:02d}"
    return _yen(amount)

"""Lifecycles as tables: the one mechanism every status that moves is declared with.

A lifecycle is a status enum plus one :class:`Lifecycle`: a table of :class:`Move` (its name,
the statuses it starts from, the status it ends in, its labels, whether it needs a reason, the
authorization it needs and an optional guard). Operations ask the table before they change a
status::

    move = CLIENTS.move("disable", client.status, client)   # refused: IllegalMove (HTTP 409)
    client.status = move.target

and pages ask it which moves are possible (:meth:`Lifecycle.moves_from`) to offer only those
buttons. A refusal is one :class:`IllegalMove` (a :class:`~core.errors.Conflict`): by the table
("not from this status") or by the move's guard (:class:`GuardRefused`, "not yet": the guard's own
words and problems). Its bilingual message names the current status and the move; a lifecycle
that has always said it in its own words passes ``refusal`` (a function returning the
:class:`IllegalMove` to raise, of a subclass of its own if it likes).

A guard is ``guard(subject, *context) -> WhyNot | None``: None lets the move pass. The table is
checked first, then the guard, and nothing is written by either, so a refused move changes nothing.

Where the lifecycles are: allocation runs (``billing.run_lifecycle.RUN_TRANSITIONS``, an older table of
the same shape with the columns each move records, which the database guard is generated from), and
on this mechanism: tenants (``tenancy.onboarding.lifecycle.TENANTS``, whose guards are pluggable and
keyed by target status, asked by its ``check`` after the table), API clients (``tenancy.identity.api_clients.CLIENTS``), member organisations
(``tenancy.members.operations.MEMBERS``), council proposals (``governance.council.PROPOSALS``),
agreement versions (``governance.agreements.VERSIONS``), allocation policies
(``billing.allocation_policies.POLICIES``), datasets (``catalogue.operations.DATASETS``),
services that receive personal data (``residents.consent.lifecycle.SERVICES``), notifications
(``core.outbox.DELIVERY``), provisioning steps (``tenancy.onboarding.models.STEPS_LIFECYCLE``), changes of a
member's details (``tenancy.members.details.CHANGES``), advisers' consultations
(``secretariat.advisers.CONSULTATIONS``) and smart-city services and their ideas
(``secretariat.smart_services.SERVICES``, ``secretariat.smart_services.IDEAS``), and members' solutions
(``secretariat.solutions.SOLUTIONS``).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from core.errors import Conflict, Invalid, problem


class IllegalMove(Conflict):
    """A move its lifecycle's table does not allow now (HTTP 409); nothing was changed.

    ``details`` name the current ``status`` and the ``move``. Lifecycles with words of their own
    raise subclasses of this one."""


class GuardRefused(IllegalMove):
    """The move is in the table from this status, but its guard says not yet (``problems``: why)."""


@dataclasses.dataclass(frozen=True)
class WhyNot:
    """What a guard answers when the move may not happen: the reason in English and Japanese,
    field problems (:func:`core.errors.problem`) and details for the error."""

    en: str
    ja: str
    problems: tuple[dict[str, Any], ...] = ()
    details: Mapping[str, Any] = dataclasses.field(default_factory=dict)


Guard = Callable[..., "WhyNot | None"]


@dataclasses.dataclass(frozen=True)
class Move:
    """One declared move: from any of ``sources`` to ``target``."""

    name: str
    sources: frozenset[enum.Enum]
    target: enum.Enum
    label_ja: str
    label_en: str
    guard: Guard | None = None
    reason_required: bool = False
    grant: str = ""  # the core.authz action the move needs ("" : the operation decides)


Refusal = Callable[[Move, enum.Enum, Any], IllegalMove]

_DECLARED: list[Lifecycle] = []


def declared() -> list[Lifecycle]:
    """Every lifecycle declared so far (each module declares its own when it is imported)."""
    return list(_DECLARED)


class Lifecycle:
    """The declared transition table of one status enum.

    ``labels`` maps each status to its (Japanese, English) label, used in the refusal text.
    ``initial`` are the statuses a row may be created in (so a test can tell that every status is
    reachable or a start)."""

    def __init__(self, subject_ja: str, subject_en: str, statuses: type[enum.Enum],
                 labels: Mapping[Any, tuple[str, str]], moves: Iterable[Move], *,
                 initial: Iterable[enum.Enum] = (), refusal: Refusal | None = None) -> None:
        self.subject_ja, self.subject_en = subject_ja, subject_en
        self.statuses = statuses
        self.labels = {statuses(key): value for key, value in labels.items()}
        self.moves: dict[str, Move] = {}
        for move in moves:
            if move.name in self.moves:
                raise ValueError(f"move {move.name!r} declared twice")
            if not move.sources or not all(isinstance(s, statuses) for s in (*move.sources, move.target)):
                raise ValueError(f"move {move.name!r}: sources and target must be {statuses.__name__} values")
            self.moves[move.name] = move
        self.initial = frozenset(statuses(s) for s in initial)
        self._refusal = refusal
        _DECLARED.append(self)

    # --- what the table says ---------------------------------------------------------------------

    def moves_from(self, status: Any) -> list[Move]:
        """The moves the table allows from ``status`` (guards not asked), in declared order."""
        status = self.statuses(status)
        return [move for move in self.moves.values() if status in move.sources]

    def allows(self, name: str, status: Any) -> bool:
        move = self.moves.get(name)
        return move is not None and self.statuses(status) in move.sources

    def mentioned(self) -> frozenset[enum.Enum]:
        """Every status the table names (a start, a source or a target)."""
        named = set(self.initial)
        for move in self.moves.values():
            named |= move.sources | {move.target}
        return frozenset(named)

    def label(self, status: Any) -> tuple[str, str]:
        status = self.statuses(status)
        return self.labels.get(status, (status.value, status.value))

    # --- asking before a move ----------------------------------------------------------------------

    def refuse(self, name: str, current: Any, subject: Any = None) -> IllegalMove:
        """The refusal of move ``name`` from ``current`` (the lifecycle's words, else the common ones)."""
        move, status = self.moves[name], self.statuses(current)
        if self._refusal is not None:
            error = self._refusal(move, status, subject)
            if not isinstance(error, IllegalMove):
                raise TypeError(f"refusal of {name!r} must be an IllegalMove, not {type(error).__name__}")
            return error
        ja, en = self.label(status)
        return IllegalMove(
            f"The {self.subject_en} is {en.lower()}; it cannot {move.label_en} from that status. Nothing was changed.",
            f"この{self.subject_ja}は「{ja}」のため「{move.label_ja}」できません。変更は行っていません。",
            status=status.value, move=name)

    def move(self, name: str, current: Any, subject: Any = None, *context: Any) -> Move:
        """The move ``name`` from ``current`` if the table and its guard allow it; else IllegalMove.

        ``subject`` and ``context`` are passed to the guard (``guard(subject, *context)``)."""
        if name not in self.moves:
            raise KeyError(f"no move {name!r} in the {self.subject_en} lifecycle")
        move = self.moves[name]
        if self.statuses(current) not in move.sources:
            raise self.refuse(name, current, subject)
        if move.guard is not None and (why := move.guard(subject, *context)) is not None:
            raise GuardRefused(why.en, why.ja, problems=list(why.problems),
                               **{"status": self.statuses(current).value, "move": name, **why.details})
        return move


def require_reason(move: Move, reason: str | None) -> str:
    """The reason given for ``move``, stripped; refused (Invalid, on the field ``reason``) when the
    move needs one and none was given."""
    reason = (reason or "").strip()
    if move.reason_required and not reason:
        raise Invalid("Give the reason.", "理由を入力してください。",
                      problems=[problem("reason", "Give the reason.", "理由を入力してください。")])
    return reason

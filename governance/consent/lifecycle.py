"""The lifecycle of a service that receives personal data: one declared transition table.

registered --approve--> approved --suspend--> suspended --resume--> approved; any but ended --end--> ended.
Only an approved service can collect consent or receive anything (the consent check refuses the rest).
The operator makes every move; suspending and ending need a reason.
"""

from __future__ import annotations

import dataclasses

from core.errors import Conflict, Invalid, problem
from governance.consent.models import SERVICE_STATUS_LABELS, DataService, ServiceStatus

S = ServiceStatus


@dataclasses.dataclass(frozen=True)
class Transition:
    name: str
    sources: frozenset[ServiceStatus]
    target: ServiceStatus
    label_ja: str
    label_en: str
    reason_required: bool = False


TRANSITIONS: dict[str, Transition] = {t.name: t for t in (
    Transition("approve", frozenset({S.registered}), S.approved, "承認", "approve"),
    Transition("suspend", frozenset({S.approved}), S.suspended, "一時停止", "suspend", reason_required=True),
    Transition("resume", frozenset({S.suspended}), S.approved, "再開", "resume"),
    Transition("end", frozenset({S.registered, S.approved, S.suspended}), S.ended, "終了", "end", reason_required=True),
)}

# from -> transitions possible from it
TABLE: dict[ServiceStatus, list[str]] = {status: [t.name for t in TRANSITIONS.values() if status in t.sources]
                                         for status in S}


def allowed_transitions(service: DataService) -> list[Transition]:
    return [TRANSITIONS[name] for name in TABLE[ServiceStatus(service.status)]]


def check(service: DataService, name: str, reason: str) -> Transition:
    """The transition ``name`` of ``service`` if the table allows it (and it has its reason)."""
    transition = TRANSITIONS.get(name)
    if transition is None:
        raise Invalid(f"Unknown transition {name!r}.", f"「{name}」という操作はありません。")
    status = ServiceStatus(service.status)
    if status not in transition.sources:
        ja, en = SERVICE_STATUS_LABELS[status]
        raise Conflict(f"A service that is {en.lower()} cannot be {transition.label_en}d.",
                       f"状態が「{ja}」のサービスは「{transition.label_ja}」できません。",
                       status=status.value, transition=name)
    if transition.reason_required and not reason.strip():
        raise Invalid("Give the reason.", "理由を入力してください。",
                      problems=[problem("reason", "Give the reason.", "理由を入力してください。")])
    return transition

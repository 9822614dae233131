"""The lifecycle of a service that receives personal data: one declared transition table
(:mod:`core.lifecycle`, the mechanism every status that moves is declared with).

registered --approve--> approved --suspend--> suspended --resume--> approved; any but ended --end--> ended.
Only an approved service can collect consent or receive anything (the consent check refuses the rest).
The operator makes every move; suspending and ending need a reason.
"""

from __future__ import annotations

from core.errors import Invalid
from core.labelled import labels
from core.lifecycle import IllegalMove, Lifecycle, Move, require_reason
from residents.consent.models import DataService, ServiceStatus

S = ServiceStatus


def _refusal(move: Move, status: ServiceStatus, _service: object) -> IllegalMove:
    ja, en = ServiceStatus(status).label
    return IllegalMove(f"Cannot {move.label_en} a service that is {en.lower()}.",
                       f"状態が「{ja}」のサービスは「{move.label_ja}」できません。",
                       status=status.value, transition=move.name)


SERVICES = Lifecycle("データ利用サービス", "data service", ServiceStatus, labels(ServiceStatus), (
    Move("approve", frozenset({S.registered}), S.approved, "承認", "approve", grant="consent.manage"),
    Move("suspend", frozenset({S.approved}), S.suspended, "一時停止", "suspend", reason_required=True,
         grant="consent.manage"),
    Move("resume", frozenset({S.suspended}), S.approved, "再開", "resume", grant="consent.manage"),
    Move("end", frozenset({S.registered, S.approved, S.suspended}), S.ended, "終了", "end", reason_required=True,
         grant="consent.manage"),
), initial=(S.registered,), refusal=_refusal)

TRANSITIONS = SERVICES.moves  # name -> Move (the API's path values)


def allowed_transitions(service: DataService) -> list[Move]:
    return SERVICES.moves_from(service.status)


def check(service: DataService, name: str, reason: str) -> Move:
    """The move ``name`` of ``service`` if the table allows it (and it has its reason)."""
    if name not in SERVICES.moves:
        raise Invalid(f"Unknown transition {name!r}.", f"「{name}」という操作はありません。")
    move = SERVICES.move(name, service.status, service)
    require_reason(move, reason)
    return move

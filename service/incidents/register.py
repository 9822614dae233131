"""The one register of incidents: platform failures (:mod:`service.incidents.operations`) and the
identity incidents (認証サーバーの不整合, :mod:`tenancy.identity.incidents`: Keycloak work left half
done) as kinds of one list, newest first, each row leading to its page. Identity incidents are listed
for those who may handle them (``identity.incident``)."""

from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy.orm import Session

from core import authz
from core.actor import Actor
from service.incidents import operations
from service.incidents.models import SEVERITY_LABELS, STATUS_LABELS
from tenancy.identity import incidents as identity_incidents

KIND_LABELS = {"platform": ("障害", "Platform failure"), "identity": ("認証サーバーの不整合", "Identity incident")}


@dataclasses.dataclass(frozen=True)
class RegisterRow:
    kind: str  # platform or identity
    id: int
    title: str
    detected_at: dt.datetime
    open: bool
    status_ja: str
    status_en: str
    severity_ja: str = ""
    severity_en: str = ""

    @property
    def kind_label(self) -> tuple[str, str]:
        return KIND_LABELS[self.kind]


def register(session: Session, actor: Actor, *, open_only: bool = False, limit: int = 200) -> list[RegisterRow]:
    authz.authorize(actor, operations.READ)
    rows = [RegisterRow("platform", i.id, i.title, i.detected_at, i.status.value != "closed",
                        *STATUS_LABELS[i.status.value], *SEVERITY_LABELS[i.severity.value])
            for i in operations.list_incidents(session, actor, limit=limit)]
    if authz.allowed(actor, identity_incidents.ACTION):
        found = identity_incidents.list_incidents(session, actor, limit=limit)
        if not open_only:
            found += identity_incidents.list_incidents(session, actor, resolved=True, limit=limit)
        for view in found:
            incident = view.incident
            resolved = incident.resolved_at is not None
            rows.append(RegisterRow("identity", incident.id,
                                    f"{incident.tenant_code} {view.tenant_name} ・ {view.operation_ja}（{incident.username}）",
                                    incident.at, not resolved, *(("解消済み", "Resolved") if resolved else ("未解消", "Unresolved"))))
    if open_only:
        rows = [row for row in rows if row.open]
    return sorted(rows, key=lambda row: (row.detected_at, row.kind, row.id), reverse=True)[:limit]

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
from core.labelled import LabelledEnum
from service.incidents import operations
from service.incidents.models import IncidentStatus, Severity
from tenancy.identity import incidents as identity_incidents

class RegisterKind(LabelledEnum):
    platform = "platform", "障害", "Platform failure"
    identity = "identity", "認証サーバーの不整合", "Identity incident"


@dataclasses.dataclass(frozen=True)
class RegisterRow:
    kind: RegisterKind
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
        return RegisterKind(self.kind).label


def register(session: Session, actor: Actor, *, open_only: bool = False, limit: int = 200) -> list[RegisterRow]:
    authz.authorize(actor, operations.READ)
    rows = [RegisterRow(RegisterKind.platform, i.id, i.title, i.detected_at, i.status.value != "closed",
                        *IncidentStatus(i.status).label, *Severity(i.severity).label)
            for i in operations.list_incidents(session, actor, limit=limit)]
    if authz.allowed(actor, identity_incidents.ACTION):
        found = identity_incidents.list_incidents(session, actor, limit=limit)
        if not open_only:
            found += identity_incidents.list_incidents(session, actor, resolved=True, limit=limit)
        for view in found:
            incident = view.incident
            resolved = incident.resolved_at is not None
            rows.append(RegisterRow(RegisterKind.identity, incident.id,
                                    f"{incident.tenant_code} {view.tenant_name} ・ {view.operation_ja}（{incident.username}）",
                                    incident.at, not resolved, *(("解消済み", "Resolved") if resolved else ("未解消", "Unresolved"))))
    if open_only:
        rows = [row for row in rows if row.open]
    return sorted(rows, key=lambda row: (row.detected_at, row.kind, row.id), reverse=True)[:limit]

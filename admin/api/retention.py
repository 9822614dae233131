"""/api/v1 endpoints of record retention: the one table (core/retention.py) and what is past it now
(maintenance/retention.py). Reads of the operator and the auditor; the operation authorises itself."""

from __future__ import annotations

from typing import Literal

from flask import jsonify
from pydantic import BaseModel

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core import authz, retention
from maintenance import retention as due

bp = StrictAPIBlueprint("api_retention", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("retention", "記録の保存期間 / record retention"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

CountsFrom = Literal[tuple(c.value for c in retention.CountsFrom)]  # type: ignore[valid-type]


class RetentionKindOut(BaseModel):
    kind: str
    label_ja: str
    label_en: str
    period_ja: str
    period_en: str
    years: int
    days: int
    counts_from: CountsFrom
    counts_from_ja: str
    counts_from_en: str
    basis_ja: str
    basis_en: str


class RetentionTableOut(BaseModel):
    items: list[RetentionKindOut]
    total: int


class RetentionDueOut(BaseModel):
    kind: str
    label_ja: str
    label_en: str
    count: int
    through_ja: str
    through_en: str
    how_ja: str
    how_en: str


class RetentionDueList(BaseModel):
    items: list[RetentionDueOut]
    total: int


@bp.get("/retention", responses={200: RetentionTableOut},
        summary="How long each kind of record is kept and from when that counts (記録の保存期間)")
def retention_table():
    authz.authorize(current_actor(), "retention.read")
    items = [{"kind": k.key, "label_ja": k.label_ja, "label_en": k.label_en, "period_ja": k.period_ja(),
              "period_en": k.period_en(), "years": k.years, "days": k.days, "counts_from": k.counts_from.value,
              "counts_from_ja": retention.CountsFrom(k.counts_from).ja,
              "counts_from_en": retention.CountsFrom(k.counts_from).en, "basis_ja": k.basis_ja,
              "basis_en": k.basis_en} for k in retention.KINDS]
    return jsonify({"items": items, "total": len(items)})


@bp.get("/retention/due", responses={200: RetentionDueList},
        summary="Records past their retention now, by kind (listed for disposal; nothing is deleted)")
def retention_due():
    items = [d.as_dict() for d in due.due_list(db.session, current_actor())]
    return jsonify({"items": items, "total": len(items)})

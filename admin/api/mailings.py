"""/api/v1/mailings: the mailings to members by segment (secretariat/mailings.py), read only: the mailings written
and sent, and who a segment reaches now (the count the page previews). Writing and sending are the desk's page's
(sending asks first); the operations ask core.authz."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from secretariat import mailings
from tenancy.members.models import SizeBand

bp = StrictAPIBlueprint("api_mailings", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("mailings", "会員へのメール配信 / mailings to members"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

Kind = Literal[tuple(k.value for k in mailings.MailingKind)]  # type: ignore[valid-type]
Status = Literal[tuple(s.value for s in mailings.MailingStatus)]  # type: ignore[valid-type]
Letters = Annotated[str, StringConstraints(pattern=r"^[A-T](,[A-T])*$")]
_BAND = "(" + "|".join(band.value for band in SizeBand) + ")"
Bands = Annotated[str, StringConstraints(pattern=rf"^{_BAND}(,{_BAND})*$")]
Codes = Annotated[str, StringConstraints(pattern=r"^\d{6}(,\d{6})*$", max_length=700)]
Ids = Annotated[str, StringConstraints(pattern=r"^[1-9]\d{0,8}(,[1-9]\d{0,8})*$", max_length=500)]


class MailingOut(BaseModel):
    id: int
    kind: Kind
    kind_ja: str
    subject: str
    status: Status
    status_ja: str
    created_at: dt.datetime
    sent_at: dt.datetime | None
    recipient_count: int = Field(description="Members the mailing was sent to (0 for a draft)")
    opted_out_count: int = Field(description="Members of the audience left out: they stopped announcements")


class MailingList(BaseModel):
    items: list[MailingOut]


class RecipientsQuery(CachedSchema):
    kind: Kind = Field(default="advertising", description="advertising: an announcement (members who stopped them are left out); service: a "
                                   "service notice (every member of the audience)")
    industries: Letters | None = Field(default=None, description="日本標準産業分類 major groups, comma-separated (G,E)")
    size_bands: Bands | None = Field(default=None, description="Size bands, comma-separated (small,medium)")
    municipality_codes: Codes | None = Field(default=None, description="Head offices' 全国地方公共団体コード (6 digits, the last a "
                                                                              "check digit), comma-separated")
    group_ids: Ids | None = Field(default=None, description="Communities or working groups, comma-separated ids (each "
                                                                    "must exist)")
    event_ids: Ids | None = Field(default=None, description="Events attended, comma-separated ids (each must exist)")
    joined_since: dt.date | None = Field(default=None, description="Joined on or after")


class Recipient(BaseModel):
    corporate_number: str
    name: str


class Recipients(BaseModel):
    count: int
    opted_out: int = Field(description="Members of the audience left out: they stopped announcements")
    items: list[Recipient]


def _split(text: str | None) -> tuple[str, ...]:
    return tuple(text.split(",")) if text else ()


@bp.get("/mailings", responses={200: MailingList}, summary="Mailings to members, the latest first")
def list_mailings():
    return jsonify({"items": [{
        "id": m.id, "kind": m.kind.value, "kind_ja": m.kind.ja, "subject": m.subject, "status": m.status.value,
        "status_ja": m.status.ja, "created_at": m.created_at.isoformat(),
        "sent_at": m.sent_at.isoformat() if m.sent_at else None, "recipient_count": m.recipient_count,
        "opted_out_count": m.opted_out_count} for m in mailings.list_mailings(db.session, current_actor())]})


@bp.get("/mailings/recipients", responses={200: Recipients},
        summary="Who a mailing to a segment reaches now (every criterion given must match; nothing is saved)")
def recipients(query: RecipientsQuery):
    segment = mailings.Segment(industries=_split(query.industries), size_bands=_split(query.size_bands),
                               municipality_codes=_split(query.municipality_codes),
                               group_ids=tuple(int(i) for i in _split(query.group_ids)),
                               event_ids=tuple(int(i) for i in _split(query.event_ids)), joined_since=query.joined_since)
    found = mailings.preview(db.session, current_actor(), query.kind, segment)
    return jsonify({"count": len(found.recipients), "opted_out": len(found.opted_out),
                    "items": [{"corporate_number": org.corporate_number, "name": org.name} for org in found.recipients]})

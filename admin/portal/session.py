"""The resident's session in the portal (issue 42 items 4 and 7): the one home of who is signed in there.

A resident signed in through the residents' realm is kept under the session's ``resident`` key, apart from a
staff member's ``actor`` (admin/auth.py): a staff session never grants the portal (:func:`current_resident`
reads ``resident`` only) and a resident's session never grants a staff page or the API (admin/auth.py reads
``actor`` only, and a residents' realm token fails the API's issuer check). The portal's pages ask
:func:`current_resident`, or :func:`resident_required` to send a visitor to sign in.

What is kept: the resident's row id, municipality, common ID and status at sign-in, the provider, the
assurance of the sign-in and when it was made; never the 基本4情報.

A legal representative (residents.representation) who chose to act for someone keeps ``acting_for`` (the
representation and the person's row id): :func:`current_resident` then gives the person acted for as
``resident_id`` and the signed-in representative as ``representative_id``, once the representation is found in
force for this request; a representation found ended is dropped, and :func:`resident_required` refuses that
request (403) in words, so an act meant for the person is never made for the representative instead.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import time
from collections.abc import Callable

from flask import current_app, g, redirect, render_template, request, session, url_for

from core.errors import DomainError

SESSION_KEY = "resident"


@dataclasses.dataclass(frozen=True)
class PortalResident:
    resident_id: int
    tenant_code: str
    common_id: str | None
    status: str
    provider: str
    assurance_level: int
    signed_in_at: dt.datetime
    representative_id: int | None = None  # acting for ``resident_id`` as their legal representative
    representation_id: int | None = None
    municipalities: tuple[str, ...] = ()  # the portal's municipalities this sign-in may be under (switch by signing in)

    @property
    def signed_in_id(self) -> int:
        """The resident who signed in: the representative when acting for someone, else the resident."""
        return self.representative_id or self.resident_id


def sign_in_resident(signed) -> None:
    """Keep a sign-in (:class:`residents.signin.PortalSignIn`) as the session's resident."""
    session[SESSION_KEY] = {"resident_id": signed.resident_id, "tenant_code": signed.tenant_code,
                            "common_id": signed.common_id, "status": signed.status, "provider": signed.provider,
                            "assurance_level": signed.assurance_level,
                            "signed_in_at": signed.signed_in_at.isoformat(), "seen": time.time(),
                            "municipalities": list(signed.municipalities)}


def sign_out_resident() -> dict | None:
    """End the resident's session (a staff member's, if any, is not touched); what it held."""
    return session.pop(SESSION_KEY, None)


def current_resident() -> PortalResident | None:
    """The resident signed in to the portal, or None (never a staff member; idle for longer than
    RENKEI_SESSION_IDLE_MINUTES ends it)."""
    data = session.get(SESSION_KEY)
    if not isinstance(data, dict):
        return None
    now = time.time()
    if now - float(data.get("seen") or 0) > float(current_app.config["RENKEI_SESSION_IDLE_MINUTES"]) * 60:
        sign_out_resident()
        return None
    if now - float(data.get("seen") or 0) >= 5:  # the cookie is rewritten at most every 5 s
        session[SESSION_KEY] = {**data, "seen": now}
    signed = PortalResident(resident_id=int(data["resident_id"]), tenant_code=data["tenant_code"],
                            common_id=data.get("common_id"), status=data["status"], provider=data["provider"],
                            assurance_level=int(data["assurance_level"]),
                            signed_in_at=dt.datetime.fromisoformat(data["signed_in_at"]),
                            municipalities=tuple(str(code) for code in data.get("municipalities") or ()))
    acting = data.get("acting_for")
    if not isinstance(acting, dict):
        return signed
    if "renkei_representation" not in g:  # checked once a request: the day may have turned since the last one
        g.renkei_representation = _in_force(int(acting["representation_id"]), signed.resident_id)
        if isinstance(g.renkei_representation, DomainError):
            session[SESSION_KEY] = {key: value for key, value in session[SESSION_KEY].items() if key != "acting_for"}
            return signed
    if isinstance(g.renkei_representation, DomainError):
        return signed
    return dataclasses.replace(signed, resident_id=int(acting["represented_id"]), common_id=acting.get("common_id"),
                               status="active", representative_id=signed.resident_id,
                               representation_id=int(acting["representation_id"]))


def _in_force(representation_id: int, representative_id: int):
    """The representation if in force today, else the refusal (residents.representation.check_in_force)."""
    from admin.extensions import db
    from admin.resident_keys import keyring
    from residents import representation

    try:
        return representation.check_in_force(db.session, keyring(), representation_id, representative_id)
    except DomainError as refusal:
        return refusal


def act_for(representation, common_id: str | None) -> None:
    """The signed-in representative acts for the person of ``representation`` (checked in force by the caller)."""
    session[SESSION_KEY] = {**session[SESSION_KEY], "acting_for": {
        "representation_id": representation.id, "represented_id": representation.represented_id, "common_id": common_id}}


def stop_acting() -> None:
    """Back to acting as oneself."""
    data = session.get(SESSION_KEY)
    if isinstance(data, dict) and "acting_for" in data:
        session[SESSION_KEY] = {key: value for key, value in data.items() if key != "acting_for"}


def resident_required(view: Callable) -> Callable:
    """A portal page for a signed-in resident: anyone else is sent to sign in (and comes back)."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_resident() is None:
            return redirect(url_for("portal.login", next=request.path))
        ended = g.get("renkei_representation")
        if isinstance(ended, DomainError):  # meant for the person represented, whose representation has ended
            return render_template("portal/representation_ended.html", error=ended), 403
        return view(*args, **kwargs)

    return wrapper

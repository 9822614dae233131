"""One residents' portal for every member municipality (issue 56 item 1).

Rules:

* **Opting in.** A member municipality takes part in the portal when the operator or its own admin says so
  (:func:`set_portal`, ``resident.portal.configure``, audited with before and after), with its own words shown to its
  residents once they sign in (:func:`welcome`); its services are its own already (each service belongs to one
  municipality, :func:`residents.portal.linkable_services`). Only an active municipality takes part; the prefecture
  enrols nobody. A deployment for one municipality names it instead (``RENKEI_PORTAL_TENANT``,
  :func:`residents.signin.portal_tenant`), and then that one alone is the portal's.
* **Where a resident belongs.** The card's address (所在地) gives the municipality
  (:func:`municipality_of_address`): the registered municipalities' names, after the prefecture's name and a county
  (郡), the longest that begins the address; else a former name of a merged town (平成の大合併,
  ``tenancy/data/*_former_municipalities.csv``). An address in another prefecture, or a name two prefectures share
  written without its prefecture, gives none.
* **Several.** A resident whose card sign-in is already enrolled in other municipalities of the portal (their
  provider's identifier held there: they work with that municipality's services, or lived there) chooses among
  them and the address's (:func:`choices`); a sign-in goes where they are enrolled unless they choose, so nobody
  is enrolled anew elsewhere without asking for it. Common IDs stay per municipality (the controller): signing in
  under one never shows another's.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import re
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound
from core.validation import text_field_problem
from residents import normalise
from residents.models import PortalMunicipality, Resident, ResidentIdentity, ResidentStatus

CONFIGURE = "resident.portal.configure"
WELCOME_MAX = 1000
_COUNTY = re.compile(r"^[^市区町村郡]{1,6}?郡")


def _normal(text: str) -> str:
    return normalise.name(text)  # NFKC, no spaces, the old character forms (龍ヶ岳町 as 竜ヶ岳町)


@functools.lru_cache(maxsize=1)
def former_names() -> tuple[tuple[str, str, str], ...]:
    """(former name, county, today's code) of every merged municipality the reference data names."""
    rows: list[tuple[str, str, str]] = []
    folder = resources.files("tenancy") / "data"
    for entry in sorted(folder.iterdir(), key=lambda path: path.name):
        if entry.name.endswith("_former_municipalities.csv"):
            for row in csv.DictReader(io.StringIO(entry.read_text(encoding="utf-8"))):
                rows.append((_normal(row["former_name"]), _normal(row["county"]), row["current_code"].strip()))
    return tuple(rows)


def _registered(session: Session) -> list[tuple[str, str, str]]:
    from tenancy.registry.models import Tenant

    return [(code, _normal(name), str(getattr(kind, "value", kind)))
            for code, name, kind in session.execute(sa.select(Tenant.code, Tenant.name_ja, Tenant.kind))]


def municipality_of_address(session: Session, address: str) -> str | None:
    """The code of the registered municipality ``address`` lies in, or None (see the module's rules)."""
    from tenancy.members.models import PREFECTURES  # in the order of their numbers (JIS X 0401)

    text = _normal(address)
    tenants = _registered(session)
    prefecture = None
    for number, name in enumerate(PREFECTURES, start=1):
        if text.startswith(name):
            prefecture, text = f"{number:02d}", text[len(name):]
            break
    text = _COUNTY.sub("", text)
    best: dict[str, int] = {}
    for code, name, kind in tenants:
        if kind != "prefecture" and name and text.startswith(name) and (prefecture is None or code[:2] == prefecture):
            best[code] = len(name)
    if best:
        longest = max(best.values())
        found = [code for code, length in best.items() if length == longest]
        return found[0] if len(found) == 1 else None
    registered = {code for code, _, kind in tenants if kind != "prefecture"}
    found = {code for former, _, code in former_names()
             if text.startswith(former) and code in registered and (prefecture is None or code[:2] == prefecture)}
    return found.pop() if len(found) == 1 else None


def opted_in(session: Session) -> list[str]:
    """The codes of the active municipalities that take part in the portal."""
    from tenancy.registry.models import Tenant, TenantStatus

    return list(session.scalars(sa.select(PortalMunicipality.tenant_code).join(
        Tenant, Tenant.code == PortalMunicipality.tenant_code).where(
        PortalMunicipality.opted_in.is_(True), Tenant.status == TenantStatus.active).order_by(
        PortalMunicipality.tenant_code)))


def choices(session: Session, address: str, issuer: str, subject: str) -> list[str]:
    """The portal's municipalities a card sign-in may be under: those where the provider's identifier of the person
    is already enrolled (and has not left or moved away), then the address's (if it takes part). The first is where a sign-in goes
    unless the resident chose: a person already enrolled is never enrolled anew elsewhere without choosing it."""
    taking_part = set(opted_in(session))
    enrolled = session.scalars(sa.select(ResidentIdentity.tenant_code).join(
        Resident, Resident.id == ResidentIdentity.resident_id).where(
        ResidentIdentity.issuer == issuer, ResidentIdentity.subject == subject,
        Resident.status.notin_((ResidentStatus.left, ResidentStatus.moved))).order_by(ResidentIdentity.id))
    found = [code for code in dict.fromkeys(enrolled) if code in taking_part]
    home = municipality_of_address(session, address)
    if home in taking_part and home not in found:
        found.append(home)
    return found


def welcome(session: Session, tenant_code: str, ja: bool = True) -> str:
    """The words the municipality shows its residents in the portal ("" when none)."""
    row = session.scalar(sa.select(PortalMunicipality).where(PortalMunicipality.tenant_code == tenant_code))
    if row is None:
        return ""
    return row.welcome_ja if ja or not row.welcome_en else row.welcome_en


@dataclasses.dataclass(frozen=True)
class PortalSetting:
    tenant_code: str
    name: str
    opted_in: bool
    welcome_ja: str
    welcome_en: str
    changed_at: object
    changed_by: str


def settings_for(session: Session, actor: Actor) -> list[PortalSetting]:
    """Each active municipality the actor may place in the portal, with its setting (the operator: all of them)."""
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    grant = authz.authorize(actor, CONFIGURE)
    query = sa.select(Tenant.code, Tenant.name_ja).where(Tenant.kind != TenantKind.prefecture,
                                                         Tenant.status == TenantStatus.active)
    if not grant.all_tenants:
        query = query.where(Tenant.code.in_(sorted(grant.tenant_codes)))
    tenants = session.execute(query.order_by(Tenant.code)).all()
    rows = {row.tenant_code: row for row in session.scalars(sa.select(PortalMunicipality).where(
        PortalMunicipality.tenant_code.in_([code for code, _ in tenants])))}
    unset = PortalMunicipality(opted_in=False, changed_at=None)  # a municipality that has not chosen
    return [PortalSetting(code, name, bool(row.opted_in), row.welcome_ja, row.welcome_en, row.changed_at, row.changed_by)
            for code, name in tenants for row in (rows.get(code, unset),)]


def set_portal(session: Session, actor: Actor, tenant_code: str, *, opted_in: bool, welcome_ja: str = "",
               welcome_en: str = "") -> PortalMunicipality:
    """The municipality takes part in the portal (or stops), with its words; audited (before and after)."""
    from tenancy.registry.models import Tenant, TenantKind, TenantStatus

    code = (tenant_code or "").strip()[:6]
    authz.authorize(actor, CONFIGURE, code)
    tenant = session.scalar(sa.select(Tenant).where(Tenant.code == code))
    if tenant is None:
        raise NotFound("No such municipality.", "その市町村は登録されていません。")
    welcome_ja, welcome_en = (welcome_ja or "").strip(), (welcome_en or "").strip()
    problems = [found for found in (
        text_field_problem("welcome_ja", welcome_ja, "words for residents (Japanese)", "住民へのご案内（日本語）",
                           WELCOME_MAX, single_line=False),
        text_field_problem("welcome_en", welcome_en, "words for residents (English)", "住民へのご案内（英語）",
                           WELCOME_MAX, single_line=False)) if found]
    if problems:
        raise Invalid("Check the words for residents.", "住民へのご案内を確認してください。", problems=problems)
    if opted_in and (tenant.kind is TenantKind.prefecture or tenant.status is not TenantStatus.active):
        raise Conflict("Only an active member municipality takes part in the residents' portal.",
                       "住民ポータルに参加できるのは、利用中の構成市町村だけです。")
    row = session.scalar(sa.select(PortalMunicipality).where(PortalMunicipality.tenant_code == code))
    before = None if row is None else {"opted_in": row.opted_in, "welcome_ja": row.welcome_ja,
                                       "welcome_en": row.welcome_en}
    if row is None:
        row = PortalMunicipality(tenant_code=code)
        session.add(row)
    row.opted_in, row.welcome_ja, row.welcome_en = bool(opted_in), welcome_ja, welcome_en
    row.changed_at, row.changed_by = utcnow(), actor.recorded_name
    session.flush()
    audit.record(session, actor, CONFIGURE, "resident_portal_municipality", code, tenant_code=code, before=before,
                 after={"opted_in": row.opted_in, "welcome_ja": row.welcome_ja, "welcome_en": row.welcome_en})
    return row

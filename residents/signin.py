"""Residents' sign-in with the My Number card and other providers (issue 42 item 4).

Residents sign in to the portal through Keycloak's residents' realm (never the platform's staff realm),
brokered to OpenID Connect identity providers (:mod:`tenancy.identity.keycloak.residents_realm`). renkei
keeps, per provider, its alias in the realm, its issuer and the assurance level a sign-in through it carries
(:class:`residents.models.ResidentProvider`). A sign-in's verified claims become the person through
:func:`residents.operations.sign_in_person` (the one enrolment rule), and each sign-in is kept
(:class:`residents.models.ResidentSignIn`: provider, identifier, assurance, the claims' names, when); the
claims a known person's sign-in verified replace what renkei held when they changed
(:func:`residents.operations.refresh_claims`: a move of house, a new name; a change that makes them match
another person waits for review).

Configuring the realm and a provider is the operator's, audited (``resident.realm.setup``,
``resident.provider.add``); the client secret given for a provider goes to Keycloak and is never recorded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.errors import Forbidden, Invalid, Unavailable, problem
from core.validation import NOT_BLANK
from residents.consent.models import AssuranceLevel
from residents.consent.schemas import validated
from residents import operations
from residents.crypto import Keyring
from residents.models import (Resident, ResidentIdentity, ResidentProvider, ResidentSignIn, ResidentStatus, Sex,
                             VerificationMethod)

# the ID token's claims the residents' realm gives (tenancy.identity.keycloak.residents_realm)
CLAIM_PROVIDER, CLAIM_SUBJECT = "renkei_idp", "renkei_subject"
CLAIMS = {"full_name": "renkei_name", "address": "renkei_address", "birth_date": "renkei_birthdate",
          "sex": "renkei_gender"}
# the provider's words for sex: OpenID Connect's gender, or ISO/IEC 5218 as the card gives it
_SEX = {"male": Sex.male, "1": Sex.male, "female": Sex.female, "2": Sex.female, "9": Sex.not_applicable,
        "other": Sex.not_applicable}

Alias = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200), NOT_BLANK]
Url = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^https?://\S{1,490}$")]


class ProviderIn(BaseModel):
    """An identity provider for residents: where its discovery document is, renkei's client there, the
    alias in the residents' realm and the assurance level of a sign-in through it."""

    model_config = ConfigDict(extra="forbid")

    alias: Alias
    display_name: Text
    discovery_url: Url
    client_id: Text
    client_secret: Annotated[str, StringConstraints(min_length=1, max_length=500)]
    assurance_level: StrictInt = Field(ge=1, le=99)


@dataclasses.dataclass(frozen=True)
class RealmSettings:
    """The residents' realm as the settings name it (RENKEI_RESIDENTS_REALM, …_CLIENT_ID, …_CLIENT_SECRET)."""

    realm: str
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...]


def setup_realm(session: Session, actor: Actor, master, settings: RealmSettings) -> list[str]:
    """``renkei residents realm-setup``: the residents' realm and the portal's client created or corrected
    with the master administrator's client ``master``; audited with the changes made (none: still a record)."""
    from tenancy.identity.keycloak import ensure_residents_realm

    authz.authorize(actor, "resident.signin.configure")
    changes = ensure_residents_realm(master, settings.realm, settings.client_id, settings.client_secret,
                                     settings.redirect_uris)
    audit.record(session, actor, "resident.realm.setup", "keycloak_realm", settings.realm,
                 after={"realm": settings.realm, "client_id": settings.client_id, "changes": changes})
    erased = erase_realm_attributes(session, actor, master, settings)
    if erased:
        changes.append(f"基本4情報を {erased} 件のアカウントから消去 / the 基本4情報 erased from {erased} account(s)")
    return changes


def erase_realm_attributes(session: Session, actor: Actor, master, settings: RealmSettings) -> int:
    """``renkei residents erase-realm-attributes`` (and every realm-setup): the 基本4情報 earlier versions
    stored on the residents' realm's accounts (user attributes, first and last name, e-mail) erased from
    every account; the number of accounts changed, audited (``resident.realm.erase``) when any was."""
    from tenancy.identity.keycloak import erase_stored_claims

    authz.authorize(actor, "resident.signin.configure")
    erased = erase_stored_claims(master, settings.realm)
    if erased:
        audit.record(session, actor, "resident.realm.erase", "keycloak_realm", settings.realm,
                     after={"realm": settings.realm, "accounts": erased})
    return erased


_ENDED = (ResidentStatus.left, ResidentStatus.moved)


def _still_signing_in(session: Session, issuer: str, subject: str) -> bool:
    """The person still signs in with this identifier elsewhere (enrolled with another municipality, or moved
    there): the realm's account is the person's, not one municipality's, and is kept."""
    return session.scalar(sa.select(ResidentIdentity.id).join(Resident, Resident.id == ResidentIdentity.resident_id)
                          .where(ResidentIdentity.issuer == issuer, ResidentIdentity.subject == subject,
                                 Resident.status.notin_(_ENDED)).limit(1)) is not None


def delete_realm_accounts(session: Session, actor: Actor, master, settings: RealmSettings,
                          residents: list | None = None) -> int:
    """The accounts of the residents' realm of residents who left or moved away (``residents``, else every such
    resident whose providers' identifiers renkei still holds) deleted, save an identifier the person still signs in
    with elsewhere (:func:`_still_signing_in`): the ones linked to those identifiers at the
    providers with their issuer. Audited per resident whose accounts were deleted
    (``resident.realm.accounts.delete``); the number of accounts deleted. ``renkei residents
    delete-left-accounts`` and the ``resident-retention`` job (before it erases the identifiers)."""
    from tenancy.identity.keycloak import delete_provider_accounts

    authz.authorize(actor, "resident.signin.configure")
    if residents is None:
        residents = list(session.scalars(
            sa.select(Resident).where(Resident.status.in_(_ENDED), Resident.id.in_(
                sa.select(ResidentIdentity.resident_id))).order_by(Resident.id)))
    aliases: dict[str, list[str]] = {}
    for provider in session.scalars(sa.select(ResidentProvider)):
        aliases.setdefault(provider.issuer, []).append(provider.alias)
    total = 0
    for resident in residents:
        pairs = [(alias, identity.subject) for identity in session.scalars(
            sa.select(ResidentIdentity).where(ResidentIdentity.resident_id == resident.id))
            if not _still_signing_in(session, identity.issuer, identity.subject)
            for alias in aliases.get(identity.issuer, [])]
        deleted = delete_provider_accounts(master, settings.realm, pairs) if pairs else 0
        if deleted:
            audit.record(session, actor, "resident.realm.accounts.delete", "resident",
                         resident.common_id or str(resident.id), tenant_code=resident.tenant_code,
                         after={"realm": settings.realm, "accounts": deleted})
        total += deleted
    return total


def add_provider(session: Session, actor: Actor, master, settings: RealmSettings,
                 payload: ProviderIn | dict) -> tuple[ResidentProvider, list[str]]:
    """``renkei residents provider-add``: the provider configured in the residents' realm from its discovery
    document (Keycloak reads it), and renkei's record of its issuer and assurance level; again for the same
    alias corrects both. Audited with the level before and after; the secret is never recorded."""
    from tenancy.identity.keycloak import ensure_provider

    data = validated(ProviderIn, payload)
    authz.authorize(actor, "resident.signin.configure")
    if session.get(AssuranceLevel, data.assurance_level) is None:
        raise Invalid("Unknown assurance level.", "その個人認証レベルは登録されていません。",
                      problems=[problem("assurance_level", "Choose one of the levels.", "一覧から個人認証レベルを選んでください。")])
    changes, issuer = ensure_provider(master, settings.realm, data.alias, data.discovery_url, data.client_id,
                                      data.client_secret, data.display_name)
    if not issuer:
        raise Invalid("The discovery document names no issuer.", "ディスカバリー文書に issuer がありません。",
                      problems=[problem("discovery_url", "Give the provider's OpenID Connect discovery URL.",
                                        "認証事業者の OpenID Connect ディスカバリー URL を指定してください。")])
    row = session.scalar(sa.select(ResidentProvider).where(ResidentProvider.alias == data.alias))
    before = None if row is None else {"issuer": row.issuer, "assurance_level": row.assurance_level,
                                       "discovery_url": row.discovery_url}
    if row is None:
        row = ResidentProvider(alias=data.alias, created_by=actor.recorded_name, display_name="", issuer="",
                               discovery_url="", assurance_level=data.assurance_level)
        session.add(row)
    row.display_name, row.issuer, row.discovery_url = data.display_name, issuer, data.discovery_url
    row.assurance_level = data.assurance_level
    session.flush()
    audit.record(session, actor, "resident.provider.add", "resident_provider", data.alias, before=before,
                 after={"issuer": issuer, "assurance_level": data.assurance_level, "discovery_url": data.discovery_url,
                        "client_id": data.client_id, "realm": settings.realm, "changes": changes})
    return row, changes


# --- a resident's sign-in ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class PortalSignIn:
    """What the portal keeps of a sign-in in the resident's session (never the 基本4情報)."""

    resident_id: int
    tenant_code: str
    common_id: str | None
    status: str  # the resident's status: active, review
    how: str  # known, renewed, enrolled
    provider: str
    assurance_level: int
    signed_in_at: dt.datetime
    municipalities: tuple[str, ...] = ()  # the portal's municipalities this sign-in may be under (codes)


NOT_A_SIGN_IN = ("The sign-in did not come through a provider renkei knows.",
                 "renkei に登録された認証事業者を通したサインインではありません。")


def _claims(claims: dict[str, Any]) -> dict[str, str]:
    missing = [name for name in CLAIMS.values() if not str(claims.get(name) or "").strip()]
    if missing or not str(claims.get(CLAIM_SUBJECT) or "").strip():
        raise Invalid("The provider did not give the name, address, date of birth and sex (基本4情報) needed to "
                      "enrol; sign in with the My Number card.",
                      "認証事業者から基本4情報（氏名・住所・生年月日・性別）を受け取れなかったため登録できません。"
                      "マイナンバーカードでサインインしてください。")
    values = {field: str(claims[name]).strip() for field, name in CLAIMS.items()}
    values["sex"] = _SEX.get(values["sex"].lower(), Sex.not_applicable).value
    return values


NOT_IN_THE_PORTAL = ("The municipality of the address on your card does not take part in this portal; ask your "
                     "municipality's counter.",
                     "マイナンバーカードの住所の市町村は、このポータルに参加していません。お住まいの市町村の窓口にお問い合わせください。")


def sign_in(session: Session, keys: Keyring, tenant_code: str, claims: dict[str, Any],
            chosen: str | None = None) -> PortalSignIn:
    """A resident's sign-in: ``claims`` are the verified ID token's of the residents' realm (the provider's
    alias from the sign-in itself, its identifier of the person and the 基本4情報). The person is found or
    enrolled at the provider's assurance level (:func:`residents.operations.sign_in_person`) and the sign-in
    is kept. A provider renkei does not know is refused.

    The municipality: the deployment's one (``tenant_code``, RENKEI_PORTAL_TENANT) when it names one; else the
    portal's for this person (:func:`residents.portal_municipalities.choices`: where they are enrolled, or the
    card's address's), ``chosen`` among them when given, else the first; none refuses (403)."""
    from residents import portal_municipalities

    provider = session.scalar(sa.select(ResidentProvider).where(
        ResidentProvider.alias == str(claims.get(CLAIM_PROVIDER) or "")))
    if provider is None:
        raise Invalid(*NOT_A_SIGN_IN)
    subject = str(claims.get(CLAIM_SUBJECT) or "").strip()
    values = _claims(claims)
    if (tenant_code or "").strip():
        tenant_code = portal_tenant(session, tenant_code)
        municipalities = [tenant_code]
    else:
        portal_open(session, tenant_code)
        municipalities = portal_municipalities.choices(session, values["address"], provider.issuer, subject)
        if not municipalities:
            raise Forbidden(*NOT_IN_THE_PORTAL)
        tenant_code = chosen if chosen in municipalities else municipalities[0]
    from residents.portal_records import refuse_if_left

    refuse_if_left(session, tenant_code, provider.issuer, subject)  # a left resident enrols anew at the desk
    actor = Actor(issuer=provider.issuer, subject=subject, name=f"住民本人（{provider.display_name}）")
    verified = {"tenant_code": tenant_code, **values, "verification": VerificationMethod.provider.value,
                "assurance_level": provider.assurance_level, "issuer": provider.issuer, "subject": subject}
    signed = operations.sign_in_person(session, actor, keys, verified)
    if signed.how != "enrolled":  # a known person: renkei keeps what the provider verified this time
        operations.refresh_claims(session, actor, keys, signed.resident, verified, provider.display_name)
    row = ResidentSignIn(resident_id=signed.resident.id, provider_id=provider.id, subject=subject,
                         assurance_level=provider.assurance_level,
                         verified_claims=",".join(name for name in CLAIMS.values()))
    session.add(row)
    session.flush()
    return PortalSignIn(resident_id=signed.resident.id, tenant_code=tenant_code, common_id=signed.resident.common_id,
                        status=signed.resident.status.value, how=signed.how, provider=provider.alias,
                        assurance_level=provider.assurance_level, signed_in_at=row.signed_in_at,
                        municipalities=tuple(municipalities))


PORTAL_NOT_SET_UP = ("The residents' portal is not set up: no registered municipality takes part in it.",
                     "住民ポータルが設定されていません（参加している市町村がありません）。")


def portal_open(session: Session, tenant_code: str) -> None:
    """The portal takes residents: the deployment's one municipality (RENKEI_PORTAL_TENANT) is registered, or, when
    it names none, at least one municipality takes part (:func:`residents.portal_municipalities.opted_in`); else
    it is not set up (503)."""
    from residents import portal_municipalities

    if (tenant_code or "").strip():
        portal_tenant(session, tenant_code)
    elif not portal_municipalities.opted_in(session):
        raise Unavailable(*PORTAL_NOT_SET_UP)


def portal_tenant(session: Session, tenant_code: str) -> str:
    """The municipality residents enrol with through this portal (RENKEI_PORTAL_TENANT): a registered
    tenant, or the portal is not set up (503, nobody is enrolled anywhere else)."""
    from tenancy.registry.models import Tenant

    code = (tenant_code or "").strip()
    if not code or session.scalar(sa.select(Tenant.id).where(Tenant.code == code)) is None:
        raise Unavailable(*PORTAL_NOT_SET_UP)
    return code

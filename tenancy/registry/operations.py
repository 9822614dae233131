"""Use cases of the tenant registry. Each flushes; the caller (request or command) commits once.

Every use case takes the acting :class:`Actor` and asks the authorization policy itself
(``tenant.read`` scoped to the actor's tenants, ``tenant.create``, ``tenant.update``); every change
goes through :func:`core.audit.record`. ``find_tenant``, ``get_tenant`` and ``summary`` are helpers
for operations that have already authorised their act.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.db import utcnow
from tenancy.errors import InvalidTenantData, TenantExists, TenantNotFound
from tenancy.registry.models import Tenant, TenantContact, TenantKind, TenantStatus
from tenancy.registry.schemas import TenantCreate, TenantUpdate
from core.validation import problems_from


def validate_create(payload: dict[str, Any]) -> TenantCreate:
    try:
        return TenantCreate.model_validate(payload)
    except ValidationError as error:
        raise InvalidTenantData(
            "The tenant data has errors; nothing was saved.",
            "参加団体の入力内容に誤りがあります。保存していません。",
            problems=problems_from(error),
        ) from None


def summary(tenant: Tenant) -> dict[str, Any]:
    """The registry fields of a tenant as plain JSON-able values (audit, export)."""
    return {
        "code": tenant.code,
        "name_ja": tenant.name_ja,
        "name_en": tenant.name_en,
        "name_kana": tenant.name_kana,
        "kind": TenantKind(tenant.kind).value,
        "population": tenant.population,
        "population_source": tenant.population_source,
        "status": TenantStatus(tenant.status).value,
        "wave_fiscal_year": tenant.wave_fiscal_year,
        "user_seat_limit": tenant.user_seat_limit,
        "contacts": [
            {"role": c.role, "name": c.name, "department": c.department, "email": c.email, "phone": c.phone}
            for c in tenant.contacts
        ],
    }


_TENANT_COLUMNS = ("code", "name_ja", "name_en", "name_kana", "kind", "population", "population_source", "status",
                   "wave_fiscal_year", "user_seat_limit", "created_at", "updated_at")
_CONTACT_COLUMNS = ("role", "name", "department", "email", "phone")


def _filtered(query, status, kind, wave, codes):
    if status is not None:
        query = query.where(Tenant.status == status)
    if kind is not None:
        query = query.where(Tenant.kind == kind)
    if wave is not None:
        query = query.where(Tenant.wave_fiscal_year == wave)
    if codes is not None:
        query = query.where(Tenant.code.in_(list(codes)))
    return query


def _readable_codes(actor: Actor, codes: Sequence[str] | None) -> Sequence[str] | None:
    """The filter on tenant codes the actor may read: every tenant, or only their own."""
    grant = authz.authorize(actor, "tenant.read")
    if grant.all_tenants:
        return codes
    own = sorted(grant.tenant_codes)
    return own if codes is None else [code for code in codes if code in grant.tenant_codes]


def read_tenants(
    session: Session,
    actor: Actor,
    *,
    status: TenantStatus | None = None,
    kind: TenantKind | None = None,
    wave: int | None = None,
    codes: Sequence[str] | None = None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[list[dict[str, Any]], int]:
    """Tenants as plain dicts (with contacts) for reading: the API's hot path.

    Two Core queries and no ORM identity map or model validation: a tenant page is read far
    more often than written, and this keeps a read close to the cost of the SQL itself.
    Someone who may read only their own tenants sees only those.
    """
    codes = _readable_codes(actor, codes)
    tenant = Tenant.__table__
    contact = TenantContact.__table__
    query = _filtered(sa.select(tenant.c.id, *(tenant.c[name] for name in _TENANT_COLUMNS)), status, kind, wave, codes)
    total = session.scalar(_filtered(sa.select(sa.func.count()).select_from(tenant), status, kind, wave, codes))
    query = query.order_by(tenant.c.code).offset((page - 1) * per_page).limit(per_page)
    rows = session.execute(query).all()
    by_id = {}
    for row in rows:
        item = {name: getattr(row, name) for name in _TENANT_COLUMNS}
        item["kind"] = TenantKind(item["kind"]).value
        item["status"] = TenantStatus(item["status"]).value
        item["contacts"] = []
        by_id[row.id] = item
    if by_id:
        for row in session.execute(
            sa.select(contact.c.tenant_id, *(contact.c[name] for name in _CONTACT_COLUMNS))
            .where(contact.c.tenant_id.in_(list(by_id))).order_by(contact.c.id)
        ):
            by_id[row.tenant_id]["contacts"].append({name: getattr(row, name) for name in _CONTACT_COLUMNS})
    items = list(by_id.values())
    return items, int(total or 0)


@functools.cache
def _tenant_by_code():
    """One tenant with its contacts in one statement, built once (the API's most frequent read)."""
    tenant, contact = Tenant.__table__, TenantContact.__table__
    return (
        sa.select(*(tenant.c[name] for name in _TENANT_COLUMNS),
                  *(contact.c[name].label(f"contact_{name}") for name in _CONTACT_COLUMNS), contact.c.id.label("contact_id"))
        .select_from(tenant.outerjoin(contact, contact.c.tenant_id == tenant.c.id))
        .where(tenant.c.code == sa.bindparam("code"))
        .order_by(contact.c.id)
    )


def read_tenant(session: Session, actor: Actor, code: str) -> dict[str, Any]:
    """One tenant as a plain dict with its contacts (see :func:`read_tenants`)."""
    authz.authorize(actor, "tenant.read", code)
    rows = session.connection().execute(_tenant_by_code(), {"code": code}).all()
    if not rows:
        raise TenantNotFound(code)
    first = rows[0]
    item = {name: getattr(first, name) for name in _TENANT_COLUMNS}
    item["kind"] = TenantKind(item["kind"]).value
    item["status"] = TenantStatus(item["status"]).value
    item["contacts"] = [{name: getattr(row, f"contact_{name}") for name in _CONTACT_COLUMNS}
                        for row in rows if row.contact_id is not None]
    return item


def find_tenant(session: Session, code: str) -> Tenant | None:
    return session.scalars(sa.select(Tenant).where(Tenant.code == code)).one_or_none()


def get_tenant(session: Session, code: str) -> Tenant:
    tenant = find_tenant(session, code)
    if tenant is None:
        raise TenantNotFound(code)
    return tenant


def list_tenants(
    session: Session,
    actor: Actor,
    *,
    status: TenantStatus | None = None,
    kind: TenantKind | None = None,
    wave: int | None = None,
    codes: Sequence[str] | None = None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[list[Tenant], int]:
    """One page of the tenants the actor may read, ordered by code, and the total matching the filters."""
    codes = _readable_codes(actor, codes)
    query = _filtered(sa.select(Tenant), status, kind, wave, codes)
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(Tenant.code).offset((page - 1) * per_page).limit(per_page)).all()
    return list(items), int(total or 0)


def _contacts(data: TenantCreate | TenantUpdate) -> list[TenantContact]:
    return [TenantContact(**contact.model_dump()) for contact in data.contacts or []]


def create_tenant(session: Session, actor: Actor, data: TenantCreate) -> Tenant:
    authz.authorize(actor, "tenant.create")
    if find_tenant(session, data.code) is not None:
        raise TenantExists(data.code)
    tenant = Tenant(**data.model_dump(exclude={"contacts"}), contacts=_contacts(data))
    session.add(tenant)
    session.flush()
    audit.record(session, actor, "tenant.create", "tenant", tenant.code, tenant_code=tenant.code, after=summary(tenant))
    return tenant


def update_tenant(session: Session, actor: Actor, code: str, data: TenantUpdate) -> Tenant:
    authz.authorize(actor, "tenant.update", code)
    tenant = get_tenant(session, code)
    before = summary(tenant)
    changes = data.model_dump(exclude_unset=True, exclude={"contacts"})
    for name, value in changes.items():
        if value is None and name in {"name_ja", "name_en", "kind", "population"}:
            raise InvalidTenantData(
                f"{name} cannot be empty.",
                f"{name} は空にできません。",
                problems=[{"field": name, "message_en": "This field is required.", "message_ja": "必須項目です。"}],
            )
        setattr(tenant, name, value)
    if data.contacts is not None:
        tenant.contacts = _contacts(data)
    after = summary(tenant)
    if after == before:
        return tenant
    tenant.updated_at = utcnow()
    session.flush()
    old, new = audit.changes(before, after)
    audit.record(session, actor, "tenant.update", "tenant", code, tenant_code=code, before=old, after=new)
    return tenant

"""Use cases of the tenant registry. Each flushes; the caller (request or command) commits once.

Every change goes through :func:`governance.audit.record` with the acting :class:`Actor`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from governance import audit
from tenancy.base import Actor, utcnow
from tenancy.errors import InvalidTenantData, TenantExists, TenantNotFound
from tenancy.models import Tenant, TenantContact, TenantKind, TenantStatus
from tenancy.schemas import TenantCreate, TenantUpdate
from tenancy.validation import problems_from


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


def find_tenant(session: Session, code: str) -> Tenant | None:
    return session.scalars(sa.select(Tenant).where(Tenant.code == code)).one_or_none()


def get_tenant(session: Session, code: str) -> Tenant:
    tenant = find_tenant(session, code)
    if tenant is None:
        raise TenantNotFound(code)
    return tenant


def list_tenants(
    session: Session,
    *,
    status: TenantStatus | None = None,
    kind: TenantKind | None = None,
    wave: int | None = None,
    codes: Sequence[str] | None = None,
    page: int = 1,
    per_page: int = 100,
) -> tuple[list[Tenant], int]:
    """One page of tenants ordered by code, and the total matching the filters."""
    query = sa.select(Tenant)
    if status is not None:
        query = query.where(Tenant.status == status)
    if kind is not None:
        query = query.where(Tenant.kind == kind)
    if wave is not None:
        query = query.where(Tenant.wave_fiscal_year == wave)
    if codes is not None:
        query = query.where(Tenant.code.in_(list(codes)))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(Tenant.code).offset((page - 1) * per_page).limit(per_page)).all()
    return list(items), int(total or 0)


def _contacts(data: TenantCreate | TenantUpdate) -> list[TenantContact]:
    return [TenantContact(**contact.model_dump()) for contact in data.contacts or []]


def create_tenant(session: Session, actor: Actor, data: TenantCreate) -> Tenant:
    if find_tenant(session, data.code) is not None:
        raise TenantExists(data.code)
    tenant = Tenant(**data.model_dump(exclude={"contacts"}), contacts=_contacts(data))
    session.add(tenant)
    session.flush()
    audit.record(session, actor, "tenant.create", "tenant", tenant.code, tenant_code=tenant.code, after=summary(tenant))
    return tenant


def update_tenant(session: Session, actor: Actor, code: str, data: TenantUpdate) -> Tenant:
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

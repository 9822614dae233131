"""/api/v1/tenants: the tenant registry."""

from __future__ import annotations

import datetime as dt

from flask import jsonify
from flask_openapi3 import APIBlueprint
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.extensions import db
from tenancy.registry import operations
from tenancy.registry.models import TenantKind, TenantStatus
from core.validation import TenantCode
from tenancy.registry.schemas import TenantCreate, TenantOut, TenantPage, TenantUpdate

bp = APIBlueprint("api_tenants", __name__, url_prefix=API_PREFIX, abp_tags=tag("tenants", "参加団体 / tenant registry"),
                  abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)


class TenantPath(BaseModel):
    code: TenantCode = Field(description="Local government code, 6 digits with check digit")


class TenantQuery(CachedSchema):
    status: TenantStatus | None = None
    kind: TenantKind | None = None
    wave: int | None = Field(default=None, description="Onboarding wave (fiscal year)")
    page: int = Field(default=1, ge=1)
    per_page: int = Field(default=100, ge=1, le=1000)


def _out(tenant) -> dict:
    return TenantOut.model_validate(tenant).model_dump(mode="json")


def _json_time(value):
    return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _read_out(item: dict) -> dict:
    item["created_at"] = _json_time(item["created_at"])
    item["updated_at"] = _json_time(item["updated_at"])
    return item


@bp.get("/tenants", responses={200: TenantPage}, summary="List tenants")
def list_tenants(query: TenantQuery):
    items, total = operations.read_tenants(
        db.session, current_actor(), status=query.status, kind=query.kind, wave=query.wave,
        page=query.page, per_page=query.per_page,
    )
    return jsonify({"items": [_read_out(t) for t in items], "total": total, "page": query.page, "per_page": query.per_page})


@bp.get("/tenants/<code>", responses={200: TenantOut}, summary="Get a tenant by code")
def get_tenant(path: TenantPath):
    return jsonify(_read_out(operations.read_tenant(db.session, current_actor(), path.code)))


@bp.post("/tenants", responses={201: TenantOut}, summary="Register a tenant")
def create_tenant(body: TenantCreate):
    tenant = operations.create_tenant(db.session, current_actor(), body)
    return jsonify(_out(tenant)), 201


@bp.patch("/tenants/<code>", responses={200: TenantOut}, summary="Update a tenant's registry fields")
def update_tenant(path: TenantPath, body: TenantUpdate):
    return jsonify(_out(operations.update_tenant(db.session, current_actor(), path.code, body)))

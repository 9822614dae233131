"""Tenants in Keycloak are groups under ``/tenants/<code>`` (see docs/identity.md for why)."""

from __future__ import annotations

from collections.abc import Iterable

from core.codes import is_corporate_number, is_valid

TENANTS_GROUP = "tenants"


def tenant_group_path(code: str) -> str:
    return f"/{TENANTS_GROUP}/{code}"


def tenant_codes_from_groups(paths: Iterable[str]) -> frozenset[str]:
    codes = set()
    for path in paths:
        parts = path.strip("/").split("/")
        # a municipality's six-digit code, or a member organisation's corporate number (tenancy/members)
        if len(parts) == 2 and parts[0] == TENANTS_GROUP and (is_valid(parts[1]) or is_corporate_number(parts[1])):
            codes.add(parts[1])
    return frozenset(codes)

"""The registry's use cases ask the authorization policy themselves: called directly, with no web
layer in between, an actor without the right is refused and nothing is written."""

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.errors import NotPermitted
from tenancy.registry import operations
from tenancy.registry.importing import import_csv
from tenancy.registry.models import Tenant
from tenancy.registry.schemas import TenantCreate, TenantUpdate


def person(subject, *roles, tenants=()):
    return Actor(issuer="urn:test", subject=subject, name=subject, roles=frozenset(roles), tenant_codes=frozenset(tenants))


FINANCE = person("finance-1", "finance-officer")
AUDITOR = person("auditor-1", "auditor")
YATSUSHIRO_ADMIN = person("yatsushiro-admin", "municipal-admin", tenants=["432024"])

KUMAMOTO = {"code": "431001", "name_ja": "熊本市", "name_en": "Kumamoto City", "kind": "designated_city", "population": 738_865}


def counts(db):
    db.expire_all()
    return (db.scalar(sa.select(sa.func.count()).select_from(Tenant)),
            db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)))


def test_a_finance_officer_may_not_register_a_tenant_and_nothing_is_written(db):
    with pytest.raises(NotPermitted):
        operations.create_tenant(db, FINANCE, TenantCreate.model_validate(KUMAMOTO))
    assert counts(db) == (0, 0)


def test_the_operator_registers_a_tenant(db, operator):
    tenant = operations.create_tenant(db, operator, TenantCreate.model_validate(KUMAMOTO))
    assert tenant.code == "431001"
    assert counts(db) == (1, 1)


def test_an_auditor_may_not_change_a_tenant(db, tenant_factory):
    tenant_factory("431001")
    db.commit()
    before = counts(db)
    with pytest.raises(NotPermitted):
        operations.update_tenant(db, AUDITOR, "431001", TenantUpdate(population=1))
    assert counts(db) == before
    assert db.scalars(sa.select(Tenant).where(Tenant.code == "431001")).one().population != 1


def test_a_municipal_admin_reads_their_own_tenant_and_not_another(db, tenant_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    db.commit()
    assert operations.read_tenant(db, YATSUSHIRO_ADMIN, "432024")["name_ja"] == "八代市"
    with pytest.raises(NotPermitted):
        operations.read_tenant(db, YATSUSHIRO_ADMIN, "431001")
    items, total = operations.read_tenants(db, YATSUSHIRO_ADMIN)
    assert ([item["code"] for item in items], total) == (["432024"], 1)
    listed, _ = operations.list_tenants(db, YATSUSHIRO_ADMIN, codes=["431001", "432024"])
    assert [tenant.code for tenant in listed] == ["432024"]


def test_a_file_import_by_someone_who_may_not_register_writes_nothing(db):
    with pytest.raises(NotPermitted):
        import_csv(db, FINANCE, "団体コード,団体名,種別,人口\n431001,熊本市,政令指定都市,738865\n".encode())
    assert counts(db) == (0, 0)

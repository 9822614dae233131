"""`renkei demo` counts every active tenant, not the first page of them."""

from admin.commands.demo import active_tenants

KUMAMOTO = ["431001", "432024", "432032", "432041", "432059"]


def test_every_active_tenant_is_counted_across_pages(db, operator, tenant_factory):
    for code in KUMAMOTO:
        tenant_factory(code)
    tenant_factory("432067", status="applied")  # not active: not counted
    assert sorted(t.code for t in active_tenants(db, operator, per_page=2)) == KUMAMOTO

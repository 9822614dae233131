"""Helpers for the dataset register's tests: the demo's sample catalogue and a draft maker."""

from __future__ import annotations

import pytest

from core.actor import Actor

KUMAMOTO_ADMIN = Actor(issuer="urn:test", subject="kumamoto-admin", name="熊本市 管理者",
                       roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))
YATSUSHIRO_ADMIN = Actor(issuer="urn:test", subject="yatsushiro-admin", name="八代市 管理者",
                         roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"432024"}))
PROVIDERS = ("430005", "431001", "432024")


@pytest.fixture
def providers(tenant_factory):
    for code in PROVIDERS:
        tenant_factory(code)
    return PROVIDERS


@pytest.fixture
def sample_catalogue(app, db, operator, providers, tenant_factory):
    """The demo's 33 sample datasets (their providers with them), imported as the demo imports them, in the order
    imported. On SQLite the first test of a worker imports them and the others copy the database it left
    (tests/conftest.py, seeded_database): the import checks each standard file, a second a test."""
    import sqlalchemy as sa

    from catalogue.models import Dataset
    from catalogue.sample import load_sample_datasets
    from tests.conftest import seeded_database

    from tenancy.registry.models import Tenant

    def build():  # on a clean database, or on this test's where the owner may not write rows back (providers made)
        for code in PROVIDERS:
            if db.scalar(sa.select(Tenant.id).where(Tenant.code == code)) is None:
                tenant_factory(code)
        assert len(load_sample_datasets(db, operator)) == 33
        db.commit()

    seeded_database(app, "sample-catalogue", build)
    return list(db.scalars(sa.select(Dataset).order_by(Dataset.id)))


def draft(**fields):
    from catalogue.operations import DatasetDraft, DistributionDraft

    values = dict(provider_code="431001", title_ja="AED設置箇所一覧", category_code="health_welfare",
                  licence_code="CC-BY-4.0", frequency="monthly", description="市内のAEDの設置場所。",
                  department="消防局救急課", contact_email="aed@example.jp", standard_kind="aed",
                  distributions=(DistributionDraft(url="https://data.example.jp/aed.csv", format="CSV",
                                                   media_type="text/csv", byte_size=1024),))
    values.update(fields)
    return DatasetDraft(**values)

"""A tenant's JSON has one form (issue #24): on PostgreSQL the hot reads' text is written by the
database from the output model's fields (tenancy.registry.operations), and it must be, byte for
byte, what Flask gives for the output model TenantOut (``jsonify`` of its JSON dump, the path of
POST and PATCH answers). Generated tenants, written through the real operation, are read both ways:
one tenant, and a page (filtered or not)."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa
from flask import jsonify
from hypothesis import HealthCheck, assume, given, settings, strategies as st
from pydantic import ValidationError

from core import codes
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.validation import INT32_MAX
from tenancy.registry import operations
from tenancy.registry.models import TenantKind, TenantStatus
from tenancy.registry.schemas import TenantCreate, TenantOut


@pytest.fixture
def on_postgres(app, db):
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.skip("PostgreSQL writes these texts; the PostgreSQL run (RENKEI_TEST_DATABASE_URL) checks them")
    yield db
    db.rollback()


# text with what JSON escapes or passes through: quotes, backslashes, slashes, non-ASCII (Japanese,
# accents, emoji, the Unicode line separators), besides anything else the validation lets through
# (it refuses every control character in these single-line fields; STORED_NAME has them)
SPECIAL = st.sampled_from(['"', "\\", "/", "'", "é", "日", "ｶ", "\u2028", "\u2029", "😀", "\ufeff", " ", "<", "&"])
TEXT = st.text(st.one_of(SPECIAL, st.characters(exclude_categories=("Cs", "Cc"))), min_size=1, max_size=12)
EMAIL = st.from_regex(r"[a-z0-9.'\"+\\-]{1,6}@[a-zé日]{1,5}\.[a-z]{2,3}", fullmatch=True)
PHONE = st.from_regex(r"[0-9+\-() ]{0,12}", fullmatch=True)
CONTACT = st.fixed_dictionaries({"name": TEXT, "email": EMAIL}, optional={
    "role": TEXT, "department": st.one_of(st.just(""), TEXT), "phone": PHONE})
TIME = st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 12, 31),
                    timezones=st.sampled_from([dt.timezone.utc, dt.timezone(dt.timedelta(hours=9))]))
TENANT = st.fixed_dictionaries({
    "code": st.integers(0, 99_999).map(lambda n: codes.with_check_digit(f"{n:05d}")),
    "name_ja": TEXT,
    "kind": st.sampled_from(list(TenantKind)).map(lambda kind: kind.value),
    "population": st.integers(1, INT32_MAX),
    "status": st.sampled_from(list(TenantStatus)).map(lambda status: status.value),
    "contacts": st.lists(CONTACT, max_size=3),
}, optional={
    "name_en": st.one_of(st.just(""), TEXT),
    "name_kana": st.one_of(st.none(), TEXT),
    "population_source": st.one_of(st.just(""), TEXT),
    "wave_fiscal_year": st.one_of(st.none(), st.integers(FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR)),
    "user_seat_limit": st.one_of(st.none(), st.integers(0, INT32_MAX)),
})
# a name already in the database that today's validation would refuse (written before it, or by
# SQL): any character PostgreSQL's text holds, control characters included
STORED_NAME = st.text(st.characters(exclude_categories=("Cs",), exclude_characters="\x00"), max_size=12)


def _one_prefecture(tenants: list[tuple]) -> list[tuple]:
    """The registry holds one prefecture (tenancy.registry.prefecture refuses a second): a later
    generated prefecture is written as a city."""
    seen = False
    kept = []
    for payload, *rest in tenants:
        if payload["kind"] == TenantKind.prefecture.value:
            if seen:
                payload = {**payload, "kind": TenantKind.city.value}
            seen = True
        kept.append((payload, *rest))
    return kept


def _valid(payload: dict) -> TenantCreate:
    try:
        return TenantCreate.model_validate(payload)
    except ValidationError:
        assume(False)


def _flask_body(value) -> bytes:
    """What Flask answers for ``value`` (this app's JSON settings, final newline included)."""
    return jsonify(value).get_data()


def _out(tenant) -> dict:
    return TenantOut.model_validate(tenant).model_dump(mode="json")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(tenants=st.lists(st.tuples(TENANT, TIME, TIME, st.one_of(st.none(), STORED_NAME)), min_size=1, max_size=4,
                        unique_by=lambda t: t[0]["code"]).map(_one_prefecture),
       per_page=st.integers(1, 5), page=st.integers(1, 3), status=st.one_of(st.none(), st.sampled_from(list(TenantStatus))))
def test_the_text_postgresql_writes_is_flasks_encoding_of_the_output_model(on_postgres, operator, tenants, per_page,
                                                                            page, status):
    db = on_postgres
    try:
        for payload, created, updated, stored_name in tenants:
            tenant = operations.create_tenant(db, operator, _valid(payload))
            tenant.created_at, tenant.updated_at = created, updated
            db.flush()
            if stored_name is not None:
                db.execute(sa.text("UPDATE tenant SET name_ja = :name WHERE code = :code"),
                           {"name": stored_name, "code": payload["code"]})
        db.expire_all()  # the Python side reads what the database holds, as PostgreSQL does

        for payload, *_ in tenants:
            code = payload["code"]
            written = operations.read_tenant(db.connection(), operator, code, as_json=True)
            assert written + b"\n" == _flask_body(_out(operations.get_tenant(db, code))), code

        built = operations.read_tenants_json(db.connection(), operator, status=status, page=page, per_page=per_page)
        items, total = operations.list_tenants(db, operator, status=status, page=page, per_page=per_page)
        from admin.api.tenants import page_text
        assert page_text(built, page, per_page) == _flask_body(
            {"items": [_out(t) for t in items], "total": total, "page": page, "per_page": per_page})
    finally:
        db.rollback()  # nothing of this example stays for the next


def test_a_field_type_no_renderer_knows_is_refused_at_import():
    """A new field of a type the PostgreSQL text has no renderer for cannot slip through."""
    from decimal import Decimal

    from sqlmodel import SQLModel

    class Wider(SQLModel):
        code: str
        share: Decimal

    with pytest.raises(TypeError, match=r"Wider\.share: no JSON renderer"):
        operations.output_fields(Wider)

"""Use cases of the tenant registry. Each flushes; the caller (request or command) commits once.

Every use case takes the acting :class:`Actor` and asks the authorization policy itself
(``tenant.read`` scoped to the actor's tenants, ``tenant.create``, ``tenant.update``); every change
goes through :func:`core.audit.record`. ``find_tenant``, ``get_tenant`` and ``summary`` are helpers
for operations that have already authorised their act.
"""

from __future__ import annotations

import enum
import functools
import types
import typing
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from core import audit, authz, search
from core.actor import Actor
from core.db import utcnow
from tenancy.errors import InvalidTenantData, TenantExists, TenantNotFound
from tenancy.registry import readcache
from tenancy.registry.models import Tenant, TenantContact, TenantKind, TenantStatus
from tenancy.registry.prefecture import keep_the_home_prefecture
from tenancy.registry.schemas import ContactOut, TenantCreate, TenantOut, TenantUpdate, json_time
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


# --- the one output model's fields, and what each path derives from them (issue #24) -------------
#
# TenantOut (tenancy.registry.schemas) declares a tenant's JSON; the audit's summary, the columns
# the hot reads select and the text PostgreSQL writes are derived here from its fields and their
# types. A field whose type no renderer knows is refused at import, so a new field cannot reach one
# path and not another.

def _json_kind(owner: type, name: str, annotation: Any) -> str:
    """How a field of the output model is written: "string", "number", "time" or "contacts"."""
    if typing.get_origin(annotation) is typing.Annotated:
        if any(getattr(item, "func", None) is json_time for item in annotation.__metadata__):
            return "time"
        annotation = typing.get_args(annotation)[0]
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        present = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(present) == 1:
            return _json_kind(owner, name, present[0])
    if annotation is str:
        return "string"
    if isinstance(annotation, type) and issubclass(annotation, str) and issubclass(annotation, enum.Enum) \
            and all(member.name == member.value for member in annotation):
        return "string"  # stored by name (SQLAlchemy's Enum), written by value: the same text
    if annotation is int:
        return "number"
    if typing.get_origin(annotation) is list and typing.get_args(annotation) == (ContactOut,):
        return "contacts"
    raise TypeError(f"{owner.__name__}.{name}: no JSON renderer for {annotation!r}; add one in "
                    f"tenancy/registry/operations.py and a case to tests/tenancy/test_tenant_json.py")


def output_fields(model: type) -> tuple[tuple[str, str], ...]:
    """(name, kind) of each field of ``model``, in its order."""
    return tuple((name, _json_kind(model, name, field.rebuild_annotation()))
                 for name, field in model.model_fields.items())


TENANT_FIELDS = output_fields(TenantOut)
CONTACT_FIELDS = output_fields(ContactOut)
if any(kind == "contacts" for _, kind in CONTACT_FIELDS):
    raise TypeError("ContactOut: a contact holds no list of contacts")
_KEPT_BY_DATABASE = frozenset(name for name, kind in TENANT_FIELDS if kind == "time")  # not in the audit
_TENANT_COLUMNS = tuple(name for name, kind in TENANT_FIELDS if kind != "contacts")
_CONTACT_COLUMNS = tuple(name for name, _ in CONTACT_FIELDS)


def _plain(kind: str, value: Any) -> Any:
    """A field's value as plain Python (enums by value, contacts as dicts); times stay datetimes."""
    if kind == "contacts":
        return [{name: getattr(contact, name) for name in _CONTACT_COLUMNS} for contact in value]
    return value.value if isinstance(value, enum.Enum) else value


def summary(tenant: Tenant) -> dict[str, Any]:
    """The registry fields of a tenant as plain JSON-able values (audit, export): the output
    model's fields but the times the database keeps."""
    return {name: _plain(kind, getattr(tenant, name)) for name, kind in TENANT_FIELDS if name not in _KEPT_BY_DATABASE}


def _filters(status: Any, kind: Any, wave: Any, codes: Any) -> list[sa.ColumnElement[bool]]:
    """The conditions of a tenant list's filters (those given: a value, or a bind parameter)."""
    tenant = Tenant.__table__
    conditions = []
    if status is not None:
        conditions.append(tenant.c.status == status)
    if kind is not None:
        conditions.append(tenant.c.kind == kind)
    if wave is not None:
        conditions.append(tenant.c.wave_fiscal_year == wave)
    if codes is not None:
        conditions.append(tenant.c.code.in_(codes))
    return conditions


def _readable_codes(actor: Actor, codes: Sequence[str] | None) -> Sequence[str] | None:
    """The filter on tenant codes the actor may read: every tenant, or only their own."""
    grant = authz.authorize(actor, "tenant.read")
    if grant.all_tenants:
        return codes
    own = sorted(grant.tenant_codes)
    return own if codes is None else [code for code in codes if code in grant.tenant_codes]


def _executor(bind: Session | sa.Connection) -> sa.Connection:
    """The connection a read runs on: the session's (inside its transaction), or the one given
    (the API gives an autocommit connection: a single-statement read needs no BEGIN/COMMIT)."""
    return bind if isinstance(bind, sa.Connection) else bind.connection()  # a Session or a scoped_session


_COLUMN_INDEX = {name: index for index, name in enumerate(_TENANT_COLUMNS)}
_CODE = _COLUMN_INDEX["code"]


def _row_item(row) -> dict[str, Any]:
    """A tenant's row as a dict in the output model's order (its contacts still to be added)."""
    return {name: [] if kind == "contacts" else _plain(kind, row[_COLUMN_INDEX[name]]) for name, kind in TENANT_FIELDS}


_CONTACT_OFFSET = len(_TENANT_COLUMNS) + 2  # after the tenant's columns, its total and contact id
_TOTAL, _CONTACT_ID = len(_TENANT_COLUMNS), len(_TENANT_COLUMNS) + 1


@functools.cache
def _tenant_page(by_status: bool, by_kind: bool, by_wave: bool, by_codes: bool) -> sa.Select:
    """The statement of one page of tenants (with the total matching, and their contacts), built
    once per combination of filters; the filters' values, offset and limit are parameters.

    The total is an uncorrelated scalar subquery (evaluated once, in the same snapshot as the
    page), so the page itself is read through the index on ``code`` (offset + limit rows), not
    by numbering every matching tenant as a window function would."""
    tenant, contact = Tenant.__table__, TenantContact.__table__
    filters = _filters(sa.bindparam("status", type_=sa.String) if by_status else None,
                       sa.bindparam("kind", type_=sa.String) if by_kind else None,
                       sa.bindparam("wave", type_=sa.Integer) if by_wave else None,
                       sa.bindparam("codes", expanding=True) if by_codes else None)
    total = sa.select(sa.func.count()).select_from(tenant).where(*filters).scalar_subquery()
    paged = (sa.select(tenant.c.id, *(tenant.c[name] for name in _TENANT_COLUMNS), total.label("total"))
             .where(*filters).order_by(tenant.c.code)
             .offset(sa.bindparam("offset", type_=sa.Integer)).limit(sa.bindparam("limit", type_=sa.Integer))
             .subquery("paged"))
    return (
        sa.select(*(paged.c[name] for name in _TENANT_COLUMNS), paged.c.total, contact.c.id,
                  *(contact.c[name] for name in _CONTACT_COLUMNS))
        .select_from(paged.outerjoin(contact, contact.c.tenant_id == paged.c.id))
        .order_by(paged.c.code, contact.c.id)
    )


class _Compiled:
    """A read statement compiled once for one dialect, run on the DBAPI cursor of the connection
    given: the hot reads skip SQLAlchemy's per-execution machinery, while each value still goes
    through its column type's own result processing (UTC datetimes, enums)."""

    def __init__(self, statement: sa.Select, dialect: sa.Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = compiled.string
        self.positions = compiled.positiontup  # None for named parameter styles (psycopg)
        processors = [column.type._cached_result_processor(dialect, None) for column in statement.selected_columns]
        self.processed = [(index, process) for index, process in enumerate(processors) if process is not None]

    def rows(self, connection: sa.Connection, params: dict[str, Any]) -> list[Sequence[Any]]:
        """The rows as the driver gives them: pass a row through :meth:`process` before reading
        the columns that have a result processor (a tenant's row once, not once per contact)."""
        arguments = params if self.positions is None else [params[name] for name in self.positions]
        dialect = connection.dialect
        driver = connection.connection
        cursor = driver.cursor()
        try:
            cursor.execute(self.sql, arguments)
            return cursor.fetchall()
        except dialect.loaded_dbapi.Error as error:
            # as SQLAlchemy's own execution would: a connection the server dropped is invalidated
            # (not returned to the pool) and the error says so, so the caller may try once more
            dropped = dialect.is_disconnect(error, driver, cursor)
            if dropped:
                connection.invalidate(error)
            raise sa.exc.DBAPIError.instance(self.sql, arguments, error, dialect.loaded_dbapi.Error,
                                             connection_invalidated=dropped, dialect=dialect) from error
        finally:
            try:
                cursor.close()
            except dialect.loaded_dbapi.Error:  # its connection was closed by the invalidation
                pass

    def process(self, row: Sequence[Any]) -> list[Any]:
        row = list(row)
        for index, process in self.processed:
            row[index] = process(row[index])
        return row


_COMPILED: dict[tuple[int, str], _Compiled] = {}


def _compiled(connection: sa.Connection, statement: sa.Select) -> _Compiled:
    """One of this module's cached read statements, compiled for the connection's dialect."""
    key = (id(statement), connection.dialect.name)
    compiled = _COMPILED.get(key)
    if compiled is None:
        compiled = _COMPILED.setdefault(key, _Compiled(statement, connection.dialect))
    return compiled


def read_tenants(
    session: Session | sa.Connection,
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

    One statement (the page of tenants with the total matching the filters, joined to their
    contacts), compiled once, and no ORM identity map or model validation: a tenant page is read
    far more often than written, and this keeps a read close to the cost of the SQL itself. Being
    one statement, it is consistent without a transaction around it. Someone who may read only
    their own tenants sees only those.
    """
    codes = _readable_codes(actor, codes)
    connection = _executor(session)
    query = _tenant_page(status is not None, kind is not None, wave is not None, codes is not None)
    params = {"status": None if status is None else TenantStatus(status).name,
              "kind": None if kind is None else TenantKind(kind).name, "wave": wave,
              "offset": (page - 1) * per_page, "limit": per_page}
    if codes is None:
        compiled = _compiled(connection, query)
        rows, process = compiled.rows(connection, params), compiled.process
    else:  # an expanding IN list: SQLAlchemy renders it for the number of codes (rows come processed)
        rows, process = connection.execute(query, {**params, "codes": list(codes)}).all(), tuple
    by_code: dict[str, dict[str, Any]] = {}
    total = None
    for row in rows:
        item = by_code.get(row[_CODE])
        if item is None:
            item = by_code[row[_CODE]] = _row_item(process(row))
            total = row[_TOTAL]
        if row[_CONTACT_ID] is not None:
            item["contacts"].append(dict(zip(_CONTACT_COLUMNS, row[_CONTACT_OFFSET:])))
    if total is None:  # a page past the end: the total still counts what matches
        total = connection.scalar(sa.select(sa.func.count()).select_from(Tenant.__table__).where(
            *_filters(status, kind, wave, None if codes is None else list(codes))))
    return list(by_code.values()), int(total or 0)


@functools.cache
def _tenant_by_code():
    """One tenant with its contacts in one statement, built once (the API's most frequent read)."""
    tenant, contact = Tenant.__table__, TenantContact.__table__
    return (
        sa.select(*(tenant.c[name] for name in _TENANT_COLUMNS), sa.null(), contact.c.id,
                  *(contact.c[name] for name in _CONTACT_COLUMNS))
        .select_from(tenant.outerjoin(contact, contact.c.tenant_id == tenant.c.id))
        .where(tenant.c.code == sa.bindparam("code", type_=sa.String))
        .order_by(contact.c.id)
    )


def read_tenant(session: Session | sa.Connection | None, actor: Actor, code: str, *, as_json: bool = False,
                cache=None) -> dict[str, Any] | str | None:
    """One tenant as a plain dict with its contacts, in one statement (see :func:`read_tenants`).

    ``as_json``: the API's JSON text instead when it can be had without Python building it (see
    :func:`_read_tenant_json`): from ``cache`` (a :class:`tenancy.registry.readcache.TenantBodyCache`,
    asked after the authorization), or written by PostgreSQL; with ``session`` None only the cache
    is asked (``None`` when it does not hold the tenant)."""
    authz.authorize(actor, "tenant.read", code)
    if as_json:
        body = _read_tenant_json(session, code, cache)
        if body is not None or session is None:
            return body
    connection = _executor(session)
    compiled = _compiled(connection, _tenant_by_code())
    rows = compiled.rows(connection, {"code": code})
    if not rows:
        raise TenantNotFound(code)
    item = _row_item(compiled.process(rows[0]))
    item["contacts"] = [dict(zip(_CONTACT_COLUMNS, row[_CONTACT_OFFSET:])) for row in rows if row[_CONTACT_ID] is not None]
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
    query = sa.select(Tenant).where(*_filters(status, kind, wave, None if codes is None else list(codes)))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    items = session.scalars(query.order_by(Tenant.code).offset((page - 1) * per_page).limit(per_page)).all()
    return list(items), int(total or 0)



def search_tenants(session: Session, actor: Actor, query: search.Query, limit: int = search.LIMIT) -> search.Found:
    """The tenants the actor may read (the list's scope) whose code begins with the query's digits, or
    whose name (Japanese, English) holds its text or whose reading (kana) its kana; by code."""
    codes = _readable_codes(actor, None)
    tenant = Tenant.__table__.c
    said = [sa.func.lower(tenant.name_ja).like(search.contains(query.folded), escape=search.ESCAPE),
            sa.func.lower(tenant.name_en).like(search.contains(query.folded), escape=search.ESCAPE),
            tenant.name_kana.like(search.contains(query.kana), escape=search.ESCAPE)]
    if query.digits:
        said.append(tenant.code.like(search.starts(query.digits), escape=search.ESCAPE))
    where = sa.and_(*_filters(None, None, None, None if codes is None else list(codes)), sa.or_(*said))
    rows, total, capped = search.counted(session, [tenant.code, tenant.name_ja], where, lambda row: row[0], limit)
    return search.Found([search.Hit(code, name, code, code) for code, name in rows], total, capped)

def _contacts(data: TenantCreate | TenantUpdate) -> list[TenantContact]:
    return [TenantContact(**contact.model_dump()) for contact in data.contacts or []]


def create_tenant(session: Session, actor: Actor, data: TenantCreate) -> Tenant:
    authz.authorize(actor, "tenant.create")
    if find_tenant(session, data.code) is not None:
        raise TenantExists(data.code)
    keep_the_home_prefecture(session, data.code, data.kind)
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
    if changes.get("kind") is not None and TenantKind(changes["kind"]) != TenantKind(tenant.kind):
        keep_the_home_prefecture(session, code, changes["kind"])
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


# --- the two hot reads' JSON built by PostgreSQL (issue #12) ------------------------------------
#
# On PostgreSQL the API's body is written by the database itself: one text per tenant (and one
# per page), so Python passes one string through instead of parsing, converting and encoding
# hundreds of values. The text is what the API's Python encoding of TenantOut gives (see
# admin/api/tenants.py): its fields in its order (TENANT_FIELDS, each written by the renderer of
# its kind), compact separators, non-ASCII as is, times as json_time writes them (UTC with
# microseconds and "Z"). to_json escapes strings as Python's json does with ensure_ascii off
# (\" \\ \b \f \n \r \t, other control characters as lowercase \u00XX).
# tests/tenancy/test_tenant_json.py compares the two on generated tenants.

def _pg_string(column: str) -> str:
    return f"coalesce(to_json({column})::text, 'null')"


def _pg_number(column: str) -> str:
    return f"coalesce(({column})::text, 'null')"


def _pg_time(column: str) -> str:
    return f"""coalesce(to_json(to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))::text, 'null')"""


def _pg_contacts(_column: str) -> str:
    return ("'[' || coalesce((SELECT string_agg(" + _PG_CONTACT + ", ',' ORDER BY c.id) "
            "FROM tenant_contact AS c WHERE c.tenant_id = t.id), '') || ']'")


_PG_RENDERERS = {"string": _pg_string, "number": _pg_number, "time": _pg_time, "contacts": _pg_contacts}


def _pg_object(alias: str, fields: Sequence[tuple[str, str]]) -> str:
    """The SQL text of one JSON object: the ``fields`` (name, kind) of the row ``alias``, in order."""
    return " || ".join(f"""'{"," if i else "{"}"{name}":' || {_PG_RENDERERS[kind](f"{alias}.{name}")}"""
                       for i, (name, kind) in enumerate(fields)) + " || '}'"


_PG_CONTACT = _pg_object("c", CONTACT_FIELDS)
_PG_TENANT = _pg_object("t", TENANT_FIELDS)


@functools.cache
def _pg_tenant_json() -> sa.TextualSelect:
    return sa.text(f"SELECT {_PG_TENANT} AS body FROM tenant AS t WHERE t.code = :code").columns(
        sa.column("body", sa.Text))


@functools.cache
def _pg_registry_json() -> sa.TextualSelect:
    """Every tenant's body, by code: the snapshot a cache keeps (see :mod:`tenancy.registry.readcache`)."""
    return sa.text(f"SELECT t.code, {_PG_TENANT} AS body FROM tenant AS t").columns(
        sa.column("code", sa.String), sa.column("body", sa.Text))


@functools.cache
def _pg_page_json(by_status: bool, by_kind: bool, by_wave: bool, by_codes: bool) -> sa.TextualSelect:
    filters = [condition for wanted, condition in (
        (by_status, "t.status = :status"), (by_kind, "t.kind = :kind"), (by_wave, "t.wave_fiscal_year = :wave"),
        (by_codes, "t.code = ANY(:codes)")) if wanted]
    where = f" WHERE {' AND '.join(filters)}" if filters else ""
    return sa.text(
        f"SELECT (SELECT count(*) FROM tenant AS t{where}) AS total, "
        # the page's ids first, then the bodies of those rows only (an OFFSET's skipped rows are
        # otherwise built too)
        f"(SELECT string_agg({_PG_TENANT}, ',' ORDER BY t.code) FROM tenant AS t WHERE t.id IN "
        f"(SELECT t.id FROM tenant AS t{where} ORDER BY t.code OFFSET :offset LIMIT :limit)) AS items"
    ).columns(sa.column("total", sa.BigInteger), sa.column("items", sa.Text))


def _read_tenant_json(connection: sa.Connection | None, code: str, cache) -> bytes | None:
    """One tenant as the API's JSON text (without the final newline): from ``cache`` when it holds
    it, else built by PostgreSQL (and kept in ``cache``); ``None`` without a connection or on
    another database. The caller has authorised the read."""
    if cache is not None:
        body = cache.get(code)
        if body is readcache.ABSENT:
            raise TenantNotFound(code)
        if body is not None:
            return body
    if connection is None or connection.dialect.name != "postgresql":
        return None
    if cache is None:
        rows = _compiled(connection, _pg_tenant_json()).rows(connection, {"code": code})
        if not rows:
            raise TenantNotFound(code)
        return rows[0][0].encode()
    body = _load_registry(connection, cache)[1].get(code, readcache.ABSENT)
    if body is readcache.ABSENT:
        raise TenantNotFound(code)
    return body


def _load_registry(connection: sa.Connection, cache) -> tuple[list[str], dict[str, bytes]]:
    """The snapshot of every tenant's body, from ``cache`` when it holds one within its bound, else
    read in one statement (one thread reads; the others asking meanwhile wait for it) and kept."""
    with cache.loading():
        kept = cache.registry()
        if kept is not None:
            return kept
        return reload_registry(connection, cache)


def reload_registry(connection: sa.Connection, cache) -> tuple[list[str], dict[str, bytes]]:
    """Read every tenant's body in one statement (PostgreSQL) and keep it as ``cache``'s snapshot."""
    taken = (cache.generation(), cache.clock())  # before the read
    bodies = {code: body.encode() for code, body in _compiled(connection, _pg_registry_json()).rows(connection, {})}
    return cache.fill(bodies, *taken), bodies


def _page_of(registry: tuple[list[str], dict[str, bytes]], codes: Sequence[str] | None, page: int,
             per_page: int) -> tuple[bytes, int]:
    """A page of the unfiltered list cut from the registry's snapshot (ordered by code, as the query)."""
    ordered, bodies = registry
    if codes is not None:
        readable = set(codes)
        ordered = [code for code in ordered if code in readable]
    start = (page - 1) * per_page
    return b",".join([bodies[code] for code in ordered[start:start + per_page]]), len(ordered)


def read_tenants_json(connection: sa.Connection | None, actor: Actor, *, status: TenantStatus | None = None,
                      kind: TenantKind | None = None, wave: int | None = None, page: int = 1,
                      per_page: int = 100, cache=None) -> tuple[bytes, int] | None:
    """One page of tenants as the JSON of its items (UTF-8 bytes), comma-separated (without the
    brackets), and the total matching, built by PostgreSQL in one statement (an unfiltered page is
    cut from the registry's snapshot when ``cache`` is given); ``None`` on another database
    (the caller reads :func:`read_tenants` then). Someone who may read only their own tenants sees
    only those. ``cache``: a :class:`tenancy.registry.readcache.TenantBodyCache` asked first (after
    the authorization) and given what PostgreSQL built; with ``connection`` None only it is asked."""
    codes = _readable_codes(actor, None)
    unfiltered = status is None and kind is None and wave is None
    if cache is not None and unfiltered:  # cut from the registry's snapshot
        registry = cache.registry()
        if registry is None and connection is not None and connection.dialect.name == "postgresql":
            registry = _load_registry(connection, cache)
        if registry is not None:
            return _page_of(registry, codes, page, per_page)
    key = (status, kind, wave, page, per_page, None if codes is None else tuple(codes))
    if cache is not None:
        kept = cache.get_page(key)
        if kept is not None:
            return kept
    if connection is None or connection.dialect.name != "postgresql":
        return None
    taken = None if cache is None else (cache.generation(), cache.clock())  # before the read
    statement = _pg_page_json(status is not None, kind is not None, wave is not None, codes is not None)
    params = {"status": None if status is None else TenantStatus(status).name,
              "kind": None if kind is None else TenantKind(kind).name, "wave": wave,
              "offset": (page - 1) * per_page, "limit": per_page, "codes": None if codes is None else list(codes)}
    total, items = _compiled(connection, statement).rows(connection, params)[0]
    built = ((items or "").encode(), int(total))
    if cache is not None:
        cache.put_page(key, built, *taken)
    return built

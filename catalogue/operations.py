"""Operations on the dataset register: register, edit, check a file, the workflow and reading.

Who may act is :mod:`core.authz`'s: ``dataset.read`` (the provider's own people, the operator,
the auditor), ``dataset.manage`` (a municipal admin, an organisation's admin or data provider:
their own provider's datasets only), ``dataset.review`` (the operator: publishes or refuses what
was submitted, withdraws anything) and ``dataset.settings`` (the operator: categories, licences).
Every act is audited (``dataset.*``) and the provider's contact is notified (outbox).

The lifecycle is :data:`DATASETS` (a :class:`core.lifecycle.Lifecycle`), one table with a guard per move: draft → submitted →
published → withdrawn, a refusal sends a submission back to draft with its reason.

Beside it: checking a standard dataset's file in :mod:`catalogue.file_checks`; the coverage matrix, the overdue rule and reminders in :mod:`catalogue.coverage`;
the search caches the write path keeps (search index, formats) in :mod:`catalogue.search_index`;
the lists a dataset chooses its category and licence from (the operator keeps them) in :mod:`catalogue.lists`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz, outbox
from core import search as search_rules
from core.actor import Actor
from core.codes import corporate_number_of_local_government
from core.db import utcnow
from core.errors import Conflict, Invalid, NotFound, problem
from core.labelled import labels
from core.lifecycle import IllegalMove, Lifecycle, Move, WhyNot, require_reason
from core.validation import email_problem, http_url_problem, text_field_problem, text_problem
from catalogue import lists, routes, search_index, standards
from catalogue.conformance import conformance_state
from catalogue.models import (Access, Dataset, DatasetCheck, DatasetGrant, DatasetStatus, DatasetTerms, Distribution,
                              Frequency, PersonalInfo, search_text_of)

_NAME = re.compile(r"^[a-z0-9_-]{2,100}$")
NAME_PATTERN = _NAME.pattern  # a dataset's catalogue name, as schemas state it
_GRANTEE = re.compile(r"^([0-9]{6}|[0-9]{13}|group:[0-9]{1,9})$")
FULL_VIEW = frozenset({authz.OPERATOR, authz.AUDITOR})


class DatasetInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The dataset has errors; nothing was saved.", "データセットの内容に誤りがあります。保存していません。",
                         problems=problems)


# --- the stable way to find a dataset (for other packages: consent, usage) -------------------------

def find_dataset(session: Session, uid: str) -> Dataset | None:
    """The dataset known by ``uid`` (or by its catalogue ``name``), whatever its status; None if there is none.

    No authorization: for packages that hold a dataset's id and need its record (the caller
    decides what the person may see)."""
    if not uid or len(uid) > 100:
        return None
    return session.scalars(sa.select(Dataset).where(sa.or_(Dataset.uid == uid, Dataset.name == uid))).first()


# --- reading -------------------------------------------------------------------------------------------

def _group_grantees(session: Session, codes: Iterable[str]) -> list[str]:
    """``group:<id>`` of every project group one of ``codes`` (tenant codes, corporate numbers) belongs to."""
    from tenancy.members.models import ProjectGroupMember

    numbers = {c if len(c) == 13 else corporate_number_of_local_government(c) for c in codes if c.isdigit()}
    if not numbers:
        return []
    ids = session.scalars(sa.select(ProjectGroupMember.group_id)
                          .where(ProjectGroupMember.corporate_number.in_(sorted(numbers)))).all()
    return [f"group:{i}" for i in sorted(set(ids))]


def visibility(session: Session, actor: Actor | None) -> Any:
    """The SQL condition of the datasets ``actor`` may see in the catalogue (None: an anonymous reader).

    Open datasets to everyone; consortium-members' datasets to anyone signed in for a municipality
    or a member organisation; named ones to the named tenants, organisations and project groups;
    a provider sees its own; the operator and the auditor see all."""
    if actor is not None and actor.roles & FULL_VIEW:
        return sa.true()
    return seen_by(session, actor.tenant_codes if actor is not None else ())


def seen_by(session: Session, codes: Iterable[str]) -> Any:
    """The SQL condition of the datasets the tenants or member organisations ``codes`` may see under the
    register's access rules (the one rule of :func:`visibility`): open ones, consortium-members' ones
    (for any tenant or member), named ones granted to them or to a project group they belong to, and
    their own."""
    conditions = [Dataset.access == Access.open]
    codes = sorted(set(codes))
    if codes:
        grantees = codes + _group_grantees(session, codes)
        conditions += [Dataset.access == Access.members,
                       Dataset.provider_code.in_(codes),
                       sa.and_(Dataset.access == Access.named,
                               Dataset.id.in_(sa.select(DatasetGrant.dataset_id).where(DatasetGrant.grantee.in_(grantees))))]
    return sa.or_(*conditions)


def nameable_by(session: Session, owner_code: str) -> Any:
    """The SQL condition of the datasets a tenant's or member organisation's service may name as the
    source of a data item (issue 23): its own datasets that are not withdrawn, and the published
    datasets of others it may see under their access (:func:`seen_by`)."""
    return sa.and_(Dataset.status != DatasetStatus.withdrawn,
                   sa.or_(Dataset.provider_code == owner_code,
                          sa.and_(Dataset.status == DatasetStatus.published, seen_by(session, [owner_code]))))


def nameable_dataset(session: Session, owner_code: str, ref: str) -> Dataset | None:
    """The dataset ``ref`` (its uid or catalogue name) if ``owner_code``'s service may name it; None
    for an unknown dataset and for one it may not see alike (nothing tells the two apart)."""
    if not ref or len(ref) > 100:
        return None
    return session.scalars(sa.select(Dataset).where(sa.or_(Dataset.uid == ref, Dataset.name == ref),
                                                    nameable_by(session, owner_code))).first()


def nameable_choices(session: Session, owner_codes: Sequence[str] | None, *, search: str = "",
                     chosen: Sequence[str] = (), limit: int = 50) -> tuple[list[Dataset], int]:
    """The datasets a picker offers to the services of ``owner_codes`` (None: every dataset not
    withdrawn, for the operator before an owner is chosen): those already ``chosen`` (uids) first,
    then those whose title, name or provider's name matches ``search``, by title; and how many match."""
    from tenancy.members.models import Organisation
    from tenancy.registry.models import Tenant

    if owner_codes is None:
        scope = Dataset.status != DatasetStatus.withdrawn
    else:
        scope = sa.or_(sa.false(), *(nameable_by(session, code) for code in sorted(set(owner_codes))))
    query = sa.select(Dataset).where(scope)
    text = search.strip().lower().replace("%", "").replace("_", "")[:100]
    if text:
        like = f"%{text}%"
        providers = sa.union(sa.select(Tenant.code).where(sa.or_(sa.func.lower(Tenant.name_ja).like(like),
                                                                 sa.func.lower(Tenant.name_en).like(like))),
                             sa.select(Organisation.corporate_number).where(sa.func.lower(Organisation.name).like(like)))
        query = query.where(sa.or_(Dataset.search_text.like(like), Dataset.name.like(like),
                                   Dataset.provider_code.in_(providers)))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    picked = list(session.scalars(sa.select(Dataset).where(Dataset.uid.in_(sorted(set(chosen))))
                                  .order_by(Dataset.title_ja, Dataset.id))) if chosen else []
    rest = session.scalars(query.where(Dataset.uid.notin_([d.uid for d in picked]) if picked else sa.true())
                           .order_by(Dataset.title_ja, Dataset.id).limit(limit)).all()
    return picked + list(rest), total


def _register_scope(actor: Actor) -> Any:
    grant = authz.authorize(actor, "dataset.read")
    return sa.true() if grant.all_tenants else Dataset.provider_code.in_(sorted(grant.tenant_codes))


def get_dataset(session: Session, actor: Actor, uid: str) -> Dataset:
    """A dataset of the register, for someone who may read its provider's datasets; NotFound otherwise."""
    grant = authz.authorize(actor, "dataset.read")
    dataset = find_dataset(session, uid)
    if dataset is None or not grant.covers(dataset.provider_code):
        raise NotFound(f"No dataset {uid}.", "このデータセットはありません。")
    return dataset


def list_datasets(session: Session, actor: Actor, *, search: str = "", status: str | None = None,
                  provider: str | None = None, kind: str | None = None, page: int = 1,
                  per_page: int = 50) -> tuple[list[Dataset], int]:
    query = sa.select(Dataset).where(_register_scope(actor))
    if status:
        query = query.where(_of_status(status))
    if provider:
        query = query.where(Dataset.provider_code == provider)
    if kind:
        query = query.where(Dataset.standard_kind == kind)
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(sa.or_(Dataset.title_ja.like(like), Dataset.title_en.like(like), Dataset.name.like(like),
                                   Dataset.keywords.like(like)))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery()))
    rows = session.scalars(query.order_by(Dataset.provider_code, Dataset.title_ja, Dataset.id)
                           .offset((page - 1) * per_page).limit(per_page)).all()
    return list(rows), total


def _of_status(status: str | DatasetStatus):
    """The register list's filter by status (``?status=``), the one its counts use too."""
    return Dataset.status == DatasetStatus(status)


def status_counts(session: Session, actor: Actor) -> dict[DatasetStatus, int]:
    """How many datasets the actor's register list holds in each status, in one grouped query: the
    same scope and filter as :func:`list_datasets` with ``status`` (each count is that list's total)."""
    found = dict(session.execute(sa.select(Dataset.status, sa.func.count(Dataset.id)).where(_register_scope(actor))
                                 .group_by(Dataset.status)).all())
    return {status: int(found.get(status, found.get(status.value, 0)) or 0) for status in DatasetStatus}


def _published_before(end: dt.datetime):
    """The rule of a dataset published before ``end`` (whatever its state now)."""
    return sa.and_(Dataset.published_at.is_not(None), Dataset.published_at < end)


# in this order: the annual report (billing.annual_report._datasets) unpacks its rows so
PUBLISHED_COLUMNS = (Dataset.provider_code, Dataset.name, Dataset.title_ja, Dataset.status, Dataset.standard_kind,
                     Dataset.conformant, Dataset.problem_count)


def published_by(session: Session, end: dt.datetime, chunk: int = 2000) -> Iterator[Sequence[sa.Row]]:
    """Every dataset published before ``end`` (whatever its state now), by provider and name, in lists of ``chunk``
    rows (the 52,000 of a national register are never held at once): what the annual report lists;
    :func:`published_count` counts the same. Rows of :data:`PUBLISHED_COLUMNS` only (what the report
    shows and :func:`catalogue.conformance.verdict_of` reads), not whole datasets: at national size the
    52,000 datasets loaded whole took 7 s. The table's columns are selected, so the rows come back as the
    database gives them without the ORM's loading (a fifth less time at that size); pending changes are flushed
    first as the ORM's select would."""
    table = Dataset.__table__.c
    if session.autoflush:
        session.flush()
    return session.execute(sa.select(*(table[column.key] for column in PUBLISHED_COLUMNS))
                           .where(_published_before(end)).order_by(table.provider_code, table.name)).partitions(chunk)


def published_groups(session: Session, end: dt.datetime) -> list[sa.Row]:
    """The datasets :func:`published_by` lists, counted by the database for each standard kind, verdict
    (``conformant``) and provider: rows of (standard_kind, conformant, provider_code, datasets). What the annual
    report's summaries count, without reading each dataset (its PDF lists none of the 52,000 at national size)."""
    # grouped by provider first: SQLite then reads the table in its provider index's order (a quarter less time)
    return session.execute(sa.select(Dataset.standard_kind, Dataset.conformant, Dataset.provider_code, sa.func.count())
                           .where(_published_before(end))
                           .group_by(Dataset.provider_code, Dataset.standard_kind, Dataset.conformant)).all()


def published_count(session: Session, end: dt.datetime) -> int:
    """How many datasets :func:`published_by` lists, counted by the database: the results report's (service.kpis)
    figure of the year's published datasets (at national size, 52,000 rows loaded to be counted took 5 s)."""
    return int(session.scalar(sa.select(sa.func.count(Dataset.id)).where(_published_before(end))) or 0)


def search_datasets(session: Session, actor: Actor, query: search_rules.Query,
                    limit: int = search_rules.LIMIT) -> search_rules.Found:
    """The datasets of the register the actor may read (the register list's scope) whose title
    (Japanese or English) holds the query's text, or whose name (the catalogue's) is the query; by title.

    The title is found through the catalogue's search index (``search_index.candidates``: the datasets
    holding the text's character pairs, a superset the LIKE then decides), so a search reads the few
    candidates and not the 52,000 rows of a national register. A reader of their own providers' datasets
    (a municipality's tens, an organisation's few) reads those through the provider's index instead: the
    pairs of a common word (AED, 避難所) name a dataset of nearly every provider, thousands of candidates
    for the one provider's (on PostgreSQL 4 ms against 0.2 at national size)."""
    grant = authz.authorize(actor, "dataset.read")
    scope = _register_scope(actor)
    folded = query.folded
    said = [Dataset.name == folded]
    among = None if not grant.all_tenants else search_index.candidates(session, folded.split(" "))
    titled = sa.or_(sa.func.lower(Dataset.title_ja).like(search_rules.contains(folded), escape=search_rules.ESCAPE),
                    sa.func.lower(Dataset.title_en).like(search_rules.contains(folded), escape=search_rules.ESCAPE))
    said.append(titled if among is None else sa.and_(among, titled))
    where = sa.and_(scope, sa.or_(*said))
    rows, total, capped = search_rules.counted(session, [Dataset.uid, Dataset.title_ja, Dataset.name, Dataset.provider_code],
                                               where, lambda row: (row[1], row[3], row[2]), limit)
    return search_rules.Found([search_rules.Hit(uid, title, name, provider) for uid, title, name, provider in rows],
                              total, capped)


def distributions(session: Session, dataset: Dataset) -> list[Distribution]:
    return list(session.scalars(sa.select(Distribution).where(Distribution.dataset_id == dataset.id)
                                .order_by(Distribution.id)))


def grantees(session: Session, dataset: Dataset) -> list[str]:
    return list(session.scalars(sa.select(DatasetGrant.grantee).where(DatasetGrant.dataset_id == dataset.id)
                                .order_by(DatasetGrant.grantee)))


def checks(session: Session, dataset: Dataset) -> list[DatasetCheck]:
    return list(session.scalars(sa.select(DatasetCheck).where(DatasetCheck.dataset_id == dataset.id)
                                .order_by(DatasetCheck.id.desc()).limit(20)))


def dataset_counts(session: Session, codes: Sequence[str] | None = None) -> dict[str, int]:
    """A provider's dataset count, the one count every page reads (its quota gauge ``datasets``, its home
    page, the register's list): its datasets that are not withdrawn (drafts, submissions and published
    ones), by provider code (those with none are absent)."""
    query = (sa.select(Dataset.provider_code, sa.func.count(Dataset.id))
             .where(Dataset.status != DatasetStatus.withdrawn).group_by(Dataset.provider_code))
    if codes is not None:
        query = query.where(Dataset.provider_code.in_(sorted(set(codes))))
    return {code: int(count) for code, count in session.execute(query)}


def provider_lookup(session: Session, names: Iterable[Any]) -> Callable[[str], str | None]:
    """Who provides each of ``names`` (datasets by their catalogue name, CKAN's ``name``): a lookup
    answering a provider's code, or None when the register has no dataset of that name. All of them
    are read here, at once: usage ingest asks before it starts copying a batch (on PostgreSQL the
    connection is busy with the COPY while events are checked). Any status counts: use of a
    withdrawn dataset reported late is still its provider's use."""
    wanted = sorted({name for name in names if isinstance(name, str) and _NAME.match(name)})
    found: dict[str, str] = {}
    for start in range(0, len(wanted), 1000):
        found.update(session.execute(sa.select(Dataset.name, Dataset.provider_code)
                                     .where(Dataset.name.in_(wanted[start:start + 1000]))).all())
    return found.get


# --- registering and editing ----------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class DistributionDraft:
    url: str
    format: str = ""
    media_type: str = ""
    byte_size: int | None = None
    is_api: bool = False
    title: str = ""
    # how a call through the API gateway reaches it (catalogue/routes.py)
    route_service: str = ""
    route_service_path: str = ""
    route_entity_type: str = ""
    route_path: str = ""

    def route_keys(self) -> list[tuple[str, ...]]:
        return routes.route_keys(self.route_service, self.route_service_path, self.route_entity_type, self.route_path)


@dataclasses.dataclass(frozen=True)
class DatasetDraft:
    provider_code: str
    title_ja: str
    category_code: str
    licence_code: str
    access: str = "open"
    frequency: str = "irregular"
    personal_info: str = "none"
    title_en: str = ""
    description: str = ""
    keywords: str = ""
    last_updated_on: dt.date | None = None
    department: str = ""
    contact_email: str = ""
    contact_phone: str = ""
    standard_kind: str | None = None
    responsibility_remark: str = ""
    name: str = ""
    grantees: tuple[str, ...] = ()
    distributions: tuple[DistributionDraft, ...] = ()


def provider_exists(session: Session, code: str) -> bool:
    """A tenant (the prefecture, a municipality) or a member organisation with accounts."""
    from tenancy.members.models import MemberStatus, Organisation
    from tenancy.registry.models import Tenant

    if len(code) == 6:
        return session.scalar(sa.select(Tenant.id).where(Tenant.code == code)) is not None
    return session.scalar(sa.select(Organisation.id).where(Organisation.corporate_number == code,
                                                           Organisation.status == MemberStatus.approved)) is not None


# The free-text fields of a draft: (field, English name, Japanese name, longest, required, single line)
_TEXT_FIELDS = (
    ("title_ja", "title", "タイトル", 200, True, True),
    ("title_en", "English title", "英語のタイトル", 200, False, True),
    ("description", "description", "説明", 5000, False, False),
    ("keywords", "keywords", "キーワード", 500, False, True),
    ("department", "department", "担当課", 100, False, True),
    ("contact_phone", "phone number", "電話番号", 32, False, True),
    ("responsibility_remark", "remark", "責任分界の補足", 1000, False, False),
)
# The fixed lists a draft chooses from: (field, its enum, English name, Japanese name)
_ENUM_FIELDS = (("access", Access, "access level", "公開範囲"), ("frequency", Frequency, "update frequency", "更新頻度"),
                ("personal_info", PersonalInfo, "personal information", "個人情報の有無"))


_PROVIDER_CODE = re.compile(r"[0-9]{6}|[0-9]{13}")


class DraftLookups:
    """What a draft's checks read from the database, read once for many drafts (an import checks
    thousands): the category and licence codes that may be chosen, and which providers exist, each
    distinct code looked up once, a thousand to a query (:meth:`know_providers`)."""

    BATCH = 1000

    def __init__(self, session: Session, kept: Dataset | None = None) -> None:
        self.session = session
        self.categories = {c.code for c in lists.choices(lists.categories(session, include_inactive=True),
                                                         kept.category_code if kept else None)}
        self.licences = {lic.code for lic in lists.choices(lists.licences(session, include_inactive=True),
                                                           kept.licence_code if kept else None)}
        self.providers: dict[str, bool] = {}

    def know_providers(self, codes: Iterable[str]) -> None:
        """Whether each of ``codes`` is a tenant or an approved member organisation (:func:`provider_exists`)."""
        asked = sorted({code for code in codes if code not in self.providers and _PROVIDER_CODE.fullmatch(code or "")})
        for start in range(0, len(asked), self.BATCH):
            batch = asked[start:start + self.BATCH]
            found = self._existing_providers(batch)
            self.providers.update((code, code in found) for code in batch)

    def _existing_providers(self, codes: list[str]) -> set[str]:
        """Those of ``codes`` that are a tenant (6 digits) or an approved member organisation (13 digits)."""
        from tenancy.members.models import MemberStatus, Organisation
        from tenancy.registry.models import Tenant

        found = set(self.session.scalars(sa.select(Tenant.code).where(Tenant.code.in_([c for c in codes if len(c) == 6]))))
        found |= set(self.session.scalars(sa.select(Organisation.corporate_number).where(
            Organisation.corporate_number.in_([c for c in codes if len(c) == 13]),
            Organisation.status == MemberStatus.approved)))
        return found

    def provider_exists(self, code: str) -> bool:
        if code not in self.providers:
            self.know_providers([code])
        return self.providers.get(code, False)


def draft_problems(session: Session, draft: DatasetDraft, kept: Dataset | None = None,
                   lookups: DraftLookups | None = None) -> list[dict[str, str]]:
    """Every problem of a draft at once (the form shows each beside its field), in the form's
    order: the provider, the texts, the choices, the name and grantees, the distributions.
    ``kept``: the dataset the draft changes (its category and licence stay choices); ``lookups``:
    the database's answers, read once for many drafts (an import)."""
    lookups = lookups or DraftLookups(session, kept)
    found = _provider_problems(lookups, draft.provider_code)
    for field, en, ja, limit, required, single_line in _TEXT_FIELDS:
        issue = text_field_problem(field, getattr(draft, field), en, ja, limit, required=required, single_line=single_line)
        if issue is not None:
            found.append(issue)
    if draft.contact_email and (issue := email_problem("contact_email", draft.contact_email)) is not None:
        found.append(issue)  # the contact's address is optional; given, it is checked as every address is
    found += _choice_problems(lookups, draft)
    found += _access_problems(draft)
    for index, dist in enumerate(draft.distributions):
        found += _distribution_problems(index, dist)
    return found


def _provider_problems(lookups: DraftLookups, code: str) -> list[dict[str, str]]:
    """The provider must be chosen and be a tenant or a member organisation."""
    if not code:
        return [problem("provider_code", "Choose the provider.", "提供者を選んでください。")]
    if not _PROVIDER_CODE.fullmatch(code):
        return [problem("provider_code",
                        f"{code} is not a provider's code (a local government's 6 digits or a member's 13-digit "
                        "corporate number, in half-width digits).",
                        f"「{code}」は提供者のコードではありません（団体コード6桁または会員の法人番号13桁を半角数字で）。")]
    if not lookups.provider_exists(code):
        return [problem("provider_code", f"{code} is neither a tenant nor a member organisation.",
                        f"{code} は参加団体でも会員団体でもありません。")]
    return []


def _choice_problems(lookups: DraftLookups, draft: DatasetDraft) -> list[dict[str, str]]:
    """Each choice must be one of its list: category, licence (those in use, or the one the changed dataset
    has: stopping an entry hides it from new choices only, :mod:`catalogue.lists`), the fixed
    lists, the standard kind."""
    found = []
    if draft.category_code not in lookups.categories:
        found.append(problem("category_code", "Choose the category from the list.", "分野を一覧から選んでください。"))
    if draft.licence_code not in lookups.licences:
        found.append(problem("licence_code", "Choose the licence from the list.", "ライセンスを一覧から選んでください。"))
    for field, enum_cls, en, ja in _ENUM_FIELDS:
        if getattr(draft, field) not in {e.value for e in enum_cls}:
            found.append(problem(field, f"Choose the {en} from the list.", f"{ja}を一覧から選んでください。"))
    if draft.standard_kind and standards.kind_of(draft.standard_kind) is None:
        found.append(problem("standard_kind", "Choose the standard kind from the list.", "標準データセットの種類を一覧から選んでください。"))
    return found


def _access_problems(draft: DatasetDraft) -> list[dict[str, str]]:
    """The dataset's name (when given) and who may use it: a named dataset names someone; each grantee is well formed."""
    found = []
    if draft.name and not _NAME.match(draft.name):
        found.append(problem("name", "Use 2 to 100 lower-case letters, digits, - or _.", "英小文字・数字・-・_ で 2〜100 文字にしてください。"))
    if draft.access == Access.named.value and not draft.grantees:
        found.append(problem("grantees", "Name at least one tenant, organisation or project group.",
                             "利用できる団体または提案グループを一つ以上指定してください。"))
    for grantee in draft.grantees:
        if not _GRANTEE.match(grantee):
            found.append(problem("grantees", f"{grantee} is not a tenant code, corporate number or group:<id>.",
                                 f"{grantee} は団体コード・法人番号・group:番号 のいずれでもありません。"))
    return found


def _distribution_text_problems(index: int, dist: DistributionDraft) -> list[dict[str, str]]:
    """The lengths of a distribution's format, media type and title, each a single line that can be stored."""
    found = []
    if len(dist.format) > 32 or len(dist.media_type) > 100 or len(dist.title) > 200:
        found.append(problem(f"distributions.{index}.format", "The format is too long.", "形式が長すぎます。"))
    for field in ("format", "media_type", "title"):
        if (bad := text_problem(getattr(dist, field) or "", single_line=True)) is not None:
            found.append(problem(f"distributions.{index}.{field}", *bad))
    return found


def _distribution_problems(index: int, dist: DistributionDraft) -> list[dict[str, str]]:
    """A distribution's address (http or https), the lengths of its format, media type and title, its size;
    its texts are single lines that can be stored (:func:`core.validation.text_problem`)."""
    found = []
    if (bad_url := http_url_problem(f"distributions.{index}.url", dist.url or "", 1000)) is not None:
        found.append(bad_url)
    found += _distribution_text_problems(index, dist)
    if dist.byte_size is not None and not 0 <= dist.byte_size < 2**62:
        found.append(problem(f"distributions.{index}.byte_size", "Enter the size in bytes.", "サイズをバイト数で入力してください。"))
    found += routes.route_problems(f"distributions.{index}", dist.route_service, dist.route_service_path,
                                   dist.route_entity_type, dist.route_path)
    return found


def _refuse_taken_routes(session: Session, dataset: Dataset, draft: DatasetDraft) -> None:
    """A route through the gateway names one dataset: one another dataset claims already is refused."""
    for index, dist in enumerate(draft.distributions):
        taken = routes.route_conflicts(session, dataset.id, dist.route_keys())
        if taken:
            names = "、".join(taken)
            field = f"distributions.{index}.{'route_service' if dist.route_service else 'route_path'}"
            raise Conflict(f"Another dataset ({names}) is reached by this route through the API gateway already.",
                           f"この API の経路（サービス・パス・エンティティ型）は別のデータセット（{names}）が使っています。",
                           problems=[problem(field, f"route used by {names}", f"{names} が使用中の経路です")])


def _summary(dataset: Dataset) -> dict[str, Any]:
    return {"name": dataset.name, "provider": dataset.provider_code, "title_ja": dataset.title_ja,
            "status": DatasetStatus(dataset.status).value, "access": Access(dataset.access).value,
            "licence": dataset.licence_code, "standard_kind": dataset.standard_kind, "version": dataset.version,
            "first_connected_at": dataset.first_connected_at.isoformat() if dataset.first_connected_at else None}


def _next_name(session: Session, provider_code: str) -> str:
    return next_names(session, provider_code, 1)[0]


def next_names(session: Session, provider_code: str, how_many: int) -> list[str]:
    """The next ``how_many`` free names of a provider's datasets (``431001-0007``: numbered on from
    how many it has), read with two queries however many are asked (an import names thousands)."""
    count = session.scalar(sa.select(sa.func.count(Dataset.id)).where(Dataset.provider_code == provider_code)) or 0
    taken = set(session.scalars(sa.select(Dataset.name).where(Dataset.name.like(f"{provider_code}-%"))))
    names: list[str] = []
    while len(names) < how_many:
        count += 1
        name = f"{provider_code}-{count:04d}"
        if name not in taken:
            names.append(name)
    return names


def _apply(session: Session, dataset: Dataset, draft: DatasetDraft) -> None:
    _refuse_taken_routes(session, dataset, draft)
    for field in ("title_ja", "title_en", "description", "keywords", "category_code", "licence_code", "last_updated_on",
                  "department", "contact_email", "contact_phone", "responsibility_remark"):
        setattr(dataset, field, getattr(draft, field))
    dataset.access, dataset.frequency = Access(draft.access), Frequency(draft.frequency)
    dataset.personal_info = PersonalInfo(draft.personal_info)
    search_index.set_search_text(session, dataset, search_text_of(dataset.title_ja, dataset.title_en, dataset.keywords,
                                                                  dataset.description))
    if dataset.standard_kind != (draft.standard_kind or None):
        dataset.standard_kind = draft.standard_kind or None
        dataset.conformant, dataset.problem_count = None, 0
    elif dataset.conformant is not None and not _verdict_file_kept(session, dataset, draft):
        dataset.conformant, dataset.problem_count = None, 0  # the checked file is no longer its distribution: 未確認
    dataset.modified_at = utcnow()
    session.flush()
    fetch = {"synchronize_session": "fetch"}  # by key, not the criteria on every object held (search_index)
    session.execute(sa.delete(DatasetGrant).where(DatasetGrant.dataset_id == dataset.id), execution_options=fetch)
    session.execute(sa.delete(Distribution).where(Distribution.dataset_id == dataset.id), execution_options=fetch)
    for grantee in dict.fromkeys(draft.grantees if draft.access == Access.named.value else ()):
        session.add(DatasetGrant(dataset_id=dataset.id, grantee=grantee))
    for dist in draft.distributions:
        session.add(Distribution(dataset_id=dataset.id, **dataclasses.asdict(dist)))
    search_index.set_formats(dataset, [dist.format for dist in draft.distributions])
    if dataset.first_connected_at is None and any(dist.route_keys() for dist in draft.distributions):
        dataset.first_connected_at = dataset.modified_at  # its first route: the gateway reaches it from now on
    session.flush()
    routes.changed()


def _verdict_file_kept(session: Session, dataset: Dataset, draft: DatasetDraft) -> bool:
    """Whether the file the dataset's verdict was given on (its latest check of the distribution's file) is
    still one of ``draft``'s distributions (a verdict on no listed file stays as long as the dataset lists no file)."""
    url = session.scalar(sa.select(DatasetCheck.distribution_url)
                         .where(DatasetCheck.dataset_id == dataset.id, DatasetCheck.of_distribution.is_(True))
                         .order_by(DatasetCheck.id.desc()).limit(1))
    if url is None:
        return True
    if not url:
        return not any(not dist.is_api for dist in draft.distributions)
    return any(dist.url == url for dist in draft.distributions)


def _clean(draft: DatasetDraft) -> DatasetDraft:
    values = {k: (v.strip() if isinstance(v, str) else v) for k, v in dataclasses.asdict(draft).items()}
    values["grantees"] = tuple(g.strip() for g in draft.grantees if g.strip())
    values["distributions"] = tuple(DistributionDraft(**{k: (v.strip() if isinstance(v, str) else v)
                                                        for k, v in dataclasses.asdict(d).items()})
                                    for d in draft.distributions)
    values["standard_kind"] = values["standard_kind"] or None
    return DatasetDraft(**values)


def register(session: Session, actor: Actor, draft: DatasetDraft, lookups: DraftLookups | None = None) -> Dataset:
    """A new dataset of ``draft.provider_code``, as a draft (``lookups``: :func:`draft_problems`')."""
    draft = _clean(draft)
    authz.authorize(actor, "dataset.manage", draft.provider_code or None)
    found = draft_problems(session, draft, lookups=lookups)
    if draft.name and session.scalar(sa.select(Dataset.id).where(Dataset.name == draft.name)) is not None:
        found.append(problem("name", f"The name {draft.name} is taken.", f"識別名 {draft.name} はすでに使われています。"))
    if found:
        raise DatasetInvalid(found)
    dataset = Dataset(name=draft.name or _next_name(session, draft.provider_code), provider_code=draft.provider_code,
                      title_ja=draft.title_ja, category_code=draft.category_code, licence_code=draft.licence_code,
                      access=Access(draft.access), frequency=Frequency(draft.frequency),
                      personal_info=PersonalInfo(draft.personal_info), status=DatasetStatus.draft)
    session.add(dataset)
    session.flush()
    _apply(session, dataset, draft)
    audit.record(session, actor, "dataset.register", "dataset", dataset.uid, tenant_code=dataset.provider_code,
                 after=_summary(dataset))
    return dataset


def update(session: Session, actor: Actor, uid: str, draft: DatasetDraft) -> Dataset:
    """Change a dataset's description. A published dataset stays published, as a new version."""
    dataset = get_dataset(session, actor, uid)
    authz.authorize(actor, "dataset.manage", dataset.provider_code)
    draft = _clean(dataclasses.replace(draft, provider_code=dataset.provider_code, name=""))
    if dataset.status == DatasetStatus.withdrawn:
        raise Conflict("A withdrawn dataset cannot be changed.", "公開を終了したデータセットは変更できません。")
    found = draft_problems(session, draft, kept=dataset)
    if found:
        raise DatasetInvalid(found)
    before = _summary(dataset)
    _apply(session, dataset, draft)
    if dataset.status == DatasetStatus.published:
        dataset.version += 1
    audit.record(session, actor, "dataset.update", "dataset", dataset.uid, tenant_code=dataset.provider_code,
                 before=before, after=_summary(dataset))
    return dataset


# --- the workflow ---------------------------------------------------------------------------------------

def review_checklist(session: Session, dataset: Dataset) -> list[tuple[str, str, bool]]:
    """What the operator checks before publishing: (label ja, label en, met)."""
    chosen = next((lic for lic in lists.licences(session, include_inactive=True) if lic.code == dataset.licence_code), None)
    items = [("ライセンスが選ばれている", "A licence is chosen", chosen is not None),
             ("担当課と連絡先（メールまたは電話）がある", "The department and a contact are given",
              bool(dataset.department and (dataset.contact_email or dataset.contact_phone))),
             ("説明がある", "There is a description", bool(dataset.description.strip()))]
    if dataset.standard_kind:
        items.append(("標準データセットの項目定義に準拠している", "Conforms to its standard kind",
                      conformance_state(dataset).conformant))
    if chosen is not None and chosen.own_terms:
        items.append(("独自の利用規約が登録されている", "Its own terms of use are written",
                      session.scalar(sa.select(DatasetTerms.id).where(DatasetTerms.dataset_id == dataset.id).limit(1))
                      is not None))
    return items


def _checklist_problems(session: Session, dataset: Dataset) -> list[dict[str, str]]:
    return [problem("checklist", f"Not met: {en}.", f"未達: {ja}") for ja, en, met in review_checklist(session, dataset)
            if not met]


def _checklist_met(dataset: Dataset, session: Session) -> WhyNot | None:
    """The guard of submitting and publishing: the review checklist is met."""
    found = _checklist_problems(session, dataset)
    return WhyNot("The review checklist is not met.", "審査の確認項目を満たしていません。", tuple(found)) if found else None


def publish_checked(session: Session, actor: Actor, dataset: Dataset) -> list[dict[str, str]]:
    """Publish a draft or a submission outside the review's moves (an import of an existing catalogue's
    published rows, the demo's loader): the same right as publishing (``dataset.review``) and the same
    checklist (:func:`_checklist_met`, the guard of submitting and publishing), so that no path publishes
    past it. Returns the checklist's unmet items, the dataset left as it is; [] once it is published."""
    authz.authorize(actor, "dataset.review", dataset.provider_code)
    if dataset.status not in (DatasetStatus.draft, DatasetStatus.submitted):
        raise _refusal(DATASETS.moves["publish"], DatasetStatus(dataset.status), dataset)
    found = _checklist_problems(session, dataset)
    if found:
        return found
    before = _summary(dataset)
    dataset.status = DatasetStatus.published
    dataset.review_reason = ""
    dataset.published_at = dataset.modified_at = utcnow()
    session.flush()
    audit.record(session, actor, "dataset.publish", "dataset", dataset.uid, tenant_code=dataset.provider_code,
                 before=before, after=_summary(dataset))
    return []


def _refusal(move: Move, status: DatasetStatus, dataset: Dataset) -> IllegalMove:
    ja, en = DatasetStatus(status).label
    return IllegalMove(f"The dataset is {en.lower()}; it cannot be {_VERB_LABELS[move.name][1]} now.",
                       f"このデータセットは「{ja}」のため、この操作はできません。", status=status.value, move=move.name)


S = DatasetStatus
DATASETS = Lifecycle("データセット", "dataset", DatasetStatus, labels(DatasetStatus), (
    Move("submit", frozenset({S.draft}), S.submitted, "審査申請", "submit", _checklist_met, grant="dataset.manage"),
    Move("publish", frozenset({S.submitted}), S.published, "公開", "publish", _checklist_met, grant="dataset.review"),
    Move("refuse", frozenset({S.submitted}), S.draft, "差し戻し", "send back", reason_required=True, grant="dataset.review"),
    Move("withdraw", frozenset({S.published, S.submitted}), S.withdrawn, "公開終了", "withdraw", reason_required=True,
         grant="dataset.manage"),
), initial=(S.draft,), refusal=_refusal)
"""A dataset's lifecycle: each move needs its ``grant`` on the provider; submitting and publishing, the checklist."""
TRANSITIONS = DATASETS.moves

_VERB_LABELS = {"submit": ("審査を申請しました", "submitted for review"), "publish": ("公開しました", "published"),
                "refuse": ("差し戻しました", "sent back"), "withdraw": ("公開を終了しました", "withdrawn")}


@dataclasses.dataclass(frozen=True)
class Recipient:
    code: str
    email: str

    @property
    def contacts(self) -> list:
        return [dataclasses.make_dataclass("Contact", ["email"])(self.email)] if self.email else []


def moves_for(actor: Actor, dataset: Dataset) -> list[str]:
    """The moves ``actor`` may make on ``dataset`` now (the buttons a page shows)."""
    return [move.name for move in DATASETS.moves_from(dataset.status)
            if authz.allowed(actor, move.grant, dataset.provider_code)]


def move(session: Session, actor: Actor, uid: str, verb: str, reason: str = "") -> Dataset:
    if verb not in DATASETS.moves:
        raise NotFound(f"No move {verb}.", "この操作はありません。")
    dataset = get_dataset(session, actor, uid)
    authz.authorize(actor, DATASETS.moves[verb].grant, dataset.provider_code)
    transition = DATASETS.move(verb, dataset.status, dataset, session)
    reason = require_reason(transition, reason)
    if len(reason) > 1000:
        raise Invalid("The reason is too long.", "理由は 1000 文字以内にしてください。",
                      problems=[problem("reason", "Up to 1000 characters.", "1000 文字以内にしてください。")])
    before = _summary(dataset)
    dataset.status = transition.target
    dataset.review_reason = reason if verb in ("refuse", "withdraw") else ""
    if verb == "publish":
        dataset.published_at = dataset.modified_at = utcnow()
    session.flush()
    audit.record(session, actor, f"dataset.{verb}", "dataset", dataset.uid, tenant_code=dataset.provider_code,
                 before=before, after={**_summary(dataset), **({"reason": reason} if reason else {})})
    label_ja = _VERB_LABELS[verb][0]
    body = f"データセット「{dataset.title_ja}」（{dataset.name}）を{label_ja}。\n"
    if reason:
        body += f"\n理由: {reason}\n"
    outbox.queue(session, kind=f"dataset.{verb}", tenant=Recipient(dataset.provider_code, dataset.contact_email),
                 subject=f"【データセット】{dataset.title_ja}を{label_ja}", body=body)
    return dataset


LABELS = {"status": labels(DatasetStatus), "access": labels(Access), "frequency": labels(Frequency), "personal_info": labels(PersonalInfo)}

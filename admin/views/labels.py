"""Words instead of codes on the admin pages: tenant names beside codes, role, status, action and
account labels in the reader's language, and audit before/after values as a readable list.

The label tables are the domain's (core.authz, tenancy.registry.models, billing.models,
governance.models, governance.audit, usage.models); this module only picks the reader's
language and formats. Tenant names are read once per request (one query) and kept on ``flask.g``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from flask_babel import LazyString, get_locale
from markupsafe import Markup, escape

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from billing import ledger
from billing.models import AccountType, CostCategory, EntryKind, PolicyStatus, RunStatus, TaxTreatment
from core import authz
from governance.audit import AUDIT_ACTION_LABELS, AUDIT_FIELD_LABELS_JA, AUDIT_TARGET_LABELS
from residents.consent.models import ServiceStatus
from governance.models import AgreementDocument, ChangeType, ProposalStatus, VersionStatus, VoteChoice
from tenancy.registry.models import BankAccountType, Tenant, TenantKind, TenantStatus
from tenancy.members.models import BaseKind, MemberStatus, Organisation, OrganisationKind
from usage.models import METRICS, Enforcement


def locale() -> str:
    return str(get_locale() or "ja") if has_request_context() else "ja"


def ja() -> bool:
    return locale() == "ja"


def _english(value: str) -> str:
    return value.replace("_", " ").replace("-", " ")


# --- tenants --------------------------------------------------------------------------------------

def tenant_names() -> dict[str, tuple[str, str]]:
    """code → (Japanese name, English name) of every registered tenant, read once per request."""
    cached = g.get("_renkei_tenant_names") if has_request_context() else None
    if cached is None:
        cached = {code: (name_ja, name_en or name_ja) for code, name_ja, name_en in
                  db.session.execute(sa.select(Tenant.code, Tenant.name_ja, Tenant.name_en))}
        if has_request_context():
            g._renkei_tenant_names = cached
    return cached


def organisation_names() -> dict[str, str]:
    """corporate number → name of every member organisation (tenancy/members), read once per request."""
    cached = g.get("_renkei_organisation_names") if has_request_context() else None
    if cached is None:
        cached = dict(db.session.execute(sa.select(Organisation.corporate_number, Organisation.name)).all())
        if has_request_context():
            g._renkei_organisation_names = cached
    return cached


def is_corporate_number(code: Any) -> bool:
    return isinstance(code, str) and len(code) == 13 and code.isdigit()


def organisation_label(number: str) -> str:
    """「株式会社くまもとデータ（法人番号 1234567890123）」: a member organisation by name, its number beside it."""
    name = organisation_names().get(number)
    if not name:
        return number
    return f"{name}（法人番号 {number}）" if ja() else f"{name} (corporate number {number})"


def tenant_label(code: str | None, name: str | None = None) -> str:
    """「431001 熊本市」: the code with the tenant's name beside it (a member organisation's corporate
    number, where a tenant code stands in the audit log: the organisation's name first)."""
    if not code:
        return "—"
    if name is None and is_corporate_number(code):
        return organisation_label(code)
    if name is None:
        names = tenant_names().get(code)
        name = (names[0] if ja() else names[1]) if names else ""
    return f"{code} {name}".strip()


def tenant_status(status: str | TenantStatus) -> str:
    return _pick(TenantStatus(status).label)


def tenant_kind(kind: str | TenantKind) -> str:
    return _pick(TenantKind(kind).label)


# --- roles, actions, accounts ---------------------------------------------------------------------

def role_label(role: str | None) -> str:
    if not role:
        return "—"
    return authz.ROLE_LABELS_JA.get(role, role) if ja() else _english(role)


def audit_action(action: str) -> str:
    labels = AUDIT_ACTION_LABELS.get(action)
    if labels is None:
        return action if not ja() else f"その他の操作（{action}）"
    return labels[0] if ja() else labels[1]


def audit_target(target_type: str) -> str:
    labels = AUDIT_TARGET_LABELS.get(target_type)
    return (labels[0] if ja() else labels[1]) if labels else _english(target_type)


def metric_label(metric: str) -> str:
    found = METRICS.get(metric)
    return (found.label_ja if ja() else found.label_en) if found else metric


def account_label(code: str) -> str:
    """「未収金 431001 熊本市」 for a receivable, the standard chart's name for the others."""
    if code.startswith(ledger.RECEIVABLE_PREFIX):
        tenant = code[len(ledger.RECEIVABLE_PREFIX):]
        return f"{'未収金' if ja() else 'Receivable'} {tenant_label(tenant)}"
    spec = ledger.standard_account(code)
    if spec is not None:
        return spec.name_ja if ja() else spec.name_en
    return code


def enforcement_label(value: str | Enforcement) -> str:
    return _pick(Enforcement(value).label)


def account_type(kind: str | AccountType) -> str:
    return _pick(AccountType(kind).label)


def entry_kind(kind: str | EntryKind) -> str:
    return _pick(EntryKind(kind).label)


# --- audit before / after -------------------------------------------------------------------------

def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if ja() else pair[1]


_STATUS_BY_TARGET = {
    "tenant": lambda v: tenant_status(v),
    "allocation_run": lambda v: _pick(RunStatus(v).label),
    "allocation_policy": lambda v: _pick(PolicyStatus(v).label),
    "council_proposal": lambda v: _pick(ProposalStatus(v).label),
    "agreement_version": lambda v: _pick(VersionStatus(v).label),
    "member": lambda v: _pick(MemberStatus(v).label),
    "data_service": lambda v: _pick(ServiceStatus(v).label),
    "smartcity_service": lambda v: _pick(_smart().ServiceStatus(v).label),
}

@dataclasses.dataclass(frozen=True)
class FieldType:
    """What an audit field holds, declared: which stored values it puts in words (``reads``) and how
    (``words(value, target_type)``, which raises KeyError or ValueError for a value its label table
    does not know). A value it does not read, or does not know, reads by the general rules."""

    reads: Callable[[Any], bool]
    words: Callable[[Any, str], str]


def _text_of(words: Callable[[str], str]) -> FieldType:
    """A field holding a code (a string) that a label table names."""
    return FieldType(lambda v: isinstance(v, str), lambda v, _target: words(v))


def _joined(texts) -> str:
    return ("、" if ja() else ", ").join(texts)


def _status_words(value: Any, target_type: str) -> str:
    """A status in the words of the record's target (KeyError for a target without a status table)."""
    return _STATUS_BY_TARGET[target_type](value)


def _yen(value: int, _target: str) -> str:
    return f"{value:,}円" if ja() else f"¥{value:,}"


_TENANT = FieldType(lambda v: _is_code(v), lambda v, _target: tenant_label(v))
_TENANT_LIST = FieldType(lambda v: isinstance(v, list) and bool(v) and all(_is_code(c) for c in v),
                         lambda v, _target: _joined(tenant_label(c) for c in v))
_FISCAL_YEAR = FieldType(lambda v: isinstance(v, int), lambda v, _target: format_fiscal_year(v, locale()))
_MONEY = FieldType(lambda v: isinstance(v, int), _yen)

# The audit fields whose values have a meaning beyond their text, each with its declared type; a
# field not listed here reads as it is (a time as a date, anything else as its text).
FIELD_TYPES: dict[str, FieldType] = {
    "status": FieldType(lambda v: True, _status_words),
    "roles": FieldType(lambda v: isinstance(v, list), lambda v, _target: _joined(role_label(r) for r in v)),
    **dict.fromkeys(("code", "tenant", "tenant_code", "representative"), _TENANT),
    **dict.fromkeys(("tenants", "electorate", "active", "members", "added", "removed", "tenant_codes"), _TENANT_LIST),
    **dict.fromkeys(("fiscal_year", "wave_fiscal_year"), _FISCAL_YEAR),
    **dict.fromkeys(("amount", "total", "tax_amount", "invoiced_amount", "floor", "cap", "balance"), _MONEY),
    "kind": _text_of(lambda v: tenant_kind(v) if v in TenantKind._value2member_map_ else
                     _pick(OrganisationKind(v).label) if v in OrganisationKind._value2member_map_
                     else _pick(_competition().DocumentKind(v).label)
                     if v in _competition().DocumentKind._value2member_map_ else entry_kind(v)),
    # the project competition (issue 41): a review's stage, a milestone of the call's schedule
    "stage": _text_of(lambda v: _pick(_review().Stage(v).label)),
    "key": _text_of(lambda v: _pick({step.key: (step.label_ja, step.label_en)
                                     for step in _competition().DEFAULT_SCHEDULE}[v])),
    "category": _text_of(lambda v: _pick(CostCategory(v).label)),
    "tax_treatment": _text_of(lambda v: _pick(TaxTreatment(v).label)),
    "document": _text_of(lambda v: _pick(AgreementDocument(v).label)),
    "change_type": _text_of(lambda v: _pick(ChangeType(v).label)),
    "choice": _text_of(lambda v: _pick(VoteChoice(v).label)),
    "enforcement": _text_of(lambda v: _pick(Enforcement(v).label)),
    # a quota override's enforcement: inherited from what applies without it, or said by the override (issue 36)
    "enforcement_from": _text_of(lambda v: _pick({"plan": ("独自の上限がない場合と同じ", "as without the override"),
                                                  "override": ("個別に指定", "set by the override")}[v])),
    "metric": _text_of(metric_label),
    "role": _text_of(role_label),
    "from_status": _text_of(tenant_status),
    "to_status": _text_of(tenant_status),
    "action": _text_of(audit_action),
    "target_type": _text_of(audit_target),
    "bases": _text_of(lambda v: _pick(BaseKind(v).label) if v in BaseKind._value2member_map_ else v),
    "outcome": _text_of(lambda v: _pick({"failed": ("失敗", "failed")}[v])),
    "account_type": _text_of(lambda v: _pick(BankAccountType(v).label)),
    # the secretariat's desk (issue 40)
    "inquiry_category": _text_of(lambda v: _pick(_desk().Category(v).label)),
    "inquiry_channel": _text_of(lambda v: _pick(_desk().Channel(v).label)),
    "inquirer_kind": _text_of(lambda v: _pick(_desk().InquirerKind(v).label)),
    "inquiry_status": _text_of(lambda v: _pick(_desk().InquiryStatus(v).label)),
    "event_kind": _text_of(lambda v: _pick(_events().EventKind(v).label)),
    "event_audience": _text_of(lambda v: _pick(_events().Audience(v).label)),
    "registration_status": _text_of(lambda v: _pick(_events().RegistrationStatus(v).label)),
    "minutes_status": _text_of(lambda v: _pick(_meetings().MinutesStatus(v).label)),
    # smart-city services, ideas and needs (issue 57 item 5)
    "service_field": _text_of(lambda v: _pick(_smart().ServiceField(v).label)),
    "scope": _text_of(lambda v: _pick(_smart().ServiceScope(v).label)),
    "idea_stage": _text_of(lambda v: _pick(_smart().IdeaStage(v).label)),
    "form": _text_of(lambda v: _pick({"text": ("本文", "text"), "pdf": ("PDF ファイル", "PDF file")}[v])),
    # what stood for a policy's adoption (billing.operations.adopt_policy): its words are in the field labels
    "by": _text_of(lambda v: AUDIT_FIELD_LABELS_JA[v] if ja() else _english(v)),
}


def _competition():
    from competition import models

    return models


def _review():
    from competition import review

    return review


def _desk():
    from secretariat import inquiries

    return inquiries


def _meetings():
    from governance import meetings

    return meetings


def _smart():
    from secretariat import smart_services

    return smart_services


def _events():
    from secretariat import events

    return events


def _scalar(key: str, value: Any, target_type: str) -> str | None:
    """The value in words: by its field's declared type (:data:`FIELD_TYPES`: a status, a role, a
    tenant or member by name, a fiscal year, an amount ...), else by what it is (a time, a text);
    None for a nested value (a dict, a list) its field does not read. The one rule of both the page
    and the CSV in words."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return ("はい" if value else "いいえ") if ja() else ("yes" if value else "no")
    declared = FIELD_TYPES.get(key)
    if declared is not None and declared.reads(value):
        try:
            return declared.words(value, target_type)
        except (KeyError, ValueError):
            pass
    if isinstance(value, (dict, list)):
        return None
    return _plain(value)


def _plain(value: Any) -> str:
    """A value no declared type reads: a time (ISO 8601 text) as a date in the reader's form, else its text."""
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return format_date(dt.datetime.fromisoformat(value), locale())
        except ValueError:
            pass
    return str(value)


def _is_code(value: Any) -> bool:
    """A tenant code (6 digits) or a member organisation's corporate number (13)."""
    return isinstance(value, str) and value.isdigit() and len(value) in (6, 13)


def _value(key: str, value: Any, target_type: str) -> Markup:
    text = _scalar(key, value, target_type)
    if text is not None:
        return escape(text)
    if isinstance(value, dict):
        return readable(value, target_type)
    if all(isinstance(v, dict) for v in value):
        return Markup("").join(readable(v, target_type) for v in value)
    return Markup("、" if ja() else ", ").join(_value(key, v, target_type) for v in value)


def field_label(key: str) -> str:
    return AUDIT_FIELD_LABELS_JA.get(key, _english(key)) if ja() else _english(key)


def _loaded(data: Any) -> Any:
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


def _shown_items(data: dict[str, Any]):
    return [(key, value) for key, value in data.items()
            if not (key.endswith("_ja") and key[:-3] in data)]  # 「区分 運用費」 once, not twice


def readable(data: Any, target_type: str = "") -> Markup:
    """A before/after value as a definition list with labelled keys (nested values nested), not JSON."""
    data = _loaded(data)
    if isinstance(data, str):
        return escape(data)
    if data is None:
        return Markup("—")
    if not isinstance(data, dict):
        return _value("", data, target_type)
    if not data:
        return Markup("—")
    rows = Markup("").join(Markup('<dt class="col-sm-4">{}</dt><dd class="col-sm-8">{}</dd>').format(
        field_label(key), _value(key, value, target_type)) for key, value in _shown_items(data))
    return Markup('<dl class="row mb-1 audit-values">{}</dl>').format(rows)


def readable_text(data: Any, target_type: str = "") -> str:
    """A before/after value as one line of words for a spreadsheet cell: 「状態：利用中／種別：市」
    (the same labels as :func:`readable`, nested values in brackets), not JSON."""
    data = _loaded(data)
    if data is None or data == {} or data == "":
        return ""
    if isinstance(data, str):
        return data
    if not isinstance(data, dict):
        return _text("", data, target_type)
    return ("／" if ja() else "; ").join(f"{field_label(key)}{'：' if ja() else ': '}{_text(key, value, target_type)}"
                                       for key, value in _shown_items(data))


def _text(key: str, value: Any, target_type: str) -> str:
    text = _scalar(key, value, target_type)
    if text is not None:
        return text
    if isinstance(value, dict):
        return ("（" if ja() else "(") + readable_text(value, target_type) + ("）" if ja() else ")")
    return ("、" if ja() else ", ").join(_text(key, v, target_type) for v in value)


# --- who and what an audit record is about --------------------------------------------------------

def actor_text(entry: Any) -> str:
    """The person acting by name; a command's login name beside it (「熊本県 運営者（operator）」)."""
    from core.actor import CLI_ISSUER

    name = entry.actor_name or _known_name(entry.actor_subject) or entry.actor_subject
    if entry.actor_issuer == CLI_ISSUER and entry.actor_subject and entry.actor_subject != name:
        return f"{name}（{entry.actor_subject}）" if ja() else f"{name} ({entry.actor_subject})"
    return name


def _target_tables() -> dict[str, tuple[Any, Any]]:
    """Target type → (id column, name column) of the table its records name."""
    from billing.models import AllocationPolicy, AllocationRun, CostItem
    from residents.consent.models import DataService
    from governance.models import CouncilProposal, Notice
    from catalogue.models import Dataset
    from tenancy.identity.models import ApiClient
    from tenancy.members.models import ProjectGroup, ScreeningItem

    return {"project_group": (ProjectGroup.id, ProjectGroup.name), "cost_item": (CostItem.id, CostItem.name),
            "allocation_policy": (AllocationPolicy.id, AllocationPolicy.name),
            "allocation_run": (AllocationRun.id, AllocationRun.fiscal_year),
            "api_client": (ApiClient.id, ApiClient.name), "dataset": (Dataset.uid, Dataset.title_ja),
            "notice": (Notice.id, Notice.title), "council_proposal": (CouncilProposal.id, CouncilProposal.title),
            "data_service": (DataService.id, DataService.name), "screening_item": (ScreeningItem.id, ScreeningItem.label_ja)}


def prefetch_targets(entries: list[Any]) -> None:
    """Read the names of the records' targets, one query per kind of target, kept for the request
    (a page of the log, a batch of an export)."""
    cache = _target_cache()
    tables = _target_tables()
    wanted: dict[str, set[str]] = {}
    for entry in entries:
        if entry.target_type in tables and (entry.target_type, entry.target_id) not in cache:
            wanted.setdefault(entry.target_type, set()).add(entry.target_id)
    for target_type, ids in wanted.items():
        id_column, name_column = tables[target_type]
        keys = [int(i) for i in ids if i.isdigit()] if isinstance(id_column.type, sa.Integer) else sorted(ids)
        for found_id, name in db.session.execute(sa.select(id_column, name_column).where(id_column.in_(keys))):
            cache[(target_type, str(found_id))] = name
        for target_id in ids:
            cache.setdefault((target_type, target_id), None)
    # people of records written before names were stored: named from the log's other records, one batch
    people = {e.target_id for e in entries if e.target_type == "user" and not _payload_name(e)[0]}
    people |= {e.actor_subject for e in entries if not e.actor_name and e.actor_subject}
    _prefetch_people(cache, people)


def _prefetch_people(cache: dict, ids: set[str]) -> None:
    from governance.audit import known_people

    wanted = {i for i in ids if i and ("person", i) not in cache}
    if not wanted:
        return
    found = known_people(db.session, wanted)
    for person_id in wanted:
        cache[("person", person_id)] = found.get(person_id)


def _known(person_id: str) -> Any:
    """The person the log's other records name (governance.audit.known_people), or None."""
    cache = _target_cache()
    if ("person", person_id) not in cache:
        _prefetch_people(cache, {person_id})
    return cache.get(("person", person_id))


def _known_name(person_id: str) -> str | None:
    known = _known(person_id) if person_id else None
    return known.name if known is not None else None


def _target_cache() -> dict[tuple[str, str], Any]:
    if not has_request_context():
        return {}
    if "_renkei_audit_targets" not in g:
        g._renkei_audit_targets = {}
    return g._renkei_audit_targets


_NAME_KEYS = ("full_name", "name", "title", "title_ja", "label_ja", "subject")


def _payload_name(entry: Any) -> tuple[str | None, str | None]:
    """(name, login) the record's own before/after give of its target (a person's name as it was then)."""
    for data in (_loaded(entry.after), _loaded(entry.before)):
        if isinstance(data, dict):
            name = next((data[key] for key in _NAME_KEYS if isinstance(data.get(key), str) and data[key]), None)
            if name or data.get("username"):
                return name, data.get("username")
    return None, None


def audit_target_text(entry: Any) -> str:
    """The target of a record in words: a person's name and login (「田中 太郎（tanaka）」), a member by
    name, a project group, cost item, dataset... by its name, a tenant by code and name, 「1,720 団体」."""
    target_type, target_id = entry.target_type, entry.target_id
    if target_type == "user":
        name, login = _payload_name(entry)
        if not name and (known := _known(target_id)) is not None:  # a record written before names were stored
            name, login = known.name, login or known.login
        if name and login:
            return f"{name}（{login}）" if ja() else f"{name} ({login})"
        return name or login or target_id
    if target_type == "tenant" and target_id.endswith(" tenants") and target_id.split(" ")[0].isdigit():
        count = int(target_id.split(" ")[0])
        return f"{count:,} 団体" if ja() else f"{count:,} tenants"
    if target_type == "member" and is_corporate_number(target_id):
        return organisation_label(target_id)
    if target_type in _target_tables():
        if (target_type, target_id) not in _target_cache():
            prefetch_targets([entry])
        name = _target_cache().get((target_type, target_id))
        if name is None:
            name = _payload_name(entry)[0]
        if target_type == "allocation_run" and isinstance(name, int):
            name = format_fiscal_year(name, locale())
        if name:
            return f"{name}（#{target_id}）" if target_id.isdigit() else str(name)
    return audit_target_id(target_type, target_id)


def audit_target_id(target_type: str, target_id: str) -> str:
    """The target in words from its type and id alone: a tenant's name beside its code, an
    agreement's document and version, a wave's fiscal year; other targets keep their number."""
    try:
        if target_type == "tenant":
            return tenant_label(target_id)
        if target_type == "agreement_version" and "/" in target_id:
            document, number = target_id.split("/", 1)
            name = _pick(AgreementDocument(document).label)
            return f"{name} 第{number}版" if ja() else f"{name} version {number}"
        if target_type == "wave" and target_id.startswith("FY"):
            return format_fiscal_year(int(target_id[2:]), locale())
        if target_type == "quota_override" and ":" in target_id:
            code, metric = target_id.split(":", 1)
            return f"{tenant_label(code)} {metric_label(metric)}"
    except (KeyError, ValueError):
        pass
    return f"#{target_id}" if target_id.isdigit() else target_id


# --- filters of the model views -------------------------------------------------------------------

class LabelledFilters:
    """A model view mixin: the options of its enum filters shown in the reader's language.

    ``filter_option_labels`` maps a column name to a function from the stored value to its label;
    the values sent in the URL stay the stored ones.
    """

    filter_option_labels: dict[str, Any] = {}

    def scaffold_filters(self, name):
        filters = super().scaffold_filters(name)
        label = self.filter_option_labels.get(name if isinstance(name, str) else getattr(name, "key", ""))
        if filters and label is not None:
            for flt in filters:
                if flt.options and not callable(flt.options):
                    # lazy: Flask-Admin reads the options once at start-up, and shows them in each reader's language
                    flt.options = (lambda options=tuple(flt.options): [(value, LazyString(_relabel, label, value, text))
                                                                       for value, text in options])
        return filters


def _relabel(label, value, text):
    """The option's label in the reader's language; options that are not the column's values (the
    yes/no of an "empty" filter) keep theirs."""
    try:
        return label(value)
    except (KeyError, ValueError):
        return text


def outbox_kind(kind: str) -> str:
    from core.outbox import KIND_LABELS

    found = KIND_LABELS.get(kind)
    return (found[0] if ja() else found[1]) if found else (f"その他（{kind}）" if ja() else kind)


def outbox_status(status: str) -> str:
    from core.outbox import NotificationStatus

    try:
        return _pick(NotificationStatus(status).label)
    except ValueError:
        return str(getattr(status, "value", status))

"""Words instead of codes on the admin pages: tenant names beside codes, role, status, action and
account labels in the reader's language, and audit before/after values as a readable list.

The label tables are the domain's (core.authz, tenancy.registry.models, billing.models,
governance.models, governance.audit, tenancy.usage.models); this module only picks the reader's
language and formats. Tenant names are read once per request (one query) and kept on ``flask.g``.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context
from flask_babel import LazyString, get_locale
from markupsafe import Markup, escape

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from billing import ledger
from billing.models import (ACCOUNT_TYPE_LABELS_EN, ACCOUNT_TYPE_LABELS_JA, CATEGORY_LABELS_EN, CATEGORY_LABELS_JA,
                            ENTRY_KIND_LABELS_EN, ENTRY_KIND_LABELS_JA, POLICY_STATUS_LABELS_EN,
                            POLICY_STATUS_LABELS_JA, RUN_STATUS_LABELS_EN, RUN_STATUS_LABELS_JA, TAX_LABELS_EN,
                            TAX_LABELS_JA, AccountType, CostCategory, EntryKind, PolicyStatus,
                            RunStatus, TaxTreatment)
from core import authz
from governance.audit import AUDIT_ACTION_LABELS, AUDIT_FIELD_LABELS_JA, AUDIT_TARGET_LABELS
from governance.consent.models import SERVICE_STATUS_LABELS, ServiceStatus
from governance.models import (CHANGE_LABELS, DOCUMENT_LABELS, PROPOSAL_STATUS_LABELS, VERSION_STATUS_LABELS,
                               VOTE_LABELS, AgreementDocument, ChangeType, ProposalStatus, VersionStatus, VoteChoice)
from tenancy.registry.models import (BANK_ACCOUNT_LABELS_EN, BANK_ACCOUNT_LABELS_JA, KIND_LABELS_EN, KIND_LABELS_JA,
                                     STATUS_LABELS_EN, STATUS_LABELS_JA, BankAccountType, Tenant, TenantKind,
                                     TenantStatus)
from tenancy.members.models import BASE_KIND_LABELS, BaseKind
from tenancy.usage.models import METRICS, Enforcement

try:  # the label table of the usage package, when present
    from tenancy.usage.models import ENFORCEMENT_LABELS
except ImportError:  # pragma: no cover
    ENFORCEMENT_LABELS = {Enforcement.soft: ("警告のみ", "Soft: warn only"), Enforcement.hard: ("上限で停止", "Hard: stop")}


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


def tenant_label(code: str | None, name: str | None = None) -> str:
    """「431001 熊本市」: the code with the tenant's name beside it."""
    if not code:
        return "—"
    if name is None:
        names = tenant_names().get(code)
        name = (names[0] if ja() else names[1]) if names else ""
    return f"{code} {name}".strip()


def tenant_status(status: str | TenantStatus) -> str:
    status = TenantStatus(status)
    return STATUS_LABELS_JA[status] if ja() else STATUS_LABELS_EN[status]


def tenant_kind(kind: str | TenantKind) -> str:
    kind = TenantKind(kind)
    return KIND_LABELS_JA[kind] if ja() else KIND_LABELS_EN[kind]


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
    return _pick(ENFORCEMENT_LABELS[Enforcement(value)])


def account_type(kind: str | AccountType) -> str:
    kind = AccountType(kind)
    return ACCOUNT_TYPE_LABELS_JA[kind] if ja() else ACCOUNT_TYPE_LABELS_EN[kind]


def entry_kind(kind: str | EntryKind) -> str:
    kind = EntryKind(kind)
    return ENTRY_KIND_LABELS_JA[kind] if ja() else ENTRY_KIND_LABELS_EN[kind]


# --- audit before / after -------------------------------------------------------------------------

def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if ja() else pair[1]


_STATUS_BY_TARGET = {
    "tenant": lambda v: tenant_status(v),
    "allocation_run": lambda v: (RUN_STATUS_LABELS_JA if ja() else RUN_STATUS_LABELS_EN)[RunStatus(v)],
    "allocation_policy": lambda v: (POLICY_STATUS_LABELS_JA if ja() else POLICY_STATUS_LABELS_EN)[PolicyStatus(v)],
    "council_proposal": lambda v: _pick(PROPOSAL_STATUS_LABELS[ProposalStatus(v)]),
    "agreement_version": lambda v: _pick(VERSION_STATUS_LABELS[VersionStatus(v)]),
    "data_service": lambda v: _pick(SERVICE_STATUS_LABELS[ServiceStatus(v)]),
}

_VALUE_LABELS = {
    "kind": lambda v: tenant_kind(v) if v in TenantKind._value2member_map_ else entry_kind(v),
    "category": lambda v: (CATEGORY_LABELS_JA if ja() else CATEGORY_LABELS_EN)[CostCategory(v)],
    "tax_treatment": lambda v: (TAX_LABELS_JA if ja() else TAX_LABELS_EN)[TaxTreatment(v)],
    "document": lambda v: _pick(DOCUMENT_LABELS[AgreementDocument(v)]),
    "change_type": lambda v: _pick(CHANGE_LABELS[ChangeType(v)]),
    "choice": lambda v: _pick(VOTE_LABELS[VoteChoice(v)]),
    "enforcement": lambda v: _pick(ENFORCEMENT_LABELS[Enforcement(v)]),
    "metric": metric_label,
    "role": role_label,
    "from_status": tenant_status,
    "to_status": tenant_status,
    "action": audit_action,
    "target_type": audit_target,
    "bases": lambda v: _pick(BASE_KIND_LABELS[BaseKind(v)]) if v in BaseKind._value2member_map_ else v,
    "account_type": lambda v: (BANK_ACCOUNT_LABELS_JA if ja() else BANK_ACCOUNT_LABELS_EN)[BankAccountType(v)],
}
_TENANT_KEYS = {"code", "tenant", "tenant_code"}
_TENANT_LIST_KEYS = {"tenants", "electorate", "active"}
_YEAR_KEYS = {"fiscal_year", "wave_fiscal_year"}


def _value(key: str, value: Any, target_type: str) -> Markup:
    if value is None or value == "":
        return Markup("—")
    if isinstance(value, bool):
        return Markup(escape(("はい" if value else "いいえ") if ja() else ("yes" if value else "no")))
    try:
        if key == "status" and target_type in _STATUS_BY_TARGET:
            return escape(_STATUS_BY_TARGET[target_type](value))
        if key == "roles" and isinstance(value, list):
            return escape("、".join(role_label(r) for r in value) if ja() else ", ".join(role_label(r) for r in value))
        if key in _TENANT_KEYS and isinstance(value, str) and value.isdigit() and len(value) == 6:
            return escape(tenant_label(value))
        if key in _TENANT_LIST_KEYS and isinstance(value, list) and all(isinstance(v, str) for v in value):
            return escape("、".join(tenant_label(v) for v in value) if ja() else ", ".join(tenant_label(v) for v in value))
        if key in _YEAR_KEYS and isinstance(value, int):
            return escape(format_fiscal_year(value, locale()))
        if key in _VALUE_LABELS and isinstance(value, str):
            return escape(_VALUE_LABELS[key](value))
    except (KeyError, ValueError):
        pass
    if isinstance(value, dict):
        return readable(value, target_type)
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value):
            return Markup("").join(readable(v, target_type) for v in value)
        return Markup("、" if ja() else ", ").join(_value(key, v, target_type) for v in value)
    if isinstance(value, int) and key in {"amount", "total", "tax_amount", "invoiced_amount", "floor", "cap", "balance"}:
        return escape(f"{value:,}円" if ja() else f"¥{value:,}")
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] == "T":
        try:
            return escape(format_date(dt.datetime.fromisoformat(value), locale()))
        except ValueError:
            pass
    return escape(str(value))


def field_label(key: str) -> str:
    return AUDIT_FIELD_LABELS_JA.get(key, _english(key)) if ja() else _english(key)


def readable(data: Any, target_type: str = "") -> Markup:
    """A before/after value as a definition list with labelled keys (nested values nested), not JSON."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except ValueError:
            return escape(data)
    if data is None:
        return Markup("—")
    if not isinstance(data, dict):
        return _value("", data, target_type)
    if not data:
        return Markup("—")
    rows = Markup("").join(Markup('<dt class="col-sm-4">{}</dt><dd class="col-sm-8">{}</dd>').format(
        field_label(key), _value(key, value, target_type)) for key, value in data.items()
        if not (key.endswith("_ja") and key[:-3] in data))  # 「区分 運用費」 once, not twice
    return Markup('<dl class="row mb-1 audit-values">{}</dl>').format(rows)


def audit_target_id(target_type: str, target_id: str) -> str:
    """The target in words: a tenant's name beside its code, an agreement's document and version,
    a wave's fiscal year; other targets keep their number."""
    try:
        if target_type == "tenant":
            return tenant_label(target_id)
        if target_type == "agreement_version" and "/" in target_id:
            document, number = target_id.split("/", 1)
            name = _pick(DOCUMENT_LABELS[AgreementDocument(document)])
            return f"{name} 第{number}版" if ja() else f"{name} version {number}"
        if target_type == "wave" and target_id.startswith("FY"):
            return format_fiscal_year(int(target_id[2:]), locale())
        if target_type == "quota_override" and ":" in target_id:
            code, metric = target_id.split(":", 1)
            return f"{tenant_label(code)} {metric_label(metric)}"
        if target_type == "user":
            return "利用者" if ja() else "user"
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
    from core.outbox import STATUS_LABELS

    found = STATUS_LABELS.get(status)
    return (found[0] if ja() else found[1]) if found else status

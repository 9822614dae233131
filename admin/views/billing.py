"""Cost sharing in /admin (負担金): the year's page (runs, summary, trial balance), a run's page
with its review / approve / reverse buttons, printable statements with Excel and CSV downloads,
and read-only lists of cost items, policies, journal entries and accounts.

Reads follow ``billing.read`` (a municipal admin sees only their own tenant's statement and
entries); every change is a POST that calls a :mod:`billing.operations` use case, which audits
it, through the one POST path of admin/views/base.py. A refusal is shown as a message and changes
nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import unicodedata
import urllib.parse
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from flask import Response, abort, current_app, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext, lazy_gettext as _l
from flask_babel import gettext as _
from markupsafe import Markup, escape
from pydantic import ValidationError
from wtforms import DateField, Form, HiddenField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import TextInput

from admin import config
from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views import labels as words, operator_forms as forms, paging
from admin.views.base import SecureModelView, SecureView, apply_problems, confirm_first, post_action, with_problems_beside_fields
from billing import allocation, documents, ledger, operations, simulate, statements
from billing.errors import AllocationError
from billing.ledger_errors import BillingNotFound, InvalidBillingData
from billing.schemas import CostItemCreate, PaymentCreate, PolicyCreate, fraction_text
from governance import council
from governance.models import ChangeType
from governance.schemas import ProposalCreate, closing_moment
from billing.models import (
    CATEGORY_LABELS_EN,
    CATEGORY_LABELS_JA,
    ENTRY_KIND_LABELS_EN,
    ENTRY_KIND_LABELS_JA,
    POLICY_STATUS_LABELS_EN,
    POLICY_STATUS_LABELS_JA,
    RUN_STATUS_LABELS_EN,
    RUN_STATUS_LABELS_JA,
    TAX_LABELS_EN,
    TAX_LABELS_JA,
    Account,
    AllocationPolicy,
    CostCategory,
    CostItem,
    EntryKind,
    JournalEntry,
    PolicyStatus,
    Posting,
    RunStatus,
    TaxTreatment,
)
from core import authz
from core.calendar import (FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, fiscal_year_of,
                           is_supported_fiscal_year, to_jst, today_jst)
from core.errors import DomainError
from core.validation import problems_from
from tenancy.registry.models import Tenant, TenantKind, TenantStatus
from tenancy.registry.prefecture import get_settings
from tenancy.usage.models import METRICS

CATEGORY = _l("Cost sharing")


def _locale() -> str:
    return str(get_locale() or "ja")


def _ja() -> bool:
    return _locale() == "ja"


class ActionForm(Form):
    action = HiddenField()
    text = StringField()


class RunForm(Form):
    fiscal_year = StringField()


# The run actions that cannot be undone, and what the confirmation step says (msgids; frame.po).
_IRREVERSIBLE_RUN_ACTIONS = {
    "approve": ("Approve this allocation run?",
                "Approving posts the shares to the accounting ledger; it can be undone only by reversing entries.",
                "Approve and post to the ledger"),
    "reverse": ("Reverse this allocation run?",
                "Reversing posts entries that cancel every share this run posted to the ledger. A reversed run cannot "
                "be approved again; to charge the year again, compute a new run.",
                "Reverse with reversing entries"),
    "discard": ("Discard this allocation run?",
                "A discarded run cannot be reviewed or approved any more. Nothing is posted to the ledger; to charge "
                "the year, compute a new run.",
                "Discard the run"),
}


def _requested_year(default: int | None = None) -> int:
    """The year asked for (``?fy=2025``), else ``default`` (the latest year with data), else this year."""
    try:
        year = int(request.args.get("fy", ""))
        if is_supported_fiscal_year(year):
            return year
    except ValueError:
        pass
    return default or fiscal_year_of(today_jst())


def _download(data: bytes, mimetype: str, stem: str, label: str, extension: str) -> Response:
    response = Response(data, mimetype=mimetype)
    quoted = urllib.parse.quote(f"{label}.{extension}")
    response.headers["Content-Disposition"] = f"attachment; filename=\"{stem}.{extension}\"; filename*=UTF-8''{quoted}"
    return response


# --- forms of the finance office --------------------------------------------------------------------
# WTForms (not FlaskForm: CSRF is ours). A refused form comes back with what was typed and each
# problem beside its field (admin/templates/renkei/_forms.html), nothing written.

REQUIRED = _l("This field is required.")
_NUMBER = re.compile(r"\s*(\d+(?:\.\d{1,4})?)\s*%?\s*\Z")


class _Form(forms.RenkeiForm):
    """The finance office's forms: WTForms' own messages in the interface's words (「整数で入力してください。」)."""


def _normalise(text: str) -> str:
    # full-width digits, commas and the yen sign are what people type in Japanese offices
    return unicodedata.normalize("NFKC", text or "").replace(",", "").replace("円", "").replace("％", "%").strip()


class YenField(IntegerField):
    """Whole yen: 「1,200,000」「１２０００００円」 are read as 1200000 (a text box: a browser's number
    box refuses the commas and the yen sign)."""

    widget = TextInput()

    def process_formdata(self, valuelist):
        super().process_formdata([_normalise(value) for value in valuelist] if valuelist else valuelist)


def parse_percent(text: str | None) -> Fraction | None:
    """「33.33」「50%」 → the exact fraction 3333/10000, 1/2; blank → None; ValueError otherwise."""
    text = _normalise(text or "")
    if not text:
        return None
    match = _NUMBER.match(text)
    if not match:
        raise ValueError(text)
    value = Fraction(match.group(1)) / 100
    if value > 1:
        raise ValueError(text)
    return value


def _percent_problem() -> str:
    return _("Enter a percentage between 0 and 100 (up to four decimals), e.g. 33.33.")


def fiscal_year_choice_label(year: int) -> str:
    return f"{fiscal_year_ja(year)}（{year}年度）" if _ja() else f"FY{year}"


def _year_choices(*around: int | None) -> list[tuple[int, str]]:
    this_year = fiscal_year_of(today_jst())
    known = [year for year in around if year is not None] + [this_year]
    first, last = max(FIRST_FISCAL_YEAR, min(known) - 2), min(LAST_FISCAL_YEAR, max(known) + 3)
    return [(year, fiscal_year_choice_label(year)) for year in range(first, last + 1)]


def _category_choices():
    return [(c.value, CATEGORY_LABELS_JA[c] if _ja() else c.value.capitalize()) for c in CostCategory]


def _tax_choices():
    english = {TaxTreatment.taxable_10: "Taxable 10% (tax included)", TaxTreatment.taxable_8: "Taxable 8%, reduced rate",
               TaxTreatment.exempt: "Exempt", TaxTreatment.out_of_scope: "Out of scope"}
    return [(t.value, TAX_LABELS_JA[t] if _ja() else english[t]) for t in TaxTreatment]


def _metric_choices():
    return [(name, operations.metric_label_ja(name) if _ja() else metric.label_en) for name, metric in METRICS.items()]


class CostItemForm(_Form):
    fiscal_year = SelectField(_l("Fiscal year"), coerce=int, validators=[InputRequired(message=REQUIRED)])
    name = StringField(_l("Cost item"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    category = SelectField(_l("Category"), validators=[InputRequired(message=REQUIRED)])
    amount = YenField(_l("Amount (yen, tax included)"), validators=[InputRequired(message=REQUIRED),
                                                                  forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    tax_treatment = SelectField(_l("Tax treatment"), validators=[InputRequired(message=REQUIRED)])
    tax_amount = YenField(_l("Consumption tax contained (yen)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    vendor = StringField(_l("Vendor"), validators=[Length(max=200)])
    reference = StringField(_l("Reference (invoice number)"), validators=[Length(max=200)])
    amortisation_years = IntegerField(_l("Amortisation years"), default=1,
                                      validators=[InputRequired(message=REQUIRED), forms.InRange(min=1, max=30)])

    def __init__(self, formdata=None, **kwargs):
        super().__init__(formdata, **kwargs)
        self.fiscal_year.choices = _year_choices(self.fiscal_year.data if isinstance(self.fiscal_year.data, int) else None)
        self.category.choices = _category_choices()
        self.tax_treatment.choices = _tax_choices()

    def to_schema(self) -> CostItemCreate:
        data = {name: self[name].data for name in ("fiscal_year", "name", "category", "amount", "tax_treatment",
                                                   "tax_amount", "vendor", "reference", "amortisation_years")}
        data["vendor"], data["reference"] = data["vendor"] or "", data["reference"] or ""
        return _validated(CostItemCreate, data, {"amortisation": "amortisation_years", "tax_amount": "tax_amount"})


def _validated(schema, data: dict, by_type: dict[str, str]):
    """The domain's input model, or InvalidBillingData whose problems name the form's fields."""
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        problems = problems_from(error)
        for item, raw in zip(problems, error.errors(include_url=False)):
            if not raw["loc"]:
                item["field"] = by_type.get(raw["type"], "")
        raise InvalidBillingData("The form has problems; nothing was saved.",
                                 "入力内容に誤りがあります。保存していません。", problems=problems) from None


class PolicyForm(_Form):
    """An allocation policy in percentages: 均等割 %, 人口割 %, 利用割 % (with its metric) adding up
    to 100 %, the prefecture's share %, and an optional floor and cap in yen per municipality."""

    name = StringField(_l("Policy name"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Length(max=2000)])
    prefecture_share = StringField(_l("Prefecture's share (%)"), default="0")
    equal = StringField(_l("Equal part (%)"), default="50")
    population = StringField(_l("Population part (%)"), default="50")
    usage = StringField(_l("Usage part (%)"), default="0")
    usage_metric = SelectField(_l("Usage metric"))
    floor = YenField(_l("Floor per municipality (yen a year)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    cap = YenField(_l("Cap per municipality (yen a year)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    fiscal_year = SelectField(_l("Fiscal year of the preview"), coerce=int)
    members = SelectField(_l("Members in the preview"))

    def __init__(self, formdata=None, year: int | None = None, **kwargs):
        super().__init__(formdata, **kwargs)
        self.usage_metric.choices = _metric_choices()
        self.fiscal_year.choices = _year_choices(year)
        if formdata is None and year is not None:
            self.fiscal_year.data = year
        self.members.choices = _member_choices()
        self._fractions: dict[str, Fraction | None] = {}

    def validate(self, extra_validators=None) -> bool:
        valid = super().validate(extra_validators)
        parsed = True
        for name in ("prefecture_share", "equal", "population", "usage"):
            try:
                self._fractions[name] = parse_percent(self[name].data)
            except ValueError:
                self[name].errors = [*self[name].errors, _percent_problem()]
                valid = False
                parsed = parsed and name == "prefecture_share"  # the weights' total needs the three weights only
        if parsed:
            weights = [self._fractions[name] or 0 for name in ("equal", "population", "usage")]
            if sum(weights) != 1:
                total = operations.percent_text(sum(weights)) if sum(weights) else "0%"
                self.equal.errors = [*self.equal.errors, _(
                    "The equal, population and usage parts must add up to 100%% (now %(total)s).", total=total)]
                valid = False
            if self.floor.data is not None and self.cap.data is not None and self.floor.data > self.cap.data:
                self.cap.errors = [*self.cap.errors, _("The cap must not be below the floor.")]
                valid = False
        return valid

    def components(self) -> list[tuple[str, Fraction]]:
        parts = [(allocation.EQUAL, self._fractions.get("equal")), (allocation.POPULATION, self._fractions.get("population")),
                 (f"{allocation.USAGE_PREFIX}{self.usage_metric.data}", self._fractions.get("usage"))]
        return [(basis, weight) for basis, weight in parts if weight]

    def prefecture(self) -> Fraction | None:
        share = self._fractions.get("prefecture_share")
        return share if share else None

    def value(self) -> allocation.Policy:
        """The policy as the allocation's value (for the preview); InvalidBillingData if it cannot be."""
        try:
            return allocation.Policy(prefecture_share=self.prefecture(),
                                     components=tuple(allocation.Component(b, w) for b, w in self.components()),
                                     floor=self.floor.data, cap=self.cap.data)
        except AllocationError as error:
            raise InvalidBillingData(error.message_en, error.message_ja) from None

    def to_schema(self) -> PolicyCreate:
        share = self.prefecture()
        data = {"name": self.name.data, "description": self.description.data or "",
                "prefecture_share": fraction_text(share) if share is not None else None,
                "components": [{"basis": basis, "weight": fraction_text(weight)} for basis, weight in self.components()],
                "floor": self.floor.data, "cap": self.cap.data}
        return _validated(PolicyCreate, data, {})


def _member_choices():
    labels = operations.MEMBER_SETS_JA if _ja() else operations.MEMBER_SETS_EN
    return list(labels.items())


class PaymentForm(_Form):
    tenant_code = SelectField(_l("Paid by"), validators=[InputRequired(message=REQUIRED)])
    fiscal_year = SelectField(_l("Fiscal year"), coerce=int, validators=[InputRequired(message=REQUIRED)])
    amount = YenField(_l("Amount received (yen)"), validators=[InputRequired(message=REQUIRED), forms.InRange(min=1, max=10**15, unit=_l(" yen"))])
    received_on = DateField(_l("Received on"), validators=[InputRequired(message=REQUIRED)])
    reference = StringField(_l("Reference (bank statement)"), validators=[InputRequired(message=REQUIRED), Length(max=150)])

    def __init__(self, formdata=None, year: int | None = None, **kwargs):
        super().__init__(formdata, **kwargs)
        tenants = db.session.execute(sa.select(Tenant.code, Tenant.name_ja).order_by(Tenant.code)).all()
        self.tenant_code.choices = [("", _("Choose a tenant"))] + [(code, f"{code} {name}") for code, name in tenants]
        self.fiscal_year.choices = _year_choices(year)
        if formdata is None and year is not None:
            self.fiscal_year.data = year

    def to_schema(self) -> PaymentCreate:
        data = {"tenant_code": self.tenant_code.data, "fiscal_year": self.fiscal_year.data, "amount": self.amount.data,
                "received_on": self.received_on.data, "reference": self.reference.data}
        return _validated(PaymentCreate, data, {})


def _resolution_text(decision: operations.CouncilDecision) -> str:
    """A resolution in the picker: its number, the title voted on and the day it was decided
    (「令和7年度 協議会議決第3号「…」（2025/06/01 議決）」)."""
    day = to_jst(decision.decided_at).date()
    if _ja():
        return f"{decision.label_ja}「{decision.title}」（{day:%Y/%m/%d} 議決）"
    return f"{decision.label_en} “{decision.title}” (decided {day:%Y-%m-%d})"


class AdoptForm(_Form):
    """Adopting a policy: by a second finance officer, or on a council resolution picked from the list."""

    resolution_id = SelectField(_l("Council resolution that decided the adoption"), choices=[], validate_choice=False)

    def __init__(self, formdata=None, *, choices=(), policy_id: int | None = None, four_eyes: bool = True):
        super().__init__(formdata, prefix="")
        self.policy_id = policy_id
        alone = (_("None: I adopt it as a finance officer who did not draft it") if four_eyes
                 else _("None: I adopt it as a finance officer (one-person office)"))
        self.resolution_id.choices = [("", alone)] + [
            (str(decision.id), _resolution_text(decision)) for decision in choices]

    def value(self) -> int | None:
        """The picked resolution's id (``None``: none picked); a value not from the list is refused."""
        text = (self.resolution_id.data or "").strip()
        if not text:
            return None
        if not text.isdigit() or not 0 < int(text) < 2**31:
            raise InvalidBillingData("Pick a council resolution from the list.", "協議会の議決を一覧から選んでください。",
                                     problems=[{"field": "resolution_id", "message_en": "Pick one from the list.",
                                                "message_ja": "一覧から選んでください。"}])
        return int(text)


class ProposeForm(_Form):
    title = StringField(_l("Title of the proposal"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    closes_on = DateField(_l("Voting closes on (17:00)"), validators=[InputRequired(message=REQUIRED)])


def _four_eyes() -> bool:
    """Whether this office requires two people (:func:`admin.config.four_eyes`)."""
    return config.four_eyes(current_app.config)


def _account_names(code: str) -> tuple[str, str]:
    spec = ledger.standard_account(code)
    return (spec.name_ja, spec.name_en) if spec is not None else (code, code)


def account_label(code: str, name_ja: str, name_en: str, names: dict[str, str]) -> str:
    """An account in words: 「負担金未収金 熊本市（431001）」 rather than ``receivable:431001``."""
    if code.startswith(ledger.RECEIVABLE_PREFIX):
        tenant = code[len(ledger.RECEIVABLE_PREFIX):]
        name = names.get(tenant, "")
        return (f"負担金未収金 {name}（{tenant}）" if _ja() else f"Receivable from {name} ({tenant})").replace(" （", "（")
    return name_ja if _ja() else name_en


def _tenant_names() -> dict[str, str]:
    return dict(db.session.execute(sa.select(Tenant.code, Tenant.name_ja)).all())


def bar_chart(rows: list[tuple[str, int, int]], label_a: str, label_b: str, title: str) -> Markup:
    """A horizontal grouped bar chart (inline SVG, built here, no script): per payer A and B.

    The table beside it is the primary content; the chart has a title and a description saying
    what it shows, for screen readers (role="img").
    """
    top = max([max(a, b) for _name, a, b in rows] + [1])
    bar, gap, left, width = 12, 10, 150, 420
    height = len(rows) * (2 * bar + gap) + 40
    biggest = max(rows, key=lambda row: abs(row[2] - row[1]), default=None)
    description = _("Bars per payer: %(a)s and %(b)s.", a=label_a, b=label_b)
    if biggest is not None:
        description += " " + _("The largest difference is %(name)s: %(diff)s yen.", name=biggest[0],
                               diff=f"{biggest[2] - biggest[1]:+,}")
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="chart-title chart-desc" '
             f'width="{left + width + 120}" height="{height}" viewBox="0 0 {left + width + 120} {height}" class="what-if-chart">',
             f'<title id="chart-title">{escape(title)}</title><desc id="chart-desc">{escape(description)}</desc>',
             f'<rect x="{left}" y="4" width="12" height="12" fill="#1a4f9c"/><text x="{left + 16}" y="14" font-size="12">A: {escape(label_a)}</text>',
             f'<rect x="{left + 260}" y="4" width="12" height="12" fill="#8a4b00"/><text x="{left + 276}" y="14" font-size="12">B: {escape(label_b)}</text>']
    y = 30
    for name, a, b in rows:
        parts.append(f'<text x="{left - 6}" y="{y + bar + 4}" font-size="12" text-anchor="end">{escape(name)}</text>')
        for offset, amount, colour in ((0, a, "#1a4f9c"), (bar, b, "#8a4b00")):
            length = int(width * amount / top) if top else 0
            parts.append(f'<rect x="{left}" y="{y + offset}" width="{length}" height="{bar - 1}" fill="{colour}"/>')
            parts.append(f'<text x="{left + length + 4}" y="{y + offset + bar - 2}" font-size="10">{amount:,}</text>')
        y += 2 * bar + gap
    parts.append("</svg>")
    return Markup("".join(parts))


class BillingView(SecureView):
    """The year's page, a run's page and statements."""

    required_action = "billing.read"

    def _all(self) -> bool:
        return self.grant.all_tenants

    def _can_manage(self) -> bool:
        return authz.allowed(g.actor, "billing.manage")

    @expose("/")
    def index(self):
        latest = self._default_year()
        year = _requested_year(latest)
        context = {"year": year, "year_label": format_fiscal_year(year, _locale()), "all_tenants": self._all(),
                   "first_year": FIRST_FISCAL_YEAR, "last_year": LAST_FISCAL_YEAR, "year_choices": _year_choices(year, latest),
                   "can_manage": self._can_manage(), "can_compare": self._all(), "run_form": RunForm(),
                   "run_status": _run_status,
                   "year_label_of": lambda value: format_fiscal_year(value, _locale())}
        if self._all():
            cost_items = operations.list_cost_items(db.session, g.actor, year)
            names = _tenant_names()
            summary = statements.build_summary(db.session, g.actor, year)
            books = operations.trial_balance(db.session, g.actor, fiscal_year=year)
            # the statements and the trial balance hold a row per tenant: paged (50 a page), searched (?q=)
            search = paging.search_text()
            label = lambda row: account_label(row.code, row.name_ja, row.name_en, names)
            args = {key: value for key, value in request.args.items() if key in ("fy", "q", "page", "books_page")}
            context.update(
                search=search, summary_rows=paging.paginate(summary.rows, paging.page_number(), keep=lambda row: paging.matches(
                    search, row.tenant_code, row.tenant_name)),
                books_rows=paging.paginate(books.rows, paging.page_number("books_page"),
                                           keep=(lambda row: paging.matches(search, row.code, label(row))) if search else None),
                href=lambda name: lambda number: url_for(".index", **{**args, "fy": year, name: number}),
                runs=operations.list_runs(db.session, g.actor, year),
                summary=summary,
                books=books,
                cost_items=cost_items, cost_total=sum(item.amount for item in cost_items),
                locked=operations.posted_run(db.session, year),
                policy=operations.adopted_policy(db.session),
                describe=operations.describe_policy,
                category_label=lambda item: _category(None, None, item, "category"),
                tax_label=lambda item: _tax(None, None, item, "tax_treatment"),
                account=lambda row: account_label(row.code, row.name_ja, row.name_en, names),
            )
        else:
            codes = sorted(g.actor.tenant_codes)
            names = dict(db.session.query(Tenant.code, Tenant.name_ja).filter(Tenant.code.in_(codes)).all())
            context["own"] = [(code, names.get(code, code), operations.statement_years(db.session, g.actor, code))
                              for code in codes]
        return self.render("renkei/billing_index.html", **context)

    @expose("/runs/new", methods=("POST",))
    def new_run(self):
        form = RunForm(request.form)
        try:
            year = int((form.fiscal_year.data or "").strip())
        except ValueError:
            flash("年度は西暦の数字で入力してください（例: 2025）。" if _ja() else "Enter the fiscal year as a number, e.g. 2025.", "error")
            return redirect(url_for(".index"))

        def create_run():
            return operations.create_run(db.session, g.actor, year)

        return post_action(create_run,
                           saved=lambda run: f"按分計算 #{run.id} を作成しました。" if _ja() else f"Run #{run.id} computed.",
                           done=lambda run: redirect(url_for(".run", run_id=run.id)),
                           failed=lambda: redirect(url_for(".index", fy=year)))

    @expose("/runs/<int:run_id>/")
    def run(self, run_id: int):
        run = operations.read_run(db.session, g.actor, run_id)
        lines = operations.run_lines(db.session, run)
        snapshot = json.loads(run.snapshot_json)
        entries = ledger.postings(db.session, run_id=run.id)
        moves = operations.allowed_run_actions(run)
        four_eyes = _four_eyes()
        refusals = operations.four_eyes_refusals(run, g.actor) if four_eyes else {}
        shared = {line.tenant_code for line in lines}
        active_now = db.session.scalar(sa.select(sa.func.count()).select_from(Tenant).where(
            Tenant.status == TenantStatus.active, Tenant.kind != TenantKind.prefecture))
        # one row per tenant in each table: paged (50 a page) and searched by code or name (?q=)
        search = paging.search_text()
        names = _tenant_names()
        shown_lines = paging.paginate(lines, paging.page_number(), keep=lambda line: paging.matches(
            search, line.tenant_code, line.tenant_name))
        not_sharing = operations.not_sharing(db.session, run.fiscal_year, excluding=shared)
        shown_others = paging.paginate(not_sharing, paging.page_number("others_page"),
                                       keep=lambda item: paging.matches(search, item.code, item.name))

        def entry_matches(entry) -> bool:
            tenant = entry.tenant_code or (entry.account[len(ledger.RECEIVABLE_PREFIX):]
                                           if entry.account.startswith(ledger.RECEIVABLE_PREFIX) else None)
            return tenant is not None and paging.matches(search, tenant, names.get(tenant))

        shown_entries = paging.paginate(entries, paging.page_number("entries_page"),
                                        keep=entry_matches if search else None)
        args = {key: value for key, value in request.args.items() if key in ("q", "page", "entries_page", "others_page")}
        return self.render("renkei/billing_run.html", run=run, lines=shown_lines.items, snapshot=snapshot,
                           entries=shown_entries.items, shown_lines=shown_lines, shown_entries=shown_entries,
                           shown_others=shown_others, search=search,
                           href=lambda name: lambda number: url_for(".run", run_id=run.id, **{**args, name: number}),
                           four_eyes=four_eyes, refusals={name: (ja if _ja() else en) for name, (ja, en) in refusals.items()},
                           not_sharing=shown_others.items, not_sharing_count=len(not_sharing),
                           reason=lambda item: item.reason_ja if _ja() else item.reason_en,
                           municipalities=sum(1 for line in lines if not line.is_prefecture), active_now=active_now,
                           year_label=format_fiscal_year(run.fiscal_year, _locale()),
                           account=lambda code: account_label(code, *_account_names(code), names),
                           posted=RunStatus(run.status) == RunStatus.approved,
                           # every line's components, in first-seen order (the prefecture line has only its share)
                           components=list(dict.fromkeys(basis for line in lines for basis in json.loads(line.components_json))),
                           line_components=lambda line: json.loads(line.components_json),
                           basis_label=operations.basis_label_ja, moves=moves if self._can_manage() else [],
                           move_labels=operations.RUN_ACTION_LABELS_JA if _ja() else {name: name for name in moves},
                           form=ActionForm(), run_status=_run_status, kind_label=_kind_label,
                           date=lambda value: format_date(value, _locale()), **self._letters(run))

    def _letters(self, run) -> dict[str, Any]:
        """What the run page's letters section shows: how many are issued, and whether more can be."""
        settings = get_settings(db.session)
        days = settings.payment_days if settings is not None else 30
        return {"letters_issued": documents.issued_count(db.session, run.id), "settings_set": settings is not None,
                "can_manage": self._can_manage(), "can_issue": self._can_manage() and settings is not None,
                "default_due": (today_jst() + dt.timedelta(days=days)).isoformat()}

    @expose("/runs/<int:run_id>/act", methods=("POST",))
    def act(self, run_id: int):
        form = ActionForm(request.form)
        action, text = form.action.data, (form.text.data or "").strip()
        if action in _IRREVERSIBLE_RUN_ACTIONS and self._can_manage():  # others are refused by the operation
            title, consequence, label = _IRREVERSIBLE_RUN_ACTIONS[action]
            asked = confirm_first(self, title=gettext(title), consequence=gettext(consequence),
                                  confirm_label=gettext(label), back=url_for(".run", run_id=run_id))
            if asked is not None:
                return asked

        def act_on_run():
            if action == "review":
                operations.review_run(db.session, g.actor, run_id, text, four_eyes=_four_eyes())
            elif action == "approve":
                operations.approve_run(db.session, g.actor, run_id, four_eyes=_four_eyes())
            elif action == "reverse":
                operations.reverse_run(db.session, g.actor, run_id, text)
            elif action == "discard":
                operations.discard_run(db.session, g.actor, run_id)
            else:
                abort(400)

        return post_action(act_on_run, back=url_for(".run", run_id=run_id),
                           saved="按分計算を更新しました。" if _ja() else "Run updated.")

    # --- cost items ---------------------------------------------------------------------------------

    def _manage_only(self) -> None:
        if not self._can_manage():
            abort(403)

    @expose("/cost-items/new", methods=("GET", "POST"))
    def cost_item_new(self):
        self._manage_only()
        year = _requested_year()
        form = CostItemForm(request.form if request.method == "POST" else None,
                            **({} if request.method == "POST" else {"fiscal_year": year}))
        if request.method == "GET":
            return self._cost_item_page(form, None)
        if not form.validate():
            return self._cost_item_page(form, None)
        return post_action(
            with_problems_beside_fields(form, lambda: operations.create_cost_item(db.session, g.actor, form.to_schema())),
            saved=lambda items: _("Cost item %(name)s saved.", name=items[0].name),
            done=lambda items: redirect(url_for(".index", fy=items[0].fiscal_year)),
            failed=lambda: self._cost_item_page(form, None, refused=True))

    @expose("/cost-items/<int:item_id>/edit", methods=("GET", "POST"))
    def cost_item_edit(self, item_id: int):
        self._manage_only()
        item = db.session.get(CostItem, item_id)
        if item is None:
            abort(404)
        locked = operations.cost_item_locked(db.session, item)
        if request.method == "GET":
            form = CostItemForm(None, **operations.cost_item_input(db.session, item))
            return self._cost_item_page(form, item, locked)
        form = CostItemForm(request.form)
        if not form.validate():
            return self._cost_item_page(form, item, locked)
        return post_action(
            with_problems_beside_fields(form, lambda: operations.update_cost_item(db.session, g.actor, item_id, form.to_schema())),
            saved=lambda items: _("Cost item %(name)s saved.", name=items[0].name),
            done=lambda items: redirect(url_for(".index", fy=items[0].fiscal_year)),
            failed=lambda: self._cost_item_page(form, item, locked, refused=True))

    def _cost_item_page(self, form, item, locked=None, refused=False):
        status = 422 if refused or form.errors else 200
        group = operations.cost_item_group(db.session, item) if item is not None else []
        return self.render("renkei/billing_cost_item.html", form=form, item=item, locked=locked, group=group,
                           year_label=lambda year: format_fiscal_year(year, _locale())), status

    @expose("/cost-items/<int:item_id>/delete", methods=("POST",))
    def cost_item_delete(self, item_id: int):
        self._manage_only()
        item = db.session.get(CostItem, item_id)
        if item is None:
            abort(404)
        year, name = item.fiscal_year, item.name
        group = operations.cost_item_group(db.session, item)
        asked = confirm_first(
            self, title=_("Delete cost item %(name)s?", name=name),
            consequence=_("Deleting removes this cost line from %(years)s. Runs computed before cannot be approved "
                          "any more and must be computed again. The deletion is kept in the audit log.",
                          years="、".join(format_fiscal_year(member.fiscal_year, _locale()) for member in group)),
            confirm_label=_("Delete"), back=url_for(".index", fy=year))
        if asked is not None:
            return asked
        return post_action(lambda: operations.delete_cost_item(db.session, g.actor, item_id),
                           back=url_for(".index", fy=year), saved=_("Cost item %(name)s deleted.", name=name))

    # --- allocation policies: builder with a preview, adoption, the council -------------------------

    @expose("/policies/new", methods=("GET", "POST"))
    def policy_new(self):
        self._manage_only()
        year = self._default_year()
        if request.method == "GET":
            form = PolicyForm(None, year=year)
            adopted = operations.adopted_policy(db.session)
            if adopted is not None:
                _fill_policy_form(form, adopted)
            return self._policy_page(form)
        form = PolicyForm(request.form, year=year)
        previewing = request.form.get("intent") == "preview"
        valid = form.validate()
        if previewing:
            form.name.errors = []  # a preview needs no name yet
            valid = not form.errors
        if not valid:
            return self._policy_page(form)
        if previewing:
            return self._policy_page(form, preview=self._preview(form))
        return post_action(
            with_problems_beside_fields(form, lambda: operations.create_policy(db.session, g.actor, form.to_schema()),
                     {"components": "equal", "prefecture_share": "prefecture_share"}),
            saved=lambda policy: _("Policy %(name)s (version %(version)s) saved. Adopt it, or send it to the council.",
                                   name=policy.name, version=policy.version),
            done=lambda policy: redirect(url_for(".policies", _anchor=f"policy-{policy.id}")),
            failed=lambda: (self._policy_page(form)[0], 422))

    @expose("/policies/preview", methods=("POST",))
    def policy_preview(self):
        """The preview table alone (fetched by the builder's script); writes nothing."""
        self._manage_only()
        form = PolicyForm(request.form, year=self._default_year())
        form.validate()
        form.name.errors = []
        preview = self._preview(form) if not form.errors else None
        return self.render("renkei/billing_preview.html", form=form, preview=preview, fragment=True,
                           basis_label=_basis_label, yen=_yen_text, **_preview_context())

    def _preview(self, form):
        try:
            return operations.preview_allocation(db.session, g.actor, form.fiscal_year.data, form.value(),
                                                 form.members.data or "participating")
        except DomainError as error:
            apply_problems(form, error)
            form.form_errors.append(error.message_ja if _ja() else error.message_en)
            form.form_errors.extend(item["message_ja"] if _ja() else item["message_en"] for item in error.problems)
            return None

    def _policy_page(self, form, preview=None):
        return self.render("renkei/billing_policy_new.html", form=form, preview=preview, basis_label=_basis_label,
                           yen=_yen_text, **_preview_context()), (422 if form.errors or form.form_errors else 200)

    @expose("/policies/")
    def policies(self):
        return self._policies_page()

    def _policies_page(self, refused: AdoptForm | None = None):
        """The policies, each not adopted with its adoption form; ``refused``: the form that came back
        refused (what was picked, the problem beside the picker), the page then answering 422."""
        policies = operations.list_policies(db.session, g.actor)
        can_manage = self._can_manage()
        adopt_forms = {}
        if can_manage:
            waiting = [policy for policy in policies if PolicyStatus(policy.status) != PolicyStatus.adopted]
            choices = operations.resolution_choices(db.session, g.actor, waiting)
            for policy in waiting:
                form = AdoptForm(choices=choices[policy.id], policy_id=policy.id, four_eyes=_four_eyes())
                if refused is not None and refused.policy_id == policy.id:
                    picked = (refused.resolution_id.data or "").strip()
                    decision = operations.council_decision(db.session, int(picked)) if (
                        picked.isdigit() and 0 < int(picked) < 2**31) else None
                    if decision is not None and picked not in dict(form.resolution_id.choices):
                        # what was picked stays shown, though it cannot stand (the problem says why)
                        form.resolution_id.choices.append((picked, _resolution_text(decision)))
                    form.resolution_id.data, form.resolution_id.errors = picked, refused.resolution_id.errors
                adopt_forms[policy.id] = form
        page = self.render("renkei/billing_policies.html", policies=policies, describe=operations.describe_policy,
                           status_label=_policy_status_label, adopt_forms=adopt_forms, four_eyes=_four_eyes(),
                           drafted_by=lambda policy: operations.drafted_by(policy, g.actor),
                           resolution_text=lambda ref: operations.resolution_text(db.session, ref),
                           can_manage=can_manage, can_propose=authz.allowed(g.actor, "council.manage"),
                           can_compare=self._all(),  # the comparison shows every tenant's share
                           propose_form=_propose_form(None),
                           date=lambda value: format_date(value, _locale()))
        return (page, 422) if refused is not None else page

    @expose("/policies/<int:policy_id>/adopt", methods=("POST",))
    def policy_adopt(self, policy_id: int):
        form = AdoptForm(request.form, policy_id=policy_id)
        policy = operations.read_policy(db.session, g.actor, policy_id)

        def refused():
            return self._policies_page(refused=form)

        def adopt():
            return operations.adopt_policy(db.session, g.actor, policy_id, form.value(), four_eyes=_four_eyes())

        if self._can_manage():  # others are refused by the operation
            # what would be refused is said now, beside the picker, before the confirmation step
            checked = post_action(with_problems_beside_fields(
                form, lambda: operations.check_adoption(db.session, g.actor, policy_id, form.value(),
                                                        four_eyes=_four_eyes())),
                done=lambda _result: None, failed=refused)
            if checked is not None:
                return checked
            asked = confirm_first(
                self, title=_("Adopt %(name)s (version %(version)s)?", name=policy.name, version=policy.version),
                consequence=_("From now on every new allocation run uses this policy: %(words)s. The policy adopted "
                              "until now stops being used; runs already computed keep the policy they used.",
                              words=operations.describe_policy(policy)),
                confirm_label=_("Adopt"), back=url_for(".policies"))
            if asked is not None:
                return asked
        return post_action(with_problems_beside_fields(form, adopt), back=url_for(".policies"), failed=refused,
                           saved=_("Policy %(name)s (version %(version)s) adopted.", name=policy.name,
                                   version=policy.version))

    @expose("/policies/<int:policy_id>/propose", methods=("POST",))
    def policy_propose(self, policy_id: int):
        """The operator puts the policy to the council (a proposal to adopt it)."""

        policy = operations.read_policy(db.session, g.actor, policy_id)
        form = _propose_form(request.form)
        if not form.validate():
            flash(_("The proposal needs a title and a closing day."), "error")
            return redirect(url_for(".policies", _anchor=f"policy-{policy_id}"))

        def propose():
            data = ProposalCreate(title=form.title.data, description=operations.describe_policy(policy),
                                  change_type=ChangeType.adopt_allocation_policy, params={"policy_id": policy.id},
                                  closes_at=closing_moment(form.closes_on.data))
            return council.propose(db.session, g.actor, data)

        return post_action(propose, back=url_for(".policies", _anchor=f"policy-{policy_id}"),
                           saved=_("The proposal was sent to the council."),
                           done=lambda proposal: redirect(url_for("council.proposal", proposal_id=proposal.id)))

    # --- what if ------------------------------------------------------------------------------------

    @expose("/what-if")
    def what_if(self):
        operations.require_all_tenants(g.actor)
        year = _requested_year(self._default_year())
        policies = operations.list_policies(db.session, g.actor)
        adopted = operations.adopted_policy(db.session)
        default_id = str(adopted.id) if adopted else (str(policies[-1].id) if policies else "")
        choice = {key: request.args.get(key, default) for key, default in (
            ("a_policy", default_id), ("b_policy", default_id),
            ("a_members", "participating"), ("b_members", "with_applicants"))}
        by_id = {str(policy.id): policy for policy in policies}
        sides, problems = {}, []
        chosen = {side: by_id.get(choice[f"{side}_policy"]) for side in ("a", "b")}
        asked = [side for side, policy in chosen.items() if policy is not None]
        # both sides in one call: the year's municipalities are read once for the two allocations
        answers = dict(zip(asked, operations.preview_allocations(
            db.session, g.actor, year, [(chosen[side], choice[f"{side}_members"]) for side in asked])))
        for side in ("a", "b"):
            if chosen[side] is None:
                problems.append(_("Choose a policy for %(side)s.", side=side.upper()))
            elif isinstance(answers[side], DomainError):
                error = answers[side]
                problems.append(f"{side.upper()}: {error.message_ja if _ja() else error.message_en}")
            else:
                sides[side] = (chosen[side], answers[side])
        rows, chart, shown = [], None, None
        search = paging.search_text()
        if len(sides) == 2:
            (policy_a, a), (policy_b, b) = sides["a"], sides["b"]
            names = {**a.names, **b.names}
            for difference in simulate.compare(a.result, b.result):
                rows.append((difference.code, names.get(difference.code, ""), difference.a, difference.b,
                             difference.difference))
            label = lambda policy, preview: f"{policy.name} v{policy.version}・{preview.municipalities}団体" if _ja() \
                else f"{policy.name} v{policy.version}, {preview.municipalities} municipalities"
            # one row per payer: paged (50 a page) and searched by code or name; the chart shows the page's rows
            shown = paging.paginate(rows, paging.page_number(), keep=lambda row: paging.matches(search, row[0], row[1]))
            chart = bar_chart([(name or code, a_amount or 0, b_amount or 0)
                               for code, name, a_amount, b_amount, _d in shown.items],
                              label(policy_a, a), label(policy_b, b),
                              _("Shares in %(year)s, A and B", year=format_fiscal_year(year, _locale())))
        return self.render("renkei/billing_what_if.html", year=year, year_choices=_year_choices(year),
                           policies=policies, choice=choice, member_choices=_member_choices(), sides=sides,
                           rows=shown.items if shown else rows, shown=shown, search=search,
                           kept={key: value for key, value in choice.items()} | {"fy": year},
                           href=lambda number: url_for(".what_if", **{**request.args.to_dict(), "page": number}),
                           chart=chart, problems=problems, describe=operations.describe_policy,
                           year_label=format_fiscal_year(year, _locale()))

    # --- payments -----------------------------------------------------------------------------------

    @expose("/payments/new", methods=("GET", "POST"))
    def payment_new(self):
        self._manage_only()
        year = self._default_year()
        form = PaymentForm(request.form if request.method == "POST" else None, year=year)
        if request.method == "GET" or not form.validate():
            return self.render("renkei/billing_payment.html", form=form), (422 if form.errors else 200)
        return post_action(
            with_problems_beside_fields(form, lambda: operations.record_payment(db.session, g.actor, form.to_schema())),
            saved=lambda entry: _("Payment of %(amount)s yen recorded.", amount=f"{form.amount.data:,}"),
            done=lambda entry: redirect(url_for(".index", fy=form.fiscal_year.data)),
            failed=lambda: (self.render("renkei/billing_payment.html", form=form), 422))

    def _default_year(self) -> int:
        return operations.default_year(db.session, g.actor, fiscal_year_of(today_jst()))

    @expose("/statements/<code>/<int:fiscal_year>/")
    def statement(self, code: str, fiscal_year: int):
        try:
            letter = documents.letter(db.session, g.actor, code, fiscal_year)
        except BillingNotFound as error:
            # not posted yet (or no such tenant): say so inside the layout, with the years that have one
            known = db.session.scalar(sa.select(Tenant.id).where(Tenant.code == code)) is not None
            years = operations.statement_years(db.session, g.actor, code) if known else []
            return self.render("renkei/statement_missing.html", message=error.message_ja if _ja() else error.message_en,
                               code=code, years=years, year_label=lambda year: format_fiscal_year(year, _locale())), 404
        built = letter.statement
        return self.render("renkei/statement.html", statement=built, header_rows=statements._header_rows(built),
                           amount_rows=statements._amount_rows(built), letter=letter,
                           addressee=documents.addressee(built.tenant_name),
                           letter_rows=[row for row in documents.letter_rows(letter) if row[0] != "宛先"],
                           can_manage=self._can_manage())

    @expose("/statements/<code>/<int:fiscal_year>.<fmt>")
    def statement_file(self, code: str, fiscal_year: int, fmt: str):
        letter = documents.letter(db.session, g.actor, code, fiscal_year)
        built, rows = letter.statement, documents.letter_rows(letter)
        label = f"負担金通知_{built.tenant_name}_{built.era}"
        if fmt == "xlsx":
            return _download(statements.to_xlsx(built, rows), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             built.filename_stem, label, "xlsx")
        if fmt == "csv":
            return _download(statements.to_csv(built, rows), "text/csv", built.filename_stem, label, "csv")
        abort(404)

    @expose("/summary/<int:fiscal_year>.<fmt>")
    def summary_file(self, fiscal_year: int, fmt: str):
        built = statements.build_summary(db.session, g.actor, fiscal_year)
        label = f"負担金一覧_{fiscal_year_ja(fiscal_year)}"
        if fmt == "xlsx":
            return _download(statements.summary_to_xlsx(built),
                             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                             f"summary-FY{fiscal_year}", label, "xlsx")
        if fmt == "csv":
            return _download(statements.summary_to_csv(built), "text/csv", f"summary-FY{fiscal_year}", label, "csv")
        abort(404)


def _policy_status_label(status) -> str:
    status = PolicyStatus(status)
    return POLICY_STATUS_LABELS_JA[status] if _ja() else POLICY_STATUS_LABELS_EN[status]


def _basis_label(basis: str) -> str:
    if _ja():
        return operations.basis_label_ja(basis)
    metric = allocation.usage_metric(basis)
    return {"equal": "Equal part", "population": "Population part", "prefecture": "Prefecture"}.get(
        basis, f"Usage part ({metric})" if metric else basis)


def _yen_text(amount: int | None) -> str:
    return "" if amount is None else f"{amount:,}円"


def _fill_policy_form(form: "PolicyForm", policy: AllocationPolicy) -> None:
    """Start the builder from a stored policy (in percentages), as a new version of it."""
    form.name.data = policy.name
    form.description.data = policy.description
    share = operations.policy_value(policy).prefecture_share
    form.prefecture_share.data = _percent_number(share) if share else "0"
    form.equal.data = form.population.data = form.usage.data = "0"
    for basis, weight in operations.policy_components(policy):
        metric = allocation.usage_metric(basis)
        if metric is not None:
            form.usage.data, form.usage_metric.data = _percent_number(weight), metric
        elif basis in (allocation.EQUAL, allocation.POPULATION):
            form[basis].data = _percent_number(weight)
    form.floor.data, form.cap.data = policy.floor, policy.cap


def _percent_number(value: Fraction) -> str:
    text = operations.percent_text(value)
    return text[:-1] if text.endswith("%") else str(float(value * 100))


def _preview_context() -> dict[str, Any]:
    return {"preview_year_label": lambda year: format_fiscal_year(year, _locale()), "preview_ja": _ja()}


def _propose_form(formdata) -> "ProposeForm":
    form = ProposeForm(formdata)
    if formdata is None:
        form.closes_on.data = today_jst() + dt.timedelta(days=14)
    return form


def _run_status(status) -> str:
    status = RunStatus(status)
    return RUN_STATUS_LABELS_JA[status] if _ja() else RUN_STATUS_LABELS_EN[status]


def _kind_label(kind) -> str:
    kind = EntryKind(kind)
    return ENTRY_KIND_LABELS_JA[kind] if _ja() else ENTRY_KIND_LABELS_EN[kind]


# --- read-only lists ------------------------------------------------------------------------------

def _yen(view, context, model, name):
    value = getattr(model, name)
    return "" if value is None else f"{value:,}円"


def _fy(view, context, model, name):
    return format_fiscal_year(getattr(model, name), _locale())


def _category(view, context, model, name):
    category = CostCategory(model.category)
    return CATEGORY_LABELS_JA[category] if _ja() else CATEGORY_LABELS_EN[category]


def _tax(view, context, model, name):
    treatment = TaxTreatment(model.tax_treatment)
    return TAX_LABELS_JA[treatment] if _ja() else TAX_LABELS_EN[treatment]


def _policy_status(view, context, model, name):
    status = PolicyStatus(model.status)
    return POLICY_STATUS_LABELS_JA[status] if _ja() else POLICY_STATUS_LABELS_EN[status]


def _in_words(view, context, model, name):
    return operations.describe_policy(model)


def _entry_kind(view, context, model, name):
    return _kind_label(model.kind)


def _date(view, context, model, name):
    return format_date(getattr(model, name), _locale())


def _postings(view, context, model, name):
    rows = db.session.execute(
        sa.select(Account.code, Posting.amount).join(Account, Account.id == Posting.account_id)
        .where(Posting.entry_id == model.id).order_by(Posting.id)
    ).all()
    debit_ja, credit_ja = ("借方", "貸方") if _ja() else ("debit", "credit")
    return " / ".join(f"{debit_ja if amount > 0 else credit_ja} {words.account_label(code)} {abs(amount):,}円"
                      for code, amount in rows)


def _account(view, context, model, name):
    return words.account_label(model.code)


def _account_type(view, context, model, name):
    return words.account_type(model.type)


def _tenant(view, context, model, name):
    return words.tenant_label(model.tenant_code) if model.tenant_code else "—"


def _entry_status(view, context, model, name):
    posted = model.status == "posted"
    return ("計上済" if posted else "記帳中") if _ja() else ("Posted" if posted else "Being written")


class CostItemView(words.LabelledFilters, SecureModelView):
    required_action = "billing.read"
    filter_option_labels = {"category": lambda value: (CATEGORY_LABELS_JA if _ja() else CATEGORY_LABELS_EN)[CostCategory(value)]}
    column_list = ("fiscal_year", "name", "category", "amount", "tax_treatment", "tax_amount", "vendor", "reference",
                   "amortisation_index", "amortisation_years")
    column_filters = ("fiscal_year", "category")
    column_searchable_list = ("name", "vendor", "reference")
    column_default_sort = [("fiscal_year", True), ("id", False)]
    column_labels = {
        "fiscal_year": _l("Fiscal year"), "name": _l("Cost item"), "category": _l("Category"), "amount": _l("Amount"),
        "tax_treatment": _l("Tax treatment"), "tax_amount": _l("Consumption tax"), "vendor": _l("Vendor"),
        "reference": _l("Reference"), "amortisation_index": _l("Year of amortisation"),
        "amortisation_years": _l("Amortisation years"), "invoiced_amount": _l("Invoiced amount"),
        "created_at": _l("Registered"), "created_by": _l("Created by"),
    }
    # what a clerk reads; the row id and the link to the first year's row stay internal
    column_details_list = ("fiscal_year", "name", "category", "amount", "invoiced_amount", "tax_treatment",
                           "tax_amount", "vendor", "reference", "amortisation_index", "amortisation_years",
                           "created_at", "created_by")
    column_formatters = {"fiscal_year": _fy, "category": _category, "amount": _yen, "tax_treatment": _tax,
                         "tax_amount": _yen, "invoiced_amount": _yen, "created_at": _date}
    column_formatters_detail = column_formatters


class PolicyView(SecureModelView):
    required_action = "billing.read"
    column_list = ("name", "version", "status", "prefecture_share", "floor", "cap", "resolution_ref", "adopted_at")
    column_details_list = ("name", "version", "status", "prefecture_share", "components_json", "floor", "cap",
                           "resolution_ref", "adopted_at", "adopted_by", "description", "created_at", "created_by")
    column_default_sort = [("name", False), ("version", True)]
    column_labels = {
        "name": _l("Policy"), "version": _l("Version"), "status": _l("Status"), "prefecture_share": _l("In words"),
        "floor": _l("Floor"), "cap": _l("Cap"), "resolution_ref": _l("Council resolution"),
        "adopted_at": _l("Adopted"), "adopted_by": _l("Adopted by"), "components_json": _l("Components"),
        "description": _l("Description"), "created_at": _l("Registered"), "created_by": _l("Created by"),
    }
    column_formatters = {"status": _policy_status, "prefecture_share": _in_words, "floor": _yen, "cap": _yen,
                         "adopted_at": _date, "created_at": _date}
    # the components in words (均等割 50%・人口割 50%), never the stored JSON
    column_formatters_detail = {**column_formatters, "components_json": lambda view, context, model, name: "・".join(
        f"{_basis_label(basis)} {operations.percent_text(weight)}" for basis, weight in operations.policy_components(model))}


class JournalEntryView(words.LabelledFilters, SecureModelView):
    required_action = "billing.read"
    filter_option_labels = {"kind": _kind_label}
    tenant_code_column = "tenant_code"
    column_list = ("id", "occurred_on", "fiscal_year", "kind", "tenant_code", "description", "run_id", "reverses_id")
    column_details_list = ("id", "status", "occurred_on", "fiscal_year", "kind", "tenant_code",
                           "description", "run_id", "reverses_id", "postings", "created_at", "created_by")
    column_filters = ("fiscal_year", "kind", "tenant_code", "run_id")
    column_searchable_list = ("description", "idempotency_key", "tenant_code")
    column_default_sort = ("id", True)
    column_labels = {
        "id": _l("No."), "occurred_on": _l("Date"), "fiscal_year": _l("Fiscal year"), "kind": _l("Kind"),
        "tenant_code": _l("Tenant"), "description": _l("Description"), "run_id": _l("Allocation run"),
        "reverses_id": _l("Reverses entry"), "idempotency_key": _l("Idempotency key"), "status": _l("Status"),
        "postings": _l("Postings"), "created_at": _l("Registered"), "created_by": _l("Created by"),
    }
    column_formatters = {"fiscal_year": _fy, "kind": _entry_kind, "occurred_on": _date, "created_at": _date,
                         "tenant_code": _tenant}
    column_formatters_detail = {**column_formatters, "postings": _postings, "status": _entry_status}


class AccountView(SecureModelView):
    required_action = "billing.read"
    tenant_code_column = "tenant_code"
    column_list = ("code", "type", "balance")  # the account in words: 「未収金 431001 熊本市」
    column_details_list = ("code", "type", "tenant_code", "balance")  # the names are in the account's words
    column_default_sort = "code"
    column_labels = {"code": _l("Account"), "name_ja": _l("Name"), "type": _l("Type"), "tenant_code": _l("Tenant"),
                     "balance": _l("Balance")}
    column_formatters = {"balance": lambda view, context, model, name: f"{view.balance_of(model):,}円",
                         "code": _account, "type": _account_type, "tenant_code": _tenant}

    def get_list(self, *args, **kwargs):
        """The page's accounts, with their balances in one grouped query (not one per row)."""
        count, rows = super().get_list(*args, **kwargs)
        if kwargs.get("execute", True) and rows is not None:
            g.account_balances = ledger.balances(db.session, list(rows))
        return count, rows

    def balance_of(self, account: Account) -> int:
        known = getattr(g, "account_balances", {})
        return known[account.code] if account.code in known else ledger.balance(db.session, account.code)

    def get_query(self):
        query = super().get_query()
        if not self.grant.all_tenants:
            query = query.filter(Account.tenant_code.is_not(None))
        return query

    def get_count_query(self):
        query = super().get_count_query()
        if not self.grant.all_tenants:
            query = query.filter(Account.tenant_code.is_not(None))
        return query


def views(session):
    return [
        BillingView(name=_l("Cost sharing"), endpoint="billing", url="billing", category=CATEGORY),
        CostItemView(CostItem, session, name=_l("Cost items"), endpoint="billing_cost_items", url="billing/cost-items",
                     category=CATEGORY),
        PolicyView(AllocationPolicy, session, name=_l("Allocation policies"), endpoint="billing_policies",
                   url="billing/policies", category=CATEGORY),
        JournalEntryView(JournalEntry, session, name=_l("Journal"), endpoint="billing_journal", url="billing/journal",
                         category=CATEGORY),
        AccountView(Account, session, name=_l("Accounts"), endpoint="billing_accounts", url="billing/accounts",
                    category=CATEGORY),
    ]

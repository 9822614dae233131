"""The forms of the finance office's cost-sharing pages (admin/views/billing/__init__.py): cost items, the
policy builder, payments, adopting a policy and proposing one to the council, and the page
language they word their choices in.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from fractions import Fraction

import sqlalchemy as sa
from flask_babel import get_locale, lazy_gettext as _l
from flask_babel import gettext as _
from pydantic import ValidationError
from wtforms import BooleanField, DateField, IntegerField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional
from wtforms.widgets import TextInput

from admin.extensions import db
from admin.views import operator_forms as forms
from billing import allocation, allocation_policies, allocation_previews
from billing.errors import AllocationError
from billing.ledger_errors import InvalidBillingData
from billing.models import CostCategory, GrantRounding, TaxTreatment
from billing.schemas import CostItemCreate, GrantCreate, GrantFix, PaymentCreate, PolicyCreate, fraction_text
from core.calendar import day_text, to_jst, today_jst
from core.errors import problem
from core.validation import field_path, messages_of, whole_number
from tenancy.registry.models import Tenant
from usage.models import METRICS


def _locale() -> str:
    return str(get_locale() or "ja")


def _ja() -> bool:
    return _locale() == "ja"


# --- forms of the finance office --------------------------------------------------------------------
# WTForms (not FlaskForm: CSRF is ours). A refused form comes back with what was typed and each
# problem beside its field (admin/templates/renkei/_forms.html), nothing written.

REQUIRED = forms.REQUIRED
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


# the fiscal-year picker is shared with the other yearly pages (admin/views/operator_forms.py)
fiscal_year_choice_label, _year_choices = forms.fiscal_year_choice_label, forms.fiscal_year_choices


def _category_choices():
    return [(c.value, c.ja if _ja() else c.en) for c in CostCategory]


def _tax_choices():
    return [(t.value, t.ja if _ja() else t.en) for t in TaxTreatment]


def _metric_choices():
    return [(name, allocation_policies.metric_label_ja(name) if _ja() else metric.label_en) for name, metric in METRICS.items()]


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


class GrantForm(_Form):
    """A grant of a year (交付金): the rate as people write it (「1/2」「50%」), the costs it covers
    (categories and single cost items of the year, ticked), the applied and decided amounts."""

    fiscal_year = SelectField(_l("Fiscal year"), coerce=int, validators=[InputRequired(message=REQUIRED)])
    name = StringField(_l("Grant"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    grantor = StringField(_l("Grantor"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    rate = StringField(_l("Grant rate"), validators=[InputRequired(message=REQUIRED), Length(max=20)])
    categories = forms.CheckboxListField(_l("Eligible cost categories"), choices=[], validate_choice=False)
    item_ids = forms.CheckboxListField(_l("Eligible cost items"), choices=[], coerce=int, validate_choice=False)
    applied_amount = YenField(_l("Applied amount (yen)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    decided_amount = YenField(_l("Decided amount (yen)"), validators=[Optional(), forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    decided_on = DateField(_l("Date of the decision"), validators=[Optional()])
    decision_reference = StringField(_l("Number of the decision notice"), validators=[Length(max=200)])
    rounding = SelectField(_l("Rounding of the grant amount"), default=GrantRounding.yen.value, validators=[Optional()])
    fixed_amount_authoritative = BooleanField(_l("The notice of the fixed amount decides the grant"))

    def __init__(self, formdata=None, items=(), **kwargs):
        super().__init__(formdata, **kwargs)
        self.fiscal_year.choices = _year_choices(self.fiscal_year.data if isinstance(self.fiscal_year.data, int) else None)
        self.rounding.choices = [(rounding.value, rounding.ja if _ja() else rounding.en) for rounding in GrantRounding]
        self.categories.choices = _category_choices()
        self.item_ids.choices = [(item.id, f"{item.name}（{item.amount:,}円）") for item in items]

    def to_schema(self) -> GrantCreate:
        data = {name: self[name].data for name in ("fiscal_year", "name", "grantor", "applied_amount", "decided_amount",
                                                   "decided_on", "categories", "item_ids", "rounding",
                                                   "fixed_amount_authoritative")}
        data["rounding"] = data["rounding"] or GrantRounding.yen.value  # a form sent without the picker: as before
        data["fixed_amount_authoritative"] = bool(data["fixed_amount_authoritative"])
        data["rate"] = _normalise(self.rate.data or "")
        data["decision_reference"] = self.decision_reference.data or ""
        data["categories"], data["item_ids"] = data["categories"] or [], data["item_ids"] or []
        return _validated(GrantCreate, data, {"grant_rate": "rate", "grant_costs": "categories",
                                              "grant_decision": "decided_amount"})


class GrantFixForm(_Form):
    """The grant's fixed amount (額の確定) and its date."""

    fixed_amount = YenField(_l("Fixed amount (yen)"), validators=[InputRequired(message=REQUIRED),
                                                                 forms.InRange(min=0, max=10**15, unit=_l(" yen"))])
    fixed_on = DateField(_l("Date the amount was fixed"), validators=[InputRequired(message=REQUIRED)])

    def to_schema(self) -> GrantFix:
        return _validated(GrantFix, {"fixed_amount": self.fixed_amount.data, "fixed_on": self.fixed_on.data}, {})


def _validated(schema, data: dict, by_type: dict[str, str]):
    """The domain's input model, or InvalidBillingData whose problems name the form's fields."""
    try:
        return schema.model_validate(data)
    except ValidationError as error:
        problems = [problem(field_path(raw["loc"]) if raw["loc"] else by_type.get(raw["type"], ""), *messages_of(raw))
                    for raw in error.errors(include_url=False)]
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
                total = allocation_policies.percent_text(sum(weights)) if sum(weights) else "0%"
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
    labels = allocation_previews.MEMBER_SETS_JA if _ja() else allocation_previews.MEMBER_SETS_EN
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


def _resolution_text(decision: allocation_policies.CouncilDecision) -> str:
    """A resolution in the picker: its number, the title voted on and the day it was decided
    (「令和7年度 協議会議決第3号「…」（2025/06/01 議決）」)."""
    day = to_jst(decision.decided_at).date()
    if _ja():
        return f"{decision.label_ja}「{decision.title}」（{day_text(day)} 議決）"
    return f"{decision.label_en} “{decision.title}” (decided {day_text(day)})"


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
        number = whole_number(text, max_digits=10)
        if number is None or not 0 < number < 2**31:
            raise InvalidBillingData("Pick a council resolution from the list.", "協議会の議決を一覧から選んでください。",
                                     problems=[{"field": "resolution_id", "message_en": "Pick one from the list.",
                                                "message_ja": "一覧から選んでください。"}])
        return number


class ProposeForm(_Form):
    title = StringField(_l("Title of the proposal"), validators=[InputRequired(message=REQUIRED), Length(max=200)])
    closes_on = DateField(_l("Voting closes on (17:00)"), validators=[InputRequired(message=REQUIRED)])


def _propose_form(formdata) -> ProposeForm:
    """The form that puts a matter to the council, closing in two weeks unless changed."""
    form = ProposeForm(formdata)
    if formdata is None:
        form.closes_on.data = today_jst() + dt.timedelta(days=14)
    return form

"""Forms of the operator's pages (council proposals, agreement drafts, quota plans and overrides,
notices), and the safe Markdown rendering of agreement texts.

Every form is a WTForms form whose built-in messages go through the interface's gettext, so a
refusal reads in the reader's language; pickers list names (never ids, codes alone or enum names).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask_babel import get_locale, get_translations, gettext, lazy_gettext as _l
from markupsafe import Markup, escape
from wtforms import (BooleanField, DateField, Form, IntegerField, SelectField, SelectMultipleField, StringField,
                     TextAreaField, widgets)
from wtforms.validators import InputRequired, Length, NumberRange, Optional, ValidationError

from core import safe_html
from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR, fiscal_year_ja, fiscal_year_of, today_jst
from usage.models import METRICS, Enforcement

REQUIRED = _l("This field is required.")  # an InputRequired's message on the operator's forms
HONEYPOT = "website"  # a field people never see or fill on a public form; a form that fills it is a robot's


def ja() -> bool:
    return str(get_locale() or "ja") == "ja"


def pick(pair: tuple[str, str]) -> str:
    return pair[0] if ja() else pair[1]


class _BabelTranslations:
    """WTForms' own messages ("Not a valid integer value.") through the interface's catalogue.

    The messages are returned translated but not formatted: WTForms formats them itself with its
    own mapping (``message % {"min": ..., "max": ..., "length": ...}``). Flask-Babel's ``ngettext``
    would format them first with ``num`` alone, and Length's 「%(max)d 文字以内」 then failed
    (``KeyError: 'max'``, a 500 for every over-long field)."""

    def gettext(self, string: str) -> str:
        return get_translations().ugettext(string)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        return get_translations().ungettext(singular, plural, n)


class RenkeiForm(Form):
    class Meta:
        def get_translations(self, form):
            return _BabelTranslations()


class InRange(NumberRange):
    """NumberRange whose refusal states the limits as people write them, with the unit:
    「0 から 1,000,000,000,000,000 円までの数を入力してください。」 (not 「数値は 0 以上, 1000000000000000 以下」)."""

    def __init__(self, min: int | None = None, max: int | None = None, unit: str = "") -> None:
        super().__init__(min=min, max=max)
        self.unit = unit

    def __call__(self, form, field) -> None:
        try:
            super().__call__(form, field)
        except ValidationError:
            low, high = (None if limit is None else f"{limit:,}" for limit in (self.min, self.max))
            unit = gettext(self.unit) if self.unit else ""
            if high is None:
                message = gettext("Enter a number of %(min)s%(unit)s or more.", min=low, unit=unit)
            elif low is None:
                message = gettext("Enter a number of at most %(max)s%(unit)s.", max=high, unit=unit)
            else:
                message = gettext("Enter a number from %(min)s to %(max)s%(unit)s.", min=low, max=high, unit=unit)
            raise ValidationError(message) from None


class QuickSelect(widgets.Select):
    """WTForms' ``<select>`` with the very same markup, each plain option written directly.

    A picker of every municipality holds 1,741 options at national size; WTForms builds each through ``html_params``
    (sorted keyword arguments, a ``Markup.format`` per attribute), about 60 µs an option: 110 ms of the meetings
    page. An option with its own attributes (``render_kw``) or arguments goes through WTForms' own code.
    """

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        label = escape(choice.label or choice.value)
        return Markup(f'<option{" selected" if choice.selected else ""} value="{escape(value)}">{label}</option>')


# every select field of the app's forms (WTForms' own classes, whoever imports them) draws its options this way
SelectField.widget = QuickSelect()
SelectMultipleField.widget = QuickSelect(multiple=True)


class CheckboxListField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


# --- the fiscal-year picker ------------------------------------------------------------------------------

def fiscal_year_choice_label(year: int) -> str:
    """「令和7年度（2025年度）」 in Japanese, ``FY2025`` in English: a picker's words for a fiscal year."""
    return f"{fiscal_year_ja(year)}（{year}年度）" if ja() else f"FY{year}"


def fiscal_year_choices(*around: int | None) -> list[tuple[int, str]]:
    """The fiscal years a picker offers: two before the earliest of ``around`` and this year, three after the latest."""
    this_year = fiscal_year_of(today_jst())
    known = [year for year in around if year is not None] + [this_year]
    first, last = max(FIRST_FISCAL_YEAR, min(known) - 2), min(LAST_FISCAL_YEAR, max(known) + 3)
    return [(year, fiscal_year_choice_label(year)) for year in range(first, last + 1)]


# --- safe Markdown ---------------------------------------------------------------------------------

def render_markdown(text: str) -> Markup:
    """Markdown to HTML for display, through the one sanitiser (:func:`core.safe_html.markdown`)."""
    return Markup(safe_html.markdown(text))


# --- quota limits ------------------------------------------------------------------------------------

def enforcement_choices() -> list[tuple[str, str]]:
    return [(e.value, pick(e.label)) for e in Enforcement]


def metric_label(name: str) -> str:
    metric = METRICS[name]
    return metric.label_ja if ja() else metric.label_en


def with_limit_fields(base: type[Form]) -> type[Form]:
    """``base`` with, for each metric, ``limit_<metric>`` (a whole number), ``enforcement_<metric>``
    and ``remove_<metric>`` (remove the limit)."""
    attrs: dict[str, Any] = {}
    for name in METRICS:
        label = metric_label(name)
        attrs[f"limit_{name}"] = IntegerField(label, validators=[Optional(), NumberRange(min=0, max=2**53, message=_l(
            "Enter a whole number of 0 or more."))])
        attrs[f"enforcement_{name}"] = SelectField(_l("When the limit is reached"), choices=enforcement_choices(),
                                                   default=Enforcement.soft.value)
        attrs[f"remove_{name}"] = BooleanField(_l("Remove this limit"))
    return type(base.__name__, (base,), attrs)


def limits_from(form: Form, thresholds: Mapping[str, Iterable[int]] | None = None) -> list[dict[str, Any]]:
    """The limits a form changes: a removed limit (None), or one with a number typed; blank leaves it as it is.
    ``thresholds`` keeps each metric's warning thresholds as they are set now."""
    thresholds = thresholds or {}
    limits: list[dict[str, Any]] = []
    for name in METRICS:
        if form[f"remove_{name}"].data:
            limits.append({"metric": name, "limit": None})
            continue
        value = form[f"limit_{name}"].data
        if value is None:
            continue
        spec = {"metric": name, "limit": value, "enforcement": form[f"enforcement_{name}"].data}
        if name in thresholds:
            spec["thresholds"] = list(thresholds[name])
        limits.append(spec)
    return limits


def limit_problem_fields(limits: list[dict[str, Any]], prefix: str = "") -> dict[str, str]:
    """Where a domain problem about ``limits[i]`` belongs on the form."""
    return {f"{prefix}limits[{index}]": f"limit_{spec['metric']}" for index, spec in enumerate(limits)}


def fill_limits(form: Form, limits: Mapping[str, Any]) -> None:
    """Put a plan's current limits (metric → row with ``limit`` and ``enforcement``) into an unsent form."""
    for name, row in limits.items():
        if name in METRICS:
            form[f"limit_{name}"].data = row.limit
            form[f"enforcement_{name}"].data = Enforcement(row.enforcement).value


# --- council proposals ---------------------------------------------------------------------------------

NEW_PLAN = "__new__"


class _ProposalBase(RenkeiForm):
    title = StringField(_l("Title"), validators=[InputRequired(message=_l("Enter a title.")), Length(max=200)])
    description = TextAreaField(_l("Reasons for the proposal"), validators=[Length(max=20_000)])
    change_type = SelectField(_l("Kind of proposal"), choices=[], validate_choice=False)
    policy_id = SelectField(_l("Allocation policy"), choices=[], validate_choice=False)
    agreement_version = SelectField(_l("Agreement version to publish"), choices=[], validate_choice=False)
    reacceptance_days = IntegerField(_l("Days active tenants have to accept"), default=30,
                                     validators=[Optional(), NumberRange(min=1, max=365, message=_l(
                                         "Enter a number of days from 1 to 365."))])
    tenant_code = SelectField(_l("Municipality to admit"), choices=[], validate_choice=False)
    plan_code = SelectField(_l("Quota plan"), choices=[], validate_choice=False)
    new_plan_code = StringField(_l("Code of the new plan"), validators=[Length(max=32)])
    plan_name_ja = StringField(_l("Name of the plan (Japanese)"), validators=[Length(max=100)])
    closes_on = DateField(_l("Voting closes on (17:00 JST)"),
                          validators=[InputRequired(message=_l("Choose the day voting closes."))])


def proposal_form_class() -> type[Form]:
    return with_limit_fields(_ProposalBase)


class AgreementDraftForm(RenkeiForm):
    title = StringField(_l("Title"), validators=[InputRequired(message=_l("Enter a title.")), Length(max=200)])
    effective_on = DateField(_l("Effective date"), validators=[InputRequired(message=_l("Choose the effective date."))])
    body_md = TextAreaField(_l("Text (Markdown)"), validators=[InputRequired(message=_l("Write the text."))])
    required = BooleanField(_l("Tenants must accept this version"), default=True)
    reacceptance_days = IntegerField(_l("Days active tenants have to accept"), default=30,
                                     validators=[Optional(), NumberRange(min=1, max=365, message=_l(
                                         "Enter a number of days from 1 to 365."))])


class _PlanBase(RenkeiForm):
    code = StringField(_l("Plan code"), validators=[Length(max=32)])
    name_ja = StringField(_l("Plan name (Japanese)"), validators=[InputRequired(message=_l("Enter the plan's name.")),
                                                             Length(max=100)])
    name_en = StringField(_l("Plan name (English)"), validators=[Length(max=100)])
    population_min = IntegerField(_l("Population from"), validators=[Optional(), NumberRange(min=0, message=_l(
        "Enter a whole number of 0 or more."))])
    population_max = IntegerField(_l("Population up to"), validators=[Optional(), NumberRange(min=0, message=_l(
        "Enter a whole number of 0 or more."))])


def plan_form_class() -> type[Form]:
    return with_limit_fields(_PlanBase)


class AssignPlanForm(RenkeiForm):
    plan_code = SelectField(_l("Quota plan"), choices=[], validate_choice=False)


class OverrideForm(RenkeiForm):
    metric = SelectField(_l("Metric"), choices=[], validate_choice=False)
    limit = IntegerField(_l("Limit"), validators=[InputRequired(message=_l("Enter the limit.")),
                                                  NumberRange(min=0, max=2**53, message=_l("Enter a whole number of 0 or more."))])
    enforcement = SelectField(_l("When the limit is reached"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Reason"), validators=[Length(max=2000)])


class NoticeForm(RenkeiForm):
    title = StringField(_l("Subject"), validators=[InputRequired(message=_l("Enter a subject.")), Length(max=200)])
    body = TextAreaField(_l("Message"), validators=[InputRequired(message=_l("Write the message.")), Length(max=20_000)])
    audience = SelectField(_l("Send to"), choices=[], validate_choice=False)
    tenant_codes = CheckboxListField(_l("Municipalities"), choices=[], validate_choice=False)
    to_members = BooleanField(_l("Also to every member organisation (companies, universities, groups)"))
    show_until = DateField(_l("Show on the home page until"), validators=[Optional()])

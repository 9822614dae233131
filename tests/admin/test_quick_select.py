"""The select fields' options drawn by admin.views.operator_forms.QuickSelect are exactly WTForms' own markup."""

from __future__ import annotations

import pytest
from wtforms import Form, SelectField, SelectMultipleField, widgets

from admin.views.operator_forms import QuickSelect

CHOICES = [("431001", "熊本市（431001）"), ("a&b", 'say "<hi>"'), ("", "（選んでください）"), ("x", ""),
           (True, "はい"), (7, "七"), ("r", "属性つき", {"data-note": "n", "disabled": True})]


@pytest.mark.parametrize("multiple", [False, True])
@pytest.mark.parametrize("data", [None, "a&b", ["431001", "x"], "True", 7])
def test_the_markup_is_wtforms_own(multiple, data):
    field_class = SelectMultipleField if multiple else SelectField

    class Ours(Form):
        pick = field_class(choices=CHOICES, validate_choice=False, widget=QuickSelect(multiple=multiple))

    class Theirs(Form):
        pick = field_class(choices=CHOICES, validate_choice=False, widget=widgets.Select(multiple=multiple))

    if multiple and not isinstance(data, list):
        data = [data] if data is not None else None
    elif not multiple and isinstance(data, list):
        data = data[0]
    ours, theirs = Ours(data={"pick": data}), Theirs(data={"pick": data})
    assert str(ours.pick(class_="form-control")) == str(theirs.pick(class_="form-control"))
    assert "selected" in str(ours.pick()) or data is None


def test_every_select_field_of_the_app_uses_it():
    assert isinstance(SelectField.widget, QuickSelect) and not SelectField.widget.multiple
    assert isinstance(SelectMultipleField.widget, QuickSelect) and SelectMultipleField.widget.multiple

"""One local-government code type for every input schema (core.validation.TenantCode)."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from core import codes
from core.validation import TenantCode, problems_from

CODE = TypeAdapter(TenantCode)


def test_a_code_with_the_right_check_digit_is_accepted():
    assert CODE.validate_python("431001") == "431001"
    assert CODE.validate_json('"430005"') == "430005"


@pytest.mark.parametrize("value,japanese", [
    ("431002", "検査数字"),  # the check digit of 43100 is 1
    ("43100", "6桁"),
    ("４３１００１", "6桁"),  # full-width digits are not a code
    (431001, "文字列"),  # a number loses leading zeros: refused, not converted
])
def test_anything_else_is_refused_in_japanese_too(value, japanese):
    with pytest.raises(ValidationError) as refused:
        CODE.validate_python(value)
    assert japanese in problems_from(refused.value)[0]["message_ja"]


def test_prefecture_codes_are_the_prefecture_number_000_and_the_check_digit():
    assert codes.is_prefecture("430005") and not codes.is_prefecture("431001")
    assert codes.is_well_formed("431002") and not codes.is_valid("431002")


def test_a_japanese_problem_states_the_limit_the_english_one_states():
    from typing import Annotated

    from pydantic import BaseModel, Field, ValidationError

    from core.validation import problems_from

    class Payment(BaseModel):
        amount: Annotated[int, Field(ge=1, le=10**15)]
        reference: Annotated[str, Field(max_length=150)]

    for data, expected in (({"amount": 0, "reference": "x"}, "1 以上の値を入力してください。"),
                           ({"amount": 10**16, "reference": "x"}, "1,000,000,000,000,000 以下の値を入力してください。"),
                           ({"amount": 5, "reference": "x" * 151}, "150 文字以内で入力してください。")):
        try:
            Payment.model_validate(data)
        except ValidationError as error:
            [found] = problems_from(error)
        assert found["message_ja"] == expected

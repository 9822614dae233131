"""What a service user ID (利用者ID, a consent's subject ID) may be: an identifier, never a way to reach or
name the person. The one home of the rule, applied wherever such an ID enters (a link at the desk, a link
code a service issues, the API's links, brokerage and consent records):

* **never personal contact data or a 個人番号**: an e-mail address (:data:`core.validation.EMAIL_PATTERN`,
  the platform's one e-mail rule), a Japanese phone number (10 digits from 0, or 11 from 050, 070, 080
  or 090, hyphens allowed: 096-328-2111, 090-1234-5678) or a 12-digit number whose last digit is the My
  Number check digit (:func:`core.codes.is_my_number_shaped`; the My Number Act forbids collecting it
  here). :func:`shape_problem` says which, in words;
* **the form its service declares** (:class:`residents.consent.models.DataService`'s ``user_id_pattern``,
  ``user_id_min_length``, ``user_id_max_length``). The defaults are the platform's own form (8 to 128 of
  ``A-Z a-z 0-9 . _ : @ -``), which every ID stored before the declaration met; a service narrows them
  to its own IDs (``^navi-user-[0-9]{4}$``). :func:`declared_form_problem` checks a value against them.
"""

from __future__ import annotations

import re
from typing import Any

from core.codes import is_my_number_shaped
from core.errors import Invalid, problem
from core.validation import email_problem

DEFAULT_PATTERN = r"^[A-Za-z0-9._:@-]+$"
DEFAULT_MIN_LENGTH, DEFAULT_MAX_LENGTH = 8, 128
PATTERN_MAX = 200  # a declared pattern's own length

_PHONE = re.compile(r"0[1-9][0-9]{8}|0[5789]0[0-9]{8}")


def shape_problem(value: str) -> tuple[str, str, str] | None:
    """(kind, English, Japanese) when ``value`` is an e-mail address, a phone number or a 個人番号, else None."""
    if "@" in value and email_problem("", value) is None:
        return ("email", f"{value} is an e-mail address, not a user ID: give the service's own identifier of the "
                         "person (an e-mail address reaches the person and changes).",
                f"「{value}」はメールアドレスです。利用者IDには、サービスが利用者に付けた識別子を入力してください"
                "（メールアドレスは本人に届く連絡先で、変わることもあります）。")
    digits = value.replace("-", "")
    if digits.isascii() and digits.isdigit():
        if is_my_number_shaped(digits):
            return ("my_number", "This identifier has the shape of an individual number (My Number), which may not be "
                                 "collected here: give the service's own identifier of the person.",
                    "この識別子は個人番号（マイナンバー）の形をしています（12桁で最後が検査用数字）。個人番号はここでは"
                    "収集できません。サービスが利用者に付けた識別子を入力してください。")
        if _PHONE.fullmatch(digits):
            return ("phone", f"{value} is a phone number, not a user ID: give the service's own identifier of the person.",
                    f"「{value}」は電話番号です。利用者IDには、サービスが利用者に付けた識別子を入力してください。")
    return None


def pattern_problem(pattern: str) -> tuple[str, str] | None:
    """Why ``pattern`` cannot be a service's declared form of its user IDs, or None."""
    if not pattern or len(pattern) > PATTERN_MAX:
        return (f"Give a pattern of 1 to {PATTERN_MAX} characters.", f"パターンは1〜{PATTERN_MAX}文字で入力してください。")
    try:
        re.compile(pattern)
    except re.error as error:
        return (f"The pattern is not a regular expression ({error.msg}).", f"パターンが正規表現として読めません（{error.msg}）。")
    return None


def declared_form_problem(service: Any, value: str) -> tuple[str, str] | None:
    """Why ``value`` is not of the form ``service`` declares for its user IDs (English, Japanese), or None."""
    low, high = service.user_id_min_length, service.user_id_max_length
    if not low <= len(value) <= high:
        return (f"The service's user IDs are {low} to {high} characters long; this one has {len(value)}.",
                f"このサービスの利用者IDは {low}〜{high} 文字です（入力は {len(value)} 文字）。")
    if re.fullmatch(service.user_id_pattern, value) is None:
        return (f"{value} is not of the form of the service's user IDs ({service.user_id_pattern}).",
                f"「{value}」はこのサービスの利用者IDの形式（{service.user_id_pattern}）に合いません。")
    return None


def check_user_id(service: Any, value: str, field: str = "service_user_id") -> None:
    """Refuse ``value`` as a user ID of ``service`` (:class:`core.errors.Invalid`, the problem on ``field``)."""
    found = shape_problem(value)
    words = found[1:] if found else declared_form_problem(service, value)
    if words is not None:
        raise Invalid("The user ID is not one this service gives.", "このサービスの利用者IDとして受け付けられません。",
                      problems=[problem(field, *words)])

"""Turning pydantic validation errors into the bilingual problem list renkei shows, and the
field types every input schema shares (:data:`TenantCode`)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Iterable

from pydantic import AfterValidator, Field, StrictInt, StrictStr, ValidationError, WithJsonSchema
from pydantic_core import PydanticCustomError

from core import codes
from core.errors import problem

_ASCII_WHOLE_NUMBER = re.compile(r"[0-9]+")


def whole_number(text: object, *, max_digits: int = 18) -> int | None:
    """A whole number written with ASCII digits only (at most ``max_digits`` of them), else None.

    The one reading of an integer that a person or a client typed (a query parameter, a form's
    field, a header). ``str.isdigit()`` is not it: it is true for "²", "³", "①" and other digits
    that ``int()`` then refuses (an error, which used to become a 500) or reads in a script nobody
    meant ("٣" is 3)."""
    if not isinstance(text, str) or len(text) > max_digits or not _ASCII_WHOLE_NUMBER.fullmatch(text):
        return None
    return int(text)


# Japanese for pydantic's built-in error types a clerk is likely to meet.
_JA = {
    "missing": "必須項目です。",
    "extra_forbidden": "この項目は受け付けていません。",
    "int_type": "整数で入力してください。",
    "int_parsing": "整数で入力してください。",
    "string_type": "文字列で入力してください。",
    "string_too_short": "入力してください。",
    "string_too_long": "長すぎます。",
    "string_pattern_mismatch": "使用できない文字が含まれています。",
    "greater_than": "正の数で入力してください。",
    "greater_than_equal": "値が小さすぎます。",
    "less_than_equal": "値が大きすぎます。",
    "enum": "選択肢にない値です。",
    "list_type": "一覧（配列）で入力してください。",
    "model_type": "オブジェクトで入力してください。",
    "dict_type": "オブジェクトで入力してください。",
    "too_long": "件数が多すぎます。",
    "bool_type": "true または false で入力してください。",
}
# The same messages with the limit the English one states (pydantic's ctx), as a clerk reads it.
_JA_WITH_LIMIT = {
    "greater_than_equal": ("ge", "{} 以上の値を入力してください。"),
    "greater_than": ("gt", "{} より大きい値を入力してください。"),
    "less_than_equal": ("le", "{} 以下の値を入力してください。"),
    "less_than": ("lt", "{} 未満の値を入力してください。"),
    "string_too_long": ("max_length", "{} 文字以内で入力してください。"),
    "too_long": ("max_length", "{} 件以内にしてください。"),
    "too_short": ("min_length", "{} 件以上にしてください。"),
}


def _limit_text(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _message_ja(item: dict[str, Any]) -> str:
    ctx = item.get("ctx") or {}
    if ctx.get("message_ja"):
        return ctx["message_ja"]
    key, template = _JA_WITH_LIMIT.get(item["type"], (None, None))
    if key is not None and key in ctx:
        return template.format(_limit_text(ctx[key]))
    return _JA.get(item["type"], "入力内容を確認してください。")


def _valid_code(value: str) -> str:
    issue = codes.code_problem(value)
    if issue:
        raise PydanticCustomError("tenant_code", issue[0], {"message_ja": issue[1]})
    return value


# A local government code in any input schema: six digits with the right check digit (core.codes).
TenantCode = Annotated[StrictStr, AfterValidator(_valid_code),
                       WithJsonSchema({"type": "string", "pattern": r"^[0-9]{6}$", "format": "jp-local-government-code",
                                       "description": "Local government code: 6 digits, the last a check digit "
                                                      "(JIS X 0402: the last digit of 11 minus the first five's "
                                                      "sum weighted 6,5,4,3,2, mod 11)"})]


def _valid_holder(value: str) -> str:
    issue = codes.corporate_number_problem(value) if len(value) == 13 else codes.code_problem(value)
    if issue:
        raise PydanticCustomError("tenant_code", issue[0], {"message_ja": issue[1]})
    return value


# Whoever holds accounts: a local government (6-digit code) or a member organisation (13-digit
# corporate number, tenancy/members); each with its check digit.
AccountHolderCode = Annotated[StrictStr, AfterValidator(_valid_holder),
                              WithJsonSchema({"type": "string", "pattern": r"^([0-9]{6}|[1-9][0-9]{12})$",
                                              "format": "jp-account-holder-code",
                                              "description": "Local government code (6 digits) or an organisation's "
                                                             "corporate number (13 digits), with its check digit"})]


# --- text people send: the one rule for characters renkei will store ------------------------------

# The characters renkei refuses to store, as inclusive code point ranges: the C0 controls but tab,
# LF and CR (PostgreSQL cannot store NUL; a control character breaks every Excel file the text is
# exported to), DEL and the C1 controls, and lone surrogates (not text; not encodable as UTF-8).
# This is the rule's one home: the regular expressions below, the JSON Schema the API's contract
# states, its wording, and the edge's byte-level pre-checks (admin/edge.py) are derived from it.
FORBIDDEN_CHARACTERS: tuple[tuple[int, int], ...] = (
    (0x00, 0x08), (0x0B, 0x0C), (0x0E, 0x1F), (0x7F, 0x9F), (0xD800, 0xDFFF))
SURROGATES = (0xD800, 0xDFFF)  # one of the ranges above
# Refused too in a single line of text (names, titles): tab, LF and CR, as a character class's inside.
_LINE_BREAK_CLASS = r"\t\n\r"


def _class_text(ranges: Iterable[tuple[int, int]]) -> str:
    """The inside of a regular expression's character class holding ``ranges``, in ``\\uXXXX``
    escapes (text that Python's ``re`` and a JSON Schema validator read alike)."""
    parts = []
    for low, high in ranges:
        first, last = f"\\u{low:04x}", f"\\u{high:04x}"
        parts.append(first if high == low else first + last if high == low + 1 else f"{first}-{last}")
    return "".join(parts)


_NOT_SURROGATES = [item for item in FORBIDDEN_CHARACTERS if item != SURROGATES]
_FORBIDDEN_TEXT = re.compile(f"[{_class_text(FORBIDDEN_CHARACTERS)}]")
_LINE_BREAKS = re.compile(f"[{_LINE_BREAK_CLASS}]")
# The same rule as JSON Schema (the API's contract states it on every string it takes,
# admin/api/contract.py): ``{"not": {"pattern": FORBIDDEN_TEXT_CLASS}}``, a string holding none of
# the class's characters. Lone surrogates are left out of the class (no regex engine of a JSON
# Schema validator can hold one; JSON text carries one only as an escape) and stated in words.
FORBIDDEN_TEXT_CLASS = f"[{_class_text(_NOT_SURROGATES)}]"
FORBIDDEN_SINGLE_LINE_CLASS = f"[{_class_text(_NOT_SURROGATES)}{_LINE_BREAK_CLASS}]"
STORABLE_TEXT_RULE = ("No NUL, control character ("
                      + ", ".join(f"U+{low:04X}" + (f"-U+{high:04X}" if high != low else "") for low, high in _NOT_SURROGATES)
                      + ") or lone surrogate")


def stated_text_rule(forbidden: str = FORBIDDEN_TEXT_CLASS) -> dict[str, Any]:
    """The JSON Schema keyword that states a text rule: no character of ``forbidden``."""
    return {"not": {"pattern": forbidden}}


class StatedInSchema:
    """Annotated metadata: JSON Schema keywords that state, in the field's schema, what its
    validators enforce (a validator in Python is invisible to the contract otherwise). ``computed``,
    if given, returns more keywords when the schema is built (e.g. an enum read from files)."""

    def __init__(self, computed: Any = None, **keywords: Any) -> None:
        self.computed, self.keywords = computed, keywords

    def __get_pydantic_json_schema__(self, core_schema: Any, handler: Any) -> dict[str, Any]:
        schema = handler(core_schema)
        schema.update(self.keywords)
        if self.computed is not None:
            schema.update(self.computed())
        return schema


# Stated beside :func:`single_line`: no control character, tab or line break.
SINGLE_LINE = StatedInSchema(**stated_text_rule(FORBIDDEN_SINGLE_LINE_CLASS))
# Stated beside ``strip_whitespace`` with ``min_length=1``: something other than white space.
NOT_BLANK = StatedInSchema(pattern=r"\S")
# An e-mail address as renkei's checks take one (email_problem: invitations, member applications,
# dataset contacts): one "@", something before it, a dot after it, no white space; at most EMAIL_MAX.
EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
EMAIL_MAX = 254
_EMAIL = re.compile(EMAIL_PATTERN)


def email_problem(field: str, value: str) -> dict[str, str] | None:
    """The problem of a required e-mail address ``value`` (missing, or not :data:`EMAIL_PATTERN`), or None."""
    if not value:
        return problem(field, "Enter an e-mail address.", "メールアドレスを入力してください。")
    if len(value) > EMAIL_MAX or not _EMAIL.match(value):
        return problem(field, f"{value} is not an e-mail address.", f"{value} はメールアドレスの形式ではありません。")
    return None


# An address on the web as renkei stores one (a dataset's distribution, a licence's text): http or https,
# no white space; its length is the field's own.
HTTP_URL_PATTERN = r"^https?://[^\s]+$"
_HTTP_URL = re.compile(HTTP_URL_PATTERN)


def http_url_problem(field: str, value: str, limit: int) -> dict[str, str] | None:
    """The problem of a web address ``value`` (not :data:`HTTP_URL_PATTERN`, longer than ``limit``, or
    holding a character that cannot be stored), or None."""
    if len(value) > limit or not _HTTP_URL.match(value):
        return problem(field, f"Enter an http(s) address of up to {limit} characters.",
                       f"http:// または https:// で始まるアドレスを {limit} 文字以内で入力してください。")
    bad = text_problem(value, single_line=True)
    return problem(field, *bad) if bad is not None else None


def text_field_problem(field: str, value: str, en: str, ja: str, limit: int, *, required: bool = False,
                       single_line: bool = True) -> dict[str, str] | None:
    """The problem of a form's text ``value`` named ``en``/``ja`` in messages: empty when ``required``,
    longer than ``limit`` characters, or holding a character :func:`text_problem` refuses; or None."""
    if not value:
        return problem(field, f"Enter the {en}.", f"{ja}を入力してください。") if required else None
    if len(value) > limit:
        return problem(field, f"The {en} is longer than {limit} characters.", f"{ja}は {limit} 文字以内にしてください。")
    bad = text_problem(value, single_line=single_line)
    return problem(field, *bad) if bad is not None else None


# The largest integers a column can hold: PostgreSQL integer (ids, counts) and bigint.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# The id of a row: every table's id column is an integer, from 1. A larger id names no row, and
# PostgreSQL refuses to compare one with the column, so every id field, in a body, a path or a query,
# states and checks this range (``Field(**ID_RANGE)`` where the value is not strict, e.g. a path's).
ID_RANGE: dict[str, int] = {"ge": 1, "le": INT32_MAX}
RowId = Annotated[StrictInt, Field(**ID_RANGE)]


def text_problem(value: str, *, single_line: bool = False) -> tuple[str, str] | None:
    """Why ``value`` cannot be stored as text, in English and Japanese, or None.

    Refused everywhere: NUL and other control characters (PostgreSQL cannot store NUL; a control
    character breaks every Excel file the text is exported to) and lone surrogates (not text).
    ``single_line`` (names, titles) also refuses tab and line breaks.
    """
    found = _FORBIDDEN_TEXT.search(value) or (_LINE_BREAKS.search(value) if single_line else None)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if "\ud800" <= char <= "\udfff":
        return (f"Contains an invalid character ({code}, a lone surrogate); send UTF-8 text.",
                f"不正な文字（{code}）が含まれています。UTF-8 の文字列で入力してください。")
    if char == "\x00":
        return ("Contains the NUL character (U+0000), which cannot be stored; remove it.",
                "NUL 文字（U+0000）が含まれているため保存できません。取り除いてください。")
    return (f"Contains a control character ({code}), which cannot be stored; remove it.",
            f"制御文字（{code}）が含まれているため保存できません。取り除いてください。")


def plain_text(value: str) -> str:
    """A pydantic AfterValidator: ``value`` if storable as text (:func:`text_problem`)."""
    issue = text_problem(value)
    if issue:
        raise PydanticCustomError("text_characters", issue[0], {"message_ja": issue[1]})
    return value


def single_line(value: str) -> str:
    """A pydantic AfterValidator: ``value`` if storable as a one-line name (:func:`text_problem`)."""
    issue = text_problem(value, single_line=True)
    if issue:
        raise PydanticCustomError("text_characters", issue[0], {"message_ja": issue[1]})
    return value


# Text stored from a schema: no NUL, control characters or lone surrogates (tab and line breaks kept).
PlainText = Annotated[StrictStr, AfterValidator(plain_text), StatedInSchema(**stated_text_rule())]
# A name or title: PlainText on one line.
SingleLineText = Annotated[StrictStr, AfterValidator(single_line), SINGLE_LINE]


def field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(body)"


def problems_from(error: ValidationError) -> list[dict[str, str]]:
    result = []
    for item in error.errors(include_url=False):
        result.append(problem(field_path(item["loc"]), item["msg"], _message_ja(item)))
    return result

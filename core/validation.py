"""Turning pydantic validation errors into the bilingual problem list renkei shows, and the
field types every input schema shares (:data:`TenantCode`)."""

from __future__ import annotations

import re
import unicodedata
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


# renkei's own words, in English and Japanese, for pydantic's built-in error types: a problem never
# carries pydantic's wording, its type names or a validator's repr (a memory address).
_WORDS = {
    "missing": ("Required.", "必須項目です。"),
    "extra_forbidden": ("Not a field of this request.", "この項目は受け付けていません。"),
    "int_type": ("Must be a whole number.", "整数で入力してください。"),
    "int_parsing": ("Must be a whole number.", "整数で入力してください。"),
    "int_from_float": ("Must be a whole number.", "整数で入力してください。"),
    "float_type": ("Must be a number.", "数値で入力してください。"),
    "float_parsing": ("Must be a number.", "数値で入力してください。"),
    "string_type": ("Must be text.", "文字列で入力してください。"),
    "string_too_short": ("Must not be empty.", "入力してください。"),
    "string_too_long": ("Too long.", "長すぎます。"),
    "string_pattern_mismatch": ("Holds characters or a form this field does not take.", "使用できない文字が含まれています。"),
    "greater_than": ("Must be a positive number.", "正の数で入力してください。"),
    "greater_than_equal": ("Too small.", "値が小さすぎます。"),
    "less_than_equal": ("Too large.", "値が大きすぎます。"),
    "less_than": ("Too large.", "値が大きすぎます。"),
    "enum": ("Not one of the choices.", "選択肢にない値です。"),
    "literal_error": ("Not one of the choices.", "選択肢にない値です。"),
    "list_type": ("Must be a list (a JSON array).", "一覧（配列）で入力してください。"),
    "set_type": ("Must be a list (a JSON array).", "一覧（配列）で入力してください。"),
    "model_type": ("Must be an object.", "オブジェクトで入力してください。"),
    "model_attributes_type": ("Must be an object.", "オブジェクトで入力してください。"),
    "dict_type": ("Must be an object.", "オブジェクトで入力してください。"),
    "too_long": ("Too many entries.", "件数が多すぎます。"),
    "too_short": ("Too few entries.", "件数が足りません。"),
    "bool_type": ("Must be true or false.", "true または false で入力してください。"),
    "none_required": ("Must be null.", "null を指定してください。"),
    "date_type": ("Must be a date written \"YYYY-MM-DD\".", "日付は \"YYYY-MM-DD\" の形式で入力してください。"),
    "date_from_datetime_parsing": ("Must be a date written \"YYYY-MM-DD\".", "日付は \"YYYY-MM-DD\" の形式で入力してください。"),
    "date_parsing": ("Must be a date written \"YYYY-MM-DD\".", "日付は \"YYYY-MM-DD\" の形式で入力してください。"),
    "datetime_type": ("Must be a date and time (ISO 8601).", "日時は ISO 8601 形式で入力してください。"),
    "datetime_parsing": ("Must be a date and time (ISO 8601).", "日時は ISO 8601 形式で入力してください。"),
    "datetime_from_date_parsing": ("Must be a date and time (ISO 8601).", "日時は ISO 8601 形式で入力してください。"),
    "uuid_type": ("Must be a UUID.", "UUID で入力してください。"),
    "uuid_parsing": ("Must be a UUID.", "UUID で入力してください。"),
    "url_parsing": ("Must be a web address.", "URL の形式で入力してください。"),
    "url_type": ("Must be a web address.", "URL の形式で入力してください。"),
    "url_scheme": ("Must be a web address starting http:// or https://.", "http:// または https:// で始まる URL を入力してください。"),
}
_OTHER = ("Check this value.", "入力内容を確認してください。")
# The same with the limit pydantic's context carries, as a clerk reads it.
_WITH_LIMIT = {
    "greater_than_equal": ("ge", "Must be {} or more.", "{} 以上の値を入力してください。"),
    "greater_than": ("gt", "Must be more than {}.", "{} より大きい値を入力してください。"),
    "less_than_equal": ("le", "Must be {} or less.", "{} 以下の値を入力してください。"),
    "less_than": ("lt", "Must be less than {}.", "{} 未満の値を入力してください。"),
    "string_too_long": ("max_length", "At most {} characters.", "{} 文字以内で入力してください。"),
    "string_too_short": ("min_length", "At least {} characters.", "{} 文字以上で入力してください。"),
    "too_long": ("max_length", "At most {} entries.", "{} 件以内にしてください。"),
    "too_short": ("min_length", "At least {} entries.", "{} 件以上にしてください。"),
}


def _limit_text(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)


def _kind(item: dict[str, Any]) -> str:
    """The error's type, a collection's length rule met by text read as the text's (pydantic applies
    a ``max_length`` outside a string's own constraints as a generic length check)."""
    kind = item["type"]
    if kind in ("too_long", "too_short") and isinstance(item.get("input"), str):
        return "string_" + kind
    return kind


def _choices(expected: str) -> list[str]:
    """The values of pydantic's ``expected`` ("'city', 'ward' or 'town'"), as the request writes them."""
    return [part.strip().strip("'") for part in re.split(r", | or ", expected) if part.strip()]


def messages_of(item: dict[str, Any]) -> tuple[str, str]:
    """One pydantic error in renkei's words (English, Japanese): a check of ours raised its own
    (``PydanticCustomError`` with ``message_ja``, a validator's ``ValueError``), pydantic's types
    have theirs above; none of pydantic's wording, type names or reprs reaches a person."""
    ctx = item.get("ctx") or {}
    if ctx.get("message_ja"):
        return item["msg"], ctx["message_ja"]
    kind = _kind(item)
    if kind == "value_error" and isinstance(ctx.get("error"), ValueError):
        return str(ctx["error"]), _OTHER[1]
    key, en, ja = _WITH_LIMIT.get(kind, (None, None, None))
    if key is not None and key in ctx:
        return en.format(_limit_text(ctx[key])), ja.format(_limit_text(ctx[key]))
    if kind in ("literal_error", "enum") and isinstance(ctx.get("expected"), str):
        choices = _choices(ctx["expected"])
        return f"Must be one of: {', '.join(choices)}.", f"{'、'.join(choices)} のいずれかを指定してください。"
    return _WORDS.get(kind, _OTHER)


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
# And Unicode's format characters (general category Cf, Unicode 14 as Python's unicodedata has it;
# tests/core/test_text_rule.py compares): invisible, and the bidirectional ones among them
# (U+202A-U+202E, U+2066-U+2069) reorder the text shown around them, so a name can read as another.
# Nothing a name or a title needs is among them (Japanese text uses none).
FORMAT_CHARACTERS: tuple[tuple[int, int], ...] = (
    (0x00AD, 0x00AD), (0x0600, 0x0605), (0x061C, 0x061C), (0x06DD, 0x06DD), (0x070F, 0x070F),
    (0x0890, 0x0891), (0x08E2, 0x08E2), (0x180E, 0x180E), (0x200B, 0x200F), (0x202A, 0x202E),
    (0x2060, 0x2064), (0x2066, 0x206F), (0xFEFF, 0xFEFF), (0xFFF9, 0xFFFB), (0x110BD, 0x110BD),
    (0x110CD, 0x110CD), (0x13430, 0x13438), (0x1BCA0, 0x1BCA3), (0x1D173, 0x1D17A), (0xE0001, 0xE0001),
    (0xE0020, 0xE007F))


def _escaped(code: int) -> str:
    """``code`` in a character class: ``\\uXXXX``, or the character itself beyond the BMP (four hex
    digits cannot name it; JSON carries it as UTF-8 and Python's ``re`` reads it as it is)."""
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class_text(ranges: Iterable[tuple[int, int]]) -> str:
    """The inside of a regular expression's character class holding ``ranges``, in ``\\uXXXX``
    escapes (text that Python's ``re`` and a JSON Schema validator read alike)."""
    parts = []
    for low, high in ranges:
        first, last = _escaped(low), _escaped(high)
        parts.append(first if high == low else first + last if high == low + 1 else f"{first}-{last}")
    return "".join(parts)


_NOT_SURROGATES = [item for item in FORBIDDEN_CHARACTERS if item != SURROGATES]
_FORBIDDEN_TEXT = re.compile(f"[{_class_text(FORBIDDEN_CHARACTERS)}]")
_SINGLE_LINE_CLASS = _LINE_BREAK_CLASS + _class_text(FORMAT_CHARACTERS)
_NOT_SINGLE_LINE = re.compile(f"[{_SINGLE_LINE_CLASS}]")
# The same rule as JSON Schema (the API's contract states it on every string it takes,
# admin/api/contract.py): ``{"not": {"pattern": FORBIDDEN_TEXT_CLASS}}``, a string holding none of
# the class's characters. Lone surrogates are left out of the class (no regex engine of a JSON
# Schema validator can hold one; JSON text carries one only as an escape) and stated in words.
FORBIDDEN_TEXT_CLASS = f"[{_class_text(_NOT_SURROGATES)}]"
FORBIDDEN_SINGLE_LINE_CLASS = f"[{_class_text(_NOT_SURROGATES)}{_SINGLE_LINE_CLASS}]"
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


# Stated beside :func:`single_line`: no control character, tab, line break or format character.
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


# RFC 3986 section 2: the characters a URI is written with (unreserved, reserved and "%" of a percent-encoding).
# Characters beyond ASCII are let through as an IRI writes them (RFC 3987: 日本語 paths on municipal sites); a
# space and a control character never are, in either.
_URI_ASCII = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~:/?#[]@!$&'()*+,;=%")
_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")


def _uri_character_problem(text: str) -> tuple[str, str] | None:
    """The first character a URL cannot carry as it is (a space, a control character, an ASCII one RFC 3986
    does not allow), named with its position; None when there is none."""
    for position, char in enumerate(text, start=1):
        if char.isspace():
            return (f"{text} has a space (character {position}); a URL has none: write a space as %20.",
                    f"「{text}」の {position} 文字目に空白があります。URL に空白は使えません（空白は %20 と書きます）。")
        if unicodedata.category(char) == "Cc":
            return (f"{text} has a control character (character {position}); a URL has none.",
                    f"「{text}」の {position} 文字目に制御文字があります。URL に制御文字は使えません。")
        if char.isascii() and char not in _URI_ASCII:
            return (f"{text} has {char} (character {position}), which a URL cannot carry (RFC 3986); write it "
                    f"percent-encoded.",
                    f"「{text}」の {position} 文字目の「{char}」は URL に使えない文字です（RFC 3986）。% で符号化してください。")
    return None


def uri_problem(text: str) -> tuple[str, str] | None:
    """Why ``text`` is not a URL as RFC 3986 writes it (English, Japanese), or None: the one home of the rule."""
    import rfc3986
    from rfc3986 import exceptions, validators

    if (wrong := _uri_character_problem(text)) is not None:
        return wrong
    if _PERCENT.search(text):
        return (f"{text} has a % that is not followed by two hexadecimal digits (RFC 3986).",
                f"「{text}」の % の後に16進数2桁がありません（RFC 3986）。")
    uri = rfc3986.uri_reference(text)
    if not uri.scheme:
        return (f"{text} has no scheme; write it in full (https://...).",
                f"「{text}」にスキームがありません。https:// から書いてください。")
    if uri.scheme.lower() in ("http", "https") and not uri.host:
        return (f"{text} has no host: an {uri.scheme} URL names one after // (https://www.example.jp/).",
                f"「{text}」にホスト名がありません。{uri.scheme} の URL は // の後にホスト名を書きます（https://www.example.jp/）。")
    try:
        validators.Validator().check_validity_of("scheme", "userinfo", "host", "port").validate(uri)
    except exceptions.ValidationError:
        return (f"{text} has a scheme, host or port that RFC 3986 does not allow.",
                f"「{text}」のスキーム・ホスト名・ポートが RFC 3986 に合いません。")
    return None


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
    ``single_line`` (names, titles) also refuses tab, line breaks and Unicode's format characters
    (:data:`FORMAT_CHARACTERS`: invisible; the bidirectional ones reorder the text shown).
    """
    found = _FORBIDDEN_TEXT.search(value) or (_NOT_SINGLE_LINE.search(value) if single_line else None)
    if found is None:
        return None
    char = found.group()
    code = f"U+{ord(char):04X}"
    if char not in "\t\n\r" and _NOT_SINGLE_LINE.fullmatch(char):
        return (f"Contains an invisible formatting character ({code}), which can make the text read as "
                "something else; remove it.",
                f"見えない書式制御文字（{code}）が含まれています。表示が変わるおそれがあるため取り除いてください。")
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


# The steps pydantic adds to an error's location inside a union (``function-after[...]``,
# ``constrained-str``, ``none``, ``str``): how it named the member tried, not a field.
_UNION_STEP = re.compile(r"(function-(after|before|wrap|plain)|constrained-[a-z]+|json-or-python|lax-or-strict|nullable|"
                         r"(str-|int-|float-)?enum|"
                         r"tagged-union|union|literal|is-instance|chain|list|dict|set|tuple|model|definition-ref)"
                         r"(\[.*\])?", re.DOTALL)
# (no field of renkei's is named so; "date" or "url" are field names)
_BARE_TYPES = frozenset({"none", "str", "int", "float", "bool"})


def _union_step(item: Any, first: bool) -> bool:
    if not isinstance(item, str) or first:
        return False
    return item in _BARE_TYPES or ("[" in item or "-" in item) and _UNION_STEP.fullmatch(item) is not None


def field_path(loc: tuple[Any, ...]) -> str:
    """The field an error is about, as a person names it: ``contacts[0].email`` (a union's member
    steps left out)."""
    parts: list[str] = []
    for index, item in enumerate(loc):
        if _union_step(item, index == 0):
            continue
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(body)"


def problems_from(error: ValidationError) -> list[dict[str, str]]:
    """The problems of a validation error in renkei's words (:func:`messages_of`), one per field and
    message: of a union such as ``X | None`` only the member that was meant (``X``'s refusal, not
    "must be null")."""
    items = error.errors(include_url=False)
    fields = [field_path(item["loc"]) for item in items]
    with_other = {field for field, item in zip(fields, items) if item["type"] != "none_required"}
    result: list[dict[str, str]] = []
    for field, item in zip(fields, items):
        if item["type"] == "none_required" and field in with_other:
            continue
        found = problem(field, *messages_of(item))
        if found not in result:
            result.append(found)
    return result

"""The edge of the REST API: every value a request carries is bounded and typed strictly here,
before any endpoint or operation sees it, so no hostile request reaches the database as a 500.

One mechanism for every endpoint (nothing per endpoint):

* **Path integers** (:class:`StrictIntConverter`, registered as Flask's ``int``): ASCII digits only
  (full-width digits are not ids) and at most 2^31-1 (PostgreSQL ``integer``); anything else
  matches no route, a 404 problem.
* **JSON bodies** (:func:`strict_loads`): duplicate keys, nesting deeper than
  :data:`MAX_JSON_DEPTH`, NaN/Infinity are refused (400); every string is checked with
  :func:`core.validation.text_problem` (no NUL, control character or lone surrogate) and every
  integer must fit a bigint column (422, naming the field). Every request reads JSON with it
  (:class:`StrictJson`, given by :meth:`StrictOpenAPI.request_context`), so ``request.get_json()``
  parses a body once, by these rules, and keeps the value. Body models are then validated in
  pydantic's strict JSON mode (:func:`body_model`): ``false`` is not a number and ``"7"`` is not
  an integer.
* **Query strings** (:func:`query_model`): a query value for an integer field must be ASCII
  digits within 2^31-1, a date field ``YYYY-MM-DD`` within the supported years
  (:mod:`core.calendar`), so ``?to=0`` and ``from=0001-01-01`` are refused naming the parameter;
  then the query model reads the values.
* **Text in addresses**: query names and values and the path follow the same text rule (422).
* **Bodies** (:class:`BodyLimit`, every route): a body larger than ``MAX_CONTENT_LENGTH`` is
  refused with 413 the moment that is known: at once when its ``Content-Length`` says so (whether
  or not the route reads it), and, for a body streamed without a length (chunked), as soon as the
  first byte past the limit arrives, not after reading the limit's worth and handing the route a
  cut-off body (Werkzeug's own limit stops at the limit, and a truncated JSON body then read as a
  misleading 400).

Every API operation is registered through :class:`StrictAPIBlueprint` (the app is a
:class:`StrictOpenAPI`): flask-openapi3's public ``create_view_func`` is overridden so that the
query and body models are read by :func:`query_model` and :func:`body_model`, and the library
reads the rest (path, headers) as before; a model's refusal goes through the app's
``validation_error_callback``, as the library's own.

The text and depth checks take a cheap path when the raw bytes prove they have nothing to find
(:func:`_may_hold_bad_value`, :func:`_surely_shallow`, :func:`_plain_address`). Each is derived
from the rule it stands for (:data:`core.validation.FORBIDDEN_CHARACTERS`, ``INT64_MAX``,
:data:`MAX_JSON_DEPTH`) and proved against the full check by a property test
(tests/admin/test_edge_fast_path.py): where it says "nothing to find", the full check finds nothing.
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from flask import Flask, abort, current_app, g, request
from flask_openapi3 import APIBlueprint, OpenAPI
from pydantic import ValidationError
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter, Rule
from werkzeug.routing import ValidationError as NotThisRoute

from core.calendar import FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR
from core.errors import problem
from core.validation import FORBIDDEN_CHARACTERS, INT32_MAX, INT64_MAX, field_path, text_problem

MAX_JSON_DEPTH = 32

_ASCII_INT = re.compile(r"-?[0-9]{1,19}")
_ISO_DATE = re.compile(r"([0-9]{4})-[0-9]{2}-[0-9]{2}")
_ISO_DATETIME = re.compile(r"([0-9]{4})-[0-9]{2}-[0-9]{2}[T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?")
# the last supported fiscal year ends in March of the next calendar year
FIRST_YEAR, LAST_YEAR = FIRST_FISCAL_YEAR, LAST_FISCAL_YEAR + 1


class StrictIntConverter(BaseConverter):
    """``<int:...>`` in every route: ASCII digits, 1..2^31-1 (a PostgreSQL ``integer`` id)."""

    regex = r"[0-9]{1,10}"
    weight = 50
    part_isolating = True

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 <= number <= INT32_MAX:
            raise NotThisRoute()  # no route matches: a 404
        return number

    def to_url(self, value: Any) -> str:
        return str(int(value))


class EdgeRefusal(HTTPException):
    """A request refused at the edge, carrying its problem+json response."""

    def __init__(self, status: int, detail_en: str, detail_ja: str, problems: list[dict[str, str]] | None = None):
        from admin.problems import problem_response

        super().__init__(response=problem_response(status, detail_en, detail_ja, problems))
        self.code = status


def _invalid(problems: list[dict[str, str]]) -> EdgeRefusal:
    return EdgeRefusal(422, "The request has invalid fields; nothing was changed. See errors.",
                       "入力内容に誤りがあります。変更は行っていません。errors を確認してください。", problems)


def _bad_json(field: str, message_en: str, message_ja: str) -> EdgeRefusal:
    return EdgeRefusal(400, f"The body is not acceptable JSON: {message_en}",
                       f"本文の JSON を受け付けられません：{message_ja}", [problem(field, message_en, message_ja)])


# --- JSON --------------------------------------------------------------------------------------------

_JSON_STRINGS = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


_ESCAPE = re.compile(rb"\\.", re.DOTALL)
_BRACKET_PAIR = re.compile(rb"\{\}|\[\]")
_NOT_QUOTE_OR_BRACKET = bytes(set(range(256)) - set(b'"[]{}'))


def _surely_shallow(raw: bytes) -> bool:
    """True when ``raw`` (as JSON) is at most :data:`MAX_JSON_DEPTH` deep, proved cheaply; False
    means "not proved" (then :func:`_too_deep` counts).

    Escapes are dropped (so ``\\"`` is no delimiter), then everything but quotes and brackets; the
    text between pairs of quotes (strings) goes; each pass of ``{}``/``[]`` removal peels one level
    of nesting, so a bracket sequence gone within MAX_JSON_DEPTH passes is no deeper than that."""
    if b"\\" in raw:
        raw = _ESCAPE.sub(b"", raw)
    marks = raw.translate(None, _NOT_QUOTE_OR_BRACKET)
    parts = marks.split(b'"')
    if len(parts) % 2 == 0:  # an unterminated string
        return False
    brackets = b"".join(parts[::2])
    for _ in range(MAX_JSON_DEPTH):
        if not brackets:
            return True
        peeled = _BRACKET_PAIR.sub(b"", brackets)
        if len(peeled) == len(brackets):  # unbalanced or mismatched: not valid JSON
            return False
        brackets = peeled
    return not brackets


def _too_deep(raw: bytes) -> bool:
    """Whether ``raw`` opens more than :data:`MAX_JSON_DEPTH` brackets at once outside its strings
    (the rule, counted; :func:`_surely_shallow` first)."""
    if _surely_shallow(raw):
        return False
    depth = 0
    for bracket in _JSON_BRACKETS.finditer(_JSON_STRINGS.sub(b'""', raw)):
        depth += 1 if bracket.group() in (b"[", b"{") else -1
        if depth > MAX_JSON_DEPTH:
            return True
    return False


class _DuplicateKey(ValueError):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result = dict(pairs)
    if len(result) == len(pairs):
        return result
    seen: set[str] = set()
    for key, _value in pairs:
        if key in seen:
            raise _DuplicateKey(key)
        seen.add(key)
    raise AssertionError("unreachable")  # pragma: no cover


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _field(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else (f"{path}.{key}" if path else str(key))


def _value_problems(value: Any, path: str, found: list[dict[str, str]]) -> None:
    """Every string (keys too) :func:`text_problem` refuses and every integer beyond a bigint in
    ``value``, appended to ``found`` naming its field (the full walk)."""
    if isinstance(value, str):
        issue = text_problem(value)
        if issue:
            found.append(problem(path or "(body)", *issue))
    elif isinstance(value, bool):
        return
    elif isinstance(value, int):
        if not -INT64_MAX <= value <= INT64_MAX:
            found.append(problem(path or "(body)", "The number is too large.", "数値が大きすぎます。"))
    elif isinstance(value, dict):
        for key, item in value.items():
            issue = text_problem(key)
            if issue:
                found.append(problem(_field(path, "(key)"), *issue))
            _value_problems(item, _field(path, key), found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _value_problems(item, _field(path, index), found)


def strict_loads(raw: bytes | str) -> Any:
    """``raw`` parsed as JSON, or :class:`EdgeRefusal` (400 for the shape, 422 for a value)."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if _too_deep(data):
        raise _bad_json("(body)", f"it is nested more than {MAX_JSON_DEPTH} levels deep.",
                        f"入れ子が {MAX_JSON_DEPTH} 段を超えています。")
    try:
        value = json.loads(data, object_pairs_hook=_no_duplicates, parse_constant=_no_constant)
    except _DuplicateKey as error:
        raise _bad_json(error.key, f"the key {error.key!r} appears twice.",
                        f"キー {error.key!r} が重複しています。") from None
    except RecursionError:  # belt and braces: the depth check comes first
        raise _bad_json("(body)", "it is nested too deeply.", "入れ子が深すぎます。") from None
    except (ValueError, UnicodeDecodeError) as error:
        where = f" (line {error.lineno}, column {error.colno})" if isinstance(error, json.JSONDecodeError) else ""
        raise EdgeRefusal(400, f"The body is not valid JSON{where}: {error}.",
                          f"本文が正しい JSON ではありません{where}。") from None
    if not _may_hold_bad_value(data):
        return value
    found: list[dict[str, Any]] = []
    _value_problems(value, "", found)
    if found:
        for item in found:  # a problem in an item of a list (a batch's events[3]) names the item's index too
            first = _FIRST_INDEX.match(item["field"])
            if first:
                item["index"] = int(first.group(1))
        raise _invalid(found)
    return value


_FIRST_INDEX = re.compile(r"^[^\[]*\[([0-9]+)\]")


class StrictJson:
    """A request's ``json_module`` (werkzeug's documented hook: an object with ``loads`` and
    ``dumps``): ``request.get_json()`` reads a body with :func:`strict_loads`, once, and the request
    keeps the value for every later reader (the body model, the CKAN actions)."""

    loads = staticmethod(strict_loads)
    dumps = staticmethod(json.dumps)


# --- the fast checks, derived from the text rule ------------------------------------------------------
#
# A refused character (core.validation.FORBIDDEN_CHARACTERS) reaches a parsed value only where the
# raw bytes write one: as its own UTF-8 bytes (json reads a lone surrogate written as bytes too:
# surrogatepass) or as a JSON escape. What can start such a writing, and a pattern that finds every
# one (a character's first two bytes, an escape's first three hex digits: a little more, never
# less), are computed here from the rule's ranges, so that changing the rule changes these checks.
# An integer beyond a bigint has at least as many digits in a row as INT64_MAX.

_SHORT_ESCAPES = {"b": 0x08, "f": 0x0C, "n": 0x0A, "r": 0x0D, "t": 0x09, '"': 0x22, "\\": 0x5C, "/": 0x2F}  # RFC 8259


def _refused(code_point: int) -> bool:
    return any(low <= code_point <= high for low, high in FORBIDDEN_CHARACTERS)


def _class(values: Iterable[int]) -> str:
    """A regular expression's character class of ``values`` (bytes, or code points below 256)."""
    return "[" + "".join(f"\\x{value:02x}" for value in sorted(set(values))) + "]"


def _hex_pattern(words: set[str]) -> str:
    """A pattern matching exactly ``words`` (lower-case hex digits, all of one length) in either
    case: a trie whose branches with the same rest share one character class."""
    if "" in words:
        return ""
    rests: dict[str, set[str]] = {}
    for first in sorted({word[0] for word in words}):
        rests.setdefault(_hex_pattern({word[1:] for word in words if word[0] == first}), set()).add(first)
    branches = []
    for rest, firsts in rests.items():
        either_case = "".join(sorted(firsts | {first.upper() for first in firsts}))
        branches.append((either_case if len(either_case) == 1 else f"[{either_case}]") + rest)
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


def _writings() -> tuple[set[int], bytes]:
    """The bytes that can start a writing of a refused character, and a pattern finding each
    writing: the character's first byte, or its first two (then the third is not looked at); or an
    escape: a short one (``\\b``) or ``\\u`` and the first three of its four hex digits."""
    code_points = [code_point for low, high in FORBIDDEN_CHARACTERS for code_point in range(low, high + 1)]
    single: set[int] = set()
    second_bytes: dict[int, set[int]] = {}
    for code_point in code_points:
        encoded = chr(code_point).encode("utf-8", "surrogatepass")
        if len(encoded) == 1:
            single.add(encoded[0])
        else:
            second_bytes.setdefault(encoded[0], set()).add(encoded[1])
    raw = ([_class(single)] if single else []) + [f"\\x{lead:02x}{_class(seconds)}"
                                                  for lead, seconds in sorted(second_bytes.items())]
    short = "".join(letter for letter, code_point in _SHORT_ESCAPES.items() if _refused(code_point))
    hex_escape = "u" + _hex_pattern({f"{code_point >> 4:03x}" for code_point in code_points})
    escape = "\\\\(?:" + (f"[{short}]|" if short else "") + hex_escape + ")"
    return single | set(second_bytes) | {ord("\\")}, "|".join([escape, *raw]).encode()


_STARTS, _WRITING = _writings()
_HARMLESS_BYTES = bytes(set(range(256)) - _STARTS)  # deleted by translate: what is left may need the pattern
_BAD_VALUE_SOURCE = re.compile(_WRITING)
_DIGITS_AS_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_LONG_DIGIT_RUN = b"0" * len(str(INT64_MAX))  # every integer of fewer digits fits a bigint
_UTF8 = ("utf-8", "utf-8-sig")  # what the patterns read; json also takes UTF-16 and UTF-32
# In an address: the same starting bytes but the backslash (PATH_INFO and QUERY_STRING carry the
# raw bytes as latin-1 text, the path already unquoted and decoded by werkzeug with replacement),
# and in the query what werkzeug decodes: "%" escapes, and "+" (a space) should the rule ever
# refuse a space.
_MAY_WRITE_IN_PATH = re.compile(_class(_STARTS - {ord("\\")}))
_MAY_WRITE_IN_QUERY = re.compile(_class(_STARTS - {ord("\\")} | {ord("%")} | ({ord("+")} if _refused(0x20) else set())))


def _may_hold_bad_value(data: bytes) -> bool:
    """False when no string in ``data`` can hold a character :func:`text_problem` refuses and no
    integer can exceed a bigint, so :func:`_value_problems` would find nothing (two translations
    and a substring search; the pattern only runs if a byte that can start a writing occurs)."""
    if json.detect_encoding(data) not in _UTF8:
        return True
    if data.translate(None, _HARMLESS_BYTES) and _BAD_VALUE_SOURCE.search(data):
        return True
    return _LONG_DIGIT_RUN in data.translate(_DIGITS_AS_ZERO)


def _plain_address(environ: dict[str, Any]) -> bool:
    """True when the path and the query string, as werkzeug decodes them, cannot hold a refused
    character, so :func:`check_request_text` would find nothing: the query is ASCII (other bytes
    may be no UTF-8, which only the full check reads) and neither holds a byte that can start one."""
    query = environ.get("QUERY_STRING", "")
    return (_MAY_WRITE_IN_PATH.search(environ.get("PATH_INFO", "")) is None
            and query.isascii() and _MAY_WRITE_IN_QUERY.search(query) is None)


def check_request_text() -> None:
    """Query names and values and the path: no NUL, control character or lone surrogate (422). (A
    query string that is no UTF-8 text never gets here: :class:`BodyLimit` sets it aside.)"""
    found: list[dict[str, str]] = []
    for key, value in request.args.items(multi=True):
        issue = text_problem(key) or text_problem(value)
        if issue:
            found.append(problem(key if not text_problem(key) else "(query)", *issue))
    issue = text_problem(request.path)
    if issue:
        found.append(problem("(path)", *issue))
    if found:
        raise _invalid(found)


# --- query strings -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class _QueryField:
    key: str  # the name in the query string (the field's alias, if it has one)
    many: bool  # a list: every value of the name; else the first
    kinds: frozenset[str]  # integer, date, date-time: values checked strictly (:func:`_query_value_problem`)


_QUERY_FIELDS: dict[type, tuple[_QueryField, ...]] = {}


def _kinds(schema: dict[str, Any]) -> set[str]:
    """``integer``, ``date`` or ``date-time`` for a query field's JSON schema (optional or list too)."""
    kinds: set[str] = set()
    for part in [schema, *schema.get("anyOf", []), schema.get("items") or {}]:
        if part.get("type") == "integer":
            kinds.add("integer")
        if part.get("format") in ("date", "date-time"):
            kinds.add(part["format"])
        if part.get("type") == "array" and part is not schema:
            kinds |= _kinds(part)
    return kinds


def _query_fields(model: Any) -> tuple[_QueryField, ...]:
    """How ``model``'s fields are read from a query string, worked out once per model."""
    fields = _QUERY_FIELDS.get(model)
    if fields is None:
        properties = model.model_json_schema().get("properties", {})
        fields = []
        for name, info in model.model_fields.items():
            key = info.alias or name
            schema = properties.get(key, {})
            many = schema.get("type") == "array" or any(part.get("type") == "array" for part in schema.get("anyOf", []))
            fields.append(_QueryField(key, many, frozenset(_kinds(schema))))
        fields = _QUERY_FIELDS[model] = tuple(fields)
    return fields


def _query_value_problem(value: str, kinds: frozenset[str]) -> tuple[str, str] | None:
    if "integer" in kinds:
        if not _ASCII_INT.fullmatch(value) or abs(int(value)) > INT32_MAX:
            return (f"Must be a whole number in half-width digits, at most {INT32_MAX}.",
                    f"半角数字の整数（{INT32_MAX} 以下）で入力してください。")
        return None
    if "date" in kinds or "date-time" in kinds:
        pattern = _ISO_DATE if "date" in kinds else _ISO_DATETIME
        match = pattern.fullmatch(value)
        if not match:
            return ("Must be a date written YYYY-MM-DD.", "日付は YYYY-MM-DD の形式で入力してください。")
        if not FIRST_YEAR <= int(match.group(1)) <= LAST_YEAR:
            return (f"Must be a date from {FIRST_YEAR} to {LAST_YEAR}.",
                    f"{FIRST_YEAR} 年から {LAST_YEAR} 年までの日付を入力してください。")
    return None


def check_query(model: Any) -> None:
    """Refuse (422, naming the parameter) query values the ``model`` would read loosely."""
    found: list[dict[str, str]] = []
    for field in _query_fields(model):
        for value in request.args.getlist(field.key) if field.kinds else ():
            issue = _query_value_problem(value, field.kinds)
            if issue:
                found.append(problem(field.key, *issue))
                break
    if found:
        raise _invalid(found)


def query_values(model: Any, args: Any) -> dict[str, Any]:
    """The query string (``args``, a werkzeug ``MultiDict``) as ``model`` reads it: a list field
    takes every value of its name, any other field the first; any other name is passed on with
    its first value, for the model to refuse or ignore."""
    values: dict[str, Any] = {}
    for field in _query_fields(model):
        found = args.getlist(field.key)
        if found:
            values[field.key] = found if field.many else found[0]
    for key, value in args.items():
        values.setdefault(key, value)
    return values


def query_model(model: Any) -> Any:
    """The request's query read by ``model``, strictly (:func:`check_query` first)."""
    check_query(model)
    return model.model_validate(query_values(model, request.args))


# --- bodies as models --------------------------------------------------------------------------------

def check_json_body() -> None:
    """A POST/PUT/PATCH body under /api: JSON (415 otherwise), parsed strictly (:func:`strict_loads`)."""
    if not request.get_data(cache=True):
        return
    if not request.is_json:
        raise EdgeRefusal(415, "Send the body as JSON with 'Content-Type: application/json'.",
                          "本文は JSON で送り、Content-Type: application/json を指定してください。")
    request.get_json()  # parsed once (StrictJson): the body model and every other reader get this value


def body_model(model: Any) -> Any:
    """The request's JSON body read by ``model`` in pydantic's strict mode, or a refusal."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return model.model_validate(obj=None)
    # The body as parsed once (check_json_body). When strict validation of that value passes, it is
    # the body (no second parse): JSON gave only dict, list, str, int, float, bool and None, and of
    # these strict Python mode takes no more than strict JSON mode does. It refuses what JSON
    # carries as text (dates, enums), so then, as for any refusal, the raw JSON decides. Pydantic's
    # strict JSON mode keeps types exact (dates and enums still come as JSON strings); when it
    # refuses, only the refusals of loose types count (a model's own before-validators may hand
    # strict mode a string), and the model's ordinary validation decides the rest.
    try:
        return model.model_validate(request.get_json(force=True), strict=True)
    except ValidationError:
        pass
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as error:
        loose = [item for item in error.errors(include_url=False) if _loose_type(item)]
    if loose:
        raise _invalid([problem(field_path(item["loc"]), *_EXACT[item["type"]]) for item in loose])
    return model.model_validate_json(raw)


_EXACT = {
    "int_type": ("Must be a whole number (not text, true/false or a decimal).",
                 "整数で入力してください（文字列・true/false・小数は使えません）。"),
    "float_type": ("Must be a number (not text or true/false).", "数値で入力してください（文字列・true/false は使えません）。"),
    "decimal_type": ("Must be a number (not true/false).", "数値で入力してください（true/false は使えません）。"),
    "bool_type": ("Must be true or false.", "true または false で入力してください。"),
    "string_type": ("Must be text in quotes.", "文字列で入力してください。"),
    "date_type": ("Must be a date written \"YYYY-MM-DD\".", "日付は \"YYYY-MM-DD\" の形式の文字列で入力してください。"),
    "datetime_type": ("Must be a date and time written as ISO 8601 text.", "日時は ISO 8601 形式の文字列で入力してください。"),
}


def _loose_type(item: dict[str, Any]) -> bool:
    """A strict-mode refusal that lax validation would have coerced: ``false`` or ``"7"`` as a
    number, ``1`` as a boolean, ``0`` as a date."""
    kind = item["type"]
    if kind in ("date_type", "datetime_type"):
        return not isinstance(item.get("input"), str)
    return kind in _EXACT


# --- the app's URL rules: builders compiled when first used ------------------------------------------
#
# Werkzeug compiles two builder functions for every rule as it is added (one that appends unknown values as a query
# string, one that does not), each by building a Python AST and compiling it: about two thirds of the app factory's
# CPU with renkei's ~840 rules, most of whose builders a process never calls (a ``renkei`` command builds no URL; a
# page builds a few dozen). The app's rules (:class:`LazyBuilderRule`) compile each builder by Werkzeug's own code the
# first time the rule builds a URL, and a builder compiled once is shared by every rule it is the same function for
# (the apps a process builds: the tests build several, each with the same rules).
#
# Werkzeug's builder for a rule is a function of the rule's text (its name), its parts as parsed (the trace: static
# text and variable names, the host or subdomain part included), the names of its defaults and whether it appends
# unknown values: it reaches the rule's converters and map through its ``self`` argument when it runs, so the one
# function serves every rule with the same key. (A default for a variable in the rule is turned into text by the
# converter when the builder is compiled: such a rule compiles its own builders at once, as Werkzeug does.)
_BUILDERS: dict[tuple[Any, ...], Callable[..., tuple[str, str]]] = {}


class LazyBuilderRule(Rule):
    """A Werkzeug rule whose two URL builders are compiled the first time each is called, then kept (shared)."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        defaults = self.defaults or {}
        if not defaults.keys().isdisjoint(self.arguments):
            return super()._compile_builder(append_unknown)
        key = (self.rule, append_unknown, tuple(self._trace), tuple(defaults))
        compiled = _BUILDERS.get(key)
        if compiled is not None:
            return compiled
        attribute = "_build_unknown" if append_unknown else "_build"

        def build_first(rule: LazyBuilderRule, **values: Any) -> tuple[str, str]:
            builder = _BUILDERS.get(key)
            if builder is None:
                builder = _BUILDERS.setdefault(key, Rule._compile_builder(rule, append_unknown))
            setattr(rule, attribute, builder.__get__(rule, None))
            return builder(rule, **values)

        return build_first


# --- flask-openapi3: every operation reads its query and body here ------------------------------------

class StrictModels:
    """flask-openapi3's ``create_view_func`` (public: the scaffold builds every operation's view
    with ``self.create_view_func``) with the query and body models left out of the library's
    validation and read by :func:`query_model` and :func:`body_model` instead, after the
    library's path and header models; a model's ``ValidationError`` answers through the app's
    ``validation_error_callback``, as the library's own do."""

    def create_view_func(self, func, header, cookie, path, query, form, body, raw, view_class=None,
                         view_kwargs=None, responses=None, validate_response=None):
        operation = func
        if query is not None or body is not None:
            if inspect.iscoroutinefunction(func):
                raise TypeError(f"{func.__qualname__}: renkei's API operations are synchronous")

            @functools.wraps(func, updated=())
            def operation(*args: Any, **kwargs: Any) -> Any:
                try:
                    if query is not None:
                        kwargs["query"] = query_model(query)
                    if body is not None:
                        authorize_before_the_body()
                        kwargs["body"] = body_model(body)
                except ValidationError as error:
                    abort(current_app.validation_error_callback(error))
                return func(*args, **kwargs)

        return super().create_view_func(operation, header, cookie, path, None, form, None, raw, view_class=view_class,
                                        view_kwargs=view_kwargs, responses=responses,
                                        validate_response=validate_response)


def authorize_before_the_body() -> None:
    """The caller may do the operation's action (:data:`admin.api.authorized_first.ACTIONS`; for the
    tenant its path names, if it names one), asked before the body is read: a role that may not
    call the operation is refused (403) without learning the body's rules (issue 36)."""
    from admin.api.authorized_first import action_of  # the table of the API's operations
    from core import authz

    actor = g.get("actor")
    rule = request.url_rule
    action = action_of(request.method, rule.rule) if rule is not None else None
    if actor is not None and action is not None:
        authz.authorize(actor, action, (request.view_args or {}).get("code"))


class StrictAPIBlueprint(StrictModels, APIBlueprint):
    """The blueprint of every API module (admin/api): its operations read query and body strictly."""


class StrictOpenAPI(StrictModels, OpenAPI):
    """The app: an operation registered on it directly reads query and body strictly too, and
    every request reads JSON with :func:`strict_loads`. Its URL rules compile their URL builders when first used
    (:class:`LazyBuilderRule`)."""

    url_rule_class = LazyBuilderRule

    def request_context(self, environ: dict[str, Any]) -> Any:
        """Flask's request context, whose request reads JSON by :class:`StrictJson` (Flask gives
        each request the app's JSON provider as ``json_module`` here; renkei's rule replaces it)."""
        return _reading_strict_json(super().request_context(environ))

    def test_request_context(self, *args: Any, **kwargs: Any) -> Any:
        """The same for a request context a test makes."""
        return _reading_strict_json(super().test_request_context(*args, **kwargs))


def _reading_strict_json(context: Any) -> Any:
    context.request.json_module = StrictJson
    return context


def install(app: Flask) -> None:
    """Register the strict ``int`` converter (before any route) and the request checks."""
    app.url_map.converters["int"] = StrictIntConverter

    @app.before_request
    def _edge() -> None:
        if not request.path.startswith("/api/"):
            return
        if not _plain_address(request.environ):
            check_request_text()
        if request.method in {"POST", "PUT", "PATCH"}:
            check_json_body()


# --- bodies ------------------------------------------------------------------------------------------

_READ_SIZE = 64 * 1024


class _LimitedInput:
    """``wsgi.input`` that raises 413 as soon as more than ``limit`` bytes have come: when exactly
    ``limit`` have been read it looks one byte ahead, so a body that goes on is refused then, and
    the reader never sees a body cut at the limit as if it were whole. Reads are at most 64 KiB
    at a time (a ``read()`` of everything is done in such steps), so the limit holds for memory too."""

    def __init__(self, stream: Any, limit: int) -> None:
        self._stream, self._limit, self._seen = stream, limit, 0

    def _count(self, data: bytes) -> bytes:
        self._seen += len(data)
        if self._seen > self._limit or (data and self._seen == self._limit and self._stream.read(1)):
            from werkzeug.exceptions import RequestEntityTooLarge

            raise RequestEntityTooLarge()
        return data

    def read(self, size: int | None = -1) -> bytes:
        if size is not None and size >= 0:
            return self._count(self._stream.read(min(size, self._limit - self._seen + 1)))
        parts = []
        while part := self.read(_READ_SIZE):
            parts.append(part)
        return b"".join(parts)

    def readline(self, size: int | None = -1) -> bytes:
        room = self._limit - self._seen + 1
        return self._count(self._stream.readline(room if size is None or size < 0 else min(size, room)))

    def readlines(self, hint: int = -1) -> list[bytes]:
        return list(iter(self.readline, b""))

    def __iter__(self):
        return iter(self.readline, b"")


# A query string of raw bytes that are no UTF-8 (a server passes the request target on as it came):
# werkzeug cannot read it as text, and whatever reads ``request.args`` would fail with it, the
# locale and the error page among them (a 500). It is set aside whole before Flask sees the request,
# and the first check refuses the request (:func:`refuse_undecodable_query`).
_QUERY_NOT_TEXT = "renkei.edge.query_not_text"


def _set_aside_undecodable_query(environ: dict[str, Any]) -> None:
    query = environ.get("QUERY_STRING", "")
    if query.isascii():
        return
    try:
        query.encode("latin-1").decode("utf-8")  # as werkzeug reads it: WSGI's latin-1 text, then UTF-8
    except UnicodeError:
        environ[_QUERY_NOT_TEXT], environ["QUERY_STRING"] = query, ""


def refuse_undecodable_query() -> None:
    """400 for a request whose query string was no UTF-8 text: problem+json under /api, the layout's
    page elsewhere."""
    if request.environ.get(_QUERY_NOT_TEXT) is None:
        return
    if request.path.startswith("/api/"):
        raise EdgeRefusal(400, "The query string is not UTF-8 text: percent-encode what is not ASCII.",
                          "クエリ文字列が UTF-8 ではありません。ASCII 以外の文字はパーセントエンコードしてください。")
    from werkzeug.exceptions import BadRequest

    raise BadRequest("The query string is not UTF-8 text.")


class BodyLimit:
    """The body size limit (``MAX_CONTENT_LENGTH``) for every route, applied as the body arrives
    (:class:`_LimitedInput`); a declared ``Content-Length`` over the limit is refused before the
    route runs (:func:`refuse_declared_oversize`)."""

    def __init__(self, app: Flask, wsgi_app: Any) -> None:
        self.app, self.wsgi_app = app, wsgi_app

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        _set_aside_undecodable_query(environ)
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        if limit and (environ.get("CONTENT_LENGTH") or environ.get("HTTP_TRANSFER_ENCODING")):
            environ["wsgi.input"] = _LimitedInput(environ["wsgi.input"], int(limit))
        return self.wsgi_app(environ, start_response)


def refuse_declared_oversize() -> None:
    """413 for a request whose ``Content-Length`` is over the limit, on every route (also those
    that never read a body): the same answer wherever it is sent."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        from werkzeug.exceptions import RequestEntityTooLarge

        raise RequestEntityTooLarge()


# The request line and headers renkei's own stack refuses (414, 431: problem+json under /api, the
# layout's page elsewhere). The WSGI server in front has limits of its own, answered by it in its
# own format; they are set above these (docs/deployment.md: gunicorn --limit-request-line 8190,
# --limit-request-field_size 8190, --limit-request-fields 100), so renkei's answer comes first.
MAX_TARGET_BYTES = 8000   # the request target: path and query as sent
MAX_HEADER_BYTES = 8000   # one header field, name and value
MAX_HEADER_COUNT = 90


def header_value_limit(name: str) -> int:
    """The longest value of header `name` the edge accepts (counted as refuse_oversized_head counts):
    the contract's maxLength of a header parameter, so the document and the 431 agree."""
    return MAX_HEADER_BYTES - len("HTTP_" + name.upper().replace("-", "_"))


def refuse_oversized_head() -> None:
    from werkzeug.exceptions import RequestHeaderFieldsTooLarge, RequestURITooLarge

    environ = request.environ
    target = environ.get("RAW_URI") or environ.get("REQUEST_URI") \
        or f"{environ.get('PATH_INFO', '')}?{environ.get('QUERY_STRING', '')}"
    if len(target) > MAX_TARGET_BYTES:
        raise RequestURITooLarge(f"The address (path and query) is longer than {MAX_TARGET_BYTES} bytes.")
    count = 0
    for key, value in environ.items():
        if key.startswith("HTTP_"):
            count += 1
            if len(key) + len(value) > MAX_HEADER_BYTES:
                raise RequestHeaderFieldsTooLarge(f"The header {key[5:].replace('_', '-').title()} is longer "
                                                  f"than {MAX_HEADER_BYTES} bytes.")
    if count > MAX_HEADER_COUNT:
        raise RequestHeaderFieldsTooLarge(f"The request has more than {MAX_HEADER_COUNT} headers.")


def options_under_api():
    """``OPTIONS`` of an API address: 204 with ``Allow`` and no body (nothing to mistype as HTML);
    an unknown address is left to the 404 problem."""
    if request.method != "OPTIONS" or not request.path.startswith("/api/") or request.routing_exception is not None:
        return None
    from flask import Response, current_app

    methods = current_app.url_map.bind_to_environ(request.environ).allowed_methods(request.path)
    response = Response(status=204)
    response.headers["Allow"] = ", ".join(sorted(set(methods)))
    del response.headers["Content-Type"]
    return response


def install_body_limit(app: Flask) -> None:
    """The limits of every request, before any other check: a query string that is no text (400),
    its head (414, 431), its body (413), and OPTIONS under /api answered without a body."""
    app.wsgi_app = BodyLimit(app, app.wsgi_app)
    hooks = app.before_request_funcs.setdefault(None, [])
    hooks[0:0] = [refuse_undecodable_query, refuse_oversized_head, refuse_declared_oversize]
    app.before_request(options_under_api)

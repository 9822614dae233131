"""The values of a scenario file (:mod:`billing.scenario`): JSON objects that remember repeated keys,
whole numbers and exact fractions read without binary floats, local government codes, and the problems
collected in English and Japanese with where each is."""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from fractions import Fraction

from billing.errors import ScenarioError
from core import codes


class JsonObject(dict):
    """A decoded JSON object that remembers keys given more than once (JSON allows it,
    ``json`` keeps the last silently, and a clerk would never notice the first was ignored)."""

    duplicate_keys: tuple[str, ...] = ()

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, object]]) -> JsonObject:
        decoded = cls(pairs)
        if len(decoded) != len(pairs):
            counts = Counter(key for key, _ in pairs)
            decoded.duplicate_keys = tuple(key for key, count in counts.items() if count > 1)
        return decoded


def refuse_constant(name: str) -> object:
    raise ValueError(f"{name} is not a number a scenario may contain")


class Problems:
    """Collects problems in English and Japanese, each prefixed by where it is."""

    def __init__(self) -> None:
        self.english: list[str] = []
        self.japanese: list[str] = []

    def add(self, where: str, english: str, japanese: str) -> None:
        self.english.append(f"{where}: {english}" if where else english)
        self.japanese.append(f"{where}: {japanese}" if where else japanese)

    def extend(self, other: Problems) -> None:
        self.english.extend(other.english)
        self.japanese.extend(other.japanese)

    def __bool__(self) -> bool:
        return bool(self.english)

    def error(self) -> ScenarioError:
        return ScenarioError(self.english, self.japanese)




# What a refusal calls the JSON value it got: one classifier, worded in English and in Japanese.
_KIND_WORDS = {
    "null": ("null", "null"),
    "true": ("true", "true"),
    "false": ("false", "false"),
    "number": ("the number {}", "数値 {}"),
    "string": ("the string {}", "文字列 {}"),
    "list": ("a list", "リスト"),
    "object": ("an object", "オブジェクト"),
}


def _json_kind(value: object) -> tuple[str, object]:
    """The kind of a parsed JSON value (a key of _KIND_WORDS) and what its wording shows of it."""
    if value is None:
        return "null", None
    if isinstance(value, bool):
        return ("true" if value else "false"), None
    if isinstance(value, (int, Decimal)):
        return "number", value
    if isinstance(value, str):
        return "string", json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "list", None
    return "object", None


def json_kind(value: object) -> str:
    kind, shown = _json_kind(value)
    return _KIND_WORDS[kind][0].format(shown)


def json_kind_ja(value: object) -> str:
    kind, shown = _json_kind(value)
    return _KIND_WORDS[kind][1].format(shown)


def whole_number(
    value: object,
    where: str,
    what_en: str,
    what_ja: str,
    problems: Problems,
    *,
    low: int = 0,
    high: int | None = None,
) -> int | None:
    """A JSON integer within [low, high]; anything else (1.5, 12.0, "12", true) is a problem."""
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if is_int and value >= low and (high is None or value <= high):
        return value
    if high is None:
        english = f"must be a whole number of {what_en}, {low} or more; got {json_kind(value)}"
        japanese = f"{what_ja}は{low}以上の整数で指定してください({json_kind_ja(value)} になっています)。"
    else:
        english = f"must be a whole number of {what_en} from {low} to {high}; got {json_kind(value)}"
        japanese = f"{what_ja}は{low}〜{high}の整数で指定してください({json_kind_ja(value)} になっています)。"
    if isinstance(value, str):
        english += " (write numbers without quotes)"
        japanese = japanese[:-1] + "。数値は引用符なしで書いてください。"
    problems.add(where, english, japanese)
    return None


def exact_fraction(value: object, where: str, what_en: str, what_ja: str, problems: Problems) -> Fraction | None:
    """A weight or share: a JSON number or a string such as "0.5" or "1/3", read exactly."""
    fraction: Fraction | None = None
    if isinstance(value, bool):
        fraction = None
    elif isinstance(value, int):
        fraction = Fraction(value)
    elif isinstance(value, Decimal) and value.is_finite():
        fraction = Fraction(value)
    elif isinstance(value, str):
        try:
            fraction = Fraction(value.strip())
        except (ValueError, ZeroDivisionError):
            fraction = None
    if fraction is None:
        problems.add(
            where,
            f"{what_en} must be a number or a string such as \"0.5\" or \"1/3\"; got {json_kind(value)}",
            f"{what_ja}は数値か \"0.5\"・\"1/3\" のような文字列で指定してください({json_kind_ja(value)} になっています)。",
        )
    return fraction


def show_fraction(value: Fraction) -> str:
    """``1/2`` shown as ``0.5 (1/2)``, ``1/3`` as ``1/3``: both exact."""
    if value.denominator == 1:
        return str(value.numerator)
    denominator = value.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        decimal = Decimal(value.numerator) / Decimal(value.denominator)
        return f"{decimal} ({value})"
    return str(value)


def code_problem(code: object) -> tuple[str, str] | None:
    """Why ``code`` is not a valid local government code, in English and Japanese, or None."""
    if isinstance(code, int) and not isinstance(code, bool):
        return (
            f"must be a string such as \"431001\" (in quotes, so that leading zeros are kept); got the number {code}",
            f"団体コードは \"431001\" のように引用符で囲んだ文字列で指定してください(数値 {code} になっています)。",
        )
    if not isinstance(code, str):
        return (
            f"must be a six-digit local government code such as \"431001\"; got {json_kind(code)}",
            f"団体コードは \"431001\" のような6桁の文字列で指定してください({json_kind_ja(code)} になっています)。",
        )
    # The rule is core.codes'; only the wording, in a scenario's terms, is this module's.
    if not codes.is_well_formed(code):
        return (
            f"must be six digits (five digits and a check digit); got {json.dumps(code, ensure_ascii=False)}",
            f"団体コードは6桁の数字(5桁+検査数字)で指定してください(値: {code})。",
        )
    if not codes.is_valid(code):
        expected = codes.with_check_digit(code[:5])
        return (
            f"check digit wrong for {code} (expected {expected})",
            f"{code} の検査数字が正しくありません(正しくは {expected})。",
        )
    return None


def check_duplicate_keys(value: object, where: str, problems: Problems) -> None:
    for key in getattr(value, "duplicate_keys", ()):
        place = f"{where}.{key}" if where else key
        problems.add(
            place,
            "given more than once in the same object; only the last would count, so remove the others",
            "同じ項目が二回以上書かれています(最後のものだけが使われるため、他を削除してください)。",
        )

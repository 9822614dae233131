"""What a standard kind's Table Schema cannot say, as frictionless custom checks, and the words of
every problem frictionless finds in a provider's file.

The schemas (``standards/<kind>.json``) carry what Table Schema can: types, required items, code
lists (``enum``), forms (``pattern``: six digits for 全国地方公共団体コード, thirteen for 法人番号,
full-width katakana for 名称_カナ, HH:MM for times), Japan's extent for 緯度 and 経度
(``minimum``/``maximum``), dates as Excel writes them (``format: any``: ``2024-04-01`` and
``2024/4/1``) and ID unique (``primaryKey``). Two rules need arithmetic a schema cannot carry; they
run inside the same frictionless validation as :class:`frictionless.Check` subclasses:

* :class:`check_digits`: the check digit of 全国地方公共団体コード and of 法人番号, by the rules'
  one home, :mod:`core.codes`;
* :class:`coordinates_swapped`: 緯度 and 経度 outside Japan that are inside it when swapped: named
  as a swap rather than as two values out of range (the verdict is the same: 不適合);
* :class:`within_area`: a point inside Japan's extent but outside the platform's prefecture (its bounding
  box, :mod:`core.areas`): Seoul's 37.5665, 126.9780 is in the schema's range and not in 熊本県. The
  area is the deployment's, so this check is renkei's own and not in the published checklist;
* :class:`web_addresses`: a URL as RFC 3986 writes it (:func:`core.validation.uri_problem`): no space or control
  character, a scheme, and for http and https an authority with a host. frictionless's ``format: uri``
  accepts ``https://www.city.kumamoto.jp/a b``; this check does not.

:func:`words` turns each frictionless error into a problem in Japanese and English that names the
value given and, where there is one, the fix (a half-width or hiragana 名称_カナ written again in
full-width katakana, an era date written again in the western calendar, a code's right check
digit). It never shows a Python list, a type's internal name or frictionless's own field names.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any, NamedTuple

import attrs
from frictionless import Check, errors

from core import calendar, codes
from core.validation import uri_problem as url_problem
from core.search import katakana

class CheckDigit(NamedTuple):
    """An item whose value carries a check digit: why a value is wrong (the rule's one home, core.codes),
    the same rule as an expression a validator outside renkei evaluates (the published checklist), and the
    value's length in digits."""

    problem: Callable[[object], tuple[str, str] | None]
    formula: Callable[[str], str]
    length: int


_LOCAL_GOVERNMENT_CODE = CheckDigit(codes.code_problem, codes.code_check_formula, 6)
CHECK_DIGITS: dict[str, CheckDigit] = {
    "全国地方公共団体コード": _LOCAL_GOVERNMENT_CODE,
    "所在地_全国地方公共団体コード": _LOCAL_GOVERNMENT_CODE,  # where the place is (today's definitions)
    "法人番号": CheckDigit(codes.corporate_number_problem, codes.corporate_check_formula, 13),
}
LATITUDE, LONGITUDE, KANA = "緯度", "経度", "名称_カナ"


class CheckDigitError(errors.CellError):
    type = "check-digit"
    title = "Check Digit"
    description = "A code's check digit does not match its other digits."
    template = 'The cell "{cell}" in row at position "{rowNumber}" and field "{fieldName}" has a wrong check digit: {note}'


class CoordinatesSwappedError(errors.RowError):
    type = "coordinates-swapped"
    title = "Coordinates Swapped"
    description = "Latitude and longitude are outside Japan, and inside it when swapped."
    template = 'The row at position "{rowNumber}" has its latitude and longitude swapped: {note}'


class OutsideAreaError(errors.RowError):
    type = "outside-area"
    title = "Outside Area"
    description = "The point is outside the prefecture's area."
    template = 'The row at position "{rowNumber}" has a point outside the area: {note}'


class UrlFormError(errors.CellError):
    type = "url-form"
    title = "URL Form"
    description = "The URL is not written as RFC 3986 requires."
    template = 'The cell "{cell}" in row at position "{rowNumber}" and field "{fieldName}" is not a URL: {note}'


def _cell(row: Any, name: str) -> Any:
    try:
        return row[name]
    except KeyError:  # the file has no such column (an optional item left out)
        return None


def _well_formed(item: str, value: Any) -> bool:
    return isinstance(value, str) and len(value) == CHECK_DIGITS[item].length and value.isascii() and value.isdigit()


@attrs.define(kw_only=True, repr=False)
class check_digits(Check):
    """The check digit of each column in ``items`` (column name -> the item it is)."""

    type = "check-digits"
    Errors = [CheckDigitError]
    items: dict[str, str]

    def validate_row(self, row: Any) -> Iterable[Any]:
        for column, item in self.items.items():
            value = _cell(row, column)
            # a value of the wrong form is the schema's pattern's to report; the digit is this check's
            wrong = CHECK_DIGITS[item].problem(value) if _well_formed(item, value) else None
            if wrong:
                yield CheckDigitError.from_row(row, note=wrong[0], field_name=column)

    metadata_profile_patch = {"properties": {"items": {"type": "object"}}}


@attrs.define(kw_only=True, repr=False)
class coordinates_swapped(Check):
    """緯度 and 経度 each outside its range and each inside the other's: swapped."""

    type = "coordinates-swapped"
    Errors = [CoordinatesSwappedError]
    latitude: str
    longitude: str
    bounds: list[list[float]]  # [[lat min, lat max], [lon min, lon max]]

    def validate_row(self, row: Any) -> Iterable[Any]:
        lat, lon = _cell(row, self.latitude), _cell(row, self.longitude)
        if not (isinstance(lat, (int, float, Decimal)) and isinstance(lon, (int, float, Decimal))):
            return
        (lat_min, lat_max), (lon_min, lon_max) = self.bounds
        inside = lat_min <= lat <= lat_max and lon_min <= lon <= lon_max
        if not inside and lat_min <= lon <= lat_max and lon_min <= lat <= lon_max:
            yield CoordinatesSwappedError.from_row(row, note=f"{lat}, {lon}")

    metadata_profile_patch = {"properties": {"latitude": {"type": "string"}, "longitude": {"type": "string"},
                                             "bounds": {"type": "array"}}}


@attrs.define(kw_only=True, repr=False)
class within_area(Check):
    """緯度 and 経度 inside Japan's extent (the schema's range says so otherwise) and outside ``bounds``,
    the area of the platform's prefecture ([[south, north], [west, east]])."""

    type = "within-area"
    Errors = [OutsideAreaError]
    latitude: str
    longitude: str
    japan: list[list[float]]
    bounds: list[list[float]]

    def validate_row(self, row: Any) -> Iterable[Any]:
        lat, lon = _cell(row, self.latitude), _cell(row, self.longitude)
        if not (isinstance(lat, (int, float, Decimal)) and isinstance(lon, (int, float, Decimal))):
            return
        (lat_min, lat_max), (lon_min, lon_max) = self.japan
        (south, north), (west, east) = self.bounds
        in_japan = lat_min <= lat <= lat_max and lon_min <= lon <= lon_max  # else the range or the swap names it
        if in_japan and not (south <= lat <= north and west <= lon <= east):
            yield OutsideAreaError.from_row(row, note=f"{lat}, {lon}")

    metadata_profile_patch = {"properties": {"latitude": {"type": "string"}, "longitude": {"type": "string"},
                                             "japan": {"type": "array"}, "bounds": {"type": "array"}}}


@attrs.define(kw_only=True, repr=False)
class web_addresses(Check):
    """Each column in ``columns`` (the schema's ``format: uri`` items) written as RFC 3986 writes a URL."""

    type = "web-addresses"
    Errors = [UrlFormError]
    columns: list[str]

    def validate_row(self, row: Any) -> Iterable[Any]:
        for column in self.columns:
            value = _cell(row, column)
            if isinstance(value, str) and value and url_problem(value):
                yield UrlFormError.from_row(row, note="RFC 3986", field_name=column)

    metadata_profile_patch = {"properties": {"columns": {"type": "array"}}}


def _coordinate_checks(by_item: dict[str, dict[str, Any]], area: list[list[float]] | None) -> list[Check]:
    """For a schema with 緯度 and 経度: the swap check within the schema's ranges, and the area's check when known."""
    bounds = [[float(by_item[name]["constraints"]["minimum"]), float(by_item[name]["constraints"]["maximum"])]
              for name in (LATITUDE, LONGITUDE)]
    found: list[Check] = [coordinates_swapped(latitude=by_item[LATITUDE]["name"], longitude=by_item[LONGITUDE]["name"],
                                              bounds=bounds)]
    if area:
        found.append(within_area(latitude=by_item[LATITUDE]["name"], longitude=by_item[LONGITUDE]["name"],
                                 japan=bounds, bounds=area))
    return found


def checks_for(fields: list[dict[str, Any]], items: dict[str, str],
               area: list[list[float]] | None = None) -> list[Check]:
    """The custom checks a schema's ``fields`` need (``items``: column name -> the current item name;
    ``area``: the platform's prefecture as [[south, north], [west, east]], None where none is known)."""
    by_item = {items.get(f["name"], f["name"]): f for f in fields}
    found: list[Check] = []
    digits = {f["name"]: item for item, f in by_item.items() if item in CHECK_DIGITS}
    if digits:
        found.append(check_digits(items=digits))
    if LATITUDE in by_item and LONGITUDE in by_item:
        found += _coordinate_checks(by_item, area)
    uris = [f["name"] for f in fields if f.get("format") == "uri"]
    if uris:
        found.append(web_addresses(columns=uris))
    return found


def published_checklist(fields: list[dict[str, Any]], items: dict[str, str]) -> dict[str, Any]:
    """The frictionless checklist published beside a schema: what a Table Schema cannot carry, in checks
    that frictionless runs on its own (``frictionless validate --schema S --checklist C file.csv``): at
    least one data row, and each check digit as a ``row-constraint`` (:attr:`CheckDigit.formula`). Renkei
    applies the same rules with words (:func:`checks_for` and the no-data-rows problem); the tests give
    both the same files. A swap of 緯度 and 経度 needs nothing here: the schema's ranges refuse it."""
    by_item = {items.get(f["name"], f["name"]): f["name"] for f in fields}
    formulas = [{"type": "row-constraint", "formula": CHECK_DIGITS[item].formula(column)}
                for item, column in by_item.items() if item in CHECK_DIGITS]
    return {"checks": [{"type": "table-dimensions", "minRows": 1}, *formulas]}


# --- the words of a problem ------------------------------------------------------------------------

_TYPES = {"number": ("a number", "数値"), "integer": ("a whole number", "整数"),
          "date": ("a date (2024-04-01 or 2024/4/1)", "日付（2024-04-01 または 2024/4/1）"),
          "time": ("a time (09:00)", "時刻（09:00）"), "boolean": ("true or false", "真偽値"),
          "string": ("text", "文字列")}
_HIRAGANA = re.compile("[\u3041-\u3096]")
_HALF_WIDTH_KANA = re.compile("[\uff61-\uff9f]")
_CONSTRAINT = re.compile(r'constraint "([A-Za-z]+)"')


def _quoted(value: Any) -> str:
    return f"「{value}」"


def type_words(field: dict[str, Any], cell: Any) -> tuple[str, str]:
    """A value that is not of its item's type: what was given, what the type is, and the fix."""
    en_type, ja_type = _TYPES.get(field.get("type", "string"), _TYPES["string"])
    text = str(cell)
    if field.get("type") == "date" and (day := calendar.read_era_date(text)) is not None:
        return (f"{text} is a Japanese-era date; write it in the western calendar: {day.isoformat()}.",
                f"{_quoted(text)}は和暦の日付です。西暦で {day.isoformat()} と書いてください。")
    if field.get("format") == "uri":
        return (f"{text} is not a web address (https://...).",
                f"{_quoted(text)}は URL ではありません。https:// で始まるアドレスを書いてください。")
    if field.get("format") == "email":
        return f"{text} is not an e-mail address.", f"{_quoted(text)}はメールアドレスではありません。"
    normal = unicodedata.normalize("NFKC", text).replace(",", "")
    if field.get("type") in ("number", "integer") and normal != text and _is_number(normal):
        return (f"{text} has full-width characters or separators; write it as {normal}.",
                f"{_quoted(text)}は全角の数字や桁区切りを含みます。半角で {normal} と書いてください。")
    return f"{text} is not {en_type}.", f"{_quoted(text)}は{ja_type}ではありません。"


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except ArithmeticError:
        return False
    return True


def constraint_words(field: dict[str, Any], note: str, cell: Any) -> tuple[str, str]:
    """A value that breaks one of its item's constraints, named from the schema (never from the note's text)."""
    match = _CONSTRAINT.search(note or "")
    name = match.group(1) if match else ""
    constraints = field.get("constraints", {})
    value = constraints.get(name)
    text = str(cell)
    if name == "required":
        return "A value is required.", "値が必要です（必須項目）。"
    if name == "enum":
        listed_en, listed_ja = ", ".join(value), "、".join(value)
        normal = unicodedata.normalize("NFKC", text).strip()
        fix_en, fix_ja = (f" Write {normal}.", f"{normal} と書いてください。") if normal in value and normal != text else ("", "")
        return (f"{text} is not one of the code list ({listed_en}).{fix_en}",
                f"{_quoted(text)}はコード表の値（{listed_ja}）のいずれでもありません。{fix_ja}")
    if name == "pattern":
        return pattern_words(field["name"], text)
    if name in ("minimum", "maximum"):
        return _range_words(field, text)
    if name == "unique":
        return f"{text} appears in an earlier row too.", f"{_quoted(text)}は前の行にもあります（重複）。"
    return f"{text} breaks the rule {name} ({value}).", f"{_quoted(text)}は項目の決まり（{name}: {value}）に合いません。"


def _range_words(field: dict[str, Any], text: str) -> tuple[str, str]:
    low, high = field["constraints"].get("minimum"), field["constraints"].get("maximum")
    if field["name"] in (LATITUDE, LONGITUDE) or field.get("x-item") in (LATITUDE, LONGITUDE):
        return (f"{text} is outside Japan ({field['name']} from {low} to {high}).",
                f"{_quoted(text)}は日本の範囲外です（{field['name']}は {low}〜{high}）。")
    return (f"{text} is outside the range {low} to {high}.", f"{_quoted(text)}は範囲（{low}〜{high}）の外です。")


def pattern_words(column: str, text: str) -> tuple[str, str]:
    """A value not in its item's form, with the fix where it can be said."""
    if column == KANA or column.endswith("_カナ"):
        if _HALF_WIDTH_KANA.search(text):
            fixed = unicodedata.normalize("NFKC", text)
            return (f"{text} has half-width katakana; write it in full-width katakana: {fixed}.",
                    f"{_quoted(text)}に半角カタカナがあります。全角カタカナで「{fixed}」と書いてください。")
        if _HIRAGANA.search(text):
            fixed = katakana(text)
            return (f"{text} has hiragana; write it in katakana: {fixed}.",
                    f"{_quoted(text)}にひらがながあります。カタカナで「{fixed}」と書いてください。")
        return (f"{text} is not in full-width katakana.", f"{_quoted(text)}は全角カタカナではありません。")
    normal = unicodedata.normalize("NFKC", text).strip()
    fix_en, fix_ja = (f" Write {normal}.", f"{normal} と書いてください。") if normal != text and normal.isdigit() else ("", "")
    if column in ("全国地方公共団体コード", "所在地_全国地方公共団体コード", "都道府県コード又は市区町村コード", "市区町村コード"):
        return (f"{text} is not a local government code: 6 half-width digits (e.g. 431001).{fix_en}",
                f"{_quoted(text)}は全国地方公共団体コードではありません。半角数字6桁で書いてください（例: 431001）。{fix_ja}")
    if column == "法人番号":
        return (f"{text} is not a corporate number: 13 half-width digits (e.g. 9000020431001).{fix_en}",
                f"{_quoted(text)}は法人番号ではありません。半角数字13桁で書いてください（例: 9000020431001）。{fix_ja}")
    if "時間" in column:
        return (f"{text} is not a time: write it as HH:MM (e.g. 09:00).",
                f"{_quoted(text)}は時刻ではありません。09:00 のように書いてください。")
    return f"{text} is not in the form this item requires.", f"{_quoted(text)}はこの項目の決められた形式ではありません。"


def check_digit_words(item: str, text: str) -> tuple[str, str]:
    """A code whose check digit is wrong: the rule's own words (:mod:`core.codes`)."""
    return CHECK_DIGITS[item].problem(text) or ("", "")


def outside_area_words(latitude: str, longitude: str, area: Any) -> tuple[str, str]:
    """A point inside Japan and outside the prefecture's box (``area``: a :class:`core.areas.Box`)."""
    return (f"The point {latitude}, {longitude} is outside the prefecture's area, {area.name_ja} ({area.extent_en}). "
            "Municipal boundaries are not checked: renkei has no boundary data for them.",
            f"緯度 {latitude}・経度 {longitude} は{area.name_ja}の区域（{area.extent}）の外です。"
            "市区町村の区域は、境界データがないため確かめていません。")


def swapped_words(latitude: str, longitude: str) -> tuple[str, str]:
    return (f"Latitude {latitude} and longitude {longitude} are swapped: latitude {longitude}, longitude {latitude}.",
            f"緯度と経度が入れ替わっています（緯度 {latitude}・経度 {longitude}）。緯度 {longitude}、経度 {latitude} と書いてください。")

"""Local government codes (全国地方公共団体コード), corporate numbers (法人番号) and the shape of a
個人番号 (My Number): the check digits renkei knows.

A code is six digits: five digits and a check digit. The check digit is computed by
multiplying the five digits by 6, 5, 4, 3, 2, summing, taking the remainder mod 11,
subtracting it from 11, and keeping the last digit. The first two digits are the prefecture.
"""

from __future__ import annotations

import re
import unicodedata

_WEIGHTS = (6, 5, 4, 3, 2)


def check_digit(five_digits: str) -> int:
    total = sum(int(d) * w for d, w in zip(five_digits, _WEIGHTS, strict=True))
    return (11 - total % 11) % 10


def _weighted_sum(column: str, weights: tuple[int, ...], first: int) -> str:
    return " + ".join(f"int({column}[{first + i}]) * {w}" for i, w in enumerate(weights))


def code_check_formula(column: str) -> str:
    """The check digit rule of a 全国地方公共団体コード in ``column``, as an expression over a row
    (frictionless's ``row-constraint`` check, evaluated by simpleeval): what renkei publishes so that a
    validator outside it applies the rule :func:`check_digit` states. An empty cell passes (whether the
    item is required is the schema's rule); a malformed one fails (as the schema's pattern says too)."""
    return f"{column} is None or int({column}[5]) == (11 - ({_weighted_sum(column, _WEIGHTS, 0)}) % 11) % 10"


def corporate_check_formula(column: str) -> str:
    """The check digit rule of a 法人番号 in ``column`` as :func:`code_check_formula` publishes a code's:
    :func:`corporate_check_digit`, the first digit, from the twelve after it."""
    return f"{column} is None or int({column}[0]) == 9 - ({_weighted_sum(column, _CORPORATE_WEIGHTS, 1)}) % 9"


def with_check_digit(five_digits: str) -> str:
    return f"{five_digits}{check_digit(five_digits)}"


def is_well_formed(code: object) -> bool:
    """Six ASCII digits; whether the last is the right check digit is :func:`is_valid`'s question."""
    return isinstance(code, str) and len(code) == 6 and code.isascii() and code.isdigit()


def code_problem(code: object) -> tuple[str, str] | None:
    """Why ``code`` is not a valid local government code, as (English, Japanese), or None."""
    if not is_well_formed(code):
        return (
            f"{code!r} is not a local government code: it must be 6 digits (e.g. 431001).",
            f"{code!r} は団体コードではありません。6桁の数字で入力してください（例: 431001）。",
        )
    expected = check_digit(code[:5])
    if int(code[5]) != expected:
        right = f"{code[:5]}{expected}"
        return (
            f"Check digit of {code} is wrong: for {code[:5]} it is {expected} ({right}).",
            f"団体コード {code} の検査数字が誤っています。{code[:5]} の検査数字は {expected} です（{right}）。",
        )
    return None


def is_valid(code: object) -> bool:
    return code_problem(code) is None


def prefecture_of(code: str) -> str:
    """The two-digit prefecture number of a code (43 = Kumamoto)."""
    return code[:2]


def is_prefecture(code: str) -> bool:
    """A prefecture's own code: the prefecture number, 000 and the check digit (熊本県 430005)."""
    return code[2:5] == "000"


# --- corporate numbers (法人番号) ------------------------------------------------------------------
# Thirteen digits: a check digit followed by a 12-digit base. The check digit is
# 9 - (sum of Pn * Qn mod 9), Pn the base's n-th digit counted from the right and Qn 1 for odd n,
# 2 for even n (国税庁 7000012050002). A local government's base is 000020 followed by its
# six-digit local-government code (熊本県 7000020430005).

LOCAL_GOVERNMENT_BASE_PREFIX = "000020"


# the weights of the base's twelve digits, left to right (Qn of the n-th digit from the right)
_CORPORATE_WEIGHTS = tuple(1 if n % 2 else 2 for n in range(12, 0, -1))


def corporate_check_digit(base: str) -> int:
    total = sum(int(d) * w for d, w in zip(base, _CORPORATE_WEIGHTS, strict=True))
    return 9 - total % 9


def corporate_number_problem(number: object) -> tuple[str, str] | None:
    """Why ``number`` is not a valid corporate number, as (English, Japanese), or None."""
    if not (isinstance(number, str) and len(number) == 13 and number.isascii() and number.isdigit()):
        return (
            f"{number!r} is not a corporate number: it must be 13 digits (e.g. 7000012050002).",
            f"{number!r} は法人番号ではありません。13桁の数字で入力してください（例: 7000012050002）。",
        )
    expected = corporate_check_digit(number[1:])
    if int(number[0]) != expected:
        right = f"{expected}{number[1:]}"
        return (
            f"Check digit of corporate number {number} is wrong: for {number[1:]} it is {expected} ({right}).",
            f"法人番号 {number} の検査用数字（先頭の1桁）が誤っています。{number[1:]} の検査用数字は {expected} です（{right}）。",
        )
    return None


def is_corporate_number(number: object) -> bool:
    return corporate_number_problem(number) is None


def corporate_number_of_local_government(code: str) -> str:
    """The corporate number of a local government from its six-digit code (熊本県 430005 → 7000020430005)."""
    base = LOCAL_GOVERNMENT_BASE_PREFIX + code
    return f"{corporate_check_digit(base)}{base}"


# --- 個人番号 (My Number) ---------------------------------------------------------------------
# 12 digits, the last a check digit (行政手続における特定の個人を識別するための番号の利用等に関する
# 法律施行令第8条, 総務省令): with Pn the n-th digit of the first eleven counted from the right and
# Qn = n + 1 for n ≤ 6, n − 5 for n ≥ 7, the remainder r of (sum of Pn * Qn) by 11 gives 0 when
# r ≤ 1, else 11 − r. renkei never collects one (the My Number Act limits who may): an identifier of
# that shape is refused where a person's identifier is taken (residents.consent.schemas).

def my_number_check_digit(eleven_digits: str) -> int:
    total = sum(int(d) * (n + 1 if n <= 6 else n - 5) for n, d in enumerate(reversed(eleven_digits), start=1))
    remainder = total % 11
    return 0 if remainder <= 1 else 11 - remainder


def is_my_number_shaped(value: object) -> bool:
    """Whether ``value`` has the shape of a 個人番号: 12 ASCII digits whose last is their check digit."""
    return (isinstance(value, str) and len(value) == 12 and value.isascii() and value.isdigit()
            and my_number_check_digit(value[:11]) == int(value[11]))


# --- common IDs (共通ID) of residents --------------------------------------------------------------
# Sixteen characters of the 32 letters and digits a person reads without doubt (no I, L, O, U): fifteen
# drawn at random, then one check character of the same alphabet by Damm's algorithm over GF(32) (the
# quasigroup x*y = 2x + y, totally anti-symmetric), which catches every single wrong character and every
# swap of two neighbours, the check character included. Never derived from anything about the person
# (residents.operations draws it from ``secrets``), and never a 個人番号's shape (twelve digits).
#
# IDs issued before (renkei issue 50) end with an ISO/IEC 7064 MOD 37,36 check character over 0-9A-Z,
# which could be I, L, O or U. They stay valid where they are stored: no look-up validates a common ID by
# its check character (it is found by the stored column), and :func:`is_common_id` with ``stored=True``
# accepts either check character for an ID read from the database. An ID typed in is checked by the
# alphabet's own character only, so every single error and swap of neighbours in it is caught.

COMMON_ID_LENGTH = 16
COMMON_ID_BODY_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_MOD37_36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_GF32_MODULUS = 0b100101  # x^5 + x^2 + 1, irreducible over GF(2)


def _gf32_double(value: int) -> int:
    value <<= 1
    return value ^ _GF32_MODULUS if value & 0b100000 else value


def common_id_check_character(body: str) -> str:
    """The check character of ``body`` (characters of :data:`COMMON_ID_BODY_ALPHABET`), itself of that
    alphabet: Damm's algorithm over GF(32), the interim being ``2·interim + character``; the check
    character brings it to zero (in GF(2^5), −2·interim is 2·interim)."""
    interim = 0
    for character in body:
        interim = _gf32_double(interim) ^ COMMON_ID_BODY_ALPHABET.index(character)
    return COMMON_ID_BODY_ALPHABET[_gf32_double(interim)]


def legacy_common_id_check_character(body: str) -> str:
    """The ISO/IEC 7064 MOD 37,36 check character (0-9A-Z) of the IDs issued before renkei issue 50."""
    product = 36
    for character in body:
        total = (product + _MOD37_36.index(character)) % 36 or 36
        product = (total * 2) % 37
    return _MOD37_36[(37 - product) % 36]


def is_common_id(value: object, *, stored: bool = False) -> bool:
    """Sixteen characters whose first fifteen are of the body alphabet and whose last is their check
    character (:func:`common_id_check_character`); ``stored``: an ID read from the database, which may also
    end with the former MOD 37,36 character (:func:`legacy_common_id_check_character`) if issued before it."""
    if not (isinstance(value, str) and len(value) == COMMON_ID_LENGTH
            and all(c in COMMON_ID_BODY_ALPHABET for c in value[:-1])):
        return False
    body = value[:-1]
    return value[-1] == common_id_check_character(body) or (stored and value[-1] == legacy_common_id_check_character(body))


# --- 日本標準産業分類 (Japan Standard Industrial Classification), major groups ---------------------
# The 20 major groups (大分類) of the 14th revision (令和5年7月告示, in force 2024-04-01), by their letter:
# the industry a consortium member is counted under in the member report.
INDUSTRY_MAJOR_GROUPS: dict[str, tuple[str, str]] = {
    "A": ("農業，林業", "Agriculture and forestry"),
    "B": ("漁業", "Fisheries"),
    "C": ("鉱業，採石業，砂利採取業", "Mining and quarrying of stone and gravel"),
    "D": ("建設業", "Construction"),
    "E": ("製造業", "Manufacturing"),
    "F": ("電気・ガス・熱供給・水道業", "Electricity, gas, heat supply and water"),
    "G": ("情報通信業", "Information and communications"),
    "H": ("運輸業，郵便業", "Transport and postal activities"),
    "I": ("卸売業，小売業", "Wholesale and retail trade"),
    "J": ("金融業，保険業", "Finance and insurance"),
    "K": ("不動産業，物品賃貸業", "Real estate and goods rental and leasing"),
    "L": ("学術研究，専門・技術サービス業", "Scientific research, professional and technical services"),
    "M": ("宿泊業，飲食サービス業", "Accommodations, eating and drinking services"),
    "N": ("生活関連サービス業，娯楽業", "Living-related and personal services and amusement services"),
    "O": ("教育，学習支援業", "Education, learning support"),
    "P": ("医療，福祉", "Medical, health care and welfare"),
    "Q": ("複合サービス事業", "Compound services"),
    "R": ("サービス業（他に分類されないもの）", "Services, n.e.c."),
    "S": ("公務（他に分類されるものを除く）", "Government, except elsewhere classified"),
    "T": ("分類不能の産業", "Industries unable to classify"),
}


# The middle groups (中分類, numbered 01 to 99 across the classification) of each major group, as ranges of their
# numbers: a member list that carries a middle group (``39``, ``G39 情報サービス業``) or a finer code beginning with
# one (``391``, ``3911``) is counted under its major group.
INDUSTRY_MIDDLE_GROUPS: tuple[tuple[str, int, int], ...] = (
    ("A", 1, 2), ("B", 3, 4), ("C", 5, 5), ("D", 6, 8), ("E", 9, 32), ("F", 33, 36), ("G", 37, 41), ("H", 42, 49),
    ("I", 50, 61), ("J", 62, 67), ("K", 68, 70), ("L", 71, 74), ("M", 75, 77), ("N", 78, 80), ("O", 81, 82),
    ("P", 83, 85), ("Q", 86, 87), ("R", 88, 96), ("S", 97, 98), ("T", 99, 99),
)
_MIDDLE_GROUP = re.compile(r"([A-T])?(\d{2})(\d{0,2})(?!\d)(.*)")


def major_group_of_middle(number: int) -> str | None:
    """The major group's letter of the middle group ``number`` (1 to 99), or None."""
    return next((letter for letter, first, last in INDUSTRY_MIDDLE_GROUPS if first <= number <= last), None)


def industry_of(text: str) -> str | None:
    """The major group's letter from ``E``, ``Ｅ``, ``製造業`` or ``E 製造業`` (as a spreadsheet has it), or from a
    middle group or finer code (``39``, ``G39``, ``G39 情報サービス業``, ``3911``: its major group, when a letter
    given with it agrees), or None."""
    value = "".join(unicodedata.normalize("NFKC", text or "").split())
    if not value:
        return None
    middle = _MIDDLE_GROUP.fullmatch(value.upper() if value[:1].isascii() else value)
    if middle and (not middle.group(4) or not middle.group(4)[0].isascii()):
        letter = major_group_of_middle(int(middle.group(2)))
        return letter if letter and middle.group(1) in (None, letter) else None
    letter, rest = value[0].upper(), value[1:].lstrip(":.-")
    if letter in INDUSTRY_MAJOR_GROUPS and (not rest or not rest[0].isascii()):
        if not rest or rest == "".join(unicodedata.normalize("NFKC", INDUSTRY_MAJOR_GROUPS[letter][0]).split()):
            return letter
    for letter, (ja, _en) in INDUSTRY_MAJOR_GROUPS.items():
        if value == "".join(unicodedata.normalize("NFKC", ja).split()):
            return letter
    return None

"""The 基本4情報 (name, address, date of birth, sex) as they are compared, never as they are shown.

The same person's name and address reach renkei written in different ways: full- and half-width
characters, spaces or none, a name's old character form (旧字体, as the card may print it) or its
new one, an address's 丁目・番地・号 written in kanji numerals or as ``6-18-1``. Each is brought to one
form here before it is hashed (:meth:`residents.crypto.Keyring.digest`); the stored values keep what
was written.
"""

from __future__ import annotations

import re
import unicodedata

# Old (and common variant) forms of characters found in names, mapped to the form matching compares.
# Deliberately small: a match only sends the enrolment to a person's review, it never merges by itself.
OLD_TO_NEW = str.maketrans({
    "髙": "高", "﨑": "崎", "嵜": "崎", "邊": "辺", "邉": "辺", "澤": "沢", "濱": "浜", "廣": "広", "國": "国",
    "櫻": "桜", "嶋": "島", "嶌": "島", "眞": "真", "惠": "恵", "德": "徳", "會": "会", "藏": "蔵", "與": "与",
    "壽": "寿", "實": "実", "榮": "栄", "冨": "富", "條": "条", "來": "来", "靜": "静", "學": "学", "顯": "顕",
    "齋": "斎", "齊": "斉", "瀨": "瀬", "黑": "黒", "驛": "駅", "瀧": "滝", "檜": "桧", "萬": "万", "藝": "芸",
    "絲": "糸", "戶": "戸", "淺": "浅", "縣": "県", "鐵": "鉄", "關": "関", "傳": "伝", "圓": "円",
    "髮": "髪", "兒": "児", "晉": "晋", "禮": "礼", "稻": "稲", "舊": "旧", "龍": "竜",
})
_SPACES = re.compile(r"\s+")
_DASHES = re.compile(r"[‐‑‒–—―−ｰー－-]")
_PREFECTURE = re.compile(r"^(東京都|北海道|京都府|大阪府|.{2,3}?県)")
_KANJI_DIGITS = {"〇": 0, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_KANJI_NUMBER = re.compile(r"[〇一二三四五六七八九十百千]+(?=丁目|番|号|の)")


def _compact(value: str) -> str:
    return _SPACES.sub("", unicodedata.normalize("NFKC", value or ""))


def name(value: str) -> str:
    """``髙橋　太郎`` and ``高橋太郎`` compare the same."""
    return _compact(value).translate(OLD_TO_NEW)


def _kanji_to_int(text: str) -> int:
    total, digit = 0, 0
    for character in text:
        if character in _KANJI_DIGITS:
            digit = digit * 10 + _KANJI_DIGITS[character]
        else:  # 十, 百, 千 multiply the digit before them (1 when none)
            total += (digit or 1) * {"十": 10, "百": 100, "千": 1000}[character]
            digit = 0
    return total + digit


def address(value: str) -> str:
    """``熊本県熊本市中央区水前寺六丁目18番1号`` and ``熊本市中央区水前寺６－１８－１`` compare the same: no
    prefecture, numbers in digits, 丁目・番地・番・号・の as hyphens, no trailing hyphen."""
    text = _compact(value).translate(OLD_TO_NEW)
    text = _PREFECTURE.sub("", text)
    text = _KANJI_NUMBER.sub(lambda m: str(_kanji_to_int(m.group())), text)
    text = re.sub(r"(?<=\d)(丁目|番地|番|号|の)", "-", text)
    text = _DASHES.sub("-", text)
    return re.sub(r"-+", "-", text).rstrip("-")


def person_key(full_name: str, birth_date: str, sex: str) -> str:
    """What two enrolments of one person share even after a move: the name, the date of birth and the sex."""
    return "\x1f".join((name(full_name), birth_date, sex))

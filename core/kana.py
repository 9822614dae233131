"""Katakana names as banks write them, made comparable.

A bank writes a payer's name (振込依頼人名) in the 全銀協 character set: half-width katakana (JIX X 0201),
upper-case letters and digits, no small kana (ｼﾔ for シャ), voiced marks as separate characters (ｶﾞ), and
corporate forms abbreviated (ｶ) for 株式会社 in front of or behind the name). People type the same name
in full-width kana, with or without spaces and long vowel marks. :func:`normalise_kana` maps all of these
to one form, so that two writings of one name compare equal; it is for comparing, never for showing.
"""

from __future__ import annotations

import re
import unicodedata

_SMALL = str.maketrans("ァィゥェォッャュョヮヵヶ", "アイウエオツヤユヨワカケ")
_HIRAGANA = {code: code + 0x60 for code in range(0x3041, 0x3097)}  # ぁ..ゖ -> ァ..ヶ
_MARKS = re.compile(r"[\s\u30fc\u2010-\u2015\u2212\-\uff70\u30fb\uff65.,\uff0c\u3002\u3001/\uff0f'\"]+")
# Corporate forms written out (after small kana are made large: ガイシャ -> ガイシヤ) and abbreviated
# with a parenthesis on the name's side: カ) or (カ, ユ) 有限会社, ザイ) 財団法人 ...
_FORMS_WRITTEN = re.compile("カブシキガイシヤ|ユウゲンガイシヤ|ゴウドウガイシヤ|ゴウシガイシヤ|ゴウメイガイシヤ|"
                            "イツパンザイダンホウジン|イツパンシヤダンホウジン|ザイダンホウジン|シヤダンホウジン|"
                            "トクテイヒエイリカツドウホウジン")
_FORMS_SHORT = re.compile(r"\((?:カ|ユ|ド|ザイ|シヤ|トクヒ|イ|ゴ|メ)\)?|(?:カ|ユ|ド|ザイ|シヤ|トクヒ|イ|ゴ|メ)\)")
_BRACKETS = re.compile(r"[()\[\]「」]")


def normalise_kana(text: str) -> str:
    """One comparable form of a kana name: ``ｶ) ｸﾏﾓﾄ ｼｽﾃﾑ`` and ``クマモトシステム株式会社`` in kana
    (``クマモトシステム カブシキガイシャ``) both become ``クマモトシステム``.

    Half-width becomes full-width (NFKC, which also joins ｶﾞ into ガ), hiragana becomes katakana, small
    kana become large (banks have none), long vowel marks, spaces and punctuation go, and corporate forms
    (written out or abbreviated with a parenthesis) go."""
    text = unicodedata.normalize("NFKC", text or "").translate(_HIRAGANA).upper()
    text = text.translate(_SMALL)
    text = _FORMS_WRITTEN.sub("", text)
    text = _FORMS_SHORT.sub("", _MARKS.sub("", text))
    return _BRACKETS.sub("", text)


def same_payer(payer: str, name_kana: str) -> bool:
    """Whether a bank's payer name is the kana name (both normalised; the payer may add after the
    name, as a municipality's 会計管理者 does: ``ｸﾏﾓﾄｼ ｶｲｹｲｶﾝﾘｼﾔ``)."""
    payer_form, name_form = normalise_kana(re.sub(r"\d", "", payer or "")), normalise_kana(name_kana)
    return bool(name_form) and payer_form.startswith(name_form)

"""What ISO/IEC TS 27560 records of the processing a person consents to, beyond the purposes and
data items: the legal basis, whether the data items include 要配慮個人情報 (special-care personal
information, 個人情報保護法第2条第3項), the processing operations, the jurisdiction and the storage
duration (retention). Each is part of a consent text version (:class:`ConsentText`), bound by the
text's hash that every consent record carries, and each is written in the receipt and the history's
export under the names of the W3C Data Privacy Vocabulary's guide to TS 27560 (``dpv:hasLegalBasis``,
``dpv:hasProcessing``, ``dpv:hasJurisdiction``, ``dpv:hasStorageCondition``…; docs/consent.md).

The legal bases are those of Japanese law under which personal data goes to a service on the
person's consent; the processing operations are DPV's terms. Each is declared once here: the
schema's choices, the pages' words and the export read these tables.
"""

from __future__ import annotations

import json
from typing import Any

# code: (Japanese, English, DPV concept)
LEGAL_BASES: dict[str, tuple[str, str, str]] = {
    "appi-27-1": ("本人の同意による個人データの第三者提供（個人情報保護法第27条第1項）",
                  "Consent to the provision of personal data to a third party (APPI Art. 27(1))", "dpv:Consent"),
    "appi-69-2-1": ("本人の同意による保有個人情報の提供（個人情報保護法第69条第2項第1号）",
                    "Consent to the provision of retained personal information by a public body (APPI Art. 69(2)(i))",
                    "dpv:Consent"),
    "appi-18-1": ("本人の同意による利用目的の範囲を超えた取扱い（個人情報保護法第18条第1項）",
                  "Consent to handling beyond the purpose of use (APPI Art. 18(1))", "dpv:Consent"),
}
DEFAULT_LEGAL_BASIS = "appi-27-1"

# The consent to acquire 要配慮個人情報 (a provision of its own): stated beside the legal basis when a
# text's items include it.
SPECIAL_CARE_BASIS = ("要配慮個人情報の取得についての本人の同意（個人情報保護法第20条第2項）",
                      "Consent to the acquisition of special-care personal information (APPI Art. 20(2))",
                      "dpv:ExplicitlyExpressedConsent")

# code: (Japanese, English, DPV concept), in the order shown
PROCESSING: dict[str, tuple[str, str, str]] = {
    "collect": ("取得", "Collect", "dpv:Collect"),
    "transfer": ("提供（受け渡し）", "Transfer", "dpv:Transfer"),
    "store": ("保存", "Store", "dpv:Store"),
    "use": ("利用", "Use", "dpv:Use"),
    "analyse": ("分析", "Analyse", "dpv:Analyse"),
    "combine": ("突合・結合", "Combine", "dpv:Combine"),
    "share": ("他者との共有", "Share", "dpv:Share"),
    "erase": ("消去", "Erase", "dpv:Erase"),
}
DEFAULT_PROCESSING = ("transfer", "store", "use")

APPLICABLE_LAW = ("個人情報の保護に関する法律（平成15年法律第57号）", "Act on the Protection of Personal Information (Act No. 57 of 2003)")
DEFAULT_JURISDICTION = "JP"
JURISDICTION_PATTERN = r"^[A-Z]{2}(-[0-9A-Z]{1,3})?$"  # ISO 3166-1 alpha-2, or ISO 3166-2 (JP-43: 熊本県)


def jurisdictions(japanese: bool = True) -> list[tuple[str, str]]:
    """The jurisdictions a form offers: Japan, then each prefecture by its ISO 3166-2 code (JP-01 北海道 …
    JP-47 沖縄県, in the order of the prefecture codes)."""
    from tenancy.members.models import PREFECTURES

    return [("JP", "日本（全国）" if japanese else "Japan")] + [
        (f"JP-{number:02d}", name) for number, name in enumerate(PREFECTURES, start=1)]


def processing_of(text: Any) -> list[str]:
    return json.loads(text.processing) if text is not None else list(DEFAULT_PROCESSING)


def _entry(code: str, table: dict[str, tuple[str, str, str]]) -> dict[str, str]:
    ja, en, concept = table.get(code, (code, code, ""))
    return {"code": code, "label_ja": ja, "label_en": en, "dpv": concept}


def record_terms(text: Any, service: Any) -> dict[str, Any]:
    """The TS 27560 fields of a consent text (None: one that no longer exists), for the receipt and the
    exports: legal basis (and, for 要配慮個人情報, the consent to acquire it), the flag, the processing
    operations, the jurisdiction and applicable law, the storage duration (ISO 8601)."""
    code = text.legal_basis if text is not None else DEFAULT_LEGAL_BASIS
    special = bool(text.special_care) if text is not None else False
    bases = [_entry(code, LEGAL_BASES)]
    if special:
        ja, en, concept = SPECIAL_CARE_BASIS
        bases.append({"code": "appi-20-2", "label_ja": ja, "label_en": en, "dpv": concept})
    days = text.retention_days if text is not None and text.retention_days is not None else \
        (service.retention_days if service is not None else None)
    return {
        "legal_basis": bases,
        "special_care_personal_data": special,
        "processing": [_entry(op, PROCESSING) for op in processing_of(text)],
        "jurisdiction": text.jurisdiction if text is not None else DEFAULT_JURISDICTION,
        "applicable_law": {"label_ja": APPLICABLE_LAW[0], "label_en": APPLICABLE_LAW[1]},
        "storage_duration": {"days": days, "iso8601": f"P{days}D" if days else None},
    }

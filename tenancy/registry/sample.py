"""Kumamoto sample data for the demo: the prefecture, wave 1 (FY2024, active), wave 2 (FY2025, applied).

Wave 1 holds the seven members of the prefecture's smart-city project (熊本市, 八代市, 人吉市,
荒尾市, 上天草市, 天草市, 合志市) and six more chosen as plausible early joiners: the cities
along the Kumamoto commuter belt and Aso (玉名市, 菊池市, 宇城市, 阿蘇市) and the two towns
hosting the semiconductor cluster and the 2016 earthquake recovery data work (菊陽町, 益城町).
Wave 2 adds eight municipalities across the rest of the prefecture. See docs/sample-data.md.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from core.actor import Actor
from tenancy.registry.importing import reference_municipalities
from tenancy.registry.models import TenantKind, TenantStatus
from tenancy.registry.operations import create_tenant, find_tenant
from tenancy.registry.schemas import TenantCreate

PREFECTURE_CODE = "430005"
SMART_CITY_MEMBERS = ("431001", "432024", "432032", "432041", "432121", "432156", "432164")
WAVE_1 = SMART_CITY_MEMBERS + ("432067", "432105", "432130", "432148", "434043", "434434")
WAVE_2 = ("432059", "432083", "432113", "434035", "434337", "434418", "434825", "435147")
WAVE_1_FISCAL_YEAR = 2024
WAVE_2_FISCAL_YEAR = 2025


def _create(code: str, status: TenantStatus, wave: int | None) -> TenantCreate:
    row = reference_municipalities()[code]
    return TenantCreate(
        code=code,
        name_ja=row["name_ja"],
        name_en=row["name_en"],
        kind=TenantKind(row["kind"]),
        population=int(row["population"]),
        population_source=row["population_source"],
        status=status,
        wave_fiscal_year=wave,
    )


def load_kumamoto(session: Session, actor: Actor) -> list[str]:
    """Register the sample tenants that are not registered yet; returns the codes created."""
    plan = [(PREFECTURE_CODE, TenantStatus.active, None)]
    plan += [(code, TenantStatus.active, WAVE_1_FISCAL_YEAR) for code in WAVE_1]
    plan += [(code, TenantStatus.applied, WAVE_2_FISCAL_YEAR) for code in WAVE_2]
    created = []
    for code, status, wave in plan:
        if find_tenant(session, code) is None:
            created.append(create_tenant(session, actor, _create(code, status, wave)).code)
    return created


# The demo's prefecture settings. SAMPLE values: the office is named as Kumamoto's digital
# strategy office is, but the account number and the e-mail address are invented.
KUMAMOTO_SETTINGS = {
    "issuer_title": "熊本県知事",
    "issuer_name": "",
    "office": "熊本県 企画振興部 デジタル戦略局 デジタル戦略推進課",
    "office_address": "〒862-8570 熊本市中央区水前寺6丁目18番1号",
    "office_phone": "096-333-2153",
    "office_email": "digital-sample@example.jp",
    "bank_name": "肥後銀行",
    "bank_branch": "県庁支店",
    "account_type": "ordinary",
    "account_number": "0000000",
    "account_holder": "熊本県会計管理者",
    "document_symbol": "デ戦",
    "payment_days": 30,
    "consortium_name": "くまもとDXコンソーシアム",
}


def load_kumamoto_settings(session: Session, actor: Actor):
    """The demo's prefecture settings (see KUMAMOTO_SETTINGS), unless an operator has set them already."""
    from tenancy.registry.prefecture import PrefectureSettingsIn, get_settings, update_settings

    if get_settings(session) is not None:
        return None
    return update_settings(session, actor, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))

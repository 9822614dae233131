"""The home prefecture: which tenant it is, and its own facts that documents carry.

The home prefecture is the registry's one tenant of kind ``prefecture`` (Kumamoto's 430005 in the
demo, Tochigi's 090000 elsewhere): its name and code are never written a second time. What the
registry does not hold (who issues documents, the designated bank account payments go to, the
office that answers questions, how documents are numbered) is :class:`PrefectureSettings`, one
row the operator edits (``settings.manage``), every change audited with before and after.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated

import sqlalchemy as sa
from pydantic import AfterValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError
from sqlalchemy.orm import Session
from sqlmodel import SQLModel

from core import audit, authz
from core.actor import Actor
from core.calendar import FIRST_FISCAL_YEAR, LAST_HOLIDAY_YEAR, read_date
from core.db import utcnow
from core.errors import Conflict, NotFound, problem
from core.validation import NOT_BLANK, SINGLE_LINE, single_line
from tenancy.registry.models import BankAccountType, PrefectureSettings, SealMark, Tenant, TenantKind
from tenancy.registry.schemas import Email

SETTINGS_ID = 1


def _line(max_length: int, *, required: bool = True):
    return Annotated[(str, StringConstraints(strip_whitespace=True, min_length=1 if required else 0, max_length=max_length),
                      AfterValidator(single_line), SINGLE_LINE, *((NOT_BLANK,) if required else ()))]


CLOSED_DAYS_MAX = 100


def closed_days_text(value: str) -> str:
    """A pydantic AfterValidator: the office's own closed days as typed (one a line, or separated by commas or
    「、」; 2026-05-01, 2026/5/1, 令和8年5月1日) written as ISO dates, one per line, sorted, each once."""
    days = set()
    entries = [part for part in re.split(r"[\n,、]", value or "") if part.strip()]
    for number, part in enumerate(entries, start=1):
        day = read_date(part)
        if day is None or not FIRST_FISCAL_YEAR <= day.year <= LAST_HOLIDAY_YEAR:  # said by its place, not echoed
            raise PydanticCustomError(
                "closed_day", f"Entry {number} is not a date (write each as 2026-05-01).",
                {"message_ja": f"{number}番目が日付ではありません（2026-05-01 の形で入力してください）。"})
        days.add(day)
    if len(days) > CLOSED_DAYS_MAX:
        raise PydanticCustomError("closed_days", f"At most {CLOSED_DAYS_MAX} days.",
                                  {"message_ja": f"閉庁日は{CLOSED_DAYS_MAX}日までです。"})
    return "\n".join(day.isoformat() for day in sorted(days))


class PrefectureSettingsIn(SQLModel):
    """What the operator types on the settings page (every field in Japanese there)."""

    model_config = ConfigDict(extra="forbid")

    issuer_title: _line(100)
    issuer_name: _line(100, required=False) = ""
    office: _line(200)
    office_address: _line(200, required=False) = ""
    office_phone: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32,
                                                   pattern=r"^[0-9+\-() ]*[0-9+\-()][0-9+\-() ]*$")]  # not spaces only
    office_email: Email | None = None
    bank_name: _line(100)
    bank_branch: _line(100)
    account_type: BankAccountType
    account_number: Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{1,16}$")]
    account_holder: _line(100)
    document_symbol: _line(20)
    payment_days: Annotated[int, Field(ge=1, le=365)] = 30
    consortium_name: _line(100, required=False) = ""
    seal: SealMark = SealMark.omitted
    closed_days: Annotated[str, StringConstraints(max_length=4000), AfterValidator(closed_days_text)] = ""


FIELDS = tuple(PrefectureSettingsIn.model_fields)


def office_closed_days(session: Session) -> frozenset[dt.date]:
    """The office's own closed days (the settings'), which every due date counted in business days skips
    (:func:`core.calendar.add_business_days`'s ``closed``) beside weekends, holidays and the year-end closure."""
    text = session.scalar(sa.select(PrefectureSettings.closed_days).where(PrefectureSettings.id == SETTINGS_ID))
    return frozenset(dt.date.fromisoformat(line) for line in (text or "").split("\n") if line)


def home_prefecture(session: Session) -> Tenant | None:
    """The registry's prefecture tenant (the platform's home prefecture), or None before it is registered."""
    return session.scalars(sa.select(Tenant).where(Tenant.kind == TenantKind.prefecture).order_by(Tenant.code)).first()


def second_prefecture_refused(home: Tenant, code: str) -> tuple[str, str]:
    """The words (English, Japanese) for refusing ``code`` as a second prefecture beside ``home``:
    one wording, said by the registry's refusal and by the bulk import's row problem."""
    return (f"The registry already has its prefecture, {home.name_en} ({home.code}); {code} cannot be registered "
            "as a prefecture too.",
            f"基盤を運営する県は {home.name_ja}（{home.code}）として登録済みです。{code} を県として登録することはできません。")


class HomePrefectureKept(Conflict):
    """The registry keeps exactly one home prefecture (issue 36): its kind is never changed (the
    rules that protect it, e.g. that it is never suspended, follow its kind), and no second tenant
    becomes a prefecture (the home one would change under every document and guard)."""

    def __init__(self, home: Tenant, code: str) -> None:
        if home.code == code:
            super().__init__(
                f"{home.name_en} ({home.code}) is the prefecture that runs the platform; its kind cannot be changed "
                "(it keeps the platform's operators and its protections). Nothing was changed.",
                f"{home.name_ja}（{home.code}）は基盤を運営する県の団体のため、種別を変更できません"
                "（運営者と、その団体を守る決まりが種別に結び付いています）。変更は行っていません。",
                code=code, problems=[problem("kind", "The prefecture's kind cannot be changed.", "県の種別は変更できません。")])
        else:
            refused_en, refused_ja = second_prefecture_refused(home, code)
            super().__init__(
                f"{refused_en} Nothing was changed.", f"{refused_ja}変更は行っていません。", code=code, prefecture=home.code,
                problems=[problem("kind", "The registry has its prefecture already.", "県は登録済みです。")])


def keep_the_home_prefecture(session: Session, code: str, kind: TenantKind | str | None) -> None:
    """Refuse a tenant's create or kind change that would change which tenant is the home prefecture."""
    if kind is None:
        return
    home = home_prefecture(session)
    if home is None:
        return
    if (home.code == code) != (TenantKind(kind) == TenantKind.prefecture):
        raise HomePrefectureKept(home, code)


def home_prefecture_name(session: Session) -> str:
    prefecture = home_prefecture(session)
    return prefecture.name_ja if prefecture is not None else ""


def consortium_name(session: Session) -> str:
    """The DX consortium's name as the public join form shows it (くまもとDXコンソーシアム): the setting, or
    the home prefecture's name with 「DXコンソーシアム」 before the operator has named it."""
    settings = get_settings(session)
    if settings is not None and settings.consortium_name:
        return settings.consortium_name
    return default_consortium_name(session)


def default_consortium_name(session: Session) -> str:
    """The consortium's name before the operator has named it: 「栃木県DXコンソーシアム」."""
    return f"{home_prefecture_name(session)}DXコンソーシアム"


def get_settings(session: Session) -> PrefectureSettings | None:
    return session.get(PrefectureSettings, SETTINGS_ID)


def read_settings(session: Session, actor: Actor) -> PrefectureSettings:
    """The settings for a reader with ``settings.read``, or NotFound before an operator has set them."""
    authz.authorize(actor, "settings.read")
    settings = get_settings(session)
    if settings is None:
        raise NotFound("The prefecture's settings are not set yet.", "県の設定はまだ登録されていません。")
    return settings


def require_settings(session: Session) -> PrefectureSettings:
    """The settings a document needs, or a refusal that says who must enter them and where: a state of the
    platform that does not allow the act yet (Conflict, 409), not a fault of the request."""
    settings = get_settings(session)
    if settings is None:
        raise Conflict(
            "The prefecture's issuer, office and bank account are not set yet: an operator enters them under Settings.",
            "発行者・担当課・振込先がまだ設定されていません。運営者が「県の設定」で登録してください。",
        )
    return settings


def settings_summary(settings: PrefectureSettings | None) -> dict | None:
    """The settings as plain values (the API's answer and the audit record's before and after)."""
    if settings is None:
        return None
    return {name: (value.value if isinstance(value, (BankAccountType, SealMark)) else value)
            for name in FIELDS for value in [getattr(settings, name)]}


def update_settings(session: Session, actor: Actor, data: PrefectureSettingsIn) -> PrefectureSettings:
    """Set the prefecture's facts (the first call creates them); audited with what changed."""
    authz.authorize(actor, "settings.manage")
    settings = get_settings(session)
    before = settings_summary(settings)
    values = {**data.model_dump(), "office_email": data.office_email or ""}
    if settings is None:
        settings = PrefectureSettings(id=SETTINGS_ID, **values)
        session.add(settings)
    else:
        for name, value in values.items():
            setattr(settings, name, value)
    after = settings_summary(settings)
    if after == before:
        return settings
    settings.updated_at = utcnow()
    session.flush()
    old, new = audit.changes(before, after) if before is not None else (None, after)
    audit.record(session, actor, "settings.update", "prefecture_settings", str(SETTINGS_ID), before=old, after=new)
    return settings

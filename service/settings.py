"""The service settings (one row): availability target, outage confirmation time (after which the
incident opens itself), permitted maintenance hours, the least count of a search word the monthly
report names, when an incident's first report is due and the prefecture's recipients of the reports.
Read with defaults before the operator first saves (the prefecture settings page); saving is audited."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.db import utcnow
from core.errors import Invalid, problem
from core.validation import email_problem
from service.models import ServiceSettings

FIELDS = ("target_basis_points", "outage_after_minutes", "maintenance_weekdays_only", "maintenance_start_hour",
          "maintenance_end_hour", "search_words_minimum", "first_report_minutes", "report_recipients")
KEPT_WHEN_ABSENT = ("first_report_minutes", "report_recipients")  # None in a draft: left as saved
RECIPIENTS_MAX, RECIPIENT_LENGTH = 20, 96  # 20 addresses of 96 characters fit the column
RECIPIENTS_LENGTH = 2000


def current(session: Session) -> ServiceSettings:
    """The saved settings, or the defaults (not added to the session)."""
    return session.get(ServiceSettings, 1) or ServiceSettings(id=1)


def target(settings: ServiceSettings) -> Fraction:
    return Fraction(settings.target_basis_points, 10_000)


def summary(settings: ServiceSettings) -> dict:
    found = {name: getattr(settings, name) for name in FIELDS}
    found["report_recipients"] = recipients_of(settings.report_recipients or "")
    return found


@dataclasses.dataclass(frozen=True)
class SettingsDraft:
    target_basis_points: int
    outage_after_minutes: int
    maintenance_weekdays_only: bool
    maintenance_start_hour: int
    maintenance_end_hour: int
    search_words_minimum: int = 5  # the monthly report names a search word searched at least this often
    first_report_minutes: int | None = None  # None: unchanged
    report_recipients: list[str] | None = None  # e-mail addresses ([]: none of its own); None: unchanged


def recipients_of(text: str) -> list[str]:
    """The addresses of a recipients' setting, or of a form's text (commas, spaces or new lines between them)."""
    return [part for part in text.replace(",", " ").split() if part]


def _problems(draft: SettingsDraft) -> list[dict]:
    problems = []
    if not 5_000 <= draft.target_basis_points <= 10_000:
        problems.append(problem("target_basis_points", "Between 50.00 % and 100.00 % (5000 to 10000).",
                                "50.00％から100.00％の間（5000〜10000）で指定してください。"))
    if not 1 <= draft.outage_after_minutes <= 24 * 60:
        problems.append(problem("outage_after_minutes", "Between 1 and 1440 minutes.", "1〜1440 分で指定してください。"))
    if not 0 <= draft.maintenance_start_hour < draft.maintenance_end_hour <= 24:
        problems.append(problem("maintenance_end_hour", "The permitted hours must end after they start (0 to 24).",
                                "作業可能時間は開始時刻より後に終わるようにしてください（0〜24 時）。"))
    if not 1 <= draft.search_words_minimum <= 1000:
        problems.append(problem("search_words_minimum", "Between 1 and 1000 searches.", "1〜1000 回で指定してください。"))
    if draft.first_report_minutes is not None and not 1 <= draft.first_report_minutes <= 24 * 60:
        problems.append(problem("first_report_minutes", "Between 1 and 1440 minutes.", "1〜1440 分で指定してください。"))
    problems += _recipient_problems(draft.report_recipients)
    return problems


def _recipient_problems(addresses: list[str] | None) -> list[dict]:
    if addresses is None:
        return []
    if len(addresses) > RECIPIENTS_MAX or len(", ".join(addresses)) > RECIPIENTS_LENGTH:
        return [problem("report_recipients", f"At most {RECIPIENTS_MAX} addresses.", f"宛先は {RECIPIENTS_MAX} 件までです。")]
    found = [email_problem("report_recipients", address) or (
        problem("report_recipients", f"{address} is not an e-mail address.", f"{address} はメールアドレスの形式ではありません。")
        if "," in address else None) for address in addresses]
    return [next(item for item in found if item)] if any(found) else []


def save(session: Session, actor: Actor, draft: SettingsDraft) -> ServiceSettings:
    """Save the settings (``service.settings``: the operator's, never the vendor's); audited ``service.settings``
    with before and after."""
    authz.authorize(actor, "service.settings")
    problems = _problems(draft)
    if problems:
        raise Invalid("The service settings were not saved.", "稼働目標の設定に誤りがあります。保存していません。",
                      problems=problems)
    row = session.get(ServiceSettings, 1)
    before = summary(row) if row else None
    row = row or ServiceSettings(id=1)
    for name in FIELDS:
        value = getattr(draft, name)
        if value is None and name in KEPT_WHEN_ABSENT:
            continue
        setattr(row, name, ", ".join(value) if name == "report_recipients" else value)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    audit.record(session, actor, "service.settings", "service_settings", "1", before=before, after=summary(row))
    return row

"""The incident reports as letters to the prefecture: the first report (第一報) and the final report
(原因, 影響, 対応, 再発防止策), each one A4 page with its number, date, addressee and issuer, rendered
by the letters' own machinery (:func:`billing.documents.pdf_of`, its style and font).

The addressee is the prefecture's issuer from its settings (熊本県知事 様); the issuer is the
platform's operator (a setting of the installation, ``RENKEI_INCIDENT_REPORTER``, by default the
home prefecture's platform operator). The texts are bounded when written
(the final report's parts at :data:`service.incidents.operations.PART_MAX`) and the first report
shows the description's start and the latest entries, so that a report stays one page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import html

from sqlalchemy.orm import Session

from billing.documents import LETTER_STYLE, contact_text, letter_head, pdf_of, rows_html
from core.actor import Actor
from core.calendar import jst_text_ja
from service.incidents import operations
from service.incidents.models import EntryKind, Incident, IncidentReport, ReportKind, Severity
from tenancy.registry.models import PrefectureSettings
from tenancy.registry.prefecture import home_prefecture_name, require_settings

DESCRIPTION_SHOWN = 300  # characters of the description on the first report (the rest stays on its page)
ENTRIES_SHOWN = 8  # the latest timeline entries on the first report

STYLE = LETTER_STYLE + "\nbody { font-size: 9pt; } td.text { white-space: pre-wrap; }\n"


@dataclasses.dataclass(frozen=True)
class ReportLetter:
    incident: Incident
    report: IncidentReport
    settings: PrefectureSettings
    reporter: str
    rows: list[tuple[str, str]]

    @property
    def title(self) -> str:
        return ReportKind(self.report.kind).ja


def default_reporter(session: Session) -> str:
    return f"{home_prefecture_name(session)}データ連携基盤 運営者"


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "—"
    return jst_text_ja(moment)


def _shown(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…（以下略）"


def report_letter(session: Session, actor: Actor, incident_id: int, kind: str, *, reporter: str = "") -> ReportLetter:
    """The letter of an incident's report (first or final), with the facts it states."""
    report = operations.get_report(session, actor, incident_id, kind)
    incident = operations.get_incident(session, actor, incident_id)
    names = "、".join(c.component_name for c in operations.components(session, incident.id)) or "—"
    tenants = "、".join(name or code for code, name in operations.tenants(session, incident.id)) or "—"
    members = "、".join(name or number for number, name in operations.members(session, incident.id))
    rows = [("障害", incident.title), ("重大度", Severity(incident.severity).ja), ("対象の構成要素", names),
            ("影響を受けた市町村", tenants)]
    if members:
        rows.append(("影響を受けた会員", members))
    rows += [("検知日時", _when(incident.detected_at)), ("復旧日時", _when(incident.recovered_at)),
             ("復旧期限（検知から24時間）", _when(incident.detected_at + dt.timedelta(hours=operations.RECOVERY_HOURS)))]
    if report.kind is ReportKind.first:
        if incident.description:
            rows.append(("状況", _shown(incident.description, DESCRIPTION_SHOWN)))
        entries = operations.timeline(session, incident.id)[-ENTRIES_SHOWN:]
        rows.append(("経過", "\n".join(f"{_when(e.at)} {EntryKind(e.kind).ja} {_shown(e.text, 80)}"
                                        for e in entries)))
    else:
        rows += [("原因", incident.cause), ("影響", incident.impact), ("対応", incident.response),
                 ("再発防止策", incident.prevention)]
    return ReportLetter(incident, report, require_settings(session), reporter or default_reporter(session), rows)


def _opening(letter: ReportLetter) -> str:
    if letter.report.kind is ReportKind.first:
        return "データ連携基盤において下記の障害が発生しましたので、第一報として報告します。"
    return "データ連携基盤において発生した下記の障害について、対応を完了しましたので報告します。"


def letter_html(letter: ReportLetter) -> str:
    e = html.escape
    settings = letter.settings
    cells = rows_html(letter.rows, td_class="text")
    return (f'<section class="letter">'
            f"{letter_head(letter.report.number, letter.report.issued_on, f'{settings.issuer_title} 様', letter.reporter)}"
            f"<h1>{e(letter.title)}</h1><p>{e(_opening(letter))}</p>"
            f"<table>{cells}</table>"
            f"<h2>問い合わせ先（県の担当課）</h2><p>{e(contact_text(settings))}</p>"
            f"</section>")


def report_pdf(letter: ReportLetter) -> bytes:
    """The report as one A4 page of PDF."""
    return pdf_of(letter.title, letter_html(letter), STYLE)

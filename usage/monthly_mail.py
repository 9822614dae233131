"""The monthly usage report sent to the prefecture (月次利用実績報告の送付), a due job.

Once the month is over, the platform report of that month (:func:`usage.reports.build_report`,
CSV as in the download) is queued in the notifications outbox to the contacts of the prefecture's
tenant. Queueing is idempotent (one message per month), audited once, and delivered with the
rest of the outbox.

The message also carries the newest signed audit checkpoint (``checkpoint``, a JSON document of
:mod:`core.checkpoints`, given by the caller): a copy of the chain head outside renkei's servers
that the recipients keep, and that ``renkei audit verify --checkpoint-file`` reads back; and the
newest signed checkpoints of the consent and linkage chains (``chain_checkpoints``), which
``renkei check`` reads from the checkpoint folder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from core import audit, outbox
from core.actor import Actor
from core.calendar import add_months, current_month
from tenancy.registry.models import Tenant, TenantKind
from usage.reports import build_report, report_csv

KIND = "usage.monthly_report"


@dataclasses.dataclass(frozen=True)
class MonthlyReportOutcome:
    month: dt.date
    queued: bool
    reason: str  # why nothing was queued (empty when queued)


def dedupe_key(month: dt.date) -> str:
    return f"usage-report:{month:%Y-%m}"


def checkpoint_lines(checkpoint: str | None, chain_checkpoints: Sequence[str] = ()) -> list[str]:
    if not checkpoint:
        lines = ["操作ログのチェックポイント：まだ作成されていません（定期処理の実行後に作成されます）。", ""]
    else:
        lines = ["操作ログのチェックポイント（改ざん検知のため、このメールを保管してください。監査の際に",
                 "次の 1 行をファイルに保存し renkei audit verify --checkpoint-file で照合できます）：",
                 checkpoint, ""]
    if chain_checkpoints:
        lines += ["同意記録・連携記録のチェックポイント（各 1 行。チェックポイントのフォルダーに保存すると",
                  "renkei check が照合します）：", *chain_checkpoints, ""]
    return lines


def queue_last_month(session: Session, actor: Actor, now: dt.datetime | None = None, *,
                     checkpoint: str | None = None, chain_checkpoints: Sequence[str] = ()) -> MonthlyReportOutcome:
    """Queue last month's platform usage report (CSV in the body) to the prefecture's contacts, with
    the signed audit ``checkpoint`` (JSON text) when one is given, and the signed checkpoints of the
    consent and linkage chains (``chain_checkpoints``, one JSON text each)."""
    month = add_months(current_month(now), -1)
    report = build_report(session, actor, month)  # asks usage.read for every tenant
    prefecture = session.scalars(sa.select(Tenant).where(Tenant.kind == TenantKind.prefecture)
                                 .options(selectinload(Tenant.contacts)).order_by(Tenant.code)).first()
    if prefecture is None or not outbox.recipients_of(prefecture):
        return MonthlyReportOutcome(month, False, "no prefecture tenant with a contact e-mail address")
    text = report_csv(report).decode("utf-8-sig")
    message = outbox.queue(
        session, kind=KIND, tenant=prefecture, dedupe_key=dedupe_key(month),
        subject=f"【エリアデータ連携基盤】{month.year}年{month.month}月の利用実績報告",
        body="\n".join([
            f"{prefecture.name_ja} ご担当者 様", "",
            f"{month.year}年{month.month}月の参加団体別の利用実績（{len(report.tenants)} 団体）をお送りします。",
            "以下は CSV 形式です（表計算ソフトに貼り付けてご利用ください）。", "",
            text, "",
            *checkpoint_lines(checkpoint, chain_checkpoints),
            "本メールは共同利用管理システム（renkei）から自動で送信しています。",
        ]),
    )
    if message is None:
        return MonthlyReportOutcome(month, False, "already queued")
    audit.record(session, actor, "usage.report.send", "usage_report", f"{month:%Y-%m}", tenant_code=prefecture.code,
                 after={"month": f"{month:%Y-%m}", "tenants": len(report.tenants), "notification": message.id})
    return MonthlyReportOutcome(month, True, "")

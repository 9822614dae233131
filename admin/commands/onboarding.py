"""`renkei onboarding ...`: waves, single transitions, provisioning retry, the board, and outbox delivery.

Every command commits once at the end through ``db.session.commit``; the provisioning saga (a
wave, ``provision``, ``retry``) also commits after each of its steps itself (see
tenancy/onboarding/saga.py).
"""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.extensions import db
from core.errors import DomainError
from admin.commands.acting import acting
from admin.commands.output import fail
from core import authz


@click.group("onboarding")
def group() -> None:
    """Onboarding and offboarding of municipalities (参加・脱退の手続き)."""


def _fail(error: DomainError) -> None:
    db.session.rollback()
    fail(error)


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(_width(str(cell)) for cell in column) for column in zip(headers, *rows)]
    click.echo("  ".join(_pad(h, w) for h, w in zip(headers, widths)).rstrip())
    click.echo("  ".join("-" * w for w in widths))
    for row in rows:
        click.echo("  ".join(_pad(str(cell), w) for cell, w in zip(row, widths)).rstrip())


def smtp_sender():
    """The SMTP sender from configuration, or None when RENKEI_SMTP_HOST is not set."""
    from core.smtp import SmtpSender, SmtpSettings

    config = current_app.config
    if not config.get("RENKEI_SMTP_HOST"):
        return None
    return SmtpSender(SmtpSettings(
        host=config["RENKEI_SMTP_HOST"], port=int(config.get("RENKEI_SMTP_PORT", 25)),
        sender=config.get("RENKEI_SMTP_FROM", "renkei@localhost"), username=config.get("RENKEI_SMTP_USER", ""),
        password=config.get("RENKEI_SMTP_PASSWORD", ""), starttls=bool(config.get("RENKEI_SMTP_STARTTLS")),
    ))


def _deliver(quiet_when_unconfigured: bool = False) -> tuple[int, int] | None:
    from core.outbox import deliver_pending

    sender = smtp_sender()
    if sender is None:
        if not quiet_when_unconfigured:
            click.echo("SMTP が設定されていないため送信していません（通知は保存されています）/ "
                       "RENKEI_SMTP_HOST is not set: messages stay queued")
        return None
    sent, failed = deliver_pending(db.session, sender)
    db.session.commit()
    return sent, failed


@group.command("wave")
@click.argument("fiscal_year")
@click.option("--from", "source", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Wave CSV (UTF-8 or CP932; Japanese or English headers).")
@with_appcontext
@acting(authz.OPERATOR)
def wave(fiscal_year: str, source: Path, actor) -> None:
    """Onboard every municipality of FILE for FISCAL_YEAR (e.g. FY2025): apply, screen, approve, provision.

    Exit code 0 when every municipality is active, 1 when some are not, 2 when the file is refused.
    """
    from admin.identity import identity_directory
    from tenancy.onboarding import lifecycle, waves

    try:
        year = waves.parse_fiscal_year(fiscal_year)
        rows = waves.parse_wave_csv(source.read_bytes())
        waves.validate_wave(db.session, year, rows)
    except DomainError as error:
        _fail(error)
    directory = identity_directory()
    with click.progressbar(length=len(rows), label=f"FY{year} 参加手続き", show_pos=True,
                           item_show_func=lambda code: code or "") as bar:
        def step(outcome) -> None:
            bar.update(1, outcome.code)

        outcomes = waves.run_wave(db.session, actor, directory, year, rows, progress=step)
    click.echo("")
    print_table(
        ["団体コード", "団体名", "状態", "結果", "止まった手順", "内容"],
        [[o.code, o.name_ja, lifecycle.status_label(o.status) if o.status != "-" else "-", "OK" if o.ok else "要対応",
          o.failed_step or "", o.message_ja] for o in outcomes],
    )
    ok = sum(o.ok for o in outcomes)
    click.echo(f"\n{ok}/{len(outcomes)} 団体が利用中になりました / {ok} of {len(outcomes)} municipalities active")
    delivered = _deliver(quiet_when_unconfigured=True)
    if delivered is not None:
        click.echo(f"通知 {delivered[0]} 件送信、{delivered[1]} 件失敗（再送対象）")
    sys.exit(0 if ok == len(outcomes) else 1)


def _transition(name: str, actor, code: str, reason: str) -> None:
    from admin.identity import identity_directory
    from tenancy.onboarding import lifecycle, saga as onboarding

    try:
        onboarding.transition(db.session, actor, identity_directory(), code, name, reason)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    tenant = lifecycle.get_tenant(db.session, code)
    click.echo(f"{tenant.code} {tenant.name_ja}: {lifecycle.status_label(tenant.status)} ({tenant.status.value})")


def _transition_command(name: str, help_text: str, reason_required: bool = False):
    @click.argument("code")
    @click.option("--reason", default="", required=reason_required, help="Why (kept in the tenant's history).")
    @with_appcontext
    @acting(authz.OPERATOR)
    def command(code: str, reason: str, actor) -> None:
        _transition(name, actor, code, reason)

    command.__doc__ = help_text
    return group.command(name.replace("_", "-"))(command)


_transition_command("screen", "Start screening an application (applied → screening).")
_transition_command("approve", "Approve after screening (screening → approved).")
_transition_command("provision", "Provision an approved tenant and activate it (approved → provisioning → active).")
_transition_command("retry", "Finish a tenant stopped in provisioning, from its failed step.")
_transition_command("activate", "Activate a provisioned tenant (provisioning → active).")
_transition_command("suspend", "Suspend an active tenant (users disabled, quotas zero).", reason_required=True)
_transition_command("resume", "Resume a suspended tenant.")
_transition_command("withdraw", "Withdraw a tenant (users removed; handover checklist; final settlement).", reason_required=True)
_transition_command("reapply", "Re-application of a withdrawn tenant (operator only).", reason_required=True)


@group.command("check")
@click.argument("code")
@click.argument("item")
@click.option("--checklist", type=click.Choice(["screening", "handover"]), default="screening", show_default=True)
@click.option("--undo", is_flag=True, help="Untick the item.")
@click.option("--note", default="")
@with_appcontext
@acting(authz.OPERATOR)
def check(code: str, item: str, checklist: str, undo: bool, note: str, actor) -> None:
    """Tick (or with --undo untick) one checklist item of a tenant, such as no_antisocial_ties."""
    from tenancy.onboarding import lifecycle

    try:
        lifecycle.check_item(db.session, actor, code, checklist, item, not undo, note)
        db.session.commit()
    except DomainError as error:
        _fail(error)
    click.echo(f"{code} {checklist}/{item}: {'未' if undo else '済'}")


@group.command("board")
@with_appcontext
@acting(authz.OPERATOR)
def board(actor) -> None:
    """The onboarding board in the terminal: counts by state and per wave, failed steps."""
    from tenancy.onboarding import board as onboarding_board
    from tenancy.registry.models import TenantStatus

    try:
        data = onboarding_board.board(db.session, actor)
    except DomainError as error:
        _fail(error)
    statuses = list(TenantStatus)
    print_table(["年度"] + [s.ja for s in statuses],
                [[wave] + [str(counts[s.value]) for s in statuses] for wave, counts in data["waves"].items()]
                + [["計"] + [str(data["counts"][s.value]) for s in statuses]])
    click.echo(f"\n利用中の市町村: {data['active_municipalities']} / active municipalities")
    failed = [card for card in data["columns"]["provisioning"] if card["failed_step"]]
    for card in failed:
        click.echo(f"  {card['code']} {card['name_ja']}: 「{card['failed_step_label_ja']}」で停止 — {card['error']}")


@group.command("deliver")
@with_appcontext
def deliver() -> None:
    """Send queued and failed notifications through SMTP (run it from cron; failures are retried next time)."""
    result = _deliver()
    if result is None:
        sys.exit(1)
    sent, failed = result
    click.echo(f"{sent} 件送信、{failed} 件失敗（次回再送）/ sent {sent}, failed {failed}")
    sys.exit(0 if failed == 0 else 1)

"""`renkei service ...`: running the platform (docs/service.md).

    renkei service probe                      probe every component once and record it (a timer, every minute)
    renkei service components                 the components probed and their state now
    renkei service register NAME URL          register a component by its health URL
    renkei service stop KEY / resume KEY      stop or resume probing a component
    renkei service availability --month M    each component's availability in a month, against the target
    renkei service maintenance list / schedule / cancel
    renkei service settings [--target 99.5]   the availability target, outage time and permitted hours
    renkei service monthly-report write / list / download / send   the monthly report to the prefecture

Every change is the operation's (audited there); the command commits once, or rolls back and prints
the problem in Japanese and English.
"""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed, fail
from admin.extensions import db
from core import authz
from core.calendar import current_month, jst_text, parse_month
from core.errors import DomainError


@click.group("service")
def group() -> None:
    """Running the platform: availability, planned maintenance (稼働監視・計画メンテナンス)."""


def _authorize(actor, action: str) -> None:
    try:
        authz.authorize(actor, action)
    except DomainError as error:
        fail(error)


@group.command("probe")
@click.option("--only", multiple=True, help="Probe only this component key (repeatable).")
@with_appcontext
@acting(authz.OPERATOR, maintenance=True)
def probe_command(only: tuple[str, ...], actor) -> None:
    """Probe every active component once and record the results (run it every minute)."""
    from admin.service.checks import probe_round

    _authorize(actor, "service.manage")
    outcome = probe_round(only=set(only) or None)
    for key, state in sorted(outcome["states"].items()):
        click.echo(f"{key}\t{state}")
    if outcome["purged"]:
        click.echo(f"1 年を過ぎた計測結果 {outcome['purged']} 件を削除しました / purged {outcome['purged']} probe result(s)")


@group.command("components")
@with_appcontext
@acting(authz.OPERATOR)
def components_command(actor) -> None:
    """The components probed, with their state now."""
    from service import status

    _authorize(actor, "service.read")
    for item in status.snapshot(db.session, days=1).components:
        since = jst_text(item.since) if item.since else "-"
        click.echo(f"{item.component.key}\t{item.state}\t{since}\t{item.component.name_ja}\t{item.component.url}")


@group.command("register")
@click.argument("name_ja")
@click.argument("url")
@click.option("--name-en", default="")
@click.option("--expected-status", type=int, default=200, show_default=True)
@click.option("--timeout-ms", type=int, default=5000, show_default=True)
@with_appcontext
@acting(authz.OPERATOR)
def register_command(name_ja: str, url: str, name_en: str, expected_status: int, timeout_ms: int, actor) -> None:
    """Register a component by its health URL."""
    from service import components

    draft = components.ComponentDraft(name_ja=name_ja, url=url, name_en=name_en, expected_status=expected_status,
                                      timeout_ms=timeout_ms)
    component = committed(lambda: components.register(db.session, actor, draft))
    click.echo(f"{component.key}\t{component.name_ja}\t{component.url}")


def _set_active(key: str, active: bool, actor) -> None:
    from service import components

    component = committed(lambda: components.set_active(db.session, actor, key, active))
    click.echo(f"{component.key}\t{'probed' if component.active else 'stopped'}")


@group.command("stop")
@click.argument("key")
@with_appcontext
@acting(authz.OPERATOR)
def stop_command(key: str, actor) -> None:
    """Stop probing a component (its intervals stay)."""
    _set_active(key, False, actor)


@group.command("resume")
@click.argument("key")
@with_appcontext
@acting(authz.OPERATOR)
def resume_command(key: str, actor) -> None:
    """Probe a stopped component again."""
    _set_active(key, True, actor)


@group.command("availability")
@click.option("--month", default=None, help="YYYY-MM (Japan time); this month when omitted.")
@with_appcontext
@acting(authz.OPERATOR)
def availability_command(month: str | None, actor) -> None:
    """Each component's availability in a month (maintenance excluded), against the target."""
    from service import report
    from service.availability import percent_text

    try:
        chosen = parse_month(month) if month else current_month()
        rows = report.month_availability(db.session, actor, chosen, now=dt.datetime.now(dt.timezone.utc))
    except DomainError as error:
        fail(error)
    for row in rows:
        meets = {True: "met", False: "MISSED", None: "-"}[row.meets]
        ratio = "not measured" if row.measured.ratio is None else f"{percent_text(row.measured.ratio)} %"
        click.echo(f"{row.component.key}\t{ratio}\ttarget {percent_text(row.target, 2)} %\t"
                   f"{meets}\tmeasured {percent_text(row.measured.measured_share)} %\t"
                   f"maintenance {row.measured.maintenance // 60_000_000} min\toutages {row.outages}")


@group.group("maintenance")
def maintenance_group() -> None:
    """Planned maintenance windows (計画メンテナンス)."""


@maintenance_group.command("list")
@with_appcontext
@acting(authz.OPERATOR)
def maintenance_list(actor) -> None:
    from service import maintenance

    _authorize(actor, "service.read")
    for window in maintenance.windows(db.session, include_cancelled=True):
        state = "cancelled" if window.cancelled_at else "scheduled"
        click.echo(f"{window.id}\t{jst_text(window.starts_at)}\t{jst_text(window.ends_at)}\t{state}\t{window.title}\t"
                   f"{','.join(maintenance.keys_of(db.session, window))}")


@maintenance_group.command("schedule")
@click.option("--title", required=True)
@click.option("--start", "starts_at", type=click.DateTime(["%Y-%m-%dT%H:%M"]), required=True, help="Japan time, YYYY-MM-DDTHH:MM")
@click.option("--end", "ends_at", type=click.DateTime(["%Y-%m-%dT%H:%M"]), required=True, help="Japan time")
@click.option("--component", "components", multiple=True, required=True, help="Affected component key (repeatable).")
@click.option("--tenant", "tenants", multiple=True, help="Affected municipality's code (repeatable); all active when none.")
@click.option("--description", default="")
@click.option("--outside-hours-reason", default="", help="Required outside the permitted hours.")
@click.option("--to-members", is_flag=True, help="Also announce to the member organisations.")
@with_appcontext
@acting(authz.OPERATOR)
def maintenance_schedule(title, starts_at, ends_at, components, tenants, description, outside_hours_reason, to_members,
                         actor) -> None:
    """Schedule a window and announce it (notice and e-mails) to the affected municipalities."""
    from core.calendar import JST
    from service import maintenance, settings

    draft = maintenance.WindowDraft(title=title, starts_at=starts_at.replace(tzinfo=JST), ends_at=ends_at.replace(tzinfo=JST),
                                    component_keys=components, tenant_codes=tenants, description=description,
                                    outside_hours_reason=outside_hours_reason, to_members=to_members)
    window = committed(lambda: maintenance.schedule(db.session, actor, draft, settings.current(db.session)))
    click.echo(f"{window.id}\t{jst_text(window.starts_at)}\t{jst_text(window.ends_at)}\tnotice {window.notice_id}")


@maintenance_group.command("cancel")
@click.argument("window_id", type=int)
@click.option("--reason", required=True)
@with_appcontext
@acting(authz.OPERATOR)
def maintenance_cancel(window_id: int, reason: str, actor) -> None:
    """Cancel a window and announce the cancellation."""
    from service import maintenance

    window = committed(lambda: maintenance.cancel(db.session, actor, window_id, reason))
    click.echo(f"{window.id}\tcancelled")


@group.command("settings")
@click.option("--target", type=click.FloatRange(50, 100), default=None, help="Availability target in %, e.g. 99.5.")
@click.option("--outage-after", "outage_after", type=int, default=None, help="Minutes of failed probes that confirm an outage.")
@click.option("--hours", default=None, help="Permitted maintenance hours, e.g. 9-17 (Japan time).")
@click.option("--any-day/--weekdays-only", default=None)
@with_appcontext
@acting(authz.OPERATOR)
def settings_command(target, outage_after, hours, any_day, actor) -> None:
    """Show the service settings, or change those given."""
    from service import settings

    row = settings.current(db.session)
    values = settings.summary(row)
    if target is not None:
        values["target_basis_points"] = round(target * 100)
    if outage_after is not None:
        values["outage_after_minutes"] = outage_after
    if hours:
        start, _, end = hours.partition("-")
        values["maintenance_start_hour"], values["maintenance_end_hour"] = int(start), int(end or 0)
    if any_day is not None:
        values["maintenance_weekdays_only"] = not any_day
    if (target, outage_after, hours, any_day) != (None, None, None, None):
        row = committed(lambda: settings.save(db.session, actor, settings.SettingsDraft(**values)))
    for name, value in settings.summary(row).items():
        click.echo(f"{name}\t{value}")


@group.group("monthly-report")
def monthly_report_group() -> None:
    """The monthly report to the prefecture (月次運用報告): write, list, download, send."""


@monthly_report_group.command("write")
@click.option("--month", default=None, help="YYYY-MM (Japan time); last month when omitted.")
@with_appcontext
@acting(authz.OPERATOR)
def monthly_report_write(month: str | None, actor) -> None:
    """Write a month's report (a new version; the earlier ones stay)."""
    from admin.request_log import destination
    from core.calendar import add_months
    from flask import current_app
    from service import monthly_report

    try:
        chosen = parse_month(month) if month else add_months(current_month(), -1)
    except DomainError as error:
        fail(error)
    row = committed(lambda: monthly_report.write(db.session, actor, chosen, destination(current_app.config)))
    click.echo(f"{row.id}\t{row.month:%Y-%m}\tv{row.version}")


@monthly_report_group.command("list")
@with_appcontext
@acting(authz.OPERATOR)
def monthly_report_list(actor) -> None:
    """Every writing, newest first: id, month, version, written, sent."""
    from service import monthly_report

    try:
        rows = monthly_report.history(db.session, actor)
    except DomainError as error:
        fail(error)
    for row in rows:
        sent = jst_text(row.sent_at) if row.sent_at else "-"
        click.echo(f"{row.id}\t{row.month:%Y-%m}\tv{row.version}\t{jst_text(row.written_at)}\t{sent}")


@monthly_report_group.command("download")
@click.argument("report_id", type=int)
@click.option("--format", "fmt", type=click.Choice(["pdf", "xlsx"]), default="pdf", show_default=True)
@click.option("--output", type=click.Path(dir_okay=False), required=True)
@with_appcontext
@acting(authz.OPERATOR)
def monthly_report_download(report_id: int, fmt: str, output: str, actor) -> None:
    """Save a writing's PDF or workbook."""
    from pathlib import Path

    from service import monthly_report

    try:
        _row, data = monthly_report.download(db.session, actor, report_id, fmt)
    except DomainError as error:
        fail(error)
    Path(output).write_bytes(data)
    db.session.commit()  # the hand-out's audit record, once the file is written
    click.echo(output)


@monthly_report_group.command("send")
@click.argument("report_id", type=int)
@with_appcontext
@acting(authz.OPERATOR)
def monthly_report_send(report_id: int, actor) -> None:
    """Send a writing to the prefecture's recipients (the incident reports' recipients) through the outbox."""
    from admin.service.incident_settings import report_recipients
    from service import monthly_report

    row = committed(lambda: monthly_report.send(db.session, actor, report_id, report_recipients()))
    click.echo(f"{row.id}\t{row.month:%Y-%m}\tv{row.version}\tsent to {row.recipients}")

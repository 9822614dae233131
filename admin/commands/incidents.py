"""`renkei incidents ...`: the incident register (障害台帳) on the command line.

* ``list``: the register (platform incidents and identity incidents), newest first;
* ``open TITLE [--severity] [--detected-at] [--component CODE=NAME] [--tenant CODE]``: open one;
* ``entry ID KIND TEXT [--at]``: a timeline entry (workaround, note, recovered);
* ``first-report ID`` / ``close ID --cause --impact --response --prevention``: the reports to the
  prefecture (numbered letters; both ask first, as they cannot be undone);
* ``report ID first|final -o FILE``: a report as its one-page A4 PDF.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed, write_output
from admin.extensions import db
from admin.service.incident_settings import report_recipients, reporter
from core import authz
from core.calendar import JST, jst_text
from service.incidents import letters, operations, register
from service.incidents.models import Severity


@click.group("incidents")
def group() -> None:
    """The incident register (障害台帳): incidents, their timeline and the reports to the prefecture."""


def _when(moment: dt.datetime | None) -> str:
    return jst_text(moment) if moment else "-"


@group.command("list")
@with_appcontext
@acting(authz.OPERATOR)
def list_command(actor) -> None:
    """The register: kind, number, state, detection, title."""
    for row in committed(lambda: register.register(db.session, actor)):
        click.echo(f"{row.kind_label[0]}\t#{row.id}\t{row.status_ja}\t{_when(row.detected_at)}\t{row.title}")


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=JST) if value is not None and value.tzinfo is None else value


@group.command("open")
@click.argument("title")
@click.option("--severity", type=click.Choice(["critical", "major", "minor"]), default="major", show_default=True)
@click.option("--detected-at", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]), help="Japan time (default: now).")
@click.option("--description", default="")
@click.option("--component", "components", multiple=True, help="CODE=NAME, e.g. catalogue=データカタログ.")
@click.option("--tenant", "tenants", multiple=True, help="An affected tenant's code.")
@with_appcontext
@acting(authz.OPERATOR)
def open_command(title, severity, detected_at, description, components, tenants, actor) -> None:
    """Open an incident by hand."""
    pairs = [tuple(part.split("=", 1)) if "=" in part else (part, part) for part in components]
    incident = committed(lambda: operations.open_incident(db.session, actor, operations.IncidentDraft(
        title=title, severity=severity, detected_at=_aware(detected_at), description=description,
        components=pairs, tenant_codes=tenants)))
    click.echo(f"障害 #{incident.id} を登録しました / incident #{incident.id} opened")


@group.command("edit")
@click.argument("incident_id", type=int)
@click.option("--severity", type=click.Choice([s.value for s in Severity]), default=None)
@click.option("--tenant", "tenants", multiple=True, help="Add an affected municipality (tenant code; repeatable).")
@click.option("--member", "members", multiple=True, help="Add an affected member (corporate number; repeatable).")
@with_appcontext
@acting(authz.OPERATOR)
def edit_command(incident_id, severity, tenants, members, actor) -> None:
    """Change an open incident's severity and add the municipalities and members it affects."""
    incident = committed(lambda: operations.edit_incident(db.session, actor, incident_id, severity=severity,
                                                          add_tenant_codes=tenants, add_member_numbers=members))
    click.echo(f"障害 #{incident.id} を変更しました / incident #{incident.id} changed: {incident.severity.value}, "
               f"{', '.join(operations.tenant_codes(db.session, incident.id)) or '-'}")


@group.command("entry")
@click.argument("incident_id", type=int)
@click.argument("kind", type=click.Choice([kind.value for kind in operations.ENTRY_KINDS_BY_HAND]))
@click.argument("text")
@click.option("--at", type=click.DateTime(["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]), help="Japan time (default: now).")
@with_appcontext
@acting(authz.OPERATOR)
def entry_command(incident_id, kind, text, at, actor) -> None:
    """Add a timeline entry (``recovered`` stops the 24-hour clock)."""
    committed(lambda: operations.add_entry(db.session, actor, incident_id, kind, text, _aware(at)))
    click.echo(f"経過を記録しました / entry added to incident #{incident_id}")


@group.command("first-report")
@click.argument("incident_id", type=int)
@click.confirmation_option(prompt="県へ第一報（文書番号付き）を送ります。取り消しはできません。続けますか / Send the first report?")
@with_appcontext
@acting(authz.OPERATOR)
def first_report_command(incident_id, actor) -> None:
    """Send the first report to the prefecture (a numbered letter; notices to the affected)."""
    report = committed(lambda: operations.send_first_report(db.session, actor, incident_id, recipients=report_recipients()))
    click.echo(f"第一報 {report.number} を発行しました / first report {report.number} issued")


@group.command("close")
@click.argument("incident_id", type=int)
@click.option("--cause", required=True)
@click.option("--impact", required=True)
@click.option("--response", required=True)
@click.option("--prevention", required=True)
@click.confirmation_option(prompt="最終報告を送り、障害を完了にします。取り消しはできません。続けますか / Close with the final report?")
@with_appcontext
@acting(authz.OPERATOR)
def close_command(incident_id, cause, impact, response, prevention, actor) -> None:
    """Close a recovered incident with the final report (原因, 影響, 対応, 再発防止策)."""
    report = committed(lambda: operations.close_incident(db.session, actor, incident_id, operations.FinalReport(
        cause, impact, response, prevention), recipients=report_recipients()))
    click.echo(f"最終報告 {report.number} を発行し、完了にしました / final report {report.number} issued, incident closed")


@group.command("report")
@click.argument("incident_id", type=int)
@click.argument("kind", type=click.Choice(["first", "final"]))
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), help="PDF file (default: stdout).")
@with_appcontext
@acting(authz.OPERATOR)
def report_command(incident_id, kind, output, actor) -> None:
    """A report to the prefecture as its one-page A4 PDF."""
    letter = committed(lambda: letters.report_letter(db.session, actor, incident_id, kind, reporter=reporter()))
    write_output(letters.report_pdf(letter), output)

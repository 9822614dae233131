"""`renkei events ...`: events, seminars, community meetings and training (secretariat/events.py).

* ``list [--fiscal-year N]``; ``year N``: the year's figures per kind against the targets;
* ``create --kind K --title T --starts ISO --ends ISO --capacity N --audience A [--place --online-url]``;
* ``register EVENT_ID --name --email``; ``cancel REGISTRATION_ID`` (the first waiting moves up);
* ``attendance EVENT_ID ID...``; ``archive EVENT_ID URL``; ``target N KIND --events E --attendance A``;
* ``remind``: reminders for events of the next business day (the due job's).
Every act is audited by the operation.
"""

from __future__ import annotations

import datetime as dt

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from core.calendar import JST, fiscal_year_of, jst_text, today_jst
from secretariat import events as ev

ROW_ID = click.IntRange(1, 2**31 - 1)


@click.group("events")
def group() -> None:
    """Events, seminars, community meetings and training (イベント・セミナー・研修)."""


@group.command("list")
@click.option("--fiscal-year", type=click.IntRange(1989, 2100))
@with_appcontext
@acting(authz.OPERATOR)
def list_command(fiscal_year: int | None, actor) -> None:
    """Events of a fiscal year (default: this one)."""
    year = fiscal_year or fiscal_year_of(today_jst())
    for row in committed(lambda: ev.list_events(db.session, actor, fiscal_year=year)):
        click.echo(f"{row.id}\t{jst_text(row.starts_at)}\t{row.kind.ja}\t"
                   f"{row.title}\t{row.capacity}")


@group.command("year")
@click.argument("fiscal_year", type=click.IntRange(1989, 2100))
@with_appcontext
@acting(authz.OPERATOR)
def year_command(fiscal_year: int, actor) -> None:
    """The year per kind: held/target, attendance/target, registrations, members, non-members, new members."""
    click.echo("種類/kind\t開催/held\t目標/target\t参加/attended\t目標/target\t申込/registrations\t会員/members\t"
               "非会員/non-members\t新会員/new members")
    for row in committed(lambda: ev.year_figures(db.session, actor, fiscal_year)):
        f = row.figures
        click.echo(f"{row.kind.ja}\t{row.events_held}\t{row.events_target}\t{f.attended}\t"
                   f"{row.attendance_target}\t{f.registrations}\t{f.members}\t{f.non_members}\t{f.new_members}")


def _moment(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    return value if value.tzinfo else value.replace(tzinfo=JST)


@group.command("create")
@click.option("--kind", required=True, type=click.Choice([k.value for k in ev.EventKind]))
@click.option("--title", required=True)
@click.option("--starts", required=True, help="ISO date and time; Japan time when no zone is given.")
@click.option("--ends", required=True)
@click.option("--capacity", required=True, type=click.IntRange(1, 100_000))
@click.option("--audience", required=True, type=click.Choice([a.value for a in ev.Audience]))
@click.option("--place", default="")
@click.option("--online-url", default="")
@click.option("--group", "group_id", type=ROW_ID, default=None, help="The group a community meeting is of.")
@with_appcontext
@acting(authz.OPERATOR)
def create_command(kind, title, starts, ends, capacity, audience, place, online_url, group_id, actor) -> None:
    """Create an event."""
    try:
        begins, finishes = _moment(starts), _moment(ends)
    except ValueError:
        raise click.BadParameter("use ISO times, e.g. 2026-06-10T14:00") from None
    row = committed(lambda: ev.create_event(db.session, actor, ev.EventDraft(
        kind, title, begins, finishes, capacity, audience, place=place, online_url=online_url, group_id=group_id)))
    click.echo(f"イベント {row.id} を登録しました / event {row.id} created")


@group.command("register")
@click.argument("event_id", type=ROW_ID)
@click.option("--name", required=True)
@click.option("--email", required=True)
@click.option("--organisation", default="")
@click.option("--corporate-number", default="")
@with_appcontext
@acting(authz.OPERATOR)
def register_command(event_id, name, email, organisation, corporate_number, actor) -> None:
    """Register someone (the waiting list when the event is full)."""
    row = committed(lambda: ev.register(db.session, actor, event_id, ev.Registrant(name, email, organisation,
                                                                                   corporate_number)))
    click.echo(f"{row.id}: {row.status.ja} / {row.status.en}")


@group.command("cancel")
@click.argument("registration_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def cancel_command(registration_id, actor) -> None:
    """Cancel a registration; the first on the waiting list moves up."""
    _row, promoted = committed(lambda: ev.cancel(db.session, actor, registration_id))
    click.echo("取り消しました / cancelled" + (f"; 繰り上げ/moved up: {promoted.id} {promoted.name}" if promoted else ""))


@group.command("attendance")
@click.argument("event_id", type=ROW_ID)
@click.argument("registration_ids", nargs=-1, type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def attendance_command(event_id, registration_ids, actor) -> None:
    """Record who came (the registrations named; the others did not)."""
    count = committed(lambda: ev.record_attendance(db.session, actor, event_id, set(registration_ids)))
    click.echo(f"出席 {count} 名を記録しました / {count} attended")


@group.command("archive")
@click.argument("event_id", type=ROW_ID)
@click.argument("url")
@with_appcontext
@acting(authz.OPERATOR)
def archive_command(event_id, url, actor) -> None:
    """Set the recording's archive link (after the event)."""
    committed(lambda: ev.set_archive(db.session, actor, event_id, url))
    click.echo("保存しました / saved")


@group.command("target")
@click.argument("fiscal_year", type=click.IntRange(1989, 2100))
@click.argument("kind", type=click.Choice([k.value for k in ev.EventKind]))
@click.option("--events", "count", required=True, type=click.IntRange(0, 1000))
@click.option("--attendance", required=True, type=click.IntRange(0, 1_000_000))
@with_appcontext
@acting(authz.OPERATOR)
def target_command(fiscal_year, kind, count, attendance, actor) -> None:
    """Set the year's target of a kind (events and attendance)."""
    committed(lambda: ev.set_target(db.session, actor, fiscal_year, kind, count, attendance))
    click.echo("保存しました / saved")


@group.command("remind")
@with_appcontext
@acting(authz.OPERATOR)
def remind_command(actor) -> None:
    """Queue reminders for events of the next business day (once per registration)."""
    count = committed(lambda: ev.queue_reminders(db.session, actor))
    click.echo(f"開催案内 {count} 件を送信待ちにしました / {count} reminders queued")

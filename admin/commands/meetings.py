"""`renkei meetings ...` and `renkei groups ...`: meetings and minutes (governance/meetings.py), the community
and working groups (secretariat/groups.py).

* ``meetings list``; ``meetings create --kind K --title T --held-at ISO [--place] [--tenant CODE]... [--member NUMBER]...
  [--person NAME]... [--agenda "TITLE[#PROPOSAL_ID]"]... [--group ID]``;
* ``meetings update ID [--title] [--held-at] [--place] [--tenant]... [--member]... [--person]... [--agenda]...``
  (while the minutes are not approved; given attendees replace all the attendees, given agenda items the agenda);
* ``meetings minutes ID (--text T | --pdf FILE)``; ``meetings approve ID`` (not by the writer);
  ``meetings publish ID --yes`` (irreversible: to the attendees' organisations); ``meetings pdf ID OUT``;
* ``groups list``; ``groups create --kind K --name N [--target N]``; ``groups add ID NUMBER``;
  ``groups remove ID NUMBER``; ``groups target ID N``.
Every act is audited by the operation.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from core.calendar import JST, jst_text
from core.validation import INT32_MAX, whole_number
from governance import meetings
from secretariat import groups as gr

ROW_ID = click.IntRange(1, 2**31 - 1)


@click.group("meetings")
def group() -> None:
    """Meetings and minutes (会議・議事録)."""


@group.command("list")
@with_appcontext
@acting(authz.OPERATOR)
def list_command(actor) -> None:
    """Meetings, the latest first, with the minutes' state."""
    for row in committed(lambda: meetings.list_meetings(db.session, actor)):
        click.echo(f"{row.id}\t{jst_text(row.held_at)}\t{meetings.MeetingKind(row.kind).ja}\t"
                   f"{row.title}\t{meetings.MinutesStatus(row.minutes_status).ja}")


def _agenda(text: str) -> meetings.AgendaItem:
    title, _, proposal = text.rpartition("#") if "#" in text else (text, "", "")
    number = whole_number(proposal, max_digits=len(str(INT32_MAX)))
    if proposal and (number is None or not 1 <= number <= INT32_MAX):
        raise click.BadParameter(f"{text!r}: write TITLE#PROPOSAL_ID")
    return meetings.AgendaItem(title.strip(), number)


def _moment(held_at: str) -> dt.datetime:
    try:
        moment = dt.datetime.fromisoformat(held_at)
    except ValueError:
        raise click.BadParameter("use an ISO time, e.g. 2026-11-20T14:00") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=JST)


def _attendees(tenants, members, people) -> tuple[meetings.Attendee, ...]:
    return (tuple(meetings.Attendee(tenant_code=c) for c in tenants)
            + tuple(meetings.Attendee(corporate_number=n) for n in members) + tuple(meetings.Attendee(p) for p in people))


@group.command("create")
@click.option("--kind", required=True, type=click.Choice([k.value for k in meetings.MeetingKind]))
@click.option("--title", required=True)
@click.option("--held-at", required=True, help="ISO date and time; Japan time when no zone is given.")
@click.option("--place", default="")
@click.option("--tenant", "tenants", multiple=True, help="An attending municipality or the prefecture (code).")
@click.option("--member", "members", multiple=True, help="An attending member organisation (corporate number).")
@click.option("--person", "people", multiple=True, help="An attending person by name.")
@click.option("--agenda", "agenda", multiple=True, help="An agenda item: TITLE, or TITLE#PROPOSAL_ID decided there.")
@click.option("--group", "group_id", type=ROW_ID, help="The group of a community or working-group meeting.")
@with_appcontext
@acting(authz.OPERATOR)
def create_command(kind, title, held_at, place, tenants, members, people, agenda, group_id, actor) -> None:
    """Record a meeting with its attendees and agenda."""
    draft = meetings.MeetingDraft(kind, title, _moment(held_at), place, _attendees(tenants, members, people),
                                  tuple(_agenda(a) for a in agenda))
    if group_id is not None:
        row = committed(lambda: gr.create_group_meeting(db.session, actor, group_id, draft))
    else:
        row = committed(lambda: meetings.create_meeting(db.session, actor, draft))
    click.echo(f"会議 {row.id} を登録しました / meeting {row.id} recorded")


@group.command("update")
@click.argument("meeting_id", type=ROW_ID)
@click.option("--title", default=None)
@click.option("--held-at", default=None, help="ISO date and time; Japan time when no zone is given.")
@click.option("--place", default=None)
@click.option("--tenant", "tenants", multiple=True, help="An attending municipality or the prefecture (code).")
@click.option("--member", "members", multiple=True, help="An attending member organisation (corporate number).")
@click.option("--person", "people", multiple=True, help="An attending person by name.")
@click.option("--agenda", "agenda", multiple=True, help="An agenda item: TITLE, or TITLE#PROPOSAL_ID decided there.")
@with_appcontext
@acting(authz.OPERATOR)
def update_command(meeting_id, title, held_at, place, tenants, members, people, agenda, actor) -> None:
    """Correct a meeting while its minutes are not approved: the options given replace what was recorded
    (any of --tenant/--member/--person replaces all the attendees; --agenda the whole agenda)."""
    moment = _moment(held_at) if held_at is not None else None

    def update():
        current = meetings.draft_of(db.session, meetings.read_meeting(db.session, actor, meeting_id))
        changes: dict = {"title": title, "held_at": moment, "place": place,
                         "attendees": _attendees(tenants, members, people) if tenants or members or people else None,
                         "agenda": tuple(_agenda(a) for a in agenda) if agenda else None}
        draft = dataclasses.replace(current, **{k: v for k, v in changes.items() if v is not None})
        return meetings.update_meeting(db.session, actor, meeting_id, draft)

    row = committed(update)
    click.echo(f"会議 {row.id} を修正しました / meeting {row.id} corrected")


@group.command("minutes")
@click.argument("meeting_id", type=ROW_ID)
@click.option("--text", default=None)
@click.option("--pdf", "pdf_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@with_appcontext
@acting(authz.OPERATOR)
def minutes_command(meeting_id, text, pdf_path, actor) -> None:
    """Write the minutes (text) or attach them (a PDF); they await approval by another person."""
    if (text is None) == (pdf_path is None):
        raise click.UsageError("give --text or --pdf")
    data = pdf_path.read_bytes()[:meetings.PDF_MAX_BYTES + 1] if pdf_path is not None else None
    committed(lambda: meetings.write_minutes(db.session, actor, meeting_id, text=text or "", pdf=data,
                                             filename=pdf_path.name if pdf_path else ""))
    click.echo("議事録を保存しました（承認待ち） / minutes saved, awaiting approval")


@group.command("approve")
@click.argument("meeting_id", type=ROW_ID)
@with_appcontext
@acting(authz.OPERATOR)
def approve_command(meeting_id, actor) -> None:
    """Approve the minutes (someone other than their writer)."""
    committed(lambda: meetings.approve_minutes(db.session, actor, meeting_id))
    click.echo("議事録を承認しました / minutes approved")


@group.command("publish")
@click.argument("meeting_id", type=ROW_ID)
@click.option("--yes", is_flag=True, help="Publish without asking (irreversible).")
@with_appcontext
@acting(authz.OPERATOR)
def publish_command(meeting_id, yes, actor) -> None:
    """Publish approved minutes to the attendees' organisations (a notice and one e-mail each); irreversible."""
    if not yes:
        click.confirm("議事録を出席団体に公開します。公開後は変更できません。続けますか / publish (irreversible)?", abort=True)
    committed(lambda: meetings.publish_minutes(db.session, actor, meeting_id))
    click.echo("議事録を公開しました / minutes published")


@group.command("pdf")
@click.argument("meeting_id", type=ROW_ID)
@click.argument("out", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@with_appcontext
@acting(authz.OPERATOR)
def pdf_command(meeting_id, out, actor) -> None:
    """Write the minutes' PDF to OUT (audited)."""
    out.write_bytes(committed(lambda: meetings.minutes_pdf(db.session, actor, meeting_id)))
    click.echo(f"{out}")


@click.group("groups")
def groups_group() -> None:
    """The data-utilisation community and working groups (コミュニティ・ワーキンググループ)."""


@groups_group.command("list")
@with_appcontext
@acting(authz.OPERATOR)
def groups_list(actor) -> None:
    """Groups with their members against the target."""
    rows = committed(lambda: gr.list_groups(db.session, actor))
    counts = gr.member_counts(db.session)
    for row in rows:
        click.echo(f"{row.id}\t{gr.GroupKind(row.kind).ja}\t{row.name}\t{counts.get(row.id, 0)}/{row.target_members}")


@groups_group.command("create")
@click.option("--kind", required=True, type=click.Choice([k.value for k in gr.GroupKind]))
@click.option("--name", required=True)
@click.option("--purpose", default="")
@click.option("--target", type=click.IntRange(0, gr.TARGET_MAX), default=None)
@with_appcontext
@acting(authz.OPERATOR)
def groups_create(kind, name, purpose, target, actor) -> None:
    """Create the community or a working group (the community's target defaults to 20)."""
    row = committed(lambda: gr.create_group(db.session, actor, gr.GroupDraft(kind, name, purpose, target)))
    click.echo(f"グループ {row.id} を登録しました（目標 {row.target_members}） / group {row.id} created")


@groups_group.command("add")
@click.argument("group_id", type=ROW_ID)
@click.argument("corporate_number")
@with_appcontext
@acting(authz.OPERATOR)
def groups_add(group_id, corporate_number, actor) -> None:
    """Add an approved member."""
    committed(lambda: gr.add_member(db.session, actor, group_id, corporate_number))
    click.echo("追加しました / added")


@groups_group.command("remove")
@click.argument("group_id", type=ROW_ID)
@click.argument("corporate_number")
@with_appcontext
@acting(authz.OPERATOR)
def groups_remove(group_id, corporate_number, actor) -> None:
    """Remove a member from the group."""
    committed(lambda: gr.remove_member(db.session, actor, group_id, corporate_number))
    click.echo("外しました / removed")


@groups_group.command("target")
@click.argument("group_id", type=ROW_ID)
@click.argument("target", type=click.IntRange(0, gr.TARGET_MAX))
@with_appcontext
@acting(authz.OPERATOR)
def groups_target(group_id, target, actor) -> None:
    """The group's target number of member companies."""
    committed(lambda: gr.set_target(db.session, actor, group_id, target))
    click.echo("保存しました / saved")

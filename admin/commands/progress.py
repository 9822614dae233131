"""`renkei progress ...`: the secretariat's year (secretariat/progress.py) from the command line.

* ``people``: the secretariat's people (the operators), whom items and issues can be given to;
* ``items [--year FY]``: the fiscal year's schedule; ``add-item --title T --due YYYY-MM-DD --owner WHO``;
  ``item ID [--status S] [--owner WHO] [--due D]``;
* ``issues``; ``raise --title T --owner WHO [--detail D]``; ``issue ID [--status S] [--owner WHO] [--resolution R]``;
* ``report MONTH [--pdf FILE] [--xlsx FILE]``: the monthly progress report's figures, its files written.

WHO is one of ``people``: their user id or their name exactly as listed. Every act is audited by the operation.
"""

from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed
from admin.extensions import db
from core import authz
from core.calendar import fiscal_year_of, today_jst
from secretariat import progress


@click.group("progress")
def group() -> None:
    """The secretariat's schedule, progress and issues (年間予定・進捗・課題) and the monthly report."""


def _people() -> dict[str, str]:
    from admin.identity import secretariat_people

    return secretariat_people()


def _who(text: str | None, people: dict[str, str]) -> str | None:
    """A person of ``people`` named by their user id or their listed name (else the text, refused by the operation)."""
    if not text:
        return None
    by_name = [subject for subject, name in people.items() if name == text.strip()]
    return by_name[0] if len(by_name) == 1 else text.strip()


@group.command("people")
@with_appcontext
@acting(authz.OPERATOR)
def people_command(actor) -> None:
    """The secretariat's people: user id and name."""
    for subject, name in committed(lambda: progress.owners(actor, _people)).items():
        click.echo(f"{subject}\t{name}")


@group.command("items")
@click.option("--year", type=int, help="Fiscal year (April–March); the current one when left out.")
@with_appcontext
@acting(authz.OPERATOR)
def items_command(year: int | None, actor) -> None:
    """The fiscal year's work items: number, due date, owner, status, title."""
    year = year or fiscal_year_of(today_jst())
    click.echo(progress.fiscal_year_label(year))
    for item in committed(lambda: progress.schedule(db.session, actor, year)):
        late = " 遅延/late" if progress.is_late(item) else ""
        click.echo(f"{item.id}\t{item.due_on.isoformat()}\t{item.owner_name}\t{item.status.ja}\t{item.title}{late}")


@group.command("add-item")
@click.option("--title", required=True)
@click.option("--due", "due_on", required=True, help="Due date, YYYY-MM-DD.")
@click.option("--owner", required=True, help="One of `renkei progress people` (user id or name).")
@click.option("--detail", default="")
@with_appcontext
@acting(authz.OPERATOR)
def add_item_command(title: str, due_on: str, owner: str, detail: str, actor) -> None:
    """Add a work item to the schedule."""
    people = committed(lambda: progress.owners(actor, _people))
    item = committed(lambda: progress.add_item(db.session, actor, people, title=title, due_on=due_on,
                                               owner=_who(owner, people) or "", detail=detail))
    click.echo(f"作業項目 {item.id} を追加しました / added work item {item.id}")


@group.command("item")
@click.argument("item_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in progress.ItemStatus]))
@click.option("--owner")
@click.option("--due", "due_on")
@with_appcontext
@acting(authz.OPERATOR)
def item_command(item_id: int, status: str | None, owner: str | None, due_on: str | None, actor) -> None:
    """Change a work item's status, owner or due date."""
    people = committed(lambda: progress.owners(actor, _people)) if owner else {}
    item = committed(lambda: progress.update_item(db.session, actor, people, item_id, status=status,
                                                  owner=_who(owner, people), due_on=due_on))
    click.echo(f"{item.id}\t{item.due_on.isoformat()}\t{item.owner_name}\t{item.status.ja}\t{item.title}")


@group.command("issues")
@with_appcontext
@acting(authz.OPERATOR)
def issues_command(actor) -> None:
    """The issue list: number, raised on, owner, status, title, resolution."""
    for issue in committed(lambda: progress.issues(db.session, actor)):
        click.echo(f"{issue.id}\t{issue.raised_on.isoformat()}\t{issue.owner_name}\t{issue.status.ja}\t{issue.title}"
                   f"\t{issue.resolution}")


@group.command("raise")
@click.option("--title", required=True)
@click.option("--owner", required=True, help="One of `renkei progress people` (user id or name).")
@click.option("--detail", default="")
@with_appcontext
@acting(authz.OPERATOR)
def raise_command(title: str, owner: str, detail: str, actor) -> None:
    """Raise an issue (today, by you)."""
    people = committed(lambda: progress.owners(actor, _people))
    issue = committed(lambda: progress.raise_issue(db.session, actor, people, title=title,
                                                   owner=_who(owner, people) or "", detail=detail))
    click.echo(f"課題 {issue.id} を登録しました / raised issue {issue.id}")


@group.command("issue")
@click.argument("issue_id", type=int)
@click.option("--status", type=click.Choice([s.value for s in progress.IssueStatus]))
@click.option("--owner")
@click.option("--resolution")
@with_appcontext
@acting(authz.OPERATOR)
def issue_command(issue_id: int, status: str | None, owner: str | None, resolution: str | None, actor) -> None:
    """Change an issue's status or owner, or record its resolution (resolving needs one)."""
    people = committed(lambda: progress.owners(actor, _people)) if owner else {}
    issue = committed(lambda: progress.update_issue(db.session, actor, people, issue_id, status=status,
                                                    owner=_who(owner, people), resolution=resolution))
    click.echo(f"{issue.id}\t{issue.owner_name}\t{issue.status.ja}\t{issue.title}\t{issue.resolution}")


@group.command("report")
@click.argument("month")
@click.option("--pdf", type=click.Path(dir_okay=False, path_type=Path), help="Write the A4 PDF here.")
@click.option("--xlsx", type=click.Path(dir_okay=False, path_type=Path), help="Write the workbook here.")
@with_appcontext
@acting(authz.OPERATOR)
def report_command(month: str, pdf: Path | None, xlsx: Path | None, actor) -> None:
    """The monthly progress report for MONTH (2026-05): its figures printed, its files written (each audited)."""
    def run():
        found = progress.parse_month(month)
        files = {fmt: progress.generate(db.session, actor, found, fmt) for fmt, path in (("pdf", pdf), ("xlsx", xlsx))
                 if path}
        return progress.build_report(db.session, actor, found), files

    report, files = committed(run)
    for label, value in progress.sections(report)[0].rows:
        click.echo(f"{label}\t{value}")
    for fmt, path in (("pdf", pdf), ("xlsx", xlsx)):
        if path:
            path.write_bytes(files[fmt])
            click.echo(f"{path} を書き出しました / wrote {path}", err=True)

"""`renkei consent ...`: personal data by consent from the server's command line (issue 23).

* ``services``: the services that receive personal data, with their status;
* ``move SERVICE approve|suspend|resume|end``: the operator's moves (suspend and end need ``--reason``);
* ``history TENANT SUBJECT``: export a person's consents and linkages (開示請求) as CSV, Excel or JSON
  (an audited read, as on the page and the API);
* ``linkages``: search linkage records by service, period and result (CSV; audited);
* ``receipt RECEIPT_ID``: a consent receipt (JSON);
* ``verify``: verify the consent and linkage hash chains (also part of ``renkei check``); ``verify --record
  HASH``: one record, by the hash printed on its receipt or history, against its chain;
* ``expire``: write the expiry of consents past their expiry (``renkei jobs run-due`` runs it as
  ``consent-expiry``);
* ``purge``: archive, then remove, linkage records past their retention (``renkei jobs run-due``
  runs it as ``linkage-retention``);
* ``verify-archive FILE...``: verify linkage archives and that each continues the previous one.

Each acts for an authenticated person (admin/commands/acting.py) and the operations ask the one policy.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.commands.acting import acting
from residents.consent.lifecycle import SERVICES
from residents.consent.models import ServiceStatus
from admin.commands.output import committed, fail, write_output
from admin.extensions import db
from core import authz
from core.errors import DomainError


@click.group("consent")
def group() -> None:
    """Personal data by consent (本人同意・連携記録): services, histories, linkage records, chains."""


@group.command("services")
@click.option("--status", type=click.Choice([status.value for status in ServiceStatus]))
@with_appcontext
@acting(authz.OPERATOR)
def services_command(status: str | None, actor) -> None:
    """Every service the person may see: number, owner, name, controller, status."""
    from residents.consent import operations as consent
    from residents.consent.models import ServiceStatus

    chosen = ServiceStatus(status) if status else None
    rows = committed(lambda: consent.list_services(db.session, actor, status=chosen))
    for s in rows:
        click.echo(f"{s.id}\t{s.owner_code}\t{s.name}\t{s.controller}\t{ServiceStatus(s.status).ja}")
    click.echo(f"{len(rows)} 件 / {len(rows)} service(s)", err=True)


@group.command("move")
@click.argument("service_id", type=int)
@click.argument("verb", type=click.Choice(list(SERVICES.moves)))
@click.option("--reason", default="", help="Required to suspend or end.")
@with_appcontext
@acting(authz.OPERATOR)
def move_command(service_id: int, verb: str, reason: str, actor) -> None:
    """Approve, suspend, resume or end a service (the operator)."""
    from residents.consent import operations as consent
    from residents.consent.models import ServiceStatus

    service = committed(lambda: consent.move_service(db.session, actor, service_id, verb, reason))
    click.echo(f"{service.id} {service.name}: {ServiceStatus(service.status).ja}")


@group.command("history")
@click.argument("tenant")
@click.argument("subject")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "json"]), default="csv")
@click.option("--lang", type=click.Choice(["ja", "en"]), default="ja")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.OPERATOR)
def history_command(tenant: str, subject: str, fmt: str, lang: str, output: Path | None, actor) -> None:
    """Export everything about one person (SUBJECT, their pseudonymous identifier) of TENANT: consents,
    withdrawals and every linkage allowed or refused, with the consent record each relied on."""
    from residents.consent import history

    found = committed(lambda: history.person_history(db.session, actor, tenant, subject))
    if fmt == "csv":
        data = history.history_csv(found, lang)
    elif fmt == "xlsx":
        data = history.history_xlsx(found, lang)
    else:
        from maintenance.signing import seals

        data = (json.dumps(history.history_json(db.session, found, lang, seals(current_app.config)), ensure_ascii=False,
                           indent=1) + "\n").encode("utf-8")
    db.session.rollback()
    write_output(data, output, private=True)  # a history is personal data
    click.echo(f"同意記録 {len(found.consents)} 件、連携記録 {len(found.linkages)} 件 / "
               f"{len(found.consents)} consent record(s), {len(found.linkages)} linkage record(s)", err=True)


@group.command("linkages")
@click.option("--service", "service_id", type=int, default=None)
@click.option("--from", "first_day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="First day (JST), inclusive.")
@click.option("--to", "last_day", type=click.DateTime(["%Y-%m-%d"]), default=None, help="Last day (JST), inclusive.")
@click.option("--result", type=click.Choice(["allowed", "refused"]), default=None)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.AUDITOR)
def linkages_command(service_id: int | None, first_day: dt.datetime | None, last_day: dt.datetime | None,
                     result: str | None, output: Path | None, actor) -> None:
    """Search linkage records across tenants (the auditor, the operator) as CSV (UTF-8 with BOM)."""
    from core.spreadsheet import csv_bytes
    from residents.consent import history

    rows = committed(lambda: history.search_linkages(
        db.session, actor, service_id=service_id, first_day=first_day.date() if first_day else None,
        last_day=last_day.date() if last_day else None, allowed=None if result is None else result == "allowed"))
    table = history.linkage_dicts(rows, db.session)
    db.session.rollback()
    header = ["番号", "日時", "サービス", "団体コード", "本人の識別子", "データ項目", "利用目的", "結果", "理由",
              "根拠とした同意", "クライアント", "記録のハッシュ値"]
    fields = ["seq", "at", "service", "tenant_code", "subject_id", "items", "purpose", "result", "reason", "consent",
              "client", "hash"]
    write_output(csv_bytes([header, *([row[name] for name in fields] for row in table)]), output, private=True)
    click.echo(f"{len(table)} 件 / {len(table)} record(s)", err=True)


@group.command("receipt")
@click.argument("receipt_id")
@with_appcontext
@acting(authz.OPERATOR)
def receipt_command(receipt_id: str, actor) -> None:
    """A consent receipt (ISO/IEC TS 27560 fields), as JSON."""
    from maintenance.signing import seals
    from residents.consent import operations as consent

    try:
        data = consent.receipt(db.session, consent.get_record(db.session, actor, receipt_id), seals=seals(current_app.config))
    except DomainError as error:
        db.session.rollback()
        fail(error)
    db.session.rollback()
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


@group.command("verify")
@click.option("--record", "printed", default=None, metavar="HASH",
              help="Check one record by the hash printed on its receipt or history (or their exports).")
@with_appcontext
@acting(authz.AUDITOR)
def verify_command(printed: str | None, actor) -> None:
    """Verify the consent and linkage hash chains from their anchors to their heads; exit 1 if broken.
    With --record HASH: check the record printed with that hash against its chain, naming a tampered one."""
    from residents.consent.linkage import CHAIN_LABELS, verify_chains, verify_record

    try:
        authz.authorize(actor, "consent.linkage.read")  # the operator and the auditor
        if printed is not None:
            found = verify_record(db.session, actor, printed)
    except DomainError as error:
        db.session.rollback()
        fail(error)
    if printed is not None:
        db.session.rollback()
        click.echo(f"{found.message_ja} / {found.message_en}", err=not found.intact)
        if not found.intact:
            raise SystemExit(1)
        return
    broken = False
    for status in verify_chains(db.session):
        ja, en = CHAIN_LABELS[status.name]
        if status.broken is None:
            click.echo(f"{ja}: {status.checked:,} 件を検証、#{status.last_seq} まで問題なし / "
                       f"{en}: {status.checked:,} verified through #{status.last_seq}, intact")
        else:
            broken = True
            click.echo(f"{ja}: 改ざん・欠落を検出しました / {en}: BROKEN at {status.broken.describe()}", err=True)
    db.session.rollback()
    if broken:
        raise SystemExit(1)


@group.command("expire")
@with_appcontext
@acting(authz.OPERATOR)
def expire_command(actor) -> None:
    """Write the expiry of every consent past its expiry as a record of its chain (the ``consent-expiry``
    job of ``renkei jobs run-due`` does it too); a consent reads 期限切れ from its expiry on either way."""
    from residents.consent import operations as consent

    written = committed(lambda: consent.expire_consents(db.session, actor))
    click.echo(f"期限切れを記録した同意 {len(written)} 件 / recorded the expiry of {len(written)} consent(s)")


def archive_dir() -> Path:
    from maintenance.signing import archive_dirs

    return archive_dirs(current_app.config)["linkage_record"]


def purge_linkages_checkpointed(actor: Actor, target: Path, days: int):
    """The linkage records' purge as every caller runs it (the due job, ``renkei consent purge``):
    the chains first verified against their newest signed checkpoints (a purge never hides a
    tampering), then the purge, committed, then a signed checkpoint of the linkage chain with its
    new anchor, so that the next checks see the anchor moved by the purge (as ``renkei audit purge``
    does for the audit log). No signing key: refused before anything is removed."""
    from maintenance import check, signing
    from core.errors import Invalid
    from core.signing import private_dir
    from residents.consent.linkage import CHAINS, purge_linkages

    signer = signing.signer(current_app.config)
    folder = private_dir(signing.checkpoint_dir(current_app.config), tighten=True)
    report = check.SystemReport()
    check.check_consent(db.session, report, {name: signing.find_checkpoints(current_app.config, name, with_backups=False) for name in CHAINS})
    if not report.ok:
        raise Invalid(f"{report.first.message_en}; nothing was purged",
                      f"{report.first.message_ja}。連携記録は削除していません")
    result = purge_linkages(db.session, actor, target, retention_days=days)
    db.session.commit()
    if result.purged:
        statuses = check.check_consent(db.session, check.SystemReport(), {})
        check.write_consent_checkpoints([s for s in statuses if s.name == "linkage_record"], signer, folder,
                                        copy=signing.checkpoint_copy_dir(current_app.config))
    return result


@group.command("purge")
@click.option("--retention-days", type=int, default=None,
              help="Keep this many days (default: RENKEI_LINKAGE_RETENTION_DAYS, 365; at least 365).")
@click.option("--archive-dir", "folder", type=click.Path(file_okay=False, path_type=Path),
              help="Where the archive goes (default: RENKEI_LINKAGE_ARCHIVE_DIR or <RENKEI_VAR_DIR>/linkage-archive).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@acting(authz.OPERATOR)
def purge_command(retention_days: int | None, folder: Path | None, yes: bool, actor) -> None:
    """Archive the linkage records past their retention to a file, then remove them from the database."""
    days = retention_days or current_app.config["RENKEI_LINKAGE_RETENTION_DAYS"]
    target = folder or archive_dir()
    if not yes:
        click.confirm(f"Archive to {target} and remove linkage records older than {days} days? "
                      f"/ {days} 日を過ぎた連携記録を {target} に保存し、データベースから削除しますか？", abort=True)
    try:
        result = purge_linkages_checkpointed(actor, target, days)
    except DomainError as error:
        db.session.rollback()
        fail(error)
    if not result.purged:
        click.echo(f"削除する連携記録はありません / nothing to purge: no record is older than {days} days")
        return
    click.echo(f"連携記録 {result.purged:,} 件（#{result.through_seq} まで）を {result.archive} に保存して削除しました / "
               f"archived {result.purged:,} record(s) through #{result.through_seq} to {result.archive}, then removed them")
    click.echo("keep the archive file: it is the only copy of these records / 保存したファイルは唯一の控えです。保管してください")


@group.command("verify-archive")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def verify_archive_command(files: tuple[Path, ...]) -> None:
    """Verify linkage archives, in order: each intact, each continuing the previous one, the last
    ending where the database's chain now starts."""
    from core import chain_archive
    from residents.consent import linkage

    failed, previous = False, None
    for path in files:
        report = linkage.verify_archive(path)
        if report.broken is not None:
            failed = True
            click.echo(f"{path.name}: BROKEN — {report.broken.describe()}", err=True)
        else:
            click.echo(f"{path.name}: intact, {report.count:,} record(s) #{report.first_seq}–#{report.last_seq}")
        if previous is not None and not chain_archive.continues(previous, report):
            failed = True
            click.echo(f"{path.name}: does not continue the previous archive", err=True)
        previous = report
    findings = chain_archive.anchor_findings(db.session, linkage.LINKAGE_CHAIN, previous, files[-1])
    db.session.rollback()
    for fine, finding in findings:
        click.echo(f"{files[-1].name}: {finding}", err=not fine)
        failed = failed or not fine
    if failed:
        sys.exit(1)

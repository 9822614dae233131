"""`renkei audit ...`: verify the hash chain, export a period, purge with archive, verify archives.

Exit codes: 0 intact / done, 1 the log or an archive does not verify (the first broken record is
named), 2 bad input. ``verify`` prints the head (seq and hash): write it down somewhere renkei's
database administrators cannot reach, and give it back later with ``--checkpoint`` to prove
that history up to it was not rewritten.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from admin.extensions import db
from governance import audit, audit_export
from core.errors import DomainError
from admin.commands.acting import acting
from admin.commands.output import fail
from core import authz


@click.group("audit")
def group() -> None:
    """The audit log (操作ログ): verification, export, retention."""


def _fail(error: DomainError) -> None:
    db.session.rollback()
    fail(error)


def _checkpoint(ctx, param, values: tuple[str, ...]) -> list[tuple[int, str]]:
    from core.checkpoints import parse_pair

    try:
        return [parse_pair(value) for value in values]
    except ValueError as error:
        raise click.BadParameter(str(error)) from None


@group.command("verify")
@click.option("--checkpoint", "checkpoints", multiple=True, callback=_checkpoint, metavar="SEQ:HASH",
              help="A head noted earlier (repeatable); verification fails if that record's hash changed.")
@click.option("--checkpoint-file", "checkpoint_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A signed checkpoint (a file the due jobs wrote, or the line from the monthly report's mail); repeatable.")
@with_appcontext
@acting(authz.OPERATOR)
def verify_command(checkpoints: list[tuple[int, str]], checkpoint_files: tuple[Path, ...], actor) -> None:
    """Verify the hash chain from the first kept record (or the purge anchor) to the head, and against
    the newest signed checkpoint (checkpoint folder and newest backup) and any given."""
    import json

    from maintenance import signing
    from core import checkpoints as signed_checkpoints
    from core.signing import SignatureRefused

    trusted = signing.trusted_keys(current_app.config)
    found = signing.find_checkpoints(current_app.config, trusted=trusted)
    problems = [f"{source}: {refused.message_en}" for source, refused in found.forged]
    pairs = list(checkpoints)
    for path in checkpoint_files:
        try:
            pairs.append(signed_checkpoints.parse(json.loads(path.read_text(encoding="utf-8")), trusted, path.name).pair())
        except (SignatureRefused, ValueError) as error:
            problems.append(f"{path.name}: {getattr(error, 'message_en', error)}")
    if found.newest is not None:
        pairs.append(found.newest.pair())
    try:
        result = audit.verification(db.session, actor, pairs)
    except DomainError as error:
        _fail(error)
    db.session.rollback()
    from governance.integrity import anchor_moved

    moved = anchor_moved(found.newest, result.anchor_seq, result.anchor_hash)
    if moved:
        problems.append(moved)
    if result.anchor_seq:
        click.echo(f"anchor: records #1–#{result.anchor_seq} were purged into {result.archive_name} "
                   f"(sha256 {result.archive_sha256}); verification starts from hash {result.anchor_hash}")
    click.echo(f"newest signed checkpoint: {found.newest.describe()}" if found.newest
               else f"newest signed checkpoint: none found in {' or '.join(found.places)}")
    if result.broken is not None or problems:
        click.echo("改ざん・欠落を検出しました / BROKEN", err=True)
        if result.broken is not None:
            click.echo(f"first broken link: {result.broken.describe()}", err=True)
        for problem in problems:
            click.echo(f"checkpoint refused: {problem}", err=True)
        sys.exit(1)
    span = f"#{result.first_seq}–#{result.last_seq}" if result.checked else "no records"
    click.echo(f"改ざんは検出されませんでした / intact: {result.checked} record(s) checked ({span})")
    click.echo(f"head: {result.last_seq}:{result.head_hash}")
    if pairs:
        click.echo(f"checkpoints confirmed: {', '.join(str(seq) for seq, _ in pairs)}")


def _day(ctx, param, value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r}: use YYYY-MM-DD") from None


@group.command("export")
@click.option("--from", "first_day", callback=_day, help="First day (JST), YYYY-MM-DD, inclusive.")
@click.option("--to", "last_day", callback=_day, help="Last day (JST), YYYY-MM-DD, inclusive.")
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--english-headers", is_flag=True, help="CSV headers as field names instead of Japanese.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File to write (default: stdout).")
@with_appcontext
@acting(authz.OPERATOR)
def export_command(first_day, last_day, fmt: str, english_headers: bool, output: Path | None, actor) -> None:
    """Export a period as CSV (UTF-8 with BOM, for Excel) or JSON lines (verifiable with verify-archive)."""
    try:
        records = audit_export.records_in_period(db.session, actor, first_day, last_day)
    except DomainError as error:
        _fail(error)
    from core.signing import open_private

    if output is not None and output.exists():
        output.unlink()  # written anew with mode 0600 (an export holds names and addresses)
    out = open_private(output) if output else sys.stdout.buffer
    try:
        audit_export.write_export(out, records, fmt, japanese_headers=not english_headers)
    finally:
        if output:
            out.close()
        else:
            out.flush()
    db.session.rollback()


@group.command("purge")
@click.option("--retention-days", type=int, default=None, envvar="RENKEI_AUDIT_RETENTION_DAYS",
              help=f"Keep this many days (default: RENKEI_AUDIT_RETENTION_DAYS or {audit_export.RETENTION_DAYS}; at least the retention table's one year: renkei retention table).")
@click.option("--archive-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Where the archive file goes (default: RENKEI_AUDIT_ARCHIVE_DIR or <RENKEI_VAR_DIR>/audit-archive).")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
@acting(authz.OPERATOR)
def purge_command(retention_days: int | None, archive_dir: Path | None, yes: bool, actor) -> None:
    """Archive the records older than the retention period to a file, then remove them from the database."""
    days = retention_days or audit_export.RETENTION_DAYS
    from maintenance.signing import archive_dirs

    target = archive_dir or archive_dirs(current_app.config)["audit"]
    if not yes:
        click.confirm(f"Archive to {target} and remove audit records older than {days} days?", abort=True)
    from maintenance import signing

    try:
        signer = signing.signer(current_app.config)  # the purge moves the anchor: a signed checkpoint must say so (below)
        result = audit_export.purge(db.session, actor, target, retention_days=days,
                                    linkage_retention_days=int(current_app.config["RENKEI_LINKAGE_RETENTION_DAYS"]))
        db.session.commit()
    except DomainError as error:
        _fail(error)
    if result is None:
        click.echo(f"nothing to purge: no record is older than {days} days")
        return
    from admin.commands.jobs import write_audit_checkpoint

    seq, _digest, path = write_audit_checkpoint(actor, signer=signer)
    click.echo(f"signed audit checkpoint #{seq} with the new anchor written to {path}")
    click.echo(f"purged records #{result.first_seq}–#{result.through_seq} ({result.count}) into {result.archive_path}")
    click.echo(f"archive sha256 {result.archive_sha256}; the chain now starts after {result.through_seq}:{result.through_hash}")
    click.echo("keep the archive file: it is the only copy of these records")


@group.command("verify-archive")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def verify_archive_command(files: tuple[Path, ...]) -> None:
    """Verify archive files (and JSON-lines exports), in order: each must continue the previous one.

    The last archive is also compared with the database's purge anchor when they end at the same record.
    """
    from core import chain_archive
    from core.audit import AUDIT_CHAIN

    failed = False
    previous = None
    for path in files:
        report = audit_export.verify_archive(path)
        span = f"#{report.first_seq}–#{report.last_seq}" if report.count else "no records"
        kind = "archive" if report.has_manifest else "export (no manifest)"
        if report.broken is not None:
            click.echo(f"{path.name}: BROKEN ({kind}, {report.count} record(s)) — {report.broken.describe()}", err=True)
            failed = True
        else:
            click.echo(f"{path.name}: intact {kind}, {report.count} record(s) {span}, last hash {report.last_hash}")
        if previous is not None and not chain_archive.continues(previous, report):
            click.echo(f"{path.name}: does not continue {previous.name} (gap or different hash between them)", err=True)
            failed = True
        previous = report
    for fine, finding in chain_archive.anchor_findings(db.session, AUDIT_CHAIN, previous, files[-1]):
        click.echo(f"{previous.name}: {finding}", err=not fine)
        failed = failed or not fine
    db.session.rollback()
    if failed:
        sys.exit(1)

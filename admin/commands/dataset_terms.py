"""`renkei datasets terms ...`: a dataset's own terms of use (catalogue/terms.py) from the command line,
as the API allows: its versions and who accepted which, the text of a version, a revision by the provider
(or the operator), and, for a consumer's admin, the terms to accept and the acceptance of the version read
(its number and content hash, which ``show`` prints). Each command acts for a person (``@acting``)."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from admin.commands.acting import acting
from admin.commands.output import committed, fail
from admin.extensions import db
from core import authz
from core.calendar import jst_text
from core.errors import DomainError, NotFound
from catalogue import operations, terms

STATE_WORDS = {"ok": "同意済 / accepted", "pending": "未同意 / to accept"}


@click.group("terms")
def group() -> None:
    """A dataset's own terms of use (利用規約): versions, text, revise, terms to accept, accept."""


@group.command("versions")
@click.argument("dataset")
@with_appcontext
@acting(authz.OPERATOR)
def terms_versions(dataset: str, actor) -> None:
    """Every version of DATASET's terms, newest first, and who accepted which (the provider's view)."""
    def read():
        found = operations.get_dataset(db.session, actor, dataset)
        return found, terms.versions(db.session, found), terms.acceptances(db.session, actor, found.uid)

    found, versions, acceptances = committed(read)
    if not terms.has_own_terms(db.session, found):
        click.echo(f"{found.name}: ライセンスが「独自の利用規約」ではありません / the licence is not terms of its own", err=True)
    for number, version in enumerate(versions):
        current = "（現行 / current）" if number == 0 else ""
        click.echo(f"第{version.number}版{current}\t{jst_text(version.created_at)}\t{version.created_by}\t"
                   f"{version.content_hash}\t{version.title}")
        for acceptance in (a for a in acceptances if a.number == version.number):
            click.echo(f"  同意 / accepted\t{acceptance.consumer_code}\t{jst_text(acceptance.accepted_at)}\t"
                       f"{acceptance.actor_name}")
    click.echo(f"{len(versions)} 版 / {len(versions)} version(s)", err=True)


def _readable(dataset: str, consumer: str | None, actor):
    """The dataset and the versions of its terms ``actor`` may read: every version for its provider, the
    operator and the auditor; the current one for a consumer (``consumer``: the party they act for)."""
    if consumer is None:
        try:
            found = operations.get_dataset(db.session, actor, dataset)
            return found, terms.versions(db.session, found)
        except DomainError as error:
            if error.kind not in ("not_found", "forbidden") or not authz.allowed(actor, "dataset.terms.accept"):
                raise
    standing = terms.standing(db.session, actor, dataset, consumer)
    return standing.dataset, [standing.terms] if standing.terms else []


@group.command("show")
@click.argument("dataset")
@click.option("--version", "number", type=click.IntRange(1, 1_000_000), default=None,
              help="The version to show (default: the current one; a consumer reads the current one only).")
@click.option("--consumer", default=None, help="The municipality or organisation you read them for (a consumer's admin "
                                                "of several).")
@with_appcontext
@acting(authz.OPERATOR)
def terms_show(dataset: str, number: int | None, consumer: str | None, actor) -> None:
    """The text of DATASET's terms (Markdown), with its version number and content hash (what accept sends)."""
    found, versions = committed(lambda: _readable(dataset, consumer, actor))
    if not versions:
        fail(NotFound("The dataset has no terms of use yet.", "このデータセットには利用規約がまだありません。"))
    version = versions[0] if number is None else next((v for v in versions if v.number == number), None)
    if version is None:
        fail(NotFound(f"There is no version {number} of these terms.", f"利用規約の第{number}版はありません。"))
    current = "現行" if version.number == versions[0].number else "改定前"
    click.echo(f"<!-- {found.title_ja}（{found.name}）の利用規約 第{version.number}版（{current}） "
               f"content_hash: {version.content_hash} -->")
    click.echo(f"# {version.title}\n")
    click.echo(version.body_md)


@group.command("revise")
@click.argument("dataset")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--title", required=True, help="The title of the terms (利用規約の表題).")
@with_appcontext
@acting(authz.OPERATOR)
def terms_revise(dataset: str, file, title: str, actor) -> None:
    """Write DATASET's terms from FILE (Markdown, UTF-8; - reads standard input): the next version, in force at
    once (the consumers that had accepted are asked again)."""
    body = file.read()
    version = committed(lambda: terms.revise(db.session, actor, dataset, title, body))
    click.echo(f"利用規約 第{version.number}版を施行しました / version {version.number} of the terms is in force "
               f"(content_hash {version.content_hash})")


@group.command("pending")
@click.option("--consumer", default=None, help="The municipality or organisation you act for (if you belong to several).")
@with_appcontext
@acting(authz.MUNICIPAL_ADMIN)
def terms_pending(consumer: str | None, actor) -> None:
    """The limited datasets with terms of their own your municipality or organisation may use, and whether it
    accepted the version in force."""
    standings = committed(lambda: terms.to_accept(db.session, actor, consumer))
    for standing in standings:
        version = standing.terms
        click.echo(f"{standing.dataset.name}\t{standing.dataset.title_ja}\t{STATE_WORDS[standing.state]}\t"
                   + (f"第{version.number}版\t{version.content_hash}" if version else "利用規約なし / no terms yet"))
    click.echo(f"{len(standings)} 件 / {len(standings)} dataset(s)", err=True)


@group.command("accept")
@click.argument("dataset")
@click.option("--version", "number", type=click.IntRange(1, 1_000_000), required=True,
              help="The version you accept (the current one).")
@click.option("--content-hash", required=True, help="The content hash of the text you read (printed by 'show').")
@click.option("--consumer", default=None, help="The municipality or organisation you accept for (if you belong to several).")
@with_appcontext
@acting(authz.MUNICIPAL_ADMIN)
def terms_accept(dataset: str, number: int, content_hash: str, consumer: str | None, actor) -> None:
    """Accept the version in force of DATASET's terms for your municipality or organisation (recorded with your
    name; it cannot be taken back)."""
    acceptance = committed(lambda: terms.accept(db.session, actor, dataset, number, content_hash.strip(), consumer))
    click.echo(f"{acceptance.consumer_code}: 第{acceptance.number}版に同意しました / accepted version {acceptance.number}")

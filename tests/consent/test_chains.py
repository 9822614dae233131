"""Consent and linkage records are append-only: the database refuses edits, and an owner who drops the
guards and edits or deletes one anyway is found by ``renkei check`` (the chain rule of core.chain)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.calendar import JST, date_ja
from residents.consent import check, linkage, operations as consent
from governance.errors import ChainBroken
from residents.consent.models import GUARD_TRIGGERS, LinkageRecord, guards_pg, sqlite_guards
from tests.conftest import owner_bind
from tests.consent.conftest import BROKER, KUMAMOTO, clerk, person


def renkei_check(app):
    return app.test_cli_runner().invoke(args=["check", "--as", "unei"])


@contextlib.contextmanager
def guards_dropped(session):
    """Play a database owner: drop the append-only triggers, and put them back afterwards."""
    bind = owner_bind(session)
    session.commit()
    with bind.begin() as connection:
        for name in GUARD_TRIGGERS[bind.dialect.name]:
            table = name.split("_no_")[0] if bind.dialect.name == "sqlite" else name.rsplit("_append_only", 1)[0]
            connection.exec_driver_sql(f"DROP TRIGGER {name}" if bind.dialect.name == "sqlite"
                                       else f"DROP TRIGGER {name} ON {table}")
    try:
        yield bind
    finally:
        session.rollback()
        with bind.begin() as connection:
            if bind.dialect.name == "sqlite":
                for statement in sqlite_guards():
                    connection.exec_driver_sql(statement)
            else:
                schema = connection.exec_driver_sql("SELECT quote_ident(current_schema())").scalar_one()
                for statement in guards_pg(schema):
                    connection.exec_driver_sql(statement)


@pytest.fixture
def history(db, consent_setup, give):
    service = consent_setup()
    subject = person()
    give(service, subject)
    for purpose in ("子育て支援サービスの案内", "広告配信", "子育て支援サービスの案内"):
        check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                         "items": ["生年月日"], "purpose": purpose})
    consent.withdraw_consent(db, clerk(), {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject})
    db.commit()
    return service, subject


def test_the_database_refuses_to_edit_or_delete_a_record(db, history):
    for statement in ("UPDATE consent_record SET assurance_level = 3", "DELETE FROM consent_record",
                      "UPDATE linkage_record SET allowed = true", "DELETE FROM linkage_record"):
        db.commit()
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            with owner_bind(db).begin() as connection:
                connection.execute(sa.text(statement))


def test_an_intact_history_passes_the_check(app, db, history):
    result = renkei_check(app)
    assert result.exit_code == 0, result.output
    assert [status.broken for status in linkage.verify_chains(db)] == [None, None]


@pytest.mark.parametrize("statement,table,seq", [
    ("UPDATE consent_record SET assurance_level = 3 WHERE seq = 1", "同意記録", 1),
    ("UPDATE consent_record SET method = 'web' WHERE seq = 2", "同意記録", 2),
    ("DELETE FROM consent_record WHERE seq = 1", "同意記録", 1),
    ("DELETE FROM consent_record WHERE seq = 2", "同意記録", 2),  # the newest: the chain's head names it
    ("UPDATE linkage_record SET allowed = true WHERE seq = 2", "連携記録", 2),
    ("UPDATE linkage_record SET subject_id = 'pid-someone-else' WHERE seq = 1", "連携記録", 1),
    ("DELETE FROM linkage_record WHERE seq = 2", "連携記録", 2),
    ("DELETE FROM linkage_record WHERE seq = 3", "連携記録", 3),
])
def test_an_edit_or_deletion_is_found_by_renkei_check(app, db, history, statement, table, seq):
    with guards_dropped(db) as bind:
        with bind.begin() as connection:
            connection.execute(sa.text(statement))
        result = renkei_check(app)
    assert result.exit_code == 1, result.output
    assert f"{table}の改ざん・欠落を検出しました: record #{seq}" in result.output


def test_linkages_past_their_retention_are_archived_then_purged_and_the_chain_still_verifies(
        app, db, operator, history, tmp_path):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    with pytest.raises(Exception, match="365") as refused:
        linkage.purge_linkages(db, operator, tmp_path, retention_days=30, now=later)
    kept_until = (later + dt.timedelta(days=335)).astimezone(JST).date()  # 30 days back, then a year on
    assert refused.value.message_ja.startswith("連携記録の保存期間は1年間（365日）です。")
    assert f"{date_ja(kept_until)}まで保存しなければなりません" in refused.value.message_ja
    result = linkage.purge_linkages(db, operator, tmp_path, retention_days=365, now=later)
    db.commit()
    assert (result.purged, result.through_seq) == (3, 3)
    lines = result.archive.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["seq"] for line in lines[:-1]] == [1, 2, 3]
    assert json.loads(lines[-1])["manifest"]["through_hash"] == result.through_hash
    assert db.scalar(sa.select(sa.func.count()).select_from(LinkageRecord)) == 0
    service, subject = history
    check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                     "items": ["生年月日"], "purpose": "子育て支援サービスの案内"})
    db.commit()
    assert [status.broken for status in linkage.verify_chains(db)] == [None, None]
    assert renkei_check(app).exit_code == 0


def test_a_deleted_linkage_archive_is_named_by_renkei_check(app, db, operator, history, tmp_path):
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    result = linkage.purge_linkages(db, operator, tmp_path / "archive", retention_days=365, now=later)
    db.commit()
    assert renkei_check(app).exit_code == 0
    result.archive.unlink()

    checked = renkei_check(app)

    assert checked.exit_code == 1
    assert f"archives: archive {result.archive.name} recorded by the purge is missing" in checked.output


def test_the_linkage_anchor_only_moves_forward_and_is_never_deleted(db, operator, history, tmp_path):
    """The guard of every chain's anchor (core.chain.anchor_guards_sqlite / anchor_guard_pg), also
    against the schema owner while the guards are in place."""
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    result = linkage.purge_linkages(db, operator, tmp_path, retention_days=365, now=later)
    db.commit()
    assert result.through_seq == 3
    for statement in ("UPDATE chain_anchor SET purged_through_seq = 1 WHERE name = 'linkage_record'",
                      "DELETE FROM chain_anchor WHERE name = 'linkage_record'"):
        with pytest.raises(sa.exc.DatabaseError, match="chain_anchor"):
            with owner_bind(db).begin() as connection:
                connection.execute(sa.text(statement))
    with owner_bind(db).begin() as connection:  # forward is the purge's way
        connection.execute(sa.text("UPDATE chain_anchor SET purged_through_seq = 3, purged_count = 3 "
                                   "WHERE name = 'linkage_record'"))
    assert linkage.LINKAGE_CHAIN.anchor.read(db) == (3, result.through_hash)


def test_a_broken_linkage_chain_is_not_purged(db, operator, history, tmp_path):
    """The purge verifies the whole chain first (core.chain_archive.purge, as the audit log's): an
    edited record stays where it is, with the rest, and no archive is written."""
    with guards_dropped(db) as bind:
        with bind.begin() as connection:
            connection.execute(sa.text("UPDATE linkage_record SET allowed = true WHERE seq = 2"))
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    with pytest.raises(ChainBroken, match="record #2") as refused:
        linkage.purge_linkages(db, operator, tmp_path / "archive", retention_days=365, now=later)
    assert "削除は行いません" in refused.value.message_ja
    db.rollback()
    assert list(db.scalars(sa.select(LinkageRecord.seq).order_by(LinkageRecord.seq))) == [1, 2, 3]
    assert linkage.LINKAGE_CHAIN.anchor.row(db) is None and not (tmp_path / "archive").exists()


def test_a_linkage_archive_written_before_the_shared_purge_still_verifies(db, operator, history, tmp_path):
    """renkei-linkage-archive/1 as the linkage purge wrote it before core.chain_archive: the same
    record lines, its manifest with json.dumps' spaces and without created_at, cutoff, retention_days."""
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    result = linkage.purge_linkages(db, operator, tmp_path, retention_days=365, now=later)
    db.commit()
    *records, manifest_line = result.archive.read_text(encoding="utf-8").splitlines(keepends=True)
    manifest = json.loads(manifest_line)["manifest"]
    old = {name: manifest[name] for name in ("format", "count", "first_seq", "through_seq", "start_hash",
                                            "through_hash", "records_sha256")}
    before = tmp_path / "linkage-000000000001-000000000003-before.jsonl"
    before.write_text("".join(records) + json.dumps({"manifest": old}, ensure_ascii=False, sort_keys=True) + "\n",
                      encoding="utf-8")
    report = linkage.verify_archive(before)
    assert report.broken is None and (report.count, report.first_seq, report.last_seq) == (3, 1, 3)
    assert report.last_hash == result.through_hash
    old["through_hash"] = json.loads(records[1])["hash"]  # a manifest naming another end
    before.write_text("".join(records) + json.dumps({"manifest": old}, sort_keys=True) + "\n", encoding="utf-8")
    assert "last record" in linkage.verify_archive(before).broken.reason


def test_of_two_linkage_purges_at_once_one_waits_or_removes_nothing(db, operator, history, tmp_path, monkeypatch):
    """The purge does not lock the chain head: a consent check goes on while it writes its archive
    (on PostgreSQL a head locked by the purge would make it wait, here past lock_timeout). A second
    purge meanwhile waits on PostgreSQL (refused here after lock_timeout); on SQLite it commits first
    and this one, finding the anchor moved, removes nothing. Either way nothing is purged twice."""
    from sqlalchemy.orm import Session

    from core import chain_archive
    from core.errors import Conflict

    service, subject = history
    postgresql = db.get_bind().dialect.name == "postgresql"
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    write, other_purge = chain_archive.write_archive, []

    def meanwhile(*args, **kwargs):
        monkeypatch.setattr(chain_archive, "write_archive", write)
        with Session(db.get_bind()) as other:
            if postgresql:
                other.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            check.consent_check(other, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                                "items": ["生年月日"], "purpose": "子育て支援サービスの案内"})
            other.commit()
        with Session(db.get_bind()) as other:
            if postgresql:
                other.execute(sa.text("SET LOCAL lock_timeout = '2s'"))
            try:
                other_purge.append(linkage.purge_linkages(other, operator, tmp_path / "other", retention_days=365, now=later))
                other.commit()
            except sa.exc.OperationalError as error:
                other_purge.append(error)
        return write(*args, **kwargs)

    monkeypatch.setattr(chain_archive, "write_archive", meanwhile)
    if postgresql:
        result = linkage.purge_linkages(db, operator, tmp_path / "this", retention_days=365, now=later)
        db.commit()
        assert "lock timeout" in str(other_purge[0]) and result.through_seq == 3  # the check's #4 came after its head
    else:
        with pytest.raises(Conflict, match="at the same time"):
            linkage.purge_linkages(db, operator, tmp_path / "this", retention_days=365, now=later)
        db.rollback()
        assert other_purge[0].through_seq == 4  # the three records and the check's (#4), made while this purge ran
    assert linkage.LINKAGE_CHAIN.anchor.read(db)[0] == (3 if postgresql else 4)
    assert [status.broken for status in linkage.verify_chains(db)] == [None, None]

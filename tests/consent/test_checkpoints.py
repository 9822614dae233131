"""Signed checkpoints of the consent and linkage chains (issue 27, "the same for the consent and
linkage chain"): the due jobs write them beside the audit checkpoint, every backup manifest and
the monthly report carry them, and after the due jobs ran once a database owner who shortens a
chain and rewinds its head, or deletes a record and rehashes the rest with renkei's own function,
makes `renkei check` fail; so does the application role moving the linkage records' purge anchor
and deleting the records below it (the purge's rights)."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
import sqlalchemy as sa

from core import chain, checkpoints
from residents.consent import linkage
from residents.consent import check as consent_check
from tests.consent.conftest import BROKER, KUMAMOTO, person
from tests.consent.test_chains import guards_dropped, history  # noqa: F401 (a fixture)

CHAINS = {"consent_record": "同意記録", "linkage_record": "連携記録"}


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[*args, "--as", "unei"])


@pytest.fixture
def folder(app, tmp_path, monkeypatch):
    """The checkpoint folder (a new one: the due jobs create it) and an empty backup store."""
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "RENKEI_BACKUP_DIR", str(tmp_path / "backups"))
    return tmp_path / "checkpoints"


@pytest.fixture
def jobs_ran(app, db, history, folder):  # noqa: F811 (the fixture imported above)
    """Consent and linkage history, then `renkei jobs run-due --no-backup` once: the checkpoint file
    it wrote of each chain."""
    result = cli(app, "jobs", "run-due", "--no-backup")
    assert result.exit_code == 0, result.output
    assert "[OK  ] consent-checkpoints" in result.output
    written = {name: list(folder.glob(f"{name}-checkpoint-*.json")) for name in CHAINS}
    assert all(len(files) == 1 for files in written.values()), result.output
    return {name: files[0] for name, files in written.items()}


def trusted(app):
    from maintenance.signing import trusted_keys

    with app.app_context():
        return trusted_keys(app.config)


def head(db, name: str) -> tuple[int, str]:
    db.expire_all()
    row = db.execute(sa.text("SELECT last_seq, last_hash FROM chain_head WHERE name = :n"), {"n": name}).one()
    return int(row[0]), row[1]


def intact_without_checkpoints(db) -> bool:
    """What the chains' own verification says (no checkpoint given): the forgeries below pass it."""
    db.expire_all()
    statuses = linkage.verify_chains(db)
    db.rollback()
    return all(status.broken is None for status in statuses)


def cut_tail(db, name: str, count: int = 1) -> None:
    """The owner deletes the chain's last ``count`` records and rewinds its head to the one before."""
    seq, _ = head(db, name)
    with guards_dropped(db) as bind, bind.begin() as owner:
        owner.execute(sa.text(f"DELETE FROM {name} WHERE seq > :s"), {"s": seq - count})
        kept = owner.execute(sa.text(f"SELECT seq, hash FROM {name} ORDER BY seq DESC LIMIT 1")).one()
        owner.execute(sa.text("UPDATE chain_head SET last_seq = :s, last_hash = :h WHERE name = :n"),
                      {"s": kept[0], "h": kept[1], "n": name})


def delete_and_rehash(db, name: str, victim: int) -> None:
    """The owner deletes record ``victim``, renumbers the later ones, rehashes them with renkei's own
    function (core.chain.entry_hash) and moves the head: the chain is whole again."""
    table, fields = linkage.CHAINS[name]
    with guards_dropped(db) as bind, bind.begin() as owner:
        owner.execute(sa.delete(table).where(table.c.seq == victim))
        prev = owner.scalar(sa.select(table.c.hash).where(table.c.seq == victim - 1)) or chain.GENESIS_HASH
        for row in owner.execute(sa.select(table).where(table.c.seq > victim).order_by(table.c.seq)).all():
            values = {**row._mapping, "seq": row.seq - 1}
            digest = chain.entry_hash(values, fields, prev)
            owner.execute(sa.update(table).where(table.c.id == row.id).values(seq=row.seq - 1, prev_hash=prev, hash=digest))
            prev, last = digest, row.seq - 1
        owner.execute(sa.text("UPDATE chain_head SET last_seq = :s, last_hash = :h WHERE name = :n"),
                      {"s": last, "h": prev, "n": name})


def test_the_due_jobs_write_a_signed_private_checkpoint_of_each_chain(app, db, jobs_ran, folder):
    for name, path in jobs_ran.items():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        found = checkpoints.parse(json.loads(path.read_text()), trusted(app), path.name)
        assert (found.chain, found.seq, found.hash) == (name, *head(db, name))
        assert found.anchor == (0, chain.GENESIS_HASH)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert len(list(folder.glob("audit-checkpoint-*.json"))) == 1  # beside the audit log's
    checked = cli(app, "check")
    assert checked.exit_code == 0, checked.output
    assert f"consent records checkpoint: #{head(db, 'consent_record')[0]}" in checked.output
    assert f"linkage records checkpoint: #{head(db, 'linkage_record')[0]}" in checked.output


def test_without_consent_records_no_consent_checkpoint_is_written(app, db, operator, folder):
    result = cli(app, "jobs", "run-due", "--no-backup")
    assert result.exit_code == 0, result.output
    assert "[SKIP] consent-checkpoints" in result.output
    assert [path.name.split("-checkpoint-")[0] for path in folder.iterdir()] == ["audit"]


@pytest.mark.parametrize("name", list(CHAINS))
def test_a_tail_cut_with_the_head_rewound_fails_check_and_the_due_jobs(app, db, jobs_ran, folder, name):
    cut_tail(db, name)
    assert intact_without_checkpoints(db)  # only the checkpoint can tell
    result = cli(app, "check")
    assert result.exit_code == 1, result.output
    assert f"FAILED: consent: the {name.replace('_record', '')} records are broken" in result.output
    assert "not in the log" in result.output and f"{CHAINS[name]}の改ざん・欠落を検出しました" in result.output
    again = cli(app, "jobs", "run-due", "--no-backup")
    assert again.exit_code == 1
    assert "[FAIL] consent-checkpoints" in again.output
    assert len(list(folder.glob(f"{name}-checkpoint-*.json"))) == 1  # nothing written over the forgery


@pytest.mark.parametrize("name,victim", [("consent_record", 1), ("linkage_record", 2)])
def test_a_deletion_with_the_chain_rehashed_fails_check(app, db, history, give, jobs_ran, name, victim):  # noqa: F811
    service, subject = history
    give(service, person())  # records after the checkpoint: the checkpoint's record is still there after
    consent_check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                             "items": ["生年月日"], "purpose": "広告配信"})
    db.commit()
    delete_and_rehash(db, name, victim)
    assert intact_without_checkpoints(db)
    result = cli(app, "check")
    assert result.exit_code == 1, result.output
    assert "FAILED: consent" in result.output and "history was rewritten up to here" in result.output


def test_the_application_role_moving_the_linkage_anchor_and_deleting_below_it_fails_check(app, db, jobs_ran):
    """The purge's rights (move the anchor, delete at or below it) are the application role's: used
    outside the purge they pass the chain's own verification, not the checkpoint's anchor."""
    seq, _ = head(db, "linkage_record")
    through = db.execute(sa.text("SELECT seq, hash FROM linkage_record WHERE seq = :s"), {"s": seq - 1}).one()
    db.execute(sa.insert(chain.ChainAnchor).values(name="linkage_record", purged_through_seq=through[0],
                                                   purged_through_hash=through[1], purged_count=through[0],
                                                   purged_at=dt.datetime.now(dt.timezone.utc)))
    db.execute(sa.text("DELETE FROM linkage_record WHERE seq <= :s"), {"s": through[0]})
    db.commit()  # the application's own connection: its rights allow this
    assert intact_without_checkpoints(db)
    result = cli(app, "check")
    assert result.exit_code == 1, result.output
    assert "records were removed without the linkage records' purge" in result.output
    assert "[FAIL] consent-checkpoints" in cli(app, "jobs", "run-due", "--no-backup").output


def test_a_checkpoint_file_with_a_wrong_signature_fails_check(app, db, jobs_ran, folder):
    data = json.loads(jobs_ran["linkage_record"].read_text())
    (folder / "linkage_record-checkpoint-29991231T000000000000Z-1.json").write_text(json.dumps({**data, "seq": 1}))
    result = cli(app, "check")
    assert result.exit_code == 1
    assert "FAILED: consent" in result.output and "signature does not match" in result.output


def test_every_backup_manifest_carries_the_consent_heads_signed_which_check_reads(app, db, history, folder, tmp_path):  # noqa: F811
    made = cli(app, "backup", "--no-realm")
    assert made.exit_code == 0, made.output
    archive_file = next((tmp_path / "backups").glob("renkei-backup-*.tar"))
    from maintenance import archive

    manifest, _key = archive.read_signed_manifest(archive_file, trusted(app))
    signed = {data["chain"]: checkpoints.parse(data, trusted(app), "manifest") for data in manifest["checkpoints"]}
    assert set(signed) == {"audit", *CHAINS}
    for name in CHAINS:
        assert (signed[name].seq, signed[name].hash) == head(db, name)
        assert manifest["chain_heads"][name]["seq"] == head(db, name)[0]
    assert not folder.exists()  # no due job ran: the backup is the only checkpoint
    checked = cli(app, "check")
    assert checked.exit_code == 0, checked.output
    assert f"consent records checkpoint: #{head(db, 'consent_record')[0]} " in checked.output
    cut_tail(db, "consent_record")
    result = cli(app, "check")
    assert result.exit_code == 1
    assert "FAILED: consent" in result.output and f"backup {archive_file.name}" in result.output


def test_the_monthly_report_carries_the_consent_checkpoints(app, db, history, folder, tenant_factory):  # noqa: F811
    from core.outbox import Notification

    tenant_factory("430005", kind="prefecture", contacts=[{"name": "県 担当", "email": "digital@pref.example.jp", "role": "admin"}])
    assert cli(app, "jobs", "run-due", "--only", "request-log-retention").exit_code == 0  # the first checkpoints
    first = {name: json.loads(next(folder.glob(f"{name}-checkpoint-*.json")).read_text()) for name in CHAINS}
    assert cli(app, "jobs", "run-due", "--no-backup").exit_code == 0
    db.expire_all()
    body = db.scalars(sa.select(Notification).where(Notification.kind == "usage.monthly_report")).one().body
    mailed = [json.loads(line) for line in body.splitlines() if line.startswith("{") and '"renkei-checkpoint/1"' in line]
    assert [data["chain"] for data in mailed] == ["audit", *CHAINS]
    assert {data["chain"]: data for data in mailed[1:]} == first
    assert "同意記録・連携記録のチェックポイント" in body


def test_a_restore_checkpoints_the_restored_consent_chains(app, db, history, folder, tmp_path):  # noqa: F811
    """Checkpoints written after the backup name records the restore takes away: the restore writes
    new ones, so `renkei check` passes on the restored data. (On PostgreSQL the restore drill,
    tests/test_restore_drill.py, does the same into the emptied database.)"""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's restore into a new file; PostgreSQL's: tests/test_restore_drill.py")
    from admin import create_app
    from admin.extensions import db as database

    made = cli(app, "backup", "--no-realm")
    assert made.exit_code == 0, made.output
    archive_file = next((tmp_path / "backups").glob("renkei-backup-*.tar"))
    service, subject = history
    consent_check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                             "items": ["生年月日"], "purpose": "子育て支援サービスの案内"})
    db.commit()
    assert cli(app, "jobs", "run-due", "--no-backup").exit_code == 0  # linkage checkpoint #4, past the backup
    config = {k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET"))}
    other = create_app({**config, "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'restored.db'}"})
    with other.app_context():
        try:
            stale = other.test_cli_runner().invoke(args=["check", "--as", "unei"])
            restored = other.test_cli_runner().invoke(args=["restore", str(archive_file), "--no-realm", "--yes", "--as", "unei"])
            assert restored.exit_code == 0, restored.output
            assert "linkage_record checkpoint #3 written" in restored.output
            checked = other.test_cli_runner().invoke(args=["check", "--as", "unei"])
            assert checked.exit_code == 0, checked.output
            assert "linkage records checkpoint: #3 " in checked.output
        finally:
            database.session.remove()
            database.engine.dispose()
    assert stale.exit_code == 1  # the empty database against the checkpoints: they name records it lacks


def test_the_one_rule_is_shared_with_the_audit_log():
    """The consent chains and the audit log compare with a checkpoint through core.chain.checkpoint_break."""
    gone = chain.checkpoint_break(5, "a" * 64, 0, chain.GENESIS_HASH, lambda seq: None)
    other = chain.checkpoint_break(5, "a" * 64, 0, chain.GENESIS_HASH, lambda seq: "b" * 64)
    assert "not in the log" in gone.reason and "rewritten" in other.reason
    assert chain.checkpoint_break(5, "A" * 64, 0, chain.GENESIS_HASH, lambda seq: "a" * 64) is None

"""Signed audit checkpoints kept outside the database (issue 27): after the due jobs ran once, a
database owner who shortens the chain and rewinds its head, or deletes a record and rehashes the
rest with renkei's own function, makes `renkei check` and `renkei audit verify` fail; a forged
checkpoint file fails them too; the backup manifest and the monthly report carry a checkpoint."""

from __future__ import annotations

import datetime as dt
import json
import stat

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit as core_audit
from core import checkpoints, signing
from core.audit import AuditRecord
from tests.conftest import owner_bind
from tests.governance.conftest import guards_disabled


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[*args, "--as", "unei"])


def write_log(db, operator, count=5):
    for n in range(1, count + 1):
        core_audit.record(db, operator, "tenant.update", "tenant", "431001", tenant_code="431001",
                          before={"population": 1000 + n}, after={"population": 2000 + n})
    db.commit()


@pytest.fixture
def folder(app, tmp_path, monkeypatch):
    """The checkpoint folder (a new one: the due jobs create it) and an empty backup store."""
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "RENKEI_BACKUP_DIR", str(tmp_path / "backups"))
    return tmp_path / "checkpoints"


@pytest.fixture
def jobs_ran(app, db, operator, folder):
    """Some history, then `renkei jobs run-due --no-backup` once; the checkpoint file it wrote."""
    write_log(db, operator, 6)
    result = cli(app, "jobs", "run-due", "--no-backup")
    assert result.exit_code == 0, result.output
    files = list(folder.glob("audit-checkpoint-*.json"))
    assert len(files) == 1, result.output
    return files[0]


def head(db) -> tuple[int, str]:
    db.expire_all()
    row = db.execute(sa.text("SELECT last_seq, last_hash FROM audit_chain_head")).one()
    return int(row[0]), row[1]


def trusted(app):
    from maintenance.signing import trusted_keys

    with app.app_context():
        return trusted_keys(app.config)


def test_the_due_jobs_write_a_signed_private_checkpoint_of_the_head_after_their_last_record(app, db, jobs_ran, folder):
    assert stat.S_IMODE(jobs_ran.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    found = checkpoints.parse(json.loads(jobs_ran.read_text()), trusted(app), jobs_ran.name)
    # the checkpoint covers the whole run: the head, which is the audit-checkpoint job's own record
    assert (found.seq, found.hash) == head(db)
    last = db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
    assert (last.action, last.target_id) == ("jobs.run", "audit-checkpoint")
    checked = cli(app, "check")
    assert checked.exit_code == 0, checked.output
    assert f"audit checkpoint: #{found.seq}" in checked.output


def _cut_tail(db, count: int) -> None:
    """The owner deletes the last ``count`` records and rewinds the head to the record before them."""
    seq, _ = head(db)
    with guards_disabled(db), Session(owner_bind(db)) as owner:
        owner.execute(sa.text("DELETE FROM audit_record WHERE seq > :s"), {"s": seq - count})
        kept = owner.execute(sa.text("SELECT seq, hash FROM audit_record ORDER BY seq DESC LIMIT 1")).one()
        owner.execute(sa.text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h"), {"s": kept[0], "h": kept[1]})
        owner.commit()


def _delete_and_rehash(db, victim: int) -> None:
    """The owner deletes record ``victim``, renumbers the later ones and rehashes them with
    renkei's own function (core.audit.compute_hash), and moves the head: the chain is whole again."""
    with guards_disabled(db), Session(owner_bind(db)) as owner:
        owner.execute(sa.text("DELETE FROM audit_record WHERE seq = :s"), {"s": victim})
        owner.flush()
        rows = list(owner.scalars(sa.select(AuditRecord).where(AuditRecord.seq > victim).order_by(AuditRecord.seq)))
        prev = owner.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == victim - 1))
        for row in rows:
            row.seq -= 1
            row.prev_hash, row.hash = prev, core_audit.compute_hash(row, prev)
            prev = row.hash
            owner.flush()
        owner.execute(sa.text("UPDATE audit_chain_head SET last_seq = :s, last_hash = :h"), {"s": rows[-1].seq, "h": prev})
        owner.commit()


def test_a_tail_cut_with_the_head_rewound_fails_check_and_verify(app, db, jobs_ran):
    _cut_tail(db, 3)
    assert cli(app, "audit", "verify", "--checkpoint-file", str(jobs_ran)).exit_code == 1
    result = cli(app, "check")
    assert result.exit_code == 1
    assert "FAILED: audit" in result.output and "not in the log" in result.output
    verified = cli(app, "audit", "verify")
    assert verified.exit_code == 1 and "BROKEN" in verified.output


def test_a_deletion_with_the_chain_rehashed_fails_check(app, db, jobs_ran):
    _delete_and_rehash(db, 3)
    # without the checkpoint the chain is whole again: only the checkpoint can tell
    from governance import audit as audit_log
    from core.actor import console_actor

    assert audit_log.verification(db, console_actor("t", ["platform-operator"])).intact
    db.rollback()
    result = cli(app, "check")
    assert result.exit_code == 1
    assert "FAILED: audit" in result.output


def test_a_checkpoint_file_with_a_wrong_signature_fails_check_an_unsigned_one_is_ignored(app, db, jobs_ran, folder, tmp_path):
    data = json.loads(jobs_ran.read_text())
    forged = {**data, "seq": data["seq"] - 1}  # edited after signing
    (folder / "audit-checkpoint-29991231T000000000000Z-1.json").write_text(json.dumps(forged))
    result = cli(app, "check")
    assert result.exit_code == 1
    assert "signature does not match" in result.output

    (folder / "audit-checkpoint-29991231T000000000000Z-1.json").unlink()
    other, _ = signing.generate_key(tmp_path / "other" / "key.pem", tmp_path / "other")  # a key nobody trusts
    (folder / "audit-checkpoint-29991231T000000000000Z-2.json").write_text(
        json.dumps(checkpoints.document("audit", 1, data["hash"], dt.datetime.now(dt.timezone.utc), other)))
    result = cli(app, "check")
    assert result.exit_code == 1
    assert "not among the trusted public keys" in result.output

    (folder / "audit-checkpoint-29991231T000000000000Z-2.json").unlink()
    (folder / "audit-checkpoint-29991231T000000000000Z-3.json").write_text(json.dumps({"seq": 1, "hash": "0" * 64}))
    result = cli(app, "check")
    assert result.exit_code == 0, result.output
    assert "unsigned checkpoint files ignored: 1" in result.output


def test_without_a_signing_key_the_checkpoint_job_fails_naming_the_command(app, db, operator, folder, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_SIGNING_KEY", str(tmp_path / "nowhere" / "key.pem"))
    result = cli(app, "jobs", "run-due", "--only", "outbox")
    assert result.exit_code == 1
    assert "[FAIL] audit-checkpoint" in result.output and "renkei signing-key generate" in result.output
    assert not folder.exists() or not list(folder.iterdir())


def test_every_backup_manifest_carries_a_checkpoint_that_check_reads(app, db, operator, folder, tmp_path):
    write_log(db, operator, 4)
    made = cli(app, "backup", "--no-realm")
    assert made.exit_code == 0, made.output
    archive_file = next((tmp_path / "backups").glob("renkei-backup-*.tar"))
    from maintenance import archive

    manifest, key = archive.read_signed_manifest(archive_file, trusted(app))
    found = checkpoints.parse(manifest["checkpoints"][0], trusted(app), "manifest")
    assert (found.seq, found.hash) == (manifest["audit_head"]["seq"], manifest["audit_head"]["hash"])
    assert not folder.exists()  # no due job ran: the backup is the only checkpoint
    assert cli(app, "check").exit_code == 0
    _cut_tail(db, 2)
    result = cli(app, "check")
    assert result.exit_code == 1
    assert f"backup {archive_file.name}" in result.output or "not in the log" in result.output


def test_the_monthly_report_carries_the_newest_checkpoint_which_verify_reads_back(app, db, operator, folder, tenant_factory,
                                                                                   tmp_path):
    from core.outbox import Notification

    tenant_factory("430005", kind="prefecture", contacts=[{"name": "県 担当", "email": "digital@pref.example.jp", "role": "admin"}])
    write_log(db, operator, 2)
    assert cli(app, "jobs", "run-due", "--only", "request-log-retention").exit_code == 0  # a first checkpoint
    first = json.loads(next(folder.glob("audit-checkpoint-*.json")).read_text())
    assert cli(app, "jobs", "run-due", "--no-backup").exit_code == 0
    db.expire_all()
    body = db.scalars(sa.select(Notification).where(Notification.kind == "usage.monthly_report")).one().body
    line = next(line for line in body.splitlines() if line.startswith("{") and '"renkei-checkpoint/1"' in line)
    assert json.loads(line) == first
    saved = tmp_path / "from-the-mail.json"
    saved.write_text(line)
    assert cli(app, "audit", "verify", "--checkpoint-file", str(saved)).exit_code == 0
    _cut_tail(db, head(db)[0] - first["seq"] + 1)  # back to before the mailed checkpoint
    result = cli(app, "audit", "verify", "--checkpoint-file", str(saved))
    assert result.exit_code == 1

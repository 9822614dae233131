"""`renkei jobs run-due`: every due job in one command, each outcome printed and recorded."""

import datetime as dt
import json
import tarfile

import sqlalchemy as sa

from core.audit import AuditRecord
from core.calendar import JST, add_months, current_month
from core.outbox import Notification


def run(app, *args):
    return app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", *args])


def job_records(db):
    db.expire_all()
    return {record.target_id: json.loads(record.after) if isinstance(record.after, str) else record.after
            for record in db.scalars(
        sa.select(AuditRecord).where(AuditRecord.action == "jobs.run").order_by(AuditRecord.id))}


def test_run_due_queues_last_months_report_to_the_prefecture_once_and_checkpoints_the_audit_chain(
        app, db, tenant_factory, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    tenant_factory("430005", kind="prefecture",
                   contacts=[{"name": "県 担当", "email": "digital@pref.example.jp", "role": "admin"}])
    tenant_factory("431001")

    first = run(app, "--no-backup")
    assert first.exit_code == 0, first.output
    last_month = add_months(current_month(), -1)
    db.expire_all()
    reports = db.scalars(sa.select(Notification).where(Notification.kind == "usage.monthly_report")).all()
    assert len(reports) == 1
    assert reports[0].recipients == "digital@pref.example.jp"
    assert f"{last_month.year}年{last_month.month}月" in reports[0].subject and "431001" in reports[0].body
    outcomes = job_records(db)
    assert outcomes["usage-report"]["status"] == "done"
    assert outcomes["outbox"]["status"] == "skipped"  # no SMTP in tests: messages stay queued
    assert "backup" not in outcomes
    checkpoint = json.loads(next((tmp_path / "checkpoints").glob("audit-checkpoint-*.json")).read_text())
    # written after the run's last record, the audit-checkpoint job's own: it is the checkpoint's head
    last = db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq.desc()).limit(1)).one()
    assert (last.target_id, last.seq, last.hash) == ("audit-checkpoint", checkpoint["seq"], checkpoint["hash"])
    assert outcomes["audit-checkpoint"]["verified_seq"] == checkpoint["seq"] - 1
    assert "[OK  ] usage-report" in first.output and "[SKIP] outbox" in first.output

    second = run(app, "--no-backup")
    assert second.exit_code == 0, second.output
    db.expire_all()
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification)
                     .where(Notification.kind == "usage.monthly_report")) == 1
    assert "[SKIP] usage-report" in second.output


def test_run_due_deletes_request_logs_past_the_retention(app, db, tmp_path, monkeypatch):
    logs = tmp_path / "requests"
    logs.mkdir()
    today = dt.datetime.now(JST).date()
    old = logs / f"requests-{(today - dt.timedelta(days=400)).isoformat()}.jsonl"
    recent = logs / f"requests-{(today - dt.timedelta(days=30)).isoformat()}.jsonl"
    old.write_text("{}\n")
    recent.write_text("{}\n")
    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", str(logs))
    monkeypatch.setitem(app.config, "RENKEI_RETENTION_DAYS", 365)
    result = run(app, "--only", "request-log-retention")
    assert result.exit_code == 0, result.output
    assert not old.exists() and recent.exists()
    assert job_records(db)["request-log-retention"]["removed"] == [old.name]


def test_a_failing_job_is_reported_and_the_others_still_run(app, db, tmp_path, monkeypatch):
    blocked = tmp_path / "not-a-folder"
    blocked.write_text("a file where the checkpoint folder should be")
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(blocked))
    result = run(app, "--only", "audit-checkpoint", "--only", "usage-retention")
    assert result.exit_code == 1
    outcomes = job_records(db)
    assert outcomes["audit-checkpoint"]["status"] == "failed"
    assert outcomes["usage-retention"]["status"] == "done"


def test_the_nightly_backup_runs_once_a_day_then_the_check(app, db, tenant_factory, keycloak_server, keycloak_settings,
                                                          tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_BACKUP_DIR", str(tmp_path / "backups"))
    monkeypatch.setitem(app.config, "RENKEI_KEYCLOAK_ADMIN_USER", keycloak_server.admin_user)
    monkeypatch.setitem(app.config, "RENKEI_KEYCLOAK_ADMIN_PASSWORD", keycloak_server.admin_password)
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    tenant_factory("431001")
    first = run(app, "--only", "audit-checkpoint", "--only", "backup", "--only", "check")
    assert first.exit_code == 0, first.output
    archives = list((tmp_path / "backups").glob("renkei-backup-*.tar"))
    assert len(archives) == 1
    outcomes = job_records(db)
    assert outcomes["backup"]["file"] == str(archives[0]) and outcomes["check"]["status"] == "done"

    second = run(app, "--only", "backup", "--only", "check")
    assert second.exit_code == 0, second.output
    assert "[SKIP] backup" in second.output and "] check" not in second.output  # the check follows a new backup only
    assert len(list((tmp_path / "backups").glob("renkei-backup-*.tar"))) == 1


def test_with_keycloak_unreachable_the_night_still_archives_the_database_and_the_next_run_tries_again(
        app, db, tenant_factory, tmp_path, monkeypatch):
    """Keycloak down (nothing listens at its address): the backup with the realm fails, the job says
    so, and a database-only archive is written; today's whole backup is still due at the next run."""
    backups = tmp_path / "backups"
    monkeypatch.setitem(app.config, "RENKEI_BACKUP_DIR", str(backups))
    monkeypatch.setitem(app.config, "RENKEI_KEYCLOAK_URL", "http://127.0.0.1:9")  # the discard port: refused
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    tenant_factory("431001")
    first = run(app, "--only", "backup")
    assert "[FAIL] backup" in first.output and "データベースのみのバックアップを作成しました" in first.output
    [archive] = backups.glob("renkei-backup-*.tar")
    assert archive.name.endswith("-database-only.tar")
    outcome = job_records(db)["backup"]
    assert outcome["status"] == "failed" and outcome["file"] == str(archive)
    with tarfile.open(archive) as opened:
        manifest = json.load(opened.extractfile("manifest.json"))
    assert manifest["realm"] is None and manifest["database"]

    second = run(app, "--only", "backup")
    assert "[SKIP] backup" not in second.output and "[FAIL] backup" in second.output  # the whole backup tried again

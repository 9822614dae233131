"""`renkei consent ...` and the linkage-retention job of `renkei jobs run-due`: a person's history
exported, linkages searched, the chains verified; linkage records past their retention archived
(the archive verifies), then removed, the newer ones kept, the purge audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import sqlalchemy as sa
from openpyxl import load_workbook

from core import chain
from core.audit import AuditRecord
from residents.consent import check, linkage
from residents.consent.models import LINKAGE_HASHED_FIELDS, LinkageRecord
from tests.consent.conftest import BROKER, KUMAMOTO, YATSUSHIRO, person


def cli(app, *args, role: str | None = None):
    roles = ["--role", role] if role else []
    return app.test_cli_runner().invoke(args=["consent", *args, "--as", "cli-test", *roles])


def _checked(db, service, subject, purpose="子育て支援サービスの案内"):
    decision = check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                                "items": ["生年月日"], "purpose": purpose})
    db.commit()
    return decision


def test_the_operator_exports_a_persons_history_and_searches_linkages(app, db, consent_setup, give, tmp_path):
    service = consent_setup()
    subject = person()
    give(service, subject)
    _checked(db, service, subject)
    _checked(db, service, subject, purpose="広告の配信")

    result = cli(app, "history", KUMAMOTO, subject)
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout_bytes.decode("utf-8-sig"))))
    assert rows[0][:3] == ["区分", "番号", "日時"]
    assert [row[0] for row in rows[1:]] == ["同意記録", "連携記録", "連携記録"]
    assert "同意の範囲外の利用目的" in rows[3]
    out = tmp_path / "history.xlsx"
    assert cli(app, "history", KUMAMOTO, subject, "--format", "xlsx", "-o", str(out)).exit_code == 0
    assert out.stat().st_mode & 0o077 == 0  # personal data: readable by its owner only
    sheet = load_workbook(out).active
    assert sheet.max_row == 4
    answer = json.loads(cli(app, "history", KUMAMOTO, subject, "--format", "json").stdout)
    assert answer["consents"][0]["data_subject"]["identifier"] == subject and len(answer["linkages"]) == 2
    receipt = json.loads(cli(app, "receipt", answer["consents"][0]["record_id"]).stdout)
    assert receipt["method"] == "paper" and receipt["state"] == "given"
    db.expire_all()
    reads = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "consent.history.read")).all()
    assert len(reads) == 3 and {r.actor_subject for r in reads} == {"cli-test"}

    found = cli(app, "linkages", "--service", str(service.id), "--result", "refused", role="auditor")
    assert found.exit_code == 0, found.output
    lines = list(csv.reader(io.StringIO(found.stdout_bytes.decode("utf-8-sig"))))
    assert len(lines) == 2 and lines[1][6] == "広告の配信" and lines[1][7] == "拒否"
    # a municipal clerk (no tenant here) may not read another's people, nor search across tenants
    assert cli(app, "history", YATSUSHIRO, subject, role="finance-officer").exit_code != 0
    assert cli(app, "linkages", role="municipal-staff").exit_code != 0


def test_the_operator_moves_a_service_and_the_chains_verify(app, db, consent_setup):
    service = consent_setup(approve=False)
    refused = cli(app, "move", str(service.id), "suspend")
    assert refused.exit_code != 0  # registered: approve first
    assert "承認済み" in cli(app, "move", str(service.id), "approve").output
    assert cli(app, "move", str(service.id), "suspend").exit_code == 2  # a reason is needed
    assert "一時停止" in cli(app, "move", str(service.id), "suspend", "--reason", "委託先の調査のため").output
    listed = cli(app, "services")
    assert f"{service.id}\t{KUMAMOTO}\t子育て支援ナビ" in listed.stdout and "一時停止" in listed.stdout
    verified = cli(app, "verify", role="auditor")
    assert verified.exit_code == 0 and "問題なし" in verified.output
    assert cli(app, "verify", role="municipal-admin").exit_code != 0


def _old_linkage(db, service, subject, days_ago: int) -> None:
    """A linkage record written ``days_ago`` (the chain's own append, with an older timestamp)."""
    chain.append(db, LinkageRecord.__table__, LINKAGE_HASHED_FIELDS, {
        "occurred_at": dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days_ago), "service_id": service.id,
        "service_owner": KUMAMOTO, "tenant_code": KUMAMOTO, "subject_id": subject, "items": json.dumps(["生年月日"]),
        "purpose": "子育て支援サービスの案内", "allowed": False, "reason": "no_consent", "consent_record_id": None,
        "consent_receipt_id": None, "client": "", "caller_issuer": BROKER.issuer, "caller_subject": BROKER.subject,
        "request_id": None})
    db.commit()


def test_the_retention_job_archives_then_purges_old_linkages_and_keeps_the_rest(
        app, db, consent_setup, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setitem(app.config, "RENKEI_LINKAGE_ARCHIVE_DIR", str(tmp_path / "linkages"))
    service = consent_setup()
    subject = person()
    for days in (500, 400, 366):
        _old_linkage(db, service, subject, days)
    _old_linkage(db, service, subject, 364)  # inside the year: kept
    _checked(db, service, subject)  # today: kept
    # the chains were checkpointed before (every run of the due jobs does it): the purge moves the
    # linkage chain's anchor, which the next checks must see as the purge's, not as a tampering
    first = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "request-log-retention"])
    assert "[OK  ] consent-checkpoints" in first.output, first.output
    db.rollback()

    ran = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "linkage-retention"])
    assert ran.exit_code == 0, ran.output
    assert "[OK  ] linkage-retention" in ran.output and "[OK  ] consent-checkpoints" in ran.output
    db.expire_all()
    assert list(db.scalars(sa.select(LinkageRecord.seq).order_by(LinkageRecord.seq))) == [4, 5]
    archive = next((tmp_path / "linkages").glob("linkage-*.jsonl"))
    assert [json.loads(line)["seq"] for line in archive.read_text(encoding="utf-8").splitlines()[:-1]] == [1, 2, 3]
    purge = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "consent.linkage.purge")).one()
    assert purge.actor_subject == "jobs-test"
    job = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "jobs.run",
                                                  AuditRecord.target_id == "linkage-retention")).one()
    after = json.loads(job.after) if isinstance(job.after, str) else job.after
    assert (after["status"], after["purged"], after["through_seq"]) == ("done", 3, 3)
    assert [status.broken for status in linkage.verify_chains(db)] == [None, None]
    db.rollback()
    verified = app.test_cli_runner().invoke(args=["consent", "verify-archive", str(archive)])
    assert verified.exit_code == 0 and "3 record(s) #1–#3" in verified.output, verified.output

    again = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "linkage-retention"])
    assert again.exit_code == 0 and "[SKIP] linkage-retention" in again.output

    lines = archive.read_text(encoding="utf-8").splitlines(keepends=True)
    record = json.loads(lines[1])
    record["purpose"] = "広告の配信"
    lines[1] = json.dumps(record, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n"
    tampered = tmp_path / "tampered.jsonl"
    tampered.write_text("".join(lines), encoding="utf-8")
    broken = app.test_cli_runner().invoke(args=["consent", "verify-archive", str(tampered)])
    assert broken.exit_code == 1 and "BROKEN — record #2" in broken.output and "modified" in broken.output, broken.output

"""Export a period (CSV for Excel, JSON lines), and retention: purge archives first and the chain stays
verifiable from the archive's last hash."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError

from core import audit as core_audit
from governance import audit, audit_export
from core.audit import AuditAnchor, AuditRecord
from tests.governance.conftest import guards_disabled, raw

UTC = dt.timezone.utc


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def act(db, operator, moment, clock, target="431001"):
    clock.set(moment)
    entry = core_audit.record(db, operator, "tenant.update", "tenant", target, tenant_code=target, after={"at": moment.isoformat()})
    db.commit()
    return entry


def test_csv_export_of_japanese_days_has_a_bom_and_japanese_headers(app, db, operator, audit_clock, tmp_path):
    act(db, operator, dt.datetime(2025, 3, 31, 14, 59, 59, tzinfo=UTC), audit_clock, "431001")  # 3/31 23:59:59 JST
    act(db, operator, dt.datetime(2025, 3, 31, 15, 0, 0, tzinfo=UTC), audit_clock, "432024")    # 4/1 00:00 JST
    act(db, operator, dt.datetime(2025, 4, 1, 14, 59, 59, tzinfo=UTC), audit_clock, "432032")   # 4/1 23:59:59 JST
    act(db, operator, dt.datetime(2025, 4, 1, 15, 0, 0, tzinfo=UTC), audit_clock, "432041")     # 4/2 JST
    out = tmp_path / "april-first.csv"
    result = run(app, "audit", "export", "--from", "2025-04-01", "--to", "2025-04-01", "-o", str(out))
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data.startswith("\ufeff".encode("utf-8"))
    lines = data.decode("utf-8-sig").splitlines()
    assert lines[0].split(",")[:3] == ["番号", "日時(UTC)", "操作者の発行者"]
    assert [line.split(",")[9] for line in lines[1:]] == ["432024", "432032"]


def test_jsonl_export_verifies_as_a_stretch_of_the_chain(app, db, operator, audit_clock, tmp_path):
    for day in (1, 2, 3):
        act(db, operator, dt.datetime(2025, 5, day, 3, tzinfo=UTC), audit_clock)
    out = tmp_path / "may.jsonl"
    assert run(app, "audit", "export", "--format", "jsonl", "--from", "2025-05-02", "-o", str(out)).exit_code == 0
    records = [json.loads(line) for line in out.read_text("utf-8").splitlines()]
    assert [r["seq"] for r in records] == [2, 3]
    result = run(app, "audit", "verify-archive", str(out))
    assert result.exit_code == 0 and "intact export" in result.output
    records[1]["actor_name"] = "someone else"
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), "utf-8")
    result = run(app, "audit", "verify-archive", str(out))
    assert result.exit_code == 1 and "record #3" in result.output


def test_a_period_that_ends_before_it_starts_is_refused(app, db):
    result = run(app, "audit", "export", "--from", "2025-05-02", "--to", "2025-05-01")
    assert result.exit_code == 2
    assert "期間" in result.output


def old_and_recent(db, operator, clock):
    long_ago = dt.datetime.now(UTC) - dt.timedelta(days=800)
    old = [act(db, operator, long_ago + dt.timedelta(minutes=n), clock) for n in range(3)]
    recent = [act(db, operator, dt.datetime.now(UTC) - dt.timedelta(days=10), clock) for _ in range(2)]
    clock.set(None)
    return old, recent


def test_purge_archives_first_and_the_rest_verifies_from_the_archives_last_hash(app, db, operator, audit_clock, tmp_path):
    old, recent = old_and_recent(db, operator, audit_clock)
    old_hashes = [r.hash for r in old]
    result = run(app, "audit", "purge", "--yes", "--archive-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    assert "#1–#3 (3)" in result.output
    [archive] = tmp_path.glob("audit-archive-*.jsonl")
    lines = [json.loads(line) for line in archive.read_text("utf-8").splitlines()]
    assert [line["hash"] for line in lines[:3]] == old_hashes
    assert lines[3]["manifest"]["last_seq"] == 3 and lines[3]["manifest"]["last_hash"] == old_hashes[2]

    db.expire_all()
    assert [r.seq for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))] == [4, 5, 6]
    purge_record = db.scalars(sa.select(AuditRecord).where(AuditRecord.seq == 6)).one()
    assert purge_record.action == "audit.purge"
    anchor = db.get(AuditAnchor, 1)
    assert (anchor.purged_through_seq, anchor.purged_through_hash) == (3, old_hashes[2])

    verified = run(app, "audit", "verify")
    assert verified.exit_code == 0 and "3 record(s) checked (#4–#6)" in verified.output
    archived = run(app, "audit", "verify-archive", str(archive))
    assert archived.exit_code == 0 and "matches the database's purge anchor (#3)" in archived.output


def test_after_a_purge_the_kept_records_are_still_protected(db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    audit_export.purge(db, operator, tmp_path)
    db.commit()
    with pytest.raises(DBAPIError):
        raw(db, "DELETE FROM audit_record WHERE seq = 4")
    with pytest.raises(DBAPIError):
        raw(db, "UPDATE audit_anchor SET purged_through_seq = 1")


def test_a_modified_archive_is_named_by_verify_archive(app, db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    assert run(app, "audit", "purge", "--yes", "--archive-dir", str(tmp_path)).exit_code == 0
    [archive] = tmp_path.glob("audit-archive-*.jsonl")
    lines = archive.read_text("utf-8").splitlines()
    second = json.loads(lines[1])
    second["target_id"] = "432024"
    lines[1] = json.dumps(second, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    archive.write_text("\n".join(lines) + "\n", "utf-8")
    result = run(app, "audit", "verify-archive", str(archive))
    assert result.exit_code == 1
    assert "record #2" in result.output and "modified" in result.output


def test_an_archive_with_a_record_removed_is_refused(app, db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    assert run(app, "audit", "purge", "--yes", "--archive-dir", str(tmp_path)).exit_code == 0
    [archive] = tmp_path.glob("audit-archive-*.jsonl")
    lines = archive.read_text("utf-8").splitlines()
    archive.write_text("\n".join(lines[1:]) + "\n", "utf-8")  # drop record #1
    result = run(app, "audit", "verify-archive", str(archive))
    assert result.exit_code == 1 and "record #1" in result.output


def test_two_purges_make_archives_that_continue_each_other(app, db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    first = audit_export.purge(db, operator, tmp_path)
    db.commit()
    later = dt.datetime.now(UTC) + dt.timedelta(days=400)
    second = audit_export.purge(db, operator, tmp_path, now=later)
    db.commit()
    assert (first.first_seq, first.through_seq) == (1, 3)
    assert (second.first_seq, second.through_seq) == (4, 6)
    result = run(app, "audit", "verify-archive", str(first.archive_path), str(second.archive_path))
    assert result.exit_code == 0, result.output
    assert run(app, "audit", "verify").exit_code == 0
    reversed_order = run(app, "audit", "verify-archive", str(second.archive_path), str(first.archive_path))
    assert reversed_order.exit_code == 1 and "does not continue" in reversed_order.output


def test_a_broken_log_is_not_purged(app, db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET actor_name = 'x' WHERE seq = 2")
        result = run(app, "audit", "purge", "--yes", "--archive-dir", str(tmp_path))
    assert result.exit_code == 1
    assert "record #2" in result.output
    assert list(tmp_path.iterdir()) == []


def test_retention_shorter_than_a_year_is_refused(app, db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    result = run(app, "audit", "purge", "--yes", "--retention-days", "30", "--archive-dir", str(tmp_path))
    assert result.exit_code == 2 and "365" in result.output
    # the refusal names the kind (core.retention) and the day the youngest record purged must be kept until
    import datetime as dt

    from core.calendar import JST, date_ja

    cutoff = (audit_clock() - dt.timedelta(days=30)).astimezone(JST).date()
    assert f"操作ログの保存期間は1年間（365日）です。{date_ja(cutoff)}より前の記録は" in result.output
    assert f"must be kept until {(cutoff + dt.timedelta(days=365)).isoformat()}" in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 5


def test_records_removed_behind_a_forged_anchor_are_detected(app, db, operator, audit_clock):
    old, _ = old_and_recent(db, operator, audit_clock)
    with guards_disabled(db):
        raw(db, "INSERT INTO audit_anchor (id, purged_through_seq, purged_through_hash, purged_count, purged_at, "
                "archive_name, archive_sha256) VALUES (1, 2, :h, 2, :t, 'none', '')", h=old[1].hash, t=dt.datetime.now(UTC))
        raw(db, "DELETE FROM audit_record WHERE seq <= 2")
        result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "record #2" in result.output and "not confirmed" in result.output


def test_the_api_exports_and_lists_a_period_for_the_auditor(client, db, operator, audit_clock, user_factory):
    act(db, operator, dt.datetime(2025, 3, 31, 14, 59, 59, tzinfo=UTC), audit_clock, "431001")
    act(db, operator, dt.datetime(2025, 3, 31, 15, 0, 0, tzinfo=UTC), audit_clock, "432024")
    auditor = user_factory(("auditor",))[1]
    response = client.get("/api/v1/audit/export?from=2025-04-01&to=2025-04-30&format=jsonl", headers=auditor)
    assert response.status_code == 200
    lines = response.get_data(as_text=True).splitlines()
    response.close()
    assert [json.loads(line)["target_id"] for line in lines] == ["432024"]
    csv_response = client.get("/api/v1/audit/export?to=2025-03-31&english_headers=true", headers=auditor)
    body = csv_response.get_data()
    csv_response.close()
    assert body.startswith(b"\xef\xbb\xbf") and body.decode("utf-8-sig").splitlines()[0].startswith("seq,occurred_at,")
    assert len(body.decode("utf-8-sig").splitlines()) == 2
    listed = client.get("/api/v1/audit/records?from=2025-03-31&to=2025-03-31", headers=auditor).get_json()
    assert [r["target_id"] for r in listed["items"]] == ["431001"]
    bad = client.get("/api/v1/audit/export?from=2025-04-02&to=2025-04-01", headers=auditor)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"


def test_a_checkpoint_in_the_purged_part_is_not_reported_as_confirmed(db, operator, audit_clock, tmp_path):
    old_and_recent(db, operator, audit_clock)
    first = db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)).first()
    checkpoint = (first.seq, first.hash)
    result = audit_export.purge(db, operator, tmp_path)
    db.commit()
    assert result is not None and checkpoint[0] <= result.through_seq
    report = audit.verification(db, operator, [checkpoint])
    assert report.broken is not None and "purged part" in report.broken.reason


def test_retention_shorter_than_the_linkage_records_is_refused_the_residents_look_ups_live_here(
        app, db, operator, audit_clock, tmp_path, monkeypatch):
    old_and_recent(db, operator, audit_clock)
    monkeypatch.setitem(app.config, "RENKEI_LINKAGE_RETENTION_DAYS", 730)
    result = run(app, "audit", "purge", "--yes", "--retention-days", "400", "--archive-dir", str(tmp_path))
    assert result.exit_code == 2 and "730" in result.output and "窓口での閲覧の記録" in result.output
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)) == 5
    assert list(tmp_path.iterdir()) == []

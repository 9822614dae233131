"""The one retention table (core/retention.py): its periods, the manual that states it, and that every
purge asks it (issue 35 item 6)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from core import retention
from core.calendar import JST, date_ja
from core.errors import Invalid

ROOT = Path(__file__).resolve().parents[2]


def test_a_fiscal_years_books_are_kept_until_the_end_of_the_fifth_fiscal_year_after_it():
    ledger = retention.kind("ledger")
    assert ledger.keep_until_year(2025) == dt.date(2031, 3, 31)  # 令和7年度: from 令和8年度, five years
    with pytest.raises(Invalid) as refused:
        retention.refuse_fiscal_year("ledger", 2025, dt.date(2031, 3, 31))
    assert "令和7年度の会計帳簿（仕訳）は令和13年3月31日まで保存しなければなりません" in refused.value.message_ja
    retention.refuse_fiscal_year("ledger", 2025, dt.date(2031, 4, 1))  # the day after: it may go
    assert retention.oldest_disposable_year("ledger", dt.date(2031, 4, 1)) == 2025
    assert retention.oldest_disposable_year("ledger", dt.date(2031, 3, 31)) == 2024


def test_every_kind_the_issue_names_has_a_period_and_logs_keep_a_year():
    assert {k.key for k in retention.KINDS} >= {
        "ledger", "allocation_runs", "letters_statements", "costs_invoices", "agreements", "council", "audit_log",
        "consent", "linkage", "usage_events", "request_log"}
    for key in ("audit_log", "linkage", "usage_events", "request_log"):
        assert retention.kind(key).days == 365
    for key in ("ledger", "allocation_runs", "letters_statements", "costs_invoices", "agreements", "council"):
        assert retention.kind(key).years == 5


def test_a_log_purge_inside_the_year_is_refused_naming_the_kind_and_the_date():
    now = dt.datetime(2026, 11, 25, 3, tzinfo=dt.timezone.utc)
    with pytest.raises(Invalid) as refused:
        retention.refuse_before("usage_events", now - dt.timedelta(days=364), now)
    assert "利用実績（生データ）" in refused.value.message_ja and date_ja(dt.date(2026, 11, 26)) in refused.value.message_ja
    assert "until 2026-11-26" in refused.value.message_en
    retention.refuse_before("usage_events", now - dt.timedelta(days=365), now)


def test_the_operator_manual_states_the_table_as_it_is():
    manual = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    for row in retention.manual_rows():
        assert row in manual, row


def test_the_request_log_purge_asks_the_table(tmp_path):
    from admin import request_log

    today = dt.date(2026, 11, 25)
    old = tmp_path / f"requests-{(today - dt.timedelta(days=200)).isoformat()}.jsonl"
    old.write_text("{}\n")
    with pytest.raises(Invalid) as refused:
        request_log.purge(tmp_path, 100, today=today)
    assert "リクエストログ" in refused.value.message_ja and old.exists()
    assert request_log.purge(tmp_path, 365, today=today) == []  # 200 days old: kept
    assert old.exists()


def test_the_due_jobs_purges_ask_the_table_too(app, db, tmp_path, monkeypatch):
    """A retention set shorter than the table's year fails the due job in words; nothing is removed."""
    logs = tmp_path / "logs"
    logs.mkdir()
    today = dt.datetime.now(JST).date()
    old = logs / f"requests-{(today - dt.timedelta(days=200)).isoformat()}.jsonl"
    old.write_text("{}\n")
    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", str(logs))
    monkeypatch.setitem(app.config, "RENKEI_RETENTION_DAYS", 100)
    monkeypatch.setitem(app.config, "RENKEI_USAGE_RETENTION_MONTHS", 6)
    result = app.test_cli_runner().invoke(args=["jobs", "run-due", "--as", "jobs-test", "--only", "request-log-retention",
                                                "--only", "usage-retention"])
    assert result.exit_code == 1
    assert "[FAIL] request-log-retention" in result.output and "[FAIL] usage-retention" in result.output
    assert "リクエストログの保存期間は1年間（365日）です" in result.output
    assert "利用実績（生データ）の保存期間は1年間（365日）です" in result.output
    assert old.exists()


def test_renkei_consent_purge_inside_the_year_is_refused_naming_the_kind(app, db, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    result = app.test_cli_runner().invoke(args=["consent", "purge", "--retention-days", "30", "--yes",
                                                "--archive-dir", str(tmp_path / "linkages"), "--as", "unei"])
    assert result.exit_code == 2, result.output
    assert "連携記録の保存期間は1年間（365日）です" in result.output and "まで保存しなければなりません" in result.output
    assert not (tmp_path / "linkages").exists() or not any((tmp_path / "linkages").iterdir())


def test_an_agreement_version_is_kept_five_years_after_the_year_a_later_one_took_effect(db, operator):
    from governance import agreements
    from governance.schemas import VersionDraft
    from maintenance import retention as due

    for effective in (dt.date(2025, 4, 1), dt.date(2026, 10, 1)):  # the second takes effect in 令和8年度
        version = agreements.draft_version(db, operator, "joint_use_agreement", VersionDraft(
            title="共同利用協定", body_md=f"第1条（目的）{effective}", effective_on=effective, required=False))
        agreements.publish_version(db, operator, "joint_use_agreement", version.number, 14)
    db.commit()

    def listed(day):
        at = dt.datetime.combine(day, dt.time(12), tzinfo=JST)
        return {d.key: d for d in due.due_list(db, operator, now=at, with_rows=True)}["agreements"]

    assert listed(dt.date(2032, 3, 31)).count == 0  # FY2026 + five years: kept to 2032-03-31
    first_free = listed(dt.date(2032, 4, 1))
    assert first_free.count == 1 and len(first_free.rows["agreement_version"]) == 1  # the first version only

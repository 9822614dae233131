"""A closed fiscal year's records as one signed archive, and what is past its five years listed for
disposal and disposed of as a recorded act (issue 35 item 6; the periods are core/retention.py's)."""

from __future__ import annotations

import datetime as dt
import io
import json
import tarfile

import pytest
import sqlalchemy as sa

from billing.models import JournalEntry
from core.audit import AuditRecord
from core.calendar import JST
from core.errors import Conflict, Invalid
from maintenance import retention as due
from maintenance import signing

from .test_year_close import _closed_fy2025



def _at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=JST)


def test_a_closed_year_is_exported_as_one_signed_archive_that_verifies(app, db, finance, kumamoto, adopted_policy, operator):
    _closed_fy2025(db, finance)
    signer = signing.signer(app.config)
    data = due.year_archive(db, operator, 2025, signer)
    db.commit()
    manifest = due.verify_year_archive(data, signing.trusted_keys(app.config))
    entries = db.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(JournalEntry.fiscal_year == 2025))
    assert manifest["fiscal_year_ja"] == "令和7年度" and manifest["kept_until"] == "2031-03-31"
    assert manifest["members"]["journal_entries.json"]["rows"] == entries > 0
    assert manifest["members"]["year_close.json"]["rows"] == 1 and manifest["members"]["cost_items.json"]["rows"] == 2
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        close = json.loads(tar.extractfile("year_close.json").read())[0]
        assert json.loads(close["statement_json"])["expenditure_total"] == 12_000_000  # the 収支決算 as closed
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "retention.year_archive")).one()
    assert record.target_id == "2025"
    # a changed member no longer verifies
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar, tarfile.open(fileobj=out, mode="w") as copy:
        for member in tar.getmembers():
            body = tar.extractfile(member).read()
            if member.name == "cost_items.json":
                body = body.replace(b"10000000", b"10000001")
            member.size = len(body)
            copy.addfile(member, io.BytesIO(body))
    with pytest.raises(Invalid, match="cost_items.json"):
        due.verify_year_archive(out.getvalue(), signing.trusted_keys(app.config))


def test_a_year_not_closed_is_not_archived(app, db, operator):
    with pytest.raises(Conflict) as refused:
        due.year_archive(db, operator, 2024, signing.signer(app.config))
    assert "令和6年度は決算（締め）が済んでいない" in refused.value.message_ja


def test_the_books_are_due_only_after_five_years_and_their_disposal_is_a_recorded_act(
        app, db, finance, kumamoto, adopted_policy, operator):
    _closed_fy2025(db, finance)
    entries = db.scalar(sa.select(sa.func.count()).select_from(JournalEntry).where(JournalEntry.fiscal_year == 2025))
    last_day, first_free = _at(dt.date(2031, 3, 31)), _at(dt.date(2031, 4, 1))
    ledger = {d.key: d for d in due.due_list(db, operator, now=last_day)}["ledger"]
    assert ledger.count == 0 and ledger.through_ja == "令和6年度以前"
    ledger = {d.key: d for d in due.due_list(db, operator, now=first_free)}["ledger"]
    assert ledger.count == entries and ledger.through_ja == "令和7年度以前"
    signer = signing.signer(app.config)
    with pytest.raises(Invalid) as refused:
        due.dispose(db, operator, "ledger", 2025, signer, now=last_day)
    assert "令和7年度の会計帳簿（仕訳）は令和13年3月31日まで保存しなければなりません" in refused.value.message_ja
    data, item = due.dispose(db, operator, "ledger", 2025, signer, now=first_free)
    db.commit()
    signed = json.loads(data)
    from core.signing import canonical, verify

    verify(canonical(signed["document"]), signed["signature"], signing.trusted_keys(app.config), "list", "一覧")
    assert len(signed["document"]["kinds"][0]["rows"]["billing_journal_entry"]) == entries == item.count
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "retention.dispose")).one()
    assert json.loads(record.after)["sha256"] == signed["sha256"]
    # the rows stay: the books are never deleted by renkei
    assert db.scalar(sa.select(sa.func.count()).select_from(JournalEntry)) >= entries


def test_logs_are_not_disposed_of_here_and_an_auditor_may_list_but_not_dispose(app, db, operator):
    from core.actor import Actor
    from core.errors import Forbidden

    with pytest.raises(Invalid):
        due.dispose(db, operator, "audit_log", 2025, signing.signer(app.config))
    auditor = Actor(issuer="urn:test", subject="auditor-1", name="監査委員", roles=frozenset({"auditor"}))
    assert {d.key for d in due.due_list(db, auditor)} >= {"ledger", "audit_log", "usage_events"}
    with pytest.raises(Forbidden):
        due.dispose(db, auditor, "ledger", 2019, signing.signer(app.config))


def test_the_commands_list_export_and_archive(app, db, finance, kumamoto, adopted_policy, tmp_path):
    _closed_fy2025(db, finance)
    runner = app.test_cli_runner()
    table = runner.invoke(args=["retention", "table", "--as", "unei"])
    assert table.exit_code == 0 and "会計帳簿（仕訳）\t5年間" in table.output
    listed = runner.invoke(args=["retention", "due", "--export", str(tmp_path / "due.json"), "--as", "unei"])
    assert listed.exit_code == 0, listed.output
    assert "操作ログ" in listed.output and json.loads((tmp_path / "due.json").read_text())["signature"]["key_id"]
    archived = runner.invoke(args=["retention", "year-archive", "2025", "-o", str(tmp_path / "fy2025.tar"), "--as", "unei"])
    assert archived.exit_code == 0, archived.output
    assert due.verify_year_archive((tmp_path / "fy2025.tar").read_bytes(), signing.trusted_keys(app.config))["fiscal_year"] == 2025
    checked = runner.invoke(args=["retention", "verify-year-archive", str(tmp_path / "fy2025.tar")])
    assert checked.exit_code == 0 and "令和7年度の記録" in checked.output and "intact" in checked.output
    broken = bytearray((tmp_path / "fy2025.tar").read_bytes())
    at = broken.find(b"10000000")
    broken[at:at + 8] = b"10000001"
    (tmp_path / "broken.tar").write_bytes(bytes(broken))
    assert runner.invoke(args=["retention", "verify-year-archive", str(tmp_path / "broken.tar")]).exit_code != 0
    refused = runner.invoke(args=["retention", "dispose", "ledger", "--through-fiscal-year", "2025", "--yes",
                                  "-o", str(tmp_path / "gone.json"), "--as", "unei"])
    assert refused.exit_code == 2 and "令和13年3月31日まで保存しなければなりません" in refused.output
    assert not (tmp_path / "gone.json").exists()


def test_the_retention_page_offers_a_closed_years_archive(app, client, db, finance, kumamoto, adopted_policy):
    from tests.conftest import sign_in

    _closed_fy2025(db, finance)
    sign_in(client)
    page = client.get("/admin/retention/").get_data(as_text=True)
    assert "/admin/retention/year/2025.tar" in page and "令和7年度" in page
    response = client.get("/admin/retention/year/2025.tar")
    assert response.status_code == 200 and response.mimetype == "application/x-tar"
    assert due.verify_year_archive(response.get_data(), signing.trusted_keys(app.config))["fiscal_year"] == 2025

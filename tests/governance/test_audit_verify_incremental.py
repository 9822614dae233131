"""The verification page re-hashes only the records after the newest audit checkpoint (issue #12),
says from which checkpoint it verified and when the full verification last ran, and never claims
more than it checked; ``renkei audit verify`` still walks every record."""

from __future__ import annotations

import datetime as dt
import re

import sqlalchemy as sa

from core import checkpoints
from core.audit import AuditRecord
from governance import audit
from tests.conftest import sign_in
from tests.governance.conftest import guards_disabled, raw


def write_checkpoint(app, folder, seq: int, digest: str, at: dt.datetime) -> None:
    """A checkpoint as ``renkei jobs run-due`` writes it: signed with the operator's key."""
    from maintenance.signing import signer

    with app.app_context():
        checkpoints.write(folder, checkpoints.document("audit", seq, digest, at, signer(app.config)))


def hash_of(db, seq: int) -> str:
    return db.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == seq))


def four_records_with_a_checkpoint_at_2(app, db, tenant_factory, tmp_path, monkeypatch):
    folder = tmp_path / "checkpoints"
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(folder))
    for code in ("431001", "432024", "432032", "432041"):
        tenant_factory(code)
    db.commit()
    written = dt.datetime.now(dt.timezone.utc).replace(microsecond=0) - dt.timedelta(hours=3)
    write_checkpoint(app, folder, 2, hash_of(db, 2), written)
    return folder, written


def test_the_page_verifies_only_the_records_after_the_checkpoint_and_says_from_where(
        app, client, db, tenant_factory, tmp_path, monkeypatch):
    _folder, written = four_records_with_a_checkpoint_at_2(app, db, tenant_factory, tmp_path, monkeypatch)
    sign_in(client, ["auditor"])
    page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "改ざんは検出されませんでした" in page
    assert "2 件のレコードを検証しました" in page and "(#3–#4)" in page  # not 4: records 1-2 were not re-hashed
    assert "チェックポイント #2" in page and "#2 までのレコードを最後に全件検証したのは" in page
    jst = written.astimezone(dt.timezone(dt.timedelta(hours=9)))
    assert f"{jst:%Y/%m/%d %H:%M}" in page  # when the full verification that wrote it ran
    english = client.get("/admin/audit-verify/?lang=en").get_data(as_text=True)
    assert "Verified from checkpoint #2" in english and "renkei audit verify" in english


def test_tampering_after_the_checkpoint_is_found_on_the_page(app, client, db, tenant_factory, tmp_path, monkeypatch):
    four_records_with_a_checkpoint_at_2(app, db, tenant_factory, tmp_path, monkeypatch)
    sign_in(client, ["auditor"])
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET tenant_code = '432059' WHERE seq = 4")
        page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "改ざん・欠落を検出しました" in page and re.search(r'id="broken-seq">#4<', page)


def test_a_history_rewritten_up_to_the_checkpoint_breaks_the_page(app, client, db, tenant_factory, tmp_path, monkeypatch):
    folder, _ = four_records_with_a_checkpoint_at_2(app, db, tenant_factory, tmp_path, monkeypatch)
    # a newer checkpoint whose record no longer carries its hash: the page must not start from it
    write_checkpoint(app, folder, 3, "0" * 64, dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    sign_in(client, ["auditor"])
    page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "改ざん・欠落を検出しました" in page and re.search(r'id="broken-seq">#3<', page)
    assert "改ざんは検出されませんでした" not in page


def test_without_a_checkpoint_the_page_verifies_everything_and_says_so(app, client, db, tenant_factory, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_CHECKPOINT_DIR", str(tmp_path / "none"))
    for code in ("431001", "432024", "432032"):
        tenant_factory(code)
    db.commit()
    sign_in(client, ["auditor"])
    page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "3 件のレコードを検証しました" in page and "全件検証" in page and "チェックポイント #" not in page


def test_the_full_verification_still_finds_what_the_page_does_not_re_hash(app, db, tenant_factory, tmp_path,
                                                                          monkeypatch, operator):
    four_records_with_a_checkpoint_at_2(app, db, tenant_factory, tmp_path, monkeypatch)
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET tenant_code = '432059' WHERE seq = 1")
        since = audit.verification_since(db, operator, (2, hash_of(db, 2)))
        full = audit.verification(db, operator)
    assert since.intact and since.from_checkpoint and since.checked == 2 and since.first_seq == 3
    assert not full.intact and full.broken.seq == 1


def test_the_page_reads_the_checkpoints_copy_off_the_host_too(app, client, db, tenant_factory, tmp_path, monkeypatch):
    """A newer checkpoint held only in RENKEI_CHECKPOINT_COPY_DIR (deleted from the folder) still
    counts: its record no longer carrying its hash breaks the page."""
    four_records_with_a_checkpoint_at_2(app, db, tenant_factory, tmp_path, monkeypatch)
    copy = tmp_path / "offhost"
    monkeypatch.setitem(app.config, "RENKEI_CHECKPOINT_COPY_DIR", str(copy))
    write_checkpoint(app, copy, 3, "0" * 64, dt.datetime.now(dt.timezone.utc).replace(microsecond=0))
    sign_in(client, ["auditor"])
    page = client.get("/admin/audit-verify/").get_data(as_text=True)
    assert "改ざん・欠落を検出しました" in page and re.search(r'id="broken-seq">#3<', page)

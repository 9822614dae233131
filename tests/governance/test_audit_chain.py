"""The audit log is append-only in the database, and `renkei audit verify` names the first record an
attacker (with the rights to drop the guard triggers) modified, deleted, inserted or reordered."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from core import audit as core_audit
from core.audit import AuditRecord
from tests.conftest import owner_bind
from tests.governance.conftest import guards_disabled, raw


def write_log(db, operator, count=5):
    for n in range(1, count + 1):
        core_audit.record(db, operator, "tenant.update", "tenant", "431001", tenant_code="431001",
                     before={"population": 1000 + n}, after={"population": 2000 + n})
    db.commit()


def run(app, *args):
    return app.test_cli_runner().invoke(args=list(args))


def test_an_untouched_log_verifies_and_prints_its_head(app, db, operator):
    write_log(db, operator, 3)
    last = db.scalars(sa.select(AuditRecord).where(AuditRecord.seq == 3)).one()
    result = run(app, "audit", "verify")
    assert result.exit_code == 0, result.output
    assert "3 record(s) checked" in result.output
    assert f"head: 3:{last.hash}" in result.output


def test_the_database_refuses_update_and_delete_of_a_record(db, operator):
    write_log(db, operator, 2)
    with pytest.raises(DBAPIError, match="append-only"):
        raw(db, "UPDATE audit_record SET actor_name = 'someone else' WHERE seq = 1")
    with pytest.raises(DBAPIError, match="append-only"):
        raw(db, "DELETE FROM audit_record WHERE seq = 2")
    db.rollback()
    assert [r.actor_name for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))] == [operator.name] * 2


def test_the_chain_head_and_anchor_cannot_be_moved_back_or_deleted(db, operator):
    write_log(db, operator, 2)
    with pytest.raises(DBAPIError):
        raw(db, "UPDATE audit_chain_head SET last_seq = 1")
    with pytest.raises(DBAPIError):
        raw(db, "DELETE FROM audit_chain_head")


def test_a_modified_record_is_named_by_verify(app, db, operator):
    write_log(db, operator, 5)
    target = db.scalars(sa.select(AuditRecord).where(AuditRecord.seq == 3)).one()
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET after = :after WHERE seq = 3", after=json.dumps({"population": 1}))
        result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert f"record #3 (row id {target.id})" in result.output
    assert "modified" in result.output


def test_a_deleted_record_is_named_by_verify(app, db, operator):
    write_log(db, operator, 5)
    with guards_disabled(db, "audit_record"):
        raw(db, "DELETE FROM audit_record WHERE seq = 2")
        result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "record #2" in result.output and "missing (deleted)" in result.output


def test_deleting_the_last_record_is_caught_by_the_chain_head(app, db, operator):
    write_log(db, operator, 4)
    with guards_disabled(db, "audit_record"):
        raw(db, "DELETE FROM audit_record WHERE seq = 4")
        result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "record #4" in result.output and "deleted at the end" in result.output


def test_swapping_two_records_is_caught_at_the_first_of_them(app, db, operator):
    write_log(db, operator, 4)
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET seq = -2 WHERE seq = 2")
        raw(db, "UPDATE audit_record SET seq = 2 WHERE seq = 3")
        raw(db, "UPDATE audit_record SET seq = 3 WHERE seq = -2")
        result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "record #2" in result.output


def test_a_record_inserted_at_the_end_without_renkei_is_caught(app, db, operator):
    write_log(db, operator, 2)
    last = db.scalars(sa.select(AuditRecord).where(AuditRecord.seq == 2)).one()
    forged = AuditRecord(seq=3, occurred_at=last.occurred_at, actor_issuer="urn:x", actor_subject="x", actor_name="x",
                         actor_role="", action="tenant.update", target_type="tenant", target_id="431001",
                         prev_hash=last.hash, hash="")
    forged.hash = core_audit.compute_hash(forged, last.hash)  # a well-formed link: only the head gives it away
    db.add(forged)
    db.commit()
    result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "record #3" in result.output and "added without renkei" in result.output


def test_a_record_inserted_in_the_middle_is_caught_at_the_record_after_it(app, db, operator):
    write_log(db, operator, 4)
    second = db.scalars(sa.select(AuditRecord).where(AuditRecord.seq == 2)).one()
    with guards_disabled(db):
        raw(db, "UPDATE audit_record SET seq = seq + 1000 WHERE seq >= 3")
        raw(db, "UPDATE audit_record SET seq = seq - 999 WHERE seq >= 1000")  # old #3 and #4 are now #4 and #5
        forged = AuditRecord(seq=3, occurred_at=second.occurred_at, actor_issuer="urn:x", actor_subject="x",
                             actor_name="x", actor_role="", action="tenant.update", target_type="tenant",
                             target_id="431001", prev_hash=second.hash, hash="")
        forged.hash = core_audit.compute_hash(forged, second.hash)  # a well-formed link to #2
        db.add(forged)
        db.execute(sa.text("UPDATE audit_chain_head SET last_seq = 5"))
        db.commit()
        result = run(app, "audit", "verify")
    assert result.exit_code == 1
    assert "record #4" in result.output and "does not follow" in result.output


def test_rewriting_history_consistently_is_caught_by_a_checkpoint(app, db, operator):
    write_log(db, operator, 3)
    head = db.scalars(sa.select(AuditRecord).where(AuditRecord.seq == 3)).one().hash
    checkpoint = f"3:{head}"
    assert run(app, "audit", "verify", "--checkpoint", checkpoint).exit_code == 0
    # The attacker rewrites record 2 and recomputes every later hash and the head: the chain is whole again.
    with guards_disabled(db), Session(owner_bind(db)) as owner:  # the schema owner, not the app's role
        rows = list(owner.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq)))
        prev = rows[0].hash
        for row in rows[1:]:
            if row.seq == 2:
                row.actor_name = "someone else"
            row.prev_hash, row.hash = prev, core_audit.compute_hash(row, prev)
            prev = row.hash
        owner.flush()
        owner.execute(sa.text("UPDATE audit_chain_head SET last_hash = :h"), {"h": prev})
        owner.commit()
        assert run(app, "audit", "verify").exit_code == 0
        result = run(app, "audit", "verify", "--checkpoint", checkpoint)
    assert result.exit_code == 1
    assert "record #3" in result.output and "rewritten" in result.output


def test_verify_is_available_to_the_auditor_in_the_api(client, db, operator, user_factory):
    write_log(db, operator, 2)
    auditor = user_factory(("auditor",))[1]
    body = client.get("/api/v1/audit/verification", headers=auditor).get_json()
    assert body["intact"] is True and body["checked"] == 2 and body["broken"] is None
    with guards_disabled(db, "audit_record"):
        raw(db, "UPDATE audit_record SET target_id = '432024' WHERE seq = 1")
        body = client.get("/api/v1/audit/verification", headers=auditor).get_json()
    assert body["intact"] is False
    assert body["broken"]["seq"] == 1 and "modified" in body["broken"]["reason"]


def test_a_municipal_admin_may_not_read_or_verify_the_log(client, db, tenant_factory, user_factory):
    tenant_factory("431001")
    admin = user_factory(("municipal-admin",), "431001")[1]
    assert client.get("/api/v1/audit/verification", headers=admin).status_code == 403
    assert client.get("/api/v1/audit/records", headers=admin).status_code == 403


def test_the_api_checks_checkpoints_given_as_query_parameters(client, db, operator, user_factory):
    write_log(db, operator, 3)
    hashes = {r.seq: r.hash for r in db.scalars(sa.select(AuditRecord))}
    auditor = user_factory(("auditor",))[1]
    good = client.get(f"/api/v1/audit/verification?checkpoint=2:{hashes[2]}&checkpoint=3:{hashes[3]}", headers=auditor)
    assert good.get_json()["intact"] is True
    wrong = client.get(f"/api/v1/audit/verification?checkpoint=2:{hashes[3]}", headers=auditor).get_json()
    assert wrong["intact"] is False and wrong["broken"]["seq"] == 2
    malformed = client.get("/api/v1/audit/verification?checkpoint=2-abc", headers=auditor)
    assert malformed.status_code == 422 and malformed.get_json()["errors"][0]["field"] == "checkpoint"


def test_a_checkpoint_number_beyond_any_record_is_refused_as_malformed_in_the_api_and_the_command(
        app, client, db, operator, user_factory):
    """The sequence is a bigint: a number no record can have is the sender's mistake, named as such
    (it reached the database and came back as "out of range" before, and the command failed)."""
    write_log(db, operator, 1)
    auditor = user_factory(("auditor",))[1]
    huge = f"{2**64}:{'a' * 64}"
    answer = client.get(f"/api/v1/audit/verification?checkpoint={huge}", headers=auditor)
    assert answer.status_code == 422 and answer.get_json()["errors"][0]["field"] == "checkpoint"
    assert "18 digits" in answer.get_json()["errors"][0]["message_en"]
    result = run(app, "audit", "verify", "--checkpoint", huge)
    assert result.exit_code == 2 and "SEQ:HASH" in result.output
    assert run(app, "audit", "verify", "--checkpoint", f"1:{'A' * 64}").exit_code == 1  # well formed: a mismatch

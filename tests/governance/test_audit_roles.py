"""What the application role and the database owner can and cannot do to the audit log, and what
detects each: one test per claim of docs/audit-log.md ("Who can do what").

The application role is the app's own connection (in CI on PostgreSQL the application role
``renkei_*_app``; on SQLite there are no roles, and the guard triggers are all there is). The
owner is :func:`tests.conftest.owner_bind`, who can switch the triggers off
(:func:`tests.governance.conftest.guards_disabled`).
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit as core_audit
from core.audit import AuditRecord
from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL, owner_bind
from tests.governance.conftest import guards_disabled
from tests.governance.test_audit_checkpoints import _cut_tail, cli, folder, head, jobs_ran, write_log  # noqa: F401


def app_refuses(db, *statements: str, **params) -> str:
    """Run ``statements`` in one transaction on the app's own connection; it must be refused."""
    db.commit()
    with pytest.raises(sa.exc.DBAPIError) as refusal:
        with db.get_bind().connect() as connection, connection.begin():
            for statement in statements:
                connection.execute(sa.text(statement), params)
    db.expire_all()
    return str(refusal.value.orig)


# --- the application role -------------------------------------------------------------------------

def test_app_role_cannot_change_a_record(db, operator):
    write_log(db, operator, 3)
    # refused by the role's rights on PostgreSQL (no UPDATE on audit_record), by the guard trigger on SQLite
    refusal = app_refuses(db, "UPDATE audit_record SET actor_name = 'x' WHERE seq = 2")
    assert "append-only" in refusal or "permission denied" in refusal


def test_app_role_cannot_delete_a_record_outside_the_purge(db, operator):
    write_log(db, operator, 3)
    assert "append-only" in app_refuses(db, "DELETE FROM audit_record WHERE seq = 3")
    if db.get_bind().dialect.name == "postgresql":  # the purge's flag alone does not unlock records above the anchor
        assert "append-only" in app_refuses(db, "SELECT set_config('renkei.audit_purge', 'on', true)",
                                            "DELETE FROM audit_record WHERE seq = 3")


def test_app_role_cannot_move_the_head_back_or_the_anchor_back(db, operator):
    write_log(db, operator, 3)
    assert "forward" in app_refuses(db, "UPDATE audit_chain_head SET last_seq = 1")
    assert "audit_chain_head" in app_refuses(db, "DELETE FROM audit_chain_head")


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                    reason="database roles are PostgreSQL's; on SQLite the triggers above are the whole guard")
def test_app_role_cannot_truncate_disable_or_drop_the_guards(db, operator):
    if sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username:
        pytest.fail("the PostgreSQL run must use a separate application role (RENKEI_TEST_DATABASE_OWNER_URL)")
    write_log(db, operator, 2)
    for statement in ("TRUNCATE audit_record", "ALTER TABLE audit_record DISABLE TRIGGER audit_record_append_only",
                      "DROP TRIGGER audit_record_append_only ON audit_record",
                      "ALTER TABLE audit_chain_head DISABLE TRIGGER audit_chain_head_forward_only"):
        assert "permission denied" in app_refuses(db, statement) or "must be owner" in app_refuses(db, statement)


def _purge_without_renkei(db, operator, forge_the_record: bool) -> None:
    """What the purge's rights allow the application role: move the anchor forward, delete the
    records below it (no archive written), and append an audit.purge record naming that anchor."""
    through = db.scalar(sa.select(AuditRecord.hash).where(AuditRecord.seq == 2))
    db.commit()
    with db.get_bind().connect() as connection, connection.begin():  # the app's own connection
        connection.execute(sa.text("INSERT INTO audit_anchor (id, purged_through_seq, purged_through_hash, purged_count, "
                                   "purged_at, archive_name, archive_sha256) VALUES (1, 2, :h, 2, CURRENT_TIMESTAMP, "
                                   "'never-written.jsonl', '')"), {"h": through})
        if connection.dialect.name == "postgresql":
            connection.execute(sa.text("SELECT set_config('renkei.audit_purge', 'on', true)"))
        connection.execute(sa.text("DELETE FROM audit_record WHERE seq <= 2"))
    db.expire_all()
    if forge_the_record:
        core_audit.record(db, operator, "audit.purge", "audit_log", "1-2", after={"through_seq": 2, "through_hash": through})
        db.commit()


def test_app_role_purging_without_renkei_is_caught_by_check(app, db, operator, folder):
    """Without a forged audit.purge record the anchor is not confirmed by the chain itself."""
    write_log(db, operator, 5)
    _purge_without_renkei(db, operator, forge_the_record=False)
    result = cli(app, "check")
    assert result.exit_code == 1 and "not confirmed by any audit.purge record" in result.output


def test_app_role_purging_with_a_forged_purge_record_is_caught_by_the_newest_checkpoint(app, db, operator, jobs_ran):
    """With the forged record the chain is whole; the newest signed checkpoint says where the chain
    started when it was written (renkei audit purge writes a new one), and that anchor moved."""
    _purge_without_renkei(db, operator, forge_the_record=True)
    result = cli(app, "check")
    assert result.exit_code == 1 and "removed without renkei audit purge" in result.output
    assert cli(app, "audit", "verify").exit_code == 1
    job = cli(app, "jobs", "run-due", "--only", "outbox")
    assert job.exit_code == 1 and "[FAIL] audit-checkpoint" in job.output  # and it writes no checkpoint blessing it


def test_a_purge_by_renkei_writes_a_checkpoint_with_its_new_anchor(app, db, operator, jobs_ran, tmp_path, audit_clock):
    import datetime as dt

    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=800)
    audit_clock.set(later)
    write_log(db, operator, 2)
    import governance.audit as governance_audit

    result = app.test_cli_runner().invoke(args=["audit", "purge", "--yes", "--retention-days", "400",
                                                "--archive-dir", str(tmp_path / "archive"), "--as", "unei"])
    assert result.exit_code == 0, result.output
    assert "with the new anchor" in result.output and governance_audit.anchor_of(db)[0] > 0
    checked = cli(app, "check")
    assert checked.exit_code == 0, checked.output


def test_app_role_appends_are_ordinary_records(db, operator, app):
    """The application role must append (every act is recorded): a record it appends through renkei's
    own function is a valid record. What it says is trusted as the application is."""
    core_audit.record(db, operator, "tenant.update", "tenant", "431001", after={"forged": True})
    db.commit()
    assert cli(app, "audit", "verify").exit_code == 0


# --- the owner ------------------------------------------------------------------------------------

def test_owner_changing_a_record_is_caught_by_the_chain(app, db, operator):
    write_log(db, operator, 4)
    with guards_disabled(db), Session(owner_bind(db)) as owner:
        owner.execute(sa.text("UPDATE audit_record SET actor_name = 'someone else' WHERE seq = 2"))
        owner.commit()
    result = cli(app, "check")
    assert result.exit_code == 1 and "record #2" in result.output


def test_owner_emptying_the_log_is_caught_by_the_checkpoint(app, db, jobs_ran):
    seq, _ = head(db)
    with guards_disabled(db), Session(owner_bind(db)) as owner:
        owner.execute(sa.text("DELETE FROM audit_record"))
        owner.execute(sa.text("DELETE FROM audit_chain_head"))
        owner.commit()
    result = cli(app, "check")
    assert result.exit_code == 1 and "FAILED: audit" in result.output


def test_owner_rewriting_records_after_the_newest_checkpoint_is_not_caught(app, db, jobs_ran, operator):
    """The window docs/audit-log.md states: records written after the newest checkpoint (at most
    one run of the due jobs ago) can be cut with the head rewound without `renkei check` noticing."""
    write_log(db, operator, 3)
    _cut_tail(db, 3)
    assert cli(app, "check").exit_code == 0


def test_owner_cannot_write_a_checkpoint_that_check_accepts_without_the_key(app, db, jobs_ran, folder):
    data = json.loads(jobs_ran.read_text())
    _cut_tail(db, 4)
    seq, digest = head(db)
    forged = {**data, "seq": seq, "hash": digest, "at": "2999-01-01T00:00:00+00:00"}  # the old signature kept
    (folder / "audit-checkpoint-29990101T000000000000Z-1.json").write_text(json.dumps(forged))
    result = cli(app, "check")
    assert result.exit_code == 1 and "signature does not match" in result.output

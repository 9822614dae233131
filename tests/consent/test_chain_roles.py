"""What the application role and the database owner can and cannot do to the consent and linkage
records, and what detects each: one test per claim of docs/consent.md ("Who can do what").

The application role is the app's own connection (in CI on PostgreSQL the application role
``renkei_*_app``; on SQLite there are no roles, and the guard triggers are all there is); the
owner is :func:`tests.conftest.owner_bind`, who can drop the guards
(:func:`tests.consent.test_chains.guards_dropped`). The claims tested elsewhere are named in the
document beside these.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from residents.consent import check as consent_check, linkage
from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL
from tests.consent.conftest import BROKER, KUMAMOTO
from tests.consent.test_chains import guards_dropped, history  # noqa: F401 (a fixture)
from tests.consent.test_checkpoints import CHAINS, cli, cut_tail, folder, head, jobs_ran  # noqa: F401 (fixtures)
from tests.governance.test_audit_roles import app_refuses


@pytest.mark.parametrize("statement", [
    "UPDATE consent_record SET assurance_level = 3 WHERE seq = 1",
    "DELETE FROM consent_record WHERE seq = 2",
    "UPDATE linkage_record SET allowed = true WHERE seq = 2",
    "DELETE FROM linkage_record WHERE seq = 3",
])
def test_app_role_cannot_change_a_record_nor_delete_one_above_the_anchor(db, history, statement):  # noqa: F811
    # refused by the role's rights on PostgreSQL (no UPDATE on either table, no DELETE on
    # consent_record) or by the guard trigger (SQLite, and the linkage purge's DELETE right)
    refusal = app_refuses(db, statement)
    assert "append-only" in refusal or "permission denied" in refusal


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                    reason="database roles are PostgreSQL's; on SQLite the triggers above are the whole guard")
def test_app_role_cannot_truncate_disable_or_drop_the_guards(db, history):  # noqa: F811
    if sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username:
        pytest.fail("the PostgreSQL run must use a separate application role (RENKEI_TEST_DATABASE_OWNER_URL)")
    for statement in ("TRUNCATE linkage_record", "TRUNCATE consent_record",
                      "ALTER TABLE consent_record DISABLE TRIGGER consent_record_append_only",
                      "DROP TRIGGER linkage_record_append_only ON linkage_record"):
        refusal = app_refuses(db, statement)
        assert "permission denied" in refusal or "must be owner" in refusal


def test_app_role_cannot_move_the_linkage_anchor_back_nor_delete_it(db, operator, history, tmp_path):  # noqa: F811
    """The guard of every chain's anchor (the audit log's too): refused by the trigger (an UPDATE
    the purge's column rights allow) or by the role's rights (no DELETE on PostgreSQL)."""
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=400)
    assert linkage.purge_linkages(db, operator, tmp_path, retention_days=365, now=later).through_seq == 3
    db.commit()
    assert "forward" in app_refuses(db, "UPDATE chain_anchor SET purged_through_seq = 1 WHERE name = 'linkage_record'")
    assert "chain_anchor" in app_refuses(db, "DELETE FROM chain_anchor WHERE name = 'linkage_record'")


@pytest.mark.parametrize("name", list(CHAINS))
def test_app_role_moving_a_chain_head_is_caught_by_check(app, db, history, name):  # noqa: F811
    """The head's UPDATE right (every append moves it) lets the application role set it anywhere:
    the chain's end no longer matches it."""
    db.execute(sa.text("UPDATE chain_head SET last_seq = 1 WHERE name = :n"), {"n": name})
    db.commit()
    result = cli(app, "check")
    assert result.exit_code == 1, result.output
    assert f"{CHAINS[name]}の改ざん・欠落を検出しました" in result.output


def test_owner_emptying_a_chain_is_caught_by_the_checkpoint(app, db, jobs_ran):
    with guards_dropped(db) as bind, bind.begin() as owner:
        owner.execute(sa.text("DELETE FROM linkage_record"))
        owner.execute(sa.text("DELETE FROM chain_head WHERE name = 'linkage_record'"))
    result = cli(app, "check")
    assert result.exit_code == 1, result.output
    assert "FAILED: consent: the linkage records are broken" in result.output and "not in the log" in result.output


def test_owner_cutting_records_written_after_the_newest_checkpoint_is_not_caught(app, db, history, jobs_ran):  # noqa: F811
    """The limit of checkpoints: what was written after the newest one (at most one run of the due
    jobs ago) can be cut with the head rewound unseen. Run the due jobs often (hourly)."""
    service, subject = history
    checkpointed = head(db, "linkage_record")
    consent_check.consent_check(db, BROKER, {"service_id": service.id, "tenant_code": KUMAMOTO, "subject_id": subject,
                                             "items": ["生年月日"], "purpose": "子育て支援サービスの案内"})
    db.commit()
    cut_tail(db, "linkage_record")
    assert head(db, "linkage_record") == checkpointed
    result = cli(app, "check")
    assert result.exit_code == 0, result.output

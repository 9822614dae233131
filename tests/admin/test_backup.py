"""`renkei backup` / `renkei restore` on the test database: the manifest, and every refusal
(damaged, mismatched, not empty) before anything is written."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from maintenance import archive
from core.actor import Actor
from core.errors import DomainError
from tests.billing.conftest import adopted_policy, finance, kumamoto, posted_fy2025  # noqa: F401  (fixtures)

OPERATOR = Actor(issuer="urn:test", subject="op-backup", name="県 運営者", roles=frozenset({"platform-operator"}))


def trusted(app):
    from maintenance.signing import trusted_keys

    with app.app_context():
        return trusted_keys(app.config)


def cli(app, *args):
    return app.test_cli_runner().invoke(args=[*args, "--as", "unei"])


def _rewrite(source: Path, target: Path, change) -> None:
    """Copy an archive, letting ``change(name, data)`` alter each member's bytes."""
    with tarfile.open(source) as old, tarfile.open(target, "w") as new:
        for member in old.getmembers():
            data = change(member.name, old.extractfile(member).read())
            member.size = len(data)
            new.addfile(member, io.BytesIO(data))


@pytest.fixture
def made(app, db, posted_fy2025, tmp_path):
    path = tmp_path / "nightly.tar"
    result = cli(app, "backup", "--no-realm", "--output", str(path))
    assert result.exit_code == 0, result.output
    return path


def _database_member(db) -> str:
    return "database.pgdump" if db.get_bind().dialect.name == "postgresql" else "database.sqlite3"


def test_backup_writes_one_archive_whose_manifest_counts_what_it_holds(app, db, made, tmp_path):
    with tarfile.open(made) as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    assert names == {"manifest.json", "manifest.sha256", "manifest.sig", _database_member(db), "audit-head.json"}
    assert manifest["tables"]["billing_run"] == 1
    assert manifest["tables"]["tenant"] == 4
    # 県 6,000,000 + 熊本市 3,075,000 + 八代市 1,950,000 + 人吉市 975,000 (the worked example), 八代市 paid 1,000,000
    assert manifest["ledger_totals"]["2025"]["charges"] == 12_000_000
    assert manifest["ledger_totals"]["2025"]["costs"] == 12_000_000
    assert manifest["ledger_totals"]["2025"]["payments"] == 1_000_000
    head = db.execute(sa.text("SELECT last_seq, last_hash FROM audit_chain_head")).one()
    assert manifest["audit_head"] == {"seq": head[0], "hash": head[1]}
    # the backup is itself audited, and that record is inside the archive
    assert db.execute(sa.text("SELECT action FROM audit_record ORDER BY seq DESC LIMIT 1")).scalar() == "system.backup"
    assert manifest["realm"] is None
    assert set(manifest["members"]) == {_database_member(db), "audit-head.json"}


def test_check_against_the_manifest_passes_on_the_same_data(app, db, made):
    result = cli(app, "check", "--manifest", str(made))
    assert result.exit_code == 0, result.output
    assert "tables against the manifest" in result.output


def test_check_against_the_manifest_names_a_table_that_lost_rows(app, db, made):
    # the fixture has 4 cost items: running cost, and the build cost amortised over 3 years
    db.execute(sa.text("DELETE FROM billing_cost_item WHERE amortisation_index = 3"))
    db.commit()
    result = cli(app, "check", "--manifest", str(made))
    assert result.exit_code == 1
    assert "manifest: table billing_cost_item has 3 rows; the backup had 4" in result.output


def test_a_damaged_archive_is_refused_naming_the_member(app, db, made, tmp_path):
    damaged = tmp_path / "damaged.tar"
    member = _database_member(db)
    _rewrite(made, damaged, lambda name, data: data[:-1] + bytes([data[-1] ^ 1]) if name == member else data)

    with pytest.raises(DomainError) as refused:
        archive.restore(db, OPERATOR, damaged, trusted=trusted(app))
    assert refused.value.message_en.endswith(f"the checksum of {member} does not match the manifest")
    result = cli(app, "restore", str(damaged), "--no-realm", "--yes")
    assert result.exit_code == 1
    assert "破損しています" in result.output


def test_an_edited_manifest_is_refused(app, db, made, tmp_path):
    edited = tmp_path / "edited.tar"

    def change(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["tables"]["billing_run"] = 2
        return json.dumps(manifest).encode()

    _rewrite(made, edited, change)
    with pytest.raises(DomainError) as refused:
        archive.restore(db, OPERATOR, edited, trusted=trusted(app))
    assert "the manifest's checksum does not match" in refused.value.message_en


def test_a_truncated_file_is_refused(app, db, made, tmp_path):
    cut = tmp_path / "cut.tar"
    cut.write_bytes(made.read_bytes()[:2000])
    result = cli(app, "restore", str(cut), "--no-realm", "--yes")
    assert result.exit_code == 1
    assert "Error:" in result.output


def test_an_archive_of_another_schema_version_is_refused(app, db, made, tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "migration_head", lambda: "9999")
    with pytest.raises(DomainError) as refused:
        archive.restore(db, OPERATOR, made, trusted=trusted(app))
    assert "this renkei is at 9999" in refused.value.message_en


def test_restore_refuses_a_database_that_is_not_empty_and_changes_nothing(app, db, made):
    runs_before = db.execute(sa.text("SELECT count(*) FROM billing_run")).scalar()
    records_before = db.execute(sa.text("SELECT count(*) FROM audit_record")).scalar()
    result = cli(app, "restore", str(made), "--no-realm", "--yes")
    assert result.exit_code == 1
    assert "not empty" in result.output
    assert db.execute(sa.text("SELECT count(*) FROM billing_run")).scalar() == runs_before
    assert db.execute(sa.text("SELECT count(*) FROM audit_record")).scalar() == records_before


def test_restore_into_an_empty_sqlite_database_brings_everything_back(app, db, made, tmp_path):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("SQLite's restore; on PostgreSQL tests/test_restore_drill.py restores into the emptied database")
    from admin import create_app
    from admin.extensions import db as database

    target = tmp_path / "restored.db"
    other = create_app({**{k: v for k, v in app.config.items() if k.startswith(("RENKEI_", "SECRET"))},
                        "TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{target}"})
    with other.app_context():
        result = other.test_cli_runner().invoke(args=["restore", str(made), "--no-realm", "--yes", "--as", "unei"])
        assert result.exit_code == 0, result.output
        assert "check passed" in result.output
        assert database.session.execute(sa.text("SELECT action FROM audit_record ORDER BY seq DESC LIMIT 1")).scalar() == "system.restore"
        checked = other.test_cli_runner().invoke(args=["check", "--manifest", str(made), "--as", "unei"])
        assert checked.exit_code == 0, checked.output
        database.session.remove()
        database.engine.dispose()

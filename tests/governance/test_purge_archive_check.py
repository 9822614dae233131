"""`renkei check` confirms every archive the purges say they wrote (issue 35, item 9): the audit
log's purge records its archive's name, SHA-256 and folder; the file deleted or altered afterwards
is named (it is the only copy of the records purged)."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.governance.test_audit_checkpoints import cli, folder, jobs_ran, write_log  # noqa: F401


@pytest.fixture
def purged(app, db, operator, jobs_ran, tmp_path, audit_clock):
    """Records written 800 days from now purged at 400 days' retention into ``tmp_path/archive``;
    the archive file."""
    audit_clock.set(dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=800))
    write_log(db, operator, 2)
    result = app.test_cli_runner().invoke(args=["audit", "purge", "--yes", "--retention-days", "400",
                                                "--archive-dir", str(tmp_path / "archive"), "--as", "unei"])
    assert result.exit_code == 0, result.output
    archives = list((tmp_path / "archive").glob("audit-archive-*.jsonl"))
    assert len(archives) == 1
    return archives[0]


def test_the_archive_a_purge_wrote_is_confirmed(app, purged):
    result = cli(app, "check")
    assert result.exit_code == 0, result.output
    assert "purge archives: 1" in result.output


def test_a_deleted_purge_archive_is_named(app, purged):
    purged.unlink()

    result = cli(app, "check")

    assert result.exit_code == 1
    assert f"FAILED: archives: archive {purged.name} recorded by the purge is missing" in result.output
    assert f"削除時に記録されたアーカイブ {purged.name} が見つかりません" in result.output


def test_an_altered_purge_archive_is_named(app, purged):
    purged.write_bytes(purged.read_bytes().replace(b"2001", b"2009", 1))

    result = cli(app, "check")

    assert result.exit_code == 1
    assert f"archive {purged} was altered" in result.output


def test_an_archive_moved_to_the_audit_archive_folder_is_found_there(app, purged, tmp_path, monkeypatch):
    """The folder the purge recorded is looked in first, then RENKEI_AUDIT_ARCHIVE_DIR."""
    kept = tmp_path / "kept"
    kept.mkdir()
    purged.rename(kept / purged.name)
    monkeypatch.setitem(app.config, "RENKEI_AUDIT_ARCHIVE_DIR", str(kept))
    result = cli(app, "check")
    assert result.exit_code == 0, result.output

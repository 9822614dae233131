"""Signed checkpoints written often and copied off the database host (issue 35, item 9).

Whatever is written after the newest checkpoint is the owner's window: ``renkei jobs checkpoint``
(every minute from the timer) writes one when 5 minutes or 1,000 records have passed, and every
checkpoint is also written to ``RENKEI_CHECKPOINT_COPY_DIR``. An owner who can rewrite the database
and the checkpoint folder, and removes the newest checkpoint there before cutting the records it
covered, is found from the copy.
"""

from __future__ import annotations

import pytest

from tests.governance.test_audit_checkpoints import _cut_tail, cli, folder, head, write_log  # noqa: F401


@pytest.fixture
def copy(app, tmp_path, monkeypatch, folder):
    """The copy off the host (here a second folder) and one run of the due jobs writing to both."""
    place = tmp_path / "offhost"
    monkeypatch.setitem(app.config, "RENKEI_CHECKPOINT_COPY_DIR", str(place))
    return place


def run_due(app):
    result = cli(app, "jobs", "run-due", "--no-backup")
    assert result.exit_code == 0, result.output


def test_every_checkpoint_is_also_written_to_the_copy(app, db, operator, folder, copy):
    write_log(db, operator, 3)
    run_due(app)
    written = sorted(path.name for path in folder.glob("*-checkpoint-*.json"))
    assert written and written == sorted(path.name for path in copy.glob("*-checkpoint-*.json"))
    assert (copy / written[0]).read_bytes() == (folder / written[0]).read_bytes()
    checked = cli(app, "check")
    assert checked.exit_code == 0, checked.output
    assert f"checkpoint copy: {copy}" in checked.output


def test_a_tail_cut_after_the_newest_checkpoint_left_in_the_folder_is_found_from_the_copy(app, db, operator, folder, copy):
    write_log(db, operator, 3)
    run_due(app)
    kept = set(folder.glob("audit-checkpoint-*.json"))
    write_log(db, operator, 4)  # the records of the owner's window, then covered by a newer checkpoint
    run_due(app)
    newer = set(folder.glob("audit-checkpoint-*.json")) - kept
    assert len(newer) == 1
    # the owner removes the newest checkpoint from the folder it can rewrite, then cuts what it covered
    newer.pop().unlink()
    _cut_tail(db, 6)  # the last records, all after the checkpoint left in the folder

    result = cli(app, "check")

    assert result.exit_code == 1, result.output
    assert "FAILED: audit" in result.output and "not in the log" in result.output
    assert str(copy) in result.output  # the checkpoint named is the copy's


def test_without_the_copy_the_same_cut_passes_unseen(app, db, operator, folder, monkeypatch):
    """Why the copy: the same attack with one folder only is not seen (the window this closes)."""
    write_log(db, operator, 3)
    run_due(app)
    kept = set(folder.glob("audit-checkpoint-*.json"))
    write_log(db, operator, 4)
    run_due(app)
    (set(folder.glob("audit-checkpoint-*.json")) - kept).pop().unlink()
    _cut_tail(db, 6)
    result = cli(app, "check")
    assert result.exit_code == 0, result.output


def test_the_checkpoint_command_writes_only_when_due(app, db, operator, folder, copy):
    write_log(db, operator, 2)
    first = cli(app, "jobs", "checkpoint")
    assert first.exit_code == 0, first.output
    assert "checkpoints due: audit: " in first.output and "no checkpoint yet" in first.output
    files = set(copy.glob("audit-checkpoint-*.json"))
    assert len(files) == 1
    seq = head(db)[0]

    idle = cli(app, "jobs", "checkpoint")  # nothing appended since: nothing written, nothing recorded
    assert idle.exit_code == 0 and "checkpoints not due" in idle.output
    assert head(db)[0] == seq and set(copy.glob("audit-checkpoint-*.json")) == files

    write_log(db, operator, 3)
    assert "checkpoints not due" in cli(app, "jobs", "checkpoint", "--records", "4").output  # 3 < 4, and not 5 minutes old
    due = cli(app, "jobs", "checkpoint", "--records", "3")
    assert due.exit_code == 0, due.output
    assert "audit: 3 record(s) since checkpoint" in due.output
    assert len(set(copy.glob("audit-checkpoint-*.json"))) == 2


def test_production_check_fails_naming_the_setting_without_a_copy(app, db, folder, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_ENV", "production")
    monkeypatch.setitem(app.config, "RENKEI_CHECKPOINT_COPY_DIR", "")
    monkeypatch.delenv("RENKEI_CHECKPOINT_COPY_DIR", raising=False)
    result = app.test_cli_runner().invoke(args=["check", "--as", "unei"])
    assert result.exit_code == 1
    assert "FAILED: checkpoints: RENKEI_CHECKPOINT_COPY_DIR is not set" in result.output


def test_a_copy_folder_that_is_not_there_is_named(app, db, operator, folder, copy):
    """The store not mounted: the copy's folder is missing while the checkpoint folder has checkpoints."""
    import shutil

    write_log(db, operator, 2)
    run_due(app)
    shutil.rmtree(copy)
    result = cli(app, "check")
    assert result.exit_code == 1
    assert f"FAILED: checkpoints: RENKEI_CHECKPOINT_COPY_DIR is {copy}, which is not there" in result.output

"""`renkei usage import` reads gateway logs as core.csvfile reads every office file."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from core.calendar import JST
from usage.models import UsageEvent


def usage_import(app, path):
    return app.test_cli_runner().invoke(args=["usage", "import", str(path), "--as", "operator-test"])


def events(db):
    return db.scalar(sa.select(sa.func.count()).select_from(UsageEvent))


def test_an_undecodable_log_is_refused_with_the_reason_not_a_traceback(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    path = tmp_path / "gateway.csv"
    path.write_bytes(b"tenant,metric,quantity,timestamp,event_id\r\n431001,api_calls,\x82\xff,x,gw-1\r\n")
    result = usage_import(app, path)
    assert result.exit_code == 2
    assert "CP932" in result.output and "文字コード" in result.output
    assert events(db) == 0


def test_header_names_as_excel_users_write_them_and_extra_columns(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    now = dt.datetime.now(JST).isoformat()
    path = tmp_path / "gateway.csv"
    # full-width letters, a full-width space, a column renkei does not read
    path.write_bytes(("団体　コード,指標,数量,日時,ｅｖｅｎｔ＿ｉｄ,user_agent\r\n"
                      f"431001,api_calls,7,{now},gw-fw-1,curl/8\r\n").encode("cp932"))
    result = usage_import(app, path)
    assert result.exit_code == 0, result.output
    assert events(db) == 1


def test_a_missing_column_is_named_on_line_1_in_both_languages(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    path = tmp_path / "gateway.csv"
    path.write_text("団体コード,指標,数量,日時\r\n431001,api_calls,7,2025-06-01T09:00:00+09:00\r\n", encoding="utf-8")
    result = usage_import(app, path)
    assert result.exit_code == 2
    assert "line 1" in result.output and "event_id" in result.output and "イベントID" in result.output
    assert events(db) == 0


def _log_lines(count, *, start=0, stamp=None):
    stamp = stamp or dt.datetime.now(JST).replace(microsecond=0).isoformat()
    return [f"431001,api_calls,1,{stamp},gw-big-{start + n}\r\n" for n in range(count)]


def test_a_log_longer_than_one_batch_is_checked_whole_then_recorded_whole(app, db, tenant_factory, tmp_path):
    from admin.commands.usage import CHUNK  # the batch size: the file below spans more than one batch

    tenant_factory("431001")
    rows = _log_lines(CHUNK + 500)
    rows[5] = rows[5].replace(",1,", ",many,")            # file line 7 (the header is line 1): first batch
    rows[CHUNK + 300] = rows[CHUNK + 300].replace("431001", "999999")  # file line CHUNK + 302: second batch
    path = tmp_path / "gateway.csv"
    path.write_text("団体コード,指標,数量,日時,イベントID\r\n" + "".join(rows), encoding="utf-8")

    refused = usage_import(app, path)
    assert refused.exit_code == 2
    assert "line 7" in refused.output and f"line {CHUNK + 302}" in refused.output
    assert "2 " in refused.output and "何も記録していません" in refused.output
    assert events(db) == 0  # all or nothing: the good first batch was not recorded either

    path.write_text("団体コード,指標,数量,日時,イベントID\r\n" + "".join(_log_lines(CHUNK + 500)), encoding="cp932")
    recorded = usage_import(app, path)
    assert recorded.exit_code == 0, recorded.output
    assert f"read {CHUNK + 500} line(s): {CHUNK + 500} recorded" in recorded.output
    assert events(db) == CHUNK + 500


def test_a_file_of_many_bad_lines_lists_the_first_and_counts_them_all(app, db, tenant_factory, tmp_path):
    tenant_factory("431001")
    rows = [row.replace(",1,", ",-1,") for row in _log_lines(1_000)]
    path = tmp_path / "gateway.csv"
    path.write_text("tenant,metric,quantity,timestamp,event_id\n" + "".join(rows), encoding="utf-8")
    result = usage_import(app, path)
    assert result.exit_code == 2
    assert "1000 " in result.output and "line 2" in result.output and "line 1001" not in result.output
    assert events(db) == 0

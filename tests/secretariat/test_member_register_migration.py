"""Migration 0072 dates the members decided before it: an approved member joined, a withdrawn one left, on
the day (JST) of its last decision, for the reason given then; an applicant gets no date."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from admin import create_app
from admin.commands.db import upgrade_database

INSERT = ("INSERT INTO member_organisation (corporate_number, name, name_kana, kind, prefecture, in_prefecture, address, "
          "representative, contact_name, contact_email, contact_phone, status, decision_reason, decided_at, applied_at) "
          "VALUES (:number, '甲', '', 'company', '熊本県', true, '', '', '', 'a@example.jp', '', :status, '事業終了', :at, :at)")


def test_members_decided_before_0072_get_their_join_and_leave_dates(tmp_path):
    url = f"sqlite:///{tmp_path / 'migrated.db'}"
    app = create_app({"RENKEI_ENV": "testing", "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": url,
                      "RENKEI_VAR_DIR": str(tmp_path)})
    utc = dt.timezone.utc
    with app.app_context():
        upgrade_database("0069")
        engine = sa.create_engine(url)
        with engine.begin() as connection:
            for number, status, at in (("1" * 13, "approved", dt.datetime(2025, 3, 31, 16, tzinfo=utc)),  # 4/1 in JST
                                       ("2" * 13, "withdrawn", dt.datetime(2025, 6, 1, 1, tzinfo=utc)),
                                       ("3" * 13, "applied", dt.datetime(2025, 6, 1, 1, tzinfo=utc))):
                connection.execute(sa.text(INSERT), {"number": number, "status": status, "at": at})
        upgrade_database("head")
        with engine.connect() as connection:
            rows = connection.execute(sa.text("SELECT status, joined_on, left_on, leave_reason FROM member_organisation "
                                              "ORDER BY corporate_number")).all()
        engine.dispose()
    assert [tuple(str(value) if value is not None else None for value in row) for row in rows] == [
        ("approved", "2025-04-01", None, ""), ("withdrawn", None, "2025-06-01", "事業終了"), ("applied", None, None, "")]

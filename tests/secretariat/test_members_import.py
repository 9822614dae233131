"""The secretariat imports the existing members (issue 40 item 1, Done-when 1): a 500-row list with a bad
check digit, a duplicate and a missing name is refused with those rows named and nothing written; the
fixed list is previewed (new / already a member / differs) and imported, no one mailed unless asked."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from bench.member_files import FAULTY_LINES, as_csv, as_xlsx, corporate_number, faulty, member_rows
from core.audit import AuditRecord
from core.outbox import Notification
from secretariat import members_import
from tenancy.errors import ImportRejected
from tenancy.members.models import MemberStatus, Organisation


def _members(db) -> int:
    return db.scalar(sa.select(sa.func.count()).select_from(Organisation))


def _lines_named(error: ImportRejected) -> set[int]:
    return {int(p["field"].split(":")[0].removeprefix("line ")) for p in error.problems}


@pytest.mark.parametrize("write", [as_xlsx, as_csv], ids=["xlsx", "cp932-csv"])
def test_a_faulty_list_is_refused_naming_the_three_rows_and_nothing_is_written(db, operator, write, tenant_factory):
    tenant_factory("430005")
    raw = write(faulty(member_rows(500)))
    with pytest.raises(ImportRejected) as refused:
        members_import.import_file(db, operator, raw)
    assert _lines_named(refused.value) == set(FAULTY_LINES.values())
    messages = {int(p["field"].split(":")[0].removeprefix("line ")): p["message_ja"] for p in refused.value.problems}
    assert "検査用数字" in messages[FAULTY_LINES["check digit"]]
    assert "4 行目と重複" in messages[FAULTY_LINES["duplicate"]]
    assert "名称を入力" in messages[FAULTY_LINES["missing name"]]
    db.rollback()
    assert _members(db) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord).where(AuditRecord.action == "member.import")) == 0


@pytest.mark.parametrize("write", [as_xlsx, as_csv], ids=["xlsx", "cp932-csv"])
def test_the_fixed_list_is_previewed_then_imported_as_members_with_their_join_dates(db, operator, write, tenant_factory):
    tenant_factory("430005")
    rows = member_rows(500)
    preview = members_import.check_file(db, operator, write(rows))
    assert preview.count("new") == 500 and _members(db) == 0  # the preview writes nothing
    result = members_import.import_file(db, operator, write(rows))
    db.commit()
    assert len(result.created) == 500 and result.notified == 0
    org = db.scalar(sa.select(Organisation).where(Organisation.corporate_number == corporate_number(7)))
    assert org.status == MemberStatus.approved and org.joined_on == dt.date.fromisoformat(rows[7][8])
    assert (org.name, org.industry, org.municipality_code, org.prefecture, org.in_prefecture) == \
        ("会員0007株式会社", "H", "432024", "熊本県", True)  # 熊本県八代市…
    assert org.size_band == "medium" and org.employees == 12
    county = db.scalar(sa.select(Organisation).where(Organisation.corporate_number == corporate_number(2)))
    assert county.municipality_code == "434043"  # 熊本県菊池郡菊陽町…: the county passed over
    assert db.scalar(sa.select(sa.func.count()).select_from(Notification).where(Notification.kind == "member.imported")) == 0
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "member.import"))
    assert len(json.loads(record.after)["created"]) == 500


def test_a_second_import_tells_members_already_there_from_those_that_differ(db, operator):
    rows = member_rows(5)
    members_import.import_file(db, operator, as_csv(rows, "utf-8"))
    db.commit()
    rows[1][3] = "G 情報通信業"  # the register has B
    preview = members_import.check_file(db, operator, as_csv(rows, "utf-8"))
    assert [row.outcome for row in preview.rows] == ["same", "differs", "same", "same", "same"]
    assert preview.rows[1].changes == {"industry": ("B", "G")}
    result = members_import.import_file(db, operator, as_csv(rows, "utf-8"))
    db.commit()
    assert result.created == [] and result.updated == [corporate_number(1)] and result.unchanged == 4
    assert db.scalar(sa.select(Organisation.industry).where(Organisation.corporate_number == corporate_number(1))) == "G"


def test_an_industry_given_as_a_middle_group_is_counted_under_its_major_group(db, operator):
    """Member lists often carry the JSIC middle group (中分類): 39, G39 情報サービス業, or a finer code of one."""
    rows = member_rows(5)
    for row, given in zip(rows, ("39", "G39 情報サービス業", "Ｇ３９", "0911", "09 食料品製造業")):
        row[3] = given
    result = members_import.import_file(db, operator, as_csv(rows, "utf-8"))
    db.commit()
    assert len(result.created) == 5
    industries = db.scalars(sa.select(Organisation.industry).order_by(Organisation.corporate_number)).all()
    assert sorted(industries) == ["E", "E", "G", "G", "G"]
    # a major group's letter that is not the middle group's own is refused beside the line, nothing written
    rows = member_rows(7)[5:]
    rows[0][3] = "E39"
    with pytest.raises(ImportRejected) as refused:
        members_import.check_file(db, operator, as_csv(rows, "utf-8"))
    assert [p["field"] for p in refused.value.problems] == ["line 2: industry"]
    assert "中分類" in refused.value.problems[0]["message_ja"]


def test_new_members_are_mailed_only_when_asked(db, operator):
    members_import.import_file(db, operator, as_csv(member_rows(3), "utf-8"), notify=True)
    db.commit()
    sent = db.scalars(sa.select(Notification).where(Notification.kind == "member.imported")).all()
    assert len(sent) == 3 and all("会員名簿" in n.subject for n in sent)


def test_a_leave_date_carries_the_member_over_as_withdrawn_and_codes_are_checked(db, operator):
    header = "法人番号,名称,所在地,市区町村コード,業種,規模,入会日,退会日,退会理由\r\n"
    good = f"{corporate_number(1)},甲社,熊本県八代市1,,E,大企業,令和2年4月1日,2024-03-31,事業縮小\r\n"
    org = members_import.check_file(db, operator, (header + good).encode("cp932")).rows[0].values
    assert org["status"] == MemberStatus.withdrawn and org["joined_on"] == dt.date(2020, 4, 1)
    assert org["municipality_code"] == "432024" and org["size_band"] == "large"
    bad = (f"{corporate_number(2)},乙社,,431002,Z,巨大,2020-13-01,,\r\n"
           "9000020431001,熊本市,,,,,2020-04-01,,\r\n")
    with pytest.raises(ImportRejected) as refused:
        members_import.check_file(db, operator, (header + bad).encode("cp932"))
    fields = {p["field"] for p in refused.value.problems}
    assert {"line 2: municipality_code", "line 2: industry", "line 2: size_band", "line 2: joined_on",
            "line 3: corporate_number"} <= fields


def test_only_the_secretariat_imports(db):
    from core.actor import Actor
    from core.errors import Forbidden

    auditor = Actor(issuer="urn:test", subject="auditor-1", roles=frozenset({"auditor"}))
    with pytest.raises(Forbidden):
        members_import.check_file(db, auditor, as_csv(member_rows(1), "utf-8"))


def test_the_template_reads_back_as_a_valid_list(db, operator):
    assert members_import.check_file(db, operator, members_import.template_xlsx()).count("new") == 1
    assert members_import.check_file(db, operator, members_import.template_csv()).count("new") == 1

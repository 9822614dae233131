"""The members' yearly re-screening (issue 58 item 4): a 国税庁 difference file with a closed number lists that member
for the secretariat's decision (a merged one with its successor, a renamed one for information), a file with a bad
row is refused whole with the line named, each member's own admin re-confirms its declaration on its member page and
the round's page shows who has not, and each decision (asked first, with a reason) is the member's recorded outcome."""

from __future__ import annotations

import io
import json
import re

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.codes import corporate_check_digit
from core.errors import NotPermitted
from secretariat import rescreening
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import OPERATOR, sign_in

CSRF = "r" * 32


def number(base: str) -> str:
    return f"{corporate_check_digit(base)}{base}"


CLOSED, MERGED, RENAMED, QUIET = number("100001000001"), number("100001000002"), number("100001000003"), number("100001000004")
SUCCESSOR, OUTSIDER = number("200001000001"), number("300001000001")
SECRETARIAT = Actor(issuer="urn:test", subject="secretariat-1", name="事務局 一郎", roles=frozenset({"secretariat"}))


def admin_of(corporate_number: str) -> Actor:
    return Actor(issuer="urn:test", subject=f"org-admin-{corporate_number}", name="会員 管理者",
                 roles=frozenset({"org-admin"}), tenant_codes=frozenset({corporate_number}))


def registry_row(sequence: int, corporate_number: str, process: str, name: str = "", *, closed_on: str = "",
                 cause: str = "", successor: str = "") -> list[str]:
    """One row of a 差分データ file (30 items, as the 国税庁 publishes them)."""
    row = [""] * 30
    row[0], row[1], row[2], row[3] = str(sequence), corporate_number, process, "0"
    row[4], row[5], row[6], row[8] = "2026-02-02", "2026-01-30", name, "301"
    row[9], row[10], row[11], row[13], row[14], row[15] = "熊本県", "熊本市中央区", "水前寺６丁目１８－１", "43", "101", "8620950"
    row[18], row[19], row[20], row[22], row[23] = closed_on, cause, successor, "2015-10-05", "1"
    return row


def csv_file(rows: list[list[str]], encoding: str = "utf-8") -> bytes:
    return "".join(",".join(f'"{cell}"' if cell else "" for cell in row) + "\r\n" for row in rows).encode(encoding)


DIFFERENCES = [
    registry_row(1, CLOSED, "21", "閉鎖株式会社", closed_on="2026-01-30", cause="01"),
    registry_row(2, MERGED, "71", "合併株式会社", closed_on="2026-01-30", cause="11", successor=SUCCESSOR),
    registry_row(3, RENAMED, "11", "新社名株式会社"),
    registry_row(4, OUTSIDER, "21", "会員外株式会社", closed_on="2026-01-30", cause="01"),
]


@pytest.fixture
def members(db):
    for corporate_number, name in ((CLOSED, "閉鎖株式会社"), (MERGED, "合併株式会社"), (RENAMED, "旧社名株式会社"),
                                   (QUIET, "平穏株式会社")):
        db.add(Organisation(corporate_number=corporate_number, name=name, kind=OrganisationKind.company,
                            prefecture="熊本県", representative="代表 太郎", contact_name="担当 花子",
                            contact_email="m@example.jp", status=MemberStatus.approved))
    db.commit()


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.get_data(as_text=True))


def row_of(page: str, corporate_number: str) -> str:
    found = re.search(rf'<tr data-number="{corporate_number}">(.*?)</tr>', page)
    return found.group(1) if found else ""


def test_a_closed_number_in_the_difference_file_lists_that_member_for_decision_and_the_decision_is_its_outcome(app, db, members):
    client = app.test_client()
    sign_in(client, csrf=CSRF)
    year = rescreening.current_fiscal_year()
    assert client.post(f"/admin/member-rescreening/start?year={year}", data={"csrf_token": CSRF}).status_code == 302
    upload = client.post(f"/admin/member-rescreening/import?year={year}", content_type="multipart/form-data",
                         data={"csrf_token": CSRF, "file": (io.BytesIO(csv_file(DIFFERENCES)), "diff_20260202.csv")})
    assert upload.status_code == 302
    page = text_of(client.get(f"/admin/member-rescreening/?year={year}&show=decision"))
    assert "登記記録の閉鎖等" in row_of(page, CLOSED) and "清算の結了等" in row_of(page, CLOSED)
    assert "吸収合併" in row_of(page, MERGED) and SUCCESSOR in row_of(page, MERGED)
    assert "事務局の判断待ち" in row_of(page, CLOSED)
    assert row_of(page, RENAMED) == "" and row_of(page, QUIET) == "" and OUTSIDER not in page
    everyone = text_of(client.get(f"/admin/member-rescreening/?year={year}"))
    assert "商号又は名称の変更" in row_of(everyone, RENAMED) and "新社名株式会社" in row_of(everyone, RENAMED)

    decision = {"csrf_token": CSRF, "decision": "withdrawal", "reason": "清算結了を登記事項証明書で確認"}
    asked = client.post(f"/admin/member-rescreening/{CLOSED}/decide?year={year}", data=decision)
    assert "記録しますか" in text_of(asked) and "退会手続き" in text_of(asked)
    assert db.scalar(sa.select(rescreening.RescreeningEntry)) is None  # nothing written before the confirmation
    client.post(f"/admin/member-rescreening/{CLOSED}/decide?year={year}", data={**decision, "confirmed": "1"})
    decided = text_of(client.get(f"/admin/member-rescreening/?year={year}&show=decision"))
    assert "退会手続き" in row_of(decided, CLOSED) and "清算結了を登記事項証明書で確認" in row_of(decided, CLOSED)
    in_english = text_of(client.get(f"/admin/member-rescreening/?year={year}&show=decision&lang=en"))
    assert "Withdrawal procedure" in row_of(in_english, CLOSED) and "Registration closed" in row_of(in_english, CLOSED)
    actions = [a for (a,) in db.execute(sa.select(AuditRecord.action).where(AuditRecord.action.like("rescreening.%"))
                                        .order_by(AuditRecord.id))]
    assert actions == ["rescreening.start", "rescreening.import", "rescreening.decide"]
    imported = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "rescreening.import"))
    assert json.loads(imported.after)["for_decision"] == sorted([CLOSED, MERGED])


def test_a_file_with_a_bad_check_digit_is_refused_whole_with_its_line_and_a_shift_jis_file_is_read(app, db, members):
    client = app.test_client()
    sign_in(client, csrf=CSRF)
    year = rescreening.current_fiscal_year()
    client.post(f"/admin/member-rescreening/start?year={year}", data={"csrf_token": CSRF})
    wrong = CLOSED[:-1] + str((int(CLOSED[-1]) + 1) % 10)
    bad = csv_file([DIFFERENCES[0], DIFFERENCES[2], registry_row(3, wrong, "21", closed_on="2026-01-30", cause="01")])
    refused = client.post(f"/admin/member-rescreening/import?year={year}", content_type="multipart/form-data",
                          data={"csrf_token": CSRF, "file": (io.BytesIO(bad), "bad.csv")})
    page = text_of(refused)
    assert refused.status_code == 422 and '<tr data-line="3"><td>bad.csv</td><td>3</td>' in page and "検査用数字" in page
    db.rollback()
    assert db.scalar(sa.select(sa.func.count(rescreening.RescreeningFinding.id))) == 0
    shift_jis = client.post(f"/admin/member-rescreening/import?year={year}", content_type="multipart/form-data",
                            data={"csrf_token": CSRF, "file": (io.BytesIO(csv_file(DIFFERENCES, "cp932")), "sjis.csv")})
    assert shift_jis.status_code == 302
    assert "閉鎖株式会社" in text_of(client.get(f"/admin/member-rescreening/?year={year}&show=decision"))
    again = client.post(f"/admin/member-rescreening/import?year={year}", content_type="multipart/form-data",
                        data={"csrf_token": CSRF, "file": (io.BytesIO(csv_file(DIFFERENCES, "cp932")), "sjis.csv")})
    assert again.status_code == 409 and "取り込み済み" in text_of(again)


def test_each_member_re_confirms_its_declaration_on_its_page_and_the_round_shows_who_has_not(app, db, members):
    rescreening.start_round(db, SECRETARIAT, rescreening.current_fiscal_year())
    db.commit()
    member = app.test_client()
    sign_in(member, ["org-admin"], [QUIET], subject="org-admin-quiet", name="平穏 花子", csrf=CSRF)
    detail = text_of(member.get(f"/admin/members/{QUIET}"))
    assert "反社会的勢力" in detail and "宣誓を再確認する" in detail
    assert member.post(f"/admin/members/{QUIET}/rescreening/declare", data={"csrf_token": CSRF, "agree": "1"}).status_code == 302
    assert "平穏 花子 さんが宣誓を再確認しました" in text_of(member.get(f"/admin/members/{QUIET}"))
    # another member's admin cannot confirm for it
    member.post(f"/admin/members/{RENAMED}/rescreening/declare", data={"csrf_token": CSRF, "agree": "1"})
    desk = app.test_client()
    sign_in(desk, ["secretariat"], csrf=CSRF)
    waiting = text_of(desk.get("/admin/member-rescreening/?show=undeclared"))
    assert row_of(waiting, QUIET) == "" and all(row_of(waiting, n) for n in (CLOSED, MERGED, RENAMED))
    assert "再確認済み" in row_of(text_of(desk.get("/admin/member-rescreening/")), QUIET)
    assert [a.action for a in db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "rescreening.declare"))] \
        == ["rescreening.declare"]


def test_the_desk_decides_an_org_admin_only_confirms_its_own_and_the_auditor_only_reads(db, members):
    year = rescreening.current_fiscal_year()
    rescreening.start_round(db, SECRETARIAT, year)
    rescreening.decide(db, SECRETARIAT, year, QUIET, "continued", "宣誓を確認")
    with pytest.raises(NotPermitted):
        rescreening.decide(db, admin_of(QUIET), year, QUIET, "continued", "自分で")
    with pytest.raises(NotPermitted):
        rescreening.declare(db, admin_of(QUIET), RENAMED)
    with pytest.raises(NotPermitted):
        rescreening.declare(db, OPERATOR, QUIET)
    auditor = Actor(issuer="urn:test", subject="auditor-1", name="監査 一郎", roles=frozenset({"auditor"}))
    _round, listed = rescreening.standings(db, auditor, year)
    assert {s.corporate_number: s.outcome for s in listed}[QUIET] is rescreening.Outcome.continued
    with pytest.raises(NotPermitted):
        rescreening.decide(db, auditor, year, QUIET, "checking", "監査")

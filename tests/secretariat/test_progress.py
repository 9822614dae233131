"""The secretariat's year (issue 40 item 7): the schedule's work items with owners picked from the
secretariat's people, the issue list, and the monthly progress report: its counts in a generated month
equal an independent count, lateness is decided by the due date in Japan time, and the workbook and the
PDF read back (openpyxl, pdftotext) and are audited."""

from __future__ import annotations

import datetime as dt
import io
import json
import random
import subprocess

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, UTC
from core.errors import Invalid, NotPermitted
from secretariat import progress
from secretariat.progress import Issue, IssueStatus, ItemStatus, WorkItem

PEOPLE = {"kc-sato": "佐藤 花子", "kc-suzuki": "鈴木 一郎"}
AUDITOR = Actor(issuer="urn:test", subject="auditor-1", roles=frozenset({"auditor"}))


def _jst(*parts) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=JST).astimezone(UTC)


def _generated(seed: int) -> tuple[list[dict], list[dict]]:
    """Items and issues with dates around May 2026 (some done or resolved, some not)."""
    rand = random.Random(seed)
    first = dt.date(2026, 3, 1)

    def day(span: int = 150) -> dt.date:
        return first + dt.timedelta(days=rand.randrange(span))

    items = []
    for _ in range(rand.randrange(5, 60)):
        due = day()
        done = day() if rand.random() < 0.5 else None
        items.append({"due_on": due, "done_on": done})
    found = []
    for _ in range(rand.randrange(3, 40)):
        raised = day(120)
        resolved = raised + dt.timedelta(days=rand.randrange(60)) if rand.random() < 0.5 else None
        found.append({"raised_on": raised, "resolved_on": resolved})
    return items, found


def _store(db, items: list[dict], found: list[dict]) -> None:
    for n, item in enumerate(items):
        db.add(WorkItem(fiscal_year=2026 if item["due_on"] >= dt.date(2026, 4, 1) else 2025, title=f"作業{n}",
                        due_on=item["due_on"], owner_subject="kc-sato", owner_name="佐藤 花子",
                        status=ItemStatus.done if item["done_on"] else ItemStatus.in_progress, done_on=item["done_on"]))
    for n, issue in enumerate(found):
        db.add(Issue(title=f"課題{n}", raised_on=issue["raised_on"], raised_by="佐藤 花子", owner_subject="kc-sato",
                     owner_name="佐藤 花子", status=IssueStatus.resolved if issue["resolved_on"] else IssueStatus.open,
                     resolution="対応済み" if issue["resolved_on"] else "", resolved_on=issue["resolved_on"]))
    db.flush()


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("now, last_counted", [
    (_jst(2026, 6, 10, 9), dt.date(2026, 5, 31)),    # May is over: every day of it counts
    (_jst(2026, 5, 15, 9), dt.date(2026, 5, 14)),    # during May: the days already over
])
def test_a_generated_months_counts_equal_an_independent_count(db, operator, seed, now, last_counted):
    items, found = _generated(seed)
    _store(db, items, found)
    start, end = dt.date(2026, 5, 1), dt.date(2026, 5, 31)
    report = progress.build_report(db, operator, progress.parse_month("2026-05"), now=now)

    done = sum(1 for i in items if i["done_on"] and start <= i["done_on"] <= end)
    late = sum(1 for i in items if i["due_on"] <= last_counted and not (i["done_on"] and i["done_on"] <= last_counted))
    still_open = sum(1 for i in found if i["raised_on"] <= end and not (i["resolved_on"] and i["resolved_on"] <= end))
    raised = sum(1 for i in found if start <= i["raised_on"] <= end)
    resolved = sum(1 for i in found if i["resolved_on"] and start <= i["resolved_on"] <= end)
    assert (len(report.done), len(report.late), len(report.open_issues), len(report.raised), len(report.resolved)) \
        == (done, late, still_open, raised, resolved)


def test_late_is_decided_by_the_due_date_in_japan_time(db, operator):
    item = progress.add_item(db, operator, PEOPLE, title="県への月次報告", due_on="2026-05-31", owner="kc-sato")
    may = progress.parse_month("2026-05")
    # 23:59 on the due day in Japan (14:59 UTC): not late yet; from 00:00 JST on 1 June (15:00 UTC), late
    assert not progress.is_late(item, _jst(2026, 5, 31, 23, 59))
    assert progress.is_late(item, _jst(2026, 6, 1, 0, 0))
    assert progress.build_report(db, operator, may, now=_jst(2026, 5, 31, 23, 59)).late == []
    assert progress.build_report(db, operator, may, now=_jst(2026, 6, 1, 0, 0)).late == [item]
    # done at 00:30 JST on 1 June (still 31 May in UTC): done in June, so late at May's end
    progress.update_item(db, operator, PEOPLE, item.id, status="done", now=_jst(2026, 6, 1, 0, 30))
    assert item.done_on == dt.date(2026, 6, 1)
    after = progress.build_report(db, operator, may, now=_jst(2026, 6, 2, 9))
    assert after.late == [item] and after.done == []
    assert progress.build_report(db, operator, progress.parse_month("2026-06"), now=_jst(2026, 6, 2, 9)).done == [item]
    assert not progress.is_late(item, _jst(2026, 7, 1))


def test_owners_are_picked_from_the_secretariats_people_and_nothing_else_is_written(db, operator):
    with pytest.raises(Invalid) as refused:
        progress.add_item(db, operator, PEOPLE, title="", due_on="2026-13-01", owner="someone-typed")
    assert {p["field"] for p in refused.value.problems} == {"title", "due_on", "owner"}
    with pytest.raises(Invalid):
        progress.raise_issue(db, operator, PEOPLE, title="会場の確保", owner="kc-nobody")
    assert db.scalar(sa.select(sa.func.count()).select_from(WorkItem)) == 0
    assert db.scalar(sa.select(sa.func.count()).select_from(Issue)) == 0
    item = progress.add_item(db, operator, PEOPLE, title="会員募集の案内送付", due_on=dt.date(2026, 6, 30), owner="kc-suzuki")
    assert (item.owner_name, item.fiscal_year, item.status) == ("鈴木 一郎", 2026, ItemStatus.planned)
    item_early = progress.add_item(db, operator, PEOPLE, title="年度末の集計", due_on="2027-03-31", owner="kc-sato")
    assert item_early.fiscal_year == 2026
    assert [i.title for i in progress.schedule(db, operator, 2026)] == ["会員募集の案内送付", "年度末の集計"]
    assert progress.fiscal_year_label(2026) == "令和8年度（2026年度）"


def test_an_issue_is_resolved_only_with_its_resolution_and_every_change_is_audited(db, operator):
    issue = progress.raise_issue(db, operator, PEOPLE, title="セミナー会場の確保", owner="kc-sato",
                                 now=_jst(2026, 5, 1, 8))
    assert (issue.raised_on, issue.raised_by, issue.status) == (dt.date(2026, 5, 1), operator.name, IssueStatus.open)
    with pytest.raises(Invalid) as refused:
        progress.update_issue(db, operator, PEOPLE, issue.id, status="resolved")
    assert [p["field"] for p in refused.value.problems] == ["resolution"]
    assert issue.status is IssueStatus.open
    progress.update_issue(db, operator, PEOPLE, issue.id, owner="kc-suzuki", status="resolved",
                          resolution="県の会議室を確保した", now=_jst(2026, 5, 20, 23, 30))
    assert (issue.owner_name, issue.status, issue.resolved_on) == ("鈴木 一郎", IssueStatus.resolved, dt.date(2026, 5, 20))
    progress.update_issue(db, operator, PEOPLE, issue.id, status="in_progress")
    assert issue.resolved_on is None
    actions = [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.action.like("progress.%"))
                                           .order_by(AuditRecord.seq))]
    assert actions == ["progress.issue.raise", "progress.issue.update", "progress.issue.update"]
    resolved = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "progress.issue.update")
                          .order_by(AuditRecord.seq)).first()
    assert json.loads(resolved.before)["issue_status"] == "open"
    assert json.loads(resolved.after)["issue_resolution"] == "県の会議室を確保した"


def test_the_auditor_reads_and_reports_but_does_not_change(db, operator):
    item = progress.add_item(db, operator, PEOPLE, title="年間計画の作成", due_on="2026-04-30", owner="kc-sato")
    assert progress.schedule(db, AUDITOR, 2026) == [item]
    progress.build_report(db, AUDITOR, progress.parse_month("2026-04"))
    with pytest.raises(NotPermitted):
        progress.update_item(db, AUDITOR, PEOPLE, item.id, status="done")
    with pytest.raises(NotPermitted):
        progress.raise_issue(db, AUDITOR, PEOPLE, title="x", owner="kc-sato")


def test_a_quarter_is_not_a_month():
    with pytest.raises(Invalid):
        progress.parse_month("2026-Q1")
    assert progress.parse_month("2027-02").end == dt.date(2027, 2, 28)


def _pdf_text(pdf: bytes, tmp_path) -> str:
    source = tmp_path / "progress.pdf"
    source.write_bytes(pdf)
    return subprocess.run(["pdftotext", "-layout", str(source), "-"], check=True, capture_output=True, text=True).stdout


def test_the_workbook_and_the_pdf_read_back_and_each_file_is_audited(db, operator, tmp_path):
    done = progress.add_item(db, operator, PEOPLE, title="会員名簿の取込", due_on="2026-05-15", owner="kc-sato")
    progress.update_item(db, operator, PEOPLE, done.id, status="done", now=_jst(2026, 5, 14, 10))
    progress.add_item(db, operator, PEOPLE, title="セミナーの開催案内", due_on="2026-05-20", owner="kc-suzuki")
    progress.raise_issue(db, operator, PEOPLE, title="参加者の伸び悩み", owner="kc-suzuki", now=_jst(2026, 5, 8, 9))
    may = progress.parse_month("2026-05")
    book = load_workbook(io.BytesIO(progress.generate(db, operator, may, "xlsx", now=_jst(2026, 6, 3, 9))))
    assert book.sheetnames == ["概要", "完了した作業項目", "遅延している作業項目", "未解決の課題", "当月に提起された課題",
                               "当月に解決した課題", "再委託（承認済み）"]
    rows = [[c.value for c in row] for row in book["遅延している作業項目"].iter_rows() if row[0].value]
    assert ["セミナーの開催案内", "2026-05-20", "鈴木 一郎", "未着手"] in [r[1:5] for r in rows]
    done_rows = [r[1:6] for r in ([c.value for c in row] for row in book["完了した作業項目"].iter_rows())]
    assert ["会員名簿の取込", "2026-05-15", "佐藤 花子", "完了", "2026-05-14"] in done_rows
    text = _pdf_text(progress.generate(db, operator, may, "pdf", now=_jst(2026, 6, 3, 9)), tmp_path)
    assert "進捗・課題管理報告書" in text and "セミナーの開催案内" in text and "参加者の伸び悩み" in text
    records = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "progress.report")))
    assert [json.loads(r.after)["format"] for r in records] == ["xlsx", "pdf"]
    assert all(r.target_id == "2026-05" and len(json.loads(r.after)["sha256"]) == 64 for r in records)
    assert json.loads(records[0].after)["late"] == 1


@pytest.mark.keycloak
def test_the_secretariats_people_are_the_operators_in_keycloak(directory, user_factory):
    operator_account, _ = user_factory(("platform-operator",))
    other, _ = user_factory(("auditor",))
    people = progress.secretariat_people(directory)
    assert people[operator_account.id] == operator_account.display_name
    assert other.id not in people

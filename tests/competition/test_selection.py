"""Selection and notices (issue 41 item 5): the first-stage selection from the first stage's closed results,
the final selection within the number to commission from the second stage's, each ranked group told by a
numbered one-page letter (read back with pdftotext) and a message, the public list of the selected groups,
refusals in words, audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from competition import operations as comp
from competition import review as rv
from competition import selection as sel
from core.audit import AuditRecord
from core.errors import Conflict, Invalid
from core.outbox import Notification
from tenancy.members import operations as members
from tenancy.registry.prefecture import PrefectureSettingsIn, update_settings
from tenancy.registry.sample import KUMAMOTO_SETTINGS
from tests.billing.test_statement_documents import pdf_page_size, pdf_pages, pdf_text
from tests.competition.conftest import EARLY, FUKUOKA_CO, KUMAMOTO_CITY, REPRESENTATIVE, assign, pdf_of
from tests.competition.test_review import DOCS, LINES, _marks, _reviewer

ISSUED = dt.date(2025, 5, 22)


@pytest.fixture
def call(db, operator):
    """The fiscal year 2025 call, commissioning one project (so that the cap on the number chosen shows)."""
    made = comp.create_call(db, operator, 2025, commission_count=1)
    comp.publish_call(db, operator, made.id)
    db.commit()
    return made


@pytest.fixture
def two_groups(db, operator, call, group, tenant_factory):
    """Two declared groups with proposals, two reviewers, the prefecture's settings for the letters."""
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    update_settings(db, operator, PrefectureSettingsIn.model_validate(KUMAMOTO_SETTINGS))
    other = members.form_group(db, operator, "防災データ活用", KUMAMOTO_CITY, [KUMAMOTO_CITY, FUKUOKA_CO])
    for g in (group, other):
        comp.declare(db, REPRESENTATIVE, call.id, g.id, DOCS, now=EARLY)
        comp.submit_proposal(db, REPRESENTATIVE, call.id, g.id, comp.Upload("proposal", "p.pdf", pdf_of(2)), LINES,
                             4_000_000, now=EARLY)
    assign(db, operator, call.id, _reviewer(1), _reviewer(2))
    db.commit()
    return group, other


def _review(db, operator, call, stage, scores: dict[int, list[int]]):
    for n in (1, 2):
        for group_id, points in scores.items():
            rv.score(db, _reviewer(n), call.id, stage, group_id, _marks(db, call.id, points))
    rv.close_stage(db, operator, call.id, stage)


def test_the_first_and_final_selections_are_notified_as_numbered_letters_and_messages(client, db, operator, call, two_groups,
                                                                                       tmp_path):
    group, other = two_groups
    with pytest.raises(Conflict) as sealed:  # before the stage closes, nothing to select from
        sel.select(db, operator, call.id, "first", [group.id], issued_on=ISSUED)
    assert "締め切られるまで採点結果は開示されません" in sealed.value.message_ja
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    with pytest.raises(Conflict) as early:
        sel.select(db, operator, call.id, "second", [group.id], issued_on=ISSUED)
    assert "先に一次審査の選定を記録してください" in early.value.message_ja

    first = sel.select(db, operator, call.id, "first", [group.id], issued_on=ISSUED)
    assert [(s.rank, s.selected) for s in first] == [(1, True), (2, False)]
    assert first[1].sequence == first[0].sequence + 1 and first[0].number == f"デ戦第{first[0].sequence}号"
    with pytest.raises(Conflict) as twice:
        sel.select(db, operator, call.id, "first", [group.id, other.id], issued_on=ISSUED)
    assert "すでに記録し、通知済み" in twice.value.message_ja

    letter = sel.letter_of(db, operator, call.id, first[0].id)
    pdf = sel.letter_pdf(letter)
    text = "".join(pdf_text(pdf, tmp_path).split())
    assert len(pdf_pages(pdf, tmp_path / "pages")) == 1
    assert pdf_page_size(pdf, tmp_path).endswith("(A4)")
    for words in (first[0].number, "一次審査結果通知書", "観光データ連携代表者熊本市様", "二次審査（ヒアリング）の対象として選定しました",
                  "令和7年5月28日"):
        assert words in text
    refused_text = pdf_text(sel.letter_pdf(sel.letter_of(db, operator, call.id, first[1].id)), tmp_path)
    assert "選定されませんでした" in "".join(refused_text.split())

    messages = list(db.scalars(sa.select(Notification).where(Notification.kind == sel.NOTICE_KIND).order_by(Notification.id)))
    assert [m.subject for m in messages] == [f"【{first[0].number}】一次審査結果通知書", f"【{first[1].number}】一次審査結果通知書"]

    assert sel.selected(db, call.id) == []  # the public list waits for the final selection
    db.commit()
    assert 'id="selected"' not in client.get("/competition/2025").get_data(as_text=True)
    _review(db, operator, call, "second", {group.id: [80, 60, 10, 10]})
    with pytest.raises(Invalid) as not_sent_on:
        sel.select(db, operator, call.id, "second", [other.id], issued_on=ISSUED)
    assert "選んだグループがこの審査の結果にありません" in not_sent_on.value.problems[0]["message_ja"]
    final = sel.select(db, operator, call.id, "second", [group.id], issued_on=ISSUED)
    assert [(s.declaration_id, s.selected) for s in final] == [(first[0].declaration_id, True)]
    assert final[0].sequence == first[1].sequence + 1
    assert sel.selected(db, call.id) == ["観光データ連携"]
    db.commit()
    public = client.get("/competition/2025").get_data(as_text=True)
    assert '<h2 id="selected">選定結果</h2>' in public and "<li>観光データ連携</li>" in public and "防災データ活用</li>" not in public
    final_text = pdf_text(sel.letter_pdf(sel.letter_of(db, operator, call.id, final[0].id)), tmp_path)
    final_text = "".join(final_text.split())
    assert "選定結果通知書" in final_text and "委託候補者として選定しました" in final_text

    audited = list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "competition.select").order_by(AuditRecord.id)))
    assert [json.loads(a.after)["stage"] for a in audited] == ["first", "second"]
    assert json.loads(audited[0].after)["letters"] == [first[0].number, first[1].number]


def test_the_final_selection_stays_within_the_number_to_commission_and_refuses_a_failed_gate(db, operator, call, two_groups):
    group, other = two_groups
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    sel.select(db, operator, call.id, "first", [group.id, other.id], issued_on=ISSUED)
    for n in (1, 2):
        rv.score(db, _reviewer(n), call.id, "second", group.id, _marks(db, call.id, [80, 60, 10, 10]))
        rv.score(db, _reviewer(n), call.id, "second", other.id, _marks(db, call.id, [10, 10, 1, 1], passed=n == 1))
    rv.close_stage(db, operator, call.id, "second")
    with pytest.raises(Invalid) as refused:
        sel.select(db, operator, call.id, "second", [group.id, other.id], issued_on=ISSUED)
    details = [p["message_ja"] for p in refused.value.problems]
    assert "選定できるのは委託予定件数の1件までです。" in details
    assert any("否と判定されたため、選定できません" in d for d in details)
    assert db.scalar(sa.select(sa.func.count()).select_from(sel.Selection).where(sel.Selection.stage == "second")) == 0


def test_the_selection_through_the_api_refuses_in_words_and_lists_the_notices(client, db, operator, call, two_groups, as_operator):
    group, other = two_groups
    address = f"/api/v1/competition/calls/{call.id}/stages/first/selection"
    sealed = client.post(address, json={"group_ids": [group.id]}, headers=as_operator)
    assert sealed.status_code == 409 and sealed.content_type == "application/problem+json"
    assert "締め切られるまで採点結果は開示されません" in sealed.get_data(as_text=True)
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    db.commit()
    made = client.post(address, json={"group_ids": [other.id]}, headers=as_operator)
    assert made.status_code == 201, made.get_data(as_text=True)
    listed = client.get(address, headers=as_operator).get_json()
    assert [(i["rank"], i["selected"]) for i in listed["items"]] == [(1, False), (2, True)]
    assert all(i["number"].startswith("デ戦第") for i in listed["items"])


def test_the_selection_and_a_notice_from_the_command_line(app, db, operator, call, two_groups, tmp_path):
    group, other = two_groups
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    db.commit()
    run = app.test_cli_runner().invoke
    refused = run(args=["competition", "select", str(call.id), "second", "--group", str(group.id), "--as", "competition-test"])
    assert refused.exit_code != 0 and "先に一次審査の選定を記録してください" in refused.output
    made = run(args=["competition", "select", str(call.id), "first", "--group", str(group.id), "--as", "competition-test"])
    assert made.exit_code == 0, made.output
    first_line = made.output.splitlines()[0].split("\t")
    assert first_line[:2] == ["1", "選定"] and first_line[2].startswith("デ戦第")
    out = tmp_path / "notice.pdf"
    written = run(args=["competition", "notice", str(call.id), first_line[3], str(out), "--as", "competition-test"])
    assert written.exit_code == 0, written.output
    assert "二次審査（ヒアリング）の対象として選定しました" in "".join(pdf_text(out.read_bytes(), tmp_path).split())


def test_the_secretariats_page_shows_the_ranked_results_after_close_and_records_the_selection(client, db, operator, call,
                                                                                               two_groups, tmp_path):
    from tests.conftest import sign_in

    group, other = two_groups
    sign_in(client, csrf="sel-csrf")
    page = client.get(f"/admin/competition/{call.id}").get_data(as_text=True)
    assert "審査が締め切られるまで採点結果は開示されません。" in page and 'name="group_id"' not in page
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    db.commit()
    page = client.get(f"/admin/competition/{call.id}").get_data(as_text=True)
    assert 'aria-label="観光データ連携"' in page and "選定を記録して通知する" in page
    done = client.post(f"/admin/competition/{call.id}/stages/first/selection",
                       data={"csrf_token": "sel-csrf", "group_id": [str(other.id)]}, follow_redirects=True)
    assert "選定を記録し、通知しました。" in done.get_data(as_text=True)
    [first, second] = sel.selections(db, operator, call.id, "first")
    assert (first.selected, second.selected) == (False, True)
    pdf = client.get(f"/admin/competition/{call.id}/notices/{second.id}.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert "防災データ活用" in "".join(pdf_text(pdf.data, tmp_path).split())
    assert client.get(f"/admin/competition/{call.id}/notices/999999.pdf").status_code == 404

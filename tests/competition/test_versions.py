"""Applicants' rights before a deadline (issue 59 item 2): a group withdraws, amends and resubmits before the
stage's deadline (every version kept, only the current one reviewed and ranked), is refused after it, and a
reviewer corrects a score while the stage is open (the earlier value kept, the ranking on the new one)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa

from competition import operations as comp
from competition import review as rv
from competition import reviewing, versions
from competition.models import Document, Proposal, ScoreRevision
from competition.operations import DeadlinePassed
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Conflict, NotFound, NotPermitted
from core.lifecycle import IllegalMove
from core.outbox import Notification
from tests.competition.conftest import EARLY, OTHER_ORG_ADMIN, REPRESENTATIVE, assign, pdf_of
from tests.competition.test_review import _marks, _reviewer
from tests.conftest import TEST_DATABASE_OWNER_URL, TEST_DATABASE_URL

DOCS = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
FIRST, SECOND = pdf_of(2), pdf_of(3)
LINES = [comp.Line("人件費", 4_000_000)]
JST = dt.timezone(dt.timedelta(hours=9))
AFTER_PROPOSALS = dt.datetime(2025, 5, 14, 12, 1, tzinfo=JST)  # a minute past the proposal deadline (5/14 12:00)
AFTER_DECLARATIONS = dt.datetime(2025, 4, 25, 12, 0, tzinfo=JST)  # the declaration deadline itself (4/25 12:00)


def _receipts(db) -> list[str]:
    return list(db.scalars(sa.select(Notification.subject).where(Notification.kind == "competition.receipt")
                           .order_by(Notification.id)))


def _actions(db, action: str) -> list[AuditRecord]:
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.seq)))


@pytest.fixture
def declared(db, call, group):
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    db.commit()
    return call, group


def test_a_proposal_withdrawn_and_resubmitted_keeps_both_versions_and_the_second_is_reviewed(db, operator, declared):
    call, group = declared
    first = comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v1.pdf", FIRST), LINES,
                                 4_000_000, now=EARLY)
    versions.withdraw_proposal(db, REPRESENTATIVE, call.id, group.id, now=EARLY)
    second = versions.resubmit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v2.pdf", SECOND),
                                        [comp.Line("人件費", 3_000_000), comp.Line("旅費", 500_000)], 3_500_000, now=EARLY)
    db.commit()
    kept = list(db.scalars(sa.select(Proposal).order_by(Proposal.version)))
    assert [(p.id, p.version) for p in kept] == [(first.id, 1), (second.id, 2)]
    assert kept[0].withdrawn_at is not None and kept[1].withdrawn_at is None and kept[1].replaced_at is None
    assert [(d.group_id, p.id) for d, p in comp.list_declarations(db, operator, call.id)] == [(group.id, second.id)]
    assert _receipts(db)[1:] == [
        f"【受付番号 2025-P{first.id:05d}】企画提案書・積算書を受け付けました（{call.title}）",
        f"【受付番号 2025-PW{first.id:05d}】企画提案書の取下げを受け付けました（{call.title}）",
        f"【受付番号 2025-P{second.id:05d}】企画提案書・積算書の再提出を受け付けました（{call.title}）"]
    withdrawn, resubmitted = _actions(db, "competition.proposal.withdraw"), _actions(db, "competition.proposal.resubmit")
    assert len(withdrawn) == 1 and len(resubmitted) == 1 and json.loads(resubmitted[0].after)["version"] == 2

    # the review (the proposal deadline passed) reads the second version and ranks it with its scores
    assign(db, operator, call.id, _reviewer(1))
    rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [90, 60, 10, 10]))
    file = reviewing.proposal_file(db, _reviewer(1), call.id, group.id)
    assert file.sha256 == hashlib.sha256(SECOND).hexdigest() and file.filename == "v2.pdf"
    rv.close_stage(db, operator, call.id, "first")
    [result] = rv.results(db, operator, call.id, "first")
    assert result.totals == (170,) and result.rank == 1


def test_a_resubmission_replaces_the_current_version_which_is_kept(db, declared):
    call, group = declared
    first = comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v1.pdf", FIRST), LINES,
                                 4_000_000, now=EARLY)
    with pytest.raises(Conflict) as again:  # a second submission is a resubmission
        comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v2.pdf", SECOND), LINES,
                             4_000_000, now=EARLY)
    assert "差し替える場合は再提出してください" in again.value.message_ja
    second = versions.resubmit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v2.pdf", SECOND),
                                        LINES, 4_000_000, now=EARLY)
    assert db.get(Proposal, first.id).replaced_at is not None and comp.current_proposal(db, second.declaration_id) == second
    assert {d.filename for d in db.scalars(sa.select(Document).where(Document.kind == "proposal"))} == {"v1.pdf", "v2.pdf"}


def test_changes_are_refused_after_their_deadline_and_outside_the_applicants_stage(db, operator, declared):
    call, group = declared
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v1.pdf", FIRST), LINES,
                         4_000_000, now=EARLY)
    db.commit()
    with pytest.raises(DeadlinePassed) as late:
        versions.withdraw_proposal(db, REPRESENTATIVE, call.id, group.id, now=AFTER_PROPOSALS)
    assert "企画提案書の変更の期限（令和7年5月14日 12:00）を過ぎているため、受け付けられません" in late.value.message_ja
    with pytest.raises(DeadlinePassed):
        versions.resubmit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v2.pdf", SECOND),
                                   LINES, 4_000_000, now=AFTER_PROPOSALS)
    with pytest.raises(DeadlinePassed) as late:
        versions.withdraw_declaration(db, REPRESENTATIVE, call.id, group.id, now=AFTER_DECLARATIONS)
    assert "参加表明の変更の期限" in late.value.message_ja
    with pytest.raises(DeadlinePassed):
        versions.amend_declaration(db, REPRESENTATIVE, call.id, group.id, DOCS[:1], now=AFTER_DECLARATIONS)
    with pytest.raises(NotPermitted):  # only the representative's people (or the operator) act for the group
        versions.withdraw_proposal(db, OTHER_ORG_ADMIN, call.id, group.id, now=EARLY)
    assign(db, operator, call.id, _reviewer(1))
    rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [90, 60, 10, 10]))  # the review starts
    with pytest.raises(IllegalMove) as stage:
        versions.withdraw_proposal(db, REPRESENTATIVE, call.id, group.id, now=EARLY)
    assert "この公募は「一次審査中」のため、企画提案書の変更は受け付けられません" in stage.value.message_ja
    db.rollback()
    assert db.scalar(sa.select(sa.func.count()).select_from(Proposal).where(Proposal.withdrawn_at.is_not(None))) == 0
    assert _actions(db, "competition.proposal.withdraw") == []


def test_a_withdrawn_group_is_out_of_the_first_stage_ranking(db, operator, declared):
    from tenancy.members import operations as members
    from tests.competition.conftest import FUKUOKA_CO, KUMAMOTO_CITY

    call, group = declared
    other = members.form_group(db, operator, "防災データ活用", KUMAMOTO_CITY, [KUMAMOTO_CITY, FUKUOKA_CO])
    comp.declare(db, REPRESENTATIVE, call.id, other.id, DOCS, now=EARLY)
    for g in (group, other):
        comp.submit_proposal(db, REPRESENTATIVE, call.id, g.id, comp.Upload("proposal", "p.pdf", FIRST), LINES,
                             4_000_000, now=EARLY)
    withdrawn = versions.withdraw_declaration(db, REPRESENTATIVE, call.id, group.id, now=EARLY)
    db.commit()
    assert withdrawn.withdrawn_at is not None
    assert db.scalar(sa.select(Proposal.withdrawn_at).where(Proposal.declaration_id == withdrawn.id)) is not None
    assert f"2025-DW{withdrawn.id:05d}】参加表明の取下げを受け付けました" in _receipts(db)[-1]
    with pytest.raises(Conflict) as again:
        comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    assert "参加表明を取り下げているため" in again.value.message_ja
    assign(db, operator, call.id, _reviewer(1))
    with pytest.raises(NotFound):
        rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [90, 60, 10, 10]))
    rv.score(db, _reviewer(1), call.id, "first", other.id, _marks(db, call.id, [50, 40, 10, 10]))
    assert [g.group_name for g in reviewing.desk(db, _reviewer(1), call.id).groups] == ["防災データ活用"]
    rv.close_stage(db, operator, call.id, "first")
    assert [r.group_name for r in rv.results(db, operator, call.id, "first")] == ["防災データ活用"]


def test_an_amendment_replaces_a_document_and_keeps_the_earlier_file(db, declared):
    call, group = declared
    new = comp.Upload("pledge", "誓約書（訂正）.pdf", pdf_of(2))
    [document] = versions.amend_declaration(db, REPRESENTATIVE, call.id, group.id, [new], now=EARLY)
    db.commit()
    pledges = list(db.scalars(sa.select(Document).where(Document.kind == "pledge").order_by(Document.id)))
    assert [(d.filename, d.replaced_at is None) for d in pledges] == [("pledge.pdf", False), ("誓約書（訂正）.pdf", True)]
    assert f"2025-DA{document.id:05d}】参加表明書類の差替えを受け付けました" in _receipts(db)[-1]
    [record] = _actions(db, "competition.declaration.amend")
    assert "pledge.pdf" in record.before and "誓約書（訂正）.pdf" in record.after


def test_a_reviewer_corrects_a_score_while_the_stage_is_open_and_not_after(db, operator, declared):
    call, group = declared
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", FIRST), LINES,
                         4_000_000, now=EARLY)
    assign(db, operator, call.id, _reviewer(1))
    rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    assign(db, operator, call.id, _reviewer(2))
    with pytest.raises(NotFound):  # a reviewer corrects only what they scored
        rv.correct_score(db, _reviewer(2), call.id, "first", group.id, _marks(db, call.id, [70, 60, 10, 10]))
    rows = rv.correct_score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [70, 60, 10, 10]))
    db.commit()
    earlier = list(db.scalars(sa.select(ScoreRevision)))
    assert [(r.points, r.replaced_by) for r in earlier] == [(80, "reviewer-1")]
    assert sorted(r.points for r in rows if r.passed is None) == [10, 10, 60, 70]
    [record] = _actions(db, "competition.score.correct")
    assert [m["points"] for m in json.loads(record.before)["marks"]] == [80]
    assert [m["points"] for m in json.loads(record.after)["marks"]] == [70]
    rv.close_stage(db, operator, call.id, "first")
    [result] = rv.results(db, operator, call.id, "first")
    assert result.totals == (150,)  # the ranking uses the corrected score
    with pytest.raises(Conflict) as closed:
        rv.correct_score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [100, 60, 10, 10]))
    assert "締め切られているため、採点を修正できません" in closed.value.message_ja
    assert [r.points for r in db.scalars(sa.select(ScoreRevision))] == [80]


def test_a_reviewer_tied_to_the_group_since_scoring_cannot_correct_the_score(db, operator, declared):
    call, group = declared
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", FIRST), LINES,
                         4_000_000, now=EARLY)
    assign(db, operator, call.id, _reviewer(1), _reviewer(2))
    for n in (1, 2):
        rv.score(db, _reviewer(n), call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    rv.declare_conflict(db, _reviewer(1), call.id, group.id, "構成員の役員を兼ねている")  # declared after scoring
    with pytest.raises(NotPermitted) as declared_refused:
        rv.correct_score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [70, 60, 10, 10]))
    assert "利害関係を申告しているため、採点できません" in declared_refused.value.message_ja
    # a conflict renkei finds (the reviewer's organisation, 熊本市, is a member of the group) is asked alike
    city = Actor(issuer="urn:test", subject="reviewer-city", name="熊本 市子", roles=frozenset({"municipal-staff"}),
                 tenant_codes=frozenset({"431001"}))
    assign(db, operator, call.id, city)
    with pytest.raises(NotPermitted) as found_refused:
        rv.correct_score(db, city, call.id, "first", group.id, _marks(db, call.id, [70, 60, 10, 10]))
    assert "所属団体がこの提案グループの構成員であるため（利害関係）" in found_refused.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(ScoreRevision)) == 0
    assert _actions(db, "competition.score.correct") == []


def test_the_representative_withdraws_the_proposal_from_the_page_after_confirming_and_resubmits(client, db, operator,
                                                                                                  group):
    import io

    from tests.competition.conftest import opened_now
    from tests.competition.test_pages import CSRF, _representative

    call = comp.create_call(db, operator, 2040)  # its deadlines ahead, opened an hour ago
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS)
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v1.pdf", FIRST), LINES, 4_000_000)
    db.commit()
    _representative(client)
    page = client.get("/admin/competition-entry/").get_data(as_text=True)
    assert "現在の企画提案書：第1版。" in page and "企画提案書・積算書を取り下げる" in page and "参加表明を取り下げる" in page
    withdraw = f"/admin/competition-entry/{call.id}/groups/{group.id}/proposal/withdraw"
    asked = client.post(withdraw, data={"csrf_token": CSRF})
    assert asked.status_code == 200 and "企画提案書を取り下げますか？" in asked.get_data(as_text=True)
    assert db.scalar(sa.select(Proposal.withdrawn_at)) is None  # nothing written before the confirmation
    done = client.post(withdraw, data={"csrf_token": CSRF, "confirmed": "1"}, follow_redirects=True)
    assert "企画提案書を取り下げました。受付の通知を送信しました。" in done.get_data(as_text=True)
    assert "企画提案書を再提出する" in done.get_data(as_text=True)
    first = db.scalar(sa.select(Proposal.id))
    assert f"2040-PW{first:05d}" in done.get_data(as_text=True)  # the withdrawal among what renkei received
    again = client.post(f"/admin/competition-entry/{call.id}/groups/{group.id}/proposal/resubmit", data={
        "csrf_token": CSRF, "proposal": (io.BytesIO(SECOND), "v2.pdf"), "item_1": "人件費", "amount_1": "3000000",
        "total_yen": "3000000"}, content_type="multipart/form-data", follow_redirects=True)
    assert "企画提案書を新しい版として再提出しました。" in again.get_data(as_text=True)
    assert "現在の企画提案書：第2版。" in again.get_data(as_text=True)
    assert "企画提案書・積算書の再提出" in again.get_data(as_text=True)
    from tests.conftest import sign_in

    sign_in(client, csrf=CSRF)  # the secretariat's page of the call shows the version reviewed
    listed = client.get(f"/admin/competition/{call.id}").get_data(as_text=True)
    assert "（第2版）" in listed
    assert [(p.version, p.withdrawn_at is None) for p in db.scalars(sa.select(Proposal).order_by(Proposal.version))] == [
        (1, False), (2, True)]


def test_a_reviewer_corrects_a_score_on_the_page_starting_from_the_saved_marks(client, db, operator, declared):
    from tests.competition.test_review_pages import CSRF, _reviewer_signs_in

    call, group = declared
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", FIRST), LINES,
                         4_000_000, now=EARLY)
    assign(db, operator, call.id, _reviewer(1))
    rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    db.commit()
    _reviewer_signs_in(client, 1)
    page = client.get(f"/admin/competition-review/{call.id}/groups/{group.id}").get_data(as_text=True)
    first = [c for c in comp.criteria(db, call.id) if c.kind.value == "score"][0]
    assert 'id="correct-form"' in page and f'name="points_{first.id}"' in page and 'value="80"' in page
    form = {"csrf_token": CSRF}
    for c in comp.criteria(db, call.id):
        if c.kind.value == "gate":
            form[f"passed_{c.id}"] = "yes"
        else:
            form[f"points_{c.id}"] = "101" if c.id == first.id else "10"
    refused = client.post(f"/admin/competition-review/{call.id}/groups/{group.id}/correct", data=form)
    assert refused.status_code == 422 and "0～100点で採点してください" in refused.get_data(as_text=True)
    form[f"points_{first.id}"] = "75"
    done = client.post(f"/admin/competition-review/{call.id}/groups/{group.id}/correct", data=form, follow_redirects=True)
    assert "採点を修正しました。修正前の値は記録に残ります。" in done.get_data(as_text=True)
    assert "75点（100点満点）" in done.get_data(as_text=True)
    assert 80 in [r.points for r in db.scalars(sa.select(ScoreRevision))]


@pytest.mark.skipif(not TEST_DATABASE_URL.startswith("postgresql"),
                    reason="PostgreSQL only (database roles); the PostgreSQL run checks this (CI runs both)")
def test_the_app_role_marks_versions_but_cannot_rewrite_or_remove_them(db, declared):
    """The application role may mark a version withdrawn or replaced (maintenance/db_roles.py), never change what a
    group submitted, remove it, or change a score's kept earlier value."""
    if sa.make_url(TEST_DATABASE_URL).username == sa.make_url(TEST_DATABASE_OWNER_URL).username:
        pytest.skip("no separate application role configured (RENKEI_TEST_DATABASE_OWNER_URL); CI sets one")
    call, group = declared
    row = comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v1.pdf", FIRST), LINES,
                               4_000_000, now=EARLY)
    db.commit()
    for statement in ("UPDATE competition_proposal SET pages = 1 WHERE id = :id",
                      "UPDATE competition_proposal SET estimate_total_yen = 1 WHERE id = :id",
                      "UPDATE competition_document SET content = 'x' WHERE id = (SELECT document_id FROM "
                      "competition_proposal WHERE id = :id)",
                      "DELETE FROM competition_proposal WHERE id = :id",
                      "UPDATE competition_score_revision SET points = 0 WHERE score_id = :id"):
        with pytest.raises(sa.exc.ProgrammingError, match="permission denied"):
            with db.get_bind().begin() as connection:
                connection.execute(sa.text(statement), {"id": row.id})
    db.expire_all()
    assert db.get(Proposal, row.id).pages == 2


def test_through_the_api_a_withdrawal_after_the_deadline_is_refused_in_words_and_a_resubmission_is_a_new_version(
        client, db, operator, group, as_operator):
    import base64

    from tests.competition.conftest import opened_now, proposals_closed

    call = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, call.id)
    opened_now(db, operator, call)
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS)
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "v1.pdf", FIRST), LINES, 4_000_000)
    db.commit()
    address = f"/api/v1/competition/calls/{call.id}/groups/{group.id}/proposal"
    again = client.post(address + "/resubmit", headers=as_operator, json={
        "proposal": {"filename": "v2.pdf", "content_base64": base64.b64encode(SECOND).decode()},
        "lines": [{"item": "人件費", "amount_yen": 3_000_000}], "total_yen": 3_000_000})
    assert again.status_code == 201, again.get_data(as_text=True)
    assert again.get_json()["proposal_version"] == 2 and again.get_json()["estimate_total_yen"] == 3_000_000
    proposals_closed(db, operator, call.id)
    late = client.post(address + "/withdraw", headers=as_operator)
    assert late.status_code == 409 and late.content_type == "application/problem+json"
    assert "企画提案書の変更の期限" in late.get_data(as_text=True) and "受け付けられません" in late.get_data(as_text=True)
    listed = client.get(f"/api/v1/competition/calls/{call.id}/declarations", headers=as_operator).get_json()
    assert [(d["proposal_version"], d["withdrawn_at"]) for d in listed["items"]] == [(2, None)]

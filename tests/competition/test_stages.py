"""A call's stages in order (issue 59 items 1 and 4): nothing is taken before the call opens, the schedule keeps
its order, the review starts only once proposals are closed, a group the first stage did not pass on takes no part
in the hearing (G5's case: failed the gate, scored in the hearing, ranked first), a call with nothing to review closes
with a reason and reopens, and a conflict is declared only for a group of the call."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from competition import operations as comp
from competition import review as rv
from competition import selection as sel
from competition.models import Call, CallStatus
from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotFound
from tests.competition.conftest import EARLY, REPRESENTATIVE, assign, opened_now, pdf_of
from tests.competition.test_review import DOCS, LINES, _marks, _reviewer
from tests.competition.test_selection import ISSUED, call, two_groups  # noqa: F401  (fixtures)

JST = dt.timezone(dt.timedelta(hours=9))


def _status(db, call_id: int) -> CallStatus:
    db.expire_all()
    return CallStatus(db.get(Call, call_id).status)


def test_nothing_is_taken_before_the_call_opens(db, operator, group):
    future = comp.create_call(db, operator, 2040)  # 公募開始 2040-03-24
    comp.publish_call(db, operator, future.id)
    db.commit()
    with pytest.raises(Conflict) as early:
        comp.declare(db, REPRESENTATIVE, future.id, group.id, DOCS)
    assert "公募開始（令和22年3月24日）より前のため、参加表明書の提出は受け付けられません" in early.value.message_ja
    with pytest.raises(Conflict):
        comp.ask(db, REPRESENTATIVE, future.id, "質問です。")
    opened_now(db, operator, future)
    assert comp.declare(db, REPRESENTATIVE, future.id, group.id, DOCS).id


def test_the_schedule_keeps_its_order(db, operator):
    made = comp.create_call(db, operator, 2040)
    with pytest.raises(Invalid) as refused:  # the proposal deadline before the declarations close
        comp.set_milestone(db, operator, made.id, "proposal_deadline", dt.datetime(2040, 4, 20, 12, tzinfo=JST))
    assert "「企画提案書提出期限」は「参加表明書提出期限」（令和22年4月25日 12:00）より前にできません" in refused.value.message_ja
    with pytest.raises(Invalid):  # the call opening after the briefing's applications close
        comp.set_milestone(db, operator, made.id, "call_opens", dt.datetime(2040, 3, 28, tzinfo=JST))
    moved = comp.set_milestone(db, operator, made.id, "proposal_deadline", dt.datetime(2040, 5, 1, 12, tzinfo=JST))
    assert moved.at == dt.datetime(2040, 5, 1, 3, tzinfo=dt.timezone.utc)


def test_the_review_starts_only_once_the_proposals_are_closed(db, operator, group):
    future = comp.create_call(db, operator, 2040)
    comp.publish_call(db, operator, future.id)
    opened_now(db, operator, future)
    comp.declare(db, REPRESENTATIVE, future.id, group.id, DOCS)
    comp.submit_proposal(db, REPRESENTATIVE, future.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)), LINES,
                         4_000_000)
    assign(db, operator, future.id, _reviewer(1))
    db.commit()
    with pytest.raises(Conflict) as early:
        rv.score(db, _reviewer(1), future.id, "first", group.id, _marks(db, future.id, [80, 60, 10, 10]))
    assert "企画提案書の提出期限（令和22年5月14日 12:00）までは審査を始められません" in early.value.message_ja
    with pytest.raises(Conflict):
        rv.close_stage(db, operator, future.id, "first")
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.Score)) == 0 and _status(db, future.id) is CallStatus.open


def test_a_group_the_first_stage_did_not_pass_on_takes_no_part_in_the_hearing(db, operator, call, two_groups):
    """G5's case: it failed the first stage's gate and was not sent on; its hearing score is refused and the
    final ranking holds only the groups sent on."""
    group, g5 = two_groups
    for n in (1, 2):
        rv.score(db, _reviewer(n), call.id, "first", group.id, _marks(db, call.id, [60, 40, 10, 10]))
        rv.score(db, _reviewer(n), call.id, "first", g5.id, _marks(db, call.id, [90, 70, 15, 15], passed=n == 1))
    assert _status(db, call.id) is CallStatus.first_review
    with pytest.raises(Conflict):  # no hearing before the first stage's selection
        rv.score(db, _reviewer(1), call.id, "second", group.id, _marks(db, call.id, [60, 40, 10, 10]))
    rv.close_stage(db, operator, call.id, "first")
    sel.select(db, operator, call.id, "first", [group.id], issued_on=ISSUED)
    assert _status(db, call.id) is CallStatus.hearing
    with pytest.raises(Conflict) as refused:
        rv.score(db, _reviewer(1), call.id, "second", g5.id, _marks(db, call.id, [100, 70, 15, 15]))
    assert "一次審査を通過していないため、二次審査の対象ではありません" in refused.value.message_ja
    for n in (1, 2):
        rv.score(db, _reviewer(n), call.id, "second", group.id, _marks(db, call.id, [50, 30, 10, 10]))
    rv.close_stage(db, operator, call.id, "second")
    ranked = rv.results(db, operator, call.id, "second")
    assert [(r.group_name, r.rank) for r in ranked] == [(group.name, 1)]
    sel.select(db, operator, call.id, "second", [group.id], issued_on=ISSUED)
    assert _status(db, call.id) is CallStatus.contracts
    moves = [(r.action, json.loads(r.after)["call_status"]["move"])
             for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.after.contains('"call_status"')).order_by(AuditRecord.id))]
    assert moves == [("competition.call.publish", "publish"), ("competition.score", "start_review"),
                     ("competition.select", "send_on"), ("competition.select", "select")]


def test_a_call_with_nothing_to_review_closes_with_a_reason_and_reopens(db, operator, call, group):
    with pytest.raises(Invalid) as refused:
        rv.close_stage(db, operator, call.id, "first")
    assert "審査する企画提案がありません" in refused.value.message_ja
    rv.close_stage(db, operator, call.id, "first", reason="応募がなかったため")
    assert _status(db, call.id) is CallStatus.closed and db.get(Call, call.id).closed_reason == "応募がなかったため"
    [closed] = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "competition.call.move"))
    assert json.loads(closed.after)["reason"] == "応募がなかったため"
    with pytest.raises(Conflict):  # closed: nothing is taken
        comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    with pytest.raises(Invalid):
        rv.reopen(db, operator, call.id, "")
    with pytest.raises(Invalid) as long:
        rv.reopen(db, operator, call.id, "理" * 501)
    assert "理由は 500 文字以内にしてください" in long.value.message_ja
    rv.reopen(db, operator, call.id, "公募期間を延長して再公募する")
    assert _status(db, call.id) is CallStatus.open
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.StageClosed)) == 0
    assert comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY).id
    with pytest.raises(Conflict):  # reopened only from closed
        rv.reopen(db, operator, call.id, "もう一度")


def test_a_conflict_is_declared_only_for_a_group_of_the_call(db, operator, call, two_groups, applied):
    from tenancy.members import operations as members
    from tests.competition.conftest import FUKUOKA_CO, KUMAMOTO_CITY

    outsider = members.form_group(db, operator, "参加していないグループ", KUMAMOTO_CITY, [KUMAMOTO_CITY, FUKUOKA_CO])
    with pytest.raises(NotFound) as refused:
        rv.declare_conflict(db, _reviewer(1), call.id, outsider.id, "知人がいる")
    assert "このグループはこの公募に参加表明していません" in refused.value.message_ja
    with pytest.raises(NotFound):
        rv.declare_conflict(db, _reviewer(1), call.id, 999_999, "")
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.ConflictOfInterest)) == 0

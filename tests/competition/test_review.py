"""The review (issue 41 item 4): only the call's reviewers score, a reviewer tied to a group cannot score it,
scores are sealed until the stage closes, and totals, averages and ranks equal an independent computation
on generated scores (Hypothesis)."""

from __future__ import annotations

import dataclasses
import functools
import json

import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from competition import operations as comp
from competition import review as rv
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotPermitted
from tests.competition.conftest import EARLY, REPRESENTATIVE, assign, pdf_of

DOCS = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]
LINES = [comp.Line("人件費", 4_000_000)]


def _reviewer(n: int) -> Actor:
    return Actor(issuer="urn:test", subject=f"reviewer-{n}", name=f"審査 {n}", roles=frozenset({"municipal-staff"}),
                 tenant_codes=frozenset({"430005"}))


def _marks(db, call_id: int, points: list[int], passed: bool = True) -> list[rv.Mark]:
    table = comp.criteria(db, call_id)
    scored = iter(points)
    return [rv.Mark(c.id, passed=passed if c.kind.value == "gate" else None,
                    points=0 if c.kind.value == "gate" else next(scored), comment=f"{c.title}について")
            for c in table]


@pytest.fixture
def proposed(db, operator, call, group):
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)), LINES,
                         4_000_000, now=EARLY)
    assign(db, operator, call.id, *(_reviewer(n) for n in (1, 2, 3)))
    db.commit()
    return call, group


def test_a_reviewer_tied_to_a_group_cannot_score_it_and_a_person_not_assigned_cannot_score(db, operator, proposed):
    call, group = proposed
    rv.declare_conflict(db, _reviewer(3), call.id, group.id, "構成員の役員を兼ねている")
    with pytest.raises(NotPermitted) as refused:
        rv.score(db, _reviewer(3), call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    assert "利害関係を申告しているため、採点できません" in refused.value.message_ja
    with pytest.raises(NotPermitted):
        rv.score(db, _reviewer(9), call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    with pytest.raises(NotPermitted):  # the operator is no reviewer of the call either
        rv.score(db, operator, call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.Score)) == 0


def test_scores_stay_within_each_maximum_and_are_sealed_until_the_stage_closes(db, operator, proposed):
    call, group = proposed
    with pytest.raises(Invalid) as refused:
        rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [101, 60, 10, 10]))
    assert "「デジタルの取組みとしての有用性」は0～100点で採点してください" in refused.value.message_ja
    rv.score(db, _reviewer(1), call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    rv.score(db, _reviewer(2), call.id, "first", group.id, _marks(db, call.id, [70, 50, 15, 14]))
    first = db.scalar(sa.select(rv.Reviewer.id).where(rv.Reviewer.subject == "reviewer-1"))
    assert {s.reviewer_id for s in rv.my_scores(db, _reviewer(1), call.id, "first")} == {first}  # only one's own
    with pytest.raises(Conflict) as sealed:
        rv.results(db, operator, call.id, "first")
    assert "締め切られるまで採点結果は開示されません" in sealed.value.message_ja
    rv.close_stage(db, operator, call.id, "first")
    with pytest.raises(Conflict):
        rv.score(db, _reviewer(3), call.id, "first", group.id, _marks(db, call.id, [1, 1, 1, 1]))
    [result] = rv.results(db, operator, call.id, "first")
    assert result.totals == (160, 149) and result.average == rv.Fraction(309, 2) and result.rank == 1
    record = db.scalars(sa.select(AuditRecord.after).where(AuditRecord.action == "competition.score")).first()
    assert json.loads(record)["marks"][1]["comment"] == "デジタルの取組みとしての有用性について"


# --- the independent computation: plain integers, a comparison by cross-multiplication -----------------------

MAXIMA = (100, 70, 15, 15)


@dataclasses.dataclass
class Sheet:
    order: int
    totals: list[int]
    firsts: list[int]
    failed: bool


def _compare(a: Sheet, b: Sheet) -> int:
    if a.failed != b.failed:
        return 1 if a.failed else -1
    for key in ("totals", "firsts"):  # the higher average first: x/n > y/m  ⇔  x·m > y·n
        x, y = sum(getattr(a, key)) * len(b.totals), sum(getattr(b, key)) * len(a.totals)
        if x != y:
            return -1 if x > y else 1
    return a.order - b.order


proposals = st.lists(st.lists(st.tuples(st.booleans(),
                                        *[st.integers(0, m) for m in MAXIMA]), min_size=1, max_size=4),
                     min_size=1, max_size=6)


@settings(max_examples=300, deadline=None)
@given(proposals)
def test_totals_averages_and_ranks_equal_an_independent_computation(generated):
    gate, criteria_ids = 1, (2, 3, 4, 5)
    entries, sheets = [], []
    for order, reviewers in enumerate(generated):
        marks = []
        for reviewer_id, (passed, *points) in enumerate(reviewers, start=1):
            marks.append(rv.Marked(reviewer_id, gate, passed, 0))
            marks += [rv.Marked(reviewer_id, c, None, p) for c, p in zip(criteria_ids, points)]
        entries.append(rv.Entry(order + 100, f"G{order}", tuple(marks)))
        sheets.append(Sheet(order, [sum(p) for _, *p in reviewers], [p[0] for _, *p in reviewers],
                            any(not passed for passed, *_ in reviewers)))
    results = rv.tally(2, entries)
    expected = sorted(sheets, key=functools.cmp_to_key(_compare))
    assert [r.declaration_id for r in results] == [s.order + 100 for s in expected]
    assert [r.rank for r in results] == list(range(1, len(sheets) + 1))
    for result, sheet in zip(results, expected):
        assert list(result.totals) == sheet.totals
        assert result.average * len(sheet.totals) == sum(sheet.totals)  # exact: no rounding anywhere
        assert result.gate_passed is not sheet.failed

"""The demo's sample council vote (協議会の議案のサンプル): the next year's draft budget put to the council,
its voting window open for two weeks, so that the operator and every municipal admin have a vote to
follow or cast on their home page. Through :func:`governance.council.propose` (audited); the budget is
named by its id (governance never reads billing). The title carries 「（サンプル）」.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from core.actor import Actor
from core.calendar import fiscal_year_ja
from core.db import utcnow
from governance import council
from governance.models import CouncilProposal
from governance.schemas import ProposalCreate

SAMPLE = "（サンプル）"


def propose_sample_budget(session: Session, actor: Actor, budget_id: int, fiscal_year: int) -> CouncilProposal:
    """Put the draft budget ``budget_id`` of ``fiscal_year`` to the council's vote, open for 14 days."""
    return council.propose(session, actor, ProposalCreate(
        title=f"{fiscal_year_ja(fiscal_year)}予算の議決{SAMPLE}", description="デモ用のサンプルの議案です。",
        change_type="adopt_budget", params={"budget_id": budget_id}, closes_at=utcnow() + dt.timedelta(days=14)))

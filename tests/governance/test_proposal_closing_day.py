"""A council proposal's voting closes at 17:00 Japan time of its closing day: a rule of the council
itself, so the API and the admin form agree (a date alone closes at 17:00 JST of that day)."""

import datetime as dt

import sqlalchemy as sa

from core.calendar import JST, today_jst
from governance.models import CouncilProposal


def stored_closing(db, proposal_id):
    db.expire_all()
    closes_at = db.get(CouncilProposal, proposal_id).closes_at
    return (closes_at if closes_at.tzinfo else closes_at.replace(tzinfo=dt.timezone.utc)).astimezone(JST)


def test_the_api_takes_a_closing_day_and_closes_the_vote_at_17_jst(client, db, as_operator, tenant_factory):
    tenant_factory("431001")
    db.commit()
    day = today_jst() + dt.timedelta(days=10)
    response = client.post("/api/v1/council/proposals", json={"title": "議案", "closes_at": day.isoformat()},
                           headers=as_operator)
    assert response.status_code == 201, response.get_json()
    closes_at = stored_closing(db, response.get_json()["id"])
    assert (closes_at.date(), closes_at.time()) == (day, dt.time(17, 0))
    assert dt.datetime.fromisoformat(response.get_json()["closes_at"]) == closes_at


def test_the_api_still_takes_a_full_moment_as_given(client, db, as_operator, tenant_factory):
    tenant_factory("431001")  # the council needs a member
    db.commit()
    moment = (dt.datetime.now(JST) + dt.timedelta(days=3)).replace(hour=10, minute=30, second=0, microsecond=0)
    response = client.post("/api/v1/council/proposals", json={"title": "議案", "closes_at": moment.isoformat()},
                           headers=as_operator)
    assert response.status_code == 201, response.get_json()
    assert stored_closing(db, response.get_json()["id"]) == moment


def test_a_moment_without_its_offset_is_still_refused(client, db, as_operator):
    moment = (dt.datetime.now(JST) + dt.timedelta(days=3)).replace(tzinfo=None)
    response = client.post("/api/v1/council/proposals", json={"title": "議案", "closes_at": moment.isoformat()},
                           headers=as_operator)
    assert response.status_code == 422
    assert db.scalar(sa.select(sa.func.count()).select_from(CouncilProposal)) == 0

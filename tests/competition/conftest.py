"""Fixtures of the competition tests: a published call of fiscal year 2025 and a project group of 熊本市
and a company in Fukuoka, its representative's person, and PDFs of a given number of pages."""

from __future__ import annotations

import datetime as dt
import functools

import pytest
import sqlalchemy as sa

from core.actor import Actor
from tests.members.conftest import applied  # noqa: F401

FUKUOKA_CO = "9000012050099"   # a company in Fukuoka
KUMAMOTO_CITY = "9000020431001"  # 熊本市 (431001), derived
REPRESENTATIVE = Actor(issuer="urn:test", subject="city-admin-1", name="熊本市 管理者",
                       roles=frozenset({"municipal-admin"}), tenant_codes=frozenset({"431001"}))
OTHER_ORG_ADMIN = Actor(issuer="urn:test", subject="org-admin-9", name="他社 管理者", roles=frozenset({"org-admin"}),
                        tenant_codes=frozenset({"8000012050001"}))
# before every deadline of the fiscal year 2025 call (公募開始 2025-03-24), in JST
EARLY = dt.datetime(2025, 3, 25, 10, tzinfo=dt.timezone(dt.timedelta(hours=9)))


def opened_now(db, operator, call) -> None:
    """A future year's call (its 公募開始 in March of that year) opened an hour ago, so that applicants act now."""
    from competition import operations as comp

    comp.set_milestone(db, operator, call.id, "call_opens", dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    db.commit()


def proposals_closed(db, operator, call_id: int, moment: dt.datetime | None = None) -> dt.datetime:
    """A call opened by :func:`opened_now` whose steps up to the proposal deadline are moved, in their order, to
    ``moment`` (half an hour ago): proposals are closed, so that its review may start. The moment, to the minute."""
    from competition import operations as comp

    moment = moment or dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0) - dt.timedelta(minutes=30)
    for step in comp.milestones(db, call_id)[1:]:
        comp.set_milestone(db, operator, call_id, step.key, moment)
        if step.key == "proposal_deadline":
            break
    db.commit()
    return moment


@functools.cache  # the same bytes every time: each size written once per process (test modules ask at import)
def pdf_of(pages: int) -> bytes:
    """A real PDF of ``pages`` pages, written by weasyprint (compressed object streams included)."""
    import weasyprint

    body = "".join(f'<p style="page-break-after: always">企画提案 {n}</p>' for n in range(1, pages + 1))
    return weasyprint.HTML(string=f"<html><body>{body}</body></html>").write_pdf()


@pytest.fixture
def call(db, operator):
    from competition import operations as comp

    made = comp.create_call(db, operator, 2025)
    comp.publish_call(db, operator, made.id)
    db.commit()
    return made


@pytest.fixture
def group(db, operator, applied, tenant_factory):
    from tenancy.members import operations as members
    from tenancy.members.models import MemberStatus, Organisation

    tenant_factory("431001")
    applied(FUKUOKA_CO, prefecture="福岡県", email="fukuoka@example.jp")
    db.scalar(sa.select(Organisation).where(Organisation.corporate_number == FUKUOKA_CO)).status = MemberStatus.approved
    formed = members.form_group(db, operator, "観光データ連携", KUMAMOTO_CITY, [KUMAMOTO_CITY, FUKUOKA_CO])
    db.commit()
    return formed


class Known:
    """The people these tests assign as reviewers, as the identity directory answers for them (``person``: the
    account by its id, NotFound for anyone else): a stand-in for the tests of scoring, selection and stages,
    whose subject is not identity. The directory itself, real Keycloak, is asked in test_reviewers.py."""

    def __init__(self, *actors: Actor) -> None:
        self.actors = {actor.subject: actor for actor in actors}

    def person(self, user_id: str):
        from core.errors import NotFound
        from tenancy.identity.keycloak import Account

        actor = self.actors.get(user_id)
        if actor is None:
            raise NotFound(f"No user {user_id}.", "この利用者はいません。")
        last, _, first = actor.name.partition(" ")
        return Account(id=actor.subject, username=actor.subject, email=f"{actor.subject}@example.jp", first_name=first,
                       last_name=last, enabled=True, roles=actor.roles, tenant_codes=actor.tenant_codes), ""


def assign(db, operator, call_id: int, *reviewers: Actor) -> None:
    """Make each of ``reviewers`` (known as :class:`Known` says) a reviewer of the call."""
    from competition import review

    for reviewer in reviewers:
        review.assign_reviewer(db, operator, Known(reviewer), call_id, reviewer.subject)

"""The reads of agreements and the council ask the authorization policy themselves: called
directly, with no web layer in between, someone who may not read governance is refused, and a
municipal user reads only their own tenant's standing."""

from __future__ import annotations

import datetime as dt

import pytest

from core.actor import Actor
from core.errors import NotPermitted
from governance import agreements, council
from governance.models import AgreementDocument, VoteChoice
from governance.schemas import ProposalCreate, VersionDraft

DOCUMENT = AgreementDocument.joint_use_agreement


def person(subject, *roles, tenants=()):
    return Actor(issuer="urn:test", subject=subject, name=subject, roles=frozenset(roles), tenant_codes=frozenset(tenants))


METERING_CLIENT = person("meter-1", "metering-client")
NOBODY = person("nobody-1")
ADMIN_WITHOUT_TENANT = person("admin-0", "municipal-admin")  # "own tenant" is nothing without a tenant
KUMAMOTO_ADMIN = person("kumamoto-admin", "municipal-admin", tenants=["431001"])
YATSUSHIRO_ADMIN = person("yatsushiro-admin", "municipal-admin", tenants=["432024"])


@pytest.fixture
def proceedings(db, operator, tenant_factory):
    """Kumamoto and Yatsushiro active; a required agreement version accepted by Kumamoto; an open proposal."""
    for code in ("431001", "432024"):
        tenant_factory(code)
    draft = VersionDraft(title="共同利用協定", body_md="第1条 この協定は…", effective_on=dt.date(2025, 4, 1), required=True)
    agreements.draft_version(db, operator, DOCUMENT, draft)
    agreements.publish_version(db, operator, DOCUMENT, 1)
    read = agreements.read_version(db, KUMAMOTO_ADMIN, DOCUMENT, 1)
    agreements.accept_version(db, KUMAMOTO_ADMIN, DOCUMENT, 1, read.content_hash)
    closes_at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=10)
    proposal = council.propose(db, operator, ProposalCreate(title="定例議案", closes_at=closes_at))
    db.commit()
    return proposal


READS = {
    "agreement versions": lambda db, actor, p: agreements.read_versions(db, actor, DOCUMENT),
    "one agreement version": lambda db, actor, p: agreements.read_version(db, actor, DOCUMENT, 1),
    "current version": lambda db, actor, p: agreements.current_version(db, actor, DOCUMENT),
    "required version": lambda db, actor, p: agreements.required_version(db, actor, DOCUMENT),
    "acceptances": lambda db, actor, p: agreements.acceptances(db, actor, "431001"),
    "tenant standing": lambda db, actor, p: agreements.tenant_agreements(db, actor, "431001"),
    "agreements board": lambda db, actor, p: agreements.board(db, actor),
    "council members": lambda db, actor, p: council.members(db, actor),
    "proposals": lambda db, actor, p: council.list_proposals(db, actor),
    "one proposal": lambda db, actor, p: council.get_proposal(db, actor, p.id),
    "ballots": lambda db, actor, p: council.ballots(db, actor, p),
    "resolution": lambda db, actor, p: council.resolution_of(db, actor, p.id),
    "electorate names": lambda db, actor, p: council.electorate_names(db, actor, p),
}


@pytest.mark.parametrize("reader", [METERING_CLIENT, NOBODY, ADMIN_WITHOUT_TENANT],
                         ids=["metering-client", "no-roles", "admin-of-no-tenant"])
@pytest.mark.parametrize("read", list(READS.values()), ids=list(READS))
def test_someone_who_may_not_read_governance_is_refused_every_read(db, proceedings, read, reader):
    with pytest.raises(NotPermitted):
        read(db, reader, proceedings)


@pytest.mark.parametrize("read", list(READS.values()), ids=list(READS))
def test_a_municipal_admin_reads_governance_of_their_own_tenant(db, proceedings, read):
    read(db, KUMAMOTO_ADMIN, proceedings)  # no refusal


def test_a_municipal_admin_may_not_read_another_tenants_standing_or_acceptances(db, proceedings):
    with pytest.raises(NotPermitted) as refusal:
        agreements.tenant_agreements(db, YATSUSHIRO_ADMIN, "431001")
    assert "431001" in refusal.value.message_ja
    with pytest.raises(NotPermitted):
        agreements.acceptances(db, YATSUSHIRO_ADMIN, "431001")
    own = agreements.tenant_agreements(db, YATSUSHIRO_ADMIN, "432024")
    assert own.tenant_code == "432024" and [d.state for d in own.documents] == ["pending"]
    assert agreements.acceptances(db, YATSUSHIRO_ADMIN, "432024") == []


def test_the_board_of_a_municipal_admin_lists_only_their_own_tenant(db, operator, proceedings):
    assert [row.tenant_code for row in agreements.board(db, YATSUSHIRO_ADMIN)] == ["432024"]
    assert [row.tenant_code for row in agreements.board(db, KUMAMOTO_ADMIN)] == ["431001"]
    assert [row.tenant_code for row in agreements.board(db, operator)] == ["431001", "432024"]
    auditor = person("auditor-1", "auditor")
    assert [row.tenant_code for row in agreements.board(db, auditor)] == ["431001", "432024"]


def test_while_voting_is_open_readers_see_who_voted_but_not_how(db, operator, proceedings):
    council.cast_vote(db, KUMAMOTO_ADMIN, proceedings.id, VoteChoice.against)
    council.cast_vote(db, YATSUSHIRO_ADMIN, proceedings.id, VoteChoice.for_)
    db.commit()
    open_ballots = council.ballots(db, operator, proceedings)
    assert sorted(b.tenant_code for b in open_ballots) == ["431001", "432024"]
    assert {b.choice for b in open_ballots} == {None}
    council.close_proposal(db, operator, proceedings.id)
    db.commit()
    closed = {b.tenant_code: b.choice for b in council.ballots(db, YATSUSHIRO_ADMIN, proceedings)}
    assert closed == {"431001": VoteChoice.against, "432024": VoteChoice.for_}

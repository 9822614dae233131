"""The council (協議会): proposals, one vote per member within the window, resolutions, and enactment of an
adopted change through the owning package's operation."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import acts_within
from core.audit import AuditRecord
from governance.models import CouncilProposal, CouncilResolution
from tests.governance.conftest import raw

UTC = dt.timezone.utc
MUNICIPALITIES = ("431001", "432024", "432032")


@pytest.fixture
def council_members(tenant_factory):
    """The prefecture and three active municipalities: four members."""
    tenant_factory("430005")
    for code in MUNICIPALITIES:
        tenant_factory(code)
    return ("430005", *MUNICIPALITIES)


@pytest.fixture
def voters(user_factory, council_members):
    """Headers of the person who votes for each member: its municipal admin; the prefecture's operator."""
    people = {code: user_factory(("municipal-admin",), code)[1] for code in MUNICIPALITIES}
    people["430005"] = user_factory(("platform-operator",), "430005")[1]
    return people


def in_days(days: float) -> str:
    return (dt.datetime.now(UTC) + dt.timedelta(days=days)).isoformat()


def propose(client, headers, **fields):
    body = {"title": "議案", "closes_at": in_days(7), **fields}
    response = client.post("/api/v1/council/proposals", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()["id"]


def vote(client, headers, proposal_id, choice, **extra):
    return client.post(f"/api/v1/council/proposals/{proposal_id}/votes", json={"choice": choice, **extra}, headers=headers)


def cast(client, voters, proposal_id, choices):
    for code, choice in choices.items():
        response = vote(client, voters[code], proposal_id, choice)
        assert response.status_code == 201, response.get_json()


def audit_count(db) -> int:
    db.expire_all()
    return db.scalar(sa.select(sa.func.count()).select_from(AuditRecord))


def actions(db) -> list[str]:
    db.expire_all()
    return [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.seq))]


# --- the done-when story: a cost policy adopted by vote is what the next allocation run uses -------

# billing's own acts are finance's; the council's enactment is the operator closing the vote
FINANCE_OFFICER = Actor(issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))
SECOND_OFFICER = Actor(issuer="urn:test", subject="finance-4", name="県 財政課長", roles=frozenset({"finance-officer"}))


def make_policy(db, actor, name, shares):
    from billing import allocation_policies
    from billing.schemas import PolicyCreate

    policy = allocation_policies.create_policy(db, actor, PolicyCreate(
        name=name, components=[{"basis": basis, "weight": weight} for basis, weight in shares]))
    db.commit()
    return policy


def test_an_adopted_policy_proposal_is_the_policy_the_next_allocation_run_uses(client, db, operator, as_operator, voters):
    from billing import allocation_policies, allocation_runs, operations as billing
    from billing.schemas import CostItemCreate

    current = make_policy(db, FINANCE_OFFICER, "均等割のみ", [("equal", "1")])
    allocation_policies.adopt_policy(db, SECOND_OFFICER, current.id)
    proposed = make_policy(db, FINANCE_OFFICER, "均等割50%・人口割50%", [("equal", "1/2"), ("population", "1/2")])
    db.commit()

    proposal_id = propose(client, as_operator, title="負担割合の見直し", change_type="adopt_allocation_policy",
                          params={"policy_id": proposed.id})
    detail = client.get(f"/api/v1/council/proposals/{proposal_id}", headers=as_operator).get_json()
    assert detail["threshold"] == "two_thirds" and sorted(detail["electorate"]) == sorted(voters)

    # 3 for, 1 against of 4 ballots: 3/4 is at least two thirds.
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for", "432032": "against", "430005": "for"})
    closed = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    assert closed.status_code == 200, closed.get_json()
    resolution = closed.get_json()
    assert resolution["adopted"] is True
    assert (resolution["votes_for"], resolution["votes_against"], resolution["votes_abstain"]) == (3, 1, 0)

    db.expire_all()
    adopted = allocation_policies.adopted_policy(db)
    assert adopted.id == proposed.id
    assert adopted.resolution_ref == resolution["ref"]
    assert resolution["enacted_ref"] == f"allocation_policy:{proposed.id}"

    fiscal_year = 2026
    billing.create_cost_item(db, FINANCE_OFFICER, CostItemCreate(fiscal_year=fiscal_year, name="クラウド利用料", category="run",
                                                          amount=1_200_000, tax_treatment="taxable_10"))
    run = allocation_runs.create_run(db, FINANCE_OFFICER, fiscal_year)
    assert run.policy_id == proposed.id

    # The council's decision is one audit record; the enacted change is a step inside it.
    closing = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "council.close")
                         .order_by(AuditRecord.seq.desc())).first()
    assert [action for action, _ in acts_within(closing)] == ["council.close", "billing.policy.adopt"]
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "billing.policy.adopt", AuditRecord.seq > closing.seq - 1)) == 0
    enacted = json.loads(closing.after)["steps"][0]
    assert resolution["ref"] in json.dumps(enacted["after"], ensure_ascii=False)


def test_a_rejected_policy_proposal_changes_nothing(client, db, operator, as_operator, voters):
    from billing import allocation_policies

    current = make_policy(db, FINANCE_OFFICER, "均等割のみ", [("equal", "1")])
    allocation_policies.adopt_policy(db, SECOND_OFFICER, current.id)
    proposed = make_policy(db, FINANCE_OFFICER, "人口割のみ", [("population", "1")])
    db.commit()
    proposal_id = propose(client, as_operator, change_type="adopt_allocation_policy", params={"policy_id": proposed.id})
    # 2 for, 1 against, 1 abstain: 2/4 is short of two thirds.
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for", "432032": "against", "430005": "abstain"})
    resolution = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).get_json()
    assert resolution["adopted"] is False and resolution["reason"] == "threshold_not_met"
    assert resolution["enacted_ref"] == ""
    db.expire_all()
    assert allocation_policies.adopted_policy(db).id == current.id
    assert allocation_policies.get_policy(db, proposed.id).resolution_ref is None
    closing = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "council.close")
                         .order_by(AuditRecord.seq.desc())).first()
    assert [action for action, _ in acts_within(closing)] == ["council.close"]  # nothing enacted inside it


# --- votes that cannot count: 409 with the reason, and no audit record ---------------------------

def test_a_vote_by_a_non_member_is_409_not_member(client, db, as_operator, voters, tenant_factory, user_factory):
    tenant_factory("432041", status="screening")  # applying, not yet a member
    outsider = user_factory(("municipal-admin",), "432041")[1]
    proposal_id = propose(client, as_operator)
    before = audit_count(db)
    response = vote(client, outsider, proposal_id, "for")
    assert response.status_code == 409
    body = response.get_json()
    assert body["details"]["reason"] == "not_member"
    assert "432041" in body["detail_ja"] and "構成員" in body["detail_ja"]
    assert audit_count(db) == before


def test_a_second_vote_by_the_same_member_is_409_already_voted(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    assert vote(client, voters["431001"], proposal_id, "for").status_code == 201
    before = audit_count(db)
    response = vote(client, voters["431001"], proposal_id, "against")
    assert response.status_code == 409
    assert response.get_json()["details"]["reason"] == "already_voted"
    assert "投票済み" in response.get_json()["detail_ja"]
    assert audit_count(db) == before
    votes = client.get(f"/api/v1/council/proposals/{proposal_id}", headers=as_operator).get_json()["voted"]
    assert votes == ["431001"]


def test_a_vote_after_the_window_is_409_window_closed(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    raw(db, "UPDATE council_proposal SET closes_at = :t WHERE id = :id",
        t=dt.datetime.now(UTC) - dt.timedelta(minutes=1), id=proposal_id)  # time passes
    before = audit_count(db)
    response = vote(client, voters["432024"], proposal_id, "for")
    assert response.status_code == 409
    assert response.get_json()["details"]["reason"] == "window_closed"
    assert "締め切られました" in response.get_json()["detail_ja"]
    assert audit_count(db) == before


def test_a_vote_before_the_window_opens_is_409(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator, opens_at=in_days(1), closes_at=in_days(8))
    response = vote(client, voters["432024"], proposal_id, "for")
    assert response.status_code == 409 and response.get_json()["details"]["reason"] == "not_open_yet"


def test_an_admin_cannot_vote_for_another_tenant(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    response = vote(client, voters["431001"], proposal_id, "for", tenant_code="432024")
    assert response.status_code == 403


def test_an_operator_outside_the_prefecture_tenant_cannot_vote(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    response = vote(client, as_operator, proposal_id, "for", tenant_code="430005")
    assert response.status_code == 403


def test_members_see_who_voted_but_not_how_until_the_vote_closes(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    cast(client, voters, proposal_id, {"431001": "against"})
    open_view = client.get(f"/api/v1/council/proposals/{proposal_id}", headers=voters["432024"]).get_json()
    assert open_view["voted"] == ["431001"] and "votes" not in open_view
    cast(client, voters, proposal_id, {"432024": "for", "432032": "for", "430005": "for"})
    client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    closed_view = client.get(f"/api/v1/council/proposals/{proposal_id}", headers=voters["432024"]).get_json()
    assert {v["tenant_code"]: v["choice"] for v in closed_view["votes"]}["431001"] == "against"


# --- closing: quorum, thresholds, the window ------------------------------------------------------

def test_closing_early_is_refused_until_every_member_has_voted(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for"})
    response = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    assert response.status_code == 409
    assert "2 of 4" in response.get_json()["detail_en"]
    assert db.scalar(sa.select(sa.func.count()).select_from(CouncilResolution)) == 0


def test_without_quorum_a_proposal_is_rejected(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for"})  # 2 of 4 is not more than half
    raw(db, "UPDATE council_proposal SET closes_at = :t WHERE id = :id", t=dt.datetime.now(UTC) - dt.timedelta(seconds=1),
        id=proposal_id)
    resolution = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).get_json()
    assert resolution["adopted"] is False and resolution["reason"] == "quorum_not_met"


def test_a_simple_majority_needs_more_than_half_of_the_ballots(client, db, as_operator, voters):
    tie = propose(client, as_operator, title="同数")
    cast(client, voters, tie, {"431001": "for", "432024": "for", "432032": "against", "430005": "against"})
    assert client.post(f"/api/v1/council/proposals/{tie}/close", headers=as_operator).get_json()["adopted"] is False
    carried = propose(client, as_operator, title="賛成多数")
    cast(client, voters, carried, {"431001": "for", "432024": "for", "432032": "for", "430005": "against"})
    resolution = client.post(f"/api/v1/council/proposals/{carried}/close", headers=as_operator).get_json()
    assert resolution["adopted"] is True
    assert resolution["number"] == 2 and resolution["label"].endswith("協議会議決第2号")


def test_a_configured_unanimity_threshold_is_applied(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator, threshold="unanimous")
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for", "432032": "for", "430005": "abstain"})
    resolution = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).get_json()
    assert resolution["adopted"] is False and resolution["reason"] == "threshold_not_met"


def test_closing_twice_is_409(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    cast(client, voters, proposal_id, {code: "for" for code in voters})
    assert client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).status_code == 200
    assert client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).status_code == 409


def test_a_municipal_admin_can_neither_propose_nor_close(client, db, as_operator, voters):
    assert client.post("/api/v1/council/proposals", json={"title": "x", "closes_at": in_days(3)},
                       headers=voters["431001"]).status_code == 403
    proposal_id = propose(client, as_operator)
    assert client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=voters["431001"]).status_code == 403


def test_a_proposal_for_a_policy_that_does_not_exist_is_refused_when_made(client, db, as_operator, voters):
    response = client.post("/api/v1/council/proposals", json={
        "title": "x", "closes_at": in_days(3), "change_type": "adopt_allocation_policy", "params": {"policy_id": 999}},
        headers=as_operator)
    assert response.status_code == 404
    assert db.scalar(sa.select(sa.func.count()).select_from(CouncilProposal)) == 0


def test_bad_proposal_input_is_422_naming_the_field(client, db, as_operator, voters):
    response = client.post("/api/v1/council/proposals", json={
        "title": "x", "closes_at": in_days(3), "change_type": "admit_municipality", "params": {"tenant_code": "431002"}},
        headers=as_operator)
    assert response.status_code == 422
    assert [e["field"] for e in response.get_json()["errors"]] == ["params.tenant_code"]
    past = client.post("/api/v1/council/proposals", json={"title": "x", "closes_at": in_days(-1)}, headers=as_operator)
    assert past.status_code == 422 and past.get_json()["errors"][0]["field"] == "closes_at"


def test_a_withdrawn_proposal_takes_no_more_votes(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    withdrawn = client.post(f"/api/v1/council/proposals/{proposal_id}/withdraw", json={"reason": "議案の差し替え"},
                            headers=as_operator)
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    response = vote(client, voters["431001"], proposal_id, "for")
    assert response.status_code == 409 and response.get_json()["details"]["reason"] == "proposal_closed"


# --- the other typed changes ----------------------------------------------------------------------

def test_admitting_a_municipality_approves_it_citing_the_resolution(client, db, operator, as_operator, voters, tenant_factory):
    from tenancy.onboarding import lifecycle
    from tenancy.registry.models import TenantTransition

    applicant = tenant_factory("432041", status="screening",
                               contacts=[{"name": "人吉 太郎", "email": "taro@example.jp", "role": "admin"}])
    for entry in lifecycle.SCREENING_ITEMS:
        lifecycle.check_item(db, operator, "432041", lifecycle.SCREENING, entry.key)
    db.commit()
    proposal_id = propose(client, as_operator, title="人吉市の参加", change_type="admit_municipality",
                          params={"tenant_code": "432041"})
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for", "432032": "abstain", "430005": "for"})
    resolution = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    assert resolution.status_code == 200, resolution.get_json()
    db.expire_all()
    assert db.get(type(applicant), applicant.id).status.value == "approved"
    last = db.scalars(sa.select(TenantTransition).where(TenantTransition.tenant_id == applicant.id)
                      .order_by(TenantTransition.id.desc()).limit(1)).one()
    assert resolution.get_json()["ref"] in last.reason


def test_a_change_that_cannot_be_enacted_refuses_the_close_and_records_nothing(client, db, operator, as_operator, voters,
                                                                                tenant_factory):
    tenant_factory("432041", status="screening",
                   contacts=[{"name": "人吉 太郎", "email": "taro@example.jp", "role": "admin"}])
    proposal_id = propose(client, as_operator, change_type="admit_municipality", params={"tenant_code": "432041"})
    cast(client, voters, proposal_id, {code: "for" for code in voters})
    before = audit_count(db)
    response = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    assert response.status_code == 409
    assert "可決されましたが" in response.get_json()["detail_ja"]  # the screening checklist is not done
    assert audit_count(db) == before
    db.expire_all()
    assert db.get(CouncilProposal, proposal_id).status.value == "open"


def test_changing_a_quota_plan_by_vote(client, db, as_operator, voters):
    from usage import quotas

    change = {"name_ja": "小規模団体プラン", "limits": [{"metric": "api_calls", "limit": 50000}]}
    proposal_id = propose(client, as_operator, change_type="change_quota_plan",
                          params={"plan_code": "small", "change": change})
    cast(client, voters, proposal_id, {"431001": "for", "432024": "for", "432032": "for"})
    raw(db, "UPDATE council_proposal SET closes_at = :t WHERE id = :id", t=dt.datetime.now(UTC) - dt.timedelta(seconds=1),
        id=proposal_id)
    resolution = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).get_json()
    assert resolution["adopted"] is True and resolution["enacted_ref"] == "quota_plan:small"
    db.expire_all()
    plan = quotas.get_plan(db, "small")
    assert {row.metric: row.limit for row in plan.limits} == {"api_calls": 50000}
    assert plan.resolution_ref == resolution["ref"]  # the enacted change refers to its resolution


def test_the_app_installs_an_enactor_for_every_typed_change(app):
    from governance import council
    from governance.models import ChangeType

    assert set(council.installed_change_types()) == set(ChangeType)


def test_a_typed_change_without_an_installed_enactor_cannot_be_proposed(client, db, as_operator, voters, monkeypatch):
    from governance import council
    from governance.models import ChangeType

    monkeypatch.delitem(council._ENACTORS, ChangeType.change_quota_plan)
    response = client.post("/api/v1/council/proposals", json={
        "title": "x", "closes_at": in_days(3), "change_type": "change_quota_plan",
        "params": {"plan_code": "small", "change": {"name_ja": "小規模"}}}, headers=as_operator)
    assert response.status_code == 409
    assert "change_quota_plan" in response.get_json()["detail_en"]


def test_a_member_suspended_after_the_proposal_cannot_vote(client, db, as_operator, voters, operator):
    from tenancy.registry.history import record_transition
    from tenancy.registry.models import TenantStatus
    from tenancy.registry.operations import get_tenant

    proposal_id = propose(client, as_operator)
    record_transition(db, operator, get_tenant(db, "432032"), TenantStatus.suspended, "テスト")
    db.commit()
    response = vote(client, voters["432032"], proposal_id, "for")
    assert response.status_code == 409 and response.get_json()["details"]["reason"] == "not_member"


def test_a_voting_window_without_a_timezone_is_refused(client, as_operator, voters):
    response = client.post("/api/v1/council/proposals", json={"title": "議案", "closes_at": "2030-07-01T17:00"},
                           headers=as_operator)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "closes_at"


def test_a_quota_change_with_a_number_sent_as_text_is_refused(client, db, as_operator):
    """A proposal's quota change is typed as strictly as any body: "50000" is not a limit."""
    response = client.post("/api/v1/council/proposals", json={
        "title": "上限の変更", "closes_at": in_days(3), "change_type": "change_quota_plan",
        "params": {"plan_code": "small", "change": {"limits": [{"metric": "api_calls", "limit": "50000"}]}}},
        headers=as_operator)
    assert response.status_code == 422
    assert any(p["field"].startswith("params.change.limits") for p in response.get_json()["errors"])


def test_a_closed_or_withdrawn_proposal_moves_no_more_409_in_words(client, db, as_operator, voters):
    """The proposal's lifecycle table: open is the only status anything moves from."""
    proposal_id = propose(client, as_operator)
    withdrawn = client.post(f"/api/v1/council/proposals/{proposal_id}/withdraw", json={"reason": "再検討"},
                            headers=as_operator)
    assert withdrawn.status_code == 200, withdrawn.get_json()
    before = audit_count(db)
    again = client.post(f"/api/v1/council/proposals/{proposal_id}/withdraw", json={"reason": "再検討"}, headers=as_operator)
    assert again.status_code == 409
    assert again.get_json()["detail_ja"] == f"議案 第{proposal_id}号は締切済みのため、取り下げできません。"
    assert again.get_json()["details"] == {"proposal": proposal_id, "status": "withdrawn", "move": "withdraw"}
    closing = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    assert closing.status_code == 409
    assert closing.get_json()["detail_ja"] == f"議案 第{proposal_id}号はすでに締め切られています。"
    assert audit_count(db) == before
    assert db.get(CouncilProposal, proposal_id).status == "withdrawn"


def test_closing_while_the_window_is_open_and_votes_are_missing_is_refused_by_the_guard(client, db, as_operator, voters):
    proposal_id = propose(client, as_operator)
    refused = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator)
    assert refused.status_code == 409
    assert "まで投票受付中です" in refused.get_json()["detail_ja"]
    assert refused.get_json()["details"]["cast"] == 0 and refused.get_json()["details"]["status"] == "open"
    assert db.get(CouncilProposal, proposal_id).status == "open"

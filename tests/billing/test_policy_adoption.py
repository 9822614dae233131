"""Adopting an allocation policy takes two people (issue 26, item 7): a finance officer other than
the one who drafted it, or the council, by a resolution picked from its resolutions (never typed).
The same rule in the operation, the API, the admin form and the command line; every adoption's audit
record names the drafter and the second officer or the resolution."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from billing import allocation_policies, allocation_runs, operations
from billing.ledger_errors import FourEyesRefused, InvalidBillingData
from billing.models import AllocationPolicy, PolicyStatus
from core.actor import console_actor
from core.audit import AuditRecord
from core.calendar import fiscal_year_of, today_jst
from governance.models import ChangeType, CouncilResolution
from tests.conftest import sign_in

from .conftest import adopter, colleague, policy_data

UTC = dt.timezone.utc
POLICY = {"name": "共同利用負担金の按分", "prefecture_share": "1/2",
          "components": [{"basis": "equal", "weight": "1/2"}, {"basis": "population", "weight": "1/2"}]}


@pytest.fixture
def members(tenant_factory):
    """熊本市 and 八代市, the council's two members, and who votes for each (their municipal admins)."""
    from tests.governance.test_governance_read_permissions import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN

    for code in ("431001", "432024"):
        tenant_factory(code)
    return (KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN)


def decide(db, operator, members, title: str, *, adopted: bool = True, decided_at: dt.datetime | None = None,
           change_type: ChangeType = ChangeType.free_text, params: dict | None = None) -> CouncilResolution:
    """A proposal both members vote on (for, or against), closed: the council's numbered resolution."""
    from governance import council
    from governance.models import VoteChoice
    from governance.schemas import ProposalCreate

    proposal = council.propose(db, operator, ProposalCreate(
        title=title, change_type=change_type, params=params or {},
        closes_at=dt.datetime.now(UTC) + dt.timedelta(days=10)))
    for member in members:
        council.cast_vote(db, member, proposal.id, VoteChoice.for_ if adopted else VoteChoice.against)
    resolution = council.close_proposal(db, operator, proposal.id, now=decided_at)
    db.commit()
    return resolution


def adoptions(db) -> list[AuditRecord]:
    db.expire_all()
    return list(db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "billing.policy.adopt")
                           .order_by(AuditRecord.seq)))


def status(db, policy_id: int) -> PolicyStatus:
    db.expire_all()
    return PolicyStatus(db.get(AllocationPolicy, policy_id).status)


# --- the rule, in the operation ------------------------------------------------------------------

def test_the_drafter_alone_is_refused_and_a_second_officer_adopts(db, finance):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    with pytest.raises(FourEyesRefused) as refused:
        allocation_policies.adopt_policy(db, finance, policy.id)
    assert "ひとりでは採用できません" in refused.value.message_ja and "four eyes" in refused.value.message_en
    db.rollback()
    assert status(db, policy.id) == PolicyStatus.draft and adoptions(db) == []

    allocation_policies.adopt_policy(db, adopter(), policy.id)
    db.commit()
    assert status(db, policy.id) == PolicyStatus.adopted
    [record] = adoptions(db)
    after = json.loads(record.after)
    assert (record.actor_subject, record.actor_name) == (adopter().subject, "県 財政課長")
    assert (after["by"], after["second_officer"], after["drafted_by"]) == ("second_finance_officer", "県 財政課長", "県 財政担当")
    assert after["resolution_ref"] is None


def test_the_drafter_adopts_on_a_picked_adopted_resolution_and_the_record_names_it(db, finance, operator, members):
    resolution = decide(db, operator, members, "共同利用負担金の按分方式の採用について")
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    [picked] = allocation_policies.resolution_choices(db, finance, [policy])[policy.id]
    assert (picked.id, picked.title) == (resolution.id, "共同利用負担金の按分方式の採用について")

    allocation_policies.adopt_policy(db, finance, policy.id, resolution.id)
    db.commit()
    assert status(db, policy.id) == PolicyStatus.adopted
    adopted = db.get(AllocationPolicy, policy.id)
    assert adopted.resolution_ref == resolution.ref
    assert allocation_policies.resolution_text(db, adopted.resolution_ref) == \
        f"{resolution.label_ja}（共同利用負担金の按分方式の採用について）"
    [record] = adoptions(db)
    after = json.loads(record.after)
    assert record.actor_subject == finance.subject and after["by"] == "council_resolution"
    assert after["resolution"]["id"] == resolution.id and after["resolution"]["label"] == resolution.label_ja
    assert re.fullmatch(r"令和\d+年度 協議会議決第\d+号", after["resolution"]["label"])
    # the resolution now says what carried it out: it adopts this policy and no other
    db.expire_all()
    assert db.get(CouncilResolution, resolution.id).enacted_ref == f"allocation_policy:{policy.id}"


def test_a_rejected_another_years_used_or_unknown_resolution_is_refused(db, finance, operator, members):
    rejected = decide(db, operator, members, "否決された議案", adopted=False)
    last_year = decide(db, operator, members, "前年度の議決", decided_at=dt.datetime.now(UTC) - dt.timedelta(days=400))
    used = decide(db, operator, members, "別の按分方式の採用")
    spare = decide(db, operator, members, "按分方式の採用について")
    first = allocation_policies.create_policy(db, finance, policy_data(name="先の按分方式"))
    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, finance, first.id, used.id)  # the resolution carried out another adoption
    db.commit()
    # the picker offers only the adopted resolution of this year that carried out nothing else
    assert [choice.id for choice in allocation_policies.resolution_choices(db, finance, [policy])[policy.id]] == [spare.id]

    for resolution_id, words in ((rejected.id, "否決"), (last_year.id, "別の年度"), (used.id, "別の事項"),
                                 (4242, "見つかりません")):
        with pytest.raises(InvalidBillingData) as refused:
            allocation_policies.adopt_policy(db, finance, policy.id, resolution_id)
        assert words in refused.value.message_ja, (resolution_id, refused.value.message_ja)
        assert [problem["field"] for problem in refused.value.problems] == ["resolution_id"]
        db.rollback()
    with pytest.raises(TypeError):  # a typed reference is no resolution
        allocation_policies.adopt_policy(db, finance, policy.id, "令和7年度第2回協議会 議案第3号")
    db.rollback()
    assert status(db, policy.id) == PolicyStatus.draft
    assert [record.target_id for record in adoptions(db)] == [str(first.id)]


def test_a_typed_council_change_stands_only_for_its_own_policy(db, finance, operator, members):
    """A resolution on another typed matter (a municipality's admission) is no ground for a policy."""
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    other = decide(db, operator, members, "利用上限プランの変更", change_type=ChangeType.change_quota_plan,
                   params={"plan_code": "small", "change": {"name_ja": "小規模"}})
    with pytest.raises(InvalidBillingData) as refused:
        allocation_policies.adopt_policy(db, finance, policy.id, other.id)
    assert "別の事項" in refused.value.message_ja


# --- the API ------------------------------------------------------------------------------------

@pytest.mark.keycloak
def test_over_the_api_the_drafter_is_refused_with_a_problem_and_a_picked_resolution_or_a_second_officer_adopts(
        client, db, user_factory, operator, members):
    drafter_account, as_drafter = user_factory(("finance-officer",), fresh=True)
    second_account, as_second = user_factory(("finance-officer",), fresh=True)
    policy = client.post("/api/v1/billing/policies", json=POLICY, headers=as_drafter).get_json()

    alone = client.post(f"/api/v1/billing/policies/{policy['id']}/adopt", json={}, headers=as_drafter)
    assert alone.status_code == 403 and alone.content_type == "application/problem+json"
    body = alone.get_json()
    assert "ひとりでは採用できません" in body["detail_ja"] and "four eyes" in body["detail_en"]
    assert [error["field"] for error in body["errors"]] == ["resolution_id"]
    # a reference typed as text is not accepted any more
    typed = client.post(f"/api/v1/billing/policies/{policy['id']}/adopt", headers=as_drafter,
                        json={"resolution_ref": "令和7年度第2回協議会 議案第3号"})
    assert typed.status_code == 422 and typed.content_type == "application/problem+json"
    assert "resolution_ref" in [error["field"] for error in typed.get_json()["errors"]]

    good = decide(db, operator, members, "按分方式の採用について")
    rejected = decide(db, operator, members, "否決された議案", adopted=False)
    old = decide(db, operator, members, "前年度の議決", decided_at=dt.datetime.now(UTC) - dt.timedelta(days=400))
    listed = client.get(f"/api/v1/billing/policies/{policy['id']}/resolutions", headers=as_drafter)
    assert listed.status_code == 200
    [choice] = listed.get_json()["items"]
    assert (choice["id"], choice["number"], choice["title"], choice["label_ja"]) == (
        good.id, good.number, "按分方式の採用について", good.label_ja)
    for resolution_id in (rejected.id, old.id, 4242):
        response = client.post(f"/api/v1/billing/policies/{policy['id']}/adopt", json={"resolution_id": resolution_id},
                               headers=as_drafter)
        assert response.status_code == 422, response.get_json()
        assert response.content_type == "application/problem+json"
        assert response.get_json()["detail_ja"] and response.get_json()["detail_en"]
        assert [error["field"] for error in response.get_json()["errors"]] == ["resolution_id"]
    assert adoptions(db) == []

    adopted = client.post(f"/api/v1/billing/policies/{policy['id']}/adopt", json={"resolution_id": good.id},
                          headers=as_drafter)
    assert adopted.status_code == 200, adopted.get_json()
    assert (adopted.get_json()["status"], adopted.get_json()["resolution_ref"]) == ("adopted", good.ref)

    # the next version: a second finance officer adopts it without a resolution
    again = client.post("/api/v1/billing/policies", json=POLICY, headers=as_drafter).get_json()
    second = client.post(f"/api/v1/billing/policies/{again['id']}/adopt", json={}, headers=as_second)
    assert second.status_code == 200, second.get_json()
    by_resolution, by_second = adoptions(db)
    assert by_resolution.actor_subject == drafter_account.id
    assert json.loads(by_resolution.after)["resolution"]["label"] == good.label_ja
    assert by_second.actor_subject == second_account.id
    assert json.loads(by_second.after)["by"] == "second_finance_officer"


# --- the admin form ------------------------------------------------------------------------------

def csrf(page: str) -> str:
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


def field_error(page: str, name: str) -> str:
    assert re.search(rf'id="{name}"[^>]*aria-invalid="true"', page), name
    match = re.search(rf'<div id="{name}-error"[^>]*>(.*?)</div>', page, re.S)
    assert match, f"no problem beside {name}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def test_the_form_picks_a_resolution_in_japanese_and_a_refused_pick_comes_back_beside_the_picker(
        client, db, finance, operator, members):
    first = allocation_policies.create_policy(db, finance, policy_data(name="先の按分方式"))
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    good = decide(db, operator, members, "按分方式の採用について")
    old = decide(db, operator, members, "前年度の議決", decided_at=dt.datetime.now(UTC) - dt.timedelta(days=400))
    sign_in(client, ["finance-officer"], subject=finance.subject, name=finance.name)  # who drafted both
    page = client.get("/admin/billing/policies/").get_data(as_text=True)
    token = csrf(page)
    picker = re.search(rf'<select id="resolution_id-{policy.id}".*?</select>', page, re.S).group(0)
    options = [re.sub(r"\s+", " ", text).strip() for text in re.findall(r"<option[^>]*>(.*?)</option>", picker, re.S)]
    assert options[0].startswith("議決なし")
    # the number, the title and the day, in Japanese; last year's resolution is not offered
    assert len(options) == 2 and re.fullmatch(
        r"令和\d+年度 協議会議決第\d+号「按分方式の採用について」（\d{4}/\d{2}/\d{2} 議決）", options[1]), options
    assert "前年度の議決" not in page

    # the first policy adopted on the resolution; the second page still offers it (a stale pick)
    form = {"csrf_token": token, "resolution_id": str(good.id)}
    assert 'name="confirmed"' in client.post(f"/admin/billing/policies/{first.id}/adopt", data=form).get_data(as_text=True)
    client.post(f"/admin/billing/policies/{first.id}/adopt", data={**form, "confirmed": "1"})
    assert status(db, first.id) == PolicyStatus.adopted

    for picked, words in ((good.id, "別の事項"), (old.id, "別の年度")):
        refused = client.post(f"/admin/billing/policies/{policy.id}/adopt",
                              data={"csrf_token": token, "resolution_id": str(picked), "confirmed": "1"})
        assert refused.status_code == 422
        page = refused.get_data(as_text=True)
        assert words in field_error(page, f"resolution_id-{policy.id}")
        picker = re.search(rf'<select id="resolution_id-{policy.id}".*?</select>', page, re.S).group(0)
        assert re.search(rf'<option value="{picked}" selected>', picker), "what was picked is shown picked"
    assert status(db, policy.id) == PolicyStatus.draft

    # English too
    refused = client.post(f"/admin/billing/policies/{policy.id}/adopt?lang=en",
                          data={"csrf_token": token, "resolution_id": ""})
    assert refused.status_code == 422
    assert "cannot adopt it alone" in field_error(refused.get_data(as_text=True), f"resolution_id-{policy.id}")


# --- the command line ----------------------------------------------------------------------------

def test_the_command_line_refuses_the_drafter_alone_and_adopts_for_a_second_officer_or_on_a_resolution(
        app, db, operator, members):
    drafter = console_actor("yamada.taro", ["finance-officer"])
    first = allocation_policies.create_policy(db, drafter, policy_data(name="先の按分方式"))
    policy = allocation_policies.create_policy(db, drafter, policy_data())
    db.commit()
    good = decide(db, operator, members, "按分方式の採用について")
    runner = app.test_cli_runner()

    alone = runner.invoke(args=["billing", "adopt", str(policy.id), "--as", "yamada.taro"])
    assert alone.exit_code == 1 and "ひとりでは採用できません" in alone.output
    assert status(db, policy.id) == PolicyStatus.draft and adoptions(db) == []

    listed = runner.invoke(args=["billing", "resolutions", str(first.id), "--as", "yamada.taro"])
    assert listed.exit_code == 0 and f"{good.id}\t{good.label_ja}「按分方式の採用について」" in listed.output
    resolved = runner.invoke(args=["billing", "adopt", str(first.id), "--resolution", str(good.id), "--as", "yamada.taro"])
    assert resolved.exit_code == 0, resolved.output
    assert good.label_ja in resolved.output

    second = runner.invoke(args=["billing", "adopt", str(policy.id), "--as", "suzuki.hanako"])
    assert second.exit_code == 0, second.output
    assert status(db, policy.id) == PolicyStatus.adopted and status(db, first.id) == PolicyStatus.superseded
    by_resolution, by_second = adoptions(db)
    assert (by_resolution.actor_subject, json.loads(by_resolution.after)["resolution"]["id"]) == ("yamada.taro", good.id)
    assert (by_second.actor_subject, json.loads(by_second.after)["second_officer"]) == ("suzuki.hanako", "suzuki.hanako")


def test_a_statement_names_the_resolution_the_policy_was_adopted_on(db, finance, operator, tenant_factory):
    """The statement's 議決 row reads as people cite it (number and title), not as a reference code."""
    from billing import statements

    from .conftest import cost_data
    from tests.governance.test_governance_read_permissions import KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN

    tenant_factory("430005")
    for code in ("431001", "432024"):
        tenant_factory(code)
    prefecture_operator = console_actor("pref-operator", ["platform-operator"], ["430005"])
    resolution = decide(db, operator, (KUMAMOTO_ADMIN, YATSUSHIRO_ADMIN, prefecture_operator), "按分方式の採用について")
    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, finance, policy.id, resolution.id)
    year = fiscal_year_of(today_jst())
    operations.create_cost_item(db, finance, cost_data(fiscal_year=year, amount=1_200_000))
    run = allocation_runs.create_run(db, finance, year)
    allocation_runs.review_run(db, colleague(2), run.id)
    allocation_runs.approve_run(db, colleague(3), run.id)
    db.commit()
    statement = statements.build_statement(db, finance, "431001", year)
    assert statement.resolution_ref == f"{resolution.label_ja}（按分方式の採用について）"


# --- a one-person office (RENKEI_FOUR_EYES off) ----------------------------------------------------

@pytest.fixture
def one_person_office(app, monkeypatch):
    """The office's setting off: one finance officer adopts what they drafted, as they approve runs."""
    from admin.config import four_eyes

    monkeypatch.setitem(app.config, "RENKEI_FOUR_EYES", False)
    assert four_eyes(app.config) is False


def test_without_four_eyes_the_drafter_adopts_alone_and_the_record_says_one_person_did(db, finance):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    allocation_policies.adopt_policy(db, finance, policy.id, four_eyes=False)
    db.commit()
    assert status(db, policy.id) == PolicyStatus.adopted
    [record] = adoptions(db)
    after = json.loads(record.after)
    assert (record.actor_subject, after["by"], after["single_person_office"]) == (finance.subject, "single_finance_officer", True)
    assert after["drafted_by"] == after["adopted_by"] == "県 財政担当" and "second_officer" not in after
    # a second officer in such an office is still recorded as a second officer
    again = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, adopter(), again.id, four_eyes=False)
    db.commit()
    assert json.loads(adoptions(db)[-1].after)["by"] == "second_finance_officer"


def test_the_audit_log_says_in_words_who_stood_for_each_adoption(client, db, finance):
    from tests.governance.test_audit_in_words import words_csv

    policy = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, finance, policy.id, four_eyes=False)
    again = allocation_policies.create_policy(db, finance, policy_data())
    allocation_policies.adopt_policy(db, adopter(), again.id)
    db.commit()
    sign_in(client, ["auditor"])
    adopted = [row[9] for row in words_csv(client)[1:] if row[5] == "負担割合方式の採用"]
    assert len(adopted) == 2
    alone = next(text for text in adopted if "一人体制" in text)
    assert "採用の根拠：一人体制の財政担当者による採用" in alone and "一人体制の例外：はい" in alone
    assert any("採用の根拠：別の財政担当者による採用" in text for text in adopted)
    assert not any("finance_officer" in text for text in adopted)


@pytest.mark.keycloak
def test_over_the_api_the_office_setting_decides_whether_the_drafter_adopts_alone(
        app, client, db, user_factory, monkeypatch):
    drafter_account, as_drafter = user_factory(("finance-officer",), fresh=True)
    policy = client.post("/api/v1/billing/policies", json=POLICY, headers=as_drafter).get_json()
    refused = client.post(f"/api/v1/billing/policies/{policy['id']}/adopt", json={}, headers=as_drafter)
    assert refused.status_code == 403 and "four eyes" in refused.get_json()["detail_en"]  # the default: on

    monkeypatch.setitem(app.config, "RENKEI_FOUR_EYES", False)
    adopted = client.post(f"/api/v1/billing/policies/{policy['id']}/adopt", json={}, headers=as_drafter)
    assert adopted.status_code == 200, adopted.get_json()
    assert adopted.get_json()["status"] == "adopted" and adopted.get_json()["resolution_ref"] is None
    [record] = adoptions(db)
    assert record.actor_subject == drafter_account.id
    assert json.loads(record.after)["by"] == "single_finance_officer"


def test_in_a_one_person_office_the_form_says_so_and_the_drafter_adopts_after_confirming(
        client, db, finance, one_person_office):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    sign_in(client, ["finance-officer"], subject=finance.subject, name=finance.name)  # who drafted it
    page = client.get("/admin/billing/policies/").get_data(as_text=True)
    picker = re.search(rf'<select id="resolution_id-{policy.id}".*?</select>', page, re.S).group(0)
    assert re.sub(r"\s+", " ", re.findall(r"<option[^>]*>(.*?)</option>", picker, re.S)[0]).strip() == \
        "議決なし（一人体制の財政担当者として採用する）"
    assert "おひとりで採用でき" in page and "ご自身で採用するには" not in page
    form = {"csrf_token": csrf(page), "resolution_id": ""}
    asked = client.post(f"/admin/billing/policies/{policy.id}/adopt", data=form)
    assert asked.status_code == 200 and 'name="confirmed"' in asked.get_data(as_text=True)
    assert status(db, policy.id) == PolicyStatus.draft
    client.post(f"/admin/billing/policies/{policy.id}/adopt", data={**form, "confirmed": "1"})
    assert status(db, policy.id) == PolicyStatus.adopted
    [record] = adoptions(db)
    assert (record.actor_subject, json.loads(record.after)["by"]) == (finance.subject, "single_finance_officer")


def test_with_four_eyes_on_the_form_refuses_the_drafter_alone_beside_the_picker(client, db, finance):
    policy = allocation_policies.create_policy(db, finance, policy_data())
    db.commit()
    sign_in(client, ["finance-officer"], subject=finance.subject, name=finance.name)
    page = client.get("/admin/billing/policies/").get_data(as_text=True)
    assert "ご自身で採用するには" in page and "おひとりで採用でき" not in page
    refused = client.post(f"/admin/billing/policies/{policy.id}/adopt",
                          data={"csrf_token": csrf(page), "resolution_id": "", "confirmed": "1"})
    assert refused.status_code == 422
    assert "ひとりでは採用できません" in field_error(refused.get_data(as_text=True), f"resolution_id-{policy.id}")
    assert status(db, policy.id) == PolicyStatus.draft and adoptions(db) == []


def test_the_command_line_follows_the_office_setting(app, db, monkeypatch):
    drafter = console_actor("yamada.taro", ["finance-officer"])
    policy = allocation_policies.create_policy(db, drafter, policy_data())
    db.commit()
    runner = app.test_cli_runner()
    alone = runner.invoke(args=["billing", "adopt", str(policy.id), "--as", "yamada.taro"])
    assert alone.exit_code == 1 and "ひとりでは採用できません" in alone.output
    monkeypatch.setitem(app.config, "RENKEI_FOUR_EYES", False)
    adopted = runner.invoke(args=["billing", "adopt", str(policy.id), "--as", "yamada.taro"])
    assert adopted.exit_code == 0, adopted.output
    assert status(db, policy.id) == PolicyStatus.adopted
    assert json.loads(adoptions(db)[0].after)["by"] == "single_finance_officer"

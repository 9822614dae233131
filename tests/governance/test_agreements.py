"""Agreements: versions with a content hash, acceptance by a tenant's municipal admin, the activation guard,
and the re-acceptance window a new required version opens for active tenants."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import pytest
import sqlalchemy as sa

from governance.models import AgreementAcceptance
from core.audit import AuditRecord
from core.calendar import JST
from core.outbox import Notification
from tests.governance.conftest import raw

TEXT = "# 熊本県エリアデータ連携基盤 共同利用協定\n\n第1条（目的）この協定は…\n"
CONTACT = [{"name": "八代 花子", "email": "hanako@example.jp", "role": "admin"}]


def draft(client, headers, document="joint_use_agreement", **fields):
    body = {"title": "共同利用協定", "body_md": TEXT, "effective_on": "2025-04-01", **fields}
    response = client.post(f"/api/v1/agreements/{document}/versions", json=body, headers=headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def publish(client, headers, number, document="joint_use_agreement", days=30):
    response = client.post(f"/api/v1/agreements/{document}/versions/{number}/publish", json={"reacceptance_days": days},
                           headers=headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def accept(client, headers, number, content_hash, document="joint_use_agreement", **extra):
    return client.post(f"/api/v1/agreements/{document}/versions/{number}/acceptances",
                       json={"content_hash": content_hash, **extra}, headers=headers)


def expected_hash(document, number, title, effective_on, body):
    # The recipe in docs/governance.md, computed independently of the code under test.
    text = json.dumps({"body_md": body, "document": document, "effective_on": effective_on, "number": number,
                       "title": title}, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def today_jst() -> dt.date:
    return dt.datetime.now(JST).date()


def test_a_version_has_the_hash_of_its_text_and_crlf_does_not_change_it(client, db, as_operator):
    first = draft(client, as_operator)
    assert first["number"] == 1 and first["status"] == "draft"
    assert first["content_hash"] == expected_hash("joint_use_agreement", 1, "共同利用協定", "2025-04-01", TEXT)
    second = draft(client, as_operator, body_md=TEXT.replace("\n", "\r\n"))
    assert second["number"] == 2
    assert second["content_hash"] == expected_hash("joint_use_agreement", 2, "共同利用協定", "2025-04-01", TEXT)


def test_a_municipal_admin_accepts_the_published_version_with_the_hash_they_read(client, db, as_operator, tenant_factory,
                                                                                 user_factory):
    tenant_factory("431001")
    account, admin = user_factory(("municipal-admin",), "431001")
    version = draft(client, as_operator)
    publish(client, as_operator, 1)
    shown = client.get("/api/v1/agreements/joint_use_agreement/versions/1", headers=admin).get_json()
    assert shown["body_md"] == TEXT
    response = accept(client, admin, 1, shown["content_hash"])
    assert response.status_code == 201, response.get_json()
    row = db.scalars(sa.select(AgreementAcceptance)).one()
    assert (row.tenant_code, row.version_number, row.content_hash) == ("431001", 1, version["content_hash"])
    assert row.actor_subject == account.id
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "agreement.accept")).one()
    assert record.tenant_code == "431001" and record.actor_role == "municipal-admin"
    assert version["content_hash"] in record.after
    again = accept(client, admin, 1, shown["content_hash"])
    assert again.status_code == 409 and "同意済み" in again.get_json()["detail_ja"]


@pytest.mark.parametrize("case", ["wrong_hash", "draft", "superseded"])
def test_acceptance_that_would_prove_nothing_is_refused(client, db, as_operator, tenant_factory, user_factory, case):
    tenant_factory("431001")
    admin = user_factory(("municipal-admin",), "431001")[1]
    v1 = draft(client, as_operator)
    publish(client, as_operator, 1)
    number, content_hash = 1, v1["content_hash"]
    if case == "wrong_hash":
        content_hash = "0" * 64
    elif case == "draft":
        number, content_hash = 2, draft(client, as_operator, title="共同利用協定（改定案）")["content_hash"]
    else:
        draft(client, as_operator, title="共同利用協定（第2版）")
        publish(client, as_operator, 2)
    response = accept(client, admin, number, content_hash)
    assert response.status_code == 409
    assert response.get_json()["details"]["reason"] == {"wrong_hash": "hash_mismatch", "draft": "draft",
                                                         "superseded": "superseded"}[case]
    assert db.scalar(sa.select(sa.func.count()).select_from(AgreementAcceptance)) == 0


def test_only_the_tenants_own_admin_accepts(client, db, as_operator, tenant_factory, user_factory):
    tenant_factory("431001")
    tenant_factory("432024")
    other_admin = user_factory(("municipal-admin",), "432024")[1]
    v1 = draft(client, as_operator)
    publish(client, as_operator, 1)
    assert accept(client, other_admin, 1, v1["content_hash"], tenant_code="431001").status_code == 403
    assert accept(client, as_operator, 1, v1["content_hash"], tenant_code="431001").status_code == 403


def test_drafts_are_hidden_from_municipal_admins(client, db, as_operator, tenant_factory, user_factory):
    tenant_factory("431001")
    admin = user_factory(("municipal-admin",), "431001")[1]
    draft(client, as_operator)
    assert client.get("/api/v1/agreements/joint_use_agreement/versions", headers=admin).get_json()["items"] == []
    assert client.get("/api/v1/agreements/joint_use_agreement/versions/1", headers=admin).status_code == 404
    assert client.post("/api/v1/agreements/joint_use_agreement/versions",
                       json={"title": "x", "body_md": "x", "effective_on": "2025-04-01"}, headers=admin).status_code == 403


# --- activation is refused until the required version is accepted ---------------------------------

def provisioned(db, tenant_factory, code):
    from tenancy.onboarding.saga import STEPS
    from tenancy.onboarding.models import ProvisioningStep

    tenant = tenant_factory(code, status="provisioning", contacts=CONTACT)
    for step in STEPS:
        db.add(ProvisioningStep(tenant_id=tenant.id, step=step.name, status="done"))
    db.commit()
    return tenant


def test_activation_is_refused_until_the_required_version_is_accepted(client, db, as_operator, tenant_factory,
                                                                      user_factory):
    provisioned(db, tenant_factory, "432024")
    admin = user_factory(("municipal-admin",), "432024")[1]
    v1 = draft(client, as_operator)
    publish(client, as_operator, 1)
    draft(client, as_operator, document="operating_rules", title="運用規約", required=False)
    publish(client, as_operator, 1, document="operating_rules")  # not required: does not block

    refused = client.post("/api/v1/tenants/432024/activate", json={}, headers=as_operator)
    assert refused.status_code == 409
    assert [e["field"] for e in refused.get_json()["errors"]] == ["agreements.joint_use_agreement"]
    assert "共同利用協定 第1版" in refused.get_json()["errors"][0]["message_ja"]

    assert accept(client, admin, 1, v1["content_hash"]).status_code == 201
    activated = client.post("/api/v1/tenants/432024/activate", json={}, headers=as_operator)
    assert activated.status_code == 200, activated.get_json()


def test_without_any_required_version_activation_is_not_blocked_by_agreements(client, db, as_operator, tenant_factory):
    provisioned(db, tenant_factory, "432024")
    response = client.post("/api/v1/tenants/432024/activate", json={}, headers=as_operator)
    assert response.status_code == 200, response.get_json()


# --- a new required version: re-acceptance window, deadline, the board ------------------------------

def test_a_new_required_version_puts_active_tenants_into_re_acceptance_with_a_deadline(client, db, as_operator,
                                                                                        tenant_factory, user_factory):
    tenant_factory("430005")
    for code in ("431001", "432024"):
        tenant_factory(code, contacts=CONTACT)
    tenant_factory("432032", status="screening")
    kumamoto = user_factory(("municipal-admin",), "431001")[1]
    v1 = draft(client, as_operator)
    publish(client, as_operator, 1)
    assert accept(client, kumamoto, 1, v1["content_hash"]).status_code == 201

    draft(client, as_operator, title="共同利用協定（令和8年改定）", effective_on="2026-04-01")
    published = publish(client, as_operator, 2, days=45)
    deadline = (today_jst() + dt.timedelta(days=45)).isoformat()
    assert published["deadline_on"] == deadline

    board = client.get("/api/v1/agreements/board", headers=as_operator).get_json()
    rows = {row["tenant_code"]: row for row in board["items"]}
    assert "430005" not in rows  # the prefecture offers the agreement
    assert rows["431001"]["in_reacceptance"] and rows["431001"]["earliest_deadline"] == deadline
    kumamoto_doc = rows["431001"]["documents"][0]
    assert (kumamoto_doc["accepted_number"], kumamoto_doc["required_number"], kumamoto_doc["deadline_on"],
            kumamoto_doc["state"]) == (1, 2, deadline, "pending")
    assert rows["432024"]["documents"][0]["accepted_number"] is None and rows["432024"]["in_reacceptance"]
    assert rows["432032"]["documents"][0]["deadline_on"] is None  # not active: the activation guard applies instead
    assert not any(row["overdue"] for row in rows.values())

    queued = db.scalars(sa.select(Notification).where(Notification.kind == "agreement.reacceptance",
                                                      Notification.subject.contains("第2版"))).all()
    assert sorted(n.tenant_code for n in queued) == ["431001", "432024"]
    assert all(f"{today_jst() + dt.timedelta(days=45):%Y/%m/%d}" in n.body for n in queued)

    raw(db, "UPDATE agreement_version SET deadline_on = :d WHERE number = 2",
        d=today_jst() - dt.timedelta(days=1))  # the window has passed
    board = client.get("/api/v1/agreements/board?overdue_only=true", headers=as_operator).get_json()
    assert [row["tenant_code"] for row in board["items"]] == ["431001", "432024"]
    assert board["items"][0]["documents"][0]["state"] == "overdue"

    v2 = client.get("/api/v1/agreements/joint_use_agreement/versions/2", headers=kumamoto).get_json()
    assert accept(client, kumamoto, 2, v2["content_hash"]).status_code == 201
    mine = client.get("/api/v1/tenants/431001/agreements", headers=kumamoto).get_json()
    assert mine["documents"][0]["state"] == "ok" and not mine["overdue"]
    assert [a["number"] for a in mine["acceptances"]] == [1, 2]


def test_a_municipal_admin_sees_only_their_own_tenant_on_the_board(client, db, as_operator, tenant_factory, user_factory):
    for code in ("431001", "432024"):
        tenant_factory(code)
    admin = user_factory(("municipal-admin",), "431001")[1]
    draft(client, as_operator)
    publish(client, as_operator, 1)
    board = client.get("/api/v1/agreements/board", headers=admin).get_json()
    assert [row["tenant_code"] for row in board["items"]] == ["431001"]
    assert client.get("/api/v1/tenants/432024/agreements", headers=admin).status_code == 403


def test_versions_are_published_in_order(client, db, as_operator):
    draft(client, as_operator)
    draft(client, as_operator, title="第2版")
    publish(client, as_operator, 2)
    response = client.post("/api/v1/agreements/joint_use_agreement/versions/1/publish", json={}, headers=as_operator)
    assert response.status_code == 409
    again = client.post("/api/v1/agreements/joint_use_agreement/versions/2/publish", json={}, headers=as_operator)
    assert again.status_code == 409 and "公開済み" in again.get_json()["detail_ja"]


def test_publishing_through_the_council_cites_the_resolution(client, db, as_operator, tenant_factory, user_factory):
    tenant_factory("430005")
    for code in ("431001", "432024"):
        tenant_factory(code)
    voters = {code: user_factory(("municipal-admin",), code)[1] for code in ("431001", "432024")}
    voters["430005"] = user_factory(("platform-operator",), "430005")[1]
    draft(client, as_operator, document="data_handling_rules", title="データ取扱規程")
    proposal = client.post("/api/v1/council/proposals", json={
        "title": "データ取扱規程の制定", "change_type": "publish_agreement_version",
        "closes_at": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)).isoformat(),
        "params": {"document": "data_handling_rules", "number": 1, "reacceptance_days": 60}}, headers=as_operator)
    assert proposal.status_code == 201, proposal.get_json()
    proposal_id = proposal.get_json()["id"]
    for headers in voters.values():
        assert client.post(f"/api/v1/council/proposals/{proposal_id}/votes", json={"choice": "for"},
                           headers=headers).status_code == 201
    resolution = client.post(f"/api/v1/council/proposals/{proposal_id}/close", headers=as_operator).get_json()
    version = client.get("/api/v1/agreements/data_handling_rules/versions/1", headers=as_operator).get_json()
    assert version["status"] == "published" and version["resolution_id"] == resolution["id"]
    assert version["deadline_on"] == (today_jst() + dt.timedelta(days=60)).isoformat()
    assert resolution["enacted_ref"] == "agreement_version:data_handling_rules/1"


def test_provisioning_with_an_agreement_in_force_waits_for_acceptance_instead_of_failing(client, db, as_operator,
                                                                                       tenant_factory, user_factory):
    from core.actor import console_actor
    from usage.quota_plans import load_default_plans

    load_default_plans(db, console_actor("test", {"platform-operator"}))
    tenant_factory("434426", status="approved", contacts=CONTACT)
    db.commit()
    v1 = draft(client, as_operator)
    publish(client, as_operator, 1)
    provisioned_ = client.post("/api/v1/tenants/434426/provision", json={}, headers=as_operator)
    assert provisioned_.status_code == 200, provisioned_.get_json()  # every step done: not an error
    assert provisioned_.get_json()["status"] == "provisioning"
    admin = user_factory(("municipal-admin",), "434426", fresh=True)[1]
    assert accept(client, admin, 1, v1["content_hash"]).status_code == 201
    activated = client.post("/api/v1/tenants/434426/activate", json={}, headers=as_operator)
    assert activated.status_code == 200 and activated.get_json()["status"] == "active"


def test_resuming_a_suspended_member_is_not_held_up_by_a_version_published_meanwhile(client, db, as_operator,
                                                                                    tenant_factory):
    tenant_factory("434426", status="suspended", contacts=CONTACT)
    draft(client, as_operator)
    publish(client, as_operator, 1)
    resumed = client.post("/api/v1/tenants/434426/resume", json={"reason": "再開"}, headers=as_operator)
    assert resumed.status_code == 200, resumed.get_json()


def test_with_the_app_wired_approval_still_needs_the_signed_agreement_on_the_checklist(app, db, operator, tenant_factory):
    from tenancy.onboarding import lifecycle

    tenant_factory("434426", status="screening", contacts=CONTACT)
    for item in ("application_received", "eligibility_confirmed", "no_antisocial_ties"):
        lifecycle.check_item(db, operator, "434426", "screening", item)
    with pytest.raises(lifecycle.GuardRefused) as refused:
        lifecycle.approve(db, operator, "434426")
    assert [p["field"] for p in refused.value.problems] == ["checklist.screening.agreements_accepted"]


def test_a_published_version_is_not_published_again_nor_an_older_one_after_it(client, db, as_operator):
    """The agreement version's lifecycle: draft ──publish──▶ published, once; the guard keeps versions in order."""
    draft(client, as_operator)
    draft(client, as_operator)
    publish(client, as_operator, 2)
    again = client.post("/api/v1/agreements/joint_use_agreement/versions/2/publish", json={"reacceptance_days": 30},
                        headers=as_operator)
    assert again.status_code == 409
    assert again.get_json()["detail_en"] == ("Version 2 of joint_use_agreement is already published; "
                                             "publish a new version to change it.")
    older = client.post("/api/v1/agreements/joint_use_agreement/versions/1/publish", json={"reacceptance_days": 30},
                        headers=as_operator)
    assert older.status_code == 409
    assert "第2版が公開済みのため、第1版は公開できません" in older.get_json()["detail_ja"]
    assert older.get_json()["details"]["move"] == "publish"

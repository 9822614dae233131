"""The yearly account review (issue 57 item 6): 熊本市's April review flags an account unused for 90 days, the
admin disables it and hands the admin role to a colleague, attests the review, and the operator sees it done.
Keycloak is a small fake here (the rules are renkei's); one test at the end goes through the real directory."""

from __future__ import annotations

import dataclasses
import json
import datetime as dt
import os
import uuid

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Conflict, Invalid, NotPermitted
from service import account_reviews as reviews
from service.models import SignInEvent
from tenancy.identity.keycloak import Account

KUMAMOTO = "431001"
NOW = dt.datetime(2026, 4, 10, 3, 0, tzinfo=dt.timezone.utc)
FY = 2026
OPERATOR_ACTOR = Actor("urn:test", "operator-1", "県 運営者", frozenset({"platform-operator"}))
ADMIN = Actor("urn:test", "admin-kumamoto", "熊本 管理者", frozenset({"municipal-admin"}), frozenset({KUMAMOTO}))


class Directory:
    """A tenant's people as Keycloak holds them, changed as the identity operations ask."""

    sends_mail = False

    def __init__(self, *accounts: Account) -> None:
        self.people = {a.id: a for a in accounts}

    def tenant_members(self, code):
        return [a for a in self.people.values() if code in a.tenant_codes]

    def account(self, user_id):
        return self.people[user_id]

    def set_enabled(self, user_id, enabled):
        self.people[user_id] = dataclasses.replace(self.people[user_id], enabled=enabled)

    def set_roles(self, user_id, roles, manageable):
        kept = self.people[user_id].roles - set(manageable)
        self.people[user_id] = dataclasses.replace(self.people[user_id], roles=frozenset(kept | set(roles)))

    def enabled_role_holders(self, role):
        return [a.id for a in self.people.values() if role in a.roles and a.enabled]


def person(user_id, *roles, code=KUMAMOTO):
    return Account(user_id, user_id, f"{user_id}@example.jp", "太郎", user_id, True, frozenset(roles), frozenset({code}))


def signed_in(db, user_id, at):
    db.add(SignInEvent(event_id=uuid.uuid4().hex, at=at, day=at.date(), client_id="renkei-admin", user_id=user_id))
    db.flush()


@pytest.fixture
def kumamoto(db, tenant_factory):
    tenant_factory(KUMAMOTO)
    directory = Directory(person("admin-kumamoto", "municipal-admin"), person("leaver", "municipal-admin"),
                          person("colleague", "municipal-staff"), person("never", "municipal-staff"))
    signed_in(db, "admin-kumamoto", NOW - dt.timedelta(days=1))
    signed_in(db, "leaver", NOW - dt.timedelta(days=200))
    signed_in(db, "leaver", NOW - dt.timedelta(days=120))  # the newer of the two is the last sign-in
    signed_in(db, "colleague", NOW - dt.timedelta(days=89))
    return directory


def listed(db, directory, days=90):
    review, found = reviews.rows(db, ADMIN, directory, KUMAMOTO, FY, days, NOW)
    return review, {row.account.id: row for row in found}


def test_the_april_review_flags_accounts_unused_for_the_chosen_days_and_shows_none_as_unrecorded(db, kumamoto,
                                                                                                   operator):
    reviews.start_for_all(db, operator, FY)
    review, found = listed(db, kumamoto)
    assert review is not None and review.attested_at is None
    assert found["leaver"].last_sign_in.replace(tzinfo=dt.timezone.utc) == NOW - dt.timedelta(days=120)
    assert found["never"].last_sign_in is None  # 未記録 on the page: no date at all
    assert {uid for uid, row in found.items() if row.unused} == {"leaver", "never"}
    _, found = listed(db, kumamoto, days=60)
    assert found["colleague"].unused and not found["admin-kumamoto"].unused
    with pytest.raises(Invalid) as refused:
        reviews.unused_days("９０日")
    assert refused.value.problems[0]["field"] == "days"
    assert reviews.unused_days("") == 90


def test_the_admin_disables_the_unused_hands_the_admin_role_over_attests_and_the_operator_sees_it_done(
        db, kumamoto, operator):
    reviews.start_review(db, ADMIN, KUMAMOTO, FY)
    with pytest.raises(Conflict):  # two unused accounts still undecided
        reviews.attest(db, ADMIN, kumamoto, KUMAMOTO, FY, now=NOW)
    reviews.decide(db, ADMIN, kumamoto, KUMAMOTO, FY, "never", reviews.DISABLED)
    assert kumamoto.people["never"].enabled is False
    reviews.decide(db, ADMIN, kumamoto, KUMAMOTO, FY, "leaver", reviews.HANDED_OVER, successor_id="colleague")
    assert "municipal-admin" in kumamoto.people["colleague"].roles
    assert "municipal-admin" not in kumamoto.people["leaver"].roles
    reviews.attest(db, ADMIN, kumamoto, KUMAMOTO, FY, now=NOW)
    standing = {s.code: s for s in reviews.overview(db, operator, FY)}
    assert standing[KUMAMOTO].done and standing[KUMAMOTO].review.attested_by == ADMIN.recorded_name
    with pytest.raises(Conflict):  # attested: closed
        reviews.decide(db, ADMIN, kumamoto, KUMAMOTO, FY, "colleague", reviews.KEPT)
    actions = [r.action for r in db.scalars(sa.select(AuditRecord).order_by(AuditRecord.id))]
    assert actions.count("account_review.decide") == 2 and "user.disable" in actions and "user.roles" in actions
    assert actions[-1] == "account_review.attest"
    decided = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "account_review.decide")).all()
    assert json.loads(decided[-1].after)["successor"] == "colleague"


def test_a_handover_needs_an_enabled_colleague_of_the_tenant_and_an_admin_to_hand_over(db, kumamoto):
    kumamoto.people["stranger"] = person("stranger", "municipal-staff", code="432024")
    reviews.start_review(db, ADMIN, KUMAMOTO, FY)
    for user_id, successor in (("leaver", "stranger"), ("leaver", "leaver"), ("leaver", ""), ("colleague", "never")):
        with pytest.raises(Invalid):
            reviews.decide(db, ADMIN, kumamoto, KUMAMOTO, FY, user_id, reviews.HANDED_OVER, successor_id=successor)
    assert "municipal-admin" in kumamoto.people["leaver"].roles


def test_another_municipalitys_admin_and_the_operator_cannot_decide_for_kumamoto(db, kumamoto, operator):
    reviews.start_review(db, ADMIN, KUMAMOTO, FY)
    other = Actor("urn:test", "admin-yatsushiro", "", frozenset({"municipal-admin"}), frozenset({"432024"}))
    for actor in (other, operator):
        with pytest.raises(NotPermitted):
            reviews.decide(db, actor, kumamoto, KUMAMOTO, FY, "never", reviews.DISABLED)
    with pytest.raises(NotPermitted):
        reviews.start_for_all(db, ADMIN, FY)
    assert kumamoto.people["never"].enabled


@pytest.mark.keycloak
def test_the_review_disables_and_hands_over_through_keycloak(db, tenant_factory, user_factory, directory):
    code = "435139"  # no other test module's tenant: its people are changed in Keycloak here
    tenant_factory(code)
    admin, _ = user_factory(("municipal-admin",), code, fresh=True)
    leaver, _ = user_factory(("municipal-admin",), code, fresh=True)
    colleague, _ = user_factory(("municipal-staff",), code, fresh=True)
    unused, _ = user_factory(("municipal-staff",), code, fresh=True)
    actor = Actor("urn:test", admin.id, "管理者", frozenset({"municipal-admin"}), frozenset({code}))
    signed_in(db, admin.id, NOW)
    reviews.start_review(db, actor, code, FY)
    _, found = reviews.rows(db, actor, directory, code, FY, 90, NOW)
    assert {row.account.id for row in found if row.unused} >= {leaver.id, colleague.id, unused.id}
    assert admin.id not in {row.account.id for row in found if row.unused}
    reviews.decide(db, actor, directory, code, FY, unused.id, reviews.DISABLED)
    reviews.decide(db, actor, directory, code, FY, leaver.id, reviews.HANDED_OVER, successor_id=colleague.id)
    reviews.decide(db, actor, directory, code, FY, colleague.id, reviews.KEPT)
    reviews.attest(db, actor, directory, code, FY, now=NOW)
    assert directory.account(unused.id).enabled is False
    assert "municipal-admin" in directory.account(colleague.id).roles
    assert "municipal-admin" not in directory.account(leaver.id).roles
    assert next(s for s in reviews.overview(db, OPERATOR_ACTOR, FY) if s.code == code).done

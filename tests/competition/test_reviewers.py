"""Reviewers who are who they say (issue 59 item 3), against real Keycloak: a reviewer is an account the identity
directory holds, recorded with its name and the member organisations it is tied to; an unknown account is refused in
words (problem+json in Japanese and English on the API, beside the people found on the page); and a reviewer whose
organisation is a member of a group applying in the call is kept out of that group's review, as a declared conflict
keeps them out, without anyone declaring anything."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from competition import operations as comp
from competition import review as rv
from competition import reviewing
from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Invalid, NotPermitted
from tenancy.identity import people_index
from tests.competition.conftest import EARLY, KUMAMOTO_CITY, REPRESENTATIVE, pdf_of
from tests.competition.test_review import _marks
from tests.conftest import sign_in

pytestmark = pytest.mark.keycloak

CSRF = "reviewers-csrf"
DOCS = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]


def _account(directory, family: str, given: str, tenant: str | None) -> tuple[str, str]:
    """A real account (in ``tenant``'s group, if any): its id and username."""
    username = f"shinsa-{uuid.uuid4().hex[:8]}"
    user_id = directory.create_user(username, f"{username}@example.jp", given, family, password="Reviewer-password-1")
    if tenant:
        directory.ensure_tenant_group(tenant)
        directory.add_to_tenant(user_id, tenant)
    return user_id, username


def _as(user_id: str, name: str, tenant: str) -> Actor:
    return Actor(issuer="urn:test", subject=user_id, name=name, roles=frozenset({"municipal-staff"}),
                 tenant_codes=frozenset({tenant}))


@pytest.fixture
def proposed(db, operator, call, group, tenant_factory):
    """The tourism group (熊本市 and a Fukuoka company) declared and proposed; 熊本県 is a tenant too."""
    tenant_factory("430005", kind="prefecture", name_ja="熊本県", name_en="Kumamoto Prefecture")
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                         [comp.Line("人件費", 4_000_000)], 4_000_000, now=EARLY)
    db.commit()
    return call, group


def test_a_reviewer_is_a_real_account_with_its_name_and_organisation_and_is_kept_out_of_their_own_group(
        db, operator, directory, proposed):
    call, group = proposed
    city_id, _ = _account(directory, "熊本", "市子", "431001")  # 熊本市 staff: 熊本市 is a member of the group
    pref_id, _ = _account(directory, "県庁", "一郎", "430005")  # 熊本県 staff: not a member

    city = rv.assign_reviewer(db, operator, directory, call.id, city_id)
    pref = rv.assign_reviewer(db, operator, directory, call.id, pref_id)
    assert (city.name, city.organisation, city.corporate_numbers) == ("熊本 市子", "熊本市", KUMAMOTO_CITY)
    assert (pref.name, pref.organisation) == ("県庁 一郎", "熊本県")

    # an account Keycloak does not hold is refused in words, and nothing is assigned
    with pytest.raises(Invalid) as unknown:
        rv.assign_reviewer(db, operator, directory, call.id, str(uuid.uuid4()))
    assert "は登録されていません。審査員はアカウントのある利用者から選んでください。" in unknown.value.message_ja
    assert unknown.value.problems[0]["field"] == "subject"
    assert len(reviewing.reviewers(db, operator, call.id)) == 2
    db.commit()

    # renkei finds the conflict: nobody declared anything, yet 熊本市's reviewer cannot score or read the proposal
    city_reviewer, pref_reviewer = _as(city_id, "熊本 市子", "431001"), _as(pref_id, "県庁 一郎", "430005")
    with pytest.raises(NotPermitted) as refused:
        rv.score(db, city_reviewer, call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))
    assert "所属団体がこの提案グループの構成員であるため（利害関係）、採点できません" in refused.value.message_ja
    with pytest.raises(NotPermitted):
        reviewing.proposal_file(db, city_reviewer, call.id, group.id)
    desk = reviewing.desk(db, city_reviewer, call.id)
    assert [(g.group_name, g.affiliated, g.excluded) for g in desk.groups] == [(group.name, True, True)]
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.ConflictOfInterest)) == 0
    # the prefecture's reviewer is not tied to the group and scores it
    assert len(rv.score(db, pref_reviewer, call.id, "first", group.id, _marks(db, call.id, [80, 60, 10, 10]))) == 5
    ties = reviewing.ties(db, operator, call.id)
    assert [(t.group_name, t.found, t.declared) for t in ties[city.id]] == [(group.name, True, False)]
    assert ties[pref.id] == []


def test_the_api_refuses_an_unknown_account_in_both_languages_and_records_a_real_one(client, db, directory, proposed,
                                                                                   user_factory):
    call, group = proposed
    _, headers = user_factory(["platform-operator"], "430005")
    made_up = client.post(f"/api/v1/competition/calls/{call.id}/reviewers", json={"subject": "someone-made-up"},
                          headers=headers)
    body = made_up.get_json()
    assert made_up.status_code == 422 and made_up.content_type.startswith("application/problem+json")
    assert "アカウント「someone-made-up」は登録されていません" in body["detail_ja"]
    assert "No account someone-made-up is known" in body["detail_en"]
    assert [(e["field"], e["message_ja"]) for e in body["errors"]] == [("subject", "このアカウントは登録されていません。")]

    city_id, _ = _account(directory, "熊本", "花子", "431001")
    done = client.post(f"/api/v1/competition/calls/{call.id}/reviewers", json={"subject": city_id}, headers=headers)
    assert done.status_code == 201, done.get_data(as_text=True)
    assert {k: done.get_json()[k] for k in ("name", "organisation", "corporate_numbers")} == {
        "name": "熊本 花子", "organisation": "熊本市", "corporate_numbers": [KUMAMOTO_CITY]}
    assert client.post(f"/api/v1/competition/calls/{call.id}/reviewers", json={"subject": city_id, "name": "偽名"},
                       headers=headers).status_code == 422  # the name is the account's, never the caller's
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "competition.reviewer.assign")).one()
    assert "熊本市" in record.after and KUMAMOTO_CITY in record.after


class _Stale:
    """The people index as it was before an account was deleted from Keycloak: the real account and a gone one."""

    def __init__(self, real):
        self.real = real

    def all_people(self):
        from tenancy.identity.keycloak import Account

        gone = Account(id=str(uuid.uuid4()), username=f"{self.real[0].username}-gone", email="gone@example.jp",
                       first_name="退職", last_name="済", enabled=True, roles=frozenset(), tenant_codes=frozenset())
        return [self.real, (gone, "")]


def test_the_page_assigns_a_person_picked_from_the_list_and_says_beside_the_list_when_the_account_is_gone(
        client, db, directory, proposed):
    call, group = proposed
    city_id, username = _account(directory, "熊本", "次郎", "431001")
    people_index.rebuild(db, _Stale(directory.person(city_id)))
    db.commit()
    sign_in(client, csrf=CSRF)
    page = client.get(f"/admin/competition-reviewers/{call.id}?q={username}").get_data(as_text=True)
    assert "熊本 次郎" in page and "済 退職" in page
    gone = re.search(r'value="([0-9a-f-]{36})"[^>]*>\s*<label[^>]*>済 退職', page).group(1)

    refused = client.post(f"/admin/competition-reviewers/{call.id}/reviewers",
                          data={"csrf_token": CSRF, "q": username, "person": gone})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    beside = re.search(r'<p class="invalid-feedback d-block" id="person-error">([^<]*)</p>', text)
    assert beside and "は登録されていません。審査員はアカウントのある利用者から選んでください。" in beside.group(1)
    assert "熊本 次郎" in text  # the people found are still there to choose from
    assert reviewing.reviewers(db, Actor(issuer="urn:test", subject="x", name="x", roles=frozenset({"auditor"})),
                               call.id) == []

    done = client.post(f"/admin/competition-reviewers/{call.id}/reviewers",
                       data={"csrf_token": CSRF, "q": username, "person": city_id}, follow_redirects=True)
    assert "熊本 次郎さんをこの公募の審査員に指名しました。" in done.get_data(as_text=True)
    page = client.get(f"/admin/competition-reviewers/{call.id}").get_data(as_text=True)
    row = re.search(r"<tr><td>熊本 次郎</td>.*?</tr>", page, re.S).group(0)
    assert "熊本市" in row and "利害関係あり（所属が応募グループの構成員）" in row and group.name in row

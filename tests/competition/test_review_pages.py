"""The review's pages (issue 41 items 4 and 7), in Japanese through the Flask test client: the operator assigns a
reviewer picked from the people list (never a typed id) and closes a stage after a confirmation that says what
closing does; a reviewer sees the proposals of the stage in progress, declares a conflict per group (and then
cannot score that group or read its proposal), scores on the call's table (gates as 可/否 first, each score with
its maximum, a comment per criterion), gets a refused form back as typed with each problem beside its field,
and never sees another reviewer's marks."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa

from competition import operations as comp
from competition import review as rv
from core.audit import AuditRecord
from tenancy.identity import people_index
from tests.competition.conftest import EARLY, REPRESENTATIVE, assign, pdf_of
from tests.conftest import sign_in

CSRF = "review-csrf"
DOCS = [comp.Upload(k, f"{k}.pdf", pdf_of(1)) for k in ("participation_form", "company_profile", "pledge")]


class _People:
    """The realm's people as the people index is rebuilt from them: real accounts (two prefecture staff and an
    outside expert), read from Keycloak."""

    def __init__(self, directory) -> None:
        tag = uuid.uuid4().hex[:6]
        self.ids = []
        for username, family, given, tenant in ((f"shinsa{tag}-tanaka", "田中", "一郎", "430005"),
                                                (f"shinsa{tag}-suzuki", "鈴木", "花子", "430005"),
                                                (f"expert{tag}-sato", "佐藤", "次郎", None)):
            user_id = directory.create_user(username, f"{username}@example.jp", given, family, password="Reviewer-password-1")
            if tenant:
                directory.ensure_tenant_group(tenant)
                directory.add_to_tenant(user_id, tenant)
            self.ids.append(user_id)
        self.query = f"shinsa{tag}"
        self.people = [directory.person(user_id) for user_id in self.ids]

    def all_people(self):
        return self.people


def _reviewer_signs_in(client, n: int) -> None:
    sign_in(client, ["municipal-staff"], ["430005"], subject=f"reviewer-{n}", name=f"審査 {n}", csrf=CSRF)


@pytest.fixture
def proposed(db, operator, call, group):
    comp.declare(db, REPRESENTATIVE, call.id, group.id, DOCS, now=EARLY)
    comp.submit_proposal(db, REPRESENTATIVE, call.id, group.id, comp.Upload("proposal", "p.pdf", pdf_of(2)),
                         [comp.Line("人件費", 4_000_000)], 4_000_000, now=EARLY)
    assign(db, operator, call.id, rv_actor(1), rv_actor(2))
    db.commit()
    return call, group


def _reviewers(db, call_id: int) -> list[tuple[str, str]]:
    return [tuple(r) for r in db.execute(sa.select(rv.Reviewer.subject, rv.Reviewer.name)
                                         .where(rv.Reviewer.call_id == call_id).order_by(rv.Reviewer.id))]


@pytest.mark.keycloak
def test_the_operator_assigns_a_reviewer_picked_from_the_people_list_never_a_typed_id(client, db, call, directory):
    realm = _People(directory)
    tanaka, suzuki, sato = realm.ids
    people_index.rebuild(db, realm)
    db.commit()
    sign_in(client, csrf=CSRF)
    page = client.get(f"/admin/competition-reviewers/{call.id}?q={realm.query}").get_data(as_text=True)
    assert "田中 一郎" in page and "鈴木 花子" in page and "佐藤 次郎" not in page  # the people the search found
    assert 'type="radio" name="person"' in page and f'value="{tanaka}"' in page
    assert 'name="subject"' not in page  # nothing to type an account into
    done = client.post(f"/admin/competition-reviewers/{call.id}/reviewers",
                       data={"csrf_token": CSRF, "q": realm.query, "person": suzuki}, follow_redirects=True)
    assert "鈴木 花子さんをこの公募の審査員に指名しました。" in done.get_data(as_text=True)
    assert _reviewers(db, call.id) == [(suzuki, "鈴木 花子")]  # the name is the account's, not the form's
    # an id the search did not give (typed, or another search's) is refused and nothing is assigned
    for sent in ({"q": realm.query, "person": sato}, {"q": "", "person": tanaka},
                 {"q": realm.query, "person": "someone-typed"}):
        refused = client.post(f"/admin/competition-reviewers/{call.id}/reviewers", data={"csrf_token": CSRF, **sent},
                              follow_redirects=True)
        assert "審査員は検索した利用者の一覧から選んでください。" in refused.get_data(as_text=True)
    assert _reviewers(db, call.id) == [(suzuki, "鈴木 花子")]
    page = client.get(f"/admin/competition-reviewers/{call.id}?q={realm.query}").get_data(as_text=True)
    assert "審査員に指名済み" in page  # the one assigned cannot be picked twice
    assert re.search(f'value="{suzuki}" disabled', page)
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "competition.reviewer.assign")) == 1


def test_closing_a_stage_asks_first_and_says_the_scores_are_unsealed_and_the_ranking_fixed(client, db, proposed):
    call, _group = proposed
    sign_in(client, csrf=CSRF)
    page = client.get(f"/admin/competition-reviewers/{call.id}").get_data(as_text=True)
    assert "審査 1" in page and "審査 2" in page and "審査中：採点結果は開示されていません。" in page
    asked = client.post(f"/admin/competition-reviewers/{call.id}/stages/first/close", data={"csrf_token": CSRF})
    text = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "一次審査（書面）を締め切りますか？" in text
    assert "採点結果が開示され、順位が確定します。" in text and 'name="confirmed" value="1"' in text
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.StageClosed)) == 0  # nothing written before the yes
    done = client.post(f"/admin/competition-reviewers/{call.id}/stages/first/close",
                       data={"csrf_token": CSRF, "confirmed": "1"}, follow_redirects=True)
    assert "審査を締め切りました。" in done.get_data(as_text=True)
    assert db.scalar(sa.select(rv.StageClosed.stage)) == rv.Stage.first
    assert "締切済み：採点結果は開示され、順位は確定しています。" in done.get_data(as_text=True)
    assert client.post(f"/admin/competition-reviewers/{call.id}/stages/third/close",
                       data={"csrf_token": CSRF, "confirmed": "1"}).status_code == 404


def test_the_auditor_reads_the_reviewers_but_cannot_assign_or_close(client, db, proposed):
    call, _group = proposed
    sign_in(client, ["auditor"], csrf=CSRF)
    page = client.get(f"/admin/competition-reviewers/{call.id}?q=shinsa").get_data(as_text=True)
    assert "審査 1" in page and "審査員を指名する" not in page and "この審査を締め切る" not in page
    client.post(f"/admin/competition-reviewers/{call.id}/stages/first/close", data={"csrf_token": CSRF, "confirmed": "1"})
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.StageClosed)) == 0


def test_a_reviewer_scores_on_the_table_and_a_refused_form_comes_back_as_typed(client, db, proposed):
    call, group = proposed
    table = comp.criteria(db, call.id)
    gate, first = table[0], table[1]
    _reviewer_signs_in(client, 1)
    desk = client.get(f"/admin/competition-review/{call.id}").get_data(as_text=True)
    assert "実施中の審査：一次審査（書面）" in desk and "観光データ連携" in desk and "未採点" in desk
    form = client.get(f"/admin/competition-review/{call.id}/groups/{group.id}").get_data(as_text=True)
    assert form.index("課題要件への適合性") < form.index("デジタルの取組みとしての有用性")  # the gate first
    assert f'name="passed_{gate.id}" id="passed-{gate.id}-yes" value="yes"' in form and ">可</label>" in form
    assert ">否</label>" in form
    for c, maximum in zip(table[1:], (100, 70, 15, 15)):
        assert f'max="{maximum}"' in form and f"{maximum}点満点" in form and f'name="comment_{c.id}"' in form
    typed = {"csrf_token": CSRF, f"points_{first.id}": "120", f"comment_{first.id}": "有効な解決策である",
             **{f"points_{c.id}": "10" for c in table[2:]}}
    refused = client.post(f"/admin/competition-review/{call.id}/groups/{group.id}", data=typed)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert 'value="120"' in text and "有効な解決策である" in text  # what was typed
    beside = re.search(rf'id="points-{first.id}".*?id="error-{first.id}"[^>]*>([^<]+)<', text, re.S)
    assert beside and beside.group(1) == "「デジタルの取組みとしての有用性」は0～100点で採点してください。"
    assert re.search(rf'id="error-{gate.id}"[^>]*>「課題要件への適合性」の可・否を選んでください。<', text)
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.Score)) == 0
    typed |= {f"points_{first.id}": "80", f"passed_{gate.id}": "yes"}
    done = client.post(f"/admin/competition-review/{call.id}/groups/{group.id}", data=typed, follow_redirects=True)
    assert "採点を保存しました。" in done.get_data(as_text=True) and "採点済み" in done.get_data(as_text=True)
    mine = client.get(f"/admin/competition-review/{call.id}/groups/{group.id}").get_data(as_text=True)
    assert "80点（100点満点）" in mine and "有効な解決策である" in mine and 'id="score-form"' not in mine
    assert {(s.criterion_id, s.points) for s in db.scalars(sa.select(rv.Score))} >= {(first.id, 80)}


def test_a_reviewer_never_sees_another_reviewers_marks_and_a_stranger_is_refused(client, db, proposed):
    call, group = proposed
    marks = [rv.Mark(c.id, passed=True if c.kind.value == "gate" else None, points=0 if c.kind.value == "gate" else 7,
                     comment="審査1だけの講評") for c in comp.criteria(db, call.id)]
    rv.score(db, rv_actor(1), call.id, "first", group.id, marks)
    db.commit()
    _reviewer_signs_in(client, 2)
    for path in (f"/admin/competition-review/{call.id}", f"/admin/competition-review/{call.id}/groups/{group.id}",
                 f"/admin/competition/{call.id}"):
        page = client.get(path)
        assert "審査1だけの講評" not in page.get_data(as_text=True)
    form = client.get(f"/admin/competition-review/{call.id}/groups/{group.id}").get_data(as_text=True)
    assert 'id="score-form"' in form and "7点" not in form  # their own blank form, not the other's marks
    sign_in(client, ["municipal-staff"], ["430005"], subject="not-a-reviewer", csrf=CSRF)
    assert "審査員に指名された公募はありません。" in client.get("/admin/competition-review/").get_data(as_text=True)
    assert client.get(f"/admin/competition-review/{call.id}").status_code == 403
    assert client.get(f"/admin/competition-review/{call.id}/groups/{group.id}/proposal.pdf").status_code == 403


def rv_actor(n: int):
    from core.actor import Actor

    return Actor(issuer="urn:test", subject=f"reviewer-{n}", name=f"審査 {n}", roles=frozenset({"municipal-staff"}),
                 tenant_codes=frozenset({"430005"}))


def test_a_reviewer_tied_to_a_group_declares_it_and_cannot_score_it_or_read_its_proposal(client, db, proposed):
    call, group = proposed
    _reviewer_signs_in(client, 1)
    assert client.get(f"/admin/competition-review/{call.id}/groups/{group.id}/proposal.pdf").data.startswith(b"%PDF")
    done = client.post(f"/admin/competition-review/{call.id}/groups/{group.id}/conflict",
                       data={"csrf_token": CSRF, "note": "構成員の役員を兼ねている"}, follow_redirects=True)
    text = done.get_data(as_text=True)
    assert "利害関係の申告を受け付けました。" in text
    assert "利害関係を申告しているため、採点できません。" in text and "構成員の役員を兼ねている" in text
    page = client.get(f"/admin/competition-review/{call.id}/groups/{group.id}").get_data(as_text=True)
    assert "この提案グループとの利害関係を申告しているため、採点できません。" in page and 'id="score-form"' not in page
    table = comp.criteria(db, call.id)
    tried = client.post(f"/admin/competition-review/{call.id}/groups/{group.id}", follow_redirects=True,
                        data={"csrf_token": CSRF, f"passed_{table[0].id}": "yes",
                              **{f"points_{c.id}": "5" for c in table[1:]}})
    assert "採点できません" in tried.get_data(as_text=True)
    assert db.scalar(sa.select(sa.func.count()).select_from(rv.Score)) == 0
    assert client.get(f"/admin/competition-review/{call.id}/groups/{group.id}/proposal.pdf").status_code == 403
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "competition.conflict.declare")) == 1

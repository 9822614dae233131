"""Smart-city services, ideas and the municipalities' needs (issue 57 item 5): a municipality answers and changes only
its own needs while the desk reads every one; the fiscal year's target shows the services found that year (two
services found against a target of two: 2 of 2); a status or stage moves only by its table; ideas link to needs and
services to ideas; every act is audited; the pages pick, never ask for ids, and return a refused form as typed."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import sqlalchemy as sa

from core.actor import Actor
from core.audit import AuditRecord
from core.errors import Invalid, NotFound, NotPermitted
from core.lifecycle import IllegalMove
from secretariat import smart_services as ss
from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
from tests.conftest import sign_in

CSRF = "s" * 32
OURS, THEIRS = "431001", "432024"  # 熊本市, 八代市
OUR_ADMIN = Actor(issuer="urn:test", subject="admin-431001", name="熊本 管理者", roles=frozenset({"municipal-admin"}),
                  tenant_codes=frozenset({OURS}))
THEIR_STAFF = Actor(issuer="urn:test", subject="staff-432024", name="八代 職員", roles=frozenset({"municipal-staff"}),
                    tenant_codes=frozenset({THEIRS}))
SECRETARIAT = Actor(issuer="urn:test", subject="desk-1", name="事務局 花子", roles=frozenset({"secretariat"}))


@pytest.fixture
def towns(tenant_factory):
    tenant_factory(OURS)
    tenant_factory(THEIRS)


def _need(db, actor, code, title="観光客の回遊が少ない", year=2026):
    return ss.record_need(db, actor, ss.NeedDraft(code, year, "tourism", title, "駅周辺に集中している"))


def _service(db, name, found_on=dt.date(2026, 6, 1), idea_ids=()):
    return ss.create_service(db, SECRETARIAT, ss.ServiceDraft(name, "県基盤のデータを活用", "tourism", "regional", found_on,
                                                               tuple(idea_ids)))


def test_a_municipality_answers_and_changes_only_its_own_needs_and_the_desk_reads_all(db, towns):
    ours = _need(db, OUR_ADMIN, OURS)
    theirs = _need(db, THEIR_STAFF, THEIRS, title="公共交通の空白地帯")
    with pytest.raises(NotPermitted):
        _need(db, OUR_ADMIN, THEIRS, title="八代市の代わりに")
    with pytest.raises(NotPermitted):
        _need(db, SECRETARIAT, OURS)  # the desk reads the answers; each municipality gives its own
    assert [n.title for n in ss.list_needs(db, OUR_ADMIN)] == ["観光客の回遊が少ない"]
    assert {n.title for n in ss.list_needs(db, SECRETARIAT, fiscal_year=2026)} == {"観光客の回遊が少ない", "公共交通の空白地帯"}
    with pytest.raises(NotFound):
        ss.update_need(db, OUR_ADMIN, theirs.id, ss.NeedDraft(OURS, 2026, "mobility", "書き換え", ""))
    with pytest.raises(NotPermitted):
        ss.update_need(db, SECRETARIAT, ours.id, ss.NeedDraft(OURS, 2026, "mobility", "書き換え", ""))
    changed = ss.update_need(db, OUR_ADMIN, ours.id, ss.NeedDraft(THEIRS, 2026, "mobility", "周遊バスの利用が少ない", ""))
    assert (changed.tenant_code, changed.title) == (OURS, "周遊バスの利用が少ない")  # it stays its municipality's
    db.expire_all()
    assert db.get(ss.MunicipalNeed, theirs.id).title == "公共交通の空白地帯"
    actions = [r.action for r in db.scalars(sa.select(AuditRecord).where(AuditRecord.action.like("smartcity.need.%"))
                                            .order_by(AuditRecord.id))]
    assert actions == ["smartcity.need.create", "smartcity.need.create", "smartcity.need.update"]


def test_the_target_progress_counts_the_services_found_that_fiscal_year(db):
    ss.set_target(db, SECRETARIAT, 2026, 2)
    first = _service(db, "観光周遊データ連携", dt.date(2026, 4, 1))
    assert ss.progress_of(db, SECRETARIAT, 2026).found == 1
    _service(db, "防災情報ダッシュボード", dt.date(2027, 3, 31))
    _service(db, "前年度のサービス", dt.date(2026, 3, 31))  # FY2025
    progress = ss.progress_of(db, SECRETARIAT, 2026)
    assert (progress.found, progress.target, progress.percent) == (2, 2, 100)
    assert ss.progress_of(db, SECRETARIAT, 2025).target == ss.DEFAULT_TARGET
    ss.move_service(db, SECRETARIAT, first.id, "withdraw", "県関係課の事業が中止")
    assert ss.progress_of(db, SECRETARIAT, 2026).found == 1  # a withdrawn service is not counted
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "smartcity.target"))
    assert (json.loads(record.before), json.loads(record.after)) == ({"target": ss.DEFAULT_TARGET}, {"target": 2})
    with pytest.raises(NotPermitted):
        ss.set_target(db, OUR_ADMIN, 2026, 3)
    with pytest.raises(Invalid):
        ss.set_target(db, SECRETARIAT, 2026, 0)


def test_a_status_or_stage_moves_only_by_its_table(db):
    service = _service(db, "観光周遊データ連携")
    with pytest.raises(IllegalMove) as refused:
        ss.move_service(db, SECRETARIAT, service.id, "run")  # proposed → running skips the pilot
    assert "「提案」のため「運用の開始」できません" in refused.value.message_ja
    with pytest.raises(Invalid):
        ss.move_service(db, SECRETARIAT, service.id, "withdraw", "  ")  # a reason is required
    assert ss.move_service(db, SECRETARIAT, service.id, "pilot").status == ss.ServiceStatus.piloting
    assert ss.move_service(db, SECRETARIAT, service.id, "run").status == ss.ServiceStatus.running
    with pytest.raises(IllegalMove):
        ss.move_service(db, SECRETARIAT, service.id, "withdraw", "遅すぎる")
    idea = ss.create_idea(db, SECRETARIAT, ss.IdeaDraft("観光と交通の可視化", "", "第1回ワークショップ", dt.date(2026, 7, 1),
                                                         proposer_name="県 観光課"))
    assert ss.move_idea(db, SECRETARIAT, idea.id, "drop", "他の案に統合").stage == ss.IdeaStage.dropped
    with pytest.raises(IllegalMove):
        ss.move_idea(db, SECRETARIAT, idea.id, "adopt")
    moves = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "smartcity.service.move")).all()
    assert [(json.loads(m.before)["status"], json.loads(m.after)["status"]) for m in moves] == [("proposed", "piloting"), ("piloting", "running")]


def test_ideas_link_needs_and_services_link_ideas_with_the_proposer_a_member_or_free_text(db, towns):
    db.add(Organisation(corporate_number="7000012050002", name="データ連携株式会社", kind=OrganisationKind.company,
                        prefecture="栃木県", representative="代表", contact_name="担当", contact_email="m@example.jp",
                        status=MemberStatus.approved))
    need = _need(db, OUR_ADMIN, OURS)
    with pytest.raises(Invalid) as refused:
        ss.create_idea(db, SECRETARIAT, ss.IdeaDraft("周遊ルートの提案", "", "", dt.date(2026, 7, 1)))
    assert [p["field"] for p in refused.value.problems] == ["proposer_name"]
    with pytest.raises(Invalid) as refused:
        ss.create_idea(db, SECRETARIAT, ss.IdeaDraft("周遊ルートの提案", "", "", dt.date(2026, 7, 1), "7000012050002",
                                                     "両方", need_ids=(need.id, 999)))
    assert {p["field"] for p in refused.value.problems} == {"proposer_name", "need_ids"}
    idea = ss.create_idea(db, SECRETARIAT, ss.IdeaDraft("周遊ルートの提案", "", "第1回", dt.date(2026, 7, 1), "7000012050002",
                                                        need_ids=(need.id,)))
    assert idea.proposer_name == "データ連携株式会社"
    service = _service(db, "観光周遊データ連携", idea_ids=(idea.id,))
    assert ss.need_ids_of(db, idea.id) == [need.id] and ss.idea_ids_of(db, service.id) == [idea.id]
    record = db.scalar(sa.select(AuditRecord).where(AuditRecord.action == "smartcity.service.create"))
    assert json.loads(record.after)["idea_ids"] == [idea.id]


def test_the_register_page_shows_the_progress_and_returns_a_refused_form_as_typed(client, db):
    sign_in(client, ["secretariat"], csrf=CSRF)
    client.post("/admin/smart-services/target", data={"csrf_token": CSRF, "fiscal_year": "2026", "target": "2"})
    for name in ("観光周遊データ連携", "防災情報ダッシュボード"):
        added = client.post("/admin/smart-services/services", data={
            "csrf_token": CSRF, "name": name, "field": "tourism", "scope": "prefecture", "found_on": "2026-05-01"})
        assert added.status_code == 302
    html = client.get("/admin/smart-services/?fiscal_year=2026").get_data(as_text=True)
    assert "令和8年度" in html and re.search(r'id="target-progress">\s*目標 2 件中 2 件', html)
    assert "2026/05/01（令和8年度）" in html
    assert '<option value="tourism">観光</option>' in html and "tourism<" not in html
    refused = client.post("/admin/smart-services/services", data={
        "csrf_token": CSRF, "name": "名前だけのサービス", "field": "", "scope": "regional", "found_on": "2026-05-01"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'value="名前だけのサービス"' in page
    assert re.search(r'id="field-error"[^>]*>.*分野を選んでください', page, re.S)
    [service] = [s for s in db.scalars(sa.select(ss.SmartService)) if s.name == "観光周遊データ連携"]
    no_reason = client.post(f"/admin/smart-services/services/{service.id}/move",
                            data={"csrf_token": CSRF, "move": "withdraw", "reason": "", "confirmed": "1"})
    assert no_reason.status_code == 422 and "理由を入力してください" in no_reason.get_data(as_text=True)
    asked = client.post(f"/admin/smart-services/services/{service.id}/move",
                        data={"csrf_token": CSRF, "move": "withdraw", "reason": "事業中止"})
    assert asked.status_code == 200 and "取り下げたサービス" in asked.get_data(as_text=True)
    db.expire_all()
    assert db.get(ss.SmartService, service.id).status == ss.ServiceStatus.proposed  # nothing before the confirmation


def test_the_needs_page_lets_a_municipality_answer_for_itself_only(client, db, towns):
    theirs = _need(db, THEIR_STAFF, THEIRS, title="公共交通の空白地帯")
    db.commit()
    sign_in(client, ["municipal-admin"], [OURS], csrf=CSRF)
    page = client.get("/admin/municipal-needs/?fiscal_year=2026").get_data(as_text=True)
    assert "公共交通の空白地帯" not in page and '<option value="431001">' in page and "432024" not in page
    answered = client.post("/admin/municipal-needs/", data={"csrf_token": CSRF, "tenant_code": OURS, "fiscal_year": "2026",
                                                            "field": "tourism", "title": "観光客の回遊が少ない"})
    assert answered.status_code == 302
    elsewhere = client.post("/admin/municipal-needs/", data={"csrf_token": CSRF, "tenant_code": THEIRS,
                                                             "fiscal_year": "2026", "field": "tourism", "title": "代理回答"})
    assert elsewhere.status_code == 422 and "権限がありません" in elsewhere.get_data(as_text=True)
    assert client.get(f"/admin/municipal-needs/{theirs.id}/edit").status_code == 404
    assert {n.tenant_code for n in db.scalars(sa.select(ss.MunicipalNeed))} == {OURS, THEIRS}
    assert db.scalar(sa.select(sa.func.count(ss.MunicipalNeed.id)).where(ss.MunicipalNeed.title == "代理回答")) == 0
    sign_in(client, ["secretariat"])
    page = client.get("/admin/municipal-needs/?fiscal_year=2026").get_data(as_text=True)
    assert "公共交通の空白地帯" in page and "観光客の回遊が少ない" in page and "熊本市" in page


def test_the_api_registers_services_and_refuses_a_move_outside_the_table(open_api, db, towns):
    need = _need(db, OUR_ADMIN, OURS)
    db.commit()
    needs = open_api.get("/api/v1/municipal-needs?fiscal_year=2026").get_json()["items"]
    assert [(n["tenant_code"], n["field"]) for n in needs] == [(OURS, "tourism")]
    idea = open_api.post("/api/v1/smart-service-ideas", json={"title": "避難所の混雑の見える化", "proposed_on": "2026-07-01",
                                                              "proposer_name": "県 危機管理課", "need_ids": [need.id]})
    assert idea.status_code == 201 and idea.get_json()["need_ids"] == [need.id]
    service = open_api.post("/api/v1/smart-services", json={"name": "避難所混雑マップ", "field": "disaster", "scope": "regional",
                                                            "found_on": "2026-08-01", "idea_ids": [idea.get_json()["id"]]})
    assert service.status_code == 201
    refused = open_api.post(f"/api/v1/smart-services/{service.get_json()['id']}/transitions", json={"move": "run"})
    assert refused.status_code == 409 and refused.content_type == "application/problem+json"
    assert "提案" in refused.get_json()["detail_ja"]
    assert open_api.post("/api/v1/municipal-needs", json={"fiscal_year": 2026, "field": "tourism", "title": "代理"}
                         ).status_code == 403  # the operator reads the answers; it does not give them
    assert open_api.put("/api/v1/smart-service-targets/2026", json={"target": 1}).get_json() == {
        "fiscal_year": 2026, "target": 1, "found": 1, "percent": 100}

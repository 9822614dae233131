"""Contract and delivery (issue 41 item 6): the selected group's contract within the cap and the commissioning
period, its budget lines against the call's eligible costs, its deliverables delivered once, the data rule
decided from the dataset register at the project's end, the cost entered under the year's grant; refusals in
words, every act audited."""

from __future__ import annotations

import datetime as dt
import json

import pytest
import sqlalchemy as sa
from hypothesis import given, settings, strategies as st

from billing import grants
from billing.schemas import GrantCreate
from competition import contracts as ct
from competition import selection as sel
from competition.operations import representative_codes
from core.actor import Actor
from core.audit import AuditRecord
from core.calendar import JST, fiscal_year_of, fiscal_year_start, today_jst
from core.codes import corporate_number_of_local_government
from core.errors import Conflict, Invalid, NotPermitted
from catalogue.models import Access, Dataset, DatasetStatus, Frequency, PersonalInfo
from usage.models import UsageDatasetCall
from tests.competition.conftest import FUKUOKA_CO, KUMAMOTO_CITY
from tests.competition.test_selection import ISSUED, _review, call, two_groups  # noqa: F401  (fixtures)

FINANCE = Actor(
    issuer="urn:test", subject="finance-1", name="県 財政担当", roles=frozenset({"finance-officer"}))
START, END = dt.date(2025, 6, 10), dt.date(2026, 3, 27)
TERMS = ct.Terms(KUMAMOTO_CITY, 4_800_000, START, END, START)
LINES = [ct.BudgetLine("labour", "実証担当者の人件費", 3_000_000), ct.BudgetLine("api", "API接続の改修", 1_500_000),
         ct.BudgetLine("travel", "現地調査旅費", 300_000)]
ITEMS = [ct.Deliverable("milestone", "実証開始", dt.date(2025, 9, 1)),
         ct.Deliverable("report", "実績報告書", dt.date(2026, 3, 20)),
         ct.Deliverable("dataset", "観光施設の混雑データ", dt.date(2026, 2, 27))]


@pytest.fixture
def chosen(db, operator, call, two_groups):
    """The group the final selection chose (and the other, not chosen)."""
    group, other = two_groups
    _review(db, operator, call, "first", {group.id: [90, 60, 10, 10], other.id: [50, 40, 10, 10]})
    sel.select(db, operator, call.id, "first", [group.id, other.id], issued_on=ISSUED)
    _review(db, operator, call, "second", {group.id: [80, 60, 10, 10], other.id: [40, 30, 5, 5]})
    sel.select(db, operator, call.id, "second", [group.id], issued_on=ISSUED)
    db.commit()
    return group, other


def _contract(db, operator, call, group, **terms):
    return ct.create_contract(db, operator, call.id, group.id, ct.Terms(**{**TERMS.__dict__, **terms}), LINES, ITEMS)


def test_a_contract_is_made_for_the_selected_proposal_within_the_cap_and_period(db, operator, call, chosen):
    group, other = chosen
    with pytest.raises(Conflict) as not_chosen:
        ct.create_contract(db, operator, call.id, other.id, TERMS, LINES, ITEMS)
    assert "選定された提案についてのみ" in not_chosen.value.message_ja
    with pytest.raises(Invalid) as over:
        _contract(db, operator, call, group, amount_yen=5_000_001)
    assert "契約金額 5,000,001 円が委託限度額 5,000,000 円（税込）を超えています" in over.value.message_ja
    with pytest.raises(Invalid) as late:
        _contract(db, operator, call, group, ends_on=dt.date(2026, 3, 28))
    assert "委託期間は令和8年3月27日まで" in late.value.message_ja or "委託期間は令和８年３月２７日まで" in late.value.message_ja
    with pytest.raises(Invalid) as unbalanced:
        ct.create_contract(db, operator, call.id, group.id, TERMS, LINES[:2], ITEMS)
    assert "内訳の合計 4,500,000 円が契約金額 4,800,000 円と一致しません" in unbalanced.value.message_ja
    with pytest.raises(Invalid) as ineligible:
        ct.create_contract(db, operator, call.id, group.id, TERMS, [ct.BudgetLine("entertainment", "接待", 4_800_000)], ITEMS)
    assert "公募の対象経費から経費区分を選んでください" in ineligible.value.message_ja
    with pytest.raises(Invalid) as outsider:
        _contract(db, operator, call, group, representative="8000012050001")
    assert "代表者はグループの構成員から" in outsider.value.message_ja
    with pytest.raises(Invalid) as outside:
        ct.create_contract(db, operator, call.id, group.id, TERMS, LINES,
                           [ct.Deliverable("report", "報告書", dt.date(2026, 4, 1))])
    assert "期限は委託期間内" in outside.value.message_ja
    assert db.scalar(sa.select(sa.func.count()).select_from(ct.Contract)) == 0

    contract = _contract(db, operator, call, group)
    assert [(l.category, l.amount_yen) for l in ct.budget_lines(db, contract.id)] == [
        ("labour", 3_000_000), ("api", 1_500_000), ("travel", 300_000)]
    assert [(i.kind.value, i.due_on, i.delivered_on) for i in ct.deliverables(db, contract.id)] == [
        ("milestone", dt.date(2025, 9, 1), None), ("report", dt.date(2026, 3, 20), None),
        ("dataset", dt.date(2026, 2, 27), None)]
    with pytest.raises(Conflict):
        _contract(db, operator, call, group)
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "competition.contract.create")).one()
    assert json.loads(record.after)["amount_yen"] == 4_800_000


def test_a_deliverable_is_delivered_once_and_a_dataset_deliverable_names_a_members_dataset(db, operator, call, chosen):
    contract = _contract(db, operator, call, chosen[0])
    report, dataset_item = ct.deliverables(db, contract.id)[1:]
    ct.deliver(db, operator, contract.id, report.id, dt.date(2026, 3, 19))
    with pytest.raises(Conflict):
        ct.deliver(db, operator, contract.id, report.id, dt.date(2026, 3, 19))
    foreign = _dataset(db, "other-aed", "432016", "aed", dt.datetime(2025, 7, 1, tzinfo=JST))
    with pytest.raises(Invalid) as wrong:
        ct.deliver(db, operator, contract.id, dataset_item.id, dt.date(2026, 2, 20), foreign.id)
    assert "グループの構成員が提供するデータセット" in wrong.value.message_ja
    own = _dataset(db, "fukuoka-crowd", FUKUOKA_CO, None, dt.datetime(2025, 12, 1, tzinfo=JST), category="tourism")
    done = ct.deliver(db, operator, contract.id, dataset_item.id, dt.date(2026, 2, 20), own.id)
    assert (done.delivered_on, done.dataset_id) == (dt.date(2026, 2, 20), own.id)
    assert db.scalar(sa.select(sa.func.count()).select_from(AuditRecord)
                     .where(AuditRecord.action == "competition.contract.deliver")) == 2


# --- the data rule from the register -------------------------------------------------------------------

def _dataset(db, name, provider, kind, created, *, category="safety", status=DatasetStatus.published,
             personal=PersonalInfo.none, published=None):
    """A dataset registered at ``created``; a published one first published at ``published`` (else at once)."""
    if status is DatasetStatus.published and published is None:
        published = created
    row = Dataset(name=name, provider_code=provider, title_ja=name, category_code=category, licence_code="CC-BY-4.0",
                  access=Access.open, frequency=Frequency.yearly, personal_info=personal, standard_kind=kind,
                  status=status, created_at=created, published_at=published)
    db.add(row)
    db.flush()
    return row


def _used(db, dataset, consumer, month, calls=10):
    db.add(UsageDatasetCall(period_start=month, provider_code=dataset.provider_code, dataset=dataset.name,
                            consumer_code=consumer, client_id=0, calls=calls))
    db.flush()


def test_two_platform_datasets_of_one_kind_from_two_municipalities_and_none_connected_fail_the_rule(db, operator, call,
                                                                                                 chosen):
    contract = _contract(db, operator, call, chosen[0])
    before = dt.datetime(2025, 1, 10, tzinfo=JST)
    yatsushiro = _dataset(db, "yatsushiro-aed", "432024", "aed", before)
    arao = _dataset(db, "arao-aed", "432041", "aed", before)
    _used(db, yatsushiro, "431001", dt.date(2025, 8, 1))  # 熊本市 (a member) used both, through the gateway
    _used(db, arao, FUKUOKA_CO, dt.date(2025, 11, 1))
    _used(db, _dataset(db, "unused-by-period", "432041", "evacuation_space", before), "431001", dt.date(2025, 5, 1))
    # a member's own dataset registered before the period, and one still a draft in it: neither newly connected
    _dataset(db, "old-own", FUKUOKA_CO, "evacuation_space", before)
    _dataset(db, "draft-own", FUKUOKA_CO, "evacuation_space", dt.datetime(2025, 9, 1, tzinfo=JST),
             status=DatasetStatus.draft)

    rule = ct.check_data_rule(db, operator, contract.id)
    assert sorted(f.name for f in rule.used) == ["arao-aed", "yatsushiro-aed"]
    assert rule.connected == [] and rule.kinds == ["aed"] and not rule.met
    words = " ".join(ja for ja, _ in rule.reasons)
    assert "非パーソナルデータの種類が1種類です" in words and "新たに基盤へ接続" in words


def test_a_project_that_connected_a_new_dataset_of_another_kind_passes_the_rule(db, operator, call, chosen):
    contract = _contract(db, operator, call, chosen[0])
    before = dt.datetime(2025, 1, 10, tzinfo=JST)
    yatsushiro = _dataset(db, "yatsushiro-aed", "432024", "aed", before)
    _used(db, yatsushiro, "431001", dt.date(2025, 8, 1))
    _dataset(db, "kumamoto-evacuation", "431001", "evacuation_space", dt.datetime(2025, 10, 1, 9, tzinfo=JST))

    rule = ct.check_data_rule(db, operator, contract.id)
    assert [f.name for f in rule.connected] == ["kumamoto-evacuation"]
    assert rule.kinds == ["aed", "evacuation_space"] and rule.met and rule.reasons == []


def test_only_data_first_published_in_the_period_by_a_member_counts_as_newly_connected(db, operator, call, chosen):
    """Seed 000's 「新たに基盤に接続すること」: data connected to the platform during the project, not a catalogue
    that was on it already, and not another provider's."""
    contract = _contract(db, operator, call, chosen[0])
    before, inside = dt.datetime(2025, 1, 10, tzinfo=JST), dt.datetime(2025, 10, 1, 9, tzinfo=JST)
    # the city's existing catalogue: registered and published before the period (edited during it, still old data)
    old = _dataset(db, "kumamoto-aed", "431001", "aed", before)
    old.modified_at = inside
    # registered as a draft before the period, first published in it by 熊本市 (a member): newly connected
    _dataset(db, "kumamoto-evacuation", "431001", "evacuation_space", before, published=inside)
    # first published in the period by 荒尾市, not a member of the group: not the group's
    _dataset(db, "arao-shelter", "432041", "evacuation_space", before, published=inside)
    db.flush()

    rule = ct.check_data_rule(db, operator, contract.id)
    assert [(f.name, f.connected_by) for f in rule.connected] == [("kumamoto-evacuation", (ct.ConnectedBy.published,))]
    assert rule.used == [] and rule.kinds == ["evacuation_space"] and not rule.met  # one kind only


def test_data_first_connected_by_route_in_the_period_counts_and_a_route_made_before_it_does_not(db, operator, call,
                                                                                               chosen, monkeypatch):
    """Seed 000's 「新たに基盤に接続すること」 also means a route through the API gateway first made during the
    project: a dataset published before the period whose first route is made in it counts (初めてルート接続);
    one routed before the period does not, even when its route is removed and made again during it."""
    from catalogue import operations as register
    from catalogue.operations import DistributionDraft
    from tests.datasets.conftest import draft

    contract = _contract(db, operator, call, chosen[0])
    now = [dt.datetime(2025, 1, 10, tzinfo=JST)]  # before the period
    monkeypatch.setattr(register, "utcnow", lambda: now[0])
    csv = DistributionDraft(url="https://data.example.jp/shelter.csv", format="CSV", media_type="text/csv")

    def routed(path):
        return (csv, DistributionDraft(url=f"https://api.example.jp{path}", is_api=True, route_path=path))

    shelter = register.register(db, operator, draft(title_ja="避難所一覧", standard_kind=None, distributions=(csv,)))
    assert register.publish_checked(db, operator, shelter) == []
    traffic = register.register(db, operator, draft(title_ja="交通量", category_code="transport", standard_kind=None,
                                                    distributions=routed("/catalog/kumamoto/traffic")))
    assert register.publish_checked(db, operator, traffic) == []
    # during the period: the shelters get their first route; the traffic's route is removed, then made again
    now[0] = dt.datetime(2025, 9, 1, 10, tzinfo=JST)
    register.update(db, operator, shelter.uid, draft(title_ja="避難所一覧", standard_kind=None,
                                                     distributions=routed("/catalog/kumamoto/shelters")))
    register.update(db, operator, traffic.uid, draft(title_ja="交通量", category_code="transport", standard_kind=None,
                                                     distributions=(csv,)))
    now[0] = dt.datetime(2025, 11, 1, 10, tzinfo=JST)
    for uid, title, category, path in ((traffic.uid, "交通量", "transport", "/catalog/kumamoto/traffic"),
                                       (shelter.uid, "避難所一覧", "health_welfare", "/catalog/kumamoto/shelters-v2")):
        register.update(db, operator, uid, draft(title_ja=title, category_code=category, standard_kind=None,
                                                 distributions=routed(path)))

    assert shelter.first_connected_at == dt.datetime(2025, 9, 1, 10, tzinfo=JST)  # its first route, kept
    assert traffic.first_connected_at == dt.datetime(2025, 1, 10, tzinfo=JST)  # not moved by the new route
    rule = ct.check_data_rule(db, operator, contract.id)
    assert [(f.title_ja, f.connected_by) for f in rule.connected] == [("避難所一覧", (ct.ConnectedBy.route,))]
    assert ct.ConnectedBy.route.ja == "初めてルート接続" and ct.ConnectedBy.published.ja == "初めて公開"


def test_the_demo_sample_catalogue_is_not_newly_connected_by_a_sample_project(db, operator, tenant_factory):
    """The demo's sample catalogue stands for one already on the platform: a project of the demo's call (whose
    contract period lies in this fiscal year; 熊本市 and 八代市 represent two of its sample groups) provides some
    of it but claims none of it as newly connected."""
    from catalogue.sample import load_sample_datasets

    for code in ("430005", "431001", "432024"):
        tenant_factory(code)
    load_sample_datasets(db, operator)
    codes = sorted(representative_codes(corporate_number_of_local_government("431001"))
                   | representative_codes(corporate_number_of_local_government("432024")))
    provided = list(db.scalars(sa.select(Dataset.name).where(Dataset.provider_code.in_(codes),
                                                             Dataset.status == DatasetStatus.published)))
    assert len(provided) >= 5  # the group's members do provide sample datasets
    year = fiscal_year_of(today_jst())
    assert list(db.scalars(ct.newly_connected(codes, fiscal_year_start(year), fiscal_year_start(year + 1)))) == []


def test_personal_data_does_not_count_as_a_kind(db, operator, call, chosen):
    contract = _contract(db, operator, call, chosen[0])
    _used(db, _dataset(db, "yatsushiro-aed", "432024", "aed", dt.datetime(2025, 1, 10, tzinfo=JST)), "431001",
          dt.date(2025, 8, 1))
    _dataset(db, "kumamoto-patients", "431001", None, dt.datetime(2025, 10, 1, tzinfo=JST), category="health",
             personal=PersonalInfo.processed)
    rule = ct.check_data_rule(db, operator, contract.id)
    assert [f.name for f in rule.connected] == ["kumamoto-patients"] and rule.kinds == ["aed"] and not rule.met


facts = st.lists(st.tuples(st.sampled_from(["aed", "evacuation_space", "category:safety", "category:tourism"]),
                           st.booleans(), st.booleans()), max_size=8)


@settings(max_examples=300, deadline=None)
@given(facts, facts)
def test_the_rule_equals_an_independent_reading_of_the_seed(used, connected):
    def fact(n, kind, personal, _):
        return ct.DatasetFact(n, f"d{n}", f"d{n}", "432024", kind, kind, personal, 0)

    used_facts = [fact(n, *f) for n, f in enumerate(used)]
    connected_facts = [fact(100 + n, *f) for n, f in enumerate(connected)]
    kinds = set()
    for kind, personal, _ in used + connected:
        if not personal:
            kinds.add(kind)
    expected = len(kinds) >= 2 and len(used) + len(connected) >= 1 and len(connected) >= 1
    assert (ct.judge(used_facts, connected_facts) == []) is expected


# --- the cost under the year's grant --------------------------------------------------------------------

def test_the_contracts_cost_joins_the_years_costs_under_the_grant(db, operator, call, chosen):
    contract = _contract(db, operator, call, chosen[0])
    grant = grants.create_grant(db, FINANCE, GrantCreate.model_validate({
        "fiscal_year": 2025, "name": "デジタル田園都市国家構想交付金", "grantor": "内閣府", "rate": "1/2",
        "categories": ["overhead"], "applied_amount": 6_000_000}))
    with pytest.raises(NotPermitted):
        ct.record_cost(db, operator, contract.id, grant.id)  # the operator does not enter the books
    before = grants.year_funding(db, FINANCE, 2025)
    ct.record_cost(db, FINANCE, contract.id, grant.id)
    after = grants.year_funding(db, FINANCE, 2025)
    assert after.cost_total - before.cost_total == 4_800_000
    assert after.grant_total - before.grant_total == 2_400_000  # ⌊1/2 × 4,800,000⌋, within the applied 6,000,000
    assert contract.cost_item_id in [int(i) for i in grants.get_grant(db, grant.id).item_ids.split()]
    with pytest.raises(Conflict):
        ct.record_cost(db, FINANCE, contract.id, grant.id)
    record = db.scalars(sa.select(AuditRecord).where(AuditRecord.action == "competition.contract.cost")).one()
    after = json.loads(record.after)
    assert after["amount_yen"] == 4_800_000
    assert [step["action"] for step in after["steps"]] == ["billing.cost_item.create", "billing.grant.update"]


# --- the API ----------------------------------------------------------------------------------------------

def test_the_contract_through_the_api_refuses_over_the_cap_in_words_and_shows_the_data_rule(client, db, call, chosen,
                                                                                             as_operator):
    group = chosen[0]
    body = {"representative": KUMAMOTO_CITY, "amount_yen": 5_200_000, "starts_on": "2025-06-10", "ends_on": "2026-03-27",
            "signed_on": "2025-06-10", "lines": [{"category": "labour", "item": "人件費", "amount_yen": 5_200_000}],
            "items": [{"kind": "dataset", "title": "混雑データ", "due_on": "2026-02-27"}]}
    address = f"/api/v1/competition/calls/{call.id}/groups/{group.id}/contract"
    over = client.post(address, json=body, headers=as_operator)
    assert over.status_code == 422 and over.content_type == "application/problem+json"
    assert "委託限度額 5,000,000 円（税込）を超えています" in over.get_data(as_text=True)
    body["amount_yen"] = body["lines"][0]["amount_yen"] = 4_900_000
    made = client.post(address, json=body, headers=as_operator)
    assert made.status_code == 201, made.get_data(as_text=True)
    contract = made.get_json()
    assert contract["amount_yen"] == 4_900_000 and contract["lines"][0]["category_ja"] == "人件費"
    listed = client.get(f"/api/v1/competition/calls/{call.id}/contracts", headers=as_operator).get_json()
    assert [c["id"] for c in listed["items"]] == [contract["id"]]
    rule = client.get(f"/api/v1/competition/contracts/{contract['id']}/data-rule", headers=as_operator).get_json()
    assert rule["met"] is False and rule["connected"] == []
    assert any("新たに基盤へ接続" in r["message_ja"] for r in rule["reasons"])
    # a dataset of 熊本市 published before the period and first connected by route in it: the reason is given
    before, inside = dt.datetime(2025, 1, 10, tzinfo=JST), dt.datetime(2025, 9, 1, tzinfo=JST)
    _dataset(db, "kumamoto-traffic", "431001", None, before).first_connected_at = inside
    db.commit()
    rule = client.get(f"/api/v1/competition/contracts/{contract['id']}/data-rule", headers=as_operator).get_json()
    assert [(f["name"], f["connected_by"]) for f in rule["connected"]] == [
        ("kumamoto-traffic", [{"code": "route", "label_ja": "初めてルート接続", "label_en": "First connected by route"}])]
    item = contract["items"][0]["id"]
    wrong = client.post(f"/api/v1/competition/contracts/{contract['id']}/items/{item}/delivered",
                        json={"delivered_on": "2026-02-20"}, headers=as_operator)
    assert wrong.status_code == 422 and "データセット台帳から選んでください" in wrong.get_data(as_text=True)


# --- the command line -------------------------------------------------------------------------------------

def _run(app, *args, role=None):
    return app.test_cli_runner().invoke(args=[*args, "--as", "contract-test", *(["--role", role] if role else [])])


def test_the_contract_from_the_command_line_refuses_a_late_period_and_reports_the_data_rule(app, db, call, chosen):
    group = chosen[0]
    common = ["competition", "contract", str(call.id), str(group.id), "--representative", KUMAMOTO_CITY,
              "--amount", "4,000,000", "--signed", "2025-06-10", "--line", "labour:人件費=3,000,000",
              "--line", "connection:データ接続作業=1000000", "--item", "report:実績報告書=2026-03-20"]
    late = _run(app, *common, "--period", "2025-06-10", "2026-03-31")
    assert late.exit_code != 0 and "委託期間は令和8年3月27日まで" in late.output
    made = _run(app, *common, "--period", "2025-06-10", "2026-03-27")
    assert made.exit_code == 0, made.output
    contract = db.scalar(sa.select(ct.Contract))
    assert "4,000,000" in _run(app, "competition", "contracts", str(call.id)).output
    rule = _run(app, "competition", "data-rule", str(contract.id))
    assert rule.exit_code == 1 and "新たに基盤へ接続" in rule.output
    report = ct.deliverables(db, contract.id)[0]
    assert _run(app, "competition", "deliver", str(contract.id), str(report.id), "2026-03-19").exit_code == 0
    grant = grants.create_grant(db, FINANCE, GrantCreate.model_validate({
        "fiscal_year": 2025, "name": "交付金", "grantor": "内閣府", "rate": "1/2", "categories": ["overhead"]}))
    db.commit()
    refused = _run(app, "competition", "cost", str(contract.id), str(grant.id), role="platform-operator")
    assert refused.exit_code != 0
    entered = _run(app, "competition", "cost", str(contract.id), str(grant.id))
    assert entered.exit_code == 0, entered.output
    actions = list(db.scalars(sa.select(AuditRecord.action).where(AuditRecord.actor_subject == "contract-test")
                              .order_by(AuditRecord.id)))
    assert actions == ["competition.contract.create", "competition.contract.deliver", "competition.contract.cost"]


# --- the pages --------------------------------------------------------------------------------------------

def test_the_contract_page_keeps_a_refused_form_shows_the_data_rule_and_finance_enters_the_cost(client, db, call, chosen):
    from tests.conftest import sign_in

    group = chosen[0]
    sign_in(client, ["platform-operator"], csrf="contracts-csrf")
    page = client.get("/admin/competition-contracts/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "「観光データ連携」の委託契約を登録" in html and "人件費" in html and "熊本市（9000020431001）" in html
    form = {"csrf_token": "contracts-csrf", "representative": KUMAMOTO_CITY, "amount_yen": "5,500,000",
            "starts_on": "2025-06-10", "ends_on": "2026-03-27", "signed_on": "2025-06-10",
            "category_1": "labour", "item_1": "実証担当者の人件費", "amount_1": "5500000",
            "kind_1": "dataset", "title_1": "観光施設の混雑データ", "due_1": "2026-02-27"}
    refused = client.post(f"/admin/competition-contracts/calls/{call.id}/groups/{group.id}", data=form)
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "委託限度額 5,000,000 円（税込）を超えています" in text
    assert 'value="5,500,000"' in text and 'value="実証担当者の人件費"' in text and 'value="観光施設の混雑データ"' in text
    form["amount_yen"] = form["amount_1"] = "4,500,000"
    made = client.post(f"/admin/competition-contracts/calls/{call.id}/groups/{group.id}", data=form)
    assert made.status_code == 302, made.get_data(as_text=True)[:500]
    contract = db.scalar(sa.select(ct.Contract))
    detail = client.get(made.headers["Location"]).get_data(as_text=True)
    assert "要件を満たしていません" in detail and "新たに基盤へ接続（初めて公開、または初めてルート接続）したデータセットがありません" in detail
    assert "交付金の対象経費として計上する" not in detail  # the operator does not enter the books

    grant = grants.create_grant(db, FINANCE, GrantCreate.model_validate({
        "fiscal_year": 2025, "name": "デジタル実装交付金", "grantor": "内閣府", "rate": "1/2", "categories": ["overhead"]}))
    db.commit()
    sign_in(client, ["finance-officer"], csrf="contracts-csrf")
    shown = client.get(f"/admin/competition-contracts/{contract.id}").get_data(as_text=True)
    assert "デジタル実装交付金" in shown
    entered = client.post(f"/admin/competition-contracts/{contract.id}/cost",
                          data={"csrf_token": "contracts-csrf", "grant_id": str(grant.id), "category": "run"})
    assert entered.status_code == 302
    db.expire_all()
    assert db.get(ct.Contract, contract.id).grant_id == grant.id
    # a member's dataset first published in the period and one first connected by route in it, each with its reason
    _dataset(db, "kumamoto-evacuation", "431001", "evacuation_space", dt.datetime(2025, 10, 1, tzinfo=JST))
    _dataset(db, "kumamoto-traffic", "431001", None, dt.datetime(2025, 1, 10, tzinfo=JST)).first_connected_at = (
        dt.datetime(2025, 9, 1, tzinfo=JST))
    db.commit()
    shown = client.get(f"/admin/competition-contracts/{contract.id}").get_data(as_text=True)
    assert "新たに接続（初めて公開）" in shown and "新たに接続（初めてルート接続）" in shown

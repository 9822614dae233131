"""A consent text's data item names the dataset of the register it comes from, or none (issue 23, Build 1):
the datasets a service may name are those its owner may see under the register's access rules (its
own that are not withdrawn, others' published ones open to it); any other is refused naming the item,
in the API as problem+json and in the form beside the item's picker, with what was typed kept. The
form picks datasets by title and provider (never a typed identifier); the service page, the consent
text shown at the counter and the receipt (JSON and printable) show the dataset's title and provider."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.conftest import sign_in
from tests.consent.conftest import KUMAMOTO, SERVICE, YATSUSHIRO, person

PREFECTURE = "430005"
TEXTS = "/api/v1/consent/services/{}/texts"


@pytest.fixture
def open_api(app, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)


@pytest.fixture
def register(db, operator, tenant_factory):
    """A maker of datasets of the register: published unless told otherwise."""
    from catalogue import operations as datasets
    from catalogue.operations import DatasetDraft

    tenant_factory(PREFECTURE)

    def make(provider: str, title: str, *, access: str = "open", grantees: tuple[str, ...] = (), status: str = "published"):
        dataset = datasets.register(db, operator, DatasetDraft(
            provider_code=provider, title_ja=title, category_code="other", licence_code="CC-BY-4.0", access=access,
            grantees=grantees, description=f"{title}の説明。", department="情報政策課", contact_email="data@example.jp"))
        if status in ("published", "withdrawn"):
            datasets.move(db, operator, dataset.uid, "submit")
            datasets.move(db, operator, dataset.uid, "publish")
        if status == "withdrawn":
            datasets.move(db, operator, dataset.uid, "withdraw", "終了")
        db.commit()
        return dataset

    return make


@pytest.fixture
def register_world(consent_setup, register):
    """熊本市's service and the datasets around it, by what 熊本市 may name."""
    found = {
        "open": register(PREFECTURE, "県民の健康診断結果"),
        "members": register(PREFECTURE, "世帯構成の統計", access="members"),
        "own_draft": register(KUMAMOTO, "熊本市 住民基本台帳", status="draft"),
        "granted": register(YATSUSHIRO, "八代市 子育て世帯一覧", access="named", grantees=(KUMAMOTO,)),
        "not_granted": register(YATSUSHIRO, "八代市 所得情報", access="named", grantees=(PREFECTURE,)),
        "others_draft": register(YATSUSHIRO, "八代市 作成中のデータ", status="draft"),
        "own_withdrawn": register(KUMAMOTO, "熊本市 旧台帳", status="withdrawn"),
    }
    return consent_setup(), found


def _text(**fields):
    return {**SERVICE["text"], "title": "第2版", **fields}


def test_an_item_names_a_dataset_its_owner_may_see_and_the_answer_gives_its_title_and_provider(
        client, db, register_world, open_api):
    service, found = register_world
    items = {"健診結果": {"dataset_ref": found["open"].name}, "世帯構成": {"dataset_ref": found["members"].uid},
             "住所": {"dataset_ref": found["own_draft"].name}, "子育て世帯": {"dataset_ref": found["granted"].name},
             "生年月日": {}}
    response = client.post(TEXTS.format(service.id), json=_text(items=items))
    assert response.status_code == 201, response.get_json()
    answered = response.get_json()["items"]
    assert [(i["name"], i["dataset_ref"]) for i in answered] == [
        ("健診結果", found["open"].name), ("世帯構成", found["members"].name), ("住所", found["own_draft"].name),
        ("子育て世帯", found["granted"].name), ("生年月日", None)]
    assert answered[0]["dataset"]["title_ja"] == "県民の健康診断結果" and answered[0]["dataset"]["provider_name_ja"] == "熊本県"
    assert answered[3]["dataset"]["provider_name_ja"] == "八代市" and answered[4]["dataset"] is None
    again = client.get(f"/api/v1/consent/services/{service.id}").get_json()["current_text"]["items"]
    assert again == answered


@pytest.mark.parametrize("which", ["unknown", "not_granted", "others_draft", "own_withdrawn"])
def test_a_dataset_the_owner_may_not_name_is_refused_naming_the_item(client, db, register_world, open_api, which):
    from residents.consent.models import ConsentText

    service, found = register_world
    ref = "no-such-dataset" if which == "unknown" else found[which].name
    before = db.scalar(sa.select(sa.func.count()).select_from(ConsentText))
    response = client.post(TEXTS.format(service.id), json=_text(items={"生年月日": {}, "所得": {"dataset_ref": ref}}))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert [e["field"] for e in problem["errors"]] == ["items[1].dataset_ref"]
    assert "「所得」" in problem["errors"][0]["message_ja"] and ref in problem["errors"][0]["message_ja"]
    assert "“所得”" in problem["errors"][0]["message_en"]
    # an unknown dataset and one the owner may not see read alike: nothing tells that the latter exists
    assert "データセット台帳にないか" in problem["errors"][0]["message_ja"]
    assert db.scalar(sa.select(sa.func.count()).select_from(ConsentText)) == before


def test_registering_a_service_with_an_unknown_dataset_registers_nothing(client, db, consent_setup, register, open_api):
    from residents.consent.models import DataService

    register(PREFECTURE, "県民の健康診断結果")
    body = {**SERVICE, "owner_code": KUMAMOTO,
            "text": _text(items={"健診結果": {"dataset_ref": "kenshin-typo"}})}
    response = client.post("/api/v1/consent/services", json=body)
    assert response.status_code == 422 and response.get_json()["errors"][0]["field"] == "text.items[0].dataset_ref"
    assert db.scalar(sa.select(sa.func.count()).select_from(DataService)) == 0


def test_the_form_picks_datasets_by_title_and_provider_and_the_pages_and_receipt_show_them(
        app, client, db, register_world, give, monkeypatch):
    service, found = register_world
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    form = client.get(f"/admin/consent-services/{service.id}/texts/new").get_data(as_text=True)
    # the datasets 熊本市 may name, by title with the provider; none it may not (a draft or a named one of another)
    assert f'<option value="{found["open"].uid}">県民の健康診断結果（熊本県）</option>' in form
    assert "八代市 子育て世帯一覧（八代市）" in form and "熊本市 住民基本台帳（熊本市）" in form
    assert "八代市 所得情報" not in form and "八代市 作成中のデータ" not in form and "熊本市 旧台帳" not in form
    assert 'value="生年月日"' in form and "台帳にない項目" in form
    # a search narrows the pickers and saves nothing; what was typed stays
    base = {"csrf_token": "t", "title": "第2版", "body_ja": "出所を示しました。", "body_en": "",
            "purposes": "子育て支援サービスの案内", "item_name": ["生年月日", "健診結果", ""],
            "item_dataset": ["", found["open"].uid, ""]}
    narrowed = client.post(f"/admin/consent-services/{service.id}/texts/new",
                           data={**base, "dataset_q": "子育て", "action": "search"}).get_data(as_text=True)
    assert "八代市 子育て世帯一覧（八代市）" in narrowed and "熊本市 住民基本台帳" not in narrowed
    assert f'<option value="{found["open"].uid}" selected>県民の健康診断結果（熊本県）</option>' in narrowed  # kept
    more = client.post(f"/admin/consent-services/{service.id}/texts/new", data={**base, "action": "more_rows"})
    assert more.get_data(as_text=True).count('name="item_name"') == 6
    # a dataset 熊本市 may not name (a page kept open while access changed, a forged form): beside its row
    refused = client.post(f"/admin/consent-services/{service.id}/texts/new", data={
        **base, "item_dataset": ["", found["not_granted"].uid, ""], "confirmed": "1"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="item_dataset_1-error"' in text and "データ項目「健診結果」の出所" in text
    assert 'value="健診結果"' in text and 'value="第2版"' in text
    saved = client.post(f"/admin/consent-services/{service.id}/texts/new", data={**base, "confirmed": "1"})
    assert saved.status_code == 302
    page = client.get(f"/admin/consent-services/{service.id}").get_data(as_text=True)
    assert "健診結果（出所： 県民の健康診断結果・熊本県）" in page  # 熊本市 cannot open 熊本県's register page: no link
    assert "生年月日</li>" in page  # a free item, as it is

    # 熊本市's own dataset links to its page
    own = client.post(f"/admin/consent-services/{service.id}/texts/new", data={
        **base, "title": "第3版", "item_dataset": ["", found["own_draft"].uid, ""], "confirmed": "1"})
    assert own.status_code == 302
    page = client.get(f"/admin/consent-services/{service.id}").get_data(as_text=True)
    assert f'<a href="/admin/datasets/{found["own_draft"].uid}">熊本市 住民基本台帳</a>・熊本市' in page

    # the consent text at the counter and the receipt, JSON and printable
    subject = person()
    db.refresh(service)  # version 3 is current
    record = give(service, subject)
    sign_in(client, ["municipal-staff"], [KUMAMOTO], csrf="t")
    counter = client.get("/admin/consent/").get_data(as_text=True)
    assert "熊本市 住民基本台帳" in counter
    receipt = client.get(f"/admin/consent/receipt/{record.receipt_id}").get_data(as_text=True)
    assert "健診結果（出所：" in receipt and "熊本市 住民基本台帳" in receipt and "生年月日" in receipt
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)
    data = client.get(f"/api/v1/consent/records/{record.receipt_id}").get_json()
    assert data["personal_data_sources"][1]["dataset"]["name"] == found["own_draft"].name
    assert data["personal_data_sources"][1]["dataset"]["provider_name_ja"] == "熊本市"
    assert data["personal_data_sources"][0] == {"category": "生年月日", "dataset": None}


def test_the_operator_registering_for_an_owner_is_offered_that_owners_datasets(client, db, register_world):
    _, found = register_world
    sign_in(client, csrf="t")
    form = client.post("/admin/consent-services/new", data={
        "csrf_token": "t", "owner_code": YATSUSHIRO, "action": "search", "item_name": [""], "item_dataset": [""]})
    text = form.get_data(as_text=True)
    assert form.status_code == 200 and "八代市 作成中のデータ" in text and "八代市 所得情報" in text
    assert "熊本市 住民基本台帳" not in text  # 熊本市's draft is not 八代市's to name

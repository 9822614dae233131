"""A consent text lists each purpose and each data item once, and the API's contract says so (issue 26):
purposes are unique items, data items are keyed by their name, and neither carries white space around
it (each is stored as sent, so what the contract calls different is different)."""

from __future__ import annotations

import pytest

from tests.consent.conftest import KUMAMOTO, SERVICE

TEXTS = "/api/v1/consent/services/{}/texts"


@pytest.fixture
def open_api(app, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_API_OPEN_FOR_DEVELOPMENT", True)


def _text(**fields):
    return {**SERVICE["text"], "title": "第2版", **fields}


def test_items_keyed_by_name_keep_their_order_and_their_dataset(client, db, consent_setup, open_api):
    service = consent_setup()
    items = {"世帯構成": {}, "生年月日": {"dataset_ref": ""}, "所得": {"dataset_ref": None}}
    response = client.post(TEXTS.format(service.id), json=_text(items=items))
    assert response.status_code == 201, response.get_json()
    # free items (no dataset; a dataset of the register: tests/consent/test_item_datasets.py)
    assert response.get_json()["items"] == [{"name": "世帯構成", "dataset_ref": None, "dataset": None},
                                            {"name": "生年月日", "dataset_ref": None, "dataset": None},
                                            {"name": "所得", "dataset_ref": None, "dataset": None}]


@pytest.mark.parametrize("fields, field, words", [
    ({"purposes": ["子育て支援サービスの案内", "子育て支援サービスの案内"]}, "purposes", "listed twice"),
    ({"purposes": ["子育て支援サービスの案内 "]}, "purposes[0]", "white space"),
    ({"items": {"生年月日": {}, " 生年月日": {}}}, None, "white space"),
    ({"items": {}}, "items", "At least 1"),
    ({"items": [{"name": "生年月日"}]}, "items", "an object"),  # the list form is not the shape
])
def test_a_text_that_repeats_or_pads_is_refused_naming_the_field(client, db, consent_setup, open_api, fields, field, words):
    service = consent_setup()
    response = client.post(TEXTS.format(service.id), json=_text(**fields))
    assert response.status_code == 422, response.get_json()
    errors = response.get_json()["errors"]
    found = [e for e in errors if field is None and e["field"].startswith("items.") or e["field"] == field]
    assert found and words in found[0]["message_en"], errors


def test_the_contract_states_each_once(app):
    spec = app.api_doc
    draft = spec["components"]["schemas"]["TextDraft"]
    assert draft["properties"]["purposes"]["uniqueItems"] is True
    items = draft["properties"]["items"]
    assert items["type"] == "object" and "patternProperties" not in items
    names = items["propertyNames"]
    import re
    assert re.search(names["pattern"], "生年月日") and not re.search(names["pattern"], " 生年月日")
    assert not re.search(names["pattern"], "生年月日\u3000")  # a full-width space is white space too


def test_the_form_refuses_an_item_twice_beside_the_field_keeping_what_was_typed(client, db, consent_setup):
    from tests.conftest import sign_in

    service = consent_setup()
    sign_in(client, ["municipal-admin"], [KUMAMOTO], csrf="t")
    draft = {"csrf_token": "t", "title": "第2版", "body_ja": "項目を追加しました。", "body_en": "",
             "purposes": "子育て支援サービスの案内", "item_name": ["生年月日", "世帯構成", "生年月日"],
             "item_dataset": ["", "", ""], "confirmed": "1"}
    refused = client.post(f"/admin/consent-services/{service.id}/texts/new", data=draft)
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and 'id="items-error"' in text and "同じデータ項目が二度書かれています" in text
    assert text.count('name="item_name" class="form-control" value="生年月日"') == 2  # each row as typed


def test_a_refused_service_move_says_the_move_in_plain_words():
    """Issue 36: the refusal named the move with a "d" glued on ("cannot be suspendd", "endd")."""
    from core.lifecycle import IllegalMove
    from residents.consent import lifecycle
    from residents.consent.models import DataService, ServiceStatus

    with pytest.raises(IllegalMove) as refused:
        lifecycle.check(DataService(status=ServiceStatus.ended), "suspend", "理由")
    assert refused.value.message_en == "Cannot suspend a service that is ended."
    assert "「一時停止」できません" in refused.value.message_ja

"""Keycloak refusing what renkei sent is the request's fault, not an outage (issue 36, item 8): a
schema-valid 2,000-character API-client purpose, which Keycloak's 255-character description column
refuses with a bare 500, was answered 503 "try again shortly". The purpose is now limited to what
Keycloak holds, stated in the contract; a Keycloak 400 is a 422 with its reason; only a Keycloak
that cannot be reached (or fails) is a 503."""

from __future__ import annotations

import datetime as dt

import pytest
from keycloak.exceptions import KeycloakConnectionError, KeycloakPostError

from core.calendar import today_jst
from core.errors import Invalid
from tenancy.errors import IdentityUnavailable
from tenancy.identity.api_clients import PURPOSE_MAX
from tenancy.identity.keycloak.common import KEYCLOAK_TEXT_MAX, translate_errors


def client_body(**fields):
    return {"name": "防災ダッシュボード連携", "purpose": "避難所の開設状況を取得する", "scopes": ["broker.read"],
            "expires_on": (today_jst() + dt.timedelta(days=30)).isoformat(), "allowlist": ["127.0.0.1/32"], **fields}


def test_a_purpose_longer_than_keycloak_holds_is_refused_and_the_contract_says_so(open_api, tenant_factory):
    tenant_factory("431001")
    assert PURPOSE_MAX == KEYCLOAK_TEXT_MAX == 255
    answer = open_api.post("/api/v1/tenants/431001/api-clients", json=client_body(purpose="目" * 2000))
    assert answer.status_code == 422 and answer.mimetype == "application/problem+json"
    assert answer.get_json()["errors"] == [{"field": "purpose", "message_en": "At most 255 characters.",
                                            "message_ja": "255 文字以内で入力してください。"}]
    schemas = open_api.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {schemas[name]["properties"]["purpose"]["maxLength"] for name in ("CreateBody", "EditBody")} == {255}


@pytest.mark.keycloak
def test_the_longest_purpose_is_held_by_keycloak(client, db, tenant_factory, user_factory):
    tenant_factory("431001")
    _, kumamoto = user_factory(("municipal-admin",), "431001")
    created = client.post("/api/v1/tenants/431001/api-clients", json=client_body(purpose="目" * PURPOSE_MAX),
                          headers=kumamoto)
    assert created.status_code == 201, created.get_json()


def test_a_keycloak_refusal_is_a_422_with_its_reason_and_only_an_unreachable_keycloak_a_503():
    @translate_errors
    def refused():
        raise KeycloakPostError(error_message="bad", response_code=400,
                                response_body=b'{"errorMessage":"Invalid client description"}')

    @translate_errors
    def unreachable():
        raise KeycloakConnectionError("Connection refused")

    with pytest.raises(Invalid) as invalid:
        refused()
    assert "Invalid client description" in invalid.value.message_en
    assert "Invalid client description" in invalid.value.message_ja
    with pytest.raises(IdentityUnavailable):
        unreachable()

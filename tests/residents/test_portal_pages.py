"""The portal's door without Keycloak: refusals a resident may meet in words (not set up, the sign-in service
unreachable, a forged callback), never a 500; a resident's session ends when idle; the staff's and the
resident's sessions are apart (a resident's session opens no staff page, a staff session no resident)."""

from __future__ import annotations

import time

import pytest

from residents.models import ResidentProvider
from tests.conftest import sign_in as staff_sign_in
from tests.residents.conftest import KUMAMOTO


@pytest.fixture
def door(app, db, consent_setup, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", KUMAMOTO)
    monkeypatch.setitem(app.config, "RENKEI_KEYCLOAK_URL", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setitem(app.config, "RENKEI_RESIDENTS_REALM", "residents-unreachable")


def test_the_door_says_when_sign_in_is_not_set_up(client, door):
    answer = client.get("/portal/login")
    assert answer.status_code == 503 and "認証事業者が未設定" in answer.get_data(as_text=True)
    assert "no identity provider is configured" in client.get("/portal/login?lang=en").get_data(as_text=True)


def test_the_door_says_when_the_sign_in_service_cannot_be_reached(client, db, door):
    db.add(ResidentProvider(alias="mynumber-card", display_name="マイナンバーカード", issuer="https://card.example.jp",
                            discovery_url="https://card.example.jp/.well-known/openid-configuration",
                            assurance_level=3, created_by="test"))
    db.commit()
    answer = client.get("/portal/login")
    assert answer.status_code == 503 and "サインインのサービスに接続できません" in answer.get_data(as_text=True)


def test_a_portal_without_its_municipality_signs_no_one_in(app, client, door, monkeypatch):
    monkeypatch.setitem(app.config, "RENKEI_PORTAL_TENANT", "")
    assert client.get("/portal/login").status_code == 503


def _resident_session(client, seen: float) -> None:
    with client.session_transaction() as session:
        session["resident"] = {"resident_id": 1, "tenant_code": KUMAMOTO, "common_id": "ABCDEFGHJKMNPQR5",
                               "status": "active", "provider": "mynumber-card", "assurance_level": 3,
                               "signed_in_at": "2026-11-25T10:00:00+00:00", "seen": seen}


def test_a_resident_s_session_opens_no_staff_page_and_ends_when_idle(app, client, db, consent_setup):
    _resident_session(client, time.time())
    assert 'id="common-id"' in client.get("/portal/").get_data(as_text=True)
    for path in ("/admin/", "/admin/residents/"):
        answer = client.get(path)
        assert answer.status_code == 302 and "/login" in answer.headers["Location"], path
    idle = app.config["RENKEI_SESSION_IDLE_MINUTES"] * 60 + 60
    _resident_session(client, time.time() - idle)
    assert 'id="sign-in"' in client.get("/portal/").get_data(as_text=True)


def test_a_staff_session_opens_no_resident(client, db, consent_setup):
    staff_sign_in(client, ("resident-desk",), (KUMAMOTO,))
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="sign-in"' in page and 'id="common-id"' not in page


def test_a_resident_enrolled_with_two_municipalities_is_offered_the_other_one(app, client, db, consent_setup):
    from tests.residents.conftest import YATSUSHIRO

    _resident_session(client, time.time())
    with client.session_transaction() as session:
        session["resident"] = {**session["resident"], "municipalities": [KUMAMOTO, YATSUSHIRO]}
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="other-municipalities"' in page and "八代市の住民として利用する" in page
    assert f"/portal/login?municipality={YATSUSHIRO}" in page
    assert f"/portal/login?municipality={KUMAMOTO}" not in page  # the one signed in under is not offered
    _resident_session(client, time.time())  # one municipality only: nothing offered
    assert 'id="other-municipalities"' not in client.get("/portal/").get_data(as_text=True)

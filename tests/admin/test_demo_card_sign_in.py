"""The demo's card sign-in (issue 55 item 2): `renkei demo` stands a realm of its Keycloak in for the Digital
Agency's card app (デジタル認証アプリ), with sample card holders; it sets up the residents' realm and the stand-in
as its provider with the product's own functions, the portal for 熊本市, and joins the cards of the people
the counter enrolled to them. A card holder signs in through the real Keycloak flow and finds their home page
with something to act on; the setup runs again on the same Keycloak."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from admin.cli import DEMO_LOADER
from admin.commands.demo import card_holder_lines, prepare_card_sign_in
from core import authz
from core.actor import console_actor
from tests.admin.test_demo_samples import load_demo
from tests.residents.test_signin import PASSWORD, card_sign_in

pytestmark = pytest.mark.keycloak


@pytest.fixture
def demo_portal(app, db, keycloak_server, monkeypatch):
    """The demo's data and its card sign-in, in realms of this test's own."""
    from tenancy.identity.keycloak import master_admin

    run = uuid.uuid4().hex[:8]
    residents_realm, standin = f"residents-demo-{run}", f"card-app-standin-{run}"
    for name, value in {"RENKEI_RESIDENTS_REALM": residents_realm, "RENKEI_PORTAL_TENANT": "",
                        "RENKEI_RESIDENTS_CLIENT_SECRET": "demo-portal-secret-0123456789",
                        "RENKEI_PUBLIC_URL": "http://renkei.test",
                        "RENKEI_KEYCLOAK_ADMIN_USER": keycloak_server.admin_user,
                        "RENKEI_KEYCLOAK_ADMIN_PASSWORD": keycloak_server.admin_password}.items():
        monkeypatch.setitem(app.config, name, value)
    load_demo(db)
    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    holders = prepare_card_sign_in(db, loader, PASSWORD, standin)
    db.commit()
    try:
        yield holders, (lambda: prepare_card_sign_in(db, loader, PASSWORD, standin))
    finally:
        master = master_admin(keycloak_server.url, keycloak_server.admin_user, keycloak_server.admin_password, "master")
        for realm in (standin, residents_realm):
            if any(row["realm"] == realm for row in master.get_realms()):
                master.delete_realm(realm)


def _common_id(app, db, full_name: str) -> str:
    """The common ID the counter issued to the sample person of that name."""
    from admin.resident_keys import keyring
    from residents import operations as residents
    from residents.models import Resident, ResidentStatus

    for resident in db.scalars(sa.select(Resident).where(Resident.status == ResidentStatus.active)):
        if residents.personal_items(resident, keyring())["full_name"] == full_name:
            return resident.common_id
    raise AssertionError(f"nobody named {full_name}")


def test_a_sample_card_holder_signs_in_as_the_counters_person_and_finds_something_to_do(app, client, db, demo_portal):
    holders, _ = demo_portal
    names = {username: name for username, name, _ in holders}
    assert {"card-hanako", "card-ichiro", "card-sakura"} <= set(names)
    counter_id = _common_id(app, db, names["card-ichiro"])
    landed = card_sign_in(client, "card-ichiro")
    assert landed.status_code == 302 and landed.headers["Location"].endswith("/portal/")
    home = client.get("/portal/")
    page = home.get_data(as_text=True)
    assert home.status_code == 200
    assert f'<code id="common-id">{counter_id}</code>' in page  # the counter's person: no second common ID
    assert "マイナンバーカード（デモ用の代役）" in page
    todo = page[page.index('id="todo"'):page.index('id="records-heading"')]
    assert "高齢者見守りサービス（サンプル）" in todo and "連携できます" in todo  # a sample service to link by its code
    services = client.get("/portal/services").get_data(as_text=True)
    assert "子育て支援ナビ（サンプル）" in services  # the link made at the counter


def test_a_newcomers_first_sign_in_enrols_them_with_services_to_link(app, client, db, demo_portal):
    from residents.models import Resident

    before = db.scalar(sa.select(sa.func.count()).select_from(Resident))
    card_sign_in(client, "card-sakura")
    page = client.get("/portal/").get_data(as_text=True)
    assert 'id="common-id"' in page
    assert db.scalar(sa.select(sa.func.count()).select_from(Resident)) == before + 1
    todo = page[page.index('id="todo"'):page.index('id="records-heading"')]
    assert todo.count('class="todo-link"') == 2  # 熊本市's two approved sample services


def test_the_setup_runs_again_on_the_same_keycloak_and_the_demo_prints_the_logins(app, client, db, demo_portal):
    from residents.models import Resident, ResidentIdentity

    holders, again = demo_portal
    counted = (db.scalar(sa.select(sa.func.count()).select_from(Resident)),
               db.scalar(sa.select(sa.func.count()).select_from(ResidentIdentity)))
    assert again() == holders
    db.commit()
    assert (db.scalar(sa.select(sa.func.count()).select_from(Resident)),
            db.scalar(sa.select(sa.func.count()).select_from(ResidentIdentity))) == counted
    card_sign_in(client, "card-hanako")  # the holder's password still works after the second run
    assert 'id="common-id"' in client.get("/portal/").get_data(as_text=True)
    printed = "\n".join(card_holder_lines(holders, "http://renkei.test", PASSWORD))
    assert "http://renkei.test/portal/" in printed and "デジタル認証アプリ（デモ用の代役）" in printed
    assert "card-hanako" in printed and PASSWORD in printed and "stand" in printed


def test_a_newcomer_links_the_sample_service_by_the_code_its_api_client_asks_for(app, client, db, demo_portal,
                                                                               keycloak_settings):
    """As the demo prints it: the sample library's API client gets a token from Keycloak and asks renkei for a code
    for its user; the newcomer signs in with their card and links the service with that code."""
    from admin.commands.demo import coded_service_lines, prepare_coded_service
    from residents.sample import CODED_SERVICE, CODED_USER
    from tenancy.identity.keycloak import client_credentials_token

    loader = console_actor(DEMO_LOADER, {authz.OPERATOR})
    coded = prepare_coded_service(db, loader)
    db.commit()
    printed = "\n".join(coded_service_lines(coded, "http://renkei.test", keycloak_settings.url, keycloak_settings.realm))
    assert f"client_id {coded.keycloak_client_id}  secret {coded.secret}" in printed and CODED_USER in printed
    token = client_credentials_token(keycloak_settings, coded.keycloak_client_id, coded.secret)["access_token"]
    issued = client.post("/api/v1/residents/link-codes", headers={"Authorization": f"Bearer {token}"},
                         json={"service_id": coded.service_id, "service_user_id": CODED_USER})
    assert issued.status_code == 201, issued.get_json()
    card_sign_in(client, "card-sakura")
    with client.session_transaction() as session:
        csrf = session.setdefault("csrf", "demo-csrf-token")
    linked = client.post("/portal/services/link", data={"csrf_token": csrf, "service_id": str(coded.service_id),
                                                        "code": issued.get_json()["code"]})
    assert linked.status_code == 302, linked.get_data(as_text=True)[:500]
    services = client.get("/portal/services").get_data(as_text=True)
    assert CODED_SERVICE in services and CODED_USER in services
    again = prepare_coded_service(db, loader)  # a second start: the same service, its secret not shown again
    assert (again.service_id, again.secret) == (coded.service_id, None)
    assert "secret was printed when the demo made it" in "\n".join(coded_service_lines(again, "b", "k", "r"))

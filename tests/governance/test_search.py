"""The header's one search box (issue 38 item 2): each kind is found by its name and by its code, grouped,
and never outside the searcher's scope: a municipal admin never sees another municipality's things or
people, a role that may not open a list sees nothing of its kind. Through the results page here (people
from a stand-in directory); through the API with real tokens and real Keycloak people below.

The expectations are written from the roles as the issue states them, not read from core.authz."""

from __future__ import annotations

import datetime as dt
import html
import re
import uuid

import pytest

from core.codes import corporate_check_digit
from tests.conftest import sign_in

A, B = "431001", "432024"  # 熊本市, 八代市


def _corporate(base12: str) -> str:
    return f"{corporate_check_digit(base12)}{base12}"


ORG = "7000012050002"  # 国税庁's number, as the members' tests use it
OTHER_ORG = _corporate("330001000031")

# what each role may list, by kind: "all", "own" (their tenant's or organisation's), or absent (none)
SCOPES = {
    "operator": {"tenant": "all", "member": "all", "dataset": "all", "person": "all", "api_client": "all", "proposal": "all"},
    "admin of A": {"tenant": "own", "dataset": "own", "person": "own", "api_client": "own", "proposal": "all"},
    "admin of B": {"tenant": "own", "dataset": "own", "person": "own", "api_client": "own", "proposal": "all"},
    "finance": {"tenant": "all", "proposal": "all"},
    "auditor": {"tenant": "all", "member": "all", "dataset": "all", "person": "all", "api_client": "all", "proposal": "all"},
    "org admin": {"member": "own", "dataset": "own", "person": "own", "api_client": "own"},
}
WHO = {
    "operator": (("platform-operator",), ()),
    "admin of A": (("municipal-admin",), (A,)),
    "admin of B": (("municipal-admin",), (B,)),
    "finance": (("finance-officer",), ()),
    "auditor": (("auditor",), ()),
    "org admin": (("org-admin",), (ORG,)),
}
OWNER = {"admin of A": A, "admin of B": B, "org admin": ORG}


class People:
    """A stand-in for Keycloak's people (tenancy.identity.keycloak.IdentityDirectory's two searches)."""

    def __init__(self):
        from tenancy.identity.keycloak import Account

        def person(username, last, first, code):
            return Account(id=str(uuid.uuid5(uuid.NAMESPACE_DNS, username)), username=username,
                           email=f"{username}@example.jp", first_name=first, last_name=last, enabled=True,
                           roles=frozenset(), tenant_codes=frozenset({code}))
        self.people = [person("kumamoto-clerk", "山田", "花子", A), person("yatsushiro-clerk", "佐藤", "次郎", B),
                       person("data-company-admin", "鈴木", "一郎", ORG)]
        self.sends_mail = False

    def group_people(self, code):
        return [p for p in self.people if code in p.tenant_codes]

    def find_people(self, text, limit):
        found = [p for p in self.people if text.lower() in f"{p.username} {p.email} {p.last_name} {p.first_name}".lower()]
        return found[:limit], len(found)

    def all_people(self):
        """Every person, as the people index's rebuild reads the realm (no reading in kana)."""
        return [(p, "") for p in self.people]


@pytest.fixture
def world(things, app, monkeypatch):
    """:func:`things`, and people of each municipality and organisation (a stand-in directory)."""
    monkeypatch.setitem(app.extensions, "renkei_identity", People())
    return {**things, "person": [(A, "山田 花子", "山田", "kumamoto-clerk"), (B, "佐藤 次郎", "佐藤", "yatsushiro-clerk"),
                                 (ORG, "鈴木 一郎", "鈴木", "data-company-admin")]}


@pytest.fixture
def things(db, operator, tenant_factory):
    """Two municipalities, two organisations, a dataset and an API client of each, a proposal; by kind,
    (owner, what the results call it, searched by name, searched by code)."""
    from governance import council
    from governance.schemas import ProposalCreate
    from catalogue import operations as datasets
    from tenancy.identity.models import ApiClient
    from tenancy.members.models import MemberStatus, Organisation, OrganisationKind
    from tests.datasets.conftest import draft

    tenant_factory(A, name_kana="クマモトシ")
    tenant_factory(B, name_kana="ヤツシロシ")
    tenant_factory("430005")
    for number, name, kana in ((ORG, "くまもとデータ株式会社", "クマモトデータ"), (OTHER_ORG, "八代情報サービス合同会社", "ヤツシロジョウホウ")):
        db.add(Organisation(corporate_number=number, name=name, name_kana=kana, kind=OrganisationKind.company,
                            prefecture="熊本県", in_prefecture=True, representative="代表 太郎", contact_name="担当 花子",
                            contact_email="c@example.jp", status=MemberStatus.approved))
    aed = datasets.register(db, operator, draft(provider_code=A, title_ja="熊本市AED設置箇所一覧"))
    shelter = datasets.register(db, operator, draft(provider_code=B, title_ja="八代市避難所一覧", standard_kind=None))
    org_data = datasets.register(db, operator, draft(provider_code=ORG, title_ja="くまもと人流データ", standard_kind=None))
    clients = {}
    for code, name in ((A, "熊本市防災アプリ"), (B, "八代市観光アプリ"), (ORG, "人流データ連携")):
        client = ApiClient(tenant_code=code, name=name, purpose="検索の試験", allowlist="192.0.2.0/24",
                           expires_on=dt.date(2030, 3, 31), created_by="test")
        db.add(client)
        db.flush()
        clients[code] = client
    proposal = council.propose(db, operator, ProposalCreate(title="データ連携基盤の利用促進について",
                                                            closes_at=dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=7)))
    db.commit()
    return {
        "tenant": [(A, "熊本市", "くまもと", "431001"), (B, "八代市", "ヤツシロ", "４３２０２４")],
        "member": [(ORG, "くまもとデータ株式会社", "クマモトデータ", ORG), (OTHER_ORG, "八代情報サービス合同会社", "八代情報", OTHER_ORG)],
        "dataset": [(A, "熊本市AED設置箇所一覧", "ａｅｄ設置", aed.name), (B, "八代市避難所一覧", "避難所", shelter.name),
                    (ORG, "くまもと人流データ", "人流データ", org_data.name)],
        "api_client": [(A, "熊本市防災アプリ", "防災アプリ", str(clients[A].id)), (B, "八代市観光アプリ", "観光アプリ", str(clients[B].id)),
                       (ORG, "人流データ連携", "人流データ連携", str(clients[ORG].id))],
        "proposal": [("", "データ連携基盤の利用促進について", "利用促進", str(proposal.id))],
    }


def _visible(role: str, kind: str, owner: str) -> bool:
    scope = SCOPES[role].get(kind)
    return scope == "all" or (scope == "own" and owner == OWNER.get(role))


def _page(client, text: str) -> tuple[int, str]:
    response = client.get("/admin/search/", query_string={"q": text, "lang": "ja"})
    return response.status_code, response.get_data(as_text=True)


HIT = re.compile(r'<li><a href="([^"]+)" translate="no">([^<]+)</a>')


def _found(page: str) -> list[str]:
    """The titles of the hits on a results page (the links of its groups)."""
    return [html.unescape(title) for _href, title in HIT.findall(page)]


@pytest.mark.parametrize("role", sorted(SCOPES))
def test_each_kind_is_found_by_name_and_code_and_never_outside_the_scope(client, world, role):
    roles, tenants = WHO[role]
    sign_in(client, roles, tenants)
    for kind, things in world.items():
        for owner, title, by_name, by_code in things:
            for text in (by_name, by_code):
                status, page = _page(client, text)
                assert status == 200, (role, text)
                if _visible(role, kind, owner):
                    assert title in _found(page), f"{role} should find {title} ({kind}) by {text}"
                else:
                    assert title not in _found(page), f"{role} must not find {title} ({kind}) by {text}"


def test_the_results_are_grouped_by_kind_and_link_to_each_page(client, world):
    sign_in(client)
    status, page = _page(client, "熊本")
    assert status == 200
    for heading in ("参加団体", "会員", "データセット", "利用者", "API クライアント", "協議会の議案"):
        assert f">{heading}" in page
    links = dict((title, href) for href, title in HIT.findall(page))
    assert links["熊本市"] == "/admin/onboarding/tenant/431001/"
    assert links["熊本市AED設置箇所一覧"].startswith("/admin/datasets/")
    assert links["熊本市防災アプリ"].startswith("/admin/api-clients/#client-")
    _status, page = _page(client, "くまもと")
    links = dict((title, href) for href, title in HIT.findall(page))
    assert links["くまもとデータ株式会社"] == f"/admin/members/{ORG}"
    _status, page = _page(client, "山田")
    links = dict((title, href) for href, title in HIT.findall(page))
    assert links["山田 花子"] == "/admin/users/?tenant=431001"
    _status, page = _page(client, "利用促進")
    assert dict((title, href) for href, title in HIT.findall(page))["データ連携基盤の利用促進について"].startswith("/admin/council/")


def test_a_role_sees_no_group_of_a_kind_it_may_not_list(client, world):
    sign_in(client, ("finance-officer",))
    _status, page = _page(client, "熊本")
    assert "熊本市" in _found(page)
    groups = re.findall(r'<h2 class="h5" id="kind-[^"]+">\s*([^<]+?)\s*<', page)  # the results' groups, not the menu
    assert groups and not {"会員", "データセット", "利用者", "API クライアント"} & set(groups), groups


def test_the_header_holds_the_search_box_and_english_is_offered(client, world):
    sign_in(client, ("municipal-admin",), (A,))
    response = client.get("/admin/api-clients/?lang=en")
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and 'role="search"' in page and 'action="/admin/search/"' in page
    page = client.get("/admin/search/?q=kumamoto&lang=en").get_data(as_text=True)
    assert "Search results" in page and "Municipalities" in page


def test_a_blank_query_finds_nothing_and_says_what_to_type(client, world):
    sign_in(client)
    status, page = _page(client, "　 ")
    assert status == 200 and _found(page) == [] and "検索してください" in page


def test_like_characters_are_searched_as_themselves(client, world):
    sign_in(client)
    _status, page = _page(client, "%")
    assert _found(page) == []


def test_kana_is_read_in_hiragana_katakana_and_half_width():
    from core.search import read_query

    for typed in ("くまもと", "クマモト", "ｸﾏﾓﾄ"):
        assert read_query(typed).kana == "クマモト"
    assert read_query("４３１００１").digits == "431001"
    assert read_query("  熊本\u3000 市 ").text == "熊本 市"


# --- through the API, with real tokens and Keycloak's people --------------------------------------

@pytest.fixture(scope="module")
def real_people(directory):
    """A person in each municipality, in Keycloak; (owner, name shown, searched by, username)."""
    people = []
    for code, last in ((A, "検索甲"), (B, "検索乙")):
        directory.ensure_tenant_group(code)
        username = f"search-{code}-{uuid.uuid4().hex[:6]}"
        user_id = directory.create_user(username, f"{username}@example.jp", "花子", last, password="Search-password-1")
        directory.add_to_tenant(user_id, code)
        people.append((code, f"{last} 花子", last, username))
    return people


@pytest.mark.keycloak
@pytest.mark.parametrize("role", sorted(SCOPES))
def test_the_api_finds_each_kind_by_name_and_code_within_the_scope(client, things, real_people, user_factory, role):
    roles, tenants = WHO[role]
    _, headers = user_factory(roles, tenants[0] if tenants else None)
    for kind, rows in {**things, "person": real_people}.items():
        for owner, title, by_name, by_code in rows:
            for text in (by_name, by_code):
                response = client.get("/api/v1/search", query_string={"q": text}, headers=headers)
                assert response.status_code == 200, response.get_data(as_text=True)[:300]
                groups = {group["kind"]: group for group in response.get_json()["groups"]}
                titles = [hit["title"] for hit in groups[kind]["hits"]] if kind in groups else []
                assert (kind in groups) == (kind in SCOPES[role]), (role, kind)
                assert (title in titles) == _visible(role, kind, owner), (role, kind, title, text, titles)


@pytest.mark.keycloak
def test_the_api_answers_typed_hits_with_their_pages(client, things, user_factory):
    _, headers = user_factory(("platform-operator",))
    body = client.get("/api/v1/search", query_string={"q": "431001"}, headers=headers).get_json()
    tenant = next(group for group in body["groups"] if group["kind"] == "tenant")
    assert tenant["label_ja"] == "参加団体" and tenant["total"] == 1 and tenant["capped"] is False
    assert tenant["hits"] == [{"key": "431001", "title": "熊本市", "detail": "431001", "scope": "431001",
                               "page": "/admin/onboarding/tenant/431001/"}]
    refused = client.get("/api/v1/search", query_string={"q": "熊本", "limit": 0}, headers=headers)
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"


def test_keycloak_away_leaves_the_other_kinds_and_says_so(client, world, app, monkeypatch):
    from tenancy.errors import IdentityUnavailable

    class Away(People):
        def find_people(self, text, limit):
            raise IdentityUnavailable("Keycloak is down.", "認証サーバーが停止しています。")

    monkeypatch.setitem(app.extensions, "renkei_identity", Away())
    sign_in(client)
    status, page = _page(client, "熊本")
    assert status == 200 and "熊本市" in _found(page)
    assert "認証サーバーが応答しないため" in page


def test_keycloak_away_after_the_index_was_built_still_finds_people_within_the_scope(client, world, app, db,
                                                                                     monkeypatch):
    from tenancy.errors import IdentityUnavailable
    from tenancy.identity import people_index

    people_index.rebuild(db, People())
    db.commit()

    class Away:
        """Keycloak stopped: every call of the directory fails."""

        sends_mail = False

        def __getattr__(self, name):
            def away(*args, **kwargs):
                raise IdentityUnavailable("Keycloak is down.", "認証サーバーが停止しています。")
            return away

    monkeypatch.setitem(app.extensions, "renkei_identity", Away())
    sign_in(client, *WHO["admin of A"])
    status, page = _page(client, "山田")
    assert status == 200 and "山田 花子" in _found(page) and "data-as-of" in page
    assert "認証サーバーが応答しないため" not in page
    for other in ("佐藤", "鈴木"):  # 八代市's and the organisation's people stay out of 熊本市's admin's results
        assert _found(_page(client, other)[1]) == []
    sign_in(client, *WHO["operator"])
    assert {"佐藤 次郎", "鈴木 一郎"} <= set(_found(_page(client, "佐藤")[1]) + _found(_page(client, "鈴木")[1]))


def test_a_broad_query_shows_the_first_hits_and_says_more_than_it_counted(client, world, db):
    from core.search import COUNTED, LIMIT
    from tenancy.identity.models import ApiClient

    for n in range(COUNTED + 5):
        db.add(ApiClient(tenant_code=A, name=f"広域アプリ{n:03d}", purpose="p", allowlist="192.0.2.0/24",
                         expires_on=dt.date(2030, 3, 31), created_by="test"))
    db.commit()
    sign_in(client)
    _status, page = _page(client, "広域アプリ")
    assert len(_found(page)) == LIMIT and f"{COUNTED} 件を超えます" in page

"""The console's one search box (issue 38): every kind of thing a person may look up, by one query.

Each kind is asked through the search operation beside its own list, which authorises exactly as the
list does (:mod:`core.authz`): a kind the person may not list is left out (its operation refuses,
and this search shows nothing of it), and within a kind only what the list would show them is found.
Nothing here states a scope. The query is read once (:func:`core.search.read_query`). The people
come from the people index (as of its last sync with Keycloak), or from Keycloak while the index was
never built: when it does not answer, the other kinds are still shown and that group says so.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from sqlalchemy.orm import Session

from core import authz, search
from core.actor import Actor
from core.errors import DomainError, NotPermitted
from governance import council
from catalogue import operations as datasets
from tenancy.identity import api_clients
from tenancy.identity import operations as identity
from tenancy.members import operations as members
from tenancy.registry import operations as registry


@dataclasses.dataclass(frozen=True)
class Kind:
    key: str
    label_ja: str
    label_en: str
    action: str  # the list's action: who may list this kind (asked by its operation; here to say who may search)


# in the order the results page shows them
KINDS = (
    Kind("tenant", "参加団体", "Municipalities", "tenant.read"),
    Kind("member", "会員", "Members", "member.read"),
    Kind("dataset", "データセット", "Datasets", "dataset.read"),
    Kind("person", "利用者", "People", "user.read"),
    Kind("api_client", "API クライアント", "API clients", "api_client.read"),
    Kind("proposal", "協議会の議案", "Council proposals", "governance.read"),
)


@dataclasses.dataclass(frozen=True)
class Group:
    kind: Kind
    hits: list[search.Hit]
    total: int
    capped: bool = False  # more than core.search.COUNTED match: ``total`` is that many
    unavailable: bool = False  # the kind's source (Keycloak, for people) did not answer
    as_of: dt.datetime | None = None  # read from the people index: when it last matched Keycloak


@dataclasses.dataclass(frozen=True)
class Results:
    query: search.Query
    groups: list[Group]


def may_search(actor: Actor) -> bool:
    """Whether the person may list at least one kind (the search box is shown to them)."""
    return any(authz.allowed(actor, kind.action) for kind in KINDS)


def search_all(session: Session, actor: Actor, directory, typed: str, limit: int = search.LIMIT) -> Results:
    """What the person may see of each kind, matching ``typed``; a kind they may not list is left out.
    Refused (:class:`NotPermitted`) when they may list no kind at all."""
    if not may_search(actor):
        raise NotPermitted("You may not search: you may list none of the kinds searched.",
                           "検索できる一覧がありません（閲覧の権限がありません）。", action="search")
    query = search.read_query(typed)
    if not query:
        return Results(query, [])
    searches: dict[str, Callable[[], search.Found]] = {
        "tenant": lambda: registry.search_tenants(session, actor, query, limit),
        "member": lambda: members.search_members(session, actor, query, limit),
        "dataset": lambda: datasets.search_datasets(session, actor, query, limit),
        "person": lambda: identity.search_people(session, actor, directory, query, limit),
        "api_client": lambda: api_clients.search_api_clients(session, actor, query, limit),
        "proposal": lambda: council.search_proposals(session, actor, query, limit),
    }
    groups = []
    for kind in KINDS:
        try:
            found = searches[kind.key]()
        except NotPermitted:
            continue
        except DomainError as error:
            if error.kind != "unavailable":
                raise
            groups.append(Group(kind, [], 0, unavailable=True))
            continue
        groups.append(Group(kind, found.hits, found.total, found.capped, as_of=found.as_of))
    return Results(query, groups)

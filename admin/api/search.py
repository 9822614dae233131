"""/api/v1/search: the console's one search (issue 38), each kind the caller may list, grouped; the same
search as the results page (governance/search.py), each hit with the address of its admin page."""

from __future__ import annotations

from typing import Literal

from flask import jsonify
from pydantic import BaseModel, Field

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from admin.identity import identity_directory
from admin.menu import page_of
from core.search import LIMIT, MAX_QUERY
from governance import search as console_search

bp = StrictAPIBlueprint("api_search", __name__, url_prefix=API_PREFIX,
                        abp_tags=tag("search", "検索（参加団体・会員・データセット・利用者・API クライアント・議案）/ search"),
                        abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

KindKey = Literal["tenant", "member", "dataset", "person", "api_client", "proposal"]


class SearchQuery(CachedSchema):
    q: str = Field(max_length=MAX_QUERY, description=(
        "A name, a reading in kana (hiragana or katakana), or a code: 団体コード, 法人番号, a proposal's or an API "
        "client's number. Full- and half-width forms are the same; white space alone finds nothing"))
    limit: int = Field(default=LIMIT, ge=1, le=50, description="Hits per kind")


class SearchHitOut(BaseModel):
    key: str = Field(description="The thing's own key: a code, a 法人番号, a dataset's uid, a person's id, a number")
    title: str
    detail: str
    scope: str = Field(description="The tenant or organisation it belongs to, where that is how its page is reached")
    page: str = Field(description="The path of its admin page")


class SearchGroupOut(BaseModel):
    kind: KindKey
    label_ja: str
    label_en: str
    total: int = Field(description="How many of this kind match, counted up to 100 (the hits are the first of them)")
    capped: bool = Field(description="More than 100 match: add words to narrow the search")
    unavailable: bool = Field(description="The kind's source (Keycloak, for people) did not answer: try again")
    as_of: str | None = Field(default=None, description=(
        "People: read from renkei's index of Keycloak's people, which last matched Keycloak at this time "
        "(ISO 8601, UTC); null when read from Keycloak itself"))
    hits: list[SearchHitOut]


class SearchOut(BaseModel):
    query: str = Field(description="The query as searched (normalised: NFKC, single spaces)")
    groups: list[SearchGroupOut] = Field(description="Each kind the caller may list, in a fixed order")


@bp.get("/search", responses={200: SearchOut}, summary="Search municipalities, members, datasets, people, API clients and proposals")
def search(query: SearchQuery):
    results = console_search.search_all(db.session, current_actor(), identity_directory(), query.q, query.limit)
    return jsonify({"query": results.query.text, "groups": [
        {"kind": group.kind.key, "label_ja": group.kind.label_ja, "label_en": group.kind.label_en, "total": group.total,
         "capped": group.capped, "unavailable": group.unavailable,
         "as_of": group.as_of.isoformat() if group.as_of else None,
         "hits": [{"key": hit.key, "title": hit.title, "detail": hit.detail, "scope": hit.scope,
                   "page": page_of(group.kind.key, hit)} for hit in group.hits]}
        for group in results.groups]})

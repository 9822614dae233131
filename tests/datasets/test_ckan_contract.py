"""CKAN's Action API under generated requests (Hypothesis): never a server error, always CKAN's envelope.

The OpenAPI contract test (tests/admin/test_api_contract.py) covers /api/v1; the CKAN actions are
CKAN's contract, not in that document, so they get their own: any action name, GET or POST, any
parameters (text, numbers, booleans, null, lists) answer with ``help`` and ``success``, a success
with ``result``, a failure with CKAN's ``error`` (``__type``) and the status CKAN gives it. Text
the edge of the API refuses for every address (control characters) is a problem+json 400.
"""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from admin.catalogue.ckan import ACTIONS

NAMES = ("id", "q", "fq", "rows", "start", "sort", "limit", "offset", "all_fields", "include_datasets", "fq_list",
         "facet", "facet.field", "facet.limit", "facet.mincount", "name", "query", "groups", "page",
         "include_dataset_count", "vocabulary_id")
VALUES = st.one_of(st.text(max_size=40), st.integers(-10, 5000), st.booleans(), st.none(),
                   st.sampled_from(["organization:431001", "tags:AED", "res_format:CSV", "name asc", "metadata_modified desc",
                                    "kumamoto-city-aed", "430005", "*:*", "AED", '"unbalanced', "license_id:CC0-1.0",
                                    '["organization", "tags"]', "AED OR 避難", "-tags:AED", "title:AED*", "disaster",
                                    "package_search", "package_count desc"]),
                   st.lists(st.sampled_from(["organization", "res_format", "tags:AED", "groups", "x"]), max_size=3),
                   st.lists(st.integers(), max_size=2))
STATUS_OF = {"Not Found Error": 404, "Validation Error": 409, "Authorization Error": 403, "Bad request": 400}


def run_case(client, action, post, params, answered, refused):
    if post:
        response = client.post(f"/api/3/action/{action}", data=json.dumps(params), content_type="application/json")
    else:
        query = {k: (json.dumps(v) if isinstance(v, list) else "" if v is None else str(v)) for k, v in params.items()}
        response = client.get(f"/api/3/action/{action}", query_string=query)
    assert response.status_code < 500
    if response.mimetype == "application/problem+json":  # the API's edge: text no address may carry
        assert response.status_code in (400, 422)
        refused.append(1)
        return
    answered.append(1)
    body = response.get_json()
    assert response.mimetype == "application/json" and isinstance(body["success"], bool) and body["help"]
    if body["success"]:
        assert response.status_code == 200 and "result" in body
    else:
        assert response.status_code == STATUS_OF[body["error"]["__type"]] and body["error"]["message"]


def test_every_action_answers_in_ckans_shape(client, sample_catalogue):
    answered, refused = [], []

    @seed(20261123)
    @settings(max_examples=300, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(action=st.sampled_from(ACTIONS + ("package_create", "help_show", "x" * 70)), post=st.booleans(),
           params=st.dictionaries(st.sampled_from(NAMES), VALUES, max_size=4))
    def run(action, post, params):
        run_case(client, action, post, params, answered, refused)

    run()
    assert len(answered) > 2 * len(refused)  # most requests reach the actions; random text is often refused at the edge

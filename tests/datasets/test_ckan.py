"""The catalogue read through CKAN's Action API by the official ckanapi client (RemoteCKAN), over HTTP."""

from __future__ import annotations

import pytest

from tests.background_server import served


@pytest.fixture
def ckan_url(app, monkeypatch, sample_catalogue):
    """The app served on a free port of 127.0.0.1 (addressed by that host) for the test."""
    from werkzeug.serving import make_server

    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", "off")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    with served(server, "ckan-test-server"):
        yield f"http://127.0.0.1:{server.server_port}"


def remote(url, token=None):
    from ckanapi import RemoteCKAN

    return RemoteCKAN(url, apikey=token, user_agent="renkei-test/1 (ckanapi)")


LIMITED = {"pref-irrigation-ponds", "pref-live-cameras", "pref-traffic-accidents"}


def test_ckanapi_lists_shows_and_searches_the_published_datasets(ckan_url):
    ckan = remote(ckan_url)
    names = ckan.action.package_list()
    assert len(names) == 30 and "kumamoto-city-aed" in names and not LIMITED & set(names)

    aed = ckan.action.package_show(id="kumamoto-city-aed")
    assert aed["title"] == "AED設置箇所一覧" and aed["organization"]["name"] == "431001"
    assert aed["organization"]["title"] == "熊本市" and aed["license_id"] == "CC-BY-4.0"
    assert aed["resources"][0]["format"] == "CSV" and aed["resources"][0]["url"].endswith("kumamoto-city-aed.csv")
    extras = {e["key"]: e["value"] for e in aed["extras"]}
    assert extras["standard_dataset"] == "AED設置箇所一覧" and extras["frequency"] == "毎月"
    assert "提供者" in extras["responsibility"] and "プラットフォーム運営者" in extras["responsibility"]
    assert ckan.action.package_show(id=aed["id"])["name"] == "kumamoto-city-aed"  # by its stable id too

    found = ckan.action.package_search(q="AED")
    assert found["count"] == 1 and found["results"][0]["name"] == "kumamoto-city-aed"
    city = ckan.action.package_search(fq="organization:431001", rows=100)
    assert city["count"] == 9 and {r["organization"]["name"] for r in city["results"]} == {"431001"}
    both = ckan.action.package_search(q="一覧", fq="organization:431001 res_format:CSV tags:AED")
    assert [r["name"] for r in both["results"]] == ["kumamoto-city-aed"]
    assert ckan.action.package_search(fq="license_id:CC0-1.0")["count"] == 1

    ordered = ckan.action.package_search(sort="name asc", rows=1000)["results"]
    first, second = (ckan.action.package_search(sort="name asc", rows=7, start=start)["results"] for start in (0, 7))
    assert [r["name"] for r in first + second] == [r["name"] for r in ordered[:14]]

    assert "431001" in ckan.action.organization_list()
    org = ckan.action.organization_show(id="430005", include_datasets=True)
    assert org["title"] == "熊本県" and org["package_count"] == len(org["packages"]) == 20  # 23 of the prefecture, 3 limited
    assert {lic["id"] for lic in ckan.action.license_list()} >= {"CC-BY-4.0", "CC0-1.0", "PDL-1.0"}
    assert ckan.action.status_show()["ckan_version"].startswith("2.")


def test_ckan_errors_come_in_ckans_shape(ckan_url):
    from ckanapi import NotFound, ValidationError

    ckan = remote(ckan_url)
    with pytest.raises(NotFound):
        ckan.action.package_show(id="no-such-dataset")
    with pytest.raises(ValidationError) as bad:
        ckan.action.package_search(rows=-1)
    assert "rows" in bad.value.error_dict
    with pytest.raises(ValidationError):
        ckan.action.package_search(fq="secret:yes")


def test_a_limited_dataset_is_absent_for_anonymous_readers(ckan_url):
    from ckanapi import NotFound

    ckan = remote(ckan_url)
    for name in LIMITED:
        with pytest.raises(NotFound):
            ckan.action.package_show(id=name)
    assert ckan.action.package_search(q="交通事故")["count"] == 0


@pytest.mark.keycloak
def test_a_limited_dataset_is_present_with_an_entitled_members_token(ckan_url, user_factory):
    from ckanapi import NotAuthorized, NotFound

    _account, kumamoto = user_factory(("municipal-staff",), "431001")
    _account, uki = user_factory(("municipal-staff",), "432113")
    token = kumamoto["Authorization"].split()[1]
    entitled = remote(ckan_url, token)
    accidents = entitled.action.package_show(id="pref-traffic-accidents")  # named: 熊本市 and 八代市
    assert accidents["private"] is True and accidents["license_id"] == "own-terms"
    # its own terms: the record links version 1; the data is held back until 熊本市 accepts them
    assert accidents["terms_of_use"]["version"] == 1 and accidents["terms_of_use"]["acceptance_required"]
    assert accidents["resources"] == [] and accidents["terms_of_use"]["resources_withheld"]
    assert LIMITED <= set(entitled.action.package_list())
    assert entitled.action.package_search(q="交通事故")["count"] == 1

    other = remote(ckan_url, uki["Authorization"].split()[1])  # a member, not named for the accident statistics
    assert "pref-irrigation-ponds" in other.action.package_list()
    with pytest.raises(NotFound):
        other.action.package_show(id="pref-traffic-accidents")
    with pytest.raises(NotAuthorized):
        remote(ckan_url, token[:-4] + "AAAA").action.package_list()  # a bad token is refused, not read as anonymous


@pytest.mark.parametrize("action, parameter", [("package_search", "start"), ("package_search", "rows"),
                                               ("package_list", "limit"), ("package_list", "offset"),
                                               ("current_package_list_with_resources", "limit")])
@pytest.mark.parametrize("digit", ["²", "③", "٣", "１", " 1_0", "+1"])
def test_digits_that_are_not_ascii_are_an_invalid_integer_not_a_server_error(client, sample_catalogue, action,
                                                                            parameter, digit):
    """str.isdigit() is true for "²" and "③" and int() then fails (a 500 without any sign-in); int() also
    reads "٣", "１", "1_0" and "+1". Only ASCII digits are a number here, as everywhere."""
    answer = client.get(f"/api/3/action/{action}", query_string={parameter: digit})
    assert answer.status_code in (400, 404, 409), answer.status_code
    if answer.status_code == 409:
        body = answer.get_json()
        assert body["success"] is False and body["error"][parameter] == ["Invalid integer"]


def test_whole_numbers_are_ascii_digits_only():
    from core.validation import whole_number

    assert [whole_number(text) for text in ("0", "42", "007")] == [0, 42, 7]
    assert [whole_number(text) for text in ("²", "③", "٣", "１２", "-1", "+1", "1_000", " 1", "", "1.0", None, 5)] == \
        [None] * 12
    assert whole_number("1" * 19) is None and whole_number("123", max_digits=2) is None


# --- issue 37 item 5: CKAN's read API as harvesters use it ---------------------------------------------------

FACET_FIELDS = ["organization", "groups", "tags", "res_format", "license_id"]


def _values(package: dict, field: str) -> set[str]:
    """The values of a facet field one package record shows (what CKAN's Solr index holds for it)."""
    return {"organization": lambda p: {p["organization"]["name"]},
            "groups": lambda p: {g["name"] for g in p["groups"]},
            "tags": lambda p: {t["name"] for t in p["tags"]},
            "res_format": lambda p: {r["format"] for r in p["resources"] if r["format"]},
            "license_id": lambda p: {p["license_id"]}}[field](package)


def test_ckanapi_reads_facets_with_counts_and_display_names_as_ckan_gives_them(ckan_url):
    from collections import Counter

    ckan = remote(ckan_url)
    everything = ckan.action.package_search(rows=1000)
    assert everything["facets"] == {} and everything["search_facets"] == {}  # none asked, none counted (as CKAN)
    found = ckan.action.package_search(rows=1000, **{"facet.field": FACET_FIELDS, "facet.limit": -1})
    assert found["count"] == everything["count"] == len(found["results"]) == 30
    for field in FACET_FIELDS:
        expected = Counter(value for package in found["results"] for value in _values(package, field))
        assert found["facets"][field] == dict(expected), field
        shaped = found["search_facets"][field]
        assert shaped["title"] == field
        assert {item["name"]: item["count"] for item in shaped["items"]} == dict(expected)
        counts = [item["count"] for item in shaped["items"]]
        assert counts == sorted(counts, reverse=True)  # the most first, as Solr gives them
    # display names: a provider's and a category's title, a licence's title, a keyword as written
    orgs = {p["organization"]["name"]: p["organization"]["title"] for p in found["results"]}
    groups = {g["name"]: g["display_name"] for p in found["results"] for g in p["groups"]}
    licences = {p["license_id"]: p["license_title"] for p in found["results"]}
    for field, titles in (("organization", orgs), ("groups", groups), ("license_id", licences)):
        assert {i["name"]: i["display_name"] for i in found["search_facets"][field]["items"]} == titles
    assert {"name": "431001", "display_name": "熊本市", "count": 9} in found["search_facets"]["organization"]["items"]

    # each count is what filtering by that value finds (CKAN's facet semantics), with a text query too
    aed = ckan.action.package_search(q="一覧", **{"facet.field": ["organization", "tags"], "facet.limit": 3})
    assert len(aed["search_facets"]["tags"]["items"]) <= 3 and len(aed["facets"]["organization"]) <= 3
    for field in ("organization", "tags"):
        for value, count in aed["facets"][field].items():
            assert ckan.action.package_search(q="一覧", fq=f'{field}:"{value}"', rows=0)["count"] == count
    with_min = ckan.action.package_search(**{"facet.field": ["organization"], "facet.mincount": 9})
    assert with_min["facets"]["organization"] == {"431001": 9, "430005": 20}


def test_facets_from_a_query_string_and_refused_facets(client, sample_catalogue):
    answer = client.get("/api/3/action/package_search", query_string={"facet.field": '["res_format"]', "rows": 0})
    body = answer.get_json()
    assert answer.status_code == 200 and body["result"]["facets"]["res_format"]["CSV"] >= 1
    assert body["result"]["results"] == []
    for bad in ('["secret"]', "[1]", "[not json"):
        refused = client.get("/api/3/action/package_search", query_string={"facet.field": bad})
        assert refused.status_code == 409 and refused.get_json()["error"]["__type"] == "Validation Error", bad


def test_fq_list_and_the_common_solr_forms_answer_as_ckan_or_are_refused_in_words(ckan_url):
    from ckanapi import ValidationError

    ckan = remote(ckan_url)

    def names(**params):
        return {r["name"] for r in ckan.action.package_search(rows=1000, **params)["results"]}

    every = names()
    city = names(fq="organization:431001")
    csv = names(fq="res_format:CSV")
    assert 0 < len(city & csv) < len(city) and csv != every
    assert names(fq_list=["organization:431001", "res_format:CSV"]) == city & csv  # every filter holds
    assert names(fq="organization:431001", fq_list=["res_format:CSV"]) == city & csv
    assert names(fq="-organization:431001") == every - city  # negation
    assert names(fq="NOT organization:431001") == every - city
    assert names(fq="organization:431001 OR organization:430005") == city | names(fq="organization:430005")
    assert names(fq="res_format:(CSV OR PDF)") == csv | names(fq="res_format:PDF")

    assert names(q="title:AED") == {"kumamoto-city-aed"}  # a field of the text
    aed, shelters = names(q="AED"), names(q="避難")
    assert aed and shelters and names(q="AED OR 避難") == aed | shelters
    assert names(q="避難 AND NOT AED") == shelters - aed and names(q="避難 -AED") == shelters - aed
    assert names(q='"AED設置"') == aed and names(q='"設置 AED"') == set()  # a phrase, as written
    assert names(q="(AED OR 避難) organization:431001") == (aed | shelters) & city
    assert names(q="*:*") == every

    for q, said in (("AED*", "wildcards"), ("title:AED~2", "fuzzy"), ("secret:yes", "Cannot search the field"),
                    ('"AED', "quotation mark"), ("(AED", "parenthesis"), ("AED OR", "missing"),
                    ("title:[a TO b]", "ranges"), ("metadata_modified:[NOW-1DAY TO NOW]", "date math")):
        with pytest.raises(ValidationError) as refused:
            ckan.action.package_search(q=q)
        assert said in str(refused.value.error_dict["q"]), q
    assert names(fq="+dataset_type:dataset") == every and names(fq="dataset_type:harvest") == set()

    # what changed since a time, as harvesters ask for it: a range on metadata_modified (both ends kept, or left out)
    import datetime as dt

    modified = {r["name"]: dt.datetime.fromisoformat(r["metadata_modified"])
                for r in ckan.action.package_search(rows=1000)["results"]}
    since = sorted(modified.values())[len(modified) // 2]
    at = since.isoformat() + "Z"
    assert names(fq=f"metadata_modified:[{at} TO *]") == {n for n, m in modified.items() if m >= since}
    assert names(fq=f"metadata_modified:{{{at} TO NOW}}") == {n for n, m in modified.items() if m > since}
    assert names(fq=f"metadata_modified:[* TO {at}]") == {n for n, m in modified.items() if m <= since}
    with pytest.raises(ValidationError) as refused:
        ckan.action.package_search(fq_list=["organization:431001", "tags:*"])
    assert "fq_list" in refused.value.error_dict


def test_resources_groups_tags_help_and_the_fields_ckan_clients_read(ckan_url):
    import importlib.metadata

    import requests
    from ckanapi import NotFound

    ckan = remote(ckan_url)
    aed = ckan.action.package_show(id="kumamoto-city-aed")
    assert aed["isopen"] is True and "url" in aed
    resource = aed["resources"][0]
    assert ckan.action.resource_show(id=resource["id"]) == resource
    assert {"description", "created", "last_modified", "hash", "url"} <= set(resource)
    assert resource["created"] == aed["metadata_created"]
    for missing in ("no-such-resource", resource["id"][:-1] + "9", aed["id"] + "-0"):
        with pytest.raises(NotFound):
            ckan.action.resource_show(id=missing)
    licences = {lic["id"]: lic for lic in ckan.action.license_list()}
    assert licences["own-terms"]["od_conformance"] != "approved" and licences["CC-BY-4.0"]["od_conformance"] == "approved"

    packages = ckan.action.package_search(rows=1000)["results"]
    in_group: dict[str, set[str]] = {}
    for package in packages:
        for group in package["groups"]:
            in_group.setdefault(group["name"], set()).add(package["name"])
    listed = ckan.action.group_list()
    assert set(in_group) <= set(listed) and listed == sorted(listed, key=lambda name: next(
        g["title"] for g in ckan.action.group_list(all_fields=True, limit=1000) if g["name"] == name))
    whole = {g["name"]: g for g in ckan.action.group_list(all_fields=True, limit=1000)}
    assert {name: g["package_count"] for name, g in whole.items() if g["package_count"]} == \
        {name: len(members) for name, members in in_group.items()}
    assert sum(g["package_count"] for g in whole.values()) == 30  # the limited datasets are not counted
    name, members = max(in_group.items(), key=lambda item: len(item[1]))
    group = ckan.action.group_show(id=name, include_datasets=True)
    assert group["package_count"] == len(members) and {p["name"] for p in group["packages"]} == members
    assert group["display_name"] == whole[name]["display_name"] and group["is_organization"] is False
    assert ckan.action.group_list(groups=[name]) == [name]
    by_count = ckan.action.group_list(sort="package_count desc", all_fields=True, limit=1000)
    assert [g["package_count"] for g in by_count] == sorted((g["package_count"] for g in by_count), reverse=True)
    with pytest.raises(NotFound):
        ckan.action.group_show(id="no_such_group")

    tags = {t["name"] for p in packages for t in p["tags"]}
    assert set(ckan.action.tag_list()) == tags and "AED" in tags
    assert ckan.action.tag_list(query="ae") == sorted(t for t in tags if "ae" in t.lower())
    assert {"name": "AED", "display_name": "AED", "id": "AED", "vocabulary_id": None} in \
        ckan.action.tag_list(all_fields=True)
    shown = ckan.action.tag_show(id="AED", include_datasets=True)
    assert {p["name"] for p in shown["packages"]} == {p["name"] for p in packages if "AED" in _values(p, "tags")}
    with pytest.raises(NotFound):
        ckan.action.tag_show(id="交通事故")  # the keyword of a limited dataset only: not for anonymous readers

    completed = ckan.action.package_autocomplete(q="aed")
    assert {"name": "kumamoto-city-aed", "title": "AED設置箇所一覧", "match_field": "name",
            "match_displayed": "kumamoto-city-aed"} in completed
    latest = ckan.action.current_package_list_with_resources(limit=5)
    assert len(latest) == 5 and all("resources" in p for p in latest)
    assert [p["metadata_modified"] for p in latest] == sorted((p["metadata_modified"] for p in latest), reverse=True)
    assert [p["name"] for p in ckan.action.current_package_list_with_resources(limit=2, page=2)] == \
        [p["name"] for p in latest[2:4]]

    status = ckan.action.status_show()
    assert status["renkei_version"] == importlib.metadata.version("renkei") and "2.10.4" not in str(status)
    assert "facet.field" in ckan.action.help_show(name="package_search")
    with pytest.raises(NotFound):
        ckan.action.help_show(name="package_create")
    # every answer's help address answers, with that action's help
    for action in ("package_search", "group_show", "resource_show"):
        help_url = requests.get(f"{ckan_url}/api/3/action/{action}", timeout=30).json()["help"]
        helped = requests.get(help_url, timeout=30).json()
        assert helped["success"] is True and helped["result"].startswith(
            ckan.action.help_show(name=action)[:20]), action


def test_ckanapi_dump_reads_datasets_organizations_and_groups_whole(ckan_url, tmp_path):
    """The ckanapi command line's dump (a list action, then a show action per name in worker processes)."""
    import json
    import os
    import subprocess
    import sys
    from pathlib import Path

    ckan = remote(ckan_url)
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    expected = {"groups": set(ckan.action.group_list()), "organizations": set(ckan.action.organization_list()),
                "datasets": set(ckan.action.package_list())}
    for thing, names in expected.items():
        out = tmp_path / f"{thing}.jsonl"
        done = subprocess.run(["ckanapi", "dump", thing, "--all", "-q", "-r", ckan_url, "-O", str(out)], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
        records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        assert {r["name"] for r in records} == names and names, thing

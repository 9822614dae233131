"""The catalogue read through CKAN's Action API by the official ckanapi client (RemoteCKAN), over HTTP."""

from __future__ import annotations

import threading

import pytest


@pytest.fixture
def ckan_url(app, monkeypatch, sample_catalogue):
    """The app served on a free port of 127.0.0.1 (addressed by that host) for the test."""
    from werkzeug.serving import make_server

    monkeypatch.setitem(app.config, "SERVER_NAME", None)
    monkeypatch.setitem(app.config, "RENKEI_REQUEST_LOG", "off")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="ckan-test-server", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


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

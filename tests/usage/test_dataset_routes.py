"""Which dataset a call through the gateway uses (issue 37): the one matcher over the register's
routes, without a database (catalogue/routes.py), and its index built once, again on a change
of the register and after its bound, never per call."""

from __future__ import annotations

import pytest

from catalogue import routes
from tenancy.identity.gateway import normalised_path

SHELTERS = routes.RoutedDataset("432024-0001", "432024")
AED = routes.RoutedDataset("430005-0001", "430005")
BUSES = routes.RoutedDataset("431001-0003", "431001")
TOILETS = routes.RoutedDataset("431001-0004", "431001")

INDEX = routes.build([
    (SHELTERS.name, SHELTERS.provider_code, "kumamoto", "/shelters", "Shelter", ""),
    (AED.name, AED.provider_code, "kumamoto", "/aed", "", ""),  # the whole service path
    (BUSES.name, BUSES.provider_code, "", "", "", "/catalog/api/buses/"),
    (TOILETS.name, TOILETS.provider_code, "", "", "", "/catalog/api/buses/toilets"),
])


def match(method, uri, service="", service_path=""):
    return routes.match_in(INDEX, routes.Call(method, uri, service, service_path), normalised_path)


@pytest.mark.parametrize("uri,service,path,expected", [
    ("/v2/entities?type=Shelter", "kumamoto", "/shelters", SHELTERS),                 # NGSIv2 type=
    ("/v2/entities?type=Shelter&limit=100", "Kumamoto", "/shelters/", SHELTERS),       # Orion lower-cases the service
    ("/v2/entities/shelter-1?type=Shelter&options=keyValues", "kumamoto", "/shelters", SHELTERS),
    ("/ngsi-ld/v1/entities?type=Shelter", "kumamoto", "/shelters", SHELTERS),          # NGSI-LD type=
    ("/ngsi-ld/v1/entities/urn:ngsi-ld:Shelter:001", "kumamoto", "/shelters", SHELTERS),  # the type in the URN
    ("/ngsi-ld/v1/entities?id=urn:ngsi-ld:Shelter:001", "kumamoto", "/shelters", SHELTERS),
    ("/v2/types/Shelter", "kumamoto", "/shelters", SHELTERS),
    ("/v2/entities?type=Shelter", "kumamoto", "/", None),                           # another service path
    ("/v2/entities?type=Shelter", "", "/shelters", None),                           # no service: none
    ("/v2/entities?type=Shelter", "yatsushiro", "/shelters", None),
    ("/v2/entities?type=Shelter,AED", "kumamoto", "/shelters", None),               # a type of no dataset beside it
    ("/v2/entities", "kumamoto", "/shelters", None),                                # no type: the path is claimed by type only
    ("/v2/entities?type=Defibrillator", "kumamoto", "/aed", AED),                    # the whole service path
    ("/v2/entities", "kumamoto", "/aed", AED),
    ("/v2/entities", "kumamoto", "", None),                                         # the root path "/" is no dataset's
    ("/catalog/api/buses/stops.json", "", "", BUSES),                               # a path under the route
    ("/catalog/api/buses", "", "", BUSES),
    ("/catalog/api/buses/toilets/1?x=1", "", "", TOILETS),                          # the longest route wins
    ("/catalog/api/busesX", "", "", None),                                          # a prefix of a word is no parent
    ("/catalog/api/other/../buses/1", "", "", BUSES),                               # read as the upstream reads it
    ("/admin/", "kumamoto", "/aed", None),
])
def test_a_call_names_the_dataset_its_route_reaches(uri, service, path, expected):
    assert match("GET", uri, service, path) == expected


def test_two_datasets_claiming_one_route_make_it_no_ones():
    index = routes.build([("a", "431001", "kumamoto", "/x", "T", ""), ("b", "432024", "kumamoto", "/x", "T", "")])
    assert routes.match_in(index, routes.Call("GET", "/v2/entities?type=T", "kumamoto", "/x"), normalised_path) is None


@pytest.mark.parametrize("fields,field", [
    (("Kumamoto", "", "", ""), "route_service"),
    (("kumamoto", "shelters", "", ""), "route_service_path"),
    (("kumamoto", "/a b", "", ""), "route_service_path"),
    (("kumamoto", "/", "Shelter:1", ""), "route_entity_type"),
    (("", "", "", "/api/x"), "route_path"),
])
def test_a_route_that_no_call_could_carry_is_refused_with_its_field(fields, field):
    found = routes.route_problems("distributions.0", *fields)
    assert [p["field"] for p in found] == [f"distributions.0.{field}"]
    assert all(p["message_ja"] for p in found)


def test_the_index_is_built_once_again_on_a_change_and_after_its_bound(monkeypatch):
    built = []
    monkeypatch.setattr(routes, "_rows", lambda session: built.append(1) or [(AED.name, "430005", "kumamoto", "/aed", "", "")])
    now = [100.0]
    index = routes.RouteIndex(max_age=30, clock=lambda: now[0])
    call = routes.Call("GET", "/v2/entities", "kumamoto", "/aed")
    for _ in range(50):
        assert index.match(None, call, normalised_path) == AED
    assert len(built) == 1 and index.builds == 1  # not a query per call
    routes.changed()  # the register wrote a dataset
    index.match(None, call, normalised_path)
    assert len(built) == 2
    now[0] += 31  # another process's change is seen within the bound
    index.match(None, call, normalised_path)
    assert len(built) == 3

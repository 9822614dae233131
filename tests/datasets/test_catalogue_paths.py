"""Every address the catalogue mints is answered by a route of the app, and by the route of its kind."""

from __future__ import annotations

from catalogue import linked_data as iris, paths
from catalogue.catalogue import terms_url
from catalogue.lists import licence_page_path

BASE = "https://renkei.example.jp"


def _endpoint(app, iri: str) -> str:
    adapter = app.url_map.bind("renkei.example.jp", url_scheme="https")
    endpoint, _values = adapter.match(iri.removeprefix(BASE).split("?")[0], method="GET")
    return endpoint


class _Dataset:
    name = "kumamoto-aed"


def test_each_minted_address_is_served_by_the_route_of_its_kind(app):
    minted = {
        "catalogue": iris.catalogue_iri(BASE),
        "publisher": iris.catalogue_publisher_iri(BASE),
        "dataset": iris.dataset_iri(BASE, "0b6f3c"),
        "distribution": iris.distribution_iri(BASE, "0b6f3c", 0),
        "provider": iris.provider_iri(BASE, "431001"),
        "place": iris.place_iri(BASE, "431001"),
        "themes": iris.themes_iri(BASE),
        "theme": iris.theme_iri(BASE, "health"),
        "standard": iris.standard_iri(BASE, "aed"),
        "licence": BASE + licence_page_path("cc-by-4.0"),
        "terms": terms_url(BASE, _Dataset(), 2),
    }
    assert set(minted) == set(paths.PATHS)
    served = {name: _endpoint(app, iri) for name, iri in minted.items()}
    assert iris.landing_page(BASE, "kumamoto-aed").startswith(f"{BASE}/catalogue/datasets/")
    assert _endpoint(app, iris.landing_page(BASE, "kumamoto-aed")) == served["dataset"]
    # each kind has its own route: two kinds answered by one view would mean an address names the wrong thing
    assert len(set(served.values())) == len(served)
    assert all(endpoint.startswith("catalogue_pages.") for endpoint in served.values())

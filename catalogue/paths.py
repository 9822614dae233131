"""The catalogue's addresses under renkei's base URL: one table that the IRIs renkei mints
(:mod:`catalogue.linked_data`, the DCAT prefixes, the licence and terms links) and the routes that
answer them (``admin/catalogue/pages.py``) both read, so that an IRI cannot name a page no route serves.

A path's ``{name}`` fields are filled by :func:`path` and become Flask's ``<name>`` in :func:`route`.
"""

from __future__ import annotations

import re

PATHS: dict[str, str] = {
    "catalogue": "/catalogue",
    "publisher": "/catalogue/publisher",
    "dataset": "/catalogue/datasets/{ident}",
    "terms": "/catalogue/datasets/{name}/terms",
    "distribution": "/catalogue/distributions/{ident}",
    "provider": "/catalogue/providers/{code}",
    "place": "/catalogue/places/{code}",
    "themes": "/catalogue/themes",
    "theme": "/catalogue/themes/{category}",
    "standard": "/catalogue/standards/{kind}",
    "licence": "/catalogue/licences/{code}",
}

_FIELD = re.compile(r"\{(\w+)\}")


def path(kind: str, /, **values: str) -> str:
    """The address of the resource ``kind`` with its fields filled (``path("place", code="431001")``)."""
    return PATHS[kind].format(**values)


def prefix(name: str) -> str:
    """The address up to the resource's single field (a namespace for the feed's prefixes)."""
    return _FIELD.split(PATHS[name], maxsplit=1)[0]


def route(name: str) -> str:
    """The Flask route pattern that answers the resource ``name``."""
    return _FIELD.sub(r"<\1>", PATHS[name])

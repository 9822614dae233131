"""The IRIs renkei mints for its catalogue and the values its DCAT record takes from shared vocabularies.

One home for each: every IRI the feed (:mod:`catalogue.dcat`) writes for a thing of the catalogue
is made here, and each one dereferences (admin/catalogue/pages.py answers it as a page for people and as RDF by
content negotiation). The values taken from the EU Publications Office's authority tables (file type,
language) go through the mapping tables here: a value the table does not know is left out, never made up.
renkei's own terms live in :data:`RENKEI_NAMESPACE`, fixed, never built from a deployment's host.
"""

from __future__ import annotations

import functools
import re

from core import codes
from catalogue import paths, standards
from catalogue.conformance import conformance_state

# renkei's own RDF terms (renkei:responsibility, renkei:conformance): one namespace for every deployment
# (docs/datasets.md, "renkei's own terms")
RENKEI_NAMESPACE = "https://w3id.org/renkei/ns#"

EU_AUTHORITY = "http://publications.europa.eu/resource/authority/"
EU_FILE_TYPE = EU_AUTHORITY + "file-type/"
EU_LANGUAGE = EU_AUTHORITY + "language/"
JAPANESE = EU_LANGUAGE + "JPN"  # every record and file of the catalogue is in Japanese

# A distribution's format as providers write it (case and spaces aside) -> the EU file-type code
# (http://publications.europa.eu/resource/authority/file-type); a format not here has no dct:format.
FILE_TYPES = {"CSV": "CSV", "TSV": "TSV", "XLS": "XLS", "XLSX": "XLSX", "EXCEL": "XLSX", "ODS": "ODS",
              "JSON": "JSON", "GEOJSON": "GEOJSON", "JSON-LD": "JSON_LD", "JSONLD": "JSON_LD", "XML": "XML",
              "RDF": "RDF_XML", "RDF/XML": "RDF_XML", "TURTLE": "RDF_TURTLE", "TTL": "RDF_TURTLE",
              "N-TRIPLES": "RDF_N_TRIPLES", "HTML": "HTML", "PDF": "PDF", "TXT": "TXT", "TEXT": "TXT",
              "ZIP": "ZIP", "SHP": "SHP", "SHAPEFILE": "SHP", "SHAPE": "SHP", "KML": "KML", "KMZ": "KMZ",
              "GTFS": "GTFS"}
# ... and by media type, when the format's text is not in the table
MEDIA_FILE_TYPES = {"text/csv": "CSV", "text/tab-separated-values": "TSV", "application/vnd.ms-excel": "XLS",
                    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "XLSX",
                    "application/json": "JSON", "application/geo+json": "GEOJSON", "application/ld+json": "JSON_LD",
                    "application/xml": "XML", "text/xml": "XML", "application/rdf+xml": "RDF_XML",
                    "text/turtle": "RDF_TURTLE", "text/html": "HTML", "application/pdf": "PDF",
                    "text/plain": "TXT", "application/zip": "ZIP", "application/vnd.google-earth.kml+xml": "KML",
                    "application/vnd.google-earth.kmz": "KMZ"}


@functools.lru_cache(maxsize=1024)  # a page asks the same few formats again and again
def file_type(format_text: str, media_type: str = "") -> str | None:
    """The EU file-type IRI of a distribution's format (or media type), None when the tables do not know it."""
    code = FILE_TYPES.get(re.sub(r"\s+", "", format_text or "").upper()) or \
        MEDIA_FILE_TYPES.get((media_type or "").split(";")[0].strip().lower())
    return EU_FILE_TYPE + code if code else None


_PHONE_SEPARATORS = re.compile(r"[\s()（）．.ー－‐―-]+")


@functools.lru_cache(maxsize=4096)
def telephone(number: str) -> str | None:
    """A telephone number as an RFC 3966 global number (``tel:+81-96-000-0000``): a Japanese number
    written from its trunk prefix 0 (or already with +81) keeps its groups as visual separators; None
    when the text is not a number renkei can write so (then the record has no telephone)."""
    text = (number or "").strip().translate(_FULL_WIDTH_DIGITS)
    groups = [group for group in _PHONE_SEPARATORS.split(text) if group]
    if not groups or not all(group.isascii() and group.lstrip("+").isdigit() for group in groups):
        return None
    if groups[0].startswith("+"):
        country, *rest = groups
        digits = "".join(rest)
        return f"tel:{'-'.join(groups)}" if len(country) > 1 and 4 <= len(country[1:] + digits) <= 15 else None
    if not groups[0].startswith("0") or groups[0].startswith("00") or "+" in "".join(groups):
        return None
    national = "".join(groups)[1:]
    if not 9 <= len(national) <= 10:  # a Japanese number: 10 digits with 0 (11 for a mobile)
        return None
    groups[0] = groups[0][1:]
    return "tel:+81-" + "-".join(group for group in groups if group)


_FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９＋", "0123456789+")


def conforms(dataset) -> bool:
    """Whether the record may say the dataset conforms to its standard (``dct:conformsTo``): its latest
    verdict is 準拠. The one place the feed decides it (to read the one conformance-state function)."""
    return dataset.standard_kind is not None and conformance_state(dataset).conformant


# --- the IRIs renkei mints (each answered by the route catalogue.paths names) ---------------------------------------------

def catalogue_iri(base: str) -> str:
    return f"{base}{paths.path('catalogue')}"


def catalogue_publisher_iri(base: str) -> str:
    return f"{base}{paths.path('publisher')}"


def dataset_iri(base: str, uid: str) -> str:
    return f"{base}{paths.path('dataset', ident=uid)}"


def landing_page(base: str, name: str) -> str:
    """The dataset's page for people (its name, not its uid: the same page, a readable address)."""
    return f"{base}{paths.path('dataset', ident=name)}"


def distribution_iri(base: str, uid: str, index: int) -> str:
    """The ``index``-th (from 0) distribution of the dataset ``uid``."""
    return f"{base}{paths.path('distribution', ident=f'{uid}-{index + 1}')}"


def provider_iri(base: str, code: str) -> str:
    return f"{base}{paths.path('provider', code=code)}"


def themes_iri(base: str) -> str:
    return f"{base}{paths.path('themes')}"


def theme_iri(base: str, code: str) -> str:
    return f"{base}{paths.path('theme', category=code)}"


def standard_iri(base: str, code: str) -> str:
    """A standard kind's IRI: a page that names it and links its published definition (:func:`schema_url`)."""
    return f"{base}{paths.path('standard', kind=code)}"


def schema_url(base: str, code: str, version: str = standards.CURRENT) -> str:
    """Where a version of a standard kind's Table Schema is published (the definition a conforming file
    meets; the IRI of that version in the feed): :func:`catalogue.standards.schema_path`, the one builder
    of that address, under ``base``."""
    return f"{base}{standards.schema_path(code, version)}"


def place_iri(base: str, code: str) -> str:
    """A local government as a place (``dct:spatial``), by its 全国地方公共団体コード."""
    return f"{base}{paths.path('place', code=code)}"


def place_of(provider) -> str | None:
    """The 全国地方公共団体コード of a provider that is a local government (a tenant), None for a member."""
    return provider.code if provider.kind == "tenant" and codes.is_valid(provider.code) else None

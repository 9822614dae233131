"""Which dataset a call through the API gateway uses (issue 37): the one matcher.

A dataset's API distribution says how a call reaches it (``Distribution.route_*``):

* **the context broker** (paths under ``/v2/`` and ``/ngsi-ld/v1/``): its ``Fiware-Service`` and
  ``Fiware-ServicePath`` and, optionally, its NGSI entity type. A call names the types it is about
  in the query (NGSIv2 and NGSI-LD ``type=``, a comma-separated list), in the path
  (``/v2/types/<Type>``, ``/ngsi-ld/v1/types/<Type>``) or in an NGSI-LD entity id, a URN
  ``urn:ngsi-ld:<Type>:<id>`` (in the path or in ``id=``). A distribution without an entity type
  claims its whole service path; one with a type claims that type there (more precise, so it wins).
* **the catalogue** (paths under ``/catalog/``): a path; the longest one that is the call's path
  or a parent of it decides.

:func:`match` answers for one call from :class:`RouteIndex`, built with one query and kept in
memory: built again when the register changes a dataset in this process (:func:`changed`, called
by the register's one write path) and at most ``max_age`` seconds after it was built (a change made
by another process). A call that names types of two datasets, or none of a known route, uses no
dataset. Only a dataset's own route is a use of it: the route's key is unique in the register
(:func:`route_conflicts`).
"""

from __future__ import annotations

import dataclasses
import itertools
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import parse_qsl, unquote

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.errors import problem

BROKER_PREFIXES = ("/v2/", "/ngsi-ld/v1/")
CATALOGUE_PREFIX = "/catalog/"
_URN = re.compile(r"urn:ngsi-ld:([^:/]+):", re.IGNORECASE)
_TYPES_PATH = re.compile(r"^/(?:v2|ngsi-ld/v1)/types/([^/]+)/?$")
# Orion's rules: a service is lower-case letters, digits and _; a service path is /-separated
# levels of letters, digits and _ (the root is "/"); an entity type has no space, quote or control
_SERVICE = re.compile(r"^[a-z0-9_]{1,50}$")
_SERVICE_PATH = re.compile(r"^/([A-Za-z0-9_]{1,50}(/[A-Za-z0-9_]{1,50}){0,9})?$")
_ENTITY_TYPE = re.compile(r"^[^\s\"'<>=;()&?#/,:]{1,100}$")
_CATALOGUE_PATH = re.compile(r"^/catalog/[A-Za-z0-9._~\-/]{0,290}$")

_generation = itertools.count(1)
_current = [0]


def changed() -> None:
    """The register changed a dataset's routes (or may have): every index is built again at its next call."""
    _current[0] = next(_generation)


@dataclasses.dataclass(frozen=True)
class RoutedDataset:
    name: str
    provider_code: str


@dataclasses.dataclass(frozen=True)
class Call:
    """A call as the gateway forwards it: method, the original URI with its query, the Fiware headers."""
    method: str
    uri: str
    service: str = ""
    service_path: str = ""


# --- a distribution's route, as the register stores it ------------------------------------------------

def route_problems(place: str, service: str, service_path: str, entity_type: str, path: str) -> list[dict[str, str]]:
    """What is wrong with a distribution's route fields (``place``: the distribution's field prefix)."""
    found = []
    if service and not _SERVICE.match(service):
        found.append(problem(f"{place}.route_service", "Fiware-Service: lower-case letters, digits and _ (at most 50)",
                             "Fiware-Service は半角英小文字・数字・_（50 文字以内）で入力してください。"))
    if service_path and not _SERVICE_PATH.match(service_path):
        found.append(problem(f"{place}.route_service_path", "Fiware-ServicePath: / and levels of letters, digits and _ (e.g. /kumamoto/aed)",
                             "Fiware-ServicePath は / で始まり、英数字と _ の階層で入力してください（例: /kumamoto/aed）。"))
    if entity_type and not _ENTITY_TYPE.match(entity_type):
        found.append(problem(f"{place}.route_entity_type", "An entity type has no space, quote, /, comma or colon (at most 100)",
                             "エンティティ型には空白・引用符・/・カンマ・コロンを使えません（100 文字以内）。"))
    if path and not _CATALOGUE_PATH.match(path):
        found.append(problem(f"{place}.route_path", "A catalogue path starts with /catalog/ (letters, digits, - . _ ~ /)",
                             "カタログのパスは /catalog/ で始め、英数字と - . _ ~ / で入力してください。"))
    return found


def _service_path(value: str) -> str:
    value = (value or "/").strip()
    return value.rstrip("/") or "/" if value.startswith("/") else "/" + value.rstrip("/")


def route_keys(service: str, service_path: str, entity_type: str, path: str) -> list[tuple[str, ...]]:
    """The index keys a distribution's route claims (none when it names no route): the broker's when
    it names a service (its path and type mean nothing without one), else the catalogue's path."""
    if service:
        return [("broker", service.lower(), _service_path(service_path), entity_type)]
    if path:
        return [("catalogue", path.rstrip("/") or "/")]
    return []


# --- the index ---------------------------------------------------------------------------------------

def _rows(session: Session) -> Iterable[tuple]:
    from catalogue.models import Dataset, Distribution

    return session.execute(
        sa.select(Dataset.name, Dataset.provider_code, Distribution.route_service, Distribution.route_service_path,
                  Distribution.route_entity_type, Distribution.route_path)
        .join(Distribution, Distribution.dataset_id == Dataset.id)
        .where(sa.or_(Distribution.route_service != "", Distribution.route_path != "")))


def build(rows: Iterable[tuple]) -> dict[tuple[str, ...], RoutedDataset | None]:
    """key → its dataset (None: two datasets claim it, so a call there names neither)."""
    index: dict[tuple[str, ...], RoutedDataset | None] = {}
    for name, provider, service, service_path, entity_type, path in rows:
        routed = RoutedDataset(name, provider)
        for key in route_keys(service, service_path, entity_type, path):
            index[key] = routed if index.get(key, routed) == routed else None
    return index


def _types_of(path: str, query: Mapping[str, list[str]]) -> set[str]:
    types = {t for value in query.get("type", []) for t in value.split(",") if t}
    found = _TYPES_PATH.match(path)
    if found:
        types.add(unquote(found.group(1)))
    for text in [path, *query.get("id", [])]:
        types.update(_URN.findall(text))
    return types


def _query(uri: str) -> dict[str, list[str]]:
    query: dict[str, list[str]] = {}
    for key, value in parse_qsl(uri.partition("?")[2], keep_blank_values=False):
        query.setdefault(key, []).append(value)
    return query


def match_in(index: Mapping[tuple[str, ...], RoutedDataset | None], call: Call,
             normalised: Callable[[str], str]) -> RoutedDataset | None:
    """The dataset ``call`` uses by ``index`` (None: no dataset, or more than one)."""
    path = normalised(call.uri)
    if path.startswith(CATALOGUE_PREFIX):
        candidate = path.rstrip("/")
        while candidate.startswith(CATALOGUE_PREFIX.rstrip("/")):
            if ("catalogue", candidate) in index:
                return index[("catalogue", candidate)]
            candidate = candidate.rpartition("/")[0]
        return None
    if not path.startswith(BROKER_PREFIXES):
        return None
    service, service_path = call.service.strip().lower(), _service_path(call.service_path)
    if not service:
        return None
    whole = index.get(("broker", service, service_path, ""))
    types = _types_of(path, _query(call.uri))
    if not types:
        return whole
    found = {index.get(("broker", service, service_path, entity_type)) or whole for entity_type in types}
    return found.pop() if len(found) == 1 else None


class RouteIndex:
    """The register's routes in memory (see the module's text); safe to share between threads."""

    def __init__(self, max_age: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_age, self._clock = float(max_age), clock
        self._index: dict[tuple[str, ...], RoutedDataset | None] = {}
        self._built: tuple[int, float] | None = None  # (generation, when)
        self._lock = threading.Lock()
        self.builds = 0

    def clear(self) -> None:
        with self._lock:
            self._built = None

    def index(self, session: Session) -> Mapping[tuple[str, ...], RoutedDataset | None]:
        built, now = self._built, self._clock()
        if built is not None and built[0] == _current[0] and now < built[1] + self.max_age:
            return self._index
        generation = _current[0]
        index = build(_rows(session))
        with self._lock:
            self._index, self._built = index, (generation, now)
            self.builds += 1
        return index

    def match(self, session: Session, call: Call, normalised: Callable[[str], str]) -> RoutedDataset | None:
        return match_in(self.index(session), call, normalised)


def route_conflicts(session: Session, dataset_id: int | None, keys: Iterable[tuple[str, ...]]) -> list[str]:
    """The names of other datasets whose distributions claim one of ``keys`` already."""
    wanted = set(keys)
    if not wanted:
        return []
    from catalogue.models import Dataset, Distribution

    rows = session.execute(
        sa.select(Dataset.id, Dataset.name, Distribution.route_service, Distribution.route_service_path,
                  Distribution.route_entity_type, Distribution.route_path)
        .join(Distribution, Distribution.dataset_id == Dataset.id)
        .where(sa.or_(Distribution.route_service != "", Distribution.route_path != "")))
    return sorted({name for id_, name, *route in rows if id_ != dataset_id and wanted & set(route_keys(*route))})

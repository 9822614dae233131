"""The lists the operator keeps for the dataset register: categories (分野) and licences (ライセンス).

An entry is added, and its use stopped or resumed; it is never removed, nor is its code changed,
since datasets hold the code. Stopping an entry hides it from new choices only (registering a
dataset, changing a dataset to it, importing a list): a dataset that has it keeps it, and may still
be changed, submitted and published with it; the catalogue still shows it for such a dataset (the
DCAT feed, and CKAN's ``license_list`` lists every licence in use and any a published dataset has).

A licence's ``code`` is the catalogue's licence id (CKAN's ``license_id``, e.g. ``CC-BY-4.0``); its
``url`` the address of its text, which the DCAT feed gives as the licence's IRI (without one, the
feed names the licence by an address of the catalogue's own, :func:`licence_page_path`). DCAT-AP
3.0.0's shapes ask nothing more of a ``dct:LicenseDocument``. ``own_terms``: the datasets under
it carry their own terms of use (:mod:`catalogue.terms`).

Reading the lists is the register's readers' (``dataset.read``); changing them the operator's
(``dataset.settings``). Every change is audited (``dataset.category.add|active``,
``dataset.licence.add|active``) with what it was before and after.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import audit, authz
from core.actor import Actor
from core.errors import Conflict, Invalid, NotFound, problem
from core.validation import http_url_problem, text_field_problem
from catalogue import paths
from catalogue.models import (DEFAULT_CATEGORIES, DEFAULT_LICENCES, Dataset, DatasetCategory, DatasetLicence,
                                     DatasetStatus)

# A category's code (lower-case letters, digits and _), as datasets and CKAN's ``groups`` hold it.
CATEGORY_CODE_PATTERN = r"^[a-z][a-z0-9_]{1,31}$"
CATEGORY_LABEL_MAX = 100
# A licence's code, as CKAN's ``license_id`` names licences (cc-by, CC-BY-4.0, odc-odbl, other-pd): letters,
# digits, '.', '-' and '_', from a letter or digit; the DCAT feed may put it in an address (:func:`licence_page_path`).
LICENCE_CODE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{1,63}$"
LICENCE_TITLE_MAX = 200
LICENCE_URL_MAX = 500
_CATEGORY_CODE, _LICENCE_CODE = re.compile(CATEGORY_CODE_PATTERN), re.compile(LICENCE_CODE_PATTERN)


class ListEntryInvalid(Invalid):
    def __init__(self, problems: list[dict[str, str]]) -> None:
        super().__init__("The entry has errors; nothing was saved.", "入力内容に誤りがあります。保存していません。",
                         problems=problems)


def ensure_lists(session: Session) -> None:
    """The default categories and licences, the first time either list is asked for."""
    if session.scalar(sa.select(sa.func.count(DatasetCategory.id))) == 0:
        for position, (code, ja, en) in enumerate(DEFAULT_CATEGORIES):
            session.add(DatasetCategory(code=code, label_ja=ja, label_en=en, position=position))
    if session.scalar(sa.select(sa.func.count(DatasetLicence.id))) == 0:
        for position, (code, ja, en, url, own) in enumerate(DEFAULT_LICENCES):
            session.add(DatasetLicence(code=code, title_ja=ja, title_en=en, url=url, own_terms=own, position=position))
    session.flush()


# --- reading ------------------------------------------------------------------------------------------

def _entries(session: Session, model: type, include_inactive: bool) -> list:
    """A list's entries in the operator's order (those in use only, unless ``include_inactive``)."""
    ensure_lists(session)
    query = sa.select(model).order_by(model.position, model.id)
    return list(session.scalars(query if include_inactive else query.where(model.active.is_(True))))


def categories(session: Session, *, include_inactive: bool = False) -> list[DatasetCategory]:
    return _entries(session, DatasetCategory, include_inactive)


def licences(session: Session, *, include_inactive: bool = False) -> list[DatasetLicence]:
    return _entries(session, DatasetLicence, include_inactive)


def choices(entries: list, kept: str | None = None) -> list:
    """The entries a dataset may choose from: those in use, and ``kept`` (the code the dataset has) even
    if its use was stopped."""
    return [entry for entry in entries if entry.active or entry.code == kept]


def list_categories(session: Session, actor: Actor, *, active: bool | None = None) -> list[DatasetCategory]:
    """The categories, for a reader of the register (``active``: only those in use, or only those stopped)."""
    authz.authorize(actor, "dataset.read")
    return [c for c in categories(session, include_inactive=True) if active in (None, c.active)]


def list_licences(session: Session, actor: Actor, *, active: bool | None = None) -> list[DatasetLicence]:
    """The licences, for a reader of the register (``active``: only those in use, or only those stopped)."""
    authz.authorize(actor, "dataset.read")
    return [lic for lic in licences(session, include_inactive=True) if active in (None, lic.active)]


def catalogue_licences(session: Session) -> list[DatasetLicence]:
    """The licences the catalogue lists (CKAN's ``license_list``): those in use, and any a published dataset has."""
    ensure_lists(session)
    published = sa.select(Dataset.licence_code).where(Dataset.status == DatasetStatus.published).distinct()
    return list(session.scalars(sa.select(DatasetLicence)
                                .where(sa.or_(DatasetLicence.active.is_(True), DatasetLicence.code.in_(published)))
                                .order_by(DatasetLicence.position, DatasetLicence.id)))


def licence_page_path(code: str) -> str:
    """The catalogue's own address of a licence (the DCAT feed's IRI of a licence without a ``url``)."""
    return paths.path("licence", code=code)


def datasets_using(session: Session, column: Any) -> dict[str, int]:
    """How many datasets that are not withdrawn have each code of ``column`` (category or licence): read
    from the index of the code and the status alone (count(*), not of a column the index lacks)."""
    return dict(session.execute(sa.select(column, sa.func.count())
                                .where(Dataset.status != DatasetStatus.withdrawn).group_by(column)).all())


# --- the operator keeps them ------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class LicenceDraft:
    code: str
    title_ja: str
    title_en: str = ""
    url: str = ""
    own_terms: bool = False


def _code_problem(code: str, pattern: re.Pattern, en: str, ja: str) -> dict[str, str] | None:
    """The problem of a new entry's code (its shape), or None; a code taken is refused apart (:func:`_refuse_taken`)."""
    return None if pattern.fullmatch(code) else problem("code", en, ja)


def _refuse_taken(session: Session, model: type, code: str) -> None:
    """A code an entry has already (whatever its case: CKAN clients compare licence ids as typed) is refused."""
    ensure_lists(session)  # the defaults are entries too
    taken = session.scalar(sa.select(model.code).where(sa.func.lower(model.code) == code.lower()))
    if taken is not None:
        raise Conflict(f"The code {taken} is taken; choose another.", f"記号 {taken} はすでに使われています。別の記号にしてください。",
                       problems=[problem("code", f"{taken} is taken.", f"{taken} はすでに使われています。")])


def add_category(session: Session, actor: Actor, code: str, label_ja: str, label_en: str = "") -> DatasetCategory:
    """A new category, in use, after the others."""
    authz.authorize(actor, "dataset.settings")
    code, label_ja, label_en = (code or "").strip(), (label_ja or "").strip(), (label_en or "").strip()
    found = [issue for issue in (
        _code_problem(code, _CATEGORY_CODE, "Use 2 to 32 lower-case letters, digits or _, "
                      "from a letter.", "英小文字・数字・_ で 2〜32 文字にしてください（英小文字で始める）。"),
        text_field_problem("label_ja", label_ja, "name", "名称", CATEGORY_LABEL_MAX, required=True),
        text_field_problem("label_en", label_en, "English name", "英語の名称", CATEGORY_LABEL_MAX)) if issue]
    if found:
        raise ListEntryInvalid(found)
    _refuse_taken(session, DatasetCategory, code)
    category = DatasetCategory(code=code, label_ja=label_ja, label_en=label_en, position=len(categories(session, include_inactive=True)))
    session.add(category)
    session.flush()
    audit.record(session, actor, "dataset.category.add", "dataset_category", code,
                 after={"label_ja": label_ja, "label_en": label_en, "in_use": True})
    return category


def add_licence(session: Session, actor: Actor, draft: LicenceDraft) -> DatasetLicence:
    """A new licence, in use, after the others."""
    authz.authorize(actor, "dataset.settings")
    code, title_ja, title_en, url = (value.strip() for value in (draft.code or "", draft.title_ja or "",
                                                                 draft.title_en or "", draft.url or ""))
    found = [issue for issue in (
        _code_problem(code, _LICENCE_CODE,
                      "Use 2 to 64 letters, digits, '.', '-' or '_', from a letter or digit (as CC-BY-4.0).",
                      "英数字・「.」「-」「_」で 2〜64 文字にしてください（英数字で始める。例: CC-BY-4.0）。"),
        text_field_problem("title_ja", title_ja, "name", "名称", LICENCE_TITLE_MAX, required=True),
        text_field_problem("title_en", title_en, "English name", "英語の名称", LICENCE_TITLE_MAX),
        http_url_problem("url", url, LICENCE_URL_MAX) if url else None) if issue]
    if found:
        raise ListEntryInvalid(found)
    _refuse_taken(session, DatasetLicence, code)
    licence = DatasetLicence(code=code, title_ja=title_ja, title_en=title_en, url=url, own_terms=bool(draft.own_terms),
                             position=len(licences(session, include_inactive=True)))
    session.add(licence)
    session.flush()
    audit.record(session, actor, "dataset.licence.add", "dataset_licence", code,
                 after={"title_ja": title_ja, "title_en": title_en, "url": url, "own_terms": licence.own_terms,
                        "in_use": True})
    return licence


def _entry(session: Session, model: type, code: str, missing_en: str, missing_ja: str):
    ensure_lists(session)
    entry = session.scalars(sa.select(model).where(model.code == code)).first() if len(code or "") <= 64 else None
    if entry is None:
        raise NotFound(missing_en, missing_ja)
    return entry


def _set_active(session: Session, actor: Actor, entry: DatasetCategory | DatasetLicence, active: bool):
    """Stop or resume the use of a list's entry; a change is audited, the same state again is no act."""
    if entry.active != active:
        entry.active = active
        session.flush()
        audit.record(session, actor, "dataset.category.active" if type(entry) is DatasetCategory else
                     "dataset.licence.active", entry.__tablename__, entry.code,
                     before={"in_use": not active}, after={"in_use": active})
    return entry


def set_category_active(session: Session, actor: Actor, code: str, active: bool) -> DatasetCategory:
    """Stop or resume the use of a category (datasets that have it keep it)."""
    authz.authorize(actor, "dataset.settings")
    return _set_active(session, actor, _entry(session, DatasetCategory, code, f"No category {code}.", "この分野はありません。"),
                       active)


def set_licence_active(session: Session, actor: Actor, code: str, active: bool) -> DatasetLicence:
    """Stop or resume the use of a licence (datasets that have it keep it)."""
    authz.authorize(actor, "dataset.settings")
    return _set_active(session, actor, _entry(session, DatasetLicence, code, f"No licence {code}.",
                                              "このライセンスはありません。"), active)

"""/api/v1/dataset-categories and /api/v1/dataset-licences: the lists the operator keeps for the dataset
register (catalogue/lists.py). The register's readers read them; the operator adds an entry and stops
or resumes its use (stopping hides it from new choices only: the datasets that have it keep it)."""

from __future__ import annotations

from typing import Annotated, Literal

from flask import jsonify
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from admin.api import API_PREFIX, BEARER, PROBLEM_RESPONSES, CachedSchema, tag
from admin.auth import current_actor
from admin.edge import StrictAPIBlueprint
from admin.extensions import db
from core.validation import HTTP_URL_PATTERN, NOT_BLANK, SINGLE_LINE
from catalogue import lists

bp = StrictAPIBlueprint("api_dataset_lists", __name__, url_prefix=API_PREFIX,
                  abp_tags=tag("dataset-lists", "データセットの分野・ライセンス / the register's categories and licences"),
                  abp_security=BEARER, abp_responses=PROBLEM_RESPONSES)

CategoryCode = Annotated[str, StringConstraints(pattern=lists.CATEGORY_CODE_PATTERN)]
LicenceCode = Annotated[str, StringConstraints(pattern=lists.LICENCE_CODE_PATTERN)]


# An entry's name: one line (white space around it dropped); the Japanese one required.
Label = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=lists.CATEGORY_LABEL_MAX),
                  NOT_BLANK, SINGLE_LINE]
LabelEn = Annotated[str, StringConstraints(strip_whitespace=True, max_length=lists.CATEGORY_LABEL_MAX), SINGLE_LINE]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=lists.LICENCE_TITLE_MAX),
                  NOT_BLANK, SINGLE_LINE]
TitleEn = Annotated[str, StringConstraints(strip_whitespace=True, max_length=lists.LICENCE_TITLE_MAX), SINGLE_LINE]


class DatasetListQuery(CachedSchema):
    state: Literal["in_use", "stopped"] | None = Field(
        default=None, description="Only the entries in use (offered to new datasets), or only those stopped; default: all")


class DatasetCategoryPath(BaseModel):
    category: CategoryCode = Field(description="The category's code")


class DatasetLicencePath(BaseModel):
    licence: LicenceCode = Field(description="The licence's code (CKAN's license_id)")


class DatasetCategoryBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: CategoryCode = Field(description="The category's code as datasets and CKAN's groups hold it; it never changes. "
                                           "A code taken already is refused (409)")
    label_ja: Label = Field(description="Its name in Japanese (分野名)")
    label_en: LabelEn = ""


class DatasetLicenceBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: LicenceCode = Field(description="The licence's id in the catalogue (CKAN's license_id, e.g. CC-BY-4.0); it "
                                          "never changes. A code taken already, in any case, is refused (409)")
    title_ja: Title = Field(description="Its name in Japanese")
    title_en: TitleEn = ""
    url: Annotated[str, StringConstraints(max_length=lists.LICENCE_URL_MAX, pattern=f"^$|{HTTP_URL_PATTERN}"),
                   SINGLE_LINE] = Field(
        default="", description="The address of its text: the licence's IRI in the DCAT feed (without one, the "
                                "catalogue's /catalogue/licences/<code>)")
    own_terms: bool = Field(default=False, description="Datasets under it carry terms of use of their own (独自の利用規約)")


class DatasetInUseBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    active: bool = Field(description="false: stop offering it to new datasets (those that have it keep it); true: offer it again")


class DatasetCategoryOut(BaseModel):
    code: str
    label_ja: str
    label_en: str
    active: bool = Field(description="In use: offered to new datasets")
    position: int


class DatasetCategoryList(BaseModel):
    items: list[DatasetCategoryOut]
    total: int


class DatasetLicenceOut(BaseModel):
    code: str
    title_ja: str
    title_en: str
    url: str
    own_terms: bool
    active: bool = Field(description="In use: offered to new datasets")
    position: int


class DatasetLicenceList(BaseModel):
    items: list[DatasetLicenceOut]
    total: int


def _category(category) -> dict:
    return {"code": category.code, "label_ja": category.label_ja, "label_en": category.label_en,
            "active": category.active, "position": category.position}


def _licence(licence) -> dict:
    return {"code": licence.code, "title_ja": licence.title_ja, "title_en": licence.title_en, "url": licence.url,
            "own_terms": licence.own_terms, "active": licence.active, "position": licence.position}


def _active(query: DatasetListQuery) -> bool | None:
    return None if query.state is None else query.state == "in_use"


@bp.get("/dataset-categories", responses={200: DatasetCategoryList},
        summary="The categories a dataset is filed under (those stopped are kept for the datasets that have them)")
def list_categories(query: DatasetListQuery):
    found = lists.list_categories(db.session, current_actor(), active=_active(query))
    return jsonify({"items": [_category(c) for c in found], "total": len(found)})


@bp.post("/dataset-categories", responses={201: DatasetCategoryOut}, summary="Add a category (the operator)")
def add_category(body: DatasetCategoryBody):
    category = lists.add_category(db.session, current_actor(), body.code, body.label_ja, body.label_en)
    return jsonify(_category(category)), 201


@bp.put("/dataset-categories/<category>/active", responses={200: DatasetCategoryOut},
        summary="Stop or resume offering a category to new datasets (the operator)")
def set_category_active(path: DatasetCategoryPath, body: DatasetInUseBody):
    return jsonify(_category(lists.set_category_active(db.session, current_actor(), path.category, body.active)))


@bp.get("/dataset-licences", responses={200: DatasetLicenceList},
        summary="The licences a dataset chooses from (those stopped are kept for the datasets that have them)")
def list_licences(query: DatasetListQuery):
    found = lists.list_licences(db.session, current_actor(), active=_active(query))
    return jsonify({"items": [_licence(lic) for lic in found], "total": len(found)})


@bp.post("/dataset-licences", responses={201: DatasetLicenceOut}, summary="Add a licence (the operator)")
def add_licence(body: DatasetLicenceBody):
    licence = lists.add_licence(db.session, current_actor(), lists.LicenceDraft(
        body.code, body.title_ja, body.title_en, body.url, body.own_terms))
    return jsonify(_licence(licence)), 201


@bp.put("/dataset-licences/<licence>/active", responses={200: DatasetLicenceOut},
        summary="Stop or resume offering a licence to new datasets (the operator)")
def set_licence_active(path: DatasetLicencePath, body: DatasetInUseBody):
    return jsonify(_licence(lists.set_licence_active(db.session, current_actor(), path.licence, body.active)))

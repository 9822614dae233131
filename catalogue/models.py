"""The dataset register (データセット台帳): what the platform carries, who provides it and on what terms.

A :class:`Dataset` belongs to a provider: the prefecture or a municipality (a tenant code, six
digits) or a member organisation (its corporate number, thirteen digits). It is known for good by
``uid`` (a UUID, what other packages and the catalogue refer to) and by ``name`` (the catalogue's
readable identifier, as CKAN's ``name``). Categories and licences are lists the operator keeps.
Every dataset carries the split of responsibility (責任分界) and, if it is one of the national
standard kinds (:mod:`catalogue.standards`), the result of the last schema check.
"""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention before any table)
from core.db import enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum


class DatasetStatus(LabelledEnum):
    draft = "draft", "下書き", "Draft"
    submitted = "submitted", "審査待ち", "Submitted for review"
    published = "published", "公開中", "Published"
    withdrawn = "withdrawn", "公開終了", "Withdrawn"


class Access(LabelledEnum):
    open = "open", "オープン（誰でも）", "Open"  # anyone, anonymous readers too
    # consortium members: municipalities and approved member organisations
    members = "members", "協議会の会員のみ", "Consortium members"
    # named tenants, organisations or project groups only
    named = "named", "指定した団体・提案グループのみ", "Named tenants or project groups"


class Frequency(LabelledEnum):
    realtime = "realtime", "リアルタイム", "Real time"
    daily = "daily", "毎日", "Daily"
    weekly = "weekly", "毎週", "Weekly"
    monthly = "monthly", "毎月", "Monthly"
    quarterly = "quarterly", "四半期ごと", "Quarterly"
    yearly = "yearly", "毎年", "Yearly"
    irregular = "irregular", "不定期", "Irregular"


# How long after its last update a dataset of each frequency is overdue (days; None: never).
# Real-time data is checked daily: a feed that has not been touched for two days is overdue.
OVERDUE_AFTER_DAYS = {Frequency.realtime: 2, Frequency.daily: 2, Frequency.weekly: 10, Frequency.monthly: 35,
                      Frequency.quarterly: 100, Frequency.yearly: 380, Frequency.irregular: None}


class PersonalInfo(LabelledEnum):
    none = "none", "含まない", "None"
    yes = "yes", "含む", "Contains personal information"
    processed = "processed", "匿名加工・仮名加工済み", "Anonymised or pseudonymised"


# The split of responsibility every dataset carries (責任分界); a provider may add a remark.
RESPONSIBILITY = (
    ("provider", "提供者", "Provider", "データの正確性と公開する権利に責任を負います。",
     "Answers for the data's accuracy and the right to publish it."),
    ("operator", "プラットフォーム運営者", "Platform operator", "プラットフォームの稼働と安全性に責任を負います。",
     "Answers for the platform's availability and security."),
    ("user", "利用者", "User", "利用条件の範囲内で利用する責任を負います。",
     "Answers for using the data within its terms."),
)


class DatasetCategory(SQLModel, table=True):
    """A category (分野) of the catalogue, edited by the operator."""

    __tablename__ = "dataset_category"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=32, sa_column_kwargs={"unique": True})
    label_ja: str = Field(max_length=100)
    label_en: str = Field(default="", max_length=100)
    position: int = Field(default=0)
    active: bool = Field(default=True)


DEFAULT_CATEGORIES = (
    ("disaster", "防災", "Disaster prevention"), ("tourism", "観光", "Tourism"),
    ("health_welfare", "医療・福祉", "Health and welfare"), ("childcare", "子育て", "Childcare"),
    ("transport", "交通", "Transport"), ("infrastructure", "インフラ", "Infrastructure"),
    ("statistics", "統計", "Statistics"), ("other", "その他", "Other"),
)


class DatasetLicence(SQLModel, table=True):
    """A licence the operator allows. ``code`` is the catalogue's licence id (CKAN's ``license_id``);
    ``own_terms``: the dataset's own terms of use apply."""

    __tablename__ = "dataset_licence"

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    title_ja: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    url: str = Field(default="", max_length=500)
    own_terms: bool = Field(default=False)
    position: int = Field(default=0)
    active: bool = Field(default=True)


DEFAULT_LICENCES = (
    ("CC-BY-4.0", "クリエイティブ・コモンズ 表示 4.0 国際", "Creative Commons Attribution 4.0",
     "https://creativecommons.org/licenses/by/4.0/", False),
    ("CC0-1.0", "CC0 1.0 全世界 パブリック・ドメイン提供", "CC0 1.0 Universal",
     "https://creativecommons.org/publicdomain/zero/1.0/", False),
    ("PDL-1.0", "公共データ利用規約（第1.0版）", "Public Data License (Version 1.0)",
     "https://www.digital.go.jp/resources/open_data/public_data_license_v1.0", False),
    ("own-terms", "独自の利用規約", "Terms of its own", "", True),
)


class Dataset(SQLModel, table=True):
    __tablename__ = "dataset"
    __table_args__ = (
        # the catalogue: published and visible, in name order (its pages, package_list, the DCAT feed); with the
        # id on PostgreSQL, so that a page of the feed is read from the index alone (SQLite's indexes hold the rowid)
        sa.Index("ix_dataset_catalogue", "status", "access", "name", postgresql_include=["id"]),
        # one provider's datasets (the register's lists, CKAN's organization filter: with the access, so that
        # a reader's provider filter is three equalities here and not a scan of ix_dataset_search)
        sa.Index("ix_dataset_provider", "provider_code", "status", "access"),
        # the lists' pages: how many datasets (not withdrawn) use each category and each licence, counted from
        # the index alone (lists.datasets_using); the category's also serves a filter by category
        sa.Index("ix_dataset_category_status", "category_code", "status"),
        sa.Index("ix_dataset_licence_status", "licence_code", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=lambda: str(uuid.uuid4()), max_length=36, sa_column_kwargs={"unique": True})
    name: str = Field(max_length=100, sa_column_kwargs={"unique": True})
    provider_code: str = Field(max_length=13)
    title_ja: str = Field(max_length=200)
    title_en: str = Field(default="", max_length=200)
    description: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    category_code: str = Field(max_length=32)
    keywords: str = Field(default="", max_length=500)  # 、-separated
    licence_code: str = Field(max_length=64)
    access: Access = Field(sa_column=enum_column(Access, length=16))
    frequency: Frequency = Field(sa_column=enum_column(Frequency, length=16))
    last_updated_on: dt.date | None = Field(default=None, sa_column=sa.Column(sa.Date, nullable=True))
    department: str = Field(default="", max_length=100)
    contact_email: str = Field(default="", max_length=254)
    contact_phone: str = Field(default="", max_length=32)
    personal_info: PersonalInfo = Field(sa_column=enum_column(PersonalInfo, length=16))
    standard_kind: str | None = Field(default=None, max_length=32, index=True)
    responsibility_remark: str = Field(default="", max_length=1000)
    status: DatasetStatus = Field(sa_column=enum_column(DatasetStatus, length=16, checked=True))
    review_reason: str = Field(default="", max_length=1000)
    version: int = Field(default=1)
    conformant: bool | None = Field(default=None)  # the last schema check of a standard kind; None: not checked
    problem_count: int = Field(default=0)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    modified_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False, index=True))
    published_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # when a distribution of it first named a route through the API gateway (catalogue/routes.py): set once by the
    # register's write path when the first route is saved, never moved by a route removed and added again
    first_connected_at: dt.datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    # what a catalogue search matches: titles, keywords and description, lower-cased (:func:`search_text_of`)
    search_text: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))
    # the formats of its distributions in one text, what CKAN's res_format filter reads
    # (:func:`catalogue.search_index.formats_text`, written with the distributions only)
    formats: str = Field(default="", sa_column=sa.Column(sa.Text, nullable=False, server_default=""))

    @property
    def keyword_list(self) -> list[str]:
        return keywords_of(self.keywords)


class DatasetGrant(SQLModel, table=True):
    """Who may use a dataset of access ``named``: a tenant code, a corporate number, or ``group:<id>``."""

    __tablename__ = "dataset_grant"
    __table_args__ = (sa.UniqueConstraint("dataset_id", "grantee"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    grantee: str = Field(max_length=32, index=True)


class Distribution(SQLModel, table=True):
    """One way to get the data: a file to download or an API endpoint."""

    __tablename__ = "dataset_distribution"

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    title: str = Field(default="", max_length=200)
    url: str = Field(max_length=1000)
    is_api: bool = Field(default=False)
    format: str = Field(default="", max_length=32, index=True)
    media_type: str = Field(default="", max_length=100)
    byte_size: int | None = Field(default=None, sa_column=sa.Column(sa.BigInteger, nullable=True))
    # How a call through the API gateway reaches this distribution (catalogue/routes.py): the
    # context broker's Fiware-Service and Fiware-ServicePath and the NGSI entity type, or the
    # catalogue's path. Empty: no call names this dataset.
    route_service: str = Field(default="", max_length=50)
    route_service_path: str = Field(default="", max_length=100)
    route_entity_type: str = Field(default="", max_length=100)
    route_path: str = Field(default="", max_length=300)


class DatasetCheck(SQLModel, table=True):
    """A verdict: the check of one file against the dataset's standard kind, stored with the dataset's
    version, the version of the standard the file met (``standard_version``: its key, :data:`catalogue.standards.CURRENT`
    or ``OLDER``, which names the version's published schema; rows written before issue 54 hold the version's label,
    read by :func:`catalogue.standards.verdict_version`), and bound to the file (its SHA-256, size and row count) and
    to the distribution it is (``distribution_url``, "" when the dataset lists no file).

    ``of_distribution``: the check is of the file the distribution serves (its first checked file, the same file
    again, or a file that explicitly replaces it: a new version of the dataset), so it is the dataset's verdict and
    fixes the checksum the catalogue publishes; a check of any other file is of that file only, kept in the
    history and never the dataset's verdict. The latest check of the distribution is the dataset's verdict."""

    __tablename__ = "dataset_check"

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    dataset_version: int
    standard_kind: str = Field(max_length=32)
    filename: str = Field(default="", max_length=255)
    encoding: str = Field(default="", max_length=16)
    row_count: int = Field(default=0)
    conformant: bool
    problem_count: int = Field(default=0)
    problems: str = Field(default="[]", sa_column=sa.Column(sa.Text, nullable=False, server_default="[]"))  # JSON, bounded
    sha256: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    byte_size: int = Field(default=0, sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"))
    standard_version: str = Field(default="", max_length=64, sa_column_kwargs={"server_default": ""})
    distribution_url: str = Field(default="", max_length=1000, sa_column_kwargs={"server_default": ""})
    of_distribution: bool = Field(default=True, sa_column=sa.Column(sa.Boolean, nullable=False, server_default=sa.true()))
    checked_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    checked_by: str = Field(default="", max_length=255)


def keywords_of(keywords: str) -> list[str]:
    """The keywords (CKAN's tags) of a dataset's ``keywords`` text (、 or , between them)."""
    return [k for k in (part.strip() for part in keywords.replace(",", "、").split("、")) if k]


def search_text_of(title_ja: str, title_en: str, keywords: str, description: str) -> str:
    """The one text a catalogue search looks in (so one LIKE, the same on SQLite and PostgreSQL)."""
    return "\n".join((title_ja, title_en, keywords, description)).lower()


# ASCII letters folded as SQLite's LIKE folds them (search_text is lower-cased already: a no-op there)
_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def search_grams(text: str) -> list[str]:
    """The character pairs (bigrams) of ``text`` that hold no white space, ASCII letters folded, each
    once, in the order they first appear.

    A catalogue search word is a run of characters without white space, so every text that holds the
    word (as LIKE finds it, on SQLite and PostgreSQL) holds all the word's pairs: the pairs of a
    dataset's ``search_text`` (:class:`DatasetSearchGram`) find a superset of the datasets that match,
    and the LIKE decides. Pairs, not triples: Japanese search words are often two characters (避難)."""
    text = text.translate(_ASCII_FOLD)
    return list(dict.fromkeys(text[i:i + 2] for i in range(len(text) - 1)
                              if not (text[i].isspace() or text[i + 1].isspace())))


class DatasetSearchGram(SQLModel, table=True):
    """The catalogue's search index, derived from ``Dataset.search_text`` (:func:`search_grams`) and
    written only with it (:func:`catalogue.search_index.set_search_text`): one row per pair and
    dataset. A search looks up its words' pairs here to pick the candidates the LIKE then checks, so that
    a search at national size reads a few thousand rows and not the whole register."""

    __tablename__ = "dataset_search_gram"

    gram: str = Field(primary_key=True, max_length=2)
    dataset_id: int = Field(primary_key=True, foreign_key="dataset.id", index=True)


class DatasetTerms(SQLModel, table=True):
    """One version of a dataset's own terms of use (利用規約), for a dataset whose licence is "terms of its
    own". Versioned as the governance agreements are (:mod:`core.texts`): the text never changes after
    it is made (``content_hash``); changing the terms makes the next version, which becomes current."""

    __tablename__ = "dataset_terms"
    __table_args__ = (sa.UniqueConstraint("dataset_id", "number"),)

    id: int | None = Field(default=None, primary_key=True)
    dataset_id: int = Field(foreign_key="dataset.id", index=True)
    number: int = Field(description="1, 2, 3… per dataset")
    title: str = Field(max_length=200)
    body_md: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    content_hash: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    created_by: str = Field(default="", max_length=255)


class DatasetTermsAcceptance(SQLModel, table=True):
    """A consumer's acceptance of one version of a dataset's terms: the consumer is a tenant (code) or a
    member organisation (corporate number), as the person who accepted acts for."""

    __tablename__ = "dataset_terms_acceptance"
    __table_args__ = (sa.UniqueConstraint("terms_id", "consumer_code"),
                      sa.Index("ix_dataset_terms_acceptance_consumer", "dataset_id", "consumer_code"))

    id: int | None = Field(default=None, primary_key=True)
    terms_id: int = Field(foreign_key="dataset_terms.id", index=True)
    dataset_id: int = Field(foreign_key="dataset.id")
    number: int
    consumer_code: str = Field(max_length=13)
    content_hash: str = Field(max_length=64)
    accepted_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    actor_issuer: str = Field(max_length=255)
    actor_subject: str = Field(max_length=255)
    actor_name: str = Field(default="", max_length=255)

"""The demo's sample catalogue: Kumamoto's 33 datasets (tenancy/data/datasets_kumamoto_sample.csv,
made-up sample records), loaded through the same import an operator uses, and published only past the
same publish checklist: the rows the import holds as drafts (a standard kind without a verdict, a licence
of its own terms without terms) get what the checklist asks (each standard kind's conforming sample file,
tenancy/data/standard_samples/<kind>.csv, checked as the distribution's file; the sample terms) and are
then published by :func:`catalogue.operations.publish_checked`, so they show 準拠.

The sample catalogue stands for one already on the platform: its datasets' first publication is dated the
first day of the fiscal year before the demo's (:func:`on_the_platform_since`), before the sample call's
contract period (which lies in the demo's fiscal year), so that no sample project counts the whole catalogue
as newly connected (competition.contracts.newly_connected reads ``Dataset.published_at``; its other date,
``Dataset.first_connected_at``, stays empty: the sample list names no route through the gateway)."""

from __future__ import annotations

import datetime as dt
from importlib import resources

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from core.calendar import fiscal_year_of, fiscal_year_start, today_jst
from catalogue.importing import import_datasets
from catalogue.models import Dataset

SAMPLE_FILE = "datasets_kumamoto_sample.csv"
STANDARD_SAMPLES = "standard_samples"


def sample_bytes() -> bytes:
    return resources.files("tenancy").joinpath("data", SAMPLE_FILE).read_bytes()


def standard_sample_bytes(kind: str) -> bytes:
    """A small made-up file of the standard kind ``kind`` that conforms to its definition (【サンプル】 rows)."""
    return resources.files("tenancy").joinpath("data", STANDARD_SAMPLES, f"{kind}.csv").read_bytes()


SAMPLE_TERMS_TITLE = "【サンプル】データ利用規約"
SAMPLE_TERMS = """【サンプル】デモ用の見本の利用規約です。実在の規約ではありません。

1. 利用者は、このデータを協議会の会員としての業務（行政事務、提案グループの実証）にのみ利用します。
2. 利用者は、このデータを第三者に提供しません。集計した結果を公表するときは出典を明記します。
3. 提供者はデータの正確性と公開する権利に、運営者はプラットフォームの稼働と安全性に、利用者はこの規約の範囲内での利用に責任を負います。
4. この規約を改定したときは、改定後の規約に同意するまでデータの配布先は提供されません。
"""


def on_the_platform_since(today: dt.date) -> dt.datetime:
    """When the sample catalogue was first published: 1 April (00:00 JST) of the fiscal year before ``today``'s."""
    return fiscal_year_start(fiscal_year_of(today) - 1)


def load_sample_datasets(session: Session, actor: Actor) -> list[Dataset]:
    """Import the sample list once: nothing if any of its datasets is registered already. The datasets
    with terms of their own get the sample terms (version 1), the standard ones their sample file's
    verdict; the rows marked 公開中 are then published past the publish checklist, their publication dated
    :func:`on_the_platform_since` (a catalogue already on the platform before this year)."""
    from catalogue import file_checks, operations, terms

    if session.scalar(sa.select(Dataset.id).where(Dataset.name == "kumamoto-city-aed")) is not None:
        return []
    imported = import_datasets(session, actor, sample_bytes())
    for dataset in imported.created:
        if terms.has_own_terms(session, dataset):
            terms.revise(session, actor, dataset.uid, SAMPLE_TERMS_TITLE, SAMPLE_TERMS)
        if dataset.standard_kind:
            distribution = file_checks.file_distribution(session, dataset)
            filename = distribution.url.rsplit("/", 1)[-1] if distribution else f"{dataset.standard_kind}.csv"
            file_checks.check_file(session, actor, dataset.uid, filename, standard_sample_bytes(dataset.standard_kind))
    for held in imported.held:
        operations.publish_checked(session, actor, held.dataset)
    since = on_the_platform_since(today_jst())
    for dataset in imported.created:
        if dataset.published_at is not None:
            dataset.published_at = since
    session.flush()
    return imported.created

"""The demo's sample catalogue: Kumamoto's 33 datasets (tenancy/data/datasets_kumamoto_sample.csv,
made-up sample records), loaded through the same import an operator uses."""

from __future__ import annotations

from importlib import resources

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core.actor import Actor
from tenancy.datasets.importing import import_datasets
from tenancy.datasets.models import Dataset

SAMPLE_FILE = "datasets_kumamoto_sample.csv"


def sample_bytes() -> bytes:
    return resources.files("tenancy").joinpath("data", SAMPLE_FILE).read_bytes()


def load_sample_datasets(session: Session, actor: Actor) -> list[Dataset]:
    """Import the sample list once: nothing if any of its datasets is registered already."""
    if session.scalar(sa.select(Dataset.id).where(Dataset.name == "kumamoto-city-aed")) is not None:
        return []
    return import_datasets(session, actor, sample_bytes())

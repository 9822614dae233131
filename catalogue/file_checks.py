"""Checking a standard dataset's file against its kind's schema, and the verdicts kept of it.

A check is bound to the file (SHA-256, size, rows, the standard's version it met) and to the
distribution it is checked as; it is the dataset's verdict only when the file is what the
distribution serves (:func:`check_file`). Audited (``dataset.check``), like every act on the
register (:mod:`catalogue.operations`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from core import areas, audit, authz
from core.actor import Actor
from core.db import utcnow
from core.errors import Conflict, problem
from catalogue import standards
from catalogue.models import Dataset, DatasetCheck, DatasetStatus, Distribution
from catalogue.operations import _summary, distributions, get_dataset


def file_distribution(session: Session, dataset: Dataset) -> Distribution | None:
    """The distribution a checked file is: the dataset's first file to download (not an API), or None."""
    return next((dist for dist in distributions(session, dataset) if not dist.is_api), None)


def distribution_check(session: Session, dataset: Dataset) -> DatasetCheck | None:
    """The dataset's verdict as a check: the latest check of the file its distribution serves
    (``of_distribution``) at the distribution's address (:func:`file_distribution`), or None when its
    distribution's file was never checked. Its SHA-256, size and rows are what the catalogue publishes."""
    dist = file_distribution(session, dataset)
    return session.scalars(sa.select(DatasetCheck).where(
        DatasetCheck.dataset_id == dataset.id, DatasetCheck.of_distribution.is_(True),
        DatasetCheck.distribution_url == (dist.url if dist is not None else "")).order_by(DatasetCheck.id.desc()).limit(1)).first()


def distribution_checks(session: Session, dataset_ids: Sequence[int]) -> dict[int, DatasetCheck]:
    """The latest check of the distribution's file of each of ``dataset_ids`` (those that have one), in one
    query: what the catalogue's records (CKAN, DCAT) publish of each file, beside the verdict. The reader
    matches its ``distribution_url`` with the distributions it lists (a verdict on a file no longer listed
    is no verdict: :func:`catalogue.operations._verdict_file_kept`)."""
    if not dataset_ids:
        return {}
    latest = (sa.select(sa.func.max(DatasetCheck.id)).where(DatasetCheck.dataset_id.in_(sorted(set(dataset_ids))),
                                                           DatasetCheck.of_distribution.is_(True))
              .group_by(DatasetCheck.dataset_id))
    return {check.dataset_id: check for check in session.scalars(sa.select(DatasetCheck).where(DatasetCheck.id.in_(latest)))}


def _standard_version(kind: standards.StandardKind, result: Any) -> str:
    """The version of the standard the verdict was given against, as the key of the version the file met
    (``current`` or ``older``: :func:`catalogue.standards.verdict_version` reads it, and names the version's
    published schema by it); a check that gives no version (a file that could not be read) names the version
    the kind's definition declares, else the digest of the definition as shipped (``schema:`` and 12 hex
    digits: which definition was applied, exactly)."""
    for name in ("version_key", "standard_version", "version"):
        value = getattr(result, name, None)
        if isinstance(value, str) and value:
            return value[:64]
    meta = kind.descriptor.get("x-renkei", {})
    value = kind.descriptor.get("version") or meta.get("version") or meta.get("version_date")
    if value:
        return str(value)[:64]
    text = json.dumps(kind.descriptor, ensure_ascii=False, sort_keys=True).encode("utf-8")
    return f"schema:{hashlib.sha256(text).hexdigest()[:12]}"


def _counted_rows(result: Any) -> tuple[bool, int, int, list[dict[str, str]]]:
    """The check's verdict with the rule that a file of no data rows does not conform (a header alone
    certifies nothing): (conformant, problem count, row count, problems)."""
    rows = int(getattr(result, "row_count", 0) or 0)
    if result.conformant and rows == 0:
        entry = problem("line 2", "The file has no data rows.", "データの行がありません。")
        entry.update(row="2", column="")
        return False, 1, 0, [entry]
    return bool(result.conformant), result.problem_count, rows, list(result.problems)


def platform_area(session: Session) -> areas.Box | None:
    """The area a standard file's points are checked against: the home prefecture's box (:mod:`core.areas`),
    or None before the prefecture is registered (then Japan's extent, the schema's range, only)."""
    from tenancy.registry.prefecture import home_prefecture

    home = home_prefecture(session)
    return areas.prefecture_box(home.code) if home is not None else None


def _checkable_kind(dataset: Dataset) -> standards.StandardKind:
    """The standard kind a file of the dataset is checked against; refused for a withdrawn dataset or
    one that is of no standard kind."""
    if dataset.status == DatasetStatus.withdrawn:
        raise Conflict("A withdrawn dataset cannot be changed.", "公開を終了したデータセットは変更できません。")
    kind = standards.kind_of(dataset.standard_kind)
    if kind is None:
        raise Conflict("This dataset is not one of the standard kinds.", "このデータセットは標準データセットではありません。")
    return kind


def check_file(session: Session, actor: Actor, uid: str, filename: str, raw: bytes, *,
               replaces: bool = False) -> DatasetCheck:
    """Check a file of a standard dataset against its kind's schema. The verdict is bound to the file
    (SHA-256, size, row count, the standard's version the file met) and to the distribution it is checked
    as (:func:`file_distribution`).

    It is the dataset's verdict (:mod:`catalogue.conformance`, ``of_distribution``) only when the file is
    what the distribution serves: the first file checked for the distribution (which fixes its checksum),
    the same file again, or a file the provider says ``replaces`` the distribution's (a new version of the
    file published: a published dataset's new version). Any other file (an excerpt, a draft of the next
    file) is checked and kept in the history as a check of that file only: the dataset's verdict, and the
    checksum the catalogue publishes, stay as they were. renkei does not fetch the distribution's address
    (docs/datasets.md, Limits): what the distribution serves is the file its provider checked as it."""
    dataset = get_dataset(session, actor, uid)
    authz.authorize(actor, "dataset.manage", dataset.provider_code)
    kind = _checkable_kind(dataset)
    result = standards.check_file(kind, raw, area=platform_area(session))
    conformant, problem_count, rows, problems = _counted_rows(result)
    sha256 = hashlib.sha256(raw).hexdigest()
    served = distribution_check(session, dataset)  # the file the distribution serves, as last checked
    of_distribution = served is None or served.sha256 == sha256 or replaces
    before = _summary(dataset)
    if of_distribution and served is not None and served.sha256 != sha256 and dataset.status == DatasetStatus.published:
        dataset.version += 1  # the distribution's file replaced: the published dataset's new version
        dataset.modified_at = utcnow()
    dist = file_distribution(session, dataset)
    check = DatasetCheck(dataset_id=dataset.id, dataset_version=dataset.version, standard_kind=kind.code,
                         filename=(filename or "")[:255], encoding=result.encoding, row_count=rows,
                         conformant=conformant, problem_count=problem_count,
                         problems=json.dumps(problems, ensure_ascii=False), checked_by=actor.recorded_name,
                         sha256=sha256, byte_size=len(raw), standard_version=_standard_version(kind, result),
                         distribution_url=dist.url if dist is not None else "", of_distribution=of_distribution)
    session.add(check)
    if of_distribution:
        dataset.conformant, dataset.problem_count = conformant, problem_count
    session.flush()
    audit.record(session, actor, "dataset.check", "dataset", dataset.uid, tenant_code=dataset.provider_code,
                 before={"version": before["version"]},
                 after={"standard_kind": kind.code, "version": dataset.version, "conformant": conformant,
                        "problems": problem_count, "rows": rows, "filename": check.filename, "sha256": sha256,
                        "bytes": len(raw), "standard_version": check.standard_version,
                        "distribution": check.distribution_url, "of_distribution": of_distribution,
                        "replaces": bool(replaces)})
    return check


def check_problems(check: DatasetCheck) -> list[dict[str, str]]:
    return json.loads(check.problems or "[]")

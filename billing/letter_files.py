"""Letters as issued: the exact file each issued letter was sent as.

A letter (納入通知書, 精算書, 負担金見込額) is rendered once, when it is issued or reissued, and its
bytes are kept (:class:`billing.models.LetterFile`) with their SHA-256; the issuing act's audit record
carries that digest, so the audit chain vouches for the file. A download gives the kept bytes, never a
new rendering: a letter read a month later, after the clock, the settings or the ledger moved on, is
the letter that was sent. A batch of letters binds the kept files one after another (their pages
unchanged).

A letter issued before files were kept has none; the first download renders it once and keeps that
(:func:`kept_or_render`), audited like an issue, so it too is the same file ever after.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from billing.models import LetterFile, LetterFileKind


def sha256(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def keep(session: Session, kind: LetterFileKind, letter_id: int, *, edition: int, number: str, tenant_code: str,
         fiscal_year: int, content: bytes) -> LetterFile:
    """Keep ``content`` as the file of the letter's ``edition`` (0: as first issued; n: its n-th reissue)."""
    kept = LetterFile(kind=kind, letter_id=letter_id, edition=edition, number=number, tenant_code=tenant_code,
                      fiscal_year=fiscal_year, sha256=sha256(content), content=content)
    session.add(kept)
    session.flush()
    return kept


def latest(session: Session, kind: LetterFileKind, letter_id: int) -> LetterFile | None:
    """The file last sent for the letter (its newest edition), or None if none was kept."""
    return session.scalars(sa.select(LetterFile).where(LetterFile.kind == kind, LetterFile.letter_id == letter_id)
                           .order_by(LetterFile.edition.desc())).first()


def kept_or_render(session: Session, kind: LetterFileKind, letter_id: int, *, edition: int, number: str,
                   tenant_code: str, fiscal_year: int, render: Callable[[], bytes],
                   on_first_keep: Callable[[LetterFile], None]) -> LetterFile:
    """The letter's kept file; for a letter issued before files were kept, rendered now, kept and
    reported to ``on_first_keep`` (the caller audits it)."""
    found = latest(session, kind, letter_id)
    if found is not None:
        return found
    kept = keep(session, kind, letter_id, edition=edition, number=number, tenant_code=tenant_code,
                fiscal_year=fiscal_year, content=render())
    on_first_keep(kept)
    return kept


def bind(files: Sequence[bytes]) -> bytes:
    """The files one after another in one PDF, each page as it was (the batch download)."""
    if len(files) == 1:
        return files[0]
    from pypdf import PdfWriter

    writer = PdfWriter()
    for content in files:
        writer.append(io.BytesIO(content))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()

"""Checks of an uploaded file: its type (by its first bytes, not its name) and size, and a PDF's pages.

:func:`pdf_pages` counts a PDF's page objects itself, without pypdf (which renkei uses only to bind issued
letters into one file, billing/letter_files.py): the ``/Type /Page`` dictionaries in the file and in its
compressed object streams (PDF 1.5's ``/ObjStm``, which weasyprint, Word and LibreOffice write). A file it cannot read as a PDF
is refused rather than guessed at.
"""

from __future__ import annotations

import re
import zlib

from core.errors import Invalid, problem

# type → (its magic bytes, the names it may end with, the content type it is kept as)
TYPES = {"pdf": (b"%PDF-", (".pdf",), "application/pdf"),
         "docx": (b"PK\x03\x04", (".docx",), "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
         "xlsx": (b"PK\x03\x04", (".xlsx",), "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")}
TYPE_NAMES = "PDF, Word (.docx), Excel (.xlsx)"

_STREAM = re.compile(rb"stream\r?\n(.*?)endstream", re.S)
_PAGE = re.compile(rb"/Type\s*/Page(?![a-zA-Z])")
_MAX_INFLATED = 64 * 1024 * 1024  # a compressed stream is read up to this many bytes (a bomb is cut off, not followed)


def content_type_of(field: str, filename: str, content: bytes, max_bytes: int, *, pdf_only: bool = False) -> str:
    """The content type of an acceptable upload, or :class:`Invalid` naming what is wrong with it."""
    label = filename or field
    if not content:
        raise Invalid(f"{label}: the file is empty.", f"{label}：ファイルが空です。",
                      problems=[problem(field, "The file is empty.", "ファイルが空です。")])
    if len(content) > max_bytes:
        mb = max_bytes // (1024 * 1024)
        raise Invalid(f"{label} is larger than {mb} MB.", f"{label} は {mb} MB を超えています。",
                      problems=[problem(field, f"Files up to {mb} MB.", f"{mb} MB 以下のファイルにしてください。")])
    allowed = ("pdf",) if pdf_only else tuple(TYPES)
    name = (filename or "").lower()
    for key in allowed:
        magic, suffixes, content_type = TYPES[key]
        if content.startswith(magic) and name.endswith(suffixes):
            return content_type
    kinds, kinds_ja = ("PDF", "PDF") if pdf_only else (TYPE_NAMES, "PDF・Word（.docx）・Excel（.xlsx）")
    raise Invalid(f"{label} is not a {kinds} file.", f"{label} は {kinds_ja} のファイルではありません。",
                  problems=[problem(field, f"Upload a {kinds} file.", f"{kinds_ja} のファイルを提出してください。")])


def _inflated(data: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj()
        return inflater.decompress(data.strip(b"\r\n"), _MAX_INFLATED)
    except zlib.error:
        return b""


def pdf_pages(content: bytes) -> int:
    """How many pages the PDF has (its page objects), or :class:`Invalid` when it has none readable."""
    count = len(_PAGE.findall(content))
    for match in _STREAM.finditer(content):
        body = match.group(1)
        head = content[max(0, match.start() - 400):match.start()]
        if b"/ObjStm" in head.rsplit(b"obj", 1)[-1]:
            count += len(_PAGE.findall(_inflated(body)))
    if count == 0:
        raise Invalid("The PDF's pages could not be read.", "PDF のページを読み取れませんでした。",
                      problems=[problem("proposal", "Save it again as a PDF.", "PDF として保存し直してください。")])
    return count

"""A file as a download named in ASCII and in Japanese (``Content-Disposition``'s ``filename`` and ``filename*``),
for the API and the admin pages that serve the same files (the minutes' PDF, the annual report, the statements, the
members' report, the progress report)."""

from __future__ import annotations

import urllib.parse

from flask import Response

from billing import annual_report
from governance import meetings
from secretariat import member_report, progress
from service import kpis


def attachment(data: bytes, mimetype: str, ascii_name: str, japanese_name: str) -> Response:
    """``data`` as a download: ``ascii_name`` for the clients that read ``filename`` only, ``japanese_name`` for
    the rest (RFC 6266's ``filename*``)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{urllib.parse.quote(japanese_name)}")
    return response


def minutes_pdf(data: bytes, meeting: meetings.Meeting) -> Response:
    """The minutes' PDF of ``meeting``."""
    return attachment(data, "application/pdf", f"minutes-{meeting.id}.pdf", f"議事録_{meeting.id}.pdf")


def annual_report_file(data: bytes, fiscal_year: int, fmt: str) -> Response:
    """The year's annual report in ``fmt`` (pdf or xlsx)."""
    ascii_name, japanese_name = annual_report.filename(fiscal_year, fmt)
    return attachment(data, annual_report.MEDIA_TYPES[fmt], ascii_name, japanese_name)


def results_report_file(data: bytes, fiscal_year: int, fmt: str) -> Response:
    """The year's results report for the grantor (実績報告書) in ``fmt`` (pdf or xlsx)."""
    ascii_name, japanese_name = kpis.filename(fiscal_year, fmt)
    return attachment(data, kpis.MEDIA_TYPES[fmt], ascii_name, japanese_name)


def member_report_file(data: bytes, period: member_report.Period, fmt: str) -> Response:
    """The members' report of ``period`` in ``fmt``."""
    ascii_name, japanese_name = member_report.filename(period, fmt)
    return attachment(data, member_report.MEDIA_TYPES[fmt], ascii_name, japanese_name)


def progress_report_file(data: bytes, period, fmt: str) -> Response:
    """The secretariat's progress report of ``period`` in ``fmt`` (the members' report's formats)."""
    ascii_name, japanese_name = progress.filename(period, fmt)
    return attachment(data, member_report.MEDIA_TYPES[fmt], ascii_name, japanese_name)


def submission_file(content) -> Response:
    """A submitted version's content (:func:`governance.submissions.content`), under the name it was submitted with."""
    ascii_name = content.filename.encode("ascii", "ignore").decode() or "document"
    return attachment(content.data, content.mimetype, ascii_name.replace('"', ""), content.filename)

"""The secretariat's import of the existing members (issue 40 item 1) in /admin: upload → every row
checked, each row's outcome previewed (new / already a member / differs) → confirm. A refused file comes
back with its problems beside the rows they are on (the first ones listed, all counted). The checked
file travels in the confirmation form (no copy is kept on the server); what is imported is what is
checked again at that moment. The rules and the audit record are :mod:`secretariat.members_import`'s."""

from __future__ import annotations

import base64
import binascii

from flask import Response, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import gettext, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of, stop_unless_about_fields
from admin.views import labels
from admin.views.base import MAX_UPLOAD, SecureView, file_line, post_action
from core import csvfile
from core.errors import DomainError
from core.spreadsheet import CSV_MIMETYPE
from secretariat import members_import
from tenancy.errors import ImportRejected

PREVIEW_ROWS = 200  # rows shown on the preview: those that differ first, then the others
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class MembersImportView(SecureView):
    required_action = members_import.ACTION

    @expose("/", methods=("GET", "POST"))
    def index(self):
        if request.method == "GET":
            return self._page()
        notify = request.form.get("notify") == "1"
        if request.form.get("confirmed") == "1":
            return self._import(notify)
        upload = request.files.get("file")
        raw = b""
        try:
            raw = self._read(upload)
            preview = members_import.check_file(db.session, g.actor, raw, notify=notify)
        except DomainError as error:
            db.session.rollback()
            stop_unless_about_fields(error, ("forbidden",))
            return self._page(error=error, raw=raw), status_of(error)
        db.session.rollback()  # a check writes nothing
        return self._page(preview=preview, content=base64.b64encode(raw).decode("ascii"),
                          filename=upload.filename if upload else "", notify=notify)

    @expose("/template.<fmt>")
    def template(self, fmt: str):
        if fmt == "xlsx":
            data, mimetype = members_import.template_xlsx(), XLSX
        else:
            data, mimetype = members_import.template_csv(), CSV_MIMETYPE
        response = Response(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="member-import-template.{"xlsx" if fmt == "xlsx" else "csv"}"'
        return response

    def _read(self, upload) -> bytes:
        if upload is None or not upload.filename:
            raise ImportRejected("Choose a file.", "ファイルを選んでください。")
        raw = upload.stream.read(MAX_UPLOAD + 1)
        if len(raw) > MAX_UPLOAD:
            raise ImportRejected("The file is larger than 20 MB.", "ファイルが 20 MB を超えています。")
        return raw

    def _import(self, notify: bool):
        try:
            raw = base64.b64decode(request.form.get("content", ""), validate=True)
        except (binascii.Error, ValueError):
            raw = b""
        if not raw:
            flash(gettext("The file to import was lost; choose it again."), "error")
            return self._page(), 422
        failed = {}

        def run():
            try:
                return members_import.import_file(db.session, g.actor, raw, notify=notify)
            except DomainError as error:
                failed["error"] = error  # e.g. a member entered by someone else since the check
                raise

        return post_action(run, back=url_for(".index"), done=self._done,
                           failed=lambda: (self._page(error=failed.get("error"), raw=raw), 422))

    def _done(self, result: members_import.ImportResult):
        flash(gettext("Members imported: %(created)s new, %(updated)s updated, %(unchanged)s unchanged; %(notified)s mailed.",
                      created=f"{len(result.created):,}", updated=f"{len(result.updated):,}",
                      unchanged=f"{result.unchanged:,}", notified=f"{result.notified:,}"), "success")
        return redirect(url_for("members.index"))

    def _page(self, *, error=None, preview=None, content="", filename="", notify=False, raw=b""):
        ja = labels.ja()
        problems = [(file_line(p.get("field", "")), _column(p.get("field", "")), p["message_ja"] if ja else p["message_en"])
                    for p in (error.problems if error is not None else [])]
        rows = _rows_at(raw, {line for line, _c, _m in problems if line.isdigit()}) if problems and raw else {}
        shown = sorted(preview.rows, key=lambda row: (row.outcome != members_import.Outcome.DIFFERS, row.line))[:PREVIEW_ROWS] \
            if preview else []
        return self.render("renkei/members_import.html", error=error, problems=problems, rows=rows, preview=preview,
                           shown=shown, content=content, filename=filename, notify=notify,
                           columns=list(members_import.HEADERS_JA.values()), max_listed=csvfile.MAX_PROBLEMS_LISTED,
                           outcome_label=lambda outcome: _pick(outcome.label),
                           field_label=lambda name: _pick(members_import.FIELD_LABELS[name]))


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if labels.ja() else pair[1]


def _column(field: str) -> str:
    """The column a problem is in, in the reader's language (「法人番号」 from ``line 5: corporate_number``)."""
    name = field.partition(": ")[2]
    pair = members_import.FIELD_LABELS.get(name)
    return _pick(pair) if pair else name


def _rows_at(raw: bytes, lines: set[str]) -> dict[str, tuple[str, str]]:
    """The corporate number and name on each of ``lines`` (the problems' rows), to show beside them."""
    wanted = {int(line) for line in lines}
    found: dict[str, tuple[str, str]] = {}
    try:
        for row in members_import.parse(raw):
            if row.line in wanted:
                found[str(row.line)] = (row.values.get("corporate_number", ""), row.values.get("name", ""))
                if len(found) == len(wanted):
                    break
    except DomainError:
        return found  # a file refused as a whole (its header, its encoding): no rows to show
    return found


def views(session):
    return [MembersImportView(name=_l("Import members"), endpoint="member_import", url="members-import")]

"""個人情報ファイル簿 (the file register, issue 56 item 5): the municipality's admins and the operator see it, download
it as a workbook or a PDF, and choose whether it is published; the public page (/file-register/<code>, no sign-in)
shows it only where the municipality publishes it. The rules are residents/file_register.py's."""

from __future__ import annotations

import urllib.parse

from flask import Blueprint, Response, abort, current_app, g, render_template, request, url_for
from flask_admin import expose
from flask_babel import gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.problems import status_of
from admin.views.base import SecureView, post_action, tenants_for
from core import authz
from core.errors import DomainError
from residents import file_register

MEDIA_TYPES = {"xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "pdf": "application/pdf"}


def _days() -> dict[str, int]:
    config = current_app.config
    return {"left_days": int(config.get("RENKEI_RESIDENT_LEFT_RETENTION_DAYS", 365)),
            "linkage_days": int(config.get("RENKEI_LINKAGE_RETENTION_DAYS", 365))}


def _file(found: file_register.FileRegister, fmt: str) -> Response:
    data = file_register.to_xlsx(found) if fmt == "xlsx" else file_register.to_pdf(found)
    response = Response(data, mimetype=MEDIA_TYPES[fmt])
    japanese = f"{found.municipality}_個人情報ファイル簿_{found.generated_on.isoformat()}.{fmt}"
    response.headers["Content-Disposition"] = (
        f"attachment; filename=\"file-register-{found.tenant_code}-{found.generated_on.isoformat()}.{fmt}\"; "
        f"filename*=UTF-8''{urllib.parse.quote(japanese)}")
    return response


class FileRegisterView(SecureView):
    required_action = "resident.file_register.read"

    @expose("/")
    def index(self):
        tenants = tenants_for(self.required_action)
        code = (request.args.get("tenant") or "").strip()[:6] or (tenants[0][0] if len(tenants) == 1 else "")
        found = None
        if code:
            try:
                found = file_register.register(db.session, g.actor, code, **_days())
            except DomainError as error:
                abort(status_of(error))
        return self.render("renkei/file_register.html", tenants=tenants, code=code, found=found,
                           can_publish=bool(code) and authz.allowed(g.actor, "resident.file_register.publish", code))

    @expose("/publish", methods=("POST",))
    def publish(self):
        code = (request.form.get("tenant") or "").strip()[:6]
        published = request.form.get("published") == "1"
        return post_action(lambda: file_register.set_published(db.session, g.actor, code, published),
                           back=url_for(".index", tenant=code),
                           saved=_("The file register is published on the public page.") if published
                           else _("The file register is no longer published."))

    def _download(self, code: str, fmt: str):
        try:
            return _file(file_register.register(db.session, g.actor, code, **_days()), fmt)
        except DomainError as error:
            abort(status_of(error))

    @expose("/<code>/file-register.xlsx")
    def xlsx(self, code: str):
        return self._download(code, "xlsx")

    @expose("/<code>/file-register.pdf")
    def pdf(self, code: str):
        return self._download(code, "pdf")


def views(session):
    return [FileRegisterView(name=_l("File register"), endpoint="file_register", url="file-register")]


# --- the public page ---------------------------------------------------------------------------------

public = Blueprint("file_register_public", __name__, url_prefix="/file-register")


@public.get("/<code>")
def public_page(code: str):
    try:
        found = file_register.public_register(db.session, code, **_days())
    except DomainError as error:
        return render_template("renkei/file_register_public.html", found=None, error=error), status_of(error)
    return render_template("renkei/file_register_public.html", found=found, error=None)

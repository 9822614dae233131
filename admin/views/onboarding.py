"""Onboarding in /admin: the board (columns by state, counts per wave, failed steps), a tenant's
timeline with its checklists, provisioning steps, outbox messages and the moves it allows, and the
wave upload. The outbox itself is the shared OutboxView of admin/views/usage.py.

Every change is a POST with a CSRF token that calls a domain operation; a refusal is shown as a
message and changes nothing (the session is rolled back before the redirect).
"""

from __future__ import annotations

from flask import flash, g, redirect, request, url_for
from flask_admin import expose
from flask_admin.form import SecureForm
from flask_babel import get_locale, lazy_gettext as _l
from wtforms import HiddenField, StringField
from wtforms.validators import Optional as OptionalValidator

from admin.extensions import db
from admin.i18n import format_date, format_fiscal_year
from admin.views.base import SecureView
from core import authz
from tenancy.onboarding import lifecycle, saga as onboarding
from core.errors import DomainError
from tenancy.registry.models import STATUS_LABELS_JA, TenantStatus
from core.outbox import Notification


STEP_STATUS_JA = {"pending": "未実行", "done": "完了", "failed": "失敗"}
OUTBOX_STATUS_JA = {"queued": "送信待ち", "sent": "送信済み", "failed": "送信失敗（再送予定）"}


def _locale() -> str:
    return str(get_locale() or "ja")


class MoveForm(SecureForm):
    transition = HiddenField()
    reason = StringField(validators=[OptionalValidator()])


class ChecklistForm(SecureForm):
    checklist = HiddenField()
    item = HiddenField()
    checked = HiddenField()


class WaveForm(SecureForm):
    fiscal_year = StringField()


def _flash_error(error: DomainError) -> None:
    db.session.rollback()
    message = error.message_ja if _locale() == "ja" else error.message_en
    flash(message, "error")
    for item in error.problems:
        flash(f"{item['field']}: {item['message_ja'] if _locale() == 'ja' else item['message_en']}", "error")


def _date(value) -> str:
    if isinstance(value, str):
        import datetime as dt

        value = dt.datetime.fromisoformat(value)
    return format_date(value, _locale())


class OnboardingView(SecureView):
    required_action = "tenant.read"

    def _codes(self):
        grant = self.grant
        return None if grant.all_tenants else sorted(g.actor.tenant_codes)

    def _can_move(self, code: str | None = None) -> bool:
        return authz.allowed(g.actor, "tenant.transition", code)

    @expose("/")
    def index(self):
        data = onboarding.board(db.session, self._codes())
        statuses = list(TenantStatus)
        return self.render("renkei/onboarding_board.html", board=data, statuses=statuses,
                           status_label=lambda s: STATUS_LABELS_JA[TenantStatus(s)] if _locale() == "ja" else TenantStatus(s).value,
                           wave_label=lambda w: format_fiscal_year(int(w), _locale()) if w != "-" else "—",
                           can_move=self._can_move())

    @expose("/tenant/<code>/")
    def tenant(self, code: str):
        authz.authorize(g.actor, "tenant.read", code)
        tenant = lifecycle.get_tenant(db.session, code)
        data = onboarding.detail(db.session, tenant)
        labels = {t.name: (t.label_ja if _locale() == "ja" else t.label_en) for t in lifecycle.TRANSITIONS.values()}
        labels["retry"] = "環境構築の再実行" if _locale() == "ja" else "retry provisioning"
        labels["provision"] = "環境構築の実行" if _locale() == "ja" else "provision"
        moves = [("provision" if name == "start_provisioning" else name) for name in data["allowed_transitions"]]
        outbox = db.session.query(Notification).filter(Notification.tenant_code == code).order_by(Notification.id.desc()).limit(20).all()
        return self.render("renkei/onboarding_tenant.html", tenant=tenant, data=data, moves=moves, move_labels=labels,
                           required_reason={t.name for t in lifecycle.TRANSITIONS.values() if t.reason_required},
                           can_move=self._can_move(code), move_form=MoveForm(), checklist_form=ChecklistForm(),
                           status_label=lambda s: lifecycle.status_label(s) if _locale() == "ja" else (s or "—"),
                           date=_date, outbox=outbox, agreements_item_in_use=lifecycle.agreements_item_in_use(),
                           step_label=lambda s: STEP_STATUS_JA.get(s, s) if _locale() == "ja" else s,
                           outbox_label=lambda s: OUTBOX_STATUS_JA.get(s, s) if _locale() == "ja" else s)

    @expose("/tenant/<code>/move", methods=("POST",))
    def move(self, code: str):
        from admin.identity import identity_directory

        form = MoveForm(request.form)
        back = redirect(url_for(".tenant", code=code))
        if not form.validate():
            flash("フォームの有効期限が切れました。もう一度操作してください。" if _locale() == "ja" else "The form expired; try again.", "error")
            return back
        name, reason, actor = form.transition.data, (form.reason.data or "").strip(), g.actor
        try:
            authz.authorize(actor, "tenant.transition", code)
            if name not in onboarding.TRANSITION_NAMES:
                flash(f"unknown transition {name!r}", "error")
                return back
            onboarding.transition(db.session, actor, identity_directory(), code, name, reason, checkpoint=db.session.commit)
        except DomainError as error:
            _flash_error(error)
            return back
        flash("参加状態を更新しました。" if _locale() == "ja" else "Status updated.", "success")
        return back

    @expose("/tenant/<code>/checklist", methods=("POST",))
    def checklist(self, code: str):
        form = ChecklistForm(request.form)
        back = redirect(url_for(".tenant", code=code))
        if not form.validate():
            flash("フォームの有効期限が切れました。もう一度操作してください。" if _locale() == "ja" else "The form expired; try again.", "error")
            return back
        try:
            lifecycle.check_item(db.session, g.actor, code, form.checklist.data, form.item.data, form.checked.data == "1")
        except DomainError as error:
            _flash_error(error)
        return back

    @expose("/wave/", methods=("GET", "POST"))
    def wave(self):
        from admin.identity import identity_directory

        if not self._can_move():
            authz.authorize(g.actor, "tenant.transition")
        form = WaveForm(request.form if request.method == "POST" else None)
        outcomes = None
        if request.method == "POST":
            upload = request.files.get("file")
            if not form.validate():
                flash("フォームの有効期限が切れました。もう一度操作してください。" if _locale() == "ja" else "The form expired; try again.", "error")
            elif upload is None or not upload.filename:
                flash("参加募集ファイル（CSV）を選択してください。" if _locale() == "ja" else "Choose the wave file (CSV).", "error")
            else:
                try:
                    year = onboarding.parse_fiscal_year(form.fiscal_year.data or "")
                    rows = onboarding.parse_wave_csv(upload.read())
                    outcomes = onboarding.run_wave(db.session, g.actor, identity_directory(), year, rows,
                                                   checkpoint=db.session.commit)
                except DomainError as error:
                    _flash_error(error)
        return self.render("renkei/onboarding_wave.html", form=form, outcomes=outcomes)


def views(session):
    # The outbox (通知) is listed by admin/views/usage.py's OutboxView: onboarding messages and quota alerts alike.
    return [OnboardingView(name=_l("Onboarding"), endpoint="onboarding", url="onboarding")]

"""Onboarding in /admin: the board (columns by state, counts per wave, failed steps), a tenant's
timeline with its checklists, provisioning steps, outbox messages and the moves it allows, and the
wave upload. The outbox itself is the shared OutboxView of admin/views/usage.py.

Every change is a POST that calls a domain operation through the one POST path of
admin/views/base.py; a refusal is shown as a message and changes nothing. The provisioning saga
commits after each of its steps itself (see tenancy/onboarding/saga.py); the views never commit.
The reads (board, tenant detail, notifications) authorise themselves in the domain.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, g, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext, lazy_gettext as _l
from wtforms import Form, HiddenField, StringField
from wtforms.validators import Optional as OptionalValidator

from admin.extensions import db
from admin.identity import identity_directory
from admin.i18n import format_date, format_fiscal_year
from admin.views import paging
from admin.views.base import SecureView, confirm_first, post_action
from core import authz
from tenancy.onboarding import board as onboarding_board, lifecycle, saga as onboarding, waves
from core.errors import Invalid
from tenancy.registry.models import TenantStatus
from admin.views import labels as words
from core import outbox as notifications
from tenancy.onboarding.models import StepStatus


# The moves that need a confirmation step, and what it says (msgids; frame.po).
_IRREVERSIBLE_MOVES = {
    "withdraw": ("Withdraw %(name)s from the platform?",
                 "Withdrawing takes every user of %(name)s out of the organisation, so they can no longer sign in, and "
                 "starts the hand-over of its data and the final settlement. It cannot be undone: to take part again, "
                 "%(name)s must apply again and go through screening and set-up.",
                 "Withdraw from the platform"),
    "suspend": ("Suspend %(name)s?",
                "Suspending disables the accounts of every user of %(name)s at once, so no one there can sign in, and "
                "its data use is refused. Cost sharing stops from the next month. Use is restored only when the "
                "operator resumes it.",
                "Suspend use"),
    "reject": ("Reject the application of %(name)s?",
               "Rejecting ends the application of %(name)s; it cannot be undone, and %(name)s would have to apply again.",
               "Reject the application"),
}


def _locale() -> str:
    return str(get_locale() or "ja")


def _in_locale(label: tuple[str, str]) -> str:
    """A (Japanese, English) label in the page's language."""
    return label[0] if _locale() == "ja" else label[1]


class MoveForm(Form):
    transition = HiddenField()
    reason = StringField(validators=[OptionalValidator()])


class ChecklistForm(Form):
    checklist = HiddenField()
    item = HiddenField()
    checked = HiddenField()


class WaveForm(Form):
    fiscal_year = StringField()


def _date(value) -> str:
    if isinstance(value, str):

        value = dt.datetime.fromisoformat(value)
    return format_date(value, _locale())


def _move_labels() -> dict[str, str]:
    """Each move of a tenant in the reader's language, provisioning and its retry as the board says them."""
    labels = {t.name: (t.label_ja if _locale() == "ja" else t.label_en) for t in lifecycle.TRANSITIONS.values()}
    labels["retry"] = "環境構築の再実行" if _locale() == "ja" else "retry provisioning"
    labels["provision"] = "環境構築の実行" if _locale() == "ja" else "provision"
    return labels


class OnboardingView(SecureView):
    required_action = "tenant.read"
    COLUMN_SIZE = 50  # a prefecture (Kumamoto: 45 municipalities) fits in one column

    def _can_move(self, code: str | None = None) -> bool:
        return authz.allowed(g.actor, "tenant.transition", code)

    @expose("/")
    def index(self):
        data = onboarding_board.board(db.session, g.actor)
        statuses = list(TenantStatus)
        # Each column shows its first COLUMN_SIZE cards (those matching the search); one column
        # opened alone (?status=) is paged, so the board stays the same size at 1,741 tenants.
        search, opened = paging.search_text(), request.args.get("status") or None
        if opened is not None and opened not in {s.value for s in statuses}:
            abort(400)
        page = paging.page_number()
        columns = {}
        for status in statuses:
            if opened is not None and status.value != opened:
                continue
            cards = data["columns"].get(status.value, [])
            keep = (lambda card: paging.matches(search, card["code"], card["name_ja"], card.get("name_en"))) if search else None
            columns[status.value] = (paging.paginate(cards, page, keep=keep) if opened is not None
                                     else paging.paginate(cards, 1, size=self.COLUMN_SIZE, keep=keep))
        waiting = onboarding_board.attention(db.session, g.actor)  # the home page's figures: the same read
        attention = {key: [(f"{row['name_ja']}（{row['code']}）" + (f": {row['step_label_ja'] if _locale() == 'ja' else row['step_label_en']}"
                             if row["step_label_ja"] else ""), url_for(".tenant", code=row["code"])) for row in rows]
                     for key, rows in waiting.items()}
        return self.render("renkei/onboarding_board.html", board=data, statuses=statuses, columns=columns, attention=attention,
                           search=search, opened=opened,
                           status_label=lambda s: TenantStatus(s).ja if _locale() == "ja" else TenantStatus(s).en,
                           wave_label=lambda w: format_fiscal_year(int(w), _locale()) if w != "-" else "—",
                           can_move=self._can_move(), can_read_outbox=authz.allowed(g.actor, "notification.read"))

    @expose("/tenant/<code>/")
    def tenant(self, code: str):
        data = onboarding_board.detail(db.session, g.actor, code)
        tenant = lifecycle.get_tenant(db.session, code)
        labels = _move_labels()
        moves = [("provision" if name == "start_provisioning" else name) for name in data["allowed_transitions"]]
        # the tenant's messages only for those who may read notifications (not municipal staff)
        outbox = (notifications.read_notifications(db.session, g.actor, tenant_code=code, limit=20)
                  if authz.allowed(g.actor, "notification.read", code) else None)
        return self.render("renkei/onboarding_tenant.html", tenant=tenant, data=data, moves=moves, move_labels=labels,
                           required_reason={t.name for t in lifecycle.TRANSITIONS.values() if t.reason_required},
                           can_move=self._can_move(code), move_form=MoveForm(), checklist_form=ChecklistForm(),
                           status_label=lambda s: lifecycle.status_label(s) if _locale() == "ja" else (s or "—"),
                           date=_date, outbox=outbox, agreements_item_in_use=lifecycle.agreements_item_in_use(),
                           step_label=lambda s: _in_locale(StepStatus(s).label),
                           outbox_label=words.outbox_status)

    @expose("/tenant/<code>/move", methods=("POST",))
    def move(self, code: str):
        form = MoveForm(request.form)
        name, reason, actor = form.transition.data, (form.reason.data or "").strip(), g.actor
        if name in _IRREVERSIBLE_MOVES and self._can_move(code):  # others are refused by the move itself
            title, consequence, label = _IRREVERSIBLE_MOVES[name]
            tenant = lifecycle.get_tenant(db.session, code)
            tenant_name = tenant.name_ja if _locale() == "ja" else (tenant.name_en or tenant.name_ja)
            asked = confirm_first(self, title=gettext(title, name=tenant_name),
                                  consequence=gettext(consequence, name=tenant_name),
                                  confirm_label=gettext(label), back=url_for(".tenant", code=code))
            if asked is not None:
                return asked

        def move_tenant():  # every move authorises itself (tenant.transition on this tenant)
            if name not in onboarding.TRANSITION_NAMES:
                raise Invalid(f"unknown transition {name!r}")
            return onboarding.transition(db.session, actor, identity_directory(), code, name, reason)

        return post_action(move_tenant, back=url_for(".tenant", code=code),
                           saved="参加状態を更新しました。" if _locale() == "ja" else "Status updated.")

    @expose("/tenant/<code>/checklist", methods=("POST",))
    def checklist(self, code: str):
        form = ChecklistForm(request.form)
        return post_action(lambda: lifecycle.check_item(db.session, g.actor, code, form.checklist.data, form.item.data,
                                                        form.checked.data == "1"),
                           back=url_for(".tenant", code=code))

    @expose("/wave/", methods=("GET", "POST"))
    def wave(self):
        if not self._can_move():
            authz.authorize(g.actor, "tenant.transition")
        form = WaveForm(request.form if request.method == "POST" else None)

        def page(outcomes=None):
            ja = _locale() == "ja"
            return self.render("renkei/onboarding_wave.html", form=form, outcomes=outcomes,
                               status_label=lambda s: (lifecycle.status_label(s) if s and s != "-" else "—") if ja else s,
                               step_label=lambda s: (onboarding.STEP_BY_NAME[s].label_ja if ja else onboarding.STEP_BY_NAME[s].label_en)
                               if s in onboarding.STEP_BY_NAME else (s or ""))

        if request.method != "POST":
            return page()
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            flash("参加募集ファイル（CSV）を選択してください。" if _locale() == "ja" else "Choose the wave file (CSV).", "error")
            return page()

        def run_wave():
            year = waves.parse_fiscal_year(form.fiscal_year.data or "")
            rows = waves.parse_wave_csv(upload.stream)  # read row by row, never held whole
            return waves.run_wave(db.session, g.actor, identity_directory(), year, rows)

        return post_action(run_wave, done=page, failed=page)


def views(session):
    # The outbox (通知) is listed by admin/views/usage.py's OutboxView: onboarding messages and quota alerts alike.
    return [OnboardingView(name=_l("Onboarding"), endpoint="onboarding", url="onboarding")]

"""Admin views of governance: agreements (versions, acceptance, the re-acceptance board) and the council.

Pages read; every change is a POST that calls a governance use case, which authorises and audits
it, through the one POST path of admin/views/base.py (CSRF, one commit, messages). Municipal
admins see the board and vote for their own tenant only; the operator drafts, publishes, proposes
and closes.
"""

from __future__ import annotations

import dataclasses

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l
from pydantic import ValidationError

from admin.extensions import db
from admin.problems import status_of
from admin.i18n import format_date
from admin.views import labels, operator_forms as forms, paging
from admin.views.base import SecureView, confirm_first, post_action, with_problems_beside_fields
from billing import allocation_policies
from billing.models import PolicyStatus
from governance import agreements, council, meetings
from secretariat import groups
from governance.models import AgreementDocument, ChangeType, ProposalStatus, VersionStatus, VoteChoice
from governance.schemas import DEFAULT_REACCEPTANCE_DAYS, ProposalCreate, VersionDraft
from core import authz
from core.errors import DomainError, Invalid, NotFound
from core.validation import problems_from, whole_number
from tenancy.registry.models import TenantStatus
from tenancy.registry.operations import find_tenant, list_tenants
from usage import quotas
from usage.models import Enforcement, is_plan_code


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _ja() else pair[1]


def _when(value) -> str:
    return format_date(value, "ja" if _ja() else "en")


def _act(operation, back: str):
    """Run one use case through the POST path, then go back to ``back``."""
    return post_action(operation, back=back, saved="保存しました" if _ja() else "Saved")


def _invalid(error: ValidationError) -> Invalid:
    """A schema's refusal as a domain refusal, whose field problems the form shows beside its fields."""
    return Invalid("The form has problems; nothing was saved.", "入力内容に誤りがあります。保存していません。",
                   problems=problems_from(error))


def _status_label(status) -> str:
    return _pick(TenantStatus(status).label)


def _change_details(change_type: ChangeType, params: dict) -> list[tuple[str, str]]:
    """What a proposal changes, in words (label, value): names of the policy, version, municipality or plan."""
    ja, rows = _ja(), []
    if change_type == ChangeType.adopt_allocation_policy and "policy_id" in params:
        try:
            policy = allocation_policies.get_policy(db.session, int(params["policy_id"]))
            rows.append((_("Allocation policy"), f"{policy.name} 第{policy.version}版" if ja else f"{policy.name} v{policy.version}"))
        except DomainError:
            rows.append((_("Allocation policy"), "—"))
    elif change_type == ChangeType.admit_municipality and "tenant_code" in params:
        tenant = find_tenant(db.session, params["tenant_code"])
        name = (tenant.name_ja if ja else tenant.name_en_shown) if tenant is not None else ""
        rows.append((_("Municipality to admit"), f"{params['tenant_code']} {name}".strip()))
    elif change_type == ChangeType.publish_agreement_version and "document" in params:
        document = AgreementDocument(params["document"])
        rows.append((_("Agreement version to publish"),
                     f"{_pick(AgreementDocument(document).label)} 第{params.get('number')}版" if ja
                     else f"{_pick(AgreementDocument(document).label)} v{params.get('number')}"))
        if params.get("reacceptance_days"):
            rows.append((_("Days active tenants have to accept"), str(params["reacceptance_days"])))
    elif change_type == ChangeType.change_quota_plan and "plan_code" in params:
        plan = quotas.find_plan(db.session, params["plan_code"])
        change = params.get("change") or {}
        name = plan.name_ja if plan is not None else change.get("name_ja", "")
        rows.append((_("Quota plan"), f"{name}（{params['plan_code']}）" if plan is not None
                     else f"{_('A new plan')}: {name}（{params['plan_code']}）"))
        if change.get("name_ja") and plan is not None and change["name_ja"] != plan.name_ja:
            rows.append((_("Name of the plan (Japanese)"), change["name_ja"]))
        for spec in change.get("limits") or []:
            if spec.get("metric") not in forms.METRICS:
                continue
            if spec.get("limit") is None:
                value = _("Remove this limit")
            else:
                enforcement = Enforcement(spec.get("enforcement", Enforcement.soft.value))
                value = f"{spec['limit']:,}（{_pick(Enforcement(enforcement).label)}）"
            rows.append((forms.metric_label(spec["metric"]), value))
    return rows


def _document_summary(actor, document: AgreementDocument) -> dict:
    """One agreement document on the index: its versions, the one in force and the one tenants must accept."""
    return {"document": document, "label": _pick(AgreementDocument(document).label),
            "versions": agreements.read_versions(db.session, actor, document),
            "current": agreements.current_version(db.session, actor, document),
            "required": agreements.required_version(db.session, actor, document)}


def _board_page(board: list, search: str, overdue_only: bool) -> paging.Page:
    """A page of the board (50 tenants, searchable by code or name, or only those past their deadline);
    the summary counts every tenant."""
    return paging.paginate(board, paging.page_number(),
                           keep=lambda row: (not overdue_only or row.overdue)
                           and paging.matches(search, row.tenant_code, row.tenant_name))


def _acceptance_of(version) -> tuple[list[str], list[str]]:
    """The signed-in person's tenants that may accept the version: those yet to accept it, those that have."""
    accepting = sorted(code for code in g.actor.tenant_codes if authz.allowed(g.actor, "agreement.accept", code))
    accepted = {a.tenant_code for code in accepting for a in agreements.acceptances(db.session, g.actor, code)
                if a.version_id == version.id}
    return [c for c in accepting if c not in accepted], sorted(accepted)


class AgreementsView(SecureView):
    """協定・規約: documents, versions, acceptance, and the board of who must (re-)accept by when."""

    required_action = "governance.read"

    def _document(self, name: str) -> AgreementDocument:
        try:
            return AgreementDocument(name)
        except ValueError:
            abort(404)

    @expose("/")
    def index(self):
        actor = g.actor
        manage = authz.allowed(actor, "agreement.manage")
        documents = [_document_summary(actor, document) for document in AgreementDocument]
        board = agreements.board(db.session, actor)
        search, overdue_only = paging.search_text(), request.args.get("overdue") == "1"
        shown = _board_page(board, search, overdue_only)
        standing = {row.tenant_code: {status.document: status for status in row.documents} for row in shown.items}
        return self.render("renkei/governance_agreements.html", documents=documents, board=board, manage=manage,
                           shown=shown, search=search, overdue_only=overdue_only,
                           overdue_count=sum(1 for row in board if row.overdue),
                           reacceptance_count=sum(1 for row in board if row.in_reacceptance),
                           standing=standing, status_label=_status_label,
                           version_status={s.value: _pick(s.label) for s in VersionStatus},
                           document_labels={d: _pick(d.label) for d in AgreementDocument}, when=_when)

    @expose("/<document>/<int:number>/")
    def version(self, document: str, number: int):
        document_kind = self._document(document)
        manage = authz.allowed(g.actor, "agreement.manage")
        try:
            version = agreements.read_version(db.session, g.actor, document_kind, number)
        except NotFound as error:
            abort(status_of(error))
        accepting, accepted = _acceptance_of(version)
        current = agreements.current_version(db.session, g.actor, document_kind)
        return self.render("renkei/governance_version.html", version=version, label=_pick(AgreementDocument(document_kind).label),
                           manage=manage, accepting=accepting, accepted=accepted,
                           tenant_label=labels.tenant_label,
                           is_current=current is not None and current.id == version.id, when=_when,
                           body_html=forms.render_markdown(version.body_md),
                           status_label=_pick(VersionStatus(version.status).label),
                           reacceptance_days=version.reacceptance_days or DEFAULT_REACCEPTANCE_DAYS)

    def _draft_page(self, document_kind: AgreementDocument, form, preview=None):
        manage = authz.allowed(g.actor, "agreement.manage")
        if not manage:
            abort(403)
        versions = agreements.read_versions(db.session, g.actor, document_kind)
        return self.render("renkei/governance_draft.html", form=form, preview=preview, document=document_kind,
                           label=_pick(AgreementDocument(document_kind).label), versions=versions, when=_when,
                           next_number=max((v.number for v in versions), default=0) + 1,
                           version_status={s.value: _pick(s.label) for s in VersionStatus})

    @expose("/<document>/new")
    def new_draft(self, document: str):
        """The drafting form of the next version, opened on the current text to edit."""
        document_kind = self._document(document)
        form = forms.AgreementDraftForm()
        current = agreements.current_version(db.session, g.actor, document_kind)
        form.title.data = current.title if current else _pick(AgreementDocument(document_kind).label)
        form.body_md.data = current.body_md if current else ""
        return self._draft_page(document_kind, form)

    @expose("/<document>/draft", methods=("POST",))
    def draft(self, document: str):
        """Preview (nothing written) or save the draft; a refused form comes back with what was typed."""
        document_kind = self._document(document)
        form = forms.AgreementDraftForm(request.form)
        if not authz.allowed(g.actor, "agreement.manage"):
            abort(403)
        valid = form.validate()
        if request.form.get("action") == "preview" or not valid:
            return self._draft_page(document_kind, form, preview=forms.render_markdown(form.body_md.data or ""))

        def save():
            try:
                data = VersionDraft(title=form.title.data, body_md=form.body_md.data, effective_on=form.effective_on.data,
                                    required=bool(form.required.data), reacceptance_days=form.reacceptance_days.data)
            except ValidationError as error:
                raise _invalid(error) from None
            return agreements.draft_version(db.session, g.actor, document_kind, data)

        return post_action(with_problems_beside_fields(form, save), saved=_("Draft saved."),
                           done=lambda version: redirect(url_for(".version", document=document, number=version.number)),
                           failed=lambda: self._draft_page(document_kind, form))

    @expose("/<document>/<int:number>/publish", methods=("POST",))
    def publish(self, document: str, number: int):
        document_kind = self._document(document)
        days = whole_number(request.form.get("reacceptance_days", "30"), max_digits=4) or 0
        if authz.allowed(g.actor, "agreement.manage"):  # others are refused by the operation
            asked = confirm_first(
                self, title=_("Publish this version?"),
                consequence=_(
                    "Publishing makes version %(number)s the %(document)s in force for every member, and every member "
                    "is notified. If the version requires acceptance, members that have not accepted it have %(days)s "
                    "days to accept it. A published version cannot be withdrawn; a later change needs a new version.",
                    number=number, document=_pick(AgreementDocument(document_kind).label), days=days),
                confirm_label=_("Publish"), back=url_for(".version", document=document, number=number))
            if asked is not None:
                return asked
        return _act(lambda: agreements.publish_version(db.session, g.actor, document_kind, number, days),
                    url_for(".version", document=document, number=number))

    @expose("/<document>/<int:number>/accept", methods=("POST",))
    def accept(self, document: str, number: int):
        document_kind = self._document(document)
        code, seen = request.form.get("tenant_code", ""), request.form.get("content_hash", "")
        return _act(lambda: agreements.accept_version(db.session, g.actor, document_kind, number, seen, code),
                    url_for(".version", document=document, number=number))


@dataclasses.dataclass
class _ProposalPickers:
    """The lists a proposal is built from: allocation policies, draft agreement versions, municipalities
    under screening and quota plans, each by name; and the form that offers them."""

    kinds: list[tuple[str, str]]
    policies: list[tuple[str, str]]
    versions: list[tuple[str, str]]
    screening: list[tuple[str, str]]
    plans: list[tuple[str, str]]
    plan_thresholds: dict[str, dict[str, tuple[int, ...]]]

    @classmethod
    def load(cls) -> _ProposalPickers:

        actor, ja = g.actor, _ja()
        installed = council.installed_change_types()
        kinds = [(t.value, _pick(ChangeType(t).label)) for t in installed]
        policies = []
        if authz.allowed(actor, "billing.read"):
            for policy in allocation_policies.list_policies(db.session, actor):
                status = PolicyStatus(policy.status)
                if status == PolicyStatus.adopted:
                    continue  # already in force: nothing to adopt
                label = (f"{policy.name} 第{policy.version}版（{status.ja}）" if ja
                         else f"{policy.name} v{policy.version} ({status.en})")
                policies.append((str(policy.id), label))
        versions = []
        for version in agreements.read_versions(db.session, actor):
            if VersionStatus(version.status) != VersionStatus.draft:
                continue
            document = AgreementDocument(version.document)
            label = (f"{_pick(AgreementDocument(document).label)} 第{version.number}版「{version.title}」（下書き）" if ja
                     else f"{_pick(AgreementDocument(document).label)} v{version.number} “{version.title}” (draft)")
            versions.append((f"{document.value}:{version.number}", label))
        tenants, _total = list_tenants(db.session, actor, status=TenantStatus.screening, per_page=2000)
        screening = [(t.code, f"{t.code} {t.name_ja if ja else t.name_en_shown}") for t in tenants]
        plan_rows = quotas.list_plans(db.session, actor)
        plans = [(p.code, f"{p.name_ja if ja else (p.name_en or p.name_ja)}（{p.code}）") for p in plan_rows]
        thresholds = {p.code: {row.metric: quotas.thresholds_of(row.thresholds)
                               for row in p.limits} for p in plan_rows}
        return cls(kinds, policies, versions, screening, plans, thresholds)

    def form(self, formdata=None):
        form = forms.proposal_form_class()(formdata)
        choose = ("", _("Choose…"))
        form.change_type.choices = [("", _("Choose the kind of proposal"))] + self.kinds
        form.policy_id.choices = [choose] + self.policies
        form.agreement_version.choices = [choose] + self.versions
        form.tenant_code.choices = [choose] + self.screening
        form.plan_code.choices = [choose] + self.plans + [(forms.NEW_PLAN, _("A new plan"))]
        for name in forms.METRICS:
            form[f"enforcement_{name}"].choices = forms.enforcement_choices()
        return form

    def params(self, form) -> tuple[dict, dict[str, str]]:
        """The typed change's parameters from the pickers, and where a domain problem about each belongs.
        Marks a missing or unknown pick beside its picker."""
        kind = form.change_type.data or ""
        fields = {"params.policy_id": "policy_id", "params.tenant_code": "tenant_code",
                  "params.document": "agreement_version", "params.number": "agreement_version",
                  "params.reacceptance_days": "reacceptance_days", "params.plan_code": "plan_code",
                  "params.change.name_ja": "plan_name_ja", "closes_at": "closes_on", "opens_at": "closes_on"}
        if kind not in {key for key, _label in self.kinds}:
            form.change_type.errors = [*form.change_type.errors, _("Choose the kind of proposal.")]
            return {}, fields
        readers = {ChangeType.adopt_allocation_policy.value: self._policy_params,
                   ChangeType.admit_municipality.value: self._admission_params,
                   ChangeType.publish_agreement_version.value: self._publication_params,
                   ChangeType.change_quota_plan.value: self._plan_params}
        read = readers.get(kind)
        return (read(form, fields) if read else {}), fields

    @staticmethod
    def _chosen(field, options, message) -> str | None:
        """The picked value if it is one of the options; otherwise the message beside the picker."""
        value = field.data or ""
        if value not in {key for key, _label in options}:
            field.errors = [*field.errors, message]
            return None
        return value

    def _policy_params(self, form, fields) -> dict:
        value = self._chosen(form.policy_id, self.policies, _("Choose the allocation policy."))
        return {"policy_id": int(value)} if value else {}

    def _admission_params(self, form, fields) -> dict:
        value = self._chosen(form.tenant_code, self.screening, _("Choose the municipality to admit."))
        return {"tenant_code": value} if value else {}

    def _publication_params(self, form, fields) -> dict:
        value = self._chosen(form.agreement_version, self.versions, _("Choose the agreement version to publish."))
        if not value:
            return {}
        document, number = value.split(":")
        return {"document": document, "number": int(number),
                "reacceptance_days": form.reacceptance_days.data or DEFAULT_REACCEPTANCE_DAYS}

    def _plan_params(self, form, fields) -> dict:
        value = self._chosen(form.plan_code, self.plans + [(forms.NEW_PLAN, "")], _("Choose the quota plan."))
        code = value or None
        if value == forms.NEW_PLAN:
            code = self._new_plan_code(form)
            fields["params.plan_code"] = "new_plan_code"
        limits = forms.limits_from(form, self.plan_thresholds.get(code or "", {}))
        fields.update(forms.limit_problem_fields(limits, "params.change."))
        change: dict = {"limits": limits}
        if (form.plan_name_ja.data or "").strip():
            change["name_ja"] = form.plan_name_ja.data.strip()
        if not limits and "name_ja" not in change:
            form.form_errors.append(_("Enter at least one new limit, or tick a limit to remove."))
        return {"plan_code": code, "change": change} if code else {}

    @staticmethod
    def _new_plan_code(form) -> str | None:
        """A new plan's code and name as typed, each marked beside its field when missing or malformed."""
        code = (form.new_plan_code.data or "").strip()
        if not is_plan_code(code):
            form.new_plan_code.errors = [*form.new_plan_code.errors,
                                         _("Enter a code of letters, digits, - or _ for the new plan.")]
            code = None
        if not (form.plan_name_ja.data or "").strip():
            form.plan_name_ja.errors = [*form.plan_name_ja.errors, _("Enter the name of the new plan.")]
        return code


class CouncilView(SecureView):
    """協議会: proposals, the vote of each member, resolutions."""

    required_action = "governance.read"

    @expose("/")
    def index(self):
        return self._index()

    def _index(self, form=None, pickers=None):
        actor = g.actor
        rows = council.proposal_rows(db.session, actor)
        manage = authz.allowed(g.actor, "council.manage")
        if manage and form is None:
            pickers = _ProposalPickers.load()
            form = pickers.form()
            if request.args.get("kind") in {t.value for t in council.installed_change_types()}:
                form.change_type.data = request.args["kind"]
        # proposals open for voting: the home page's figure, by the same read
        open_votes = council.open_votes(db.session, actor)
        return self.render("renkei/governance_council.html", rows=rows, manage=manage, when=_when, form=form,
                           open_votes=[(vote.proposal.title, url_for(".proposal", proposal_id=vote.proposal.id))
                                       for vote in open_votes],
                           pickers=pickers, metric_names=list(forms.METRICS), metric_label=forms.metric_label,
                           status_labels={s: _pick(s.label) for s in ProposalStatus},
                           change_labels={c: _pick(c.label) for c in ChangeType},
                           change_types=council.installed_change_types(), rules=council.RULE_LABELS,
                           members=council.member_names(db.session, actor), ja=_ja(),
                           sub_bodies=groups.council_bodies(db.session, actor) if authz.allowed(actor, "group.read") else None)

    @expose("/<int:proposal_id>/")
    def proposal(self, proposal_id: int):
        try:
            proposal = council.get_proposal(db.session, g.actor, proposal_id)
        except NotFound as error:
            abort(status_of(error))
        voted = {ballot.tenant_code: ballot for ballot in council.ballots(db.session, g.actor, proposal)}
        electorate = council.electorate_of(proposal)
        is_open = ProposalStatus(proposal.status) == ProposalStatus.open
        my_members = [code for code in electorate if code not in voted and authz.allowed(g.actor, "council.vote", code)
                      and code in g.actor.tenant_codes] if is_open else []
        names = council.electorate_names(db.session, g.actor, proposal)
        return self.render("renkei/governance_proposal.html", proposal=proposal, votes=voted, electorate=electorate,
                           names=names, is_open=is_open, my_members=my_members, when=_when,
                           manage=authz.allowed(g.actor, "council.manage"),
                           params=_change_details(ChangeType(proposal.change_type), council.params_of(proposal)),
                           resolution=council.resolution_of(db.session, g.actor, proposal.id),
                           decided_at=meetings.meeting_of_proposal(db.session, proposal.id),
                           can_read_meetings=authz.allowed(g.actor, "meeting.read"),
                           status_label=_pick(ProposalStatus(proposal.status).label),
                           change_label=_pick(ChangeType(proposal.change_type).label),
                           vote_labels={c.value: _pick(c.label) for c in VoteChoice},
                           rules={k: _pick(v) for k, v in council.RULE_LABELS.items()}, ja=_ja())

    @expose("/propose", methods=("POST",))
    def propose(self):
        """Open a vote on a proposal built from pickers; a refused form comes back with what was typed,
        each problem beside its field in words."""
        pickers = _ProposalPickers.load()
        form = pickers.form(request.form)
        valid = form.validate()
        params, fields = pickers.params(form)
        if not valid or form.form_errors or any(f.errors for f in form):
            return self._index(form, pickers)

        def propose():
            try:
                data = ProposalCreate(title=form.title.data, description=form.description.data or "",
                                      change_type=form.change_type.data, params=params, closes_at=form.closes_on.data)
            except ValidationError as error:
                raise _invalid(error) from None
            return council.propose(db.session, g.actor, data)

        return post_action(with_problems_beside_fields(form, propose, fields, {"policy_id": _("Choose the allocation policy.")}),
                           saved=_("Saved. The vote is open."),
                           done=lambda proposal: redirect(url_for(".proposal", proposal_id=proposal.id)),
                           failed=lambda: self._index(form, pickers))

    @expose("/<int:proposal_id>/vote", methods=("POST",))
    def vote(self, proposal_id: int):
        choice, code = request.form.get("choice", ""), request.form.get("tenant_code", "")
        back = url_for(".proposal", proposal_id=proposal_id)
        if choice not in {c.value for c in VoteChoice}:
            flash("賛成・反対・棄権のいずれかを選んでください。" if _ja() else "Choose for, against or abstain.", "error")
            return redirect(back)
        return _act(lambda: council.cast_vote(db.session, g.actor, proposal_id, VoteChoice(choice), code or None), back)

    @expose("/<int:proposal_id>/close", methods=("POST",))
    def close(self, proposal_id: int):
        if authz.allowed(g.actor, "council.manage"):  # others are refused by the operation
            asked = confirm_first(
                self, title=_("Close the vote on this proposal?"),
                consequence=_("Closing ends the vote: the votes cast so far are counted and the resolution is "
                              "recorded, and an adopted change takes effect at once. Neither the closing nor the "
                              "resolution can be undone."),
                confirm_label=_("Close the vote and record the resolution"),
                back=url_for(".proposal", proposal_id=proposal_id))
            if asked is not None:
                return asked
        return _act(lambda: council.close_proposal(db.session, g.actor, proposal_id),
                    url_for(".proposal", proposal_id=proposal_id))

    @expose("/<int:proposal_id>/withdraw", methods=("POST",))
    def withdraw(self, proposal_id: int):
        reason = request.form.get("reason", "").strip()
        back = url_for(".proposal", proposal_id=proposal_id)
        if not reason:
            flash("取下げの理由を入力してください。" if _ja() else "Give the reason for withdrawing.", "error")
            return redirect(back)
        if authz.allowed(g.actor, "council.manage"):  # others are refused by the operation
            asked = confirm_first(
                self, title=_("Withdraw this proposal?"),
                consequence=_("A withdrawn proposal cannot be reopened: its vote ends and nothing it proposes takes "
                              "effect. To decide the matter, submit a new proposal."),
                confirm_label=_("Withdraw the proposal"), back=back)
            if asked is not None:
                return asked
        return _act(lambda: council.withdraw_proposal(db.session, g.actor, proposal_id, reason), back)


def views(db_):
    return [AgreementsView(name=_l("Agreements"), endpoint="agreements", url="agreements"),
            CouncilView(name=_l("Council"), endpoint="council", url="council")]

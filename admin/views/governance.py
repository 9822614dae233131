"""Admin views of governance: agreements (versions, acceptance, the re-acceptance board) and the council.

Pages read; every change is a POST that calls a governance use case, which authorises and audits
it, through the one POST path of admin/views/base.py (CSRF, one commit, messages). Municipal
admins see the board and vote for their own tenant only; the operator drafts, publishes, proposes
and closes.
"""

from __future__ import annotations

import datetime as dt
import json

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, lazy_gettext as _l
from pydantic import ValidationError

from admin.extensions import db
from admin.i18n import format_date
from admin.views.base import SecureView, post_action
from governance import agreements, council
from governance.models import (CHANGE_LABELS, DOCUMENT_LABELS, PROPOSAL_STATUS_LABELS, VOTE_LABELS, AgreementDocument,
                               ChangeType, ProposalStatus, VoteChoice)
from governance.schemas import ProposalCreate, VersionDraft
from core import authz
from core.errors import NotFound
from core.validation import problems_from


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


def _pick(pair: tuple[str, str]) -> str:
    return pair[0] if _ja() else pair[1]


def _when(value) -> str:
    return format_date(value, "ja" if _ja() else "en")


def _act(operation, back: str):
    """Run one use case through the POST path, then go back to ``back``."""
    return post_action(operation, back=back, saved="保存しました" if _ja() else "Saved")


def _invalid(error: ValidationError) -> None:
    flash("入力内容に誤りがあります: " + "、".join(f"{p['field']}: {p['message_ja']}" for p in problems_from(error))
          if _ja() else "Invalid input: " + "; ".join(f"{p['field']}: {p['message_en']}" for p in problems_from(error)),
          "error")


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
        documents = []
        for document in AgreementDocument:
            versions = agreements.read_versions(db.session, actor, document)
            documents.append({"document": document, "label": _pick(DOCUMENT_LABELS[document]), "versions": versions,
                              "current": agreements.current_version(db.session, actor, document),
                              "required": agreements.required_version(db.session, actor, document)})
        board = agreements.board(db.session, actor)
        standing = {row.tenant_code: {status.document: status for status in row.documents} for row in board}
        return self.render("renkei/governance_agreements.html", documents=documents, board=board, manage=manage,
                           standing=standing,
                           document_labels={d: _pick(l) for d, l in DOCUMENT_LABELS.items()}, when=_when)

    @expose("/<document>/<int:number>/")
    def version(self, document: str, number: int):
        document_kind = self._document(document)
        manage = authz.allowed(g.actor, "agreement.manage")
        try:
            version = agreements.read_version(db.session, g.actor, document_kind, number)
        except NotFound:
            abort(404)
        accepting = sorted(code for code in g.actor.tenant_codes if authz.allowed(g.actor, "agreement.accept", code))
        accepted = {a.tenant_code for code in accepting for a in agreements.acceptances(db.session, g.actor, code)
                    if a.version_id == version.id}
        current = agreements.current_version(db.session, g.actor, document_kind)
        return self.render("renkei/governance_version.html", version=version, label=_pick(DOCUMENT_LABELS[document_kind]),
                           manage=manage, accepting=[c for c in accepting if c not in accepted], accepted=sorted(accepted),
                           is_current=current is not None and current.id == version.id, when=_when)

    @expose("/<document>/draft", methods=("POST",))
    def draft(self, document: str):
        document_kind = self._document(document)
        form = request.form
        try:
            data = VersionDraft(title=form.get("title", ""), body_md=form.get("body_md", ""),
                                effective_on=form.get("effective_on", ""), required=form.get("required") == "1")
        except ValidationError as error:
            _invalid(error)
            return redirect(url_for(".index"))
        return _act(lambda: agreements.draft_version(db.session, g.actor, document_kind, data), url_for(".index"))

    @expose("/<document>/<int:number>/publish", methods=("POST",))
    def publish(self, document: str, number: int):
        document_kind = self._document(document)
        try:
            days = int(request.form.get("reacceptance_days", "30"))
        except ValueError:
            days = 0
        return _act(lambda: agreements.publish_version(db.session, g.actor, document_kind, number, days),
                    url_for(".version", document=document, number=number))

    @expose("/<document>/<int:number>/accept", methods=("POST",))
    def accept(self, document: str, number: int):
        document_kind = self._document(document)
        code, seen = request.form.get("tenant_code", ""), request.form.get("content_hash", "")
        return _act(lambda: agreements.accept_version(db.session, g.actor, document_kind, number, seen, code),
                    url_for(".version", document=document, number=number))


class CouncilView(SecureView):
    """協議会: proposals, the vote of each member, resolutions."""

    required_action = "governance.read"

    @expose("/")
    def index(self):
        actor = g.actor
        rows = [{"proposal": p, "voted": len(council.ballots(db.session, actor, p)),
                 "members": len(council.electorate_of(p)), "resolution": council.resolution_of(db.session, actor, p.id)}
                for p in council.list_proposals(db.session, actor)]
        manage = authz.allowed(g.actor, "council.manage")
        return self.render("renkei/governance_council.html", rows=rows, manage=manage, when=_when,
                           status_labels={s: _pick(l) for s, l in PROPOSAL_STATUS_LABELS.items()},
                           change_labels={c: _pick(l) for c, l in CHANGE_LABELS.items()},
                           change_types=council.installed_change_types(), rules=council.RULE_LABELS,
                           members=council.members(db.session, actor), ja=_ja())

    @expose("/<int:proposal_id>/")
    def proposal(self, proposal_id: int):
        try:
            proposal = council.get_proposal(db.session, g.actor, proposal_id)
        except NotFound:
            abort(404)
        voted = {ballot.tenant_code: ballot for ballot in council.ballots(db.session, g.actor, proposal)}
        electorate = council.electorate_of(proposal)
        is_open = ProposalStatus(proposal.status) == ProposalStatus.open
        my_members = [code for code in electorate if code not in voted and authz.allowed(g.actor, "council.vote", code)
                      and code in g.actor.tenant_codes] if is_open else []
        names = council.electorate_names(db.session, g.actor, proposal)
        return self.render("renkei/governance_proposal.html", proposal=proposal, votes=voted, electorate=electorate,
                           names=names, is_open=is_open, my_members=my_members, when=_when,
                           manage=authz.allowed(g.actor, "council.manage"), params=council.params_of(proposal),
                           resolution=council.resolution_of(db.session, g.actor, proposal.id),
                           status_label=_pick(PROPOSAL_STATUS_LABELS[ProposalStatus(proposal.status)]),
                           change_label=_pick(CHANGE_LABELS[ChangeType(proposal.change_type)]),
                           vote_labels={c.value: _pick(l) for c, l in VOTE_LABELS.items()},
                           rules={k: _pick(v) for k, v in council.RULE_LABELS.items()}, ja=_ja())

    @expose("/propose", methods=("POST",))
    def propose(self):
        form = request.form
        change_type = form.get("change_type", ChangeType.free_text.value)
        params: dict = {}
        for key, value in form.items():
            if key.startswith("param_") and value.strip():
                name = key.removeprefix("param_")
                params[name] = int(value) if name in {"policy_id", "number", "reacceptance_days"} and value.strip().isdigit() else value.strip()
        if form.get("change_json", "").strip():
            try:
                params["change"] = json.loads(form["change_json"])
            except ValueError:
                flash("利用上限の変更内容が JSON として読めません。" if _ja() else "The quota change is not valid JSON.", "error")
                return redirect(url_for(".index"))
        closes = form.get("closes_on", "")
        try:
            closes_at = dt.date.fromisoformat(closes) if closes else None  # the schema closes the day at 17:00 JST
            data = ProposalCreate(title=form.get("title", ""), description=form.get("description", ""),
                                  change_type=change_type, params=params, closes_at=closes_at)
        except (ValidationError, ValueError) as error:
            if isinstance(error, ValidationError):
                _invalid(error)
            else:
                flash("投票締切日を YYYY-MM-DD で入力してください。" if _ja() else "Enter the closing day as YYYY-MM-DD.", "error")
            return redirect(url_for(".index"))
        return _act(lambda: council.propose(db.session, g.actor, data), url_for(".index"))

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
        return _act(lambda: council.close_proposal(db.session, g.actor, proposal_id),
                    url_for(".proposal", proposal_id=proposal_id))

    @expose("/<int:proposal_id>/withdraw", methods=("POST",))
    def withdraw(self, proposal_id: int):
        reason = request.form.get("reason", "").strip()
        back = url_for(".proposal", proposal_id=proposal_id)
        if not reason:
            flash("取下げの理由を入力してください。" if _ja() else "Give the reason for withdrawing.", "error")
            return redirect(back)
        return _act(lambda: council.withdraw_proposal(db.session, g.actor, proposal_id, reason), back)


def views(db_):
    return [AgreementsView(name=_l("Agreements"), endpoint="agreements", url="agreements"),
            CouncilView(name=_l("Council"), endpoint="council", url="council")]

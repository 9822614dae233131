"""API クライアント (the platform's API clients of a tenant): list, create with pickers, the secret
shown once, rotate with an overlap, revoke (asks first). Operations in tenancy/identity/api_clients.py."""

from __future__ import annotations

import datetime as dt

from flask import current_app, g, make_response, redirect, request, url_for
from flask_admin import expose
from flask_babel import get_locale, gettext as _, lazy_gettext as _l

from admin.extensions import db
from admin.i18n import format_date
from admin.identity import identity_directory
from admin.views.base import SecureView, confirm_first, post_action
from core import authz
from core.calendar import jst_text, today_jst
from core.errors import DomainError
from core.validation import whole_number
from tenancy.identity import api_clients, client_policy
from tenancy.identity.models import ApiClient, ClientStatus, RequestKind
from tenancy.members.models import organisations_with_accounts
from tenancy.registry.models import Tenant

# the overlap choices of a rotation: seconds -> (Japanese, English)
OVERLAPS = {3600: ("1 時間", "1 hour"), 86400: ("1 日", "1 day"), 7 * 86400: ("7 日", "7 days"),
            30 * 86400: ("30 日", "30 days"), 0: ("なし（旧シークレットは直ちに無効）", "None (the old secret stops at once)")}


def _ja() -> bool:
    return str(get_locale() or "ja") == "ja"


def _field_errors(error: DomainError) -> dict[str, list[str]]:
    ja, errors = _ja(), {}
    for item in error.problems:
        field = (item.get("field") or "").split(".")[0]
        errors.setdefault(field, []).append(item["message_ja"] if ja else item["message_en"])
    error.problems = [p for p in error.problems if (p.get("field") or "").split(".")[0] not in FORM_FIELDS]
    return errors


FORM_FIELDS = {"tenant", "name", "purpose", "scopes", "expires_on", "allowlist", "allow_any"}


def _no_store(response):
    response = make_response(response)
    response.headers["Cache-Control"] = "no-store"
    return response


def _addresses_in_words(addresses: list[str]) -> str:
    return ", ".join(addresses) or _("None (no address allowed)")


def _expiry_in_words(value: str) -> str:
    return format_date(dt.date.fromisoformat(value), "ja" if _ja() else "en")


def _yes_no(value: bool) -> str:
    return _("Yes") if value else _("No")


class ApiClientsView(SecureView):
    required_action = "api_client.read"

    def _tenants(self) -> list[tuple[str, str]]:
        """(code, name) of the account holders the actor may register clients for: tenants, then
        approved member organisations (by corporate number)."""
        grant = authz.grant_for(g.actor, "api_client.manage")
        if grant is None:
            return []
        # the two columns shown, not whole tenants (whose contacts load with them: 1,741 at national size)
        query = db.session.query(Tenant.code, Tenant.name_ja).order_by(Tenant.code)
        if not grant.all_tenants:
            query = query.filter(Tenant.code.in_(sorted(grant.tenant_codes)))
        organisations = organisations_with_accounts(db.session, None if grant.all_tenants else grant.tenant_codes)
        return [(code, name) for code, name in query.all()] + [(o.corporate_number, o.name) for o in organisations]

    def _names(self) -> dict[str, str]:
        grant = authz.grant_for(g.actor, "api_client.read")
        numbers = None if grant is None or grant.all_tenants else grant.tenant_codes
        return {**dict(db.session.query(Tenant.code, Tenant.name_ja).all()),
                **{o.corporate_number: o.name for o in organisations_with_accounts(db.session, numbers)}}

    def _label(self, table: dict, key) -> str:
        ja, en = table[key]
        return ja if _ja() else en

    @expose("/")
    def index(self):
        clients = api_clients.list_api_clients(db.session, g.actor)
        names = self._names()
        ja = _ja()
        return self.render("renkei/api_clients.html", clients=clients, names=names, ja=ja,
                           waiting=len(api_clients.list_requests(db.session, g.actor)),
                           may_approve=authz.allowed(g.actor, "api_client.approve"),
                           credentials={c.id: api_clients.credentials_of(db.session, c) for c in clients},
                           status_label=lambda s: ClientStatus(s).ja if _ja() else ClientStatus(s).en,
                           scope_label=lambda s: self._label(api_clients.SCOPES, s) if s in api_clients.SCOPES else s,
                           overlaps=[(seconds, self._label(OVERLAPS, seconds)) for seconds in OVERLAPS],
                           can_manage=authz.grant_for(g.actor, "api_client.manage") is not None,
                           when=lambda value: format_date(value, "ja" if ja else "en"), moment=jst_text)

    def _form(self, values: dict | None = None, errors: dict | None = None, status: int = 200):
        default_expiry = today_jst() + dt.timedelta(days=365)
        values = values or {"expires_on": default_expiry.isoformat(), "scopes": [], "allowlist": ""}
        return self.render("renkei/api_client_new.html", tenants=self._tenants(), values=values, errors=errors or {},
                           scopes=[(name, self._label(api_clients.SCOPES, name)) for name in api_clients.SCOPES],
                           purpose_max=api_clients.PURPOSE_MAX,
                           may_allow_any=authz.allowed(g.actor, "api_client.allow_any"),
                           min_date=(today_jst() + dt.timedelta(days=1)).isoformat()), status

    @expose("/new", methods=("GET", "POST"))
    def new(self):
        if request.method == "GET":
            return self._form()
        form = request.form
        values = {"tenant": form.get("tenant", ""), "name": form.get("name", ""), "purpose": form.get("purpose", ""),
                  "scopes": form.getlist("scopes"), "expires_on": form.get("expires_on", ""),
                  "allowlist": form.get("allowlist", ""), "allow_any": form.get("allow_any") == "1"}
        errors: dict[str, list[str]] = {}
        if not values["tenant"]:
            errors["tenant"] = [_("Choose the tenant the client belongs to.")]
        try:
            expires_on = dt.date.fromisoformat(values["expires_on"])
        except ValueError:
            errors["expires_on"] = [_("Enter the expiry date (YYYY-MM-DD).")]
            expires_on = None
        if errors:
            return self._form(values, errors, status=400)
        payload = {"name": values["name"], "purpose": values["purpose"], "scopes": values["scopes"],
                   "expires_on": expires_on, "allowlist": values["allowlist"], "allow_any": values["allow_any"]}
        field_errors: dict[str, list[str]] = {}

        def create():
            try:
                return api_clients.create_api_client(db.session, g.actor, identity_directory(), values["tenant"], payload)
            except DomainError as error:
                field_errors.update(_field_errors(error))
                raise

        def created(issued) -> str:
            if issued.client.status is ClientStatus.pending:
                return _("The API client was registered and waits for the operator's approval: it gets no token until "
                         "then. Copy its secret now: it is shown only once.")
            return _("The API client was created. Copy its secret now: it is shown only once.")

        return post_action(create, saved=created,
                           done=self._secret_page, failed=lambda: self._form(values, field_errors, status=400))

    def _secret_page(self, issued: api_clients.IssuedSecret):
        scopes = [(name, self._label(api_clients.SCOPES, name)) for name in issued.client.scopes.split()
                  if name in api_clients.SCOPES]
        return _no_store(self.render("renkei/api_client_secret.html", issued=issued, scopes=scopes,
                                     token_url=f"{current_app.config['RENKEI_KEYCLOAK_PUBLIC_URL']}/realms/"
                                               f"{current_app.config['RENKEI_KEYCLOAK_REALM']}/protocol/openid-connect/token",
                                     until=jst_text(issued.previous_valid_until) if issued.previous_valid_until else ""))

    def _edit_form(self, item, values: dict | None = None, errors: dict | None = None, status: int = 200):
        values = values or {"name": item.name, "purpose": item.purpose, "scopes": item.scopes.split(),
                            "expires_on": item.expires_on.isoformat(), "allowlist": "\n".join(item.allowlist.split()),
                            "allow_any": item.allow_any}
        return self.render("renkei/api_client_edit.html", item=item, owner=self._names().get(item.tenant_code, ""),
                           values=values, errors=errors or {},
                           scopes=[(name, self._label(api_clients.SCOPES, name)) for name in api_clients.SCOPES],
                           purpose_max=api_clients.PURPOSE_MAX,
                           may_allow_any=authz.allowed(g.actor, "api_client.allow_any"),
                           min_date=(today_jst() + dt.timedelta(days=1)).isoformat()), status

    @expose("/<int:client_id>/edit", methods=("GET", "POST"))
    def edit(self, client_id: int):
        """Change a client's name, purpose, scopes, expiry and allowlist (operations: edit_api_client)."""
        item = api_clients.get_api_client(db.session, g.actor, client_id, to_change=True)
        if request.method == "GET":
            return self._edit_form(item)
        form = request.form
        values = {"name": form.get("name", ""), "purpose": form.get("purpose", ""), "scopes": form.getlist("scopes"),
                  "expires_on": form.get("expires_on", ""), "allowlist": form.get("allowlist", ""),
                  "allow_any": form.get("allow_any") == "1" if authz.allowed(g.actor, "api_client.allow_any")
                  else item.allow_any}
        try:
            expires_on = dt.date.fromisoformat(values["expires_on"])
        except ValueError:
            return self._edit_form(item, values, {"expires_on": [_("Enter the expiry date (YYYY-MM-DD).")]}, status=400)
        changes = {**values, "expires_on": expires_on}
        field_errors: dict[str, list[str]] = {}

        def edit():
            try:
                return api_clients.edit_api_client(db.session, g.actor, identity_directory(), client_id, changes)
            except DomainError as error:
                field_errors.update(_field_errors(error))
                raise

        def saved(outcome) -> str:
            if isinstance(outcome, ApiClient):
                return _("The API client was changed. Tokens issued from now on carry the new settings.")
            return _("The change goes beyond the operator's policy and waits for the operator's approval. Until then "
                     "the client keeps its current settings.")

        return post_action(edit, saved=saved,
                           back=url_for(".index"), failed=lambda: self._edit_form(item, values, field_errors, status=400))

    @expose("/<int:client_id>/rotate", methods=("POST",))
    def rotate(self, client_id: int):
        overlap = whole_number(request.form.get("overlap", "86400"), max_digits=9)
        if overlap not in OVERLAPS:
            overlap = 86400
        confirmation = confirm_first(
            self, title=_("Issue a new secret?"),
            consequence=_("A new client ID and secret are issued and shown once. The current ones keep working for "
                          "the overlap you chose (%(overlap)s), then stop.", overlap=self._label(OVERLAPS, overlap)),
            confirm_label=_("Issue a new secret"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: api_clients.rotate_secret(db.session, g.actor, identity_directory(), client_id, overlap),
                           saved=_("A new secret was issued. Copy it now: it is shown only once."),
                           done=self._secret_page, back=url_for(".index"))

    @expose("/<int:client_id>/revoke", methods=("POST",))
    def revoke(self, client_id: int):
        confirmation = confirm_first(
            self, title=_("Revoke this API client?"),
            consequence=_("No new token is issued from now on, and the API gateway refuses the tokens already issued. "
                          "This cannot be undone: a new client has to be created."),
            confirm_label=_("Revoke"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: api_clients.revoke_api_client(db.session, g.actor, identity_directory(), client_id),
                           saved=_("The API client was revoked."), back=url_for(".index"))

    @expose("/<int:client_id>/disable", methods=("POST",))
    def disable(self, client_id: int):
        confirmation = confirm_first(
            self, title=_("Disable this API client?"),
            consequence=_("From now on the API gateway refuses its tokens, including those already issued, and no new "
                          "token is issued, until it is enabled again. Its client ID and secret stay as they are."),
            confirm_label=_("Disable the client"), back=url_for(".index"))
        if confirmation is not None:
            return confirmation
        return post_action(lambda: api_clients.disable_api_client(db.session, g.actor, identity_directory(), client_id),
                           saved=_("The API client was disabled."), back=url_for(".index"))

    @expose("/<int:client_id>/enable", methods=("POST",))
    def enable(self, client_id: int):
        return post_action(lambda: api_clients.enable_api_client(db.session, g.actor, identity_directory(), client_id),
                           saved=_("The API client was enabled again."), back=url_for(".index"))


    # --- the operator's approval and policy (issue 26) ------------------------------------------

    def _changes_in_words(self, changes: dict) -> list[tuple[str, str]]:
        labels = {"name": _("Client name"), "purpose": _("Purpose"), "scopes": _("Scopes"),
                  "expires_on": _("Expiry date"), "allowlist": _("Allowed addresses"),
                  "allow_any": _("Any address")}
        words = {"scopes": self._scopes_in_words, "allowlist": _addresses_in_words, "expires_on": _expiry_in_words,
                 "allow_any": _yes_no}
        return [(labels.get(key, key), words.get(key, str)(value)) for key, value in changes.items()]

    def _scopes_in_words(self, scopes: list[str]) -> str:
        return ", ".join(self._label(api_clients.SCOPES, s) for s in scopes if s in api_clients.SCOPES) \
            or _("None (no scope)")

    @expose("/requests")
    def requests(self):
        """What waits for the operator: registrations and changes beyond the policy, with why."""
        ja = _ja()
        rows = []
        for request_row, client in api_clients.list_requests(db.session, g.actor):
            summary = api_clients.request_summary(request_row, client)
            rows.append({"id": request_row.id, "client": client, "kind": RequestKind(request_row.kind),
                         "changes": self._changes_in_words(summary["changes"]),
                         "reasons": [r["message_ja"] if ja else r["message_en"] for r in summary["reasons"]],
                         "requested_by": request_row.requested_by, "requested_at": jst_text(request_row.requested_at)})
        policy = client_policy.current_policy(db.session)
        return self.render("renkei/api_client_requests.html", rows=rows, names=self._names(),
                           may_approve=authz.allowed(g.actor, "api_client.approve"), policy=policy,
                           approval_scopes=[self._label(api_clients.SCOPES, s) for s in policy.approval_scopes.split()
                                            if s in api_clients.SCOPES],
                           may_set_policy=authz.allowed(g.actor, "api_client.policy"))

    @expose("/requests/<int:request_id>/approve", methods=("POST",))
    def approve(self, request_id: int):
        confirmation = confirm_first(
            self, title=_("Approve this request?"),
            consequence=_("A waiting registration becomes active at once: its client can get tokens. A waiting change "
                          "is applied at once to the client, in Keycloak too."),
            confirm_label=_("Approve"), back=url_for(".requests"))
        if confirmation is not None:
            return confirmation
        note = request.form.get("note", "").strip() or None
        return post_action(lambda: api_clients.approve_request(db.session, g.actor, identity_directory(), request_id, note),
                           saved=_("The request was approved."), back=url_for(".requests"))

    @expose("/requests/<int:request_id>/reject", methods=("POST",))
    def reject(self, request_id: int):
        note = request.form.get("note", "")
        return post_action(lambda: api_clients.reject_request(db.session, g.actor, identity_directory(), request_id, note),
                           saved=_("The request was rejected."), back=url_for(".requests"))

    def _policy_form(self, values: dict, errors: dict | None = None, status: int = 200):
        return self.render("renkei/api_client_policy.html", values=values, errors=errors or {},
                           v4_choices=list(range(8, 33)), v6_choices=list(range(16, 129, 4)),
                           scopes=[(name, self._label(api_clients.SCOPES, name)) for name in api_clients.SCOPES]), status

    @expose("/policy", methods=("GET", "POST"))
    def policy(self):
        """The operator sets the widest networks, the scopes that need approval and the longest expiry."""
        if not authz.allowed(g.actor, "api_client.policy"):
            return redirect(url_for(".requests"))
        if request.method == "GET":
            current = client_policy.current_policy(db.session)
            return self._policy_form({"max_prefix_v4": current.max_prefix_v4, "max_prefix_v6": current.max_prefix_v6,
                                      "approval_scopes": current.approval_scopes.split(),
                                      "max_expiry_days": str(current.max_expiry_days)})
        form = request.form
        values = {"max_prefix_v4": form.get("max_prefix_v4", ""), "max_prefix_v6": form.get("max_prefix_v6", ""),
                  "approval_scopes": form.getlist("approval_scopes"), "max_expiry_days": form.get("max_expiry_days", "")}
        errors: dict[str, list[str]] = {}
        numbers = {}
        for name, message in (("max_prefix_v4", _("Choose the widest IPv4 network.")),
                              ("max_prefix_v6", _("Choose the widest IPv6 network.")),
                              ("max_expiry_days", _("Enter the longest expiry as a number of days (1 to 3650)."))):
            try:
                numbers[name] = int(str(values[name]).strip())
            except ValueError:
                errors[name] = [message]
        if errors:
            return self._policy_form(values, errors, status=400)
        field_errors: dict[str, list[str]] = {}

        def update():
            try:
                return client_policy.update_policy(db.session, g.actor, {**numbers, "approval_scopes": values["approval_scopes"]},
                                                   api_clients.SCOPES)
            except DomainError as error:
                ja = _ja()
                for item in error.problems:
                    field_errors.setdefault(item.get("field") or "", []).append(item["message_ja"] if ja else item["message_en"])
                error.problems = []
                raise

        return post_action(update, saved=_("The policy was saved. It applies to registrations and changes from now on."),
                           back=url_for(".requests"), failed=lambda: self._policy_form(values, field_errors, status=400))


def views(db_):
    return [ApiClientsView(name=_l("API clients"), endpoint="clients", url="api-clients")]

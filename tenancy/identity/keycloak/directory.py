"""The per-tenant work through renkei's own service account (:class:`IdentityDirectory`): tenant groups,
invitations, roles, enable/disable, removal, API clients."""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from keycloak import KeycloakAdmin
from keycloak.exceptions import KeycloakError

from core.errors import NotFound
from tenancy.identity.groups import TENANTS_GROUP, tenant_codes_from_groups, tenant_group_path
from tenancy.identity.keycloak.common import (API_AUDIENCE_SCOPE, REALM_ROLES, SETUP_LINK_LIFESPAN_SECONDS,
                                              UPDATE_PASSWORD, VERIFY_EMAIL, KeycloakSettings, T, keycloak_text,
                                              translate_errors)
from tenancy.identity.keycloak.realm import ask_for_totp

# The admin events renkei reads (tenancy/identity/denylist.py): people disabled, deleted or signed
# out, roles and groups taken from them, roles taken from a group or a composite role, groups deleted,
# and API clients deleted
ADMIN_EVENT_TYPES = ["USER", "REALM_ROLE_MAPPING", "CLIENT_ROLE_MAPPING", "GROUP_MEMBERSHIP", "GROUP", "REALM_ROLE",
                     "CLIENT_ROLE", "CLIENT"]

# one line per call to Keycloak (method, path, status, time), each carrying the request id of the request
# or job run that made it (core/request_context.py): DEBUG, or WARNING when Keycloak answered 5xx
call_log = logging.getLogger("renkei.keycloak")

def _representation(event: dict[str, Any]) -> dict[str, Any]:
    """An admin event's representation (a JSON text, details on) as a dict; {} when it has none."""
    try:
        found = json.loads(event.get("representation") or "{}")
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


@dataclasses.dataclass(frozen=True)
class Account:
    id: str
    username: str
    email: str
    first_name: str
    last_name: str
    enabled: bool
    roles: frozenset[str]
    tenant_codes: frozenset[str] = frozenset()
    # what Keycloak still asks of the person at their next sign-in (UPDATE_PASSWORD, VERIFY_EMAIL)
    required_actions: frozenset[str] = frozenset()
    email_verified: bool = False

    @property
    def setup_pending(self) -> bool:
        """The person has not finished the first sign-in (set a password, verify the e-mail)."""
        return bool(self.required_actions & {UPDATE_PASSWORD, VERIFY_EMAIL})

    @property
    def display_name(self) -> str:
        """「田中 太郎」: family name first, as the admin pages and the audit log show a person."""
        return f"{self.last_name} {self.first_name}".strip() or self.username

    def summary(self) -> dict[str, Any]:
        return {"id": self.id, "username": self.username, "email": self.email, "enabled": self.enabled,
                "roles": sorted(self.roles), "tenants": sorted(self.tenant_codes)}


def _brief_account(user: dict, tenant_codes: frozenset[str]) -> Account:
    """An account from Keycloak's brief representation: who and where, without roles."""
    return Account(id=user["id"], username=user["username"], email=user.get("email", ""),
                   first_name=user.get("firstName", ""), last_name=user.get("lastName", ""),
                   enabled=user.get("enabled", True), roles=frozenset(), tenant_codes=tenant_codes)


def _kana(user: dict) -> str:
    """The person's reading where the realm carries one: a ``kana`` attribute, or ``lastNameKana`` and
    ``firstNameKana`` (family first); "" otherwise (Keycloak's own fields are the name and e-mail)."""
    attributes = user.get("attributes") or {}

    def first(name: str) -> str:
        values = attributes.get(name) or []
        return str(values[0]).strip() if values else ""

    return first("kana") or f"{first('lastNameKana')} {first('firstNameKana')}".strip()


def _logged_call(response: Any, *_args: Any, **_kwargs: Any) -> None:
    """requests' response hook: the call's log line (the answer itself is left as it is)."""
    level = logging.WARNING if response.status_code >= 500 else logging.DEBUG
    if call_log.isEnabledFor(level):
        call_log.log(level, "keycloak %s %s %s %.0f ms", response.request.method, urlsplit(response.request.url).path,
                     response.status_code, response.elapsed.total_seconds() * 1000)


def _log_calls(admin: KeycloakAdmin) -> None:
    session = getattr(admin.connection, "_s", None)
    if session is not None:  # another python-keycloak layout: its calls go unlogged
        session.hooks.setdefault("response", []).append(_logged_call)


def _environment_read_once(admin: KeycloakAdmin) -> None:
    """Read the environment's proxy and CA-bundle settings for Keycloak once per client, instead
    of on every call (requests does that by default: about a quarter of a call's own CPU time).
    Every call goes to the one Keycloak, so the answer for its scheme and host is reused."""
    session = getattr(admin.connection, "_s", None)
    if session is None:  # another python-keycloak layout: leave requests as it is
        return
    original, answers = session.merge_environment_settings, {}

    def merge_environment_settings(url, proxies, stream, verify, cert):
        key = (urlsplit(url)[:2], tuple(sorted((proxies or {}).items())), stream, verify, cert)
        if key not in answers:
            answers[key] = original(url, proxies, stream, verify, cert)
        found = answers[key]
        return {**found, "proxies": dict(found["proxies"])}

    session.merge_environment_settings = merge_environment_settings


class IdentityDirectory:
    """Keycloak operations on renkei's behalf, through renkei's service account."""

    def __init__(self, settings: KeycloakSettings, admin: KeycloakAdmin | None = None) -> None:
        self.settings = settings
        self._admin = admin
        self._roles: dict[str, dict] = {}  # realm role representations: created by bootstrap, never renamed
        # Answers already known, so not asked again (a wave's provisioning and 100 invitations ask
        # them hundreds of times): the id of ``/tenants`` (created by bootstrap, never moved) and of
        # each tenant group this process has created or found. A tenant group is never renamed or
        # deleted by renkei; if someone deletes one in Keycloak, the first call that uses its stale
        # id gets 404, the id is forgotten and the call is made once more with a fresh look-up.
        self._parent: dict[str, str] = {}  # {"id": the id of /tenants}, shared with siblings like the rest
        self._group_ids: dict[str, str] = {}

    def forget_groups(self) -> None:
        """Drop the remembered group ids (after a realm is rebuilt under a running process)."""
        self._parent.clear()
        self._group_ids.clear()

    def sibling(self) -> "IdentityDirectory":
        """A directory for another thread (a wave's worker): its own HTTP session, and the same
        remembered answers (group ids, role representations; shared dicts, whose single reads and
        writes are atomic), so a group one thread created is not looked up by another.

        It starts with this directory's service-account token while that is still valid (a token
        costs Keycloak more than a user call, and a wave's workers would each fetch one); each
        directory renews its own when it expires (or when Keycloak refuses it)."""
        other = type(self)(self.settings)
        other._roles, other._group_ids, other._parent = self._roles, self._group_ids, self._parent
        token, expires_at = self._valid_token()
        if token is not None:
            other._admin = other._connect(token)
            other._admin.connection._expires_at = expires_at  # the token's own expiry, not a fresh lifetime
        return other

    def _valid_token(self) -> tuple[dict | None, Any]:
        """This directory's service-account token and when it is to be renewed, if it has a valid one."""
        connection = getattr(self._admin, "connection", None)
        token, expires_at = getattr(connection, "token", None), getattr(connection, "expires_at", None)
        if token is None or expires_at is None or expires_at <= datetime.datetime.now(tz=datetime.timezone.utc):
            return None, None
        return token, expires_at

    def _realm_role(self, name: str) -> dict:
        if name not in self._roles:
            self._roles[name] = self.admin.get_realm_role(name)
        return self._roles[name]

    @property
    def admin(self) -> KeycloakAdmin:
        if self._admin is None:
            self._admin = self._connect()
        return self._admin

    @translate_errors
    def _connect(self, token: dict | None = None) -> KeycloakAdmin:
        admin = KeycloakAdmin(server_url=self.settings.url + "/", realm_name=self.settings.realm,
                              client_id=self.settings.service_client_id,
                              client_secret_key=self.settings.service_client_secret,
                              grant_type="client_credentials", timeout=self.settings.timeout, token=token)
        _environment_read_once(admin)
        _log_calls(admin)
        return admin

    @translate_errors
    def find_tenant_group(self, code: str) -> dict | None:
        """``/tenants/<code>`` as Keycloak has it now (always asked; remembers its id)."""
        try:
            group = self.admin.get_group_by_path(tenant_group_path(code))
        except KeycloakError as error:
            if getattr(error, "response_code", None) == 404:
                self._group_ids.pop(code, None)
                return None
            raise
        self._group_ids[code] = group["id"]
        return group

    @translate_errors
    def ensure_tenant_group(self, code: str, name_ja: str = "") -> str:
        """The id of ``/tenants/<code>``: remembered, else created, else (409: it exists) looked up.

        Creating first costs one call where the group is new (provisioning) and stays idempotent:
        a retry after a lost reply gets 409 and finds the group the first attempt made."""
        if code in self._group_ids:
            return self._group_ids[code]
        if "id" not in self._parent:
            self._parent["id"] = self.admin.get_group_by_path(f"/{TENANTS_GROUP}")["id"]
        group_id = self.admin.create_group({"name": code, "attributes": {"tenant_code": [code], "name_ja": [name_ja]}},
                                           parent=self._parent["id"], skip_exists=True)
        if group_id is None:  # it existed (409): the id comes from a look-up
            return self._group_id(code)
        self._group_ids[code] = group_id
        return group_id

    def _group_id(self, code: str) -> str:
        if code in self._group_ids:
            return self._group_ids[code]
        group = self.find_tenant_group(code)
        if group is None:
            raise NotFound(f"Tenant {code} has no group in Keycloak yet; provision the tenant first.",
                           f"団体コード {code} のグループが認証サーバーにありません。先に環境構築を行ってください。")
        return group["id"]

    def _with_group(self, code: str, call: Callable[[str], T]) -> T:
        """``call(group id)``; a remembered id Keycloak no longer knows (404) is looked up afresh once."""
        remembered = code in self._group_ids
        try:
            return call(self._group_id(code))
        except KeycloakError as error:
            if not (remembered and getattr(error, "response_code", None) == 404):
                raise
            self._group_ids.pop(code, None)
            return call(self._group_id(code))

    @translate_errors
    def find_user(self, username: str) -> dict | None:
        users = self.admin.get_users({"username": username, "exact": True})
        return users[0] if users else None

    @translate_errors
    def account(self, user_id: str) -> Account:
        return self._account(self.admin.get_user(user_id))

    def _account(self, user: dict) -> Account:
        """The account of ``user`` (Keycloak's full representation): its realm roles and groups asked (two calls)."""
        user_id = user["id"]
        roles = {r["name"] for r in self.admin.get_realm_roles_of_user(user_id)} & set(REALM_ROLES)
        groups = [g["path"] for g in self.admin.get_user_groups(user_id, brief_representation=True)]
        return Account(id=user["id"], username=user["username"], email=user.get("email", ""),
                       first_name=user.get("firstName", ""), last_name=user.get("lastName", ""),
                       enabled=user.get("enabled", True), roles=frozenset(roles),
                       tenant_codes=tenant_codes_from_groups(groups),
                       required_actions=frozenset(user.get("requiredActions") or ()),
                       email_verified=bool(user.get("emailVerified")))

    @translate_errors
    def tenant_members(self, code: str) -> list[Account]:
        """The accounts of ``/tenants/<code>``'s people: their full representations in the group's one call, then two
        calls a person (roles, groups), not three (a ``get_user`` of each again)."""
        members = self._with_group(code, lambda group_id: self.admin.get_group_members(
            group_id, {"briefRepresentation": False, "max": 10000}))
        return [self._account(member) for member in members]

    @translate_errors
    def group_people(self, code: str) -> list[Account]:
        """The people of ``/tenants/<code>`` in one call: names and e-mail, no roles (the search box's
        reading of a tenant's people, where :meth:`tenant_members` asks two calls more per person)."""
        members = self._with_group(code, lambda group_id: self.admin.get_group_members(
            group_id, {"briefRepresentation": True, "max": 10000}))
        return [_brief_account(member, frozenset({code})) for member in members]

    @translate_errors
    def find_people(self, text: str, limit: int) -> tuple[list[Account], int]:
        """The realm's people whose username, e-mail or names hold ``text`` (Keycloak's infix search):
        the first ``limit`` with their tenants (one call each for their groups), and how many in all."""
        found = self.admin.get_users({"search": f"*{text}*", "max": limit, "briefRepresentation": True})
        total = self.admin.users_count({"search": f"*{text}*"}) if len(found) >= limit else len(found)
        people = []
        for user in found:
            groups = [g["path"] for g in self.admin.get_user_groups(user["id"], brief_representation=True)]
            people.append(_brief_account(user, tenant_codes_from_groups(groups)))
        return people, int(total)

    @translate_errors
    def person(self, user_id: str) -> tuple[Account, str]:
        """One person as the people index holds them (two calls): their account without roles, with
        their tenants, and their reading (:func:`_kana`); :class:`NotFound` when Keycloak has no such user."""
        user = self.admin.get_user(user_id)
        groups = [g["path"] for g in self.admin.get_user_groups(user_id, brief_representation=True)]
        return _brief_account(user, tenant_codes_from_groups(groups)), _kana(user)

    @translate_errors
    def all_people(self, page: int = 1000) -> list[tuple[Account, str]]:
        """Every person of the realm as :meth:`person` gives one, for a rebuild of the people index: the
        users read ``page`` at a time, and their tenants from each ``/tenants/<code>`` group's members
        (one call per group, not one per person)."""
        users: list[dict] = []
        while True:
            batch = self.admin.get_users({"first": len(users), "max": page, "briefRepresentation": False})
            users += batch
            if len(batch) < page:
                break
        codes: dict[str, set[str]] = {}
        parent = self.admin.get_group_by_path(f"/{TENANTS_GROUP}")
        for child in self.admin.get_group_children(parent["id"]):
            if not tenant_codes_from_groups([tenant_group_path(child["name"])]):
                continue
            for member in self.admin.get_group_members(child["id"], {"briefRepresentation": True, "max": 1000000}):
                codes.setdefault(member["id"], set()).add(child["name"])
        return [(_brief_account(user, frozenset(codes.get(user["id"], ()))), _kana(user)) for user in users]

    @translate_errors
    def count_members(self, code: str) -> int:
        return len(self._with_group(code, lambda group_id: self.admin.get_group_members(
            group_id, {"briefRepresentation": True, "max": 100000})))

    @translate_errors
    def find_user_by_email(self, email: str) -> dict | None:
        users = self.admin.get_users({"email": email, "exact": True})
        return users[0] if users else None

    @property
    def sends_mail(self) -> bool:
        """Whether the realm has a mail server (configured by :func:`bootstrap_realm` from renkei's settings)."""
        return bool(self.settings.smtp)

    @translate_errors
    def create_user(self, username: str, email: str, first_name: str, last_name: str,
                    password: str | None = None, *, temporary_password: str | None = None,
                    extra_actions: Iterable[str] = ()) -> str:
        """A new enabled account.

        With ``password``: ready to use. With ``temporary_password``: the person signs in with it once
        and must then choose their own (Keycloak's UPDATE_PASSWORD). With neither: they must set a
        password and verify their e-mail through Keycloak's set-up e-mail (:meth:`send_setup_email`).
        """
        if temporary_password is not None:
            required_actions = [UPDATE_PASSWORD]
            credentials = [{"type": "password", "value": temporary_password, "temporary": True}]
        elif password is not None:
            required_actions, credentials = [], [{"type": "password", "value": password, "temporary": False}]
        else:
            required_actions, credentials = [UPDATE_PASSWORD, VERIFY_EMAIL], []
        required_actions = required_actions + [a for a in extra_actions if a not in required_actions]
        payload: dict[str, Any] = {"username": username, "email": email, "firstName": first_name,
                                   "lastName": last_name, "enabled": True, "emailVerified": password is not None,
                                   "requiredActions": required_actions}
        if credentials:
            payload["credentials"] = credentials
        return self.admin.create_user(payload)

    @translate_errors
    def set_temporary_password(self, user_id: str, password: str) -> None:
        """Replace the password by one the person must change at their next sign-in.

        Without a mail server Keycloak cannot verify an e-mail address, so UPDATE_PASSWORD becomes
        the only required action (a VERIFY_EMAIL left over would lock the person out).
        """
        self.admin.set_user_password(user_id, password, temporary=True)
        self.admin.update_user(user_id, {"requiredActions": [UPDATE_PASSWORD]})

    @translate_errors
    def end_sessions(self, user_id: str) -> None:
        """Sign the person out everywhere (after a password reset)."""
        self.admin.user_logout(user_id)

    @translate_errors
    def add_to_tenant(self, user_id: str, code: str, group_id: str | None = None) -> None:
        if group_id is not None and group_id != self._group_ids.get(code):
            self.admin.group_user_add(user_id, group_id)
        else:
            self._with_group(code, lambda known: self.admin.group_user_add(user_id, known))

    @translate_errors
    def grant_roles(self, user_id: str, roles: Iterable[str]) -> None:
        """Add realm roles to a user (a new account: nothing to compare with)."""
        wanted = [self._realm_role(name) for name in sorted(roles)]
        if wanted:
            self.admin.assign_realm_roles(user_id, wanted)

    @translate_errors
    def remove_from_tenant(self, user_id: str, code: str) -> None:
        self._with_group(code, lambda group_id: self.admin.group_user_remove(user_id, group_id))

    @translate_errors
    def set_roles(self, user_id: str, roles: Iterable[str], manageable: Iterable[str], *,
                  held: Iterable[str] | None = None) -> None:
        """Make the user's realm roles among ``manageable`` exactly ``roles``; others stay untouched.

        ``held``: the roles the user is known to hold (an account just created holds none), so
        that they are not read back from Keycloak."""
        wanted, manageable = set(roles), set(manageable)
        held = set(held) if held is not None else {r["name"] for r in self.admin.get_realm_roles_of_user(user_id)}
        add = [self._realm_role(n) for n in sorted((wanted - held) & manageable)]
        drop = [self._realm_role(n) for n in sorted((held - wanted) & manageable)]
        if add:
            self.admin.assign_realm_roles(user_id, add)
        if drop:
            self.admin.delete_realm_roles_of_user(user_id, drop)

    @translate_errors
    def require_totp_setup(self, user_id: str) -> bool:
        """Ask the person to set up a TOTP device at their next sign-in (a second-factor role was
        given to them after their account was made); False when they have one or are asked already."""
        return ask_for_totp(self.admin, self.admin.get_user(user_id))

    @translate_errors
    def admin_events(self, since_ms: int, limit: int = 500, page: int = 20) -> list[dict[str, Any]]:
        """The realm's admin events about users, their role mappings and groups, and clients after ``since_ms`` (POSIX milliseconds),
        newest first, at most ``limit`` (needs ``view-events``; the realm keeps them because bootstrap
        enables admin events). Read ``page`` at a time, newest first, until an older one shows: a poll
        with nothing new costs one small answer."""
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            events = self.admin.get_admin_events({"resourceTypes": ADMIN_EVENT_TYPES, "first": len(found), "max": page})
            newer = [e for e in events if int(e.get("time", 0)) > since_ms]
            found += newer
            if len(newer) < page or len(events) < page:
                break
        return found[:limit]

    # --- who a change to a group or a composite role reaches (tenancy/identity/denylist.py) ------

    @translate_errors
    def group_member_ids(self, group_id: str) -> set[str]:
        """The ids of the members of the group and of its subgroups at any depth (NotFound: no such group)."""
        found: set[str] = set()
        groups = [group_id]
        while groups:
            current = groups.pop()
            found.update(m["id"] for m in self.admin.get_group_members(current, {"briefRepresentation": True}))
            groups += [child["id"] for child in self.admin.get_group_children(current)]
        return found

    @translate_errors
    def former_group_member_ids(self, group_id: str, page: int = 100) -> set[str]:
        """The people a deleted group had, as the realm's admin events recorded them (Keycloak reports a
        group's deletion without its members, and can no longer list them): the users put into the group
        or into one of its subgroups (GROUP_MEMBERSHIP CREATE on ``users/*/groups/<id>``) and not taken out
        since (their DELETE is newer); the subgroups are those created under it (GROUP CREATE on
        ``groups/<id>/children``)."""
        found: set[str] = set()
        groups, seen = [group_id], set()
        while groups:
            current = groups.pop()
            if current in seen:
                continue
            seen.add(current)
            latest: dict[str, str] = {}  # user id → their newest membership event's operation (newest first)
            for event in self._all_admin_events({"resourceTypes": ["GROUP_MEMBERSHIP"],
                                                 "resourcePath": f"users/*/groups/{current}"}, page):
                latest.setdefault(event["resourcePath"].split("/")[1], event.get("operationType", ""))
            found.update(user_id for user_id, operation in latest.items() if operation == "CREATE")
            for event in self._all_admin_events({"resourceTypes": ["GROUP"], "operationTypes": ["CREATE"],
                                                 "resourcePath": f"groups/{current}/children"}, page):
                child = _representation(event).get("id")
                if child:
                    groups.append(child)
        return found

    def _all_admin_events(self, query: dict[str, Any], page: int) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            events = self.admin.get_admin_events({**query, "first": len(found), "max": page})
            found += events
            if len(events) < page:
                return found

    @translate_errors
    def composite_holder_ids(self, role_path: str) -> set[str]:
        """The ids of the people who hold the composite role at ``role_path`` (an admin event's
        ``roles/<name>``, ``roles-by-id/<id>`` or ``clients/<uuid>/roles/<name>``): directly, through a
        group (and its subgroups), or through a realm composite role that contains it, at any depth
        (NotFound: no such role)."""
        role = self._role_at(role_path.split("/"))
        parents: dict[str, list[dict]] = {}  # role id → the realm composite roles that contain it
        for composite in self.admin.get_realm_roles(brief_representation=True):
            if composite.get("composite"):
                for child in self.admin.get_composite_realm_roles_of_role(composite["name"]):
                    parents.setdefault(child["id"], []).append(composite)
        found: set[str] = set()
        roles, seen = [role], set()
        while roles:
            current = roles.pop()
            if current["id"] in seen:
                continue
            seen.add(current["id"])
            if current.get("clientRole"):
                users = self.admin.get_client_role_members(current["containerId"], current["name"])
                groups = self.admin.get_client_role_groups(current["containerId"], current["name"])
            else:
                users = self.admin.get_realm_role_members(current["name"], {"briefRepresentation": True})
                groups = self.admin.get_realm_role_groups(current["name"])
            found.update(user["id"] for user in users)
            for group in groups:
                found |= self.group_member_ids(group["id"])
            roles += parents.get(current["id"], [])
        return found

    def _role_at(self, parts: list[str]) -> dict:
        if parts[0] == "roles-by-id":
            return self.admin.get_role_by_id(parts[1])
        if parts[0] == "clients":
            return {**self.admin.get_client_role(parts[1], parts[3]), "clientRole": True, "containerId": parts[1]}
        return self.admin.get_realm_role(parts[1])

    @translate_errors
    def login_events(self, date_from: datetime.date, date_to: datetime.date, *, page: int = 100,
                     limit: int = 100_000) -> list[dict[str, Any]]:
        """The realm's LOGIN events from ``date_from`` to ``date_to`` (days as Keycloak reads them, both
        included), read ``page`` at a time (``first``/``max``), at most ``limit`` (needs ``view-events``;
        the realm stores them because bootstrap enables them)."""
        found: list[dict[str, Any]] = []
        while len(found) < limit:
            events = self.admin.get_events({"type": "LOGIN", "dateFrom": date_from.isoformat(),
                                            "dateTo": date_to.isoformat(), "first": len(found), "max": page})
            found += events
            if len(events) < page:
                break
        return found[:limit]

    @translate_errors
    def enabled_role_holders(self, role: str) -> list[str]:
        """The ids of the enabled accounts that hold the realm role ``role`` directly."""
        members = self.admin.get_realm_role_members(role, query={"briefRepresentation": True, "max": 10000})
        return [m["id"] for m in members if m.get("enabled", True)]

    @translate_errors
    def set_enabled(self, user_id: str, enabled: bool) -> None:
        self.admin.update_user(user_id, {"enabled": enabled})

    @translate_errors
    def delete_user(self, user_id: str) -> None:
        self.admin.delete_user(user_id)

    # --- API clients of tenants (tenancy/identity/api_clients.py) ---------------------------

    @translate_errors
    def create_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str] = (), *, enabled: bool = True) -> str:
        """A confidential client-credentials client whose tokens carry the API audience and
        ``claims`` (hardcoded claim mappers, access token only); returns its secret. ``optional_scopes``
        are the scopes granted to it (created as client scopes when missing): *default* client scopes of
        the client, so that every token it gets carries them in its ``scope`` claim. (As optional client
        scopes they were in a token only when the client asked for them by name, and a
        client-credentials token asked for none: its ``scope`` was empty, and the gateway check could
        not see what the client may call.) ``enabled`` False: it issues no token until enabled (a client
        waiting for the operator's approval)."""
        mappers = [_claim_mapper(claim, value) for claim, value in claims.items()]
        uuid_ = self.admin.create_client({
            "clientId": client_id, "name": keycloak_text(name), "description": keycloak_text(description),
            "protocol": "openid-connect",
            "publicClient": False, "standardFlowEnabled": False, "directAccessGrantsEnabled": False,
            "implicitFlowEnabled": False, "serviceAccountsEnabled": True, "enabled": enabled,
            "fullScopeAllowed": False, "protocolMappers": mappers,
            "defaultClientScopes": ["basic", API_AUDIENCE_SCOPE]}, skip_exists=False)
        self._add_granted_scopes(uuid_, optional_scopes)
        return self.admin.get_client_secrets(uuid_)["value"]

    def _add_granted_scopes(self, uuid_: str, scopes: Iterable[str]) -> None:
        """Make ``scopes`` default client scopes of a client (created as client scopes when missing)."""
        if not scopes:
            return
        present = {s["name"]: s["id"] for s in self.admin.get_client_scopes()}
        for scope in sorted(set(scopes)):
            if scope not in present:
                present[scope] = self.admin.create_client_scope(
                    {"name": scope, "protocol": "openid-connect",
                     "attributes": {"include.in.token.scope": "true", "display.on.consent.screen": "false"}},
                    skip_exists=True)
            self.admin.add_client_default_client_scope(uuid_, present[scope], {})

    @translate_errors
    def update_api_client(self, client_id: str, name: str, description: str, claims: dict[str, str],
                          optional_scopes: Iterable[str], managed_scopes: Iterable[str]) -> None:
        """Bring a client made by :meth:`create_api_client` to a new name, description, ``claims`` (its
        hardcoded claim mappers) and granted scopes (default client scopes, see :meth:`create_api_client`);
        of its scopes only ``managed_scopes`` (the API clients' scopes) are added or removed, the realm's
        default ones are left as they are. Tokens
        issued afterwards carry the new claims; tokens already issued keep theirs until they expire. A
        client Keycloak no longer has is left alone; calling it again with the same values changes nothing."""
        uuid_ = self.admin.get_client_id(client_id)
        if uuid_ is None:
            return
        self.admin.update_client(uuid_, {"name": keycloak_text(name), "description": keycloak_text(description)})
        mappers = {m["name"]: m for m in self.admin.get_mappers_from_client(uuid_)}
        for claim, value in claims.items():
            wanted = _claim_mapper(claim, value)
            mapper = mappers.get(claim)
            if mapper is None:
                self.admin.add_mapper_to_client(uuid_, wanted)
            elif mapper.get("config", {}).get("claim.value") != value:
                self.admin.update_client_mapper(uuid_, mapper["id"],
                                                {**mapper, "config": {**mapper.get("config", {}), **wanted["config"]}})
        managed, wanted_scopes = set(managed_scopes), set(optional_scopes)
        # a client registered before the scopes were default ones has them as optional: they move
        for scope, scope_id in {s["name"]: s["id"] for s in self.admin.get_client_optional_client_scopes(uuid_)}.items():
            if scope in managed:
                self.admin.delete_client_optional_client_scope(uuid_, scope_id)
        present = {s["name"]: s["id"] for s in self.admin.get_client_default_client_scopes(uuid_)}
        for scope, scope_id in present.items():
            if scope in managed and scope not in wanted_scopes:
                self.admin.delete_client_default_client_scope(uuid_, scope_id)
        self._add_granted_scopes(uuid_, wanted_scopes - set(present))

    @translate_errors
    def set_api_client_enabled(self, client_id: str, enabled: bool) -> None:
        """Disable (no new token) or enable a client; a client Keycloak no longer has is left alone."""
        uuid_ = self.admin.get_client_id(client_id)
        if uuid_ is not None:
            self.admin.update_client(uuid_, {"enabled": enabled})

    @translate_errors
    def api_client_ids(self, prefix: str) -> set[str]:
        """The client ids of the realm's clients that start with ``prefix`` (renkei's API clients)."""
        return {c["clientId"] for c in self.admin.get_clients() if str(c.get("clientId", "")).startswith(prefix)}

    @translate_errors
    def delete_api_client(self, client_id: str) -> None:
        uuid_ = self.admin.get_client_id(client_id)
        if uuid_ is not None:
            self.admin.delete_client(uuid_)

    @translate_errors
    def send_setup_email(self, user_id: str, actions: Iterable[str] = (UPDATE_PASSWORD, VERIFY_EMAIL)) -> None:
        """Keycloak's own e-mail (execute actions) with a link to set a password and verify the address.

        The link stays valid for :data:`SETUP_LINK_LIFESPAN_SECONDS`.
        """
        self.admin.send_update_account(user_id, list(actions), client_id=self.settings.admin_client_id,
                                       lifespan=SETUP_LINK_LIFESPAN_SECONDS)


def _claim_mapper(claim: str, value: str) -> dict[str, Any]:
    """A hardcoded claim of an API client's access tokens (and introspection), not of ID tokens."""
    return {"name": claim, "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
            "config": {"claim.name": claim, "claim.value": value, "jsonType.label": "String",
                       "access.token.claim": "true", "id.token.claim": "false",
                       "userinfo.token.claim": "false", "introspection.token.claim": "true"}}

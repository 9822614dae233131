"""A copy of the Keycloak realm for backup and restore: Keycloak's own export, or the admin REST API.

Two kinds of copy, both restored online in one ``POST /admin/realms`` (a realm import):

* **Full export** (format ``keycloak-export/1``, ``credentials: included``): the realm file that
  Keycloak's ``kc.sh export --realm R --file F`` writes, wrapped by :func:`wrap_export`. It holds
  the users' password hashes and other credentials (``secretData``/``credentialData``: OTP devices,
  WebAuthn keys), the clients' secrets and the realm's keys (the ``KeyProvider`` components with
  their private keys), so after a restore people sign in with their passwords and tokens signed
  before the backup still validate (same key ids in the realm's JWKS). Checked against Keycloak
  26.4: the admin REST realm import accepts hashed credentials and key components as they are.
  ``renkei backup`` makes one itself when RENKEI_KEYCLOAK_URL is a server renkei's launcher runs
  on this machine (:mod:`maintenance.keycloak_server`), and takes one made by the operator of an
  external Keycloak with ``--keycloak-export FILE`` (docs/operations.md).
* **REST copy** (format ``renkei-realm/1``, ``credentials: not included``), made here through
  the admin REST API for any other Keycloak; what it carries:

* the realm's settings, realm roles, groups (with their role mappings and sub-groups) and
  clients, from Keycloak's own *partial export* (``POST /admin/realms/{realm}/partial-export``
  with clients, groups and roles);
* the confidential clients' secrets: the partial export masks them (``**********``), so each is
  read from ``GET .../clients/{id}/client-secret`` and put back in the copy (the archive therefore
  holds secrets: keep it as carefully as the database);
* every user (``GET .../users``, full representation, with the same ids, so the subjects in
  renkei's tables and audit log still match), their group paths and realm roles, required
  actions and attributes; and the clients' service-account users with their role mappings;
* the realm's identity providers and their mappers (from the partial export) and, in a realm that has
  providers (the residents' realm), each user's links to them (``federatedIdentities``), so that a
  resident signing in through the card provider again is the same account.

What the REST copy does **not** carry: password hashes and other credentials (OTP devices,
WebAuthn keys; the admin REST API never returns them), the identity providers' client secrets (the
API masks them: the copy leaves them out and names the providers, :func:`providers_without_secret`,
whose secret is set again with ``renkei residents provider-add``), consents, and the realm's signing keys (a restored realm gets new keys: tokens issued before the restore are no
longer accepted). After restoring a REST copy each person sets a new password through the set-up
e-mail or an administrator's password reset.

Neither kind carries sessions, offline tokens or events: after any restore people sign in again
(a token issued before stays valid until it expires when the keys were carried, but its session
is gone, so refreshing it fails).

The realm is recreated in one ``POST /admin/realms`` (a realm import), so it is all or nothing.

Uses only the :class:`KeycloakAdmin` handed in (built by :mod:`tenancy.identity.keycloak`, the
only module that imports python-keycloak).
"""

from __future__ import annotations

import copy
from typing import Any

FORMAT = "renkei-realm/1"
FULL_FORMAT = "keycloak-export/1"
FORMATS = (FORMAT, FULL_FORMAT)
MASK = "**********"
_USER_FIELDS = ("id", "username", "enabled", "email", "emailVerified", "firstName", "lastName", "attributes",
                "requiredActions", "createdTimestamp", "federationLink", "serviceAccountClientId")


def _get(admin, path: str, **params) -> Any:
    response = admin.connection.raw_get(path, **params)
    response.raise_for_status()
    return response.json()


def server_version(admin) -> str:
    """Keycloak's version (``26.4.7``), from the master realm's server info."""
    return _get(admin, "admin/serverinfo").get("systemInfo", {}).get("version", "")


def realm_exists(admin, realm: str) -> bool:
    return any(entry.get("realm") == realm for entry in _get(admin, "admin/realms"))


def _group_paths(admin, realm: str, user_id: str) -> list[str]:
    return sorted(group["path"] for group in _get(admin, f"admin/realms/{realm}/users/{user_id}/groups",
                                                    briefRepresentation="true", max="1000"))


def _role_mappings(admin, realm: str, user_id: str) -> tuple[list[str], dict[str, list[str]]]:
    mappings = _get(admin, f"admin/realms/{realm}/users/{user_id}/role-mappings")
    realm_roles = sorted(role["name"] for role in mappings.get("realmMappings", []))
    client_roles = {client: sorted(role["name"] for role in data.get("mappings", []))
                    for client, data in (mappings.get("clientMappings") or {}).items()}
    return realm_roles, client_roles


def _user(admin, realm: str, rep: dict[str, Any], *, links: bool = False) -> dict[str, Any]:
    user = {field: rep[field] for field in _USER_FIELDS if field in rep}
    user["groups"] = _group_paths(admin, realm, rep["id"])
    user["realmRoles"], user["clientRoles"] = _role_mappings(admin, realm, rep["id"])
    if links:  # a realm with identity providers: the user's links to them (the residents' realm)
        federated = _get(admin, f"admin/realms/{realm}/users/{rep['id']}/federated-identity")
        if federated:
            user["federatedIdentities"] = [{key: link[key] for key in ("identityProvider", "userId", "userName")
                                            if key in link} for link in federated]
    return user


def providers_without_secret(copy_: dict[str, Any]) -> list[str]:
    """The identity providers of a REST copy whose client secret it does not hold (the admin REST API never
    returns one): after a restore each needs `renkei residents provider-add` again with its secret."""
    return sorted(copy_.get("providers_without_secret") or [])


def export_realm(admin, realm: str, *, page: int = 200) -> dict[str, Any]:
    """The realm as a dict that :func:`import_realm` recreates (see the module text for what is carried)."""
    response = admin.connection.raw_post(
        f"admin/realms/{realm}/partial-export", data="", exportClients="true", exportGroupsAndRoles="true")
    response.raise_for_status()
    rep = response.json()
    for client in rep.get("clients", []):
        if client.get("secret") == MASK or (not client.get("publicClient") and not client.get("bearerOnly")):
            secret = admin.connection.raw_get(f"admin/realms/{realm}/clients/{client['id']}/client-secret")
            if secret.status_code == 200:
                client["secret"] = secret.json().get("value")
    without_secret = []
    for provider in rep.get("identityProviders") or []:
        if (provider.get("config") or {}).get("clientSecret") == MASK:  # never a made-up secret in the copy
            provider["config"].pop("clientSecret")
            without_secret.append(provider["alias"])
    links = bool(rep.get("identityProviders"))
    users = []
    first = 0
    while True:
        batch = _get(admin, f"admin/realms/{realm}/users", first=str(first), max=str(page), briefRepresentation="false")
        users.extend(_user(admin, realm, entry, links=links) for entry in batch)
        if len(batch) < page:
            break
        first += page
    known = {user["id"] for user in users}
    for client in rep.get("clients", []):
        if client.get("serviceAccountsEnabled"):
            account = admin.connection.raw_get(f"admin/realms/{realm}/clients/{client['id']}/service-account-user")
            if account.status_code == 200 and account.json()["id"] not in known:
                user = _user(admin, realm, account.json())
                user["serviceAccountClientId"] = client["clientId"]
                users.append(user)
    rep["users"] = sorted(users, key=lambda user: user["username"])
    copied = {"format": FORMAT, "realm": realm, "representation": rep}
    if without_secret:
        copied["providers_without_secret"] = sorted(without_secret)
    return copied


def wrap_export(rep: Any, realm: str | None = None) -> dict[str, Any]:
    """A full copy from the realm representation ``kc.sh export --realm R --file F`` wrote.

    Refuses (ValueError) what is not one realm's export, or the export of another realm than
    ``realm`` when given.
    """
    if isinstance(rep, list) and len(rep) == 1:  # an export of all realms holding just one
        rep = rep[0]
    if not isinstance(rep, dict) or not isinstance(rep.get("realm"), str) or "users" not in rep and "clients" not in rep:
        raise ValueError("not a Keycloak realm export (kc.sh export --realm R --file F writes one realm as a JSON object)")
    if realm and rep["realm"] != realm:
        raise ValueError(f"the export holds realm {rep['realm']!r}, not {realm!r}")
    return {"format": FULL_FORMAT, "realm": rep["realm"], "representation": rep}


def strip_user_items(copy_: dict[str, Any], attributes: tuple[str, ...], fields: tuple[str, ...]) -> int:
    """Remove the user ``attributes`` and the user ``fields`` (e.g. ``firstName``) from every user of the copy
    (in place): the residents' realm keeps no 基本4情報, and a backup of it holds none even from an account an
    earlier version wrote them on. The number of users that held any."""
    stripped = 0
    for user in copy_["representation"].get("users") or []:
        held = [name for name in attributes if name in (user.get("attributes") or {})]
        held += [field for field in fields if user.get(field) not in (None, "", "-")]
        for name in attributes:
            (user.get("attributes") or {}).pop(name, None)
        for field in fields:
            user.pop(field, None)
        stripped += bool(held)
    return stripped


def carries_credentials(copy_: dict[str, Any]) -> bool:
    """True for a full export: password hashes, OTP credentials and the realm's keys are in it."""
    return copy_.get("format") == FULL_FORMAT


def summary(copy_: dict[str, Any]) -> dict[str, int]:
    """Counts of what a copy holds, for the backup manifest."""
    rep = copy_["representation"]

    def groups(entries: list[dict]) -> int:
        return sum(1 + groups(entry.get("subGroups") or []) for entry in entries)

    return {"users": sum(1 for user in rep.get("users", []) if not user.get("serviceAccountClientId")),
            "service_accounts": sum(1 for user in rep.get("users", []) if user.get("serviceAccountClientId")),
            "groups": groups(rep.get("groups") or []), "realm_roles": len((rep.get("roles") or {}).get("realm") or []),
            "clients": len(rep.get("clients") or [])}


def import_realm(admin, copy_: dict[str, Any], realm: str | None = None) -> str:
    """Create the realm from a copy (under ``realm`` if given, else its own name); returns its name.

    The realm must not exist (the caller deletes or refuses first): a realm import is refused by
    Keycloak when one of that name exists.
    """
    if copy_.get("format") not in FORMATS:
        raise ValueError(f"not a realm copy of format {' or '.join(FORMATS)}: {copy_.get('format')!r}")
    rep = copy.deepcopy(copy_["representation"])
    if realm:
        rep["realm"] = realm
        rep.pop("id", None)
    for user in rep.get("users", []):
        user.pop("createdTimestamp", None)
    response = admin.connection.raw_post("admin/realms", data=_json(rep))
    response.raise_for_status()
    return rep["realm"]


def delete_realm(admin, realm: str) -> None:
    response = admin.connection.raw_delete(f"admin/realms/{realm}")
    if response.status_code not in (204, 404):
        response.raise_for_status()


def _json(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)

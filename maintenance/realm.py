"""The Keycloak realm as `renkei backup`, `restore` and `check` reach it: an admin client of the
master realm, and the realm's counts as a backup's manifest holds them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def realm_admin(config: Mapping[str, Any]):
    """An admin client of Keycloak's master realm (RENKEI_KEYCLOAK_ADMIN_USER/PASSWORD in ``config``)."""
    from tenancy.identity.keycloak import master_admin

    return master_admin(config["RENKEI_KEYCLOAK_URL"], config["RENKEI_KEYCLOAK_ADMIN_USER"],
                        config["RENKEI_KEYCLOAK_ADMIN_PASSWORD"], "master")


def realm_counts(config: Mapping[str, Any], realm: str) -> dict[str, int] | str:
    """The realm's counts (:func:`tenancy.identity.realm_copy.summary`: users, service accounts,
    groups, realm roles, clients), or why Keycloak could not give them."""
    from tenancy.identity import realm_copy

    try:
        admin = realm_admin(config)
        if not realm_copy.realm_exists(admin, realm):
            return "the realm does not exist"
        return realm_copy.summary(realm_copy.export_realm(admin, realm))
    except Exception as error:  # Keycloak unreachable or refusing: named in the finding
        return f"{type(error).__name__}: {error}"


def bootstrap(session, actor, master, settings) -> list[str]:
    """``renkei keycloak bootstrap``: the platform realm created or corrected with the master
    administrator's client ``master``, for ``actor`` (a signed-in operator or the maintenance
    identity), recorded in the audit log with the changes made (none: still one record)."""
    from core import audit, authz
    from tenancy.identity.keycloak import bootstrap_realm

    authz.authorize(actor, "system.identity")
    changes = bootstrap_realm(master, settings)
    audit.record(session, actor, "keycloak.bootstrap", "keycloak_realm", settings.realm, after={"changes": changes})
    return changes


def issue_service_account(session, actor, master, settings, client_id: str, roles: tuple[str, ...]) -> str:
    """``renkei keycloak service-account``: a client-credentials client in the platform realm with
    ``roles``, given a new secret (returned, never recorded); audited with who issued it and its roles."""
    import secrets

    from core import audit, authz
    from tenancy.identity.keycloak import ensure_machine_client

    authz.authorize(actor, "system.identity")
    secret = secrets.token_urlsafe(32)
    ensure_machine_client(master, settings, client_id, secret, realm_roles=roles)
    master.change_current_realm(settings.realm)
    client_uuid = master.get_client_id(client_id)
    master.update_client(client_uuid, {**master.get_client(client_uuid), "secret": secret})
    audit.record(session, actor, "keycloak.service_account", "service_account", client_id,
                 after={"client_id": client_id, "roles": sorted(roles), "secret": "new (not recorded)"})
    return secret

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

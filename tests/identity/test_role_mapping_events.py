"""Issue 36: Keycloak's admin events that take a role or a group from a person end that person's
tokens (as disabling does); adding one does not."""

from __future__ import annotations

from tenancy.identity.denylist import subjects_from_admin_events
from tenancy.identity.keycloak.directory import ADMIN_EVENT_TYPES


def event(resource_type, operation, path, time_ms=1_700_000_000_000):
    return {"resourceType": resource_type, "operationType": operation, "resourcePath": path, "time": time_ms}


def test_roles_and_groups_taken_end_the_persons_tokens():
    found = subjects_from_admin_events([
        event("REALM_ROLE_MAPPING", "DELETE", "users/u1/role-mappings/realm"),
        event("CLIENT_ROLE_MAPPING", "DELETE", "users/u2/role-mappings/clients/c-uuid"),
        event("GROUP_MEMBERSHIP", "DELETE", "users/u3/groups/g-uuid"),
    ])
    assert set(found) == {"u1", "u2", "u3"}
    assert {reason for reason, _ in found.values()} == {"roles changed in Keycloak"}


def test_roles_and_groups_given_end_nothing():
    assert subjects_from_admin_events([
        event("REALM_ROLE_MAPPING", "CREATE", "users/u1/role-mappings/realm"),
        event("GROUP_MEMBERSHIP", "CREATE", "users/u3/groups/g-uuid"),
        event("REALM_ROLE_MAPPING", "DELETE", "groups/g-uuid/role-mappings/realm"),  # not a user's own
    ]) == {}


def test_renkei_asks_keycloak_for_the_role_mapping_events():
    assert {"REALM_ROLE_MAPPING", "CLIENT_ROLE_MAPPING", "GROUP_MEMBERSHIP", "USER"} <= set(ADMIN_EVENT_TYPES)

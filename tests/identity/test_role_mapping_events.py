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


def test_roles_taken_from_a_group_or_a_composite_and_a_group_deleted_reach_their_people():
    from tenancy.identity.denylist import reaches_from_admin_events

    reaches = reaches_from_admin_events([
        event("REALM_ROLE_MAPPING", "DELETE", "groups/g1/role-mappings/realm"),
        event("CLIENT_ROLE_MAPPING", "DELETE", "groups/g2/role-mappings/clients/c-uuid"),
        event("REALM_ROLE", "DELETE", "roles/regional-admin/composites"),
        event("REALM_ROLE", "DELETE", "roles-by-id/r-uuid/composites"),
        event("CLIENT_ROLE", "DELETE", "clients/c-uuid/roles/editor/composites"),
        event("GROUP", "DELETE", "groups/g3"),
        # given, or not a loss: nothing to follow
        event("REALM_ROLE_MAPPING", "CREATE", "groups/g1/role-mappings/realm"),
        event("REALM_ROLE", "CREATE", "roles/regional-admin/composites"),
        event("REALM_ROLE", "DELETE", "roles/regional-admin"),  # the role itself deleted (not followed)
        event("GROUP", "CREATE", "groups/g3"),
        event("GROUP", "UPDATE", "groups/g3"),
        event("REALM_ROLE_MAPPING", "DELETE", "users/u1/role-mappings/realm"),  # the user's own event
    ])
    assert [(r.kind, r.ref) for r in reaches] == [
        ("group", "g1"), ("group", "g2"), ("composite", "roles/regional-admin"), ("composite", "roles-by-id/r-uuid"),
        ("composite", "clients/c-uuid/roles/editor"), ("deleted group", "g3")]


class _Directory:
    """Keycloak's answers about groups and roles: a group deleted since, and one composite gone."""

    def group_member_ids(self, group_id):
        from core.errors import NotFound

        if group_id == "gone":
            raise NotFound("no such group", "グループがありません")
        return {"g1": {"u1", "u2"}}[group_id]

    def former_group_member_ids(self, group_id):
        return {"gone": {"u3"}, "g3": {"u4"}}[group_id]

    def composite_holder_ids(self, path):
        from core.errors import NotFound

        if path == "roles/deleted-since":
            raise NotFound("no such role", "ロールがありません")
        return {"roles/regional-admin": {"u1", "u5"}}[path]


def test_the_people_reached_are_denied_with_the_latest_event_and_what_cannot_be_listed_is_said():
    from tenancy.identity.denylist import reaches_from_admin_events, subjects_reached

    found, unknown = subjects_reached(_Directory(), reaches_from_admin_events([
        event("REALM_ROLE_MAPPING", "DELETE", "groups/g1/role-mappings/realm", 1_000),
        event("REALM_ROLE", "DELETE", "roles/regional-admin/composites", 2_000),
        event("REALM_ROLE_MAPPING", "DELETE", "groups/gone/role-mappings/realm", 3_000),  # the group deleted since
        event("GROUP", "DELETE", "groups/g3", 4_000),
        event("REALM_ROLE", "DELETE", "roles/deleted-since/composites", 5_000),
    ]))
    assert {user: (reason, at.timestamp()) for user, (reason, at) in found.items()} == {
        "u1": ("roles changed in Keycloak", 2.0), "u2": ("roles changed in Keycloak", 1.0),
        "u5": ("roles changed in Keycloak", 2.0), "u3": ("roles changed in Keycloak", 3.0),
        "u4": ("roles changed in Keycloak", 4.0)}
    assert len(unknown) == 1 and "roles/deleted-since" in unknown[0] and "cannot be listed" in unknown[0]

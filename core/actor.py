"""Who is acting: the person or machine client on whose behalf an operation runs.

Operations receive the actor as an argument; they never read a request.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Actor:
    """Who is acting: identified by (issuer, subject), never by e-mail.

    ``roles`` are realm roles; ``tenant_codes`` the tenants the person belongs to. ``request_id``
    and ``source_ip`` travel with the actor so that the audit log can record them without the
    domain reading a request.
    """

    issuer: str
    subject: str
    name: str = ""
    roles: frozenset[str] = frozenset()
    tenant_codes: frozenset[str] = frozenset()
    request_id: str | None = None
    source_ip: str | None = None

    @property
    def primary_role(self) -> str:
        for role in ROLE_PRECEDENCE:
            if role in self.roles:
                return role
        return ""


ROLE_PRECEDENCE = (
    "platform-operator",
    "finance-officer",
    "auditor",
    "municipal-admin",
    "municipal-staff",
    "metering-client",
)

SYSTEM_ISSUER = "urn:renkei:system"


def system_actor(name: str = "renkei", **kwargs: Any) -> Actor:
    """The actor for commands run by an operator on the server itself (CLI, demo loader)."""
    return Actor(
        issuer=SYSTEM_ISSUER,
        subject=name,
        name=name,
        roles=frozenset({"platform-operator"}),
        **kwargs,
    )

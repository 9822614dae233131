"""Who is acting: the person or machine client on whose behalf an operation runs.

Operations receive the actor as an argument; they never read a request.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable


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
    client_id: int | None = None  # the platform API client (its renkei id) a machine token belongs to

    @property
    def recorded_name(self) -> str:
        """The name a record keeps for this actor (``created_by``, ``issued_by``, ...): :func:`recorded_name`."""
        return recorded_name(self.name, self.subject)

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
    "resident-desk",
    "secretariat",
    "platform-vendor",
    "org-admin",
    "data-provider",
    "data-user",
    "metering-client",
    "consent-app",
    "brokerage-client",
)

CLI_ISSUER = "urn:renkei:cli"
RECORDED_NAME_MAX = 255


def recorded_name(name: str, subject: str) -> str:
    """The one rule of the name a record keeps for a person: their name, else their subject, at most
    :data:`RECORDED_NAME_MAX` characters. ``renkei check`` compares a payment's with its audit record's actor by it."""
    return (name or subject)[:RECORDED_NAME_MAX]


def identity_key(actor: Actor) -> str:
    """The person, by identity (issuer and subject): names may repeat, identities do not. What a
    four-eyes step records of its first person, to compare the second with (:func:`same_person`)."""
    return f"{actor.issuer} {actor.subject}"[:600]


def same_person(actor: Actor, key: str, name: str = "") -> bool:
    """Whether ``actor`` is the person recorded as ``key`` (:func:`identity_key`): the four-eyes rule
    (the one who proposed, drafted or computed may not also approve). Rows made before identities were
    kept have only the recorded name (``name or subject``) to go by."""
    return key == identity_key(actor) if key else bool(name) and name == actor.recorded_name


def console_actor(username: str, roles: Iterable[str], tenant_codes: Iterable[str] = ()) -> Actor:
    """A named person running a ``renkei`` command on the server.

    There is no anonymous actor with every right: the command line names the person (``--as``,
    by default the operating-system user) and the roles they act in, and the authorization
    policy and the audit log treat them like anyone signed in.
    """
    username = username.strip()
    if not username:
        raise ValueError("a command acts for a named person")
    return Actor(issuer=CLI_ISSUER, subject=username, name=username, roles=frozenset(roles),
                 tenant_codes=frozenset(tenant_codes))

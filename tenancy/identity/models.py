"""Tables of the identity use cases."""

import datetime as dt
import enum
from typing import Optional

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

import core.db  # noqa: F401  (naming convention first)
from core.db import enum_column, timestamp_column, utcnow
from core.labelled import LabelledEnum


class IdentityIncident(SQLModel, table=True):
    """A multi-step Keycloak operation that failed and could not be undone: on record for the operator."""

    __tablename__ = "identity_incident"

    id: Optional[int] = Field(default=None, primary_key=True)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    operation: str = Field(max_length=64)
    tenant_code: str = Field(max_length=13, index=True)  # or a member organisation's corporate number
    username: str = Field(max_length=255)
    keycloak_user_id: Optional[str] = Field(default=None, max_length=64)
    step: str = Field(max_length=64)
    error: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    resolved_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    resolved_by: Optional[str] = Field(default=None, max_length=255)  # the operator's name (subject)
    resolution_note: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class DeniedSubject(SQLModel, table=True):
    """A person whose access ended (disabled, removed, demoted): their tokens issued up to
    ``denied_at`` are refused by renkei until ``keep_until`` (past the longest token lifetime).
    See :mod:`tenancy.identity.denylist`."""

    __tablename__ = "denied_subject"

    subject: str = Field(primary_key=True, max_length=255)  # the token's ``sub`` (Keycloak user id)
    denied_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    keep_until: dt.datetime = Field(sa_column=timestamp_column(nullable=False, index=True))
    reason: str = Field(max_length=64)


class InvitationDecoy(SQLModel, table=True):
    """No enumeration (:mod:`tenancy.identity.operations`): what a tenant's admin was told was invited
    when the username or e-mail address belongs to an account outside their tenant. Nobody was made in
    Keycloak; the decoy answers afterwards as a member whose set-up is pending would (listed; roles,
    disabling, re-sending the set-up and removal all answer as for an account), so that nothing the
    admin does later reveals that the account exists elsewhere. The conflict is in the audit log."""

    __tablename__ = "invitation_decoy"

    id: str = Field(primary_key=True, max_length=64)  # the id the invitation answered with (a UUID)
    tenant_code: str = Field(max_length=13, index=True)
    username: str = Field(max_length=255)
    email: str = Field(max_length=255)
    first_name: str = Field(max_length=255)
    last_name: str = Field(max_length=255)
    roles: str = Field(default="", max_length=500)  # space-separated
    enabled: bool = Field(default=True)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    created_by: str = Field(max_length=255)


class ClientStatus(LabelledEnum):
    """An API client's state; the moves between them are the table in :mod:`tenancy.identity.api_clients`."""

    # registered beyond the operator's policy: waits for the operator's approval
    pending = "pending", "承認待ち", "Waiting for approval"
    active = "active", "有効", "Active"
    disabled = "disabled", "一時停止", "Disabled"
    revoked = "revoked", "失効", "Revoked"  # final
    rejected = "rejected", "承認されず", "Not approved"  # the operator refused the registration; final


class RequestKind(str, enum.Enum):
    create = "create"  # a registration beyond the policy (the client waits in ``pending``)
    change = "change"  # an edit that widens the client beyond the policy (the client stays as it is)


class RequestStatus(LabelledEnum):
    pending = "pending", "承認待ち", "Waiting"
    approved = "approved", "承認済み", "Approved"
    rejected = "rejected", "却下", "Rejected"
    # a later edit (or the client's revocation) replaced it
    superseded = "superseded", "取り下げ（後の変更で置き換え）", "Superseded"


class ApiClient(SQLModel, table=True):
    """A machine client of the platform (client credentials) owned by a tenant, with its IP allowlist.

    The owner is ``tenant_code`` for now; an organisation's clients will get an ``organisation_id``
    column beside it (exactly one of the two set). Keycloak holds the credentials
    (:class:`ApiClientCredential`); this row is what the gateway check reads. See
    :mod:`tenancy.identity.api_clients`."""

    __tablename__ = "api_client"

    id: Optional[int] = Field(default=None, primary_key=True)
    tenant_code: str = Field(max_length=13, index=True)
    name: str = Field(max_length=100)
    purpose: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    scopes: str = Field(default="", max_length=500)  # space-separated, from api_clients.SCOPES
    allowlist: str = Field(sa_column=sa.Column(sa.Text, nullable=False))  # CIDRs, space-separated, normalised
    allow_any: bool = Field(default=False)  # only the operator may set it
    expires_on: dt.date
    status: ClientStatus = Field(default=ClientStatus.active, sa_column=enum_column(ClientStatus, length=16, checked=True))
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    created_by: str = Field(max_length=255)
    revoked_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class ApiClientCredential(SQLModel, table=True):
    """One Keycloak client (client id + secret) of an :class:`ApiClient`. A rotation adds a new one
    and gives the previous one ``valid_until`` (the overlap); after it, the old one is refused."""

    __tablename__ = "api_client_credential"

    id: Optional[int] = Field(default=None, primary_key=True)
    api_client_id: int = Field(foreign_key="api_client.id", index=True)
    keycloak_client_id: str = Field(max_length=100, unique=True)
    generation: int = Field(default=1)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    valid_until: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    retired: bool = Field(default=False)  # disabled in Keycloak (after the overlap, or on revocation)
    # when renkei found that Keycloak no longer has this client (deleted there directly): refused since
    missing_since: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))


class ApiClientPolicy(SQLModel, table=True):
    """The operator's limits on what a tenant's (or organisation's) admin may give a client without
    approval: the widest network (shortest prefix) per IP version, the scopes that need approval and
    the longest expiry. One row (``id`` 1); without it the defaults of
    :mod:`tenancy.identity.client_policy` apply."""

    __tablename__ = "api_client_policy"

    id: Optional[int] = Field(default=None, primary_key=True)
    max_prefix_v4: int = Field(default=16)  # no IPv4 network wider than /16 without approval
    max_prefix_v6: int = Field(default=48)
    approval_scopes: str = Field(default="broker.write catalog.write", max_length=500)  # space-separated
    max_expiry_days: int = Field(default=365)
    updated_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    updated_by: str = Field(default="", max_length=255)


class ApiClientRequest(SQLModel, table=True):
    """A registration or an edit of an API client beyond the policy, waiting for the operator.

    ``changes`` is the JSON of the settings asked for (every field for a registration, the changed
    ones for an edit); ``reasons`` the JSON list of why approval is needed (problem dicts)."""

    __tablename__ = "api_client_request"

    id: Optional[int] = Field(default=None, primary_key=True)
    api_client_id: int = Field(foreign_key="api_client.id", index=True)
    kind: RequestKind = Field(sa_column=enum_column(RequestKind, length=16))
    status: RequestStatus = Field(default=RequestStatus.pending, sa_column=enum_column(RequestStatus, length=16, checked=True))
    changes: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    reasons: str = Field(sa_column=sa.Column(sa.Text, nullable=False))
    requested_at: dt.datetime = Field(default_factory=utcnow, sa_column=timestamp_column(nullable=False))
    requested_by: str = Field(max_length=255)
    decided_at: Optional[dt.datetime] = Field(default=None, sa_column=timestamp_column(nullable=True))
    decided_by: Optional[str] = Field(default=None, max_length=255)
    decision_note: Optional[str] = Field(default=None, sa_column=sa.Column(sa.Text, nullable=True))


class IndexedPerson(SQLModel, table=True):
    """One of the realm's people as the search box finds them (:mod:`tenancy.identity.people_index`):
    a copy of what Keycloak holds of their name and address, never a password or a secret."""

    __tablename__ = "person_index"

    user_id: str = Field(primary_key=True, max_length=64)  # Keycloak's user id (the token's ``sub``)
    username: str = Field(max_length=255)
    first_name: str = Field(default="", max_length=255)
    last_name: str = Field(default="", max_length=255)
    display_name: str = Field(default="", max_length=512)
    kana: str = Field(default="", max_length=512)  # a reading, where the realm's users carry one
    email: str = Field(default="", max_length=255)
    enabled: bool = Field(default=True)
    indexed_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))


class IndexedMembership(SQLModel, table=True):
    """A person's tenant or member organisation (their ``/tenants/<code>`` groups): what the scope of
    the users list (``user.read``) is checked against."""

    __tablename__ = "person_index_tenant"

    user_id: str = Field(primary_key=True, max_length=64)
    tenant_code: str = Field(primary_key=True, max_length=13, index=True)


class IndexedWord(SQLModel, table=True):
    """A word a person is found by (their username, e-mail, names, reading, and the pieces of each),
    lower-cased and written as the hex of its UTF-8: a query finds the words that *begin* with it by
    one range of the primary key, read in byte order whatever the database's collation."""

    __tablename__ = "person_index_word"

    word: str = Field(primary_key=True, max_length=512)
    user_id: str = Field(primary_key=True, max_length=64, index=True)


class PeopleIndexState(SQLModel, table=True):
    """When the people index was last rebuilt from Keycloak and last brought up to date by an event
    or an act (one row, id 1; no row: never built, and the search asks Keycloak)."""

    __tablename__ = "person_index_state"

    id: int = Field(primary_key=True)
    reindexed_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    updated_at: dt.datetime = Field(sa_column=timestamp_column(nullable=False))
    people: int = Field(default=0)

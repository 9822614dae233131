"""Who a ``renkei`` command acts for.

A command that reads or changes tenant-scoped state acts for an authenticated person, recorded in
the audit log like anyone signed in to the admin UI (:mod:`admin.commands.signin`):

* a person signed in with ``renkei login`` (Keycloak's device flow, or the password flow where
  the realm allows it), the token kept for the session like the web's; or
* a service account whose credential the operator issued (``RENKEI_CLI_CLIENT_ID`` and
  ``RENKEI_CLI_CLIENT_SECRET``, e.g. for the timers);

in the roles Keycloak gives them (``--role``, repeatable, narrows them). The maintenance commands
(backup, check, the due jobs, restore, the realm's bootstrap and service accounts) also accept the
host owner's **maintenance identity** (``--maintenance-identity`` or ``RENKEI_MAINTENANCE_IDENTITY=1``),
proven by possession of the signing key and independent of Keycloak
(:func:`maintenance.signing.maintenance_actor`; docs/operations.md). Only in development
(``RENKEI_ENV=development``, the demo) may a command act for a name nobody checked: ``--as`` (or
the environment variable ``RENKEI_ACTOR``), by default the operating-system user, in the roles
given by ``--role`` (each command states its default, such as ``platform-operator`` for operator
commands and ``finance-officer`` for billing). The operations ask the authorization policy as
they do for a request, so a role that lacks the right is refused here too.
"""

from __future__ import annotations

import dataclasses
import functools
import getpass
from collections.abc import Callable

import click

from core import authz
from core.actor import console_actor

ACTOR_ENV = "RENKEI_ACTOR"
MAINTENANCE_ENV = "RENKEI_MAINTENANCE_IDENTITY"
CLI_ROLES = (*authz.PEOPLE_ROLES, authz.METERING)


def operating_system_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return ""


def self_declared_names_allowed() -> bool:
    """``--as`` alone (a name nobody checked) is accepted only in development (``RENKEI_ENV=development``,
    the demo) and in an app built by test code (``TESTING``, never set from the environment)."""
    from flask import current_app

    return current_app.config["RENKEI_ENV"] == "development" or current_app.testing


SELF_DECLARED_REFUSED = (
    "--as NAME (or {env}, or the operating-system user) names a person nobody checked, so outside development "
    "(RENKEI_ENV=development) a command acts only for someone authenticated: sign in first with 'renkei login', "
    "or run as a service account the operator issued (RENKEI_CLI_CLIENT_ID and RENKEI_CLI_CLIENT_SECRET; "
    "'renkei keycloak service-account').")


def maintenance_identity_actor(as_user: str | None, roles: tuple[str, ...]):
    """The host owner's maintenance identity (the signing key proves it; no Keycloak)."""
    from flask import current_app

    from core.errors import DomainError
    from maintenance import signing

    if as_user:
        raise click.UsageError("--maintenance-identity acts for the holder of the signing key: leave --as out.")
    if set(roles) - {authz.OPERATOR}:
        raise click.UsageError(f"--maintenance-identity acts as {authz.OPERATOR} only.")
    try:
        return signing.maintenance_actor(current_app.config)
    except DomainError as error:
        raise click.ClickException(f"maintenance identity refused: {error.message_en} / {error.message_ja}") from None


def command_actor(as_user: str | None, roles: tuple[str, ...], default_role: str, maintenance: bool = False):
    """The actor of a command: the maintenance identity when asked for (``maintenance``), who signed
    in or the service account when there is a credential, otherwise (development only) the person
    ``--as`` names."""
    from admin.commands import signin

    if maintenance:
        return maintenance_identity_actor(as_user, roles)
    signed_in = signin.authenticated_actor(roles)
    if signed_in is not None:
        actor, names = signed_in
        if as_user and as_user.strip() not in names:
            raise click.UsageError(f"--as {as_user} is not who is signed in ({min(names)}); leave --as out.")
        return actor
    if not self_declared_names_allowed():
        raise click.UsageError(SELF_DECLARED_REFUSED.format(env=ACTOR_ENV))
    username = (as_user or operating_system_user()).strip()
    if not username:
        raise click.UsageError(f"Name the person this command acts for: --as USERNAME (or {ACTOR_ENV}).")
    return dataclasses.replace(console_actor(username, roles or (default_role,)), name=person_name(username))


def person_name(username: str) -> str:
    """The person ``--as`` names as Keycloak knows them (「熊本県 運営者」), the name the admin UI records
    for the same person, so the audit log names them alike whichever way they acted; the username
    itself when Keycloak does not know them or cannot be asked (the audit log still records the act)."""
    from flask import current_app

    if current_app.testing:  # an app built by test code names people as they are given (no Keycloak call)
        return username
    try:
        from admin.identity import identity_directory

        found = identity_directory().find_user(username.lower())
    except Exception:  # noqa: BLE001 (Keycloak away or not bootstrapped: the name stays the username)
        return username
    if not found:
        return username
    return f"{found.get('lastName', '')} {found.get('firstName', '')}".strip() or username


def acting(default_role: str, *, maintenance: bool = False) -> Callable:
    """Add ``--as`` and ``--role`` to a command (and ``--maintenance-identity`` to a maintenance
    command, ``maintenance``); the command receives the built actor as ``actor``."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def run(*args, as_user: str | None, roles: tuple[str, ...], maintenance_identity: bool = False, **kwargs):
            return command(*args, actor=command_actor(as_user, roles, default_role, maintenance_identity), **kwargs)

        if maintenance:
            run = click.option("--maintenance-identity", "maintenance_identity", is_flag=True, envvar=MAINTENANCE_ENV,
                               help="Act as the host owner's maintenance identity, proven by the signing key "
                                    "(works without Keycloak; recorded as such in the audit log).")(run)
        run = click.option("--role", "roles", multiple=True, type=click.Choice(CLI_ROLES),
                           help=f"Role the person acts in (repeatable; default: {default_role}).")(run)
        return click.option("--as", "as_user", envvar=ACTOR_ENV, metavar="USERNAME",
                            help=f"The person acting, recorded in the audit log (default: ${ACTOR_ENV}, "
                                 "else the operating-system user).")(run)

    return decorate

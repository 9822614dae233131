"""Who a ``renkei`` command acts for: ``--as USERNAME`` and ``--role ROLE``.

A command that reads or changes tenant-scoped state acts for a named person, recorded in the
audit log like anyone signed in to the admin UI: ``--as`` (or the environment variable
``RENKEI_ACTOR``), by default the operating-system user, in the roles given by ``--role``
(repeatable; each command states its default, such as ``platform-operator`` for operator
commands and ``finance-officer`` for billing). The operations ask the authorization policy as
they do for a request, so a role that lacks the right is refused here too.
"""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable

import click

from core import authz
from core.actor import console_actor

ACTOR_ENV = "RENKEI_ACTOR"
CLI_ROLES = (*authz.PEOPLE_ROLES, authz.METERING)


def operating_system_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no LOGNAME/USER (some containers)
        return ""


def acting(default_role: str) -> Callable:
    """Add ``--as`` and ``--role`` to a command; the command receives the built actor as ``actor``."""

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def run(*args, as_user: str | None, roles: tuple[str, ...], **kwargs):
            username = (as_user or operating_system_user()).strip()
            if not username:
                raise click.UsageError(f"Name the person this command acts for: --as USERNAME (or {ACTOR_ENV}).")
            return command(*args, actor=console_actor(username, roles or (default_role,)), **kwargs)

        run = click.option("--role", "roles", multiple=True, type=click.Choice(CLI_ROLES),
                           help=f"Role the person acts in (repeatable; default: {default_role}).")(run)
        return click.option("--as", "as_user", envvar=ACTOR_ENV, metavar="USERNAME",
                            help=f"The person acting, recorded in the audit log (default: ${ACTOR_ENV}, "
                                 "else the operating-system user).")(run)

    return decorate

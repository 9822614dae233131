"""CLI command groups of the domains that need the app (database, Keycloak), one module each."""

from __future__ import annotations


def groups():
    """Every command group, listed explicitly."""
    from admin.commands import audit, billing, keycloak, onboarding, usage

    return [module.group for module in (keycloak, onboarding, billing, usage, audit)]

"""Admin views of onboarding."""

from __future__ import annotations


def views(db):
    return []

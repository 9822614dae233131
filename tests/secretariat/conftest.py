"""Fixtures of the secretariat tests: the members tests' application maker."""

from tests.members.conftest import applied  # noqa: F401

"""`renkei billing ...`: the pure `simulate` command (billing.cli) plus the commands that need the database."""

from __future__ import annotations

from billing.cli import billing_cli as group  # noqa: F401  (DB-backed commands are added below)

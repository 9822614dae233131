"""Usage: metering (idempotent ingest, aggregates), quotas (plans, overrides, checks, alerts)
and monthly usage reports."""

"""Usage: what is used. Metering (idempotent ingest, day and month aggregates, partitions, retention),
quotas (plans, overrides, checks, alerts), the gateway's counted calls (the call log, folded into the
meter) and use by dataset, and monthly usage reports. Beside tenancy/ and catalogue/; never imports Flask."""

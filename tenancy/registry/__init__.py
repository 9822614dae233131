"""The tenant registry: tenants, their codes, contacts and status history, and CSV import/export."""

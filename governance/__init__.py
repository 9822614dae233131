"""Governance: agreements, council decisions and the audit log. Never imports Flask."""

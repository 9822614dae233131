"""Running the platform, its web side: the health endpoints (health.py), the public status page (status_page.py),
the built-in components' probes (checks.py), the incident register's settings (incident_settings.py) and each
process's log of the gateway's counted calls (gateway_calls.py). The rules are the domain package service/'s."""

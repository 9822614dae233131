"""Tenancy: who takes part. Municipalities as tenants (registry), identity in Keycloak, onboarding, and the
consortium's member organisations. What they use is metered in usage/. Never imports Flask."""
